#!/bin/bash
# tests/integration/apkg_test_failures.sh: what `apkg test` does when an
# appliance is broken in ways a recipe cannot easily produce. Each case must
# fail with exit 1, a clear reason, within its deadline, with the failure in
# the JUnit file (valid against the schema) and nothing left running: a
# guest that hangs, an initramfs error, a disk driver missing from the
# initramfs (virtualbox: AHCI), and apkg interrupted by SIGINT mid-boot.
# (apkg_test_hello.sh covers failing checks, services and panics on
# appliances built from recipes.)
set -u
. "$(dirname "$0")/lib/probe_guest.sh"
guest_test_setup

printf 'apkg-checks 1\ndeadline 120\nfile path=/init\n' > "$work/file.checks"

GUEST_FLAGS=hang make_appliance "$work/hang" hang "$work/file.checks" '["file /init"]' qcow2
GUEST_FLAGS=initramfs-error make_appliance "$work/initramfs" initramfs "$work/file.checks" '["file /init"]' qcow2
# the initramfs lacks ahci although the manifest claims it: the guest finds no disk
GUEST_DISK_WAIT=50 make_appliance "$work/noahci" noahci "$work/file.checks" '["file /init"]' raw \
	qemu_fw_cfg virtio_pci virtio_blk sd_mod

# run_case NAME TARGET DEADLINE REASON_REGEX: apkg test must exit 1 with that
# reason, within DEADLINE seconds
run_case() {
	local name=$1 target=$2 deadline=$3 reason=$4 rc secs
	timeout 300 "$apkg" test "$work/$name" --target "$target" --deadline "$deadline" --junit "$work/$name.xml" \
		> "$work/$name.lines" 2>&1
	rc=$?
	[ $rc -eq 1 ] || { cat "$work/$name.lines"; fail "$name: exit $rc, expected 1"; }
	grep -qE "^      reason: $reason" "$work/$name.lines" || { cat "$work/$name.lines"; fail "$name: reason not '$reason'"; }
	secs=$(sed -nE "s/^FAIL  [^ ]+ @ $target  ([0-9]+)\.[0-9] s.*/\1/p" "$work/$name.lines")
	[ -n "$secs" ] && [ "$secs" -le $deadline ] || { cat "$work/$name.lines"; fail "$name: took ${secs:-?} s, over the deadline"; }
	xmllint --noout --schema "$APKG_ROOT/tests/data/junit.xsd" "$work/$name.xml" 2>/dev/null \
		|| fail "$name: JUnit invalid"
	grep -q '<failure message=' "$work/$name.xml" || fail "$name: no failure in the JUnit file"
	assert_nothing_running "$work/$name"
	echo "ok: $name -> $(grep -m1 '^      reason:' "$work/$name.lines" | cut -c15-)"
}

# two at a time; a failed case fails the test
pair() {
	run_case "$@" & local a=$!
	shift 4
	run_case "$@" & local b=$!
	wait $a || exit 1
	wait $b || exit 1
}
pair hang qemu-bios 30 "no result within the 30 s deadline: the boot never reached the probe" \
	initramfs qemu-bios 120 'initramfs error: root device PARTUUID=test not found \(test\)'
run_case noahci virtualbox 120 'initramfs error: no disk appeared within 5 s \(missing driver\?\)'
grep -q -- '--- last console lines of noahci-1.0.raw @ virtualbox ---' "$work/noahci.lines" || fail "no console tail"

# SIGINT while a guest is booting: QEMU is killed, scratch removed, no result written
"$apkg" test "$work/hang" --target qemu-bios,qemu-uefi -j 2 > "$work/int.lines" 2>&1 &
pid=$!
for _ in $(seq 100); do pgrep -f -- "$work/hang" | grep -qv "^$pid\$" && break; sleep 0.2; done
pgrep -f -- "$work/hang/hang-1.0.qcow2" > /dev/null || fail "QEMU did not start"
sleep 1
kill -INT $pid
wait $pid
rc=$?
[ $rc -ne 0 ] || fail "interrupted apkg test exited 0"
sleep 0.5
assert_nothing_running "$work/hang"
[ -z "$(ls -A "$TMPDIR")" ] || fail "scratch left behind after SIGINT: $(ls -A "$TMPDIR")"
echo "ok: SIGINT stops every boot and cleans up (exit $rc)"
echo "apkg test failures: ok"
