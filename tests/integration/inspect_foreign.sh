#!/bin/bash
# tests/integration/inspect_foreign.sh: `apkg inspect --hygiene` on a Debian cloud-style image that
# apkg did not make: mmdebstrap (bookworm minbase with the cloud kernel) packed by mke2fs -d into an
# MBR-partitioned disk with a swap partition, a hand-written grub.cfg and no boot loader, and a
# deleted 128 MiB file whose blocks were never trimmed, converted to VHDX by qemu-img. The oracles
# are sfdisk, blkid, debugfs (dpkg's status file, the kernel release) and what the test wrote.
# One libguestfs launch.
set -euo pipefail
cd "$(dirname "$0")/../.."
T=$(mktemp -d /tmp/apkg-it-fo.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
command -v mmdebstrap > /dev/null || { echo "SKIP: mmdebstrap is not installed"; exit 77; }

# The root filesystem, made the way other tools make one.
cmdline="root=LABEL=cloudimg-rootfs ro console=tty1 console=ttyS0 net.ifnames=0"
hook='mkdir -p "$1/boot/grub" && printf "%s\n" "set default=0" "menuentry '"'"'Debian GNU/Linux 12 (cloud)'"'"' {" \
	"	linux /boot/vmlinuz root=LABEL=cloudimg-rootfs ro console=tty1 console=ttyS0 net.ifnames=0" \
	"	initrd /boot/initrd.img" "}" > "$1/boot/grub/grub.cfg" && echo foreign-cloud > "$1/etc/hostname" &&
	head -c 134217728 /dev/urandom > "$1/junk"'
if ! mmdebstrap --quiet --mode=unshare --variant=minbase --include=linux-image-cloud-amd64,tiny-initramfs \
	--customize-hook="$hook" bookworm "$T/root.tar" > "$T/mmdebstrap.log" 2>&1; then
	cat "$T/mmdebstrap.log"
	grep -qE "Temporary failure resolving|Could not resolve|Failed to fetch|Unable to fetch" "$T/mmdebstrap.log" &&
		{ echo "SKIP: the Debian mirror is unreachable"; exit 77; }
	fail "mmdebstrap"
fi

# An MBR disk: ext4 root (active) and swap; the junk deleted after the filesystem was made.
mkdir "$T/root" && tar -C "$T/root" --numeric-owner -xpf "$T/root.tar" && rm "$T/root.tar"
truncate -s 1G "$T/root.ext4"
mke2fs -q -t ext4 -L cloudimg-rootfs -U 5e1f0000-1111-4222-8333-944455556666 -d "$T/root" "$T/root.ext4"
rm -rf "$T/root"
debugfs -w -R "rm /junk" "$T/root.ext4" 2> /dev/null
truncate -s 64M "$T/swap" && mkswap -q -L swap "$T/swap"
truncate -s 1153M "$T/disk.raw"
printf 'label: dos\nstart=2048, size=2097152, type=83, bootable\nstart=2099200, size=131072, type=82\n' |
	sfdisk -q "$T/disk.raw"
dd if="$T/root.ext4" of="$T/disk.raw" bs=1M seek=1 conv=notrunc,sparse status=none
dd if="$T/swap" of="$T/disk.raw" bs=512 seek=2099200 conv=notrunc,sparse status=none
qemu-img convert -f raw -O vhdx "$T/disk.raw" "$T/cloud.vhdx"
debugfs -R "cat /var/lib/dpkg/status" "$T/root.ext4" > "$T/status" 2> /dev/null
debugfs -R "ls -l /boot" "$T/root.ext4" > "$T/boot.ls" 2> /dev/null
debugfs -R "stat /var/log/dpkg.log" "$T/root.ext4" 2> /dev/null | sed -n 's/.*Size: \([0-9]*\).*/\1/p' > "$T/dpkg.log.size"
sfdisk --json "$T/disk.raw" > "$T/sfdisk.json"
rm -f "$T/root.ext4" "$T/swap"

rc=0
./bin/apkg inspect "$T/cloud.vhdx" --json --hygiene > "$T/inspect.json" 2> "$T/inspect.err" || rc=$?
cat "$T/inspect.err"
[ $rc -eq 3 ] && { echo "SKIP: libguestfs cannot start here: $(grep -m1 error "$T/inspect.err")"; exit 77; }
[ $rc -eq 0 ] || [ $rc -eq 1 ] || fail "apkg inspect exited $rc"
./bin/apkg inspect "$T/cloud.vhdx" --bogus > /dev/null 2>&1 && fail "an unknown option is accepted"

python3 - "$T" "$cmdline" <<'PY'
import json, re, sys
T, cmdline = sys.argv[1], sys.argv[2]
j = json.load(open(T + "/inspect.json"))
assert j["image"]["disks"][0]["format"] == "vhdx" and j["image"]["container"] is None, j["image"]

sf = json.load(open(T + "/sfdisk.json"))["partitiontable"]
d = j["disks"][0]
assert d["partition_table"] == "msdos" and d["disk_guid"] is None and d["mbr_boot_code"] == "none", d
ps = d["partitions"]
assert [(p["number"], p["start"], p["size"], p["type"], p["bootable"]) for p in ps] == \
       [(1, 2048 * 512, 2097152 * 512, "0x83", True), (2, 2099200 * 512, 131072 * 512, "0x82", False)], ps
assert [p["start"] // 512 for p in ps] == [p["start"] for p in sf["partitions"]]

fs = {f["device"]: f for f in j["filesystems"]}
r = fs["/dev/sda1"]
assert (r["type"], r["label"], r["uuid"]) == ("ext4", "cloudimg-rootfs", "5e1f0000-1111-4222-8333-944455556666"), r
assert 0 < r["used"] < r["size"], r
s = fs["/dev/sda2"]
assert s["type"] == "swap" and s["label"] == "swap" and s["used"] is None, s

# dpkg's status file (read by debugfs) is the oracle for the packages.
status = {}
for para in open(T + "/status").read().split("\n\n"):
    f = dict(re.findall(r"^(Package|Version|Status): (.*)$", para, re.M))
    if f.get("Status", "").endswith(" installed"):
        status[f["Package"]] = f["Version"]
os_ = j["operating_systems"]
assert len(os_) == 1, os_
o = os_[0]
assert (o["root"], o["type"], o["distro"], o["hostname"]) == ("/dev/sda1", "linux", "debian", "foreign-cloud"), o
assert o["version"].startswith("12."), o
assert (o["package_format"], o["package_management"]) == ("deb", "apt"), o
apps = {a["name"]: a["version"] for a in o["applications"]}
assert apps == status, (set(apps) ^ set(status), [(k, apps.get(k), status.get(k)) for k in apps if apps.get(k) != status.get(k)][:5])
kpkg = [p for p in status if re.match(r"linux-image-[0-9].*-cloud-amd64$", p)]
assert len(kpkg) == 1, kpkg
release = kpkg[0][len("linux-image-"):]

ks = j["kernels"]
assert ks == [{"filesystem": "/dev/sda1", "path": "/boot/vmlinuz-" + release, "size": ks[0]["size"],
               "version": release}], ks
if "initrd.img-" + release in open(T + "/boot.ls").read():
    assert {"filesystem": "/dev/sda1", "path": "/boot/initrd.img-" + release} in \
           [{k: i[k] for k in ("filesystem", "path")} for i in j["initrds"]], j["initrds"]

b = j["boot"]
assert b["firmware"] == "none" and b["bios"] is None and b["uefi"] is None, b
assert b["entries"] == [{"loader": "grub", "config": "/dev/sda1:/boot/grub/grub.cfg",
                         "title": "Debian GNU/Linux 12 (cloud)", "kernel": "/boot/vmlinuz",
                         "initrd": "/boot/initrd.img", "cmdline": cmdline, "default": True}], b["entries"]
assert j["apkg"] is None

h = j["hygiene"]
assert h["root"] == "/dev/sda1", h
by = {(f["rule"], f["path"]): f for f in h["report"]["findings"]}
u = by[("untrimmed-free-space", None)]
assert u["severity"] == "warning" and h["allocated"] > 128 << 20, (u, h["allocated"])
print("allocated %d MiB, used %d MiB" % (h["allocated"] >> 20, sum(f["used"] or 0 for f in j["filesystems"]) >> 20))
size = open(T + "/dpkg.log.size").read().strip()
if size and int(size) > 0:
    assert ("build-logs", "/var/log/dpkg.log") in by, sorted(by)
print("findings:", sorted(by))
PY
echo ok
