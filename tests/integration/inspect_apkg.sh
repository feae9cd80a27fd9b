#!/bin/bash
# tests/integration/inspect_apkg.sh: `apkg inspect` on recipes/hello.yaml, as qcow2 and as an OVA,
# against independent oracles: sfdisk (partitions, GUIDs, attributes), blkid (filesystem types,
# labels, UUIDs), the build's own manifest.json (kernel release, command line, recipe hash,
# checks) and files. The OVA (apkg's own when it writes OVAs, else qemu-img streamOptimized +
# tar) must read the same as the qcow2. Then libguestfs itself, through guestfish, is the oracle
# for what the assembly promises: files, modes and owners, users and their keys, as the recipe
# asked. Three libguestfs launches in all (each is slow under TCG).
set -euo pipefail
cd "$(dirname "$0")/../.."
T=$(mktemp -d /tmp/apkg-it-in.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
# guestfish, unlike apkg inspect, does not know that a kvm-pvm /dev/kvm hangs its appliance.
if [ -e /sys/module/kvm_pvm ] || ! grep -qwE 'vmx|svm' /proc/cpuinfo; then
	export LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg
fi
# Nor does it borrow apkg's cached Debian kernel for its appliance on a host without a kernel.
guestfish_kernel() {
	if [ -n "${SUPERMIN_KERNEL:-}" ] || ls /boot/vmlinuz-* > /dev/null 2>&1; then return 0; fi
	local k
	k=$(ls -d "${XDG_CACHE_HOME:-$HOME/.cache}"/apkg/kernels/*/boot/vmlinuz-* 2> /dev/null | head -n1)
	[ -n "$k" ] || fail "no kernel for libguestfs' appliance"
	export SUPERMIN_KERNEL=$k SUPERMIN_KERNEL_VERSION=${k##*/vmlinuz-}
	export SUPERMIN_MODULES=${k%/boot/*}/lib/modules/$SUPERMIN_KERNEL_VERSION
}

formats=qcow2,raw
./bin/apkg convert --help | grep -q '\bova\b' && formats=$formats,ova
./bin/apkg build recipes/hello.yaml -o "$T/hello" --no-test -f "$formats" > "$T/build.log" 2>&1 ||
	{ cat "$T/build.log"; fail "build hello"; }
out=$T/hello
if [ ! -f "$out/hello-1.0.0.ova" ]; then # no OVA writer on this branch yet: qemu-img and tar make one
	mkdir "$T/ova"
	qemu-img convert -f raw -O vmdk -o subformat=streamOptimized "$out/hello-1.0.0.raw" "$T/ova/hello-1.0.0-disk1.vmdk"
	printf '<?xml version="1.0"?>\n<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1"/>\n' > "$T/ova/hello-1.0.0.ovf"
	(cd "$T/ova" && sha256sum --tag hello-1.0.0.ovf hello-1.0.0-disk1.vmdk | sed 's/ = /= /' > hello-1.0.0.mf &&
		tar --format=ustar -cf "$out/hello-1.0.0.ova" hello-1.0.0.ovf hello-1.0.0-disk1.vmdk hello-1.0.0.mf)
fi

inspect() { # IMAGE JSON_OUT [--hygiene]
	local rc=0
	./bin/apkg inspect "$1" --json ${3:-} > "$2" 2> "$2.err" || rc=$?
	cat "$2.err"
	if [ $rc -eq 3 ]; then
		echo "SKIP: libguestfs cannot start here: $(grep -m1 'error' "$2.err")"
		exit 77
	fi
	[ $rc -eq 0 ] || fail "apkg inspect $1 exited $rc"
}
inspect "$out/hello-1.0.0.qcow2" "$T/qcow2.json" --hygiene
inspect "$out/hello-1.0.0.ova" "$T/ova.json"

raw=$out/hello-1.0.0.raw
sfdisk --json "$raw" > "$T/sfdisk.json"
for n in 1 2; do # blkid on each partition, cut out by its offset
	start=$(python3 -c "import json;print(json.load(open('$T/sfdisk.json'))['partitiontable']['partitions'][$n-1]['start']*512)")
	blkid -p -o export -O "$start" "$raw" > "$T/blkid$n"
done
stat -c %s "$out/initrd.img" > "$T/initrd.size"

python3 - "$T" "$out/manifest.json" <<'PY'
import json, sys
T, manifest = sys.argv[1], json.load(open(sys.argv[2]))
q = json.load(open(T + "/qcow2.json")); o = json.load(open(T + "/ova.json"))
assert q["apkg_inspect"] == 1
assert q["image"]["container"] is None and q["image"]["disks"][0]["format"] == "qcow2", q["image"]
assert o["image"]["container"] == "ova" and o["image"]["disks"][0]["format"] == "vmdk", o["image"]
assert o["image"]["read_via"] == "in place", o["image"]

# Partitions: sfdisk is the oracle.
sf = json.load(open(T + "/sfdisk.json"))["partitiontable"]
d = q["disks"][0]
assert d["partition_table"] == "gpt" and d["disk_guid"] == sf["id"].upper(), (d["disk_guid"], sf["id"])
assert d["mbr_boot_code"] == "syslinux-gptmbr", d["mbr_boot_code"]
assert len(d["partitions"]) == len(sf["partitions"]) == 2
for p, s in zip(d["partitions"], sf["partitions"]):
    assert p["start"] == s["start"] * 512 and p["size"] == s["size"] * 512, (p, s)
    assert p["type"] == s["type"].upper() and p["uuid"] == s["uuid"].upper() and p["name"] == s["name"], (p, s)
    assert p["bootable"] == ("LegacyBIOSBootable" in s.get("attrs", "")), (p, s)
assert [p["type_name"] for p in d["partitions"]] == ["EFI System", "Linux root (x86-64)"]

# Filesystems: blkid is the oracle.
for n, f in enumerate(q["filesystems"], 1):
    b = dict(l.split("=", 1) for l in open("%s/blkid%d" % (T, n)).read().split())
    assert f["device"] == "/dev/sda%d" % n and f["type"] == b["TYPE"], (f, b)
    assert f["label"] == b["LABEL"] and f["uuid"] == b["UUID"], (f, b)
    assert 0 < f["used"] < f["size"] == d["partitions"][n - 1]["size"], f

# The OS: apkg's busybox base names itself in os-release; no package manager.
os_ = q["operating_systems"]
assert len(os_) == 1 and os_[0]["root"] == "/dev/sda2" and os_[0]["type"] == "linux", os_
assert os_[0]["hostname"] == "hello" and "hello 1.0.0" in os_[0]["product_name"], os_
assert os_[0]["applications"] == [], os_

# Kernel, initrd, boot: the manifest is the oracle.
k = manifest["kernel"]
assert q["kernels"] == [{"filesystem": "/dev/sda1", "path": "/vmlinuz", "size": q["kernels"][0]["size"],
                         "version": k["release"]}], q["kernels"]
assert q["initrds"] == [{"filesystem": "/dev/sda1", "path": "/initrd.img",
                         "size": int(open(T + "/initrd.size").read())}], q["initrds"]
b = q["boot"]
assert b["firmware"] == "both", b
assert b["bios"] == {"mbr_boot_code": "syslinux-gptmbr", "loader": "syslinux",
                     "config": "/dev/sda1:/syslinux/syslinux.cfg"}, b["bios"]
assert b["uefi"]["esp"] == "/dev/sda1" and b["uefi"]["loader"] == "systemd-boot" and b["uefi"]["removable_path"], b
assert b["uefi"]["binaries"] == ["/EFI/BOOT/BOOTX64.EFI"], b["uefi"]
assert sorted(e["loader"] for e in b["entries"]) == ["syslinux", "systemd-boot"], b["entries"]
for e in b["entries"]:
    assert e["cmdline"] == k["cmdline"] and e["kernel"] == "/vmlinuz" and e["initrd"] == "/initrd.img", e
    assert e["default"] and e["title"] == "hello 1.0.0", e

# apkg's record.
a = q["apkg"]
assert a["recipe_hash"] == manifest["recipe_hash"] and a["name"] == "hello" and a["version"] == "1.0.0", a
assert a["filesystem"] == "/dev/sda2" and a["check_deadline"] == manifest["check_deadline"], a
assert len(a["checks"]) == manifest["checks"] == 5, a["checks"]
assert a["checks"][:2] == ["service hello", "tcp 80"], a["checks"]

# Hygiene on the image agrees with the build's gate.
h = q["hygiene"]
assert h["root"] == "/dev/sda2" and h["report"]["errors"] == 0 and h["report"]["warnings"] == 0, h
assert h["report"]["findings"] == manifest["hygiene"]["findings"] == [], h
assert 0 < h["allocated"] <= d["size"], h

# The OVA reads the same as the qcow2.
for key in ("disks", "filesystems", "operating_systems", "kernels", "initrds", "boot", "apkg"):
    assert o[key] == q[key], (key, o[key], q[key])
assert o["hygiene"] is None
PY
echo "inspect agrees with sfdisk, blkid and the manifest; the OVA reads as the qcow2"

# The assembly guarantees, with libguestfs (guestfish) as the oracle.
mkdir -p "$T/site/sub"
printf 'index\n' > "$T/site/index.html"
printf 'deep\n' > "$T/site/sub/deep.txt"
cat > "$T/asm.yaml" <<'YAML'
apkg: 1
name: asm
version: "1"
base: {distro: busybox}
kernel: {package: linux-image-amd64}
hostname: asm-host
files:
  - {path: /etc/motd, content: "motd\n", mode: "0640", owner: root:adm}
  - {path: /srv/site, source: site, owner: ops:ops}
  - {path: /usr/local/bin/tool, content: "#!/bin/sh\necho tool\n", mode: "0750", owner: root:wheel}
  - {path: /home/ops/notes, content: "mine\n", mode: "0600", owner: "ops:ops"}
users:
  - name: ops
    uid: 1234
    groups: [wheel]
    shell: /bin/sh
    ssh_authorized_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBn1u6nQ5b0fRZ0bS3H5mG0uXf0mNn2yVn9X6pQ0r3Kp ops@example"]
outputs: [qcow2]
YAML
./bin/apkg build "$T/asm.yaml" -o "$T/asm" --no-test > "$T/asm.log" 2>&1 || { cat "$T/asm.log"; fail "build asm"; }
stat_of() { printf 'echo ==%s\nlstatns %s\n' "$1" "$1"; }
{
	echo "run"
	echo "mount-ro /dev/sda2 /"
	for p in /etc/motd /srv/site /srv/site/index.html /srv/site/sub /srv/site/sub/deep.txt /usr/local/bin/tool \
		/home/ops /home/ops/notes /home/ops/.ssh /home/ops/.ssh/authorized_keys; do
		stat_of "$p"
	done
	echo "echo ==cat"
	echo "cat /srv/site/sub/deep.txt"
	echo "cat /etc/hostname"
	echo "cat /home/ops/.ssh/authorized_keys"
	echo "echo ==passwd"
	echo "cat /etc/passwd"
	echo "cat /etc/group"
} > "$T/gf.script"
guestfish_kernel
timeout 900 guestfish --ro --format=qcow2 -a "$T/asm/asm-1.qcow2" -f "$T/gf.script" > "$T/gf.out" 2> "$T/gf.err" ||
	{ cat "$T/gf.err"; fail "guestfish"; }
python3 - "$T/gf.out" <<'PY'
import sys
text = open(sys.argv[1]).read()
blocks, cur = {}, None
for line in text.splitlines():
    if line.startswith("=="):
        cur = line[2:]; blocks[cur] = []
    elif cur:
        blocks[cur].append(line)
def st(path):
    d = dict(l.split(": ", 1) for l in blocks[path] if ": " in l)
    return int(d["st_mode"]), int(d["st_uid"]), int(d["st_gid"]), int(d["st_size"])
groups = {l.split(":")[0]: int(l.split(":")[2]) for l in blocks["passwd"] if l.count(":") == 3}
users = {l.split(":")[0]: l.split(":") for l in blocks["passwd"] if l.count(":") == 6}
ops = users["ops"]
assert ops[2] == "1234" and ops[5] == "/home/ops" and ops[6] == "/bin/sh", ops
uid, gid = 1234, int(ops[3])
assert "ops" in [l.split(":")[3] for l in blocks["passwd"] if l.startswith("wheel:")][0].split(","), "ops not in wheel"
def expect(path, mode, u, g):
    m, su, sg, _ = st(path)
    assert (m & 0o7777, su, sg) == (mode, u, g), (path, oct(m), su, sg, "wanted", oct(mode), u, g)
expect("/etc/motd", 0o640, 0, groups["adm"])
expect("/srv/site", 0o755, uid, gid)
expect("/srv/site/sub", 0o755, uid, gid)
expect("/srv/site/index.html", 0o644, uid, gid)
expect("/srv/site/sub/deep.txt", 0o644, uid, gid)
expect("/usr/local/bin/tool", 0o750, 0, groups["wheel"])
expect("/home/ops", 0o700, uid, gid)
expect("/home/ops/notes", 0o600, uid, gid)
expect("/home/ops/.ssh", 0o700, uid, gid)
expect("/home/ops/.ssh/authorized_keys", 0o600, uid, gid)
cat = [l for l in blocks["cat"] if l]
assert cat[0] == "deep" and cat[1] == "asm-host" and cat[2].startswith("ssh-ed25519 AAAAC3"), cat
PY
echo "libguestfs sees the files, modes, owners and users the recipe asked for"
echo ok
