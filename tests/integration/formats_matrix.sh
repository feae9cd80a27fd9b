#!/bin/bash
# tests/integration/formats_matrix.sh: apkg's VMDK, VHDX and VDI writers against real qemu-img.
#
# Inputs {random sparse patterns, all-zero, all-data, sizes off the grain,
# block and sector grids, a 20 GiB sparse disk, a real ext4 filesystem made
# with mke2fs -d} x {vmdk streamOptimized, vmdk monolithicSparse, vhdx,
# vdi} through `apkg convert`. Each output must pass `qemu-img check`, be
# identical to its input for `qemu-img compare`, and show the expected
# `qemu-img info` format, subformat and virtual size (qemu's VHDX driver
# reports no holes, so VHDX gets a 4 GiB disk instead of the 20 GiB one). Then: -j1 and -j4
# give the same bytes, two runs give the same bytes, different content
# gives a different VMDK CID, the streamOptimized layout ends with the
# footer and the end-of-stream marker, and `apkg lint` accepts the
# streamOptimized VMDKs (and qemu-img's) and names monolithicSparse as
# the wrong kind.
# A failure keeps the work directory for reproduction.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib/image_matrix.sh
matrix_init "formats matrix"
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }
RANDOM=7171 # the sparse input's layout

# ---- inputs: the shared ones, and two for the VMDK and VHDX layouts ----
more_inputs() {
	# A run across a grain-table (32 MiB) boundary.
	put "$work/sparse.raw" $((32 * 1048576 - 70000)) 140000 urandom

	local f=$work/big4.raw # 4 GiB sparse: qemu's VHDX driver reports no holes, so compare reads it all
	truncate -s 4G "$f"
	put "$f" 0 1048576 urandom
	put "$f" $((2 * 1073741824 + 12345)) 65536 text
	put "$f" $((4 * 1073741824 - 1)) 1 byte
}

# ---- one conversion ----
out_name() { echo "$work/out-$1-$2.${2%%-*}"; } # input kind

convert() { # input kind -> prints the output path
	local in=$work/$1.raw kind=$2 out
	out=$(out_name "$1" "$2")
	local opts=()
	case $kind in
	vmdk-sparse) opts=(--format vmdk --vmdk-subformat monolithicSparse) ;;
	vmdk) opts=(--format vmdk) ;;
	*) opts=(--format "$kind") ;;
	esac
	"$APKG" convert "${opts[@]}" -j 2 "$in" "$out" 2>"$work/err" || { fail "$1 $kind: apkg convert: $(cat "$work/err")"; return 1; }
	echo "$out"
}

check_one() { # input kind
	local in=$work/$1.raw kind=$2 out fmt=${2%%-*} tag="$1 $2"
	out=$(convert "$1" "$2") || return
	qemu-img check -q -f "$fmt" "$out" || fail "$tag: qemu-img check exit $?"
	qemu-img compare -q -f raw -F "$fmt" "$in" "$out" || fail "$tag: qemu-img compare says different"
	local info=$work/info.json size
	size=$(stat -c %s "$in")
	qemu-img info --output=json -f "$fmt" "$out" >"$info" || { fail "$tag: qemu-img info"; return; }
	local got="$(json_field format "$info") $(json_field virtual-size "$info")"
	[ "$got" = "$fmt $(((size + 511) / 512 * 512))" ] || fail "$tag: qemu-img info says '$got'"
	case $kind in
	vmdk) grep -q '"create-type": "streamOptimized"' "$info" || fail "$tag: not streamOptimized" ;;
	vmdk-sparse) grep -q '"create-type": "monolithicSparse"' "$info" || fail "$tag: not monolithicSparse" ;;
	esac
	rm -f "$out"
}

KINDS="vmdk vmdk-sparse vhdx vdi"

matrix() {
	for input in sparse zero data odd odd512 big big4 ext4; do
		for kind in $KINDS; do
			[ "$input" = big ] && [ "$kind" = vhdx ] && continue
			[ "$input" = big4 ] && [ "$kind" != vhdx ] && continue
			check_one "$input" "$kind"
		done
	done
}

# ---- determinism ----
same_bytes() {
	for input in sparse ext4; do
		for kind in $KINDS; do
			# Same base name: the VMDK descriptor names its own file.
			mkdir -p "$work/j1" "$work/j4" "$work/again"
			local a=$work/j1/disk b=$work/j4/disk c=$work/again/disk opts=(--format "${kind%%-*}")
			[ "$kind" = vmdk-sparse ] && opts+=(--vmdk-subformat monolithicSparse)
			"$APKG" convert "${opts[@]}" -j 1 "$work/$input.raw" "$a" 2>/dev/null &&
				"$APKG" convert "${opts[@]}" -j 4 "$work/$input.raw" "$b" 2>/dev/null &&
				"$APKG" convert "${opts[@]}" -j 4 "$work/$input.raw" "$c" 2>/dev/null || { fail "$input $kind: convert"; continue; }
			cmp -s "$a" "$b" || fail "$input $kind: -j1 and -j4 outputs differ"
			cmp -s "$b" "$c" || fail "$input $kind: two runs give different bytes"
			rm -f "$a" "$b" "$c"
		done
	done
	# Content-derived ids: another disk, another CID.
	"$APKG" convert --format vmdk "$work/sparse.raw" "$work/s.vmdk" 2>/dev/null
	"$APKG" convert --format vmdk "$work/odd.raw" "$work/o.vmdk" 2>/dev/null
	local c1 c2
	c1=$(head -c 2048 "$work/s.vmdk" | tr -d '\0' | grep -a '^CID=')
	c2=$(head -c 2048 "$work/o.vmdk" | tr -d '\0' | grep -a '^CID=')
	[ -n "$c1" ] && [ "$c1" != "$c2" ] || fail "two different disks got the same VMDK $c1"
}

# ---- streamOptimized layout ----
stream_layout() {
	python3 - "$work/s.vmdk" <<-'PY' || fail "streamOptimized layout (see above)"
		import struct, sys
		d = open(sys.argv[1], "rb").read()
		magic, version, flags, capacity, grain = struct.unpack_from("<4sIIQQ", d, 0)
		assert magic == b"KDMV", magic
		assert version == 3, version
		assert flags == 0x30001, hex(flags)
		assert struct.unpack_from("<H", d, 77)[0] == 1, "compressAlgorithm"
		assert struct.unpack_from("<Q", d, 56)[0] == 0xFFFFFFFFFFFFFFFF, "header gdOffset is not GD_AT_END"
		assert len(d) % 512 == 0
		eos, footer, fmark = d[-512:], d[-1024:-512], d[-1536:-1024]
		assert eos == bytes(512), "the last sector is not the EOS marker"
		assert struct.unpack_from("<QII", fmark, 0) == (1, 0, 3), "no footer marker before the footer"
		assert footer[:4] == b"KDMV", "footer"
		gd = struct.unpack_from("<Q", footer, 56)[0]
		gmark = struct.unpack_from("<QII", d, (gd - 1) * 512)
		assert gmark[1:] == (0, 2), "the footer's gdOffset does not follow a GD marker"
		assert struct.unpack_from("<QQ", d, 28) == (1, 20), "descriptor not at sector 1 with 20 sectors"
		desc = d[512:512 * 21].split(b"\0")[0].decode()
		assert 'createType="streamOptimized"' in desc and 'ddb.adapterType = "lsilogic"' in desc, desc
		assert 'ddb.toolsVersion = "2147483647"' in desc and 'ddb.virtualHWVersion = "4"' in desc, desc
	PY
	"$APKG" lint "$work/s.vmdk" >"$work/lint" || fail "apkg lint rejects apkg's own streamOptimized VMDK: $(cat "$work/lint")"
	# qemu-img's own streamOptimized layout (tables in front, zero padding after EOS) passes too.
	qemu-img convert -O vmdk -o subformat=streamOptimized "$work/sparse.raw" "$work/q.vmdk"
	"$APKG" lint "$work/q.vmdk" >"$work/lint" || fail "apkg lint rejects qemu-img's streamOptimized VMDK: $(cat "$work/lint")"
	"$APKG" convert --format vmdk --vmdk-subformat monolithicSparse "$work/sparse.raw" "$work/m.vmdk" 2>/dev/null
	"$APKG" lint "$work/m.vmdk" >"$work/lint" && fail "apkg lint accepts a monolithicSparse VMDK as streamOptimized"
	grep -q "error \[vmdk-version\]" "$work/lint" || fail "lint of monolithicSparse does not name vmdk-version: $(cat "$work/lint")"
	"$APKG" convert --format vmdk --vmdk-adapter ide "$work/sparse.raw" "$work/i.vmdk" 2>/dev/null
	head -c 2048 "$work/i.vmdk" | tr -d '\0' | grep -q 'ddb.adapterType = "ide"' || fail "--vmdk-adapter ide not in the descriptor"
	head -c 2048 "$work/i.vmdk" | tr -d '\0' | grep -q 'ddb.geometry.heads = "16"' || fail "ide geometry is not 16 heads"
}

# ---- failures leave nothing ----
failures_clean() {
	mkdir -p "$work/ro" && chmod 555 "$work/ro"
	if [ "$(id -u)" != 0 ]; then
		"$APKG" convert --format vhdx "$work/sparse.raw" "$work/ro/x.vhdx" 2>/dev/null && fail "writing into a read-only directory succeeded"
	fi
	"$APKG" convert --format vmdk --vmdk-subformat frobnicated "$work/sparse.raw" "$work/x.vmdk" 2>/dev/null
	[ $? -eq 2 ] || fail "an unknown subformat is not a usage error"
	"$APKG" convert --format vmdk --vmdk-adapter scsi "$work/sparse.raw" "$work/x.vmdk" 2>/dev/null
	[ $? -eq 2 ] || fail "an unknown adapter type is not a usage error"
	[ ! -e "$work/x.vmdk" ] || fail "a refused conversion left $work/x.vmdk"
	[ -z "$(ls -A "$work" | grep -e '\.tmp' -e '^\.')" ] || fail "temporary files left: $(ls -A "$work")"
}

make_inputs
more_inputs
matrix
same_bytes
stream_layout
failures_clean
[ $failures -eq 0 ] && echo "formats matrix: all checks passed"
exit $((failures > 0))
