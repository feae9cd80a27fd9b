#!/bin/bash
# tests/vmm/make_check_appliance.sh: the bundle tests/vmm/device_check.sh boots on a machine
# with hardware virtualization (`make vmm-check-bundle` runs it).
#
# Writes build/vmm-check/:
#   apkg-vmm          `apkg boot` as a static binary (made by make)
#   testguest.bzImage the VMM's test guest (interrupt scenarios need real KVM)
#   appliance.qcow2   an appliance laid out as apkg builds them: GPT, ESP (FAT16) with
#                     /vmlinuz (Debian's cloud kernel), /initrd.img (apkg's initramfs) and
#                     loader/entries/apkg.conf, and an ext4 root whose /sbin/init reports
#                     like apkg's probe when apkg.check=1 is on the command line, then
#                     powers off
#   vmlinuz, initrd.img, cmdline.txt  the same kernel, initramfs and options, for
#                     QEMU's microvm side by side
# Needs: the Debian kernel (downloaded once into apkg's cache), busybox-static, mke2fs,
# mkfs.fat, mtools, sfdisk, qemu-img.
set -eu
cd "$(dirname "$0")/../.."
out=build/vmm-check
work=$(mktemp -d "${TMPDIR:-/tmp}/apkg-vmm-check.XXXXXX")
trap 'rm -rf "$work"' EXIT
export MTOOLS_SKIP_CHECK=1
esp_uuid=5a8e62d4-7d1b-4c43-a3f1-00000000e5b0
root_uuid=7d3b0f8e-5c2a-4e61-9a0b-00000000c0de
mkdir -p "$out"

build/tools/initramfs_tool fetch linux-image-cloud-amd64 "" "$work/kernel" >"$work/fetch.out"
. "$work/fetch.out" # release=, vmlinuz=, modules_dir=
build/tools/initramfs_tool build "$work/kernel" "$release" bin/apkg-init "$out/initrd.img" 1700000000 >/dev/null
cp "$vmlinuz" "$out/vmlinuz"
cp build/vmm-guests/testguest.bzImage "$out/"

root=$work/root
mkdir -p "$root"/{bin,sbin,dev,proc,sys,run,tmp}
cp /bin/busybox "$root/bin/busybox"
cat >"$root/sbin/init" <<'INIT'
#!/bin/busybox sh
# Reports like apkg's in-guest probe when apkg.check=1, then powers off.
bb=/bin/busybox
$bb mount -t proc proc /proc 2>/dev/null # apkg-init may have mounted them
$bb mount -t sysfs sys /sys 2>/dev/null
up=$($bb cut -d' ' -f1 /proc/uptime)
echo "APKG-VMM-CHECK kernel=$($bb uname -r) uptime=$up cpus=$($bb grep -c ^processor /proc/cpuinfo)"
if $bb grep -q 'apkg.check=1' /proc/cmdline; then
	echo 'APKG-PROBE {"checks":3}'
	passed=0 failed=0
	report() { # name ok detail
		echo "APKG-CHECK {\"check\":\"$1\",\"ok\":$2,\"detail\":\"$3\",\"ms\":0}"
		if [ "$2" = true ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
	}
	rootdev=$($bb awk '$2 == "/" { d = $1 } END { print d }' /proc/mounts)
	case $rootdev in /dev/vd*) report "root on virtio" true "$rootdev" ;; *) report "root on virtio" false "$rootdev" ;; esac
	if $bb ls /sys/bus/platform/drivers/virtio-mmio 2>/dev/null | $bb grep -q LNRO0005; then
		report "virtio-mmio from ACPI" true "LNRO0005 bound"
	else
		report "virtio-mmio from ACPI" false "no LNRO0005 device bound"
	fi
	if $bb grep -q ttyS0 /proc/consoles; then report "serial console" true ttyS0; else report "serial console" false none; fi
	echo "APKG-RESULT {\"passed\":$passed,\"failed\":$failed}"
fi
$bb poweroff -f
INIT
chmod 755 "$root/sbin/init"
mke2fs -q -t ext4 -d "$root" -L root -E root_owner=0:0 "$work/root.ext4" 16M

cmdline="root=PARTUUID=$root_uuid console=ttyS0 panic=-1"
printf '%s\n' "$cmdline" >"$out/cmdline.txt"
mkfs.fat -C -F 16 -n ESP -i 1234abcd "$work/esp.img" 32768 >/dev/null
printf 'title apkg vmm check\nlinux /vmlinuz\ninitrd /initrd.img\noptions %s\n' "$cmdline" >"$work/apkg.conf"
mmd -i "$work/esp.img" ::/loader ::/loader/entries
mcopy -i "$work/esp.img" "$out/vmlinuz" ::/vmlinuz
mcopy -i "$work/esp.img" "$out/initrd.img" ::/initrd.img
mcopy -i "$work/esp.img" "$work/apkg.conf" ::/loader/entries/apkg.conf

disk=$work/disk.raw
truncate -s 56M "$disk"
sfdisk --no-reread --no-tell-kernel -q "$disk" <<SFDISK
label: gpt
label-id: 0a1b2c3d-4e5f-4061-8293-a4b5c6d7e8f9
start=2048, size=65536, type=uefi, uuid=$esp_uuid
start=67584, size=32768, type=linux, uuid=$root_uuid
SFDISK
dd if="$work/esp.img" of="$disk" bs=512 seek=2048 conv=notrunc,sparse status=none
dd if="$work/root.ext4" of="$disk" bs=512 seek=67584 conv=notrunc,sparse status=none
qemu-img convert -c -f raw -O qcow2 "$disk" "$out/appliance.qcow2"
echo "vmm check bundle: $(du -sh "$out" | cut -f1) in $out (kernel $release)"
ls -la "$out"
