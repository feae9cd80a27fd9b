#!/bin/bash
# tests/integration/initramfs_boot.sh: apkg's initramfs really boots a Debian kernel.
#
# Fetches linux-image-amd64 (cached in ~/.cache/apkg/debs), builds the initramfs with the
# default module set, writes a GPT disk (sfdisk, dd: test-only tools) whose partition 2 is an
# ext4 root made by `mke2fs -d`, and boots it under QEMU TCG on every disk controller the
# initramfs promises. The root's /sbin/init is a busybox script that prints a marker with the
# mounted root, the loaded modules and the boot check flag, then powers off. Also checks that a
# wrong PARTUUID ends in one APKG-INITRAMFS-ERROR line and a power-off, and that the fw_cfg
# option apkg.check=1 leaves /run/apkg/check in the booted root.
# Exit 0 pass, 77 skip (no QEMU, or no way to download the kernel), anything else fail.
set -u
cd "$(dirname "$0")/../.."
tool=build/tools/initramfs_tool
init=bin/apkg-init
for t in qemu-system-x86_64 sfdisk mke2fs; do
	command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
[ -x /bin/busybox ] || { echo "SKIP: busybox-static not installed"; exit 77; }
[ -x "$tool" ] && [ -x "$init" ] || { echo "FAIL: run make first ($tool, $init)"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/apkg-initramfs-boot.XXXXXX")
[ -n "${APKG_TEST_KEEP:-}" ] && echo "work: $work" || trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# ---- kernel -------------------------------------------------------------------------------
if ! "$tool" fetch linux-image-amd64 "" >"$work/fetch.out" 2>&1; then
	cat "$work/fetch.out"
	grep -q "apt-get download .* failed\|cannot resolve kernel package" "$work/fetch.out" &&
		{ echo "SKIP: cannot download linux-image-amd64 (no network or apt lists)"; exit 77; }
	fail "kernel fetch"
fi
. "$work/fetch.out" # release=, vmlinuz=, modules_dir=
kroot=${modules_dir%/lib/modules/*} # the unpacked kernel tree in the cache
echo "kernel $release"

# ---- initramfs ----------------------------------------------------------------------------
"$tool" build "$kroot" "$release" "$init" "$work/initrd.img" 1700000000 >"$work/modules.txt" || fail "initramfs build"
"$tool" build "$kroot" "$release" "$init" "$work/initrd2.img" 1700000000 >/dev/null || fail "second build"
cmp -s "$work/initrd.img" "$work/initrd2.img" || fail "two builds of the initramfs differ"
size=$(stat -c %s "$work/initrd.img")
echo "initramfs: $size bytes, $(grep -c '^module ' "$work/modules.txt") modules"
[ "$size" -lt $((3 * 1024 * 1024)) ] || fail "initramfs is $size bytes, over 3 MB"
for m in virtio_blk virtio_pci ata_piix ahci sd_mod mptsas vmw_pvscsi nvme ext4 qemu_fw_cfg; do
	grep -qx "module $m" "$work/modules.txt" || fail "module $m missing from the initramfs"
done
# Dependencies come first: virtio_ring before virtio_blk, jbd2 before ext4 (from modules.dep).
order() { grep -n "^module $1\$" "$work/modules.txt" | cut -d: -f1; }
[ "$(order virtio_ring)" -lt "$(order virtio_blk)" ] && [ "$(order jbd2)" -lt "$(order ext4)" ] ||
	fail "module load order does not follow modules.dep"

# ---- root file system and disk ------------------------------------------------------------
root=$work/root
mkdir -p "$root"/{bin,sbin,dev,proc,sys,run,tmp}
cp /bin/busybox "$root/bin/busybox"
cat >"$root/sbin/init" <<'INIT'
#!/bin/busybox sh
bb=/bin/busybox
if [ -e /run/apkg/check ]; then check="present:$($bb cat /run/apkg/check)"; else check=absent; fi
rootdev=$($bb awk '$2 == "/" { d = $1 } END { print d }' /proc/mounts)
mods=$($bb awk '{ printf "%s ", $1 }' /proc/modules)
echo "APKG-TEST-MARKER root=$rootdev check=$check"
echo "APKG-TEST-MODULES $mods"
$bb mount -o remount,ro / # so that the next boot of the same disk needs no journal recovery
$bb poweroff -f
INIT
chmod 755 "$root/sbin/init"
partuuid=7d3b0f8e-5c2a-4e61-9a0b-2f4c6d8e1a35
mke2fs -q -t ext4 -d "$root" -L root -E root_owner=0:0 "$work/root.ext4" 40M || fail "mke2fs"
truncate -s 64M "$work/disk.raw"
sfdisk -q "$work/disk.raw" <<SFDISK || fail "sfdisk"
label: gpt
label-id: 0a1b2c3d-4e5f-4061-8293-a4b5c6d7e8f9
start=2048, size=16384, type=uefi, uuid=11111111-2222-4333-8444-555555555555
start=18432, size=90112, type=linux, uuid=$partuuid
SFDISK
[ "$(sfdisk --part-uuid "$work/disk.raw" 2)" = "${partuuid^^}" ] || fail "sfdisk did not set the PARTUUID"
dd if="$work/root.ext4" of="$work/disk.raw" bs=512 seek=18432 conv=notrunc,sparse status=none || fail "dd"

# ---- boots --------------------------------------------------------------------------------
# boot NAME CMDLINE_EXTRA QEMU_ARGS...: boots under TCG with a hang guard; log in $work/NAME.log.
boot() {
	local name=$1 extra=$2
	shift 2
	local t0=$(date +%s.%N)
	timeout 120 qemu-system-x86_64 -accel tcg -m 512 -nodefaults -nographic -serial stdio -no-reboot \
		-kernel "$vmlinuz" -initrd "$work/initrd.img" \
		-append "console=ttyS0 root=PARTUUID=$partuuid rw panic=-1 $extra" "$@" \
		</dev/null >"$work/$name.log" 2>&1
	local rc=$?
	boot_time=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	return $rc
}

drive="file=$work/disk.raw,format=raw"
check_boot() { # name driver qemu-args...
	local name=$1 driver=$2
	shift 2
	boot "$name" "" "$@"
	local rc=$?
	if [ $rc -ne 0 ] || ! grep -q "^APKG-TEST-MARKER root=/dev/" "$work/$name.log"; then
		tail -n 40 "$work/$name.log"
		fail "$name: no marker (qemu exit $rc)"
	fi
	grep -q "^APKG-TEST-MARKER .* check=absent" "$work/$name.log" || fail "$name: check flag set without apkg.check"
	grep "^APKG-TEST-MODULES " "$work/$name.log" | grep -qw "$driver" || fail "$name: driver $driver not loaded"
	grep -q "^APKG-INITRAMFS-ERROR" "$work/$name.log" && fail "$name: error line on a good boot"
	local mounted=$(sed -n 's/^apkg-init: root .* mounted r[ow] at \([0-9.]*\) s.*/\1/p' "$work/$name.log")
	echo "boot $name: $(grep -o 'root=/dev/[a-z0-9]*' "$work/$name.log" | head -1) via $driver;" \
		"root mounted at ${mounted:-?} s guest time; ${boot_time}s wall from QEMU start to power-off"
}

check_boot virtio-blk virtio_blk -drive "$drive,if=virtio"
check_boot ide ata_piix -drive "$drive,if=ide"
check_boot ahci ahci -device ich9-ahci,id=ahci -drive "$drive,if=none,id=d0" -device ide-hd,drive=d0,bus=ahci.0
check_boot pvscsi vmw_pvscsi -device pvscsi,id=scsi0 -drive "$drive,if=none,id=d0" -device scsi-hd,drive=d0,bus=scsi0.0
check_boot virtio-scsi virtio_scsi -device virtio-scsi-pci,id=scsi0 -drive "$drive,if=none,id=d0" -device scsi-hd,drive=d0,bus=scsi0.0
check_boot nvme nvme -drive "$drive,if=none,id=d0" -device nvme,serial=apkg0,drive=d0

# The boot check flag comes from fw_cfg, never from the image's own boot entries.
boot check "" -drive "$drive,if=virtio" -fw_cfg name=opt/org.apkg/cmdline,string=apkg.check=1 ||
	{ tail -n 40 "$work/check.log"; fail "check boot: qemu exit $?"; }
grep -q "^APKG-TEST-MARKER .* check=present:apkg.check=1" "$work/check.log" ||
	{ tail -n 40 "$work/check.log"; fail "apkg.check=1 via fw_cfg did not leave /run/apkg/check"; }
echo "boot check: /run/apkg/check present, ${boot_time}s"

# A wrong PARTUUID: one error line, then QEMU exits by itself (power-off, not the hang guard).
partuuid=00000000-0000-4000-8000-000000000000
boot wrong-root "apkg.root_timeout=3" -drive "$drive,if=virtio"
rc=$?
[ $rc -eq 0 ] || { tail -n 40 "$work/wrong-root.log"; fail "wrong root: qemu exit $rc (124: it hung)"; }
n=$(grep -c "^APKG-INITRAMFS-ERROR: root device PARTUUID=$partuuid not found after 3 s" "$work/wrong-root.log")
[ "$n" -eq 1 ] || { tail -n 40 "$work/wrong-root.log"; fail "wrong root: expected one error line, got $n"; }
grep -q "APKG-TEST-MARKER" "$work/wrong-root.log" && fail "wrong root: booted anyway"
echo "boot wrong-root: $(grep '^APKG-INITRAMFS-ERROR' "$work/wrong-root.log" | cut -c1-160)..., powered off after ${boot_time}s"
echo "PASS"
