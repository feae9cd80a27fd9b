#!/bin/bash
# tests/integration/rootfs_tarball_hostile.sh: the tarball base refuses hostile
# archives (".." entries, absolute paths, writes through a symlink pointing
# out, hard links to files outside) with a clear error, and NOTHING outside
# the extraction directory changes; a benign archive keeps modes, numeric
# owners, xattrs, symlinks and times. Archives are made with python3's tarfile.
set -eu
cd "$(dirname "$0")/../.."
tool=build/tools/rootfs_tool
py=/usr/bin/python3
[ -x "$tool" ] || { echo "missing $tool (run make check)"; exit 1; }
[ -x "$py" ] || { echo "SKIP: /usr/bin/python3 is needed to make the test archives"; exit 77; }

T=$(mktemp -d /var/tmp/apkg-tarball-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
S=$T/sandbox            # everything here but $S/root must stay untouched
mkdir -p "$S/outside"
echo "original" > "$S/outside/victim"
echo "keep me" > "$S/neighbour"

snapshot() { # a listing of the sandbox outside root/, with content hashes
	"$py" - "$S" <<'PY'
import hashlib, os, sys
top = sys.argv[1]
for dirpath, dirs, files in os.walk(top):
    dirs.sort()
    if dirpath == top and "root" in dirs:
        dirs.remove("root")
    for name in sorted(dirs + files):
        p = os.path.join(dirpath, name)
        st = os.lstat(p)
        extra = os.readlink(p) if os.path.islink(p) else (
            hashlib.sha256(open(p, "rb").read()).hexdigest() if os.path.isfile(p) else "")
        print(os.path.relpath(p, top), oct(st.st_mode), st.st_uid, st.st_gid, st.st_size, st.st_mtime_ns, st.st_nlink, extra)
PY
}

make_tar() { # out.tar, then a python snippet that adds members to tarfile `t`
	"$py" - "$1" "$S" <<PY
import io, tarfile, sys
out, S = sys.argv[1], sys.argv[2]
def reg(t, name, data=b"x\n", mode=0o644, **kw):
    i = tarfile.TarInfo(name); i.size = len(data); i.mode = mode
    for k, v in kw.items(): setattr(i, k, v)
    t.addfile(i, io.BytesIO(data))
def link(t, name, target, kind=tarfile.SYMTYPE):
    i = tarfile.TarInfo(name); i.type = kind; i.linkname = target; t.addfile(i)
def dir_(t, name, mode=0o755):
    i = tarfile.TarInfo(name); i.type = tarfile.DIRTYPE; i.mode = mode; t.addfile(i)
with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as t:
$(sed 's/^/    /')
PY
}

fails=0
expect_refused() { # name, tar, expected text in the error
	local name=$1 tar=$2 want=$3
	rm -rf "$S/root"
	local before after
	before=$(snapshot)
	if "$tool" tarball "$tar" "$S/root" 2>"$T/err"; then
		echo "FAIL $name: a hostile archive was accepted"; fails=$((fails + 1))
	elif ! grep -q -- "$want" "$T/err"; then
		echo "FAIL $name: the error does not say '$want':"; cat "$T/err"; fails=$((fails + 1))
	else
		echo "ok   $name: $(grep -m1 'error' "$T/err")"
	fi
	after=$(snapshot)
	if [ "$before" != "$after" ]; then
		echo "FAIL $name: something outside the extraction directory changed:"
		diff <(echo "$before") <(echo "$after") || true
		fails=$((fails + 1))
	fi
	[ ! -e "$S/abs-target" ] || { echo "FAIL $name: an absolute path was written"; fails=$((fails + 1)); rm -f "$S/abs-target"; }
}

make_tar "$T/dotdot.tar" <<'PY'
reg(t, "etc/ok")
reg(t, "../escaped", b"pwned\n")
PY
expect_refused "dotdot" "$T/dotdot.tar" "refusing entry '../escaped'"

make_tar "$T/dotdot-deep.tar" <<'PY'
dir_(t, "a")
reg(t, "a/../../outside/victim", b"pwned\n")
PY
expect_refused "dotdot-deep" "$T/dotdot-deep.tar" "refusing entry 'a/../../outside/victim'"

make_tar "$T/absolute.tar" <<'PY'
reg(t, S + "/abs-target", b"pwned\n")
PY
expect_refused "absolute" "$T/absolute.tar" "refusing entry '$S/abs-target'"

make_tar "$T/symlink-abs.tar" <<'PY'
link(t, "escape", S + "/outside")
reg(t, "escape/victim", b"pwned\n")
PY
expect_refused "symlink-out-absolute" "$T/symlink-abs.tar" "refusing entry 'escape/victim'"

make_tar "$T/symlink-rel.tar" <<'PY'
dir_(t, "d")
link(t, "d/up", "../../outside")
reg(t, "d/up/victim", b"pwned\n")
PY
expect_refused "symlink-out-relative" "$T/symlink-rel.tar" "refusing entry 'd/up/victim'"

make_tar "$T/symlink-file.tar" <<'PY'
link(t, "victim-link", S + "/outside/victim")
reg(t, "victim-link", b"pwned\n")
PY
# Replacing the link itself is harmless; writing through it must not happen.
rm -rf "$S/root"; before=$(snapshot)
"$tool" tarball "$T/symlink-file.tar" "$S/root" 2>"$T/err" || true
[ "$before" = "$(snapshot)" ] && echo "ok   symlink-file: the file behind the link is untouched" ||
	{ echo "FAIL symlink-file: wrote through a symlink"; fails=$((fails + 1)); }

make_tar "$T/hardlink.tar" <<'PY'
link(t, "hl", "../outside/victim", tarfile.LNKTYPE)
PY
expect_refused "hardlink-dotdot" "$T/hardlink.tar" "refusing entry 'hl'"

make_tar "$T/hardlink-abs.tar" <<'PY'
link(t, "hl", S + "/outside/victim", tarfile.LNKTYPE)
PY
expect_refused "hardlink-absolute" "$T/hardlink-abs.tar" "refusing entry 'hl'"

printf 'this is not a tar archive at all\n' > "$T/garbage.tar"
rm -rf "$S/root"
if "$tool" tarball "$T/garbage.tar" "$S/root" 2>"$T/err"; then
	echo "FAIL garbage: accepted"; fails=$((fails + 1))
else
	echo "ok   garbage: $(head -1 "$T/err")"
fi

# A benign archive: modes (set-uid included), numeric owners that exist on
# no host, an xattr, a symlink with an absolute target, and times.
make_tar "$T/good.tar" <<'PY'
dir_(t, "etc")
dir_(t, "srv", 0o750)
reg(t, "etc/hostname", b"tarball\n")
reg(t, "srv/data", b"secret\n", 0o640, uid=1234, gid=5678, mtime=1600000000)
reg(t, "usr/bin/tool", b"#!/bin/sh\n", 0o4755)
i = tarfile.TarInfo("srv/tagged"); i.size = 3; i.pax_headers = {"SCHILY.xattr.user.apkg": "hello"}
t.addfile(i, io.BytesIO(b"tag"))
link(t, "sbin-init", "/lib/systemd/systemd")
reg(t, "etc/machine-id", b"0123456789abcdef0123456789abcdef\n")
dir_(t, "etc/ssh")
reg(t, "etc/ssh/ssh_host_ed25519_key", b"PRIVATE\n", 0o600)
PY
rm -rf "$S/root"
before=$(snapshot)
"$tool" tarball "$T/good.tar" "$S/root" || { echo "FAIL benign archive refused"; exit 1; }
[ "$before" = "$(snapshot)" ] || { echo "FAIL benign extraction touched the outside"; fails=$((fails + 1)); }
check() { # description, command...
	if "${@:2}"; then echo "ok   $1"; else echo "FAIL $1"; fails=$((fails + 1)); fi
}
R=$S/root
check "content" grep -qx tarball "$R/etc/hostname"
check "mode 0640 and owner 1234:5678" test "$(stat -c '%a %u %g' "$R/srv/data")" = "640 1234 5678"
check "directory mode 0750" test "$(stat -c %a "$R/srv")" = 750
check "set-uid kept" test "$(stat -c %a "$R/usr/bin/tool")" = 4755
check "mtime kept" test "$(stat -c %Y "$R/srv/data")" = 1600000000
check "symlink kept verbatim" test "$(readlink "$R/sbin-init")" = /lib/systemd/systemd
check "xattr kept" test "$("$py" -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.apkg").decode())' "$R/srv/tagged")" = hello
check "machine-id emptied" test -f "$R/etc/machine-id" -a ! -s "$R/etc/machine-id"
check "ssh host key removed" test ! -e "$R/etc/ssh/ssh_host_ed25519_key"

[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "all tarball checks passed"
