#!/bin/bash
# tests/integration/build_busybox.sh: `apkg build` of a busybox appliance, checked with
# independent tools: sfdisk (GPT as designed), fsck.fat/fsck.ext4 (clean), debugfs (files
# with exact content, mode, owner), QEMU TCG boots with SeaBIOS+IDE and OVMF+virtio to
# the ready line, a second build is bit-identical, and a failing build leaves nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."
T=$(mktemp -d /tmp/apkg-it-bb.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

mkdir -p "$T/files"
printf 'served by apkg\n' > "$T/files/index.html"
cat > "$T/app.yaml" <<'YAML'
apkg: 1
name: itest
version: 0.1.0
base: {distro: busybox}
kernel: {package: linux-image-amd64}
hostname: itest-host
files:
  - path: /etc/motd
    content: "hello from the integration test\n"
    mode: "0640"
    owner: root:adm
  - path: /www/index.html
    source: files/index.html
users:
  - name: ops
    uid: 1001
    ssh_authorized_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBn1u6nQ5b0fRZ0bS3H5mG0uXf0mNn2yVn9X6pQ0r3Kp ops@example"]
outputs: [raw, qcow2]
YAML
./bin/apkg build "$T/app.yaml" -o "$T/out" --no-test || fail "build failed"
img="$T/out/itest-0.1.0.raw"
[ -f "$img" ] && [ -f "$T/out/vmlinuz" ] && [ -f "$T/out/initrd.img" ] && [ -f "$T/out/manifest.json" ] || fail "missing outputs"
(cd "$T/out" && sha256sum -c --quiet SHA256SUMS) || fail "SHA256SUMS does not verify"
ls -a "$T" | grep -q '^\.apkg-build' && fail "scratch left behind"

# GPT as designed (sfdisk is the oracle).
sfdisk --json "$img" > "$T/gpt.json"
python3 - "$T/gpt.json" "$T/out/manifest.json" <<'PY'
import json, sys
g = json.load(open(sys.argv[1]))["partitiontable"]; m = json.load(open(sys.argv[2]))
assert g["label"] == "gpt", g
p = g["partitions"]; assert len(p) == 2, p
assert p[0]["type"] == "C12A7328-F81F-11D2-BA4B-00A0C93EC93B" and "LegacyBIOSBootable" in p[0].get("attrs", ""), p[0]
assert p[1]["type"] == "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709", p[1]
assert p[0]["start"] == 2048 and p[0]["start"] % 2048 == 0 and p[1]["start"] % 2048 == 0, p
assert p[1]["uuid"].lower() == m["disk"]["root"]["partuuid"], (p[1], m["disk"])
assert "root=PARTUUID=" + m["disk"]["root"]["partuuid"] in m["kernel"]["cmdline"]
assert g["id"].lower() == m["disk"]["disk_guid"]
PY
[ $? -eq 0 ] || fail "GPT differs from the design"
sfdisk --verify "$img" 2>&1 | grep -qi 'no errors' || sfdisk --verify "$img" || fail "sfdisk --verify"

# Cut the partitions out and check them.
read -r esp_start esp_size root_start root_size < <(python3 -c "
import json;p=json.load(open('$T/gpt.json'))['partitiontable']['partitions'];print(p[0]['start'],p[0]['size'],p[1]['start'],p[1]['size'])")
dd if="$img" of="$T/esp.img" bs=512 skip="$esp_start" count="$esp_size" conv=sparse status=none
dd if="$img" of="$T/root.img" bs=512 skip="$root_start" count="$root_size" conv=sparse status=none
fsck.fat -n "$T/esp.img" > "$T/fsck.fat" 2>&1 || { cat "$T/fsck.fat"; fail "fsck.fat"; }
fsck.ext4 -fn "$T/root.img" > "$T/fsck.ext4" 2>&1 || { cat "$T/fsck.ext4"; fail "fsck.ext4"; }
mdir -i "$T/esp.img" ::/EFI/BOOT/BOOTX64.EFI >/dev/null || fail "no systemd-boot at the removable path"
mtype -i "$T/esp.img" ::/loader/entries/apkg.conf | grep -q "root=PARTUUID=" || fail "loader entry"
mtype -i "$T/esp.img" ::/syslinux/syslinux.cfg | grep -q "APPEND .*root=PARTUUID=" || fail "syslinux.cfg"

# The recipe's files, exactly (debugfs on the cut-out root partition).
debugfs -R "cat /etc/motd" "$T/root.img" 2>/dev/null > "$T/motd"
[ "$(cat "$T/motd")" = "hello from the integration test" ] || fail "motd content: $(cat "$T/motd")"
st=$(debugfs -R "stat /etc/motd" "$T/root.img" 2>/dev/null)
echo "$st" | grep -q "Mode:  0640" || fail "motd mode: $st"
echo "$st" | grep -Eq "User: +0 +Group: +4 " || fail "motd owner: $st"
debugfs -R "cat /www/index.html" "$T/root.img" 2>/dev/null | grep -qx "served by apkg" || fail "source file"
debugfs -R "cat /etc/hostname" "$T/root.img" 2>/dev/null | grep -qx "itest-host" || fail "hostname"
debugfs -R "cat /etc/passwd" "$T/root.img" 2>/dev/null | grep -q "^ops:x:1001:" || fail "user"
ak=$(debugfs -R "stat /home/ops/.ssh/authorized_keys" "$T/root.img" 2>/dev/null)
echo "$ak" | grep -q "Mode:  0600" && echo "$ak" | grep -Eq "User: +1001 " || fail "authorized_keys: $ak"
debugfs -R "stat /home/ops/.ssh" "$T/root.img" 2>/dev/null | grep -q "Mode:  0700" || fail ".ssh mode"
debugfs -R "cat /etc/machine-id" "$T/root.img" 2>/dev/null | grep -q . && fail "machine-id not empty"

# The qcow2 holds the same disk (qemu-img is the oracle).
if [ -f "$T/out/itest-0.1.0.qcow2" ]; then
	qemu-img check "$T/out/itest-0.1.0.qcow2" >/dev/null || fail "qemu-img check"
	qemu-img compare -f raw -F qcow2 "$img" "$T/out/itest-0.1.0.qcow2" >/dev/null || fail "qcow2 differs from raw"
fi

# Boot both ways to the appliance's ready line.
. tests/integration/lib/qemu_ready.sh
boot() { qemu_boot_ready "APKG-READY itest-host" 150 512 "$@"; } # name, qemu args...
boot seabios-ide -drive file="$img",format=raw,if=ide,snapshot=on
cp /usr/share/OVMF/OVMF_VARS.fd "$T/vars.fd"
boot ovmf-virtio -M q35 -drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE.fd \
	-drive if=pflash,format=raw,file="$T/vars.fd" -drive file="$img",format=raw,if=virtio,snapshot=on

# Same recipe, same bytes.
./bin/apkg build "$T/app.yaml" -o "$T/out2" --no-test >/dev/null 2>&1 || fail "second build failed"
for f in itest-0.1.0.raw itest-0.1.0.qcow2 vmlinuz initrd.img manifest.json SHA256SUMS; do
	[ -f "$T/out/$f" ] || continue
	cmp -s "$T/out/$f" "$T/out2/$f" || fail "$f differs between two builds"
done
echo "reproducible: identical artifacts from two builds"

# A failing build leaves no output and no scratch, and keeps an old output intact.
sed 's/^outputs:.*/outputs: [raw]\ndisk: {size: 8M}/' "$T/app.yaml" > "$T/small.yaml"
if ./bin/apkg build "$T/small.yaml" -o "$T/out" --no-test 2> "$T/small.err"; then fail "too-small disk accepted"; fi
grep -q "too small" "$T/small.err" || { cat "$T/small.err"; fail "no size message"; }
cmp -s "$T/out/itest-0.1.0.raw" "$T/out2/itest-0.1.0.raw" || fail "old output damaged by a failed build"
ls -a "$T" | grep -q '^\.apkg-build' && fail "scratch left behind after failure"
echo "ok"
