#!/bin/bash
# tests/integration/repro_hello.sh: bit-identical builds, and --verify-repro pinpointing a difference.
#
# Two clean builds of recipes/hello.yaml (stage cache off, different numbers
# of compression threads, the recipe copied to another directory) give the
# same sha256 for every artifact in every format: raw, qcow2, VMDK, OVA,
# VHDX, VDI, vmlinuz, initrd, manifest, SBOM, SHA256SUMS. --verify-repro
# says so for hello, and for a recipe whose `run` step writes the date it
# exits 1 naming the ext4 block and the file (/etc/build-date) in every
# disk format, the OVA member, and the root-tree entry.
set -euo pipefail
cd "$(dirname "$0")/../.."
T=$(mktemp -d /tmp/apkg-it-repro.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
apkg=./bin/apkg
formats=raw,qcow2,vmdk,ova,vhdx,vdi

mkdir -p "$T/elsewhere"
cp recipes/hello.yaml "$T/elsewhere/hello.yaml"
"$apkg" build recipes/hello.yaml -o "$T/one" --no-test --no-cache -j 2 --format "$formats" > "$T/one.log" 2>&1 ||
	{ cat "$T/one.log"; fail "first build"; }
"$apkg" build "$T/elsewhere/hello.yaml" -o "$T/two" --no-test --no-cache -j 1 --format "$formats" > "$T/two.log" 2>&1 ||
	{ cat "$T/two.log"; fail "second build"; }
(cd "$T/one" && find . -type f | sort) > "$T/one.files"
(cd "$T/two" && find . -type f | sort) > "$T/two.files"
cmp -s "$T/one.files" "$T/two.files" || { diff "$T/one.files" "$T/two.files"; fail "the builds made different files"; }
for ext in raw qcow2 vmdk ova vhdx vdi spdx.json; do
	grep -q "hello-1.0.0.$ext\$" "$T/one.files" || fail "no $ext artifact"
done
n=0
while read -r f; do
	a=$(sha256sum < "$T/one/$f") b=$(sha256sum < "$T/two/$f")
	[ "$a" = "$b" ] || fail "$f differs between two clean builds"
	n=$((n + 1))
done < "$T/one.files"
echo "two clean builds: $n artifacts with identical sha256"

# No timestamp after the epoch anywhere (hello's epoch is the default, 2023-11-14 22:13:20 UTC):
# ext4 superblock and every inode, FAT entries, cpio and OVA tar members.
epoch=1700000000
img=$T/one/hello-1.0.0.raw
python3 - "$T/one/manifest.json" "$img" "$T" <<'PY'
import json, subprocess, sys
m = json.load(open(sys.argv[1]))["disk"]
img, t = sys.argv[2], sys.argv[3]
for part, off, size in (("esp", m["esp"]["offset"], m["esp"]["size"]), ("root", m["root"]["offset"], m["root"]["size"])):
    with open(img, "rb") as f, open(f"{t}/{part}.img", "wb") as o:
        f.seek(off); o.write(f.read(size))
PY
late() { echo "FAIL: $1 has a time after the epoch: $2"; exit 1; }
dumpe2fs -h "$T/root.img" 2>/dev/null | grep -E "^(Filesystem created|Last mount time|Last write time|Last checked):" |
	while IFS=: read -r what value; do
		v=$(echo "$value" | sed 's/^ *//')
		[ "$v" = "n/a" ] && continue
		[ "$(date -u -d "$v" +%s)" -le $epoch ] || late "the ext4 superblock ($what)" "$v"
	done
python3 - "$T/root.img" $epoch <<'PY' || exit 1
import re, subprocess, sys
img, epoch = sys.argv[1], int(sys.argv[2])
inodes, dirs = set(), ["/"]
while dirs:
    d = dirs.pop()
    out = subprocess.run(["debugfs", "-R", "ls -p " + d, img], capture_output=True, text=True).stdout
    for l in out.splitlines():
        f = l.strip().split("/")  # "", inode, mode, uid, gid, name, size, ""
        if len(f) < 7 or f[5] in ("", ".", ".."):
            continue
        inodes.add(int(f[1]))
        if f[2].startswith("04"):
            dirs.append(d.rstrip("/") + "/" + f[5])
inodes = sorted(inodes)
cmds = "".join(f"stat <{i}>\n" for i in inodes)
out = subprocess.run(["debugfs", "-f", "-", img], input=cmds, capture_output=True, text=True).stdout
times = [int(x, 16) for x in re.findall(r"(?:a|c|m|cr)time: 0x([0-9a-f]+)", out)]
assert len(times) >= 4 * len(inodes) - 4 and len(inodes) > 300, (len(times), len(inodes))
bad = [t for t in times if t > epoch]
if bad:
    print(f"FAIL: {len(bad)} inode times after the epoch, e.g. {bad[0]}"); sys.exit(1)
PY
mdir -/ -a -i "$T/esp.img" :: | awk '$0 ~ /[0-9]{4}-[0-9]{2}-[0-9]{2}/' | while read -r line; do
	d=$(echo "$line" | grep -oE '[0-9]{4}-[0-9]{2}-[0-9]{2} +[0-9]{1,2}:[0-9]{2}')
	[ -z "$d" ] || [ "$(date -u -d "$d" +%s)" -le $epoch ] || late "the ESP" "$line"
done
zstd -dc "$T/one/initrd.img" | cpio -tv --quiet 2>/dev/null | awk '{print $6, $7, $8}' | sort -u | while read -r d; do
	[ "$(date -u -d "$d" +%s)" -le $((epoch + 86400)) ] || late "initrd.img" "$d"
done
tar -tvf "$T/one/hello-1.0.0.ova" --full-time | awk '{print $4, $5}' | while read -r d; do
	[ "$(date -u -d "$d" +%s)" -le $epoch ] || late "the OVA" "$d"
done
echo "no timestamp after the epoch in the ext4 image, the ESP, the initramfs or the OVA"
serial_one=$(mdir -i "$T/esp.img" :: | sed -n 's/.*Serial Number is //p')
[ -n "$serial_one" ] && [ "$serial_one" != "1234-ABCD" ] || fail "the ESP serial is mkfs.fat's constant, not derived: $serial_one"

# --verify-repro on a reproducible recipe.
"$apkg" build recipes/hello.yaml -o "$T/verified" --no-test --no-cache --verify-repro --format "$formats" > "$T/verify.log" 2>&1 ||
	{ cat "$T/verify.log"; fail "--verify-repro failed on hello"; }
grep -q "verify-repro: reproducible: 11 artifacts and the root trees are identical" "$T/verify.log" ||
	{ cat "$T/verify.log"; fail "no reproducible verdict"; }
ls -a "$T" | grep -q '^\.apkg-repro' && fail "--verify-repro left its scratch directory"

# --verify-repro pinpoints a deliberate difference.
sed 's/^hostname: hello$/hostname: hello\nrun:\n  - "date -u > \/etc\/build-date"/' recipes/hello.yaml > "$T/elsewhere/dated.yaml"
grep -q build-date "$T/elsewhere/dated.yaml" || fail "could not add the run step"
set +e
"$apkg" build "$T/elsewhere/dated.yaml" -o "$T/dated" --no-test --no-cache --verify-repro --format "$formats" > "$T/dated.log" 2>&1
rc=$?
set -e
[ $rc -eq 1 ] || { cat "$T/dated.log"; fail "--verify-repro exited $rc on a recipe that writes the date, expected 1"; }
want() { grep -q -- "$1" "$T/dated.log" || { cat "$T/dated.log"; fail "the report does not say: $1"; }; }
want "verify-repro: NOT reproducible"
for f in raw qcow2 vmdk vhdx vdi; do
	grep -A1 "^  hello-1.0.0.$f: differs" "$T/dated.log" | grep -q "ext4 root file system: block [0-9]*: data of /etc/build-date" ||
		{ cat "$T/dated.log"; fail "$f: the differing block is not traced to /etc/build-date"; }
done
want "the qcow2 file first differs at byte [0-9]*: the data cluster of guest bytes"
want "the vmdk file first differs at byte [0-9]*: the descriptor, line \"CID="
want "hello-1.0.0.ova: differs"
want "member hello"
want "/etc/build-date: content"
[ -f "$T/dated/hello-1.0.0.raw" ] || fail "the first build's output is missing after a failed verification"
# Another recipe (another hash) gets another ESP serial.
esp_off=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['disk']['esp']['offset'])" "$T/dated/manifest.json")
serial_dated=$(mdir -i "$T/dated/hello-1.0.0.raw@@$esp_off" :: | sed -n 's/.*Serial Number is //p')
[ -n "$serial_dated" ] && [ "$serial_dated" != "$serial_one" ] || fail "two recipes share the ESP serial $serial_one"
echo "ok"
