#!/bin/bash
# tests/integration/rootfs_debian.sh: a real Debian base (mmdebstrap, bookworm
# minbase + nginx-light + openssh-server + the cloud kernel) and its
# customisation. Asserts systemd as init, an empty machine-id, no SSH host keys
# (a first-boot unit instead), empty apt lists, no build logs, no mounts left,
# no initramfs-tools, no timestamps after the epoch; then users, files,
# services, network and run commands on the real tree, with the image's own
# tools (id, nginx -t) as oracles. Skips only if the Debian mirror is unreachable.
set -eu
cd "$(dirname "$0")/../.."
tool=build/tools/rootfs_tool
[ -x "$tool" ] || { echo "missing $tool (run make check)"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (mmdebstrap and chroot)"; exit 77; }
command -v mmdebstrap >/dev/null || { echo "mmdebstrap is missing (make deps)"; exit 1; }

# The host's first Debian archive, as apkg picks it; is it reachable?
uri=$(/usr/bin/python3 - <<'PY'
import glob, re
files = ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list") + glob.glob("/etc/apt/sources.list.d/*.sources"))
for f in files:
    try: text = open(f).read()
    except OSError: continue
    if f.endswith(".sources"):
        for para in re.split(r"\n\s*\n", text):
            d = dict(re.findall(r"^(\w[\w-]*):\s*(.*)$", para, re.M))
            if "deb" in d.get("Types", "").split() and "security" not in d.get("URIs", "") + d.get("Suites", ""):
                print(d["URIs"].split()[0]); raise SystemExit
    else:
        for line in text.splitlines():
            w = re.sub(r"\[[^]]*\]", "", line.split("#")[0]).split()
            if len(w) >= 3 and w[0] == "deb" and "security" not in w[1] + w[2]:
                print(w[1]); raise SystemExit
PY
)
[ -n "$uri" ] || { echo "SKIP: the host has no Debian apt source"; exit 77; }
probe=$(mktemp)
if ! timeout 30 /usr/lib/apt/apt-helper download-file "$uri/dists/bookworm/InRelease" "$probe" >/dev/null 2>&1; then
	rm -f "$probe"
	echo "SKIP: the Debian mirror $uri is unreachable"
	exit 77
fi
rm -f "$probe"

T=$(mktemp -d /var/tmp/apkg-debian-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
R=$T/root
EPOCH=1700000000
fails=0
check() { # description, command...
	if "${@:2}"; then echo "ok   $1"; else echo "FAIL $1"; fails=$((fails + 1)); fi
}

t0=$(date +%s.%N)
if ! "$tool" debian "$R" "$T/scratch" --suite bookworm --variant minbase --package nginx-light \
	--package openssh-server --kernel linux-image-cloud-amd64 --dhcp --epoch $EPOCH; then
	echo "FAIL: the debian base was not built"
	exit 1
fi
t1=$(date +%s.%N)
echo "mmdebstrap + scrub: $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s, $(du -sm "$R" | cut -f1) MiB"

check "no mount left under the root" bash -c "! grep -q '$T' /proc/self/mountinfo"
check "systemd is /sbin/init" "$tool" is-systemd "$R"
check "machine-id present and empty" test -f "$R/etc/machine-id" -a ! -s "$R/etc/machine-id"
check "no SSH host keys" bash -c "! ls '$R'/etc/ssh/ssh_host_* 2>/dev/null"
check "sshd installed" test -x "$R/usr/sbin/sshd"
check "host keys regenerate on first boot" test -L "$R/etc/systemd/system/multi-user.target.wants/apkg-ssh-keygen.service"
check "apt lists empty" test "$(ls "$R/var/lib/apt/lists" | tr '\n' ' ')" = "lock partial "
check "apt caches empty" test -z "$(find "$R/var/cache/apt" -type f ! -name lock)"
check "no build logs" test -z "$(find "$R/var/log" -type f -size +0)"
check "nginx-light installed" grep -q -A1 '^Package: nginx-light$' "$R/var/lib/dpkg/status"
check "kernel installed" bash -c "ls '$R'/boot/vmlinuz-* >/dev/null"
check "no initramfs-tools" test ! -e "$R/usr/sbin/update-initramfs"
check "no unused (and unreproducible) initrd" bash -c "! ls '$R'/boot/initrd.img-* 2>/dev/null && [ ! -e '$R/initrd.img' ]"
check "udev and networkd present" test -e "$R/lib/systemd/systemd-udevd" -a -e "$R/lib/systemd/systemd-networkd"
check "no man pages or docs (copyright kept)" bash -c "[ -z \"\$(find '$R/usr/share/man' -type f)\" ] && [ -f '$R/usr/share/doc/nginx-light/copyright' ]"
check "the build host's hostname is not in the image" bash -c "! grep -qx '$(hostname)' '$R/etc/hostname'"
check "no ldconfig aux-cache" test ! -e "$R/var/cache/ldconfig/aux-cache"

"$tool" customize "$R" --hostname web --dhcp --epoch $EPOCH \
	--user alice --group sudo --key "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJapkgtest alice@example" \
	--file /var/www/html/index.html --content "hello from apkg" --owner www-data:www-data \
	--enable nginx --disable apt-daily.timer \
	--run "id alice > /root/id.txt && nginx -t 2> /root/nginx-t.txt" \
	--run "getent hosts web > /root/hosts.txt" || { echo "FAIL: customize"; exit 1; }
check "run: the image's id(1) sees the user" grep -qx 'uid=1000(alice) gid=1000(alice) groups=1000(alice),27(sudo)' "$R/root/id.txt"
check "run: nginx -t passes in the image" grep -q 'test is successful' "$R/root/nginx-t.txt"
check "run: the hostname resolves in the image" grep -q 'web' "$R/root/hosts.txt"
check "no mount left after run" bash -c "! grep -q '$T' /proc/self/mountinfo"
check "home 0700 uid 1000" test "$(stat -c '%a %u %g' "$R/home/alice")" = "700 1000 1000"
check "authorized_keys 0600 uid 1000" test "$(stat -c '%a %u %g' "$R/home/alice/.ssh/authorized_keys")" = "600 1000 1000"
check "index owned by the image's www-data (33)" test "$(stat -c '%u %g' "$R/var/www/html/index.html")" = "33 33"
check "nginx enabled" test "$(readlink "$R/etc/systemd/system/multi-user.target.wants/nginx.service")" = /lib/systemd/system/nginx.service
check "apt-daily.timer disabled" test ! -e "$R/etc/systemd/system/timers.target.wants/apt-daily.timer"
check "networkd enabled" test -L "$R/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
check "nothing waits for the network" test "$(readlink "$R/etc/systemd/system/systemd-networkd-wait-online.service")" = /dev/null
check "DHCP on en* eth*" grep -qx 'Name=en\* eth\*' "$R/etc/systemd/network/80-apkg-dhcp.network"
check "hostname" grep -qx web "$R/etc/hostname"
check "no timestamps after the epoch" test -z "$(find "$R" -xdev -newermt @$EPOCH -print -quit)"

[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "all debian checks passed"
