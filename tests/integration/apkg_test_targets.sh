#!/bin/bash
# tests/integration/apkg_test_targets.sh: `apkg test` on every QEMU target.
# A test appliance (Debian kernel + test initramfs on a hybrid GPT disk,
# shipped as qcow2, OVA and raw) must pass on qemu-bios, qemu-uefi,
# virtualbox(-efi), vmware(-efi) and hyperv, each booting its own format,
# with vmm passing, or skipped where there is no hardware virtualization
# (and --strict then turning that skip into a failure). The
# artifacts are unchanged, nothing is left running or on disk, the JUnit file
# validates against tests/data/junit.xsd and manifest.json records the
# results. A kernel without AHCI fails virtualbox at once, naming the driver.
set -u
. "$(dirname "$0")/lib/probe_guest.sh"
guest_test_setup
out=$work/out

cat > "$work/checks" <<'CHECKS'
apkg-checks 1
deadline 120
service name=httpd
tcp port=80
http url=http://127.0.0.1/ contains=hello
command run=test%20-s%20/run/apkg/check
CHECKS
names='["service httpd","tcp 80","http http://127.0.0.1/","command test -s /run/apkg/check"]'
TARGETS='["qemu-bios","qemu-uefi","virtualbox","vmware","vmm"]' make_appliance "$out" web "$work/checks" "$names" "qcow2 ova raw"
sha_before=$(cd "$out" && sha256sum web-1.0.*)

targets=qemu-bios,qemu-uefi,virtualbox,virtualbox-efi,vmware,vmware-efi,hyperv,vmm
timeout 900 "$apkg" test "$out" --target "$targets" --junit "$work/junit.xml" -j 2 > "$work/lines"
rc=$?
cat "$work/lines"
[ $rc -eq 0 ] || fail "apkg test exited $rc"
line() { grep -qE "$1" "$work/lines" || fail "no line matching: $1"; }
line '^PASS  web-1\.0\.qcow2 @ qemu-bios  [0-9.]+ s  4/4 checks$'
line '^PASS  web-1\.0\.qcow2 @ qemu-uefi  [0-9.]+ s  4/4 checks$'
line '^PASS  web-1\.0\.ova @ virtualbox  [0-9.]+ s  4/4 checks$'
line '^PASS  web-1\.0\.ova @ virtualbox-efi  [0-9.]+ s  4/4 checks$'
line '^PASS  web-1\.0\.ova @ vmware  [0-9.]+ s  4/4 checks$'
line '^PASS  web-1\.0\.ova @ vmware-efi  [0-9.]+ s  4/4 checks$'
line '^PASS  web-1\.0\.raw @ hyperv  [0-9.]+ s  4/4 checks$'
line '^      note: no vhdx was built: booted the raw image$'
if grep -q '^SKIP  web-1\.0 @ vmm  0\.0 s  0/4 checks  (no hardware virtualization for the micro-VMM: ' "$work/lines"; then
	vmm=skip
	line '^web-1\.0: 7 passed, 0 failed, 1 skipped$'
else
	vmm=pass
	line '^PASS  web-1\.0\.raw @ vmm  [0-9.]+ s  4/4 checks$'
	line '^web-1\.0: 8 passed, 0 failed, 0 skipped$'
fi

[ "$(cd "$out" && sha256sum web-1.0.*)" = "$sha_before" ] || fail "testing changed an artifact"
assert_nothing_running "$out"
[ -z "$(ls -A "$TMPDIR")" ] || fail "scratch left behind: $(ls -A "$TMPDIR")"

# JUnit: well-formed, valid against the schema, one testcase per target x (boot + 4 checks)
xmllint --noout "$work/junit.xml" || fail "JUnit not well-formed"
xmllint --noout --schema "$APKG_ROOT/tests/data/junit.xsd" "$work/junit.xml" || fail "JUnit does not match the schema"
[ "$(grep -c '<testcase ' "$work/junit.xml")" = 40 ] || fail "expected 40 testcases"
[ "$(grep -c '<skipped ' "$work/junit.xml")" = "$([ $vmm = skip ] && echo 5 || echo 0)" ] \
	|| fail "expected the vmm boot and its 4 checks skipped (and nothing else)"
grep -q '<failure' "$work/junit.xml" && fail "unexpected failure in the JUnit file"
# the schema is a real oracle: a testcase without classname is rejected
sed 's/<testcase classname="[^"]*"/<testcase/' "$work/junit.xml" > "$work/bad.xml"
xmllint --noout --schema "$APKG_ROOT/tests/data/junit.xsd" "$work/bad.xml" 2>/dev/null && fail "schema accepted a broken file"

# manifest.json records the results, and is still valid JSON with its other fields intact
python3 - "$out/manifest.json" "$vmm" <<'PY' || fail "manifest.json validation results wrong"
import json, sys
m = json.load(open(sys.argv[1]))
v = {r["target"]: r for r in m["validation"]}
assert len(m["validation"]) == 8, len(m["validation"])
assert all(v[t]["status"] == "pass" for t in v if t != "vmm"), v
assert v["vmm"]["status"] == sys.argv[2], v["vmm"]
assert v["qemu-bios"]["artifact"] == "web-1.0.qcow2" and v["vmware"]["format"] == "vmdk (from the OVA)"
assert [c["check"] for c in v["qemu-uefi"]["checks"]] != []
assert m["name"] == "web" and m["artifacts"][0]["file"] == "web-1.0.qcow2"
PY

# --json: the same data for machines
"$apkg" test "$out" --target qemu-bios --json > "$work/json" || fail "apkg test --json failed"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["passed"]==1 and d["results"][0]["status"]=="pass" and "APKG-RESULT" in d["results"][0]["console"]' \
	"$work/json" || fail "--json output wrong"
# a skip is not a failure, unless --strict
if [ $vmm = skip ]; then
	"$apkg" test "$out" --target vmm > /dev/null || fail "a skipped target failed the run"
	"$apkg" test "$out" --target vmm --strict > /dev/null && fail "--strict did not fail on a skipped target"
fi

# a kernel without AHCI: virtualbox fails at once, naming the driver and the package that has it
KERNEL_PACKAGE=linux-image-cloud-amd64 DRIVERS='{"ahci": "missing", "sd_mod": "initramfs", "serial_8250": "builtin"}' \
	make_appliance "$work/noahci" cloud "$work/checks" "$names" "raw"
"$apkg" test "$work/noahci" --target virtualbox --junit "$work/noahci.xml" > "$work/lines2"
rc=$?
cat "$work/lines2"
[ $rc -eq 1 ] || fail "missing driver: exit $rc, expected 1"
grep -q "reason: the kernel (linux-image-cloud-amd64) has no ahci driver, which virtualbox needs for its disk; the Debian package linux-image-amd64 has it" \
	"$work/lines2" || fail "missing-driver reason not given"
grep -q '^FAIL  cloud-1\.0\.raw @ virtualbox  0\.0 s' "$work/lines2" || fail "missing driver did not fail at once"
grep -q '<failure message="the kernel (linux-image-cloud-amd64) has no ahci driver' "$work/noahci.xml" || fail "no JUnit failure"

# usage errors
"$apkg" test "$out" --target nosuch 2>/dev/null; [ $? -eq 2 ] || fail "unknown target: expected exit 2"
"$apkg" test "$work/nonexistent" 2>/dev/null; [ $? -eq 2 ] || fail "missing outdir: expected exit 2"
echo "apkg test targets: ok"
