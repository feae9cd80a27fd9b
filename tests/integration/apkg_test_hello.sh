#!/bin/bash
# tests/integration/apkg_test_hello.sh: `apkg test` end to end on appliances
# that `apkg build` made from recipes. recipes/hello.yaml (busybox, httpd,
# five checks of every kind) passes on qemu-bios, qemu-uefi, virtualbox and
# vmware, each booting its own shipped file, with apkg's own initramfs
# reading the check flag from QEMU's fw_cfg. Three broken variants (built
# with `extends: hello.yaml`) fail with exit 1, their reason, within their
# deadline and in the JUnit file: a check that fails, a service that never
# starts, and an init that exits (kernel panic).
set -u
. "$(dirname "$0")/lib/probe_guest.sh"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 missing (make deps)"
apkg=$APKG_ROOT/bin/apkg
T=$(mktemp -d /tmp/apkg-it-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
cp "$APKG_ROOT/recipes/hello.yaml" "$T/hello.yaml"

build() { # recipe outdir
	"$apkg" build "$T/$1" -o "$T/$2" --no-test > "$T/$2.build.log" 2>&1 || {
		if grep -qiE "cannot download|apt-get download|no network|could not resolve" "$T/$2.build.log"; then
			skip "the kernel package cannot be downloaded"
		fi
		tail -20 "$T/$2.build.log"; fail "apkg build $1 failed"
	}
}

build hello.yaml hello
sha_before=$(cd "$T/hello" && sha256sum hello-1.0.0.*)
timeout 900 "$apkg" test "$T/hello" --target qemu-bios,qemu-uefi,virtualbox,vmware -j 2 --junit "$T/hello.xml" \
	> "$T/hello.lines"
rc=$?
cat "$T/hello.lines"
[ $rc -eq 0 ] || fail "hello: apkg test exited $rc"
for t in qemu-bios qemu-uefi; do
	grep -qE "^PASS  hello-1\.0\.0\.qcow2 @ $t  [0-9.]+ s  5/5 checks$" "$T/hello.lines" || fail "hello: $t did not pass"
done
for t in virtualbox vmware; do # these boot the VMDK inside the OVA, as the products import it
	grep -qE "^PASS  hello-1\.0\.0\.ova @ $t  [0-9.]+ s  5/5 checks$" "$T/hello.lines" || fail "hello: $t did not pass"
done
[ "$(cd "$T/hello" && sha256sum hello-1.0.0.*)" = "$sha_before" ] || fail "testing changed an artifact"
xmllint --noout --schema "$APKG_ROOT/tests/data/junit.xsd" "$T/hello.xml" 2>/dev/null || fail "hello: JUnit invalid"
[ "$(grep -c '<testcase ' "$T/hello.xml")" = 24 ] || fail "hello: expected 4 x (boot + 5 checks) testcases"
python3 - "$T/hello/manifest.json" <<'PY' || fail "hello: manifest.json validation wrong"
import json, sys
m = json.load(open(sys.argv[1]))
assert [r["status"] for r in m["validation"]] == ["pass"] * 4, m["validation"]
assert all(len(r["checks"]) == 5 and all(c["ok"] for c in r["checks"]) for r in m["validation"])
PY
# a recipe stands for its default output directory
(cd "$T" && "$apkg" test hello.yaml --target vmm > /dev/null 2>&1; [ $? -eq 2 ]) || fail "unbuilt recipe: expected exit 2"

cat > "$T/failing.yaml" <<'YAML'
apkg: 1
extends: hello.yaml
name: failing
version: 1.0.0
outputs: [qcow2]
check_deadline: 60
checks:
  - command: "test -e /etc/never-there"
YAML
cat > "$T/noservice.yaml" <<'YAML'
apkg: 1
extends: hello.yaml
name: noservice
version: 1.0.0
outputs: [qcow2]
check_deadline: 60
files:
  - path: /etc/init.d/broken
    mode: "0755"
    content: |
      #!/bin/sh
      # claims to start a daemon but never does
      exit 0
services:
  enable: [broken]
checks:
  - service: broken
YAML
cat > "$T/panic.yaml" <<'YAML'
apkg: 1
extends: hello.yaml
name: panic
version: 1.0.0
outputs: [qcow2]
files:
  - path: /sbin/init
    mode: "0755"
    content: |
      #!/bin/sh
      exit 1
YAML
for v in failing noservice panic; do build $v.yaml $v & done
wait
for v in failing noservice panic; do [ -f "$T/$v/manifest.json" ] || fail "$v was not built"; done

# expect NAME DEADLINE REASON_REGEX
expect_failure() {
	local name=$1 deadline=$2 reason=$3 secs
	timeout 300 "$apkg" test "$T/$name" --target qemu-bios --junit "$T/$name.xml" > "$T/$name.lines" 2>&1
	local rc=$?
	[ $rc -eq 1 ] || { cat "$T/$name.lines"; fail "$name: exit $rc, expected 1"; }
	grep -qE "^      reason: $reason" "$T/$name.lines" || { cat "$T/$name.lines"; fail "$name: wrong reason"; }
	secs=$(sed -nE 's/^FAIL  [^ ]+ @ qemu-bios  ([0-9]+)\.[0-9] s.*/\1/p' "$T/$name.lines")
	[ -n "$secs" ] && [ "$secs" -le "$deadline" ] || fail "$name: ${secs:-?} s, over its $deadline s deadline"
	xmllint --noout --schema "$APKG_ROOT/tests/data/junit.xsd" "$T/$name.xml" 2>/dev/null || fail "$name: JUnit invalid"
	grep -q '<failure message=' "$T/$name.xml" || fail "$name: no failure in the JUnit file"
	assert_nothing_running "$T/$name"
	echo "ok: $name -> $(grep -m1 '^      reason:' "$T/$name.lines" | cut -c15-)"
}
expect_failure failing 60 '1 of 6 checks failed: command test -e /etc/never-there$' &
a=$!
expect_failure panic 120 'kernel panic: Kernel panic - not syncing: Attempted to kill init!' &
b=$!
wait $a || exit 1
wait $b || exit 1
expect_failure noservice 60 '1 of 6 checks failed: service broken$'
grep -q 'failed check: service broken: no live pid in /run/broken.pid and no process named broken' \
	"$T/noservice.lines" || fail "noservice: check detail missing"
echo "apkg test on built appliances: ok"
