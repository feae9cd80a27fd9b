#!/bin/bash
# tests/integration/ostree_io.sh: `outputs: [ostree]` and `base: {ostree: ...}`, checked with the ostree tool.
#
# Version 1.0.0 and then 1.1.0 of a busybox appliance are built with the
# ostree output into sibling output directories: the second repository holds
# both refs, 1.1.0's parent is 1.0.0's commit, a static delta joins them and
# an `ostree pull --require-static-deltas` client updates over it; `ostree
# fsck` finds both sound; the commit time is the recipe's epoch and a second
# clean build gives the same commit checksum. An appliance built on the 1.1.0
# commit as its base has the same root file system (debugfs) as 1.1.0.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v ostree >/dev/null || { echo "SKIP: the ostree tool (Debian package ostree) is not installed"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "SKIP: checking out an OSTree base with its owners needs root"; exit 77; }
T=$(mktemp -d /tmp/apkg-it-ostree.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
apkg=$PWD/bin/apkg

recipe() { # version motd
	cat <<YAML
apkg: 1
name: tree
version: $1
base: {distro: busybox}
kernel: {package: linux-image-amd64}
files:
  - path: /etc/motd
    content: "$2\n"
  - path: /srv/data
    content: "unchanged between versions\n"
outputs: [raw, ostree]
YAML
}
recipe 1.0.0 "first" > "$T/v1.yaml"
recipe 1.1.0 "second" > "$T/v2.yaml"
"$apkg" build "$T/v1.yaml" -o "$T/out/tree-1.0.0" --no-test > "$T/v1.log" 2>&1 || { cat "$T/v1.log"; fail "1.0.0"; }
"$apkg" build "$T/v2.yaml" -o "$T/out/tree-1.1.0" --no-test > "$T/v2.log" 2>&1 || { cat "$T/v2.log"; fail "1.1.0"; }
R1=$T/out/tree-1.0.0/ostree R2=$T/out/tree-1.1.0/ostree
[ "$(ostree --repo="$R1" refs)" = "apkg/tree/1.0.0" ] || fail "1.0.0 refs: $(ostree --repo="$R1" refs)"
[ "$(ostree --repo="$R2" refs | sort | tr '\n' ' ')" = "apkg/tree/1.0.0 apkg/tree/1.1.0 " ] ||
	fail "1.1.0 refs: $(ostree --repo="$R2" refs)"
ostree --repo="$R1" fsck >/dev/null 2>&1 || fail "fsck 1.0.0"
ostree --repo="$R2" fsck >/dev/null 2>&1 || fail "fsck 1.1.0"
grep -q '^mode=archive' "$R2/config" || fail "the output repository is not an archive repository"
c1=$(ostree --repo="$R1" rev-parse apkg/tree/1.0.0)
c2=$(ostree --repo="$R2" rev-parse apkg/tree/1.1.0)
[ "$(ostree --repo="$R2" rev-parse apkg/tree/1.1.0^)" = "$c1" ] || fail "1.1.0's parent is not 1.0.0's commit"
ostree --repo="$R2" static-delta list | grep -qx "$c1-$c2" || { ostree --repo="$R2" static-delta list; fail "no static delta"; }
[ "$(ostree --repo="$R2" cat apkg/tree/1.1.0 /etc/motd)" = "second" ] || fail "1.1.0's /etc/motd"
ostree --repo="$R2" show apkg/tree/1.1.0 | grep -q "Date:  2023-11-14 22:13:20" || fail "the commit time is not the epoch"
python3 - "$T/out/tree-1.1.0/manifest.json" "$c1" "$c2" <<'PY' || fail "manifest.json's ostree entry"
import json, sys
o = json.load(open(sys.argv[1]))["ostree"]
assert o == {"repo": "ostree", "ref": "apkg/tree/1.1.0", "commit": sys.argv[3], "parent": sys.argv[2],
             "static_delta": True}, o
PY
echo "two versions, one history, a static delta"

# A client that has 1.0.0 updates to 1.1.0 over the delta.
ostree --repo="$T/client" init --mode=bare
ostree --repo="$T/client" remote add --no-gpg-verify apkg "file://$R2"
ostree --repo="$T/client" pull apkg apkg/tree/1.0.0 >/dev/null
ostree --repo="$T/client" pull --require-static-deltas apkg apkg/tree/1.1.0 >/dev/null ||
	fail "the client could not update over the static delta"
[ "$(ostree --repo="$T/client" rev-parse apkg:apkg/tree/1.1.0)" = "$c2" ] || fail "the client has another commit"
echo "a client updates over the delta"

# The same inputs give the same commit.
"$apkg" build "$T/v1.yaml" -o "$T/again/tree-1.0.0" --no-test --no-cache > "$T/again.log" 2>&1 || fail "rebuild"
[ "$(ostree --repo="$T/again/tree-1.0.0/ostree" rev-parse apkg/tree/1.0.0)" = "$c1" ] || fail "the commit is not reproducible"
echo "a clean rebuild gives the same commit"

# 1.1.0's commit as a base: the same root file system.
sed "s|^base: {distro: busybox}|base: {ostree: {repo: out/tree-1.1.0/ostree, ref: apkg/tree/1.1.0}}|; s|^outputs: .*|outputs: [raw]|" \
	"$T/v2.yaml" > "$T/on-ostree.yaml"
"$apkg" recipe check "$T/on-ostree.yaml" | grep -q "ostree .*apkg/tree/1.1.0 (commit ${c2:0:12})" || fail "recipe check"
"$apkg" build "$T/on-ostree.yaml" -o "$T/on-ostree" --no-test > "$T/on.log" 2>&1 || { cat "$T/on.log"; fail "ostree base build"; }
root_of() { # outdir image -> ext4 file
	local off
	off=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['disk']['root']['offset'])" "$1/manifest.json")
	dd if="$1/tree-1.1.0.raw" of="$2" bs=1M skip=$((off / 1048576)) status=none
}
root_of "$T/out/tree-1.1.0" "$T/a.ext4"
root_of "$T/on-ostree" "$T/b.ext4"
listing() { # ext4 -> "path mode uid gid size mtime" for every entry, via debugfs
	python3 - "$1" <<'PY'
import subprocess, sys
img = sys.argv[1]
def ls(d):
    out = subprocess.run(["debugfs", "-R", "ls -p " + d, img], capture_output=True, text=True).stdout
    for line in out.splitlines():
        f = line.strip().split("/")  # "", inode, mode, uid, gid, name, size, ""
        if len(f) < 7 or f[5] in (".", "..", ""):
            continue
        path = d.rstrip("/") + "/" + f[5]
        st = subprocess.run(["debugfs", "-R", "stat " + path, img], capture_output=True, text=True).stdout
        mtime = [l.split()[1] for l in st.splitlines() if l.strip().startswith("mtime:")]
        print(path, f[2], f[3], f[4], f[6], mtime[0] if mtime else "?")
        if f[2].startswith("04"):
            ls(path)
ls("/")
PY
}
# /usr/lib/apkg/recipe.json embeds each build's own resolved recipe, and the two recipes differ
# by their base (debian vs ostree): everything else must be the same.
listing "$T/a.ext4" | grep -v '^/usr/lib/apkg/recipe.json ' > "$T/a.list"
listing "$T/b.ext4" | grep -v '^/usr/lib/apkg/recipe.json ' > "$T/b.list"
[ "$(wc -l < "$T/a.list")" -gt 300 ] || fail "the listing is too short to mean anything"
diff "$T/a.list" "$T/b.list" || fail "the appliance built on the commit has another root file system"
mkdir "$T/da" "$T/db"
debugfs -R "rdump / $T/da" "$T/a.ext4" 2>/dev/null
debugfs -R "rdump / $T/db" "$T/b.ext4" 2>/dev/null
rm -f "$T/da/usr/lib/apkg/recipe.json" "$T/db/usr/lib/apkg/recipe.json" # differs by base, as above
diff -r --no-dereference "$T/da" "$T/db" >/dev/null || fail "the files' content differs"
echo "an appliance built on the commit has the same root file system"

# A ref that is not there is a recipe error with a position.
sed 's|ref: apkg/tree/1.1.0|ref: apkg/tree/9.9.9|' "$T/on-ostree.yaml" > "$T/missing.yaml"
if "$apkg" recipe check "$T/missing.yaml" 2> "$T/missing.err"; then fail "a missing ref was accepted"; fi
grep -q 'missing.yaml:4:.*base.ostree.ref: "apkg/tree/9.9.9" is not in the repository' "$T/missing.err" ||
	{ cat "$T/missing.err"; fail "the missing ref's message"; }
echo "ok"
