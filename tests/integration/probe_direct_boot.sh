#!/bin/bash
# tests/integration/probe_direct_boot.sh: apkg-probe inside a real guest.
# Boots Debian's kernel directly (-kernel/-initrd) with a test initramfs that
# starts busybox httpd and runs the probe: passing checks of every kind, a
# failing one, the APKG-RESULT line, the power-off, and that a boot without
# apkg.check=1 never runs the probe.
set -u
. "$(dirname "$0")/lib/probe_guest.sh"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 missing (make deps)"
[ -x "$APKG_ROOT/bin/apkg-probe" ] || fail "bin/apkg-probe not built"
guest_kernel
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat > "$work/checks" <<'CHECKS'
apkg-checks 1
deadline 120
tcp timeout=2 port=80
http timeout=2 status=200 url=http://127.0.0.1/ contains=hello%20from%20the%20apkg
http timeout=2 status=404 url=http://localhost/missing.html
service timeout=2 name=httpd
command timeout=2 run=grep%20-q%20apkg.check=1%20/proc/cmdline%20&&%20echo%20flag%20seen
file timeout=2 path=/etc/no-such-file
CHECKS
guest_initramfs "$work/initrd.img" "$work/checks" qemu_fw_cfg

boot() { # cmdline -> console in $work/console
	timeout 120 qemu-system-x86_64 -accel tcg -m 256 -nodefaults -nographic -no-reboot -serial stdio \
		-kernel "$VMLINUZ" -initrd "$work/initrd.img" -append "console=ttyS0 root=direct $1" \
		</dev/null >"$work/console" 2>&1
}

boot "apkg.check=1 apkg.deadline=16"
rc=$?
[ $rc -eq 0 ] || { tail -30 "$work/console"; fail "QEMU exited with $rc (124 = hung: the probe did not power off)"; }
cat "$work/console" | tr -d '\r' > "$work/c"
grep -q '^APKG-PROBE {"checks":6,' "$work/c" || fail "no APKG-PROBE line"
expect() { grep -qF -- "$1" "$work/c" || { tail -20 "$work/c"; fail "missing: $1"; }; }
expect 'APKG-CHECK {"check":"tcp 80","ok":true,"detail":"port 80 accepts connections"'
expect 'APKG-CHECK {"check":"http http://127.0.0.1/","ok":true,"detail":"status 200, 31 bytes, body matches"'
expect 'APKG-CHECK {"check":"http http://localhost/missing.html","ok":true,"detail":"status 404'
expect 'APKG-CHECK {"check":"service httpd","ok":true,"detail":"process httpd is running'
expect 'APKG-CHECK {"check":"command grep -q apkg.check=1 /proc/cmdline && echo flag seen","ok":true,"detail":"exit 0: flag seen"'
expect 'APKG-CHECK {"check":"file /etc/no-such-file","ok":false,"detail":"No such file or directory"'
expect 'APKG-RESULT {"passed":5,"failed":1}'
expect 'reboot: Power down'
grep -q 'TEST-GUEST probe returned' "$work/c" && fail "the probe returned instead of powering off"
# the result line parses as the host parses it
result=$(sed -n 's/^APKG-RESULT //p' "$work/c")
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d=={"passed":5,"failed":1}, d' "$result" \
	|| fail "APKG-RESULT is not the expected JSON: $result"

# A normal boot: no flag, so the probe does nothing and returns.
boot ""
tr -d '\r' < "$work/console" > "$work/c"
grep -q 'TEST-GUEST probe returned 0' "$work/c" || { tail -20 "$work/c"; fail "probe did not return quietly"; }
grep -q 'APKG-' "$work/c" && fail "the probe ran on a normal boot"
echo "probe direct boot: ok"
