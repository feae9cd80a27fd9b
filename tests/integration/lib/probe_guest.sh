# tests/integration/lib/probe_guest.sh: builds small bootable guests for the
# `apkg test` integration tests (sourced, not run).
#
# A guest is Debian's generic kernel (linux-image-amd64, downloaded once into
# ~/.cache/apkg/debs) with a test initramfs: static busybox, bin/apkg-probe,
# a checks file, and the disk-controller modules. Its /init stands in for
# apkg's initramfs and a busybox rcS: it loads the modules, turns QEMU's
# fw_cfg item opt/org.apkg/cmdline into /run/apkg/check like apkg's initramfs
# does, waits for a disk (printing APKG-INITRAMFS-ERROR if none appears),
# starts busybox httpd and runs the probe. guest_disk lays kernel and
# initramfs into a hybrid BIOS+UEFI GPT disk (ESP only: syslinux + gptmbr for
# BIOS, systemd-boot at the removable path for UEFI), as boot.md describes.

APKG_ROOT=${APKG_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}
GUEST_CACHE=${APKG_TEST_CACHE:-$APKG_ROOT/build/probe-test}
DEB_CACHE=${APKG_DEB_CACHE:-$HOME/.cache/apkg/debs}
# Every module the test targets' disks and fw_cfg need (dependencies are added).
GUEST_MODULES="qemu_fw_cfg virtio_pci virtio_blk ahci sd_mod vmw_pvscsi nvme"

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# The usual start of a probe test: skips without QEMU, sets up the kernel
# (guest_kernel), a scratch directory work (removed on exit, also TMPDIR)
# and apkg.
guest_test_setup() {
	command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 missing (make deps)"
	guest_kernel
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	export TMPDIR=$work/tmp
	mkdir -p "$TMPDIR"
	apkg=$APKG_ROOT/bin/apkg
}

# Sets KVER, VMLINUZ and MODROOT, downloading and unpacking the kernel once.
guest_kernel() {
	local deb pkg
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
	[ -n "$pkg" ] || skip "apt-cache does not know linux-image-amd64"
	KVER=${pkg#linux-image-}
	MODROOT=$GUEST_CACHE/kernel-$KVER
	VMLINUZ=$MODROOT/boot/vmlinuz-$KVER
	[ -s "$VMLINUZ" ] && return 0
	mkdir -p "$DEB_CACHE"
	deb=$(ls "$DEB_CACHE"/"${pkg}"_*.deb 2>/dev/null | head -n1)
	if [ -z "$deb" ]; then
		(cd "$DEB_CACHE" && apt-get download "$pkg" >/dev/null 2>&1) || skip "cannot download $pkg (no network?)"
		deb=$(ls "$DEB_CACHE"/"${pkg}"_*.deb | head -n1)
	fi
	rm -rf "$MODROOT.tmp" && mkdir -p "$MODROOT.tmp"
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$MODROOT.tmp" --wildcards './boot/vmlinuz-*' \
		'./lib/modules/*/kernel/drivers/ata/*' './lib/modules/*/kernel/drivers/block/virtio_blk.ko' \
		'./lib/modules/*/kernel/drivers/scsi/*' './lib/modules/*/kernel/drivers/virtio/*' \
		'./lib/modules/*/kernel/drivers/nvme/*' \
		'./lib/modules/*/kernel/drivers/firmware/qemu_fw_cfg.ko' \
		'./lib/modules/*/kernel/lib/*' './lib/modules/*/kernel/block/*' './lib/modules/*/kernel/crypto/*' \
		|| fail "cannot unpack $deb"
	rm -rf "$MODROOT" && mv "$MODROOT.tmp" "$MODROOT"
}

# Prints the module files for the given names, dependencies first.
module_closure() {
	local -A path seen
	local f n
	while read -r f; do n=$(basename "$f" .ko); path[$n]=$f; path[${n//-/_}]=$f; done \
		< <(find "$MODROOT/lib/modules" -name '*.ko')
	visit() {
		local m=${1//-/_} d
		[ -n "${seen[$m]:-}" ] && return
		seen[$m]=1
		[ -n "${path[$m]:-}" ] || fail "module $m not found in $MODROOT"
		for d in $(modinfo -F depends "${path[$m]}" | tr ',' ' '); do visit "$d"; done
		echo "${path[$m]}"
	}
	for n in "$@"; do visit "$n"; done
}

# guest_initramfs OUT CHECKS_FILE [MODULES...]: the test initramfs (gzip cpio).
# Behaviour switches, as files in the initramfs, come from GUEST_FLAGS
# (space-separated): hang, panic, no-httpd, initramfs-error.
guest_initramfs() {
	local out=$1 checks=$2 dir m mods
	shift 2
	[ $# -gt 0 ] || set -- $GUEST_MODULES
	mods=$(module_closure "$@") || exit 1
	dir=$(mktemp -d)
	mkdir -p "$dir"/{bin,proc,sys,dev,run,tmp,www,etc/flags,usr/lib/apkg,lib/modules}
	cp /bin/busybox "$dir/bin/busybox"
	cp "$APKG_ROOT/bin/apkg-probe" "$dir/usr/lib/apkg/apkg-probe"
	cp "$checks" "$dir/usr/lib/apkg/checks"
	echo "hello from the apkg test guest" > "$dir/www/index.html"
	for f in ${GUEST_FLAGS:-}; do : > "$dir/etc/flags/$f"; done
	echo "${GUEST_DISK_WAIT:-100}" > "$dir/etc/disk-wait" # tenths of a second
	for m in $mods; do
		cp "$m" "$dir/lib/modules/"
		basename "$m" >> "$dir/etc/modules-order"
	done
	cat > "$dir/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
mount -t tmpfs run /run
for m in $(cat /etc/modules-order); do insmod /lib/modules/$m 2>/dev/null; done
[ -e /etc/flags/panic ] && exit 1   # PID 1 exits: "Kernel panic - not syncing: Attempted to kill init!"
if [ -e /etc/flags/initramfs-error ]; then
	echo "APKG-INITRAMFS-ERROR: root device PARTUUID=test not found (test)"; poweroff -f
fi
# what apkg's initramfs does with QEMU's fw_cfg item
f=/sys/firmware/qemu_fw_cfg/by_name/opt/org.apkg/cmdline/raw
if [ -r $f ] && grep -q 'apkg.check=1' $f; then mkdir -p /run/apkg; cat $f > /run/apkg/check; fi
if ! grep -q 'root=direct' /proc/cmdline; then
	n=0
	until ls /sys/block | grep -qE '^(vd|sd|nvme)'; do
		n=$((n + 1))
		if [ $n -gt $(cat /etc/disk-wait) ]; then
			echo "APKG-INITRAMFS-ERROR: no disk appeared within $(($(cat /etc/disk-wait) / 10)) s (missing driver?)"
			poweroff -f
		fi
		sleep 0.1
	done
	echo "TEST-GUEST disk: $(ls /sys/block | grep -E '^(vd|sd|nvme)' | tr '\n' ' ')"
fi
ifconfig lo 127.0.0.1 up
[ -e /etc/flags/hang ] && { echo "TEST-GUEST hanging"; sleep 100000; }
[ -e /etc/flags/no-httpd ] || httpd -p 80 -h /www
/usr/lib/apkg/apkg-probe
echo "TEST-GUEST probe returned $? (no check requested?)"
poweroff -f
EOF
	chmod 755 "$dir/init"
	(cd "$dir" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1 > "$out") || fail "cpio failed"
	rm -rf "$dir"
}

# guest_disk OUT.raw INITRD [CMDLINE]: hybrid GPT disk with an ESP that boots
# the kernel with BIOS (syslinux) and UEFI (systemd-boot).
guest_disk() {
	local out=$1 initrd=$2 cmdline=${3:-console=ttyS0 loglevel=4} esp
	esp=$(mktemp)
	rm -f "$esp"
	mkfs.fat -C -F 16 -n ESP "$esp" 40960 >/dev/null || fail "mkfs.fat failed"
	mmd -i "$esp" ::/syslinux ::/EFI ::/EFI/BOOT ::/loader ::/loader/entries
	mcopy -i "$esp" "$VMLINUZ" ::/vmlinuz
	mcopy -i "$esp" "$initrd" ::/initrd.img
	printf 'DEFAULT apkg\nTIMEOUT 0\nLABEL apkg\n  LINUX /vmlinuz\n  INITRD /initrd.img\n  APPEND %s\n' "$cmdline" \
		| mcopy -i "$esp" - ::/syslinux/syslinux.cfg
	mcopy -i "$esp" /usr/lib/systemd/boot/efi/systemd-bootx64.efi ::/EFI/BOOT/BOOTX64.EFI
	printf 'default apkg.conf\ntimeout 0\n' | mcopy -i "$esp" - ::/loader/loader.conf
	printf 'title apkg test guest\nlinux /vmlinuz\ninitrd /initrd.img\noptions %s\n' "$cmdline" \
		| mcopy -i "$esp" - ::/loader/entries/apkg.conf
	syslinux --install --directory /syslinux "$esp" || fail "syslinux failed"
	rm -f "$out"
	truncate -s 48M "$out"
	printf 'label: gpt\nstart=2048, size=81920, type=uefi, attrs="LegacyBIOSBootable"\n' \
		| sfdisk -q "$out" >/dev/null || fail "sfdisk failed"
	dd if=/usr/lib/syslinux/mbr/gptmbr.bin of="$out" bs=440 count=1 conv=notrunc status=none
	dd if="$esp" of="$out" bs=1M seek=1 conv=notrunc,sparse status=none
	rm -f "$esp"
}

# guest_ova OUT.ova DISK.raw: an OVA holding a streamOptimized VMDK.
guest_ova() {
	local ova=$1 raw=$2 dir name
	dir=$(mktemp -d)
	name=$(basename "$ova" .ova)
	qemu-img convert -O vmdk -o subformat=streamOptimized "$raw" "$dir/$name-disk1.vmdk" || fail "qemu-img vmdk failed"
	printf '<?xml version="1.0"?>\n<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1"/>\n' > "$dir/$name.ovf"
	(cd "$dir" && tar --format=ustar -cf "$ova" "$name.ovf" "$name-disk1.vmdk") || fail "tar failed"
	rm -rf "$dir"
}

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# guest_manifest OUTDIR NAME VERSION DEADLINE TARGETS_JSON DRIVERS_JSON CHECKS_JSON FILE:FORMAT...
# writes OUTDIR/manifest.json the way `apkg build` does.
guest_manifest() {
	local dir=$1 name=$2 version=$3 deadline=$4 targets=$5 drivers=$6 checks=$7 sep="" a f fmt
	shift 7
	{
		printf '{\n  "apkg_manifest": 1,\n  "name": "%s",\n  "version": "%s",\n' "$name" "$version"
		printf '  "recipe": "/nonexistent/%s.yaml",\n  "recipe_hash": "0",\n  "targets": %s,\n' "$name" "$targets"
		printf '  "check_deadline": %s,\n  "checks": %s,\n' "$deadline" "$checks"
		printf '  "hardware": {"cpus": 1, "memory": 268435456, "nic": "e1000"},\n'
		printf '  "disk": {"boot": "hybrid", "size": 50331648},\n'
		printf '  "kernel": {"package": "%s", "release": "%s", "cmdline": "console=ttyS0",\n' \
			"${KERNEL_PACKAGE:-linux-image-amd64}" "$KVER"
		printf '    "drivers": %s},\n  "artifacts": [' "$drivers"
		for a in "$@"; do
			f=${a%%:*} fmt=${a#*:}
			printf '%s\n    {"file": "%s", "format": "%s", "size": %s, "sha256": "%s"}' "$sep" "$f" "$fmt" \
				"$(stat -c %s "$dir/$f")" "$(sha256_of "$dir/$f")"
			sep=","
		done
		printf '\n  ],\n  "validation": []\n}\n'
	} > "$dir/manifest.json"
}

ALL_DRIVERS='{"virtio_blk": "initramfs", "virtio_pci": "initramfs", "ahci": "initramfs", "ata_piix": "initramfs",
      "sd_mod": "initramfs", "nvme": "initramfs", "vmw_pvscsi": "initramfs", "serial_8250": "builtin"}'

# make_appliance OUTDIR NAME CHECKS_FILE CHECK_NAMES_JSON FORMATS [MODULES...]
# builds NAME-1.0.<fmt> for each format in FORMATS ("raw qcow2 ova") and the
# manifest, as `apkg build` would. GUEST_FLAGS/GUEST_DISK_WAIT pass through;
# DRIVERS (JSON) overrides the kernel driver map, TARGETS the recipe targets.
make_appliance() {
	local out=$1 name=$2 checks=$3 names=$4 formats=$5 work fmt arts=()
	shift 5
	work=$(mktemp -d)
	mkdir -p "$out"
	guest_initramfs "$work/initrd.img" "$checks" "$@"
	guest_disk "$work/disk.raw" "$work/initrd.img"
	for fmt in $formats; do
		case $fmt in
		raw) cp --sparse=always "$work/disk.raw" "$out/$name-1.0.raw" ;;
		qcow2) qemu-img convert -O qcow2 "$work/disk.raw" "$out/$name-1.0.qcow2" ;;
		ova) guest_ova "$out/$name-1.0.ova" "$work/disk.raw" ;;
		esac
		arts+=("$name-1.0.$fmt:$fmt")
	done
	guest_manifest "$out" "$name" 1.0 "${DEADLINE:-120}" "${TARGETS:-[\"qemu-bios\"]}" "${DRIVERS:-$ALL_DRIVERS}" \
		"$names" "${arts[@]}"
	rm -rf "$work"
}

# Fails unless no process mentions $1 on its command line (nothing left running).
assert_nothing_running() {
	if pgrep -f -- "$1" >/dev/null; then
		pgrep -af -- "$1" >&2
		fail "processes still running for $1"
	fi
}
