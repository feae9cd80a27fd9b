#!/bin/bash
# tests/fuzz/make_qcow2_corpus.sh: (re)makes the seed corpus of fuzz_qcow2 from real images.
#
# Small images (each under 64 KiB, most under 8 KiB) from qemu-img (512-byte
# to 4 KiB clusters: plain, zlib, zstd, compat=0.10, zero clusters written
# with qemu-io, an L1 spanning several L2 tables) and from apkg's own
# writer (plain, zlib, zstd). Run it by hand after a format change and
# commit tests/fuzz/corpus/qcow2/.
set -eu
cd "$(dirname "$0")/../.."
out=tests/fuzz/corpus/qcow2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
rm -f "$out"/*.qcow2

# A 192 KiB disk: text, random bytes, a single byte, and holes.
raw=$work/in.raw
truncate -s 192K "$raw"
yes "fuzz seed text" | head -c 3000 | dd of="$raw" bs=512 seek=1 conv=notrunc status=none
head -c 1500 /dev/urandom | dd of="$raw" bs=512 seek=40 conv=notrunc status=none
printf 'x' | dd of="$raw" bs=1 seek=150000 conv=notrunc status=none

q() { # name, qemu-img convert options
	local name=$1; shift
	qemu-img convert -O qcow2 "$@" "$raw" "$out/$name.qcow2"
}
q qemu-512-plain -o cluster_size=512
q qemu-512-zlib -c -o cluster_size=512
q qemu-512-zstd -c -o cluster_size=512,compression_type=zstd
q qemu-512-v2 -o cluster_size=512,compat=0.10
q qemu-512-v2-zlib -c -o cluster_size=512,compat=0.10
q qemu-1k-zlib -c -o cluster_size=1024
q qemu-4k-plain -o cluster_size=4096
qemu-img create -q -f qcow2 -o cluster_size=512 "$out/qemu-512-empty.qcow2" 1M
qemu-img create -q -f qcow2 -o cluster_size=512 "$out/qemu-512-zero.qcow2" 256K
qemu-io -c "write -P 0x41 0 4k" -c "write -z 1024 2048" -c "write -z -u 8k 4k" "$out/qemu-512-zero.qcow2" >/dev/null
APKG=bin/apkg
for c in none zlib zstd; do
	"$APKG" convert --cluster-size 4K --compress $c "$raw" "$out/apkg-4k-$c.qcow2" 2>/dev/null
done
"$APKG" convert --cluster-size 4K --qcow2-version 2 --compress zlib "$raw" "$out/apkg-4k-v2-zlib.qcow2" 2>/dev/null
ls -l "$out"
