#!/bin/bash
# tests/integration/publish_refusals.sh: what `apkg publish` refuses, with
# exit 1, a message naming the artifact and nothing written to the mirror:
# a failed boot, skips only, no validation at all, one format never booted,
# files changed since the build, a missing SBOM, a hostile manifest name and
# an unreadable index.json on the mirror. --allow-unvalidated publishes and
# the index records that the artifacts were not validated.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/integration/lib/publish_fixture.sh
need_tools python3 qemu-img sha256sum
T=$(mktemp -d /tmp/apkg-it-refuse.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# refuse MODE PATTERN: the output directory made with MODE is refused
refuse() {
	local mode=$1 pattern=$2
	rm -rf "$T/out" "$T/m"
	make_outdir "$T/out" hello 1.0.0 "$mode" || fail "fixture"
	./bin/apkg publish "$T/out" --mirror "$T/m" >"$T/log" 2>&1
	local rc=$?
	[ $rc -eq 1 ] || { cat "$T/log"; fail "$mode: exit $rc, expected 1"; }
	grep -q "$pattern" "$T/log" || { cat "$T/log"; fail "$mode: no message matching '$pattern'"; }
	[ -e "$T/m" ] && fail "$mode: the refused publish touched the mirror"
	return 0
}
refuse fail "refusing to publish hello-1.0.0.qcow2: it is failed: .*failed on qemu-bios: no ready line"
refuse skip "refusing to publish hello-1.0.0.raw: it is unvalidated: no boot passed (skipped on vmm"
refuse none "refusing to publish hello-1.0.0.qcow2: it is unvalidated: never boot-tested"
refuse rawskip "refusing to publish hello-1.0.0.raw: it is unvalidated"
grep -q "hello-1.0.0.qcow2" "$T/log" && fail "rawskip: the validated qcow2 was named as refused"

# --allow-unvalidated publishes, and says so in the index
rm -rf "$T/out" "$T/m"
make_outdir "$T/out" hello 1.0.0 fail || fail "fixture"
./bin/apkg publish "$T/out" --mirror "$T/m" --allow-unvalidated >"$T/log" 2>&1 || { cat "$T/log"; fail "--allow-unvalidated"; }
grep -q "warning: publishing hello-1.0.0.qcow2 although it is failed" "$T/log" || fail "no warning"
python3 - "$T/m/index.json" <<'PY' || fail "the index does not record the validation"
import json, sys
v = json.load(open(sys.argv[1]))["appliances"][0]["versions"][0]
assert v["validated"] is False, v
states = {a["file"]: a["validation"] for a in v["artifacts"]}
assert states == {"hello-1.0.0.raw": "passed", "hello-1.0.0.qcow2": "failed"}, states
PY
grep -q "Not boot-validated" "$T/m/index.html" || fail "index.html does not say 'Not boot-validated'"

# files changed after the build
rm -rf "$T/out" "$T/m"
make_outdir "$T/out" hello 1.0.0 || fail "fixture"
printf 'x' | dd of="$T/out/hello-1.0.0.qcow2" bs=1 seek=300 conv=notrunc status=none
./bin/apkg publish "$T/out" --mirror "$T/m" >"$T/log" 2>&1
[ $? -eq 1 ] && grep -q "hello-1.0.0.qcow2 changed since it was built" "$T/log" || { cat "$T/log"; fail "a changed artifact"; }
[ -e "$T/m" ] && fail "a changed artifact touched the mirror"

# no SBOM
rm -rf "$T/out"
make_outdir "$T/out" hello 1.0.0 || fail "fixture"
rm "$T/out/hello-1.0.0.spdx.json"
./bin/apkg publish "$T/out" --mirror "$T/m" >"$T/log" 2>&1
[ $? -eq 1 ] && grep -q "has no SBOM" "$T/log" || { cat "$T/log"; fail "a missing SBOM"; }

# a manifest whose name would leave the mirror
rm -rf "$T/out"
make_outdir "$T/out" hello 1.0.0 || fail "fixture"
sed -i 's/"name": "hello"/"name": "..\/..\/etc"/' "$T/out/manifest.json"
./bin/apkg publish "$T/out" --mirror "$T/m" >"$T/log" 2>&1
[ $? -eq 1 ] && grep -q '"name" is missing or not an appliance name' "$T/log" || { cat "$T/log"; fail "a hostile name"; }

# an index.json apkg cannot read is never replaced
rm -rf "$T/out" "$T/m"
make_outdir "$T/out" hello 1.0.0 || fail "fixture"
mkdir -p "$T/m" && printf '{"apkg_index": 1, "appliances": [' >"$T/m/index.json"
./bin/apkg publish "$T/out" --mirror "$T/m" >"$T/log" 2>&1
[ $? -eq 1 ] && grep -q "index.json cannot be read" "$T/log" || { cat "$T/log"; fail "a broken index"; }
[ "$(cat "$T/m/index.json")" = '{"apkg_index": 1, "appliances": [' ] || fail "the broken index was replaced"
[ -e "$T/m/hello" ] && fail "a version was published beside a broken index"

# usage errors
./bin/apkg publish "$T/out" >/dev/null 2>&1; [ $? -eq 2 ] || fail "no --mirror: not exit 2"
./bin/apkg publish "$T/out" --mirror "$T/m" --keep 0 >/dev/null 2>&1; [ $? -eq 2 ] || fail "--keep 0: not exit 2"
./bin/apkg verify ftp://example.invalid/x >/dev/null 2>&1; [ $? -eq 2 ] || fail "verify ftp://: not exit 2"
echo "publish_refusals: ok"
