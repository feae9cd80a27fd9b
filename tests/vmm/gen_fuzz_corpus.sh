#!/bin/bash
# tests/vmm/gen_fuzz_corpus.sh: (re)writes the seed corpora of the VMM's fuzz harnesses
# into tests/fuzz/corpus/{virtqueue,virtio_blk,loader_entry,fat,gpt,bzimage}/.
#
# Virtio and loader-entry seeds come from tests/vmm/gen_fuzz_corpus.c; FAT
# and GPT seeds are made by the real tools (mkfs.fat, mtools, sfdisk) and cut
# after their last non-zero byte (the harnesses read zeros beyond the input);
# the bzImage seed is the test guest's packer run over a small payload.
# Run from anywhere; needs cc, dosfstools, mtools, fdisk and `make guests`.
set -eu
cd "$(dirname "$0")/../.."
corpus=tests/fuzz/corpus
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export MTOOLS_SKIP_CHECK=1

cc -std=c11 -O2 -Wall -Wextra -Werror -o "$work/gen" tests/vmm/gen_fuzz_corpus.c
mkdir -p "$corpus"
"$work/gen" "$corpus"

# Cuts a file after its last non-zero byte.
trim() {
	python3 - "$1" <<'PY'
import sys
p = sys.argv[1]
d = open(p, 'rb').read().rstrip(b'\0')
open(p, 'wb').write(d)
PY
}

mkdir -p "$corpus/fat" "$corpus/gpt" "$corpus/bzimage"
printf 'title t\nlinux /vmlinuz\noptions console=ttyS0\n' >"$work/apkg.conf"
head -c 700 /dev/zero | tr '\0' 'K' >"$work/vmlinuz"
for bits in 12 16; do
	img="$work/fat$bits.img"
	size=$([ "$bits" = 12 ] && echo 200 || echo 2200)
	mkfs.fat -C -F "$bits" -s 1 -r 16 -f 1 -n ESP -i 1234abcd "$img" "$size" >/dev/null
	mmd -i "$img" ::/loader ::/loader/entries ::/syslinux "::/A Long Directory"
	mcopy -i "$img" "$work/apkg.conf" ::/loader/entries/apkg.conf
	mcopy -i "$img" "$work/vmlinuz" ::/vmlinuz
	mcopy -i "$img" "$work/apkg.conf" "::/A Long Directory/a long file name.txt"
	trim "$img"
	cp "$img" "$corpus/fat/esp-fat$bits"
done

disk="$work/disk.raw"
truncate -s 1M "$disk"
printf 'label: gpt\nlabel-id: 0F6B4E0A-1E43-4E5B-9E0C-3F2B8D0B2A11\nfirst-lba: 34\nstart=40, size=1000, type=uefi\nstart=1040, size=900, type=linux\n' |
	sfdisk --no-reread --no-tell-kernel -q "$disk"
head -c 17408 "$disk" >"$corpus/gpt/primary-esp-and-linux"
trim "$corpus/gpt/primary-esp-and-linux"

head -c 600 /dev/urandom >"$work/payload"
build/vmm-guests/mkbzimage "$work/payload" "$corpus/bzimage/small-bzimage"
echo "corpora written under $corpus"
