#!/bin/bash
# tests/integration/hygiene_gates.sh: every hygiene rule a build can break, broken by a small
# busybox recipe. Each error rule fails the build with its name (and the recipe line that put the
# file there), each warning rule warns with its name, and a failed build leaves no output and no
# scratch. The same recipe with waivers (one narrowed to a path) and an allowed key builds, and
# manifest.json records every finding, each waiver with its reason and whether it was used, and
# the allow-list. A recipe that sets root's password itself is not flagged for it.
set -euo pipefail
cd "$(dirname "$0")/../.."
T=$(mktemp -d /tmp/apkg-it-hy.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# A PEM block that looks like a private key: the gate reads headers, not key material.
key() { printf -- '-----BEGIN %sPRIVATE KEY-----\n%s\n-----END %sPRIVATE KEY-----\n' "${1:-}" \
	"MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKjMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dV" "${1:-}"; }
indent() { sed 's/^/      /'; }

cat > "$T/dirty.yaml" <<YAML
apkg: 1
name: dirty
version: "1.0"
base: {distro: busybox}
kernel: {package: linux-image-amd64}
files:
  - path: /etc/ssh/ssh_host_ed25519_key
    mode: "0600"
    content: |
$(key OPENSSH\  | indent)
  - path: /etc/machine-id
    content: "0123456789abcdef0123456789abcdef\n"
  - path: /etc/shadow
    mode: "0600"
    content: "root:\$6\$saltsalt\$8zQe3D2bdQsFHtLq5i3.mB1S6H0x2vxQmAb7ZnQ9dJc0:19675:0:99999:7:::\n"
  - path: /srv/drop/inbox
    content: "x"
    mode: "0666"
  - path: /srv/other
    content: "y"
    mode: "0666"
  - path: /etc/app/tls.key
    mode: "0600"
    content: |
$(key RSA\  | indent)
  - path: /etc/app/client.key
    mode: "0600"
    content: |
$(key | indent)
  - path: /var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease
    content: "Origin: Debian\n"
  - path: /root/.ash_history
    content: "cat /etc/shadow\n"
  - path: /var/log/build.log
    content: "compiled\n"
  - path: /usr/local/bin/helper
    mode: "4755"
    content: "#!/bin/sh\nexec id\n"
YAML

# 1. The dirty recipe fails, naming each error rule, and leaves nothing.
if ./bin/apkg build "$T/dirty.yaml" -o "$T/out" --no-test > "$T/dirty.log" 2>&1; then
	cat "$T/dirty.log"; fail "a build with secrets baked in succeeded"
fi
cat "$T/dirty.log"
for rule in ssh-host-keys machine-id root-password world-writable private-keys; do
	grep -q "error: hygiene: $rule: " "$T/dirty.log" || fail "no error for $rule"
done
for rule in apt-lists shell-history build-logs suid-binaries; do
	grep -q "warning: hygiene: $rule: " "$T/dirty.log" || fail "no warning for $rule"
done
grep -q "hygiene: world-writable: /srv/drop/inbox: world-writable file (mode 0666)" "$T/dirty.log" || fail "world-writable detail"
grep -q "hygiene: suid-binaries: /usr/local/bin/helper: setuid to uid 0" "$T/dirty.log" || fail "suid detail"
grep -q "^$T/dirty.yaml:[0-9]*:[0-9]*: files\[0\] puts /etc/ssh/ssh_host_ed25519_key there" "$T/dirty.log" ||
	fail "the finding does not point at the recipe line"
grep -q "private-keys: /etc/ssh/ssh_host_ed25519_key" "$T/dirty.log" && fail "a host key reported twice"
grep -q "fails 7 hygiene checks" "$T/dirty.log" || fail "error count (host key, machine-id, root, 2 world-writable, 2 keys)"
grep -q "failed in stage 'hygiene'" "$T/dirty.log" || fail "the failing stage is not named"
[ -e "$T/out" ] && fail "a failed build left output"
ls -a "$T" | grep -q '^\.apkg-build' && fail "scratch left behind"

# 2. Waived (with reasons), allowed, and recorded.
sed -e 's/^name: dirty/name: waived/' "$T/dirty.yaml" > "$T/waived.yaml"
cat >> "$T/waived.yaml" <<'YAML'
hygiene:
  waive:
    - {rule: ssh-host-keys, reason: "lab image: the test harness pins this host key"}
    - {rule: machine-id, reason: "single-instance appliance"}
    - {rule: root-password, reason: "console password for the lab"}
    - {rule: world-writable, reason: "upload drop box", paths: [/srv/drop]}
    - {rule: world-writable, reason: "legacy spool", paths: [/srv/other]}
    - {rule: private-keys, reason: "the client key is provisioned per site", paths: [/etc/app/client.key]}
    - {rule: untrimmed-free-space, reason: "never fires in a build"}
  allow_private_keys: [/etc/app/tls.key]
YAML
./bin/apkg build "$T/waived.yaml" -o "$T/out" --no-test > "$T/waived.log" 2>&1 || { cat "$T/waived.log"; fail "waived build"; }
grep -q "hygiene: 0 errors, 4 warnings, 6 waived" "$T/waived.log" || { cat "$T/waived.log"; fail "summary line"; }
python3 - "$T/out/manifest.json" <<'PY'
import json, sys
h = json.load(open(sys.argv[1]))["hygiene"]
assert (h["errors"], h["warnings"], h["waived"]) == (0, 4, 6), h
by = {(f["rule"], f["path"]): f for f in h["findings"]}
assert by[("ssh-host-keys", "/etc/ssh/ssh_host_ed25519_key")]["reason"].startswith("lab image"), by
assert by[("world-writable", "/srv/drop/inbox")]["reason"] == "upload drop box"
assert by[("world-writable", "/srv/other")]["reason"] == "legacy spool"
assert by[("private-keys", "/etc/app/client.key")]["waived"] is True
assert ("private-keys", "/etc/app/tls.key") not in by, "an allowed key is still reported"
for rule, path in [("apt-lists", "/var/lib/apt/lists"), ("shell-history", "/root/.ash_history"),
                   ("build-logs", "/var/log/build.log"), ("suid-binaries", "/usr/local/bin/helper")]:
    f = by[(rule, path)]
    assert f["severity"] == "warning" and f["waived"] is False, f
used = {w["rule"] + ":" + ",".join(w["paths"]): w["used"] for w in h["waivers"]}
assert used["untrimmed-free-space:"] is False and used["world-writable:/srv/drop"] is True, used
assert h["allowed_private_keys"] == ["/etc/app/tls.key"], h
PY

# 3. A root password the recipe sets itself is the recipe's choice.
cat > "$T/rootpw.yaml" <<'YAML'
apkg: 1
name: rootpw
version: "1.0"
base: {distro: busybox}
kernel: {package: linux-image-amd64}
users:
  - name: root
    password: "$6$saltsalt$8zQe3D2bdQsFHtLq5i3.mB1S6H0x2vxQmAb7ZnQ9dJc0"
YAML
./bin/apkg build "$T/rootpw.yaml" -o "$T/out2" --no-test > "$T/rootpw.log" 2>&1 || { cat "$T/rootpw.log"; fail "root password build"; }
grep -q "hygiene: 0 errors, 0 warnings, 0 waived" "$T/rootpw.log" || fail "root password set by the recipe was flagged"
echo ok
