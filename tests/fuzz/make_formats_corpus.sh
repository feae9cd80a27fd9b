#!/bin/bash
# tests/fuzz/make_formats_corpus.sh: (re)makes the seed corpora of fuzz_vmdk_check,
# fuzz_ova and fuzz_ova_parts from real files.
#
# Small disks (a few grains of text, random bytes and holes) as
# streamOptimized VMDKs from apkg and qemu-img, OVAs of every profile from
# apkg, and the members of those OVAs joined for fuzz_ova_parts. Each seed
# is a few KiB. Run it by hand after a format change and commit
# tests/fuzz/corpus/{vmdk_check,ova,ova_parts}/.
set -eu
cd "$(dirname "$0")/../.."
APKG=bin/apkg
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for c in vmdk_check ova ova_parts; do
	rm -rf "tests/fuzz/corpus/$c"
	mkdir -p "tests/fuzz/corpus/$c"
done
raw=$work/in.raw
truncate -s 256K "$raw"
yes "fuzz seed text" | head -c 3000 | dd of="$raw" bs=512 seek=1 conv=notrunc status=none
head -c 700 /dev/urandom | dd of="$raw" bs=512 seek=300 conv=notrunc status=none
truncate -s 64K "$work/one.raw"
printf 'x' | dd of="$work/one.raw" bs=1 seek=100 conv=notrunc status=none
truncate -s 1M "$work/empty.raw"

v=tests/fuzz/corpus/vmdk_check
"$APKG" convert --format vmdk "$raw" "$v/apkg-text.vmdk" 2>/dev/null
"$APKG" convert --format vmdk "$work/one.raw" "$v/apkg-one.vmdk" 2>/dev/null
"$APKG" convert --format vmdk "$work/empty.raw" "$v/apkg-empty.vmdk" 2>/dev/null
qemu-img convert -O vmdk -o subformat=streamOptimized "$work/one.raw" "$v/qemu-one.vmdk"
head -c 2048 "$v/apkg-text.vmdk" >"$v/truncated.vmdk"

o=tests/fuzz/corpus/ova
p=tests/fuzz/corpus/ova_parts
for profile in vmware virtualbox generic; do
	"$APKG" convert --format ova --ova-profile $profile --firmware efi --name t "$work/one.raw" "$o/$profile.ova" 2>/dev/null
	mkdir -p "$work/$profile" && tar -C "$work/$profile" -xf "$o/$profile.ova"
	disk=$(ls "$work/$profile" | grep vmdk)
	{ cat "$work/$profile/t.ovf"; printf '\n@@@\n'; cat "$work/$profile/t.mf"; printf '\n@@@\n'; cat "$work/$profile/$disk"; } >"$p/$profile"
done
echo "corpora: $(ls $v | wc -l) vmdk, $(ls $o | wc -l) ova, $(ls $p | wc -l) ova_parts"
