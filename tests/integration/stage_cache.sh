#!/bin/bash
# tests/integration/stage_cache.sh: the OSTree stage cache, checked with cmp, debugfs and `ostree fsck`.
#
# A tarball base holds what OSTree itself cannot store (device nodes, a FIFO,
# hard links, times) beside xattrs (set in an order OSTree's checkout does not
# keep), a set-uid file and odd owners.
# Builds with a cold cache, a warm one, a changed customisation and no cache
# at all must give identical images where their inputs are equal; debugfs
# shows every special entry in the cached build's image; a corrupt and a
# missing object are detected, reported and rebuilt, never used; a change
# to an input of a stage (and only that) misses; `apkg cache` lists, drops
# and clears.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" = 0 ] || { echo "SKIP: the stage cache keeps owners and device nodes, which needs root"; exit 77; }
command -v ostree >/dev/null || { echo "SKIP: the ostree tool (Debian package ostree) is not installed"; exit 77; }
T=$(mktemp -d /tmp/apkg-it-cache.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
apkg=./bin/apkg

# The kernel .deb and its unpacked tree are shared with the user's cache: only the stage cache is private.
C=$T/cache
mkdir -p "$C" "${XDG_CACHE_HOME:-$HOME/.cache}/apkg/debs" "${XDG_CACHE_HOME:-$HOME/.cache}/apkg/kernels"
ln -s "${XDG_CACHE_HOME:-$HOME/.cache}/apkg/debs" "$C/debs"
ln -s "${XDG_CACHE_HOME:-$HOME/.cache}/apkg/kernels" "$C/kernels"

B=$T/base
mkdir -p "$B"/{bin,etc,dev,srv,tmp}
cp /bin/busybox "$B/bin/busybox"
ln -s busybox "$B/bin/sh"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$B/etc/passwd"
printf 'root:x:0:\ndisk:x:6:\n' > "$B/etc/group"
printf 'root:*:0:0:99999:7:::\n' > "$B/etc/shadow"
chmod 600 "$B/etc/shadow"
mknod "$B/dev/null" c 1 3
mknod "$B/dev/sda" b 8 0
chown 0:6 "$B/dev/sda"
mkfifo -m 0620 "$B/srv/fifo"
printf 'shared\n' > "$B/srv/a"
ln "$B/srv/a" "$B/srv/b"
printf '#!/bin/sh\n' > "$B/srv/suid"
chown 1234:5678 "$B/srv/suid"
chmod 4755 "$B/srv/suid"
chmod 1777 "$B/tmp"
python3 -c 'import os, sys; os.setxattr(sys.argv[1], "user.apkg", b"cached"); os.setxattr(sys.argv[1], "trusted.apkg", b"t")' "$B/srv/a"
touch -h -d '@1600000000.123456789' "$B/srv/a" "$B/srv/fifo" "$B/dev/null" "$B/bin/sh"
touch -d '@1500000000' "$B/srv" "$B/dev"
tar --xattrs --xattrs-include='*' --format=posix --numeric-owner -C "$B" -cf "$T/base.tar" .

recipe() { # motd hostname > recipe
	cat <<YAML
apkg: 1
name: cachet
version: 1.0.0
base: {tarball: base.tar}
kernel: {package: linux-image-amd64}
hostname: $2
files:
  - path: /etc/motd
    content: "$1\n"
outputs: [raw]
YAML
}
build() { # name motd hostname [extra args...] -> $T/<name>/cachet-1.0.0.raw, log in $T/<name>.log
	local name=$1 motd=$2 host=$3
	shift 3
	recipe "$motd" "$host" > "$T/$name.yaml"
	"$apkg" build "$T/$name.yaml" -o "$T/$name" --no-test --cache "$C" "$@" > "$T/$name.log" 2>&1 ||
		{ cat "$T/$name.log"; fail "build $name failed"; }
}
expect_log() { grep -q "$2" "$T/$1.log" || { cat "$T/$1.log"; fail "$1: no '$2' in the build output"; }; }
same() { cmp -s "$T/$1/cachet-1.0.0.raw" "$T/$2/cachet-1.0.0.raw" || fail "$1 and $2 give different images"; }

build cold v1 cachet
expect_log cold "cache: base stored"
expect_log cold "cache: customize stored"
build warm v1 cachet
expect_log warm "cache: customize hit"
build fresh v1 cachet --no-cache
same cold warm
same cold fresh
echo "cold, warm and uncached builds give the same image"

# A customisation change misses customize only; its image equals an uncached one.
build motd2 v2 cachet
expect_log motd2 "cache: base hit"
expect_log motd2 "cache: customize stored"
build motd2-fresh v2 cachet --no-cache
same motd2 motd2-fresh
# An input outside both stages (the outputs list) changes neither key.
sed 's/^outputs: \[raw\]/outputs: [raw, qcow2]/' "$T/motd2.yaml" > "$T/outputs.yaml"
"$apkg" build "$T/outputs.yaml" -o "$T/outputs" --no-test --cache "$C" > "$T/outputs.log" 2>&1 || fail "outputs build"
expect_log outputs "cache: customize hit"
echo "a file change rebuilds customize only; an unrelated field rebuilds nothing"

# What OSTree cannot hold came back exactly (debugfs on the warm build's root partition).
img=$T/warm/cachet-1.0.0.raw
off=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['disk']['root']['offset'])" "$T/warm/manifest.json")
dd if="$img" of="$T/root.ext4" bs=1M skip=$((off / 1048576)) status=none
st() { debugfs -R "stat $1" "$T/root.ext4" 2>/dev/null; }
st /dev/null | grep -q "Type: character special" && st /dev/null | grep -Eq "Device major/minor number: 0*1:0*3 " ||
	{ st /dev/null; fail "/dev/null is not char 1:3"; }
st /dev/sda | grep -q "Type: block special" && st /dev/sda | grep -Eq "Group: +6 " || { st /dev/sda; fail "/dev/sda"; }
st /srv/fifo | grep -q "Type: FIFO" && st /srv/fifo | grep -q "Mode:  0620" || { st /srv/fifo; fail "/srv/fifo"; }
ia=$(st /srv/a | sed -n 's/^Inode: \([0-9]*\).*/\1/p'); ib=$(st /srv/b | sed -n 's/^Inode: \([0-9]*\).*/\1/p')
[ -n "$ia" ] && [ "$ia" = "$ib" ] && st /srv/a | grep -q "Links: 2" || fail "/srv/a and /srv/b are no longer one file"
# mke2fs -d keeps whole seconds (the nanoseconds survive the cache too: tests/unit/test_ostree_tree.c).
st /srv/a | grep -q "mtime: 0x5f5e1000:" || { st /srv/a; fail "/srv/a lost its mtime"; }
debugfs -R "ea_get /srv/a user.apkg" "$T/root.ext4" 2>/dev/null | grep -q cached || fail "/srv/a lost user.apkg"
debugfs -R "ea_get /srv/a trusted.apkg" "$T/root.ext4" 2>/dev/null | grep -q t || fail "/srv/a lost trusted.apkg"
st /srv/suid | grep -q "Mode:  04755" && st /srv/suid | grep -Eq "User: +1234 +Group: +5678 " || { st /srv/suid; fail "/srv/suid"; }
st /tmp | grep -q "Mode:  01777" || fail "/tmp lost its sticky bit"
echo "device nodes, FIFO, hard links, xattrs, set-uid, owners and times survive the cache"

# A corrupt object is detected (OSTree checksums), reported and rebuilt, never used.
repo=$C/ostree
ref=$(ls "$repo/refs/heads/apkg/stage/customize" | head -n 1)
csum=$(ostree --repo="$repo" ls -C "apkg/stage/customize/$ref" /srv/a | awk '{print $5}')
object=$repo/objects/${csum:0:2}/${csum:2}.file
[ -f "$object" ] || fail "no object for /srv/a at $object"
printf 'X' | dd of="$object" bs=1 seek=0 conv=notrunc status=none
build corrupt v2 cachet
expect_log corrupt "is damaged"
same corrupt motd2-fresh
ostree --repo="$repo" fsck >/dev/null 2>&1 || fail "the repository is not sound after the rebuild"
echo "a corrupt object is detected and rebuilt"
# A missing one too.
ref=$(ls "$repo/refs/heads/apkg/stage/base" | head -n 1)
csum=$(ostree --repo="$repo" ls -C "apkg/stage/base/$ref" /bin/busybox | awk '{print $5}')
rm -f "$repo/objects/${csum:0:2}/${csum:2}.file"
build missing v1 cachet
expect_log missing "is damaged"
same missing fresh
ostree --repo="$repo" fsck >/dev/null 2>&1 || fail "the repository is not sound after rebuilding a missing object"
echo "a missing object is detected and rebuilt"

# apkg cache ls | gc | clear
"$apkg" cache ls --cache "$C" --json > "$T/ls.json"
python3 - "$T/ls.json" <<'PY' || fail "cache ls"
import json, sys
d = json.load(open(sys.argv[1]))
stages = sorted(e["stage"] for e in d["entries"])
assert "base" in stages and "customize" in stages, stages
assert all(e["subject"].startswith("cachet 1.0.0: ") for e in d["entries"]), d
assert d["bytes"] > 0
PY
"$apkg" cache ls --cache "$C" | grep -q "^customize " || fail "cache ls text"
"$apkg" cache gc --cache "$C" --max-age 0 | grep -q "^dropped" || fail "cache gc"
[ -z "$(ostree --repo="$repo" refs)" ] || fail "gc --max-age 0 left refs"
ostree --repo="$repo" fsck >/dev/null 2>&1 || fail "gc left an unsound repository"
"$apkg" cache clear --cache "$C" | grep -q "cleared" || fail "cache clear"
[ ! -e "$repo" ] && [ ! -e "$C/debs" ] || fail "clear left the repository or the kernel cache link"
[ -d "${XDG_CACHE_HOME:-$HOME/.cache}/apkg/debs" ] || fail "clear followed a symlink out of the cache"
echo "ok"
