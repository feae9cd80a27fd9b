#!/bin/bash
# tests/integration/qcow2_matrix.sh: apkg's qcow2 writer and reader against real qemu-img.
#
# 1. Inputs {random sparse patterns, all-zero, all-data, sizes off the
#    cluster (and sector) boundary, a 20 GiB sparse image, a real ext4
#    filesystem made with mke2fs -d} x {v2, v3} x {4K, 64K, 2M clusters}
#    x {none, zlib, zstd} (zstd is v3 only) through `apkg convert`; each
#    output must pass `qemu-img check` (exit 0: no errors, no leaks), be
#    identical to its input for `qemu-img compare`, show the expected
#    `qemu-img info` fields, and read back through apkg's reader.
# 2. apkg's reader on images made by `qemu-img convert` (plain, -c zlib,
#    -c zstd, compat=0.10, 4K and 2M clusters): the bytes must match.
# 3. -j1 and -j4 give byte-identical images.
# 4. Truncated and corrupted images give a clean error (exit 1, no output),
#    never a crash.
# A failure keeps the work directory for reproduction.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib/image_matrix.sh
matrix_init "qcow2 matrix"
RANDOM=4242 # the sparse input's layout

# ---- checks ----
expect_info() { # image expected-size cluster compat compression
	local img=$1 info=$work/info.json
	qemu-img info --output=json "$img" >"$info" || { fail "qemu-img info $img"; return; }
	local got="$(json_field format "$info") $(json_field virtual-size "$info") $(json_field cluster-size "$info") $(json_field compat "$info") $(json_field compression-type "$info")"
	local want="qcow2 $2 $3 $4 $5"
	[ "$got" = "$want" ] || fail "qemu-img info $img: got '$got', want '$want'"
}

check_one() { # input version cluster compress
	local in=$work/$1.raw v=$2 cs=$3 c=$4
	local out=$work/out-$1-v$v-$cs-$c.qcow2 back=$work/back.raw
	local tag="$1 v$v $cs $c"
	"$APKG" convert --qcow2-version "$v" --cluster-size "$cs" --compress "$c" -j 2 "$in" "$out" 2>"$work/err" ||
		{ fail "$tag: apkg convert: $(cat "$work/err")"; return; }
	qemu-img check -q "$out" || fail "$tag: qemu-img check exit $?"
	qemu-img compare -q -f raw -F qcow2 "$in" "$out" || fail "$tag: qemu-img compare says different"
	local size=$(stat -c %s "$in") bytes
	case $cs in 4K) bytes=4096 ;; 64K) bytes=65536 ;; 2M) bytes=2097152 ;; esac
	local compat=1.1 ctype=zlib
	[ "$v" = 2 ] && compat=0.10
	[ "$c" = zstd ] && ctype=zstd
	expect_info "$out" $(((size + 511) / 512 * 512)) "$bytes" "$compat" "$ctype"
	if [ "$1" != big ]; then # our reader, back to raw
		"$APKG" convert "$out" "$back" 2>"$work/err" || { fail "$tag: apkg reading its own image: $(cat "$work/err")"; return; }
		cmp -s -n "$size" "$in" "$back" || fail "$tag: apkg reader gives different bytes"
	fi
	rm -f "$out" "$back"
}

matrix() {
	for input in sparse zero data odd odd512 big ext4; do
		for v in 2 3; do
			for cs in 4K 64K 2M; do
				for c in none zlib zstd; do
					[ "$v" = 2 ] && [ "$c" = zstd ] && continue
					check_one "$input" "$v" "$cs" "$c"
				done
			done
		done
	done
}

# ---- our reader on qemu-img's images ----
reader_vs_qemu() {
	local opts
	for input in sparse odd ext4; do
		local in=$work/$input.raw size
		size=$(stat -c %s "$in")
		while read -r opts; do
			local q=$work/qemu.qcow2 back=$work/back.raw
			rm -f "$q" "$back"
			# shellcheck disable=SC2086
			qemu-img convert -O qcow2 $opts "$in" "$q" || { fail "qemu-img convert $opts"; continue; }
			"$APKG" convert "$q" "$back" 2>"$work/err" || { fail "reader on qemu-img $opts ($input): $(cat "$work/err")"; continue; }
			cmp -s -n "$size" "$in" "$back" || fail "reader on qemu-img $opts ($input): bytes differ"
		done <<-EOF
			-o compat=1.1
			-c
			-c -o compression_type=zstd
			-o compat=0.10
			-c -o compat=0.10
			-o cluster_size=4096
			-c -o cluster_size=2M
			-c -o compression_type=zstd,cluster_size=4096
		EOF
	done
	# qcow2 in, qcow2 out: our reader feeding our writer.
	qemu-img convert -c -O qcow2 -o compression_type=zstd "$work/ext4.raw" "$work/q.qcow2"
	"$APKG" convert --compress zlib "$work/q.qcow2" "$work/re.qcow2" 2>/dev/null || fail "qcow2 -> qcow2"
	qemu-img check -q "$work/re.qcow2" || fail "qcow2 -> qcow2: check"
	qemu-img compare -q "$work/ext4.raw" "$work/re.qcow2" || fail "qcow2 -> qcow2: compare"
}

threads_identical() {
	for c in zlib zstd; do
		"$APKG" convert --compress $c -j 1 "$work/ext4.raw" "$work/j1.qcow2" 2>/dev/null &&
			"$APKG" convert --compress $c -j 4 "$work/ext4.raw" "$work/j4.qcow2" 2>/dev/null ||
			fail "convert -j1/-j4 ($c)"
		cmp -s "$work/j1.qcow2" "$work/j4.qcow2" || fail "-j1 and -j4 differ ($c)"
	done
}

# ---- hostile images ----
expect_clean_error() { # image what
	local out=$work/hostile.raw
	rm -f "$out"
	"$APKG" convert "$1" "$out" >/dev/null 2>"$work/err"
	local rc=$?
	if [ $rc -ne 1 ]; then
		fail "$2: exit $rc, want 1 ($(head -c 300 "$work/err"))"
	elif [ -e "$out" ]; then
		fail "$2: failed but left $out"
	elif ! grep -q "error" "$work/err"; then
		fail "$2: no error message"
	fi
}

poke() { # file offset hex-bytes
	printf "$(echo "$3" | sed 's/../\\x&/g')" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

be64_at() { echo $((16#$(od -An -t x1 -j "$2" -N 8 "$1" | tr -d ' \n'))); } # bash wraps bit 63 to negative

hostile() {
	local good=$work/good.qcow2 t=$work/t.qcow2
	"$APKG" convert --compress zlib --cluster-size 4K "$work/sparse.raw" "$good" 2>/dev/null || { fail "hostile: base image"; return; }
	local size=$(stat -c %s "$good") l1 l2=0 i
	l1=$(be64_at "$good" 40)
	for ((i = 0; l2 == 0; i++)); do l2=$(($(be64_at "$good" $((l1 + 8 * i))) & 0x00fffffffffffe00)); done
	l1=$((l1 + 8 * (i - 1))) # the first L1 entry in use
	# (Under 4 bytes there is no magic: such a file is a valid raw image.)
	for cut in 4 71 100 4096 $((l1 - 1)) $((l1 + 4)) $((size / 2)); do
		cp "$good" "$t" && truncate -s "$cut" "$t"
		expect_clean_error "$t" "truncated at $cut"
	done
	while read -r off bytes what; do
		cp "$good" "$t" && poke "$t" "$off" "$bytes"
		expect_clean_error "$t" "$what"
	done <<-EOF
		4 00000004 version 4
		20 00000016 cluster bits 22
		8 0000000000001000 backing file
		32 00000001 encryption
		36 00000000 L1 too small
		36 7fffffff L1 size absurd
		40 0000000000000123 L1 offset unaligned
		40 00ffffffffff0000 L1 offset beyond the file
		72 0000000000000020 unknown incompatible feature
		72 0000000000000002 corrupt bit
		72 0000000000000008 zstd bit with zlib type
		104 02 compression type 2
		$l1 80ffff0000000000 L1 entry beyond the file
		$l1 8000000000000201 L1 reserved bits
		$l2 80ffff0000000000 L2 data cluster beyond the file
		$l2 8000000000010002 L2 reserved bits
		$l2 8000000000001200 L2 data cluster misaligned
	EOF
	# Compressed data damaged: find a compressed entry and smash its bytes.
	local e coff
	for i in $(seq 0 511); do
		e=$(be64_at "$good" $((l2 + 8 * i)))
		if [ $((e >> 62 & 1)) = 1 ]; then
			coff=$((e & ((1 << 58) - 1)))
			cp "$good" "$t" && head -c 64 /dev/urandom | dd of="$t" bs=1 seek="$coff" conv=notrunc status=none
			expect_clean_error "$t" "compressed cluster garbage at $coff"
			break
		fi
	done
	# Random flips in the metadata: any exit but a crash is acceptable.
	for _ in $(seq 40); do
		cp "$good" "$t"
		local at=$(((RANDOM * 32768 + RANDOM) % (size < 65536 ? size : 65536)))
		if [ $((RANDOM % 2)) = 0 ]; then at=$((l1 + RANDOM % 64)); fi
		printf "\\x$(printf %02x $((RANDOM % 256)))" | dd of="$t" bs=1 seek="$at" conv=notrunc status=none
		"$APKG" convert "$t" "$work/flip.raw" >/dev/null 2>&1
		local rc=$?
		[ $rc -le 1 ] || fail "byte flip at $at: exit $rc (crash?)"
		[ $rc -eq 0 ] || [ ! -e "$work/flip.raw" ] || fail "byte flip at $at: failed but left output"
		rm -f "$work/flip.raw"
	done
}

t0=$(date +%s)
make_inputs
matrix
echo "matrix done in $(($(date +%s) - t0)) s"
reader_vs_qemu
threads_identical
hostile
echo "all done in $(($(date +%s) - t0)) s, $failures failures"
[ $failures -eq 0 ]
