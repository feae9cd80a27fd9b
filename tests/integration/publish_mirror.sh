#!/bin/bash
# tests/integration/publish_mirror.sh: `apkg publish` of two versions of hello
# to a local directory and to a real rsync daemon on 127.0.0.1, signed with a
# throwaway gpg key; then the mirror is served by a real HTTP server and
# checked the way users check it: `apkg verify URL/hello/latest`, `sha256sum -c`
# and `gpg --verify`. A flipped byte and a wrong key must fail; the same
# version with other content is refused; --keep prunes; both destinations
# publish identical version directories.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/integration/lib/publish_fixture.sh
need_tools rsync gpg gpgv curl python3 qemu-img sha256sum
T=$(mktemp -d /tmp/apkg-it-publish.XXXXXX)
RSYNCD_PID= HTTP_PID=
cleanup() {
	[ -n "$HTTP_PID" ] && kill "$HTTP_PID" 2>/dev/null
	[ -n "$RSYNCD_PID" ] && kill "$RSYNCD_PID" 2>/dev/null
	GNUPGHOME=$T/gpg gpgconf --kill all 2>/dev/null
	GNUPGHOME=$T/gpg-wrong gpgconf --kill all 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
apkg() { ./bin/apkg "$@"; }

make_outdir "$T/out-1.0.0" hello 1.0.0 || fail "fixture"
make_outdir "$T/out-1.1.0" hello 1.1.0 || fail "fixture"
make_outdir "$T/out-1.2.0" hello 1.2.0 || fail "fixture"
gpg_key "$T/gpg" release@example.invalid || fail "gpg key"
gpg_key "$T/gpg-wrong" mallory@example.invalid || fail "gpg key"
GNUPGHOME=$T/gpg gpg --armor --export release@example.invalid >"$T/release.asc"
GNUPGHOME=$T/gpg gpg --export release@example.invalid >"$T/release.gpg"
GNUPGHOME=$T/gpg-wrong gpg --armor --export mallory@example.invalid >"$T/wrong.asc"
export GNUPGHOME=$T/gpg
start_rsyncd "$T/rsyncd" || fail "rsync daemon"

for dest in "$T/local" "$RSYNC_DEST/pub"; do
	for v in 1.0.0 1.1.0; do
		apkg publish "$T/out-$v" --mirror "$dest" --sign release@example.invalid >"$T/log" 2>&1 ||
			{ cat "$T/log"; fail "publish $v to $dest"; }
		grep -q "^published hello $v" "$T/log" || fail "no summary line for $v"
	done
done

for root in "$T/local" "$T/rsyncd/module/pub"; do
	[ "$(cat "$root/hello/LATEST")" = 1.1.0 ] || fail "$root: LATEST is not 1.1.0"
	[ "$(readlink "$root/hello/latest")" = 1.1.0 ] || fail "$root: latest does not point at 1.1.0"
	for v in 1.0.0 1.1.0; do
		d=$root/hello/$v
		for f in hello-$v.raw hello-$v.qcow2 vmlinuz initrd.img manifest.json hello-$v.spdx.json SHA256SUMS SHA256SUMS.asc; do
			[ -f "$d/$f" ] || fail "$d/$f is missing"
		done
		# what the README tells users to run
		(cd "$d" && sha256sum -c --quiet SHA256SUMS) || fail "sha256sum -c in $d"
		gpg --verify "$d/SHA256SUMS.asc" "$d/SHA256SUMS" 2>/dev/null || fail "gpg --verify in $d"
		cmp -s "$d/hello-$v.qcow2" "$T/out-$v/hello-$v.qcow2" || fail "$d: qcow2 differs from the build"
	done
	ls -a "$root/hello" | grep -q '^\.tmp-' && fail "$root: staging left behind"
	python3 - "$root" <<'PY' || fail "$root: index.json"
import json, sys
idx = json.load(open(sys.argv[1] + "/index.json"))
(app,) = idx["appliances"]
assert app["name"] == "hello" and app["latest"] == "1.1.0", app
assert [v["version"] for v in app["versions"]] == ["1.1.0", "1.0.0"], app["versions"]
for v in app["versions"]:
    assert v["validated"] is True and v["signed"] is True and len(v["signing_key"]) == 40, v
    assert {a["format"] for a in v["artifacts"]} == {"raw", "qcow2"}
    for a in v["artifacts"]:
        assert a["validation"] == "passed" and a["size"] > 0 and len(a["sha256"]) == 64, a
        assert any(r["status"] == "pass" for r in a["results"]), a
html = open(sys.argv[1] + "/index.html").read()
assert 'href="hello/1.0.0/hello-1.0.0.qcow2"' in html and "1.1.0</a> (latest)" in html
PY
	python3 - "$root/hello/1.1.0/hello-1.1.0.spdx.json" <<'PY' || fail "SBOM"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["spdxVersion"] == "SPDX-2.3" and d["dataLicense"] == "CC0-1.0" and d["SPDXID"] == "SPDXRef-DOCUMENT"
assert d["documentNamespace"].startswith("https://") and d["creationInfo"]["created"].endswith("Z")
names = {p["name"]: p for p in d["packages"]}
assert names["hello"]["versionInfo"] == "1.1.0"
assert "busybox-static" in names or "busybox" in names, names.keys()
assert "linux-image-6.1.0-99-amd64" in names
ids = {p["SPDXID"] for p in d["packages"]}
for r in d["relationships"]:
    assert r["spdxElementId"] in ids | {"SPDXRef-DOCUMENT"} and r["relatedSpdxElement"] in ids, r
PY
done
# rsync and local destinations publish the same bytes
for v in 1.0.0 1.1.0; do
	diff -r -x SHA256SUMS.asc "$T/local/hello/$v" "$T/rsyncd/module/pub/hello/$v" >/dev/null || fail "local and rsync differ for $v"
done

# verify over HTTP, as a user would
start_http "$T/rsyncd/module/pub" || fail "http server"
apkg verify "$HTTP_URL/hello/latest" --keyring "$T/release.asc" >"$T/log" 2>&1 || { cat "$T/log"; fail "verify latest"; }
grep -q "latest is 1.1.0" "$T/log" || fail "verify did not follow LATEST"
grep -q "signature good" "$T/log" || fail "verify did not check the signature"
apkg verify "$HTTP_URL/hello/1.0.0/" --keyring "$T/release.gpg" >"$T/log" 2>&1 || { cat "$T/log"; fail "verify 1.0.0 with a binary keyring"; }
apkg verify "$T/local/hello/latest" --keyring "$T/release.asc" >/dev/null 2>&1 || fail "verify a local path"

# a wrong key fails
apkg verify "$HTTP_URL/hello/latest" --keyring "$T/wrong.asc" >"$T/log" 2>&1
[ $? -eq 1 ] || fail "a wrong key did not fail with exit 1"
grep -q "not signed by a key in" "$T/log" || { cat "$T/log"; fail "wrong key: no clear message"; }

# one flipped byte fails and names the file
f=$T/rsyncd/module/pub/hello/1.1.0/hello-1.1.0.qcow2
cp "$f" "$T/qcow2.bak"
printf '\x5a' | dd of="$f" bs=1 seek=4096 conv=notrunc status=none
cmp -s "$f" "$T/qcow2.bak" && fail "the byte flip did not change the file"
apkg verify "$HTTP_URL/hello/latest" --keyring "$T/release.asc" >"$T/log" 2>&1
[ $? -eq 1 ] || fail "a flipped byte did not fail with exit 1"
grep -q "hello-1.1.0.qcow2: FAILED" "$T/log" && grep -q "hello-1.1.0.qcow2: sha256 mismatch" "$T/log" ||
	{ cat "$T/log"; fail "the flipped file is not named"; }
cp "$T/qcow2.bak" "$f"
# a tampered SHA256SUMS no longer matches its signature
echo "0000000000000000000000000000000000000000000000000000000000000000  extra" >>"$T/rsyncd/module/pub/hello/1.1.0/SHA256SUMS"
apkg verify "$HTTP_URL/hello/latest" --keyring "$T/release.asc" >"$T/log" 2>&1
[ $? -eq 1 ] || fail "a tampered SHA256SUMS verified"

# publishing again is a no-op; the same version with other content is refused
apkg publish "$T/out-1.0.0" --mirror "$T/local" >"$T/log" 2>&1 || fail "republishing the same content"
grep -q "already published" "$T/log" || fail "no 'already published'"
make_outdir "$T/other-1.0.0" hello 1.0.0 fail || fail "fixture"
printf 'another kernel\n' >"$T/other-1.0.0/vmlinuz"
(cd "$T/other-1.0.0" && sha256sum hello-1.0.0.raw hello-1.0.0.qcow2 vmlinuz initrd.img >SHA256SUMS)
before=$(sha256sum "$T/local/index.json")
apkg publish "$T/other-1.0.0" --mirror "$T/local" --allow-unvalidated >"$T/log" 2>&1
[ $? -eq 1 ] || fail "different content for a published version was not refused"
grep -q "already has this version with different content" "$T/log" && grep -q "vmlinuz differs" "$T/log" ||
	{ cat "$T/log"; fail "refusal does not name the file"; }
[ "$(sha256sum "$T/local/index.json")" = "$before" ] || fail "a refused publish changed the index"

# --keep 1 keeps only the newest
for dest in "$T/local" "$RSYNC_DEST/pub"; do
	apkg publish "$T/out-1.2.0" --mirror "$dest" --keep 1 --json >"$T/out.json" 2>"$T/log" || { cat "$T/log"; fail "--keep 1 to $dest"; }
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["latest"]=="1.2.0" and sorted(j["pruned"])==["1.0.0","1.1.0"], j' "$T/out.json" ||
		fail "--json summary"
done
for root in "$T/local" "$T/rsyncd/module/pub"; do
	[ -d "$root/hello/1.0.0" ] || [ -d "$root/hello/1.1.0" ] && fail "$root: pruned versions are still there"
	[ "$(cat "$root/hello/LATEST")" = 1.2.0 ] || fail "$root: LATEST after prune"
	check_mirror "$root" || fail "$root is inconsistent after prune"
done
echo "publish_mirror: ok"
