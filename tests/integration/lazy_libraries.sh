#!/bin/bash
# tests/integration/lazy_libraries.sh: libguestfs and libostree are loaded on first use, not linked.
#
# bin/apkg needs none of libguestfs, libostree, libgio, libgobject and
# libglib at start (readelf). Then, in a private mount namespace where an
# empty file is bind-mounted over each of the two libraries (what dlopen
# meets on a host with a missing or broken package), the commands that need
# one fail with a message naming the library and its Debian package, never
# a crash: `apkg inspect` exits 3, `apkg recipe check` of an ostree base
# reports a recipe error (exit 2), `apkg cache ls` says the stage cache
# cannot be opened and exits 1; commands that need neither still work.
set -euo pipefail
cd "$(dirname "$0")/../.."
fail() { echo "FAIL: $*"; exit 1; }
apkg=$PWD/bin/apkg

if [ "${1:-}" != --hidden ]; then
	needed=$(readelf -d "$apkg" | grep NEEDED || true)
	for lib in libguestfs libostree libgio libgobject libglib; do
		! grep -q "\[$lib[-.]" <<< "$needed" || fail "bin/apkg links $lib: $needed"
	done
	if [ "$(id -u)" = 0 ] && unshare -m true 2> /dev/null; then
		exec unshare -m "$0" --hidden
	elif unshare -rm true 2> /dev/null; then
		exec unshare -rm "$0" --hidden
	fi
	echo "SKIP: no private mount namespace here (unshare -m) to hide the libraries in"
	exit 77
fi

T=$(mktemp -d /tmp/apkg-it-lazy.XXXXXX)
trap 'rm -rf "$T"' EXIT
: > "$T/empty.so"
for soname in libguestfs.so.0 libostree-1.so.1; do
	path=$(/sbin/ldconfig -p | awk -v n="$soname" '$1 == n && !p { print $NF; p = 1 }')
	[ -n "$path" ] || fail "$soname is not installed"
	mount --bind "$T/empty.so" "$path"
done

expect() { # CODES MESSAGE COMMAND...: COMMAND exits with one of CODES (a|b) and MESSAGE on stderr
	local codes=$1 msg=$2 rc=0
	shift 2
	"$@" > "$T/out" 2> "$T/err" || rc=$?
	[[ $rc =~ ^($codes)$ ]] || { cat "$T/err"; fail "$* exited $rc, not $codes"; }
	grep -qF -- "$msg" "$T/err" || { cat "$T/err"; fail "$*: no \"$msg\""; }
}

"$apkg" version > /dev/null || fail "apkg version"

truncate -s 8M "$T/disk.raw"
expect 3 "apkg: error: apkg inspect needs libguestfs (Debian package libguestfs0): " \
	"$apkg" inspect "$T/disk.raw"

mkdir "$T/repo"
cat > "$T/tree.yaml" <<YAML
apkg: 1
name: tree
version: 1.0.0
base: {ostree: {repo: $T/repo, ref: apkg/tree/1.0.0}}
kernel: {package: linux-image-amd64}
YAML
expect 2 "the ostree base needs libostree (Debian package libostree-1-1): " \
	"$apkg" recipe check "$T/tree.yaml"
sed 's/^base: .*/base: {distro: busybox}/' "$T/tree.yaml" > "$T/plain.yaml"
"$apkg" recipe check "$T/plain.yaml" > /dev/null 2>&1 || fail "a recipe without ostree no longer checks"

# `cache ls` reports an unusable cache and fails.
mkdir -p "$T/cache/ostree"
expect 1 "the stage cache needs libostree (Debian package libostree-1-1): " \
	"$apkg" cache ls --cache "$T/cache"
echo "ok: bin/apkg links neither library and says which package is missing"
