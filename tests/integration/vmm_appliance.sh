#!/bin/bash
# tests/integration/vmm_appliance.sh: `apkg boot --vmm IMAGE|OUTDIR` on an appliance-shaped disk.
#
# The disk is made by the real tools: sfdisk (GPT), mkfs.fat and mtools (an
# ESP holding the test guest as /vmlinuz, an initrd and a systemd-boot
# entry). apkg must find the ESP through the GPT, take the kernel, initrd
# and options from the entry, and attach the image itself as the virtio
# disk. Oracles: qemu-img's reading of the same disk and gzip's CRC-32 for
# the bytes the guest read, and sha256 to show the image was not written.
set -u
cd "$(dirname "$0")/../.."
[ -r /dev/kvm ] && [ -w /dev/kvm ] || { echo "SKIP: no usable /dev/kvm"; exit 77; }
for t in sfdisk mkfs.fat mcopy qemu-img gzip; do
	command -v $t >/dev/null || { echo "SKIP: $t is missing"; exit 77; }
done
guest=build/vmm-guests/testguest.bzImage
[ -f "$guest" ] || { echo "missing $guest (make guests)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/console" ] && sed 's/^/  console: /' "$tmp/console"; exit 1; }
export MTOOLS_SKIP_CHECK=1

crc_of() { # file offset length -> 0x%x CRC-32 (gzip's trailer is the zlib CRC-32)
	dd if="$1" bs=512 skip=$(($2 / 512)) count=$(($3 / 512)) status=none | gzip -c | tail -c8 | head -c4 |
		od -An -tu4 | awk '{printf "0x%x", $1}'
}

# The guest's "BLK read" lines must match qemu-img's reading of the same sectors.
check_reads() { # with what=raw|qcow2 in the environment
	local want
	for r in "0 4" "2048 8"; do
		set -- $r
		want=$(crc_of "$tmp/oracle.raw" $(($1 * 512)) $(($2 * 512)))
		grep -q "^BLK read sector=$1 count=$2 status=0 used=$(($2 * 512 + 1)) crc=$want$" "$tmp/console" ||
			fail "$what: sectors $1+$2 differ from qemu-img's reading (want crc $want)"
	done
}

disk=$tmp/hello.raw
truncate -s 48M "$disk"
printf 'label: gpt\nstart=2048, size=65536, type=uefi\ntype=linux\n' |
	sfdisk --no-reread --no-tell-kernel -q "$disk" || fail "sfdisk"
mkfs.fat -C -F 16 -n ESP "$tmp/esp.img" 32768 >/dev/null
head -c 30000 /dev/urandom >"$tmp/initrd.img"
cat >"$tmp/apkg.conf" <<'ENTRY'
title apkg test guest
linux /vmlinuz
initrd /initrd.img
options test=virtio read=0:4,2048:8 write=9
ENTRY
mmd -i "$tmp/esp.img" ::/loader ::/loader/entries ::/EFI ::/EFI/BOOT
mcopy -i "$tmp/esp.img" "$guest" ::/vmlinuz
mcopy -i "$tmp/esp.img" "$tmp/initrd.img" ::/initrd.img
mcopy -i "$tmp/esp.img" "$tmp/apkg.conf" ::/loader/entries/apkg.conf
mcopy -i "$tmp/esp.img" "$guest" ::/EFI/BOOT/BOOTX64.EFI
dd if="$tmp/esp.img" of="$disk" bs=1M seek=1 conv=notrunc status=none
sha_before=$(sha256sum <"$disk")

bin/apkg boot --vmm "$disk" --append "exit=acpi" --timeout 30 </dev/null >"$tmp/console" 2>"$tmp/err" ||
	fail "apkg boot --vmm IMAGE failed: $(cat "$tmp/err")"
grep -q "^GUEST cmdline test=virtio read=0:4,2048:8 write=9 exit=acpi$" "$tmp/console" ||
	fail "the command line is not the loader entry's options plus --append"
grep -q "^BLK capacity=$((48 * 2048)) " "$tmp/console" || fail "the image is not the virtio disk"
qemu-img convert -f raw -O raw "$disk" "$tmp/oracle.raw"
what=raw check_reads
grep -q "^BLK write sector=9 status=0 " "$tmp/console" || fail "the write failed"
[ "$(sha256sum <"$disk")" = "$sha_before" ] || fail "the image was modified"
grep -q "^RESULT ok" "$tmp/console" || fail "the guest reported a failure"

# The same appliance as qcow2 (made by qemu-img), read by apkg's own qcow2 reader.
qemu-img convert -f raw -O qcow2 "$disk" "$tmp/hello.qcow2"
bin/apkg boot --vmm "$tmp/hello.qcow2" --append "exit=acpi" --timeout 30 </dev/null >"$tmp/console" 2>"$tmp/err" ||
	fail "apkg boot --vmm on the qcow2 failed: $(cat "$tmp/err")"
what=qcow2 check_reads
grep -q "^RESULT ok" "$tmp/console" || fail "qcow2: the guest reported a failure"

# An output directory: its image is found; --cmdline replaces the entry's options.
mkdir "$tmp/out"
mv "$disk" "$tmp/out/hello-1.0.0.raw"
bin/apkg boot --vmm "$tmp/out" --cmdline "test=zeropage" --timeout 30 </dev/null >"$tmp/console" 2>"$tmp/err" ||
	fail "apkg boot --vmm OUTDIR failed: $(cat "$tmp/err")"
want=$(gzip -c "$tmp/initrd.img" | tail -c8 | head -c4 | od -An -tu4 | awk '{printf "0x%x", $1}')
grep -q "^INITRD addr=0x[0-9a-f]*000 size=30000 crc=$want$" "$tmp/console" || fail "the initrd is not the ESP's"

# No ESP: a clear error, non-zero.
truncate -s 8M "$tmp/noesp.raw"
printf 'label: gpt\ntype=linux\n' | sfdisk --no-reread --no-tell-kernel -q "$tmp/noesp.raw"
if bin/apkg boot --vmm "$tmp/noesp.raw" --timeout 10 </dev/null >/dev/null 2>"$tmp/err"; then
	fail "a disk without an ESP booted"
fi
grep -q "no EFI system partition" "$tmp/err" || fail "unclear error: $(cat "$tmp/err")"
echo "apkg boot --vmm boots the image's own loader entry and never writes the image"
