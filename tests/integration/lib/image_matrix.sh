# tests/integration/lib/image_matrix.sh: sourced by the image format matrices
# (qcow2_matrix.sh, formats_matrix.sh), which test apkg's writers and readers
# against real qemu-img over the same raw inputs.
#   matrix_init NAME   skips (exit 77) without qemu-img or mke2fs; sets APKG,
#                      $work (/tmp/apkg-NAME.XXXXXX, kept when a check failed)
#                      and failures; the text inputs carry NAME
#   fail MESSAGE       counts a failure and goes on
#   put FILE OFFSET LENGTH urandom|text|zero|byte
#   make_inputs        $work/{sparse,zero,data,odd,odd512,big,ext4}.raw; the
#                      caller seeds RANDOM first (its sparse layout)
#   json_field KEY FILE  the first value of "KEY" in qemu-img's JSON

matrix_init() {
	MATRIX_NAME=$1
	APKG=$PWD/bin/apkg
	command -v qemu-img >/dev/null || { echo "SKIP: qemu-img not installed (qemu-utils)"; exit 77; }
	command -v mke2fs >/dev/null || { echo "SKIP: mke2fs not installed (e2fsprogs)"; exit 77; }
	[ -x "$APKG" ] || { echo "bin/apkg missing: run make"; exit 1; }
	work=$(mktemp -d "/tmp/apkg-${MATRIX_NAME// /-}.XXXXXX")
	failures=0
	trap 'if [ $failures -eq 0 ]; then rm -rf "$work"; else echo "work directory kept: $work"; fi' EXIT
}

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

put() { # file offset length source(urandom|text|zero|byte)
	local f=$1 off=$2 len=$3
	case $4 in
	urandom) head -c "$len" /dev/urandom ;;
	text) yes "apkg $MATRIX_NAME: the quick brown fox jumps over the lazy appliance $off" | head -c "$len" ;;
	zero) head -c "$len" /dev/zero ;;
	byte) printf '\x5a' ;;
	esac | dd of="$f" bs=64K seek="$off" oflag=seek_bytes conv=notrunc status=none
}

make_inputs() {
	local f=$work/sparse.raw
	truncate -s 48M "$f"
	local kinds=(urandom text zero byte)
	for _ in $(seq 60); do
		put "$f" $(((RANDOM * 32768 + RANDOM) % (48 * 1048576 - 300000))) $((1 + RANDOM * 10)) "${kinds[RANDOM % 4]}"
	done
	# One byte in many clusters, grains and blocks (qcow2: compressed
	# clusters of a few bytes, many blobs sharing a host cluster).
	for i in $(seq 0 40); do put "$f" $((40 * 1048576 + i * 65536 + i * 13)) 1 byte; done

	head -c 16M /dev/zero >"$work/zero.raw"

	head -c 6M /dev/urandom >"$work/data.raw"
	yes "all data, no zero block anywhere in this input" | head -c 6M >>"$work/data.raw"

	f=$work/odd.raw # off every cluster, grain and block grid, even the 512-byte one
	truncate -s $((5 * 1048576 + 12345)) "$f"
	put "$f" 0 70000 text
	put "$f" $((5 * 1048576)) 12345 urandom

	f=$work/odd512.raw # on the sector grid, off the cluster, grain and block grids
	truncate -s $((3 * 1048576 + 1536)) "$f"
	put "$f" $((3 * 1048576 - 1000)) 2536 text

	f=$work/big.raw # 20 GiB sparse
	truncate -s 20G "$f"
	put "$f" 0 1048576 urandom
	put "$f" $((10 * 1073741824 + 12345)) 65536 text
	put "$f" $((20 * 1073741824 - 4096)) 4095 urandom
	put "$f" $((20 * 1073741824 - 1)) 1 byte

	local src=/usr/share/perl5
	[ -d "$src" ] || src=/usr/share/doc
	local kib=$(du -sk "$src" | cut -f1)
	mke2fs -q -t ext4 -E root_owner=0:0 -d "$src" "$work/ext4.raw" $((kib * 2 + 16384))k ||
		{ fail "mke2fs -d $src"; exit 1; }
}

json_field() { # key json-file: the first value of "key"
	sed -n "s/^ *\"$1\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}\$/\1/p" "$2" | head -n 1
}
