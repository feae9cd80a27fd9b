# tests/integration/lib/publish_fixture.sh: sourced by the publish tests.
# make_outdir DIR NAME VERSION [VALIDATION] writes an `apkg build` output
# directory in the exact layout (artifacts, vmlinuz, initrd.img, SHA256SUMS
# without manifest.json, manifest.json with "validation", the SBOM) for a
# small appliance; the qcow2 is made from the raw image by the real qemu-img.
# VALIDATION: pass (default: both artifacts pass on a target), fail (the
# qcow2 failed on qemu-bios), skip (only skips), none (never tested),
# rawskip (the qcow2 passed, the raw image was only skipped).

make_outdir() {
	local dir=$1 name=$2 version=$3 validation=${4:-pass}
	mkdir -p "$dir"
	# content differs per version, so versions differ
	python3 - "$dir/$name-$version.raw" "$name-$version" <<'PY'
import sys, hashlib
path, seed = sys.argv[1], sys.argv[2].encode()
with open(path, "wb") as f:
    f.truncate(4 << 20)                      # sparse 4 MiB disk
    block = b"".join(hashlib.sha256(seed + i.to_bytes(2, "big")).digest() for i in range(2048))
    f.seek(1 << 20); f.write(block)          # 64 KiB of data in the middle
PY
	qemu-img convert -f raw -O qcow2 "$dir/$name-$version.raw" "$dir/$name-$version.qcow2"
	printf 'kernel for %s %s\n' "$name" "$version" >"$dir/vmlinuz"
	printf 'initrd for %s %s\n' "$name" "$version" >"$dir/initrd.img"
	make_sbom "$dir" "$name" "$version"
	(cd "$dir" && sha256sum "$name-$version.raw" "$name-$version.qcow2" vmlinuz initrd.img >SHA256SUMS)
	python3 - "$dir" "$name" "$version" "$validation" <<'PY'
import json, os, sys, hashlib
d, name, version, mode = sys.argv[1:]
def art(fmt):
    f = f"{name}-{version}.{fmt}"
    p = os.path.join(d, f)
    return {"file": f, "format": fmt, "size": os.path.getsize(p),
            "sha256": hashlib.sha256(open(p, "rb").read()).hexdigest()}
arts = [art("raw"), art("qcow2")]
raw, qcow = arts[0]["file"], arts[1]["file"]
def res(target, artifact, status, reason=None):
    return {"target": target, "artifact": artifact, "format": "", "status": status, "seconds": 1.0,
            "reason": reason, "note": None, "checks": []}
validation = {
    "pass": [res("qemu-uefi", qcow, "pass"), res("hyperv", raw, "pass"), res("vmm", "", "skip", "micro-VMM not built yet")],
    "fail": [res("qemu-uefi", qcow, "pass"), res("hyperv", raw, "pass"), res("qemu-bios", qcow, "fail", "no ready line")],
    "skip": [res("vmm", raw, "skip", "micro-VMM not built yet")],
    "rawskip": [res("qemu-uefi", qcow, "pass"), res("vmm", raw, "skip", "micro-VMM not built yet")],
}.get(mode)
m = {"apkg_manifest": 1, "name": name, "version": version, "description": f"{name} test appliance",
     "recipe": "app.yaml", "recipe_hash": hashlib.sha256(name.encode()).hexdigest(), "epoch": 1700000000,
     "base": "busybox", "tools": {}, "kernel": {"package": "linux-image-amd64", "release": "6.1.0-99-amd64",
     "cmdline": "", "initramfs_modules": [], "drivers": {}}, "disk": {}, "hardware": {},
     "targets": ["qemu-uefi", "hyperv", "vmm"], "check_deadline": 120, "checks": 0, "artifacts": arts}
if validation is not None:
    m["validation"] = validation
json.dump(m, open(os.path.join(d, "manifest.json"), "w"), indent=2)
PY
}

# The SBOM the build writes (publish/sbom.c through tests/tools/sbom_tool),
# from a busybox root that holds the host's static busybox.
make_sbom() {
	local dir=$1 name=$2 version=$3 root
	root=$(mktemp -d "${TMPDIR:-/tmp}/apkg-sbom-root.XXXXXX")
	mkdir -p "$root/bin" && cp /bin/busybox "$root/bin/busybox"
	printf 'apkg: 1\nname: %s\nversion: %s\ndescription: "%s test appliance"\nbase: {distro: busybox}\n' \
		"$name" "$version" "$name" >"$root.yaml"
	build/tools/sbom_tool "$root.yaml" "$root" "$dir/$name-$version.spdx.json" \
		--kernel-package linux-image-6.1.0-99-amd64 --kernel-release 6.1.0-99-amd64
	local rc=$?
	rm -rf "$root" "$root.yaml"
	return $rc
}

# Skips the test (exit 77) unless every tool named is there.
need_tools() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null || { echo "SKIP: $t is not installed (make deps)"; exit 77; }
	done
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for COMMAND...: retries for up to 120 s (a hang guard, not a timing assertion).
wait_for() {
	local i
	for i in $(seq 1200); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "gave up waiting for: $*" >&2
	return 1
}

# start_rsyncd DIR: an rsync daemon on 127.0.0.1 serving DIR/module as the
# writable module "mirror"; sets RSYNC_DEST and RSYNCD_PID.
start_rsyncd() {
	local dir=$1 port
	port=$(free_port)
	mkdir -p "$dir/module"
	cat >"$dir/rsyncd.conf" <<CONF
pid file = $dir/rsyncd.pid
log file = $dir/rsyncd.log
use chroot = no
munge symlinks = no
[mirror]
path = $dir/module
read only = no
uid = $(id -u)
gid = $(id -g)
CONF
	rsync --daemon --no-detach --config="$dir/rsyncd.conf" --port="$port" --address=127.0.0.1 &
	RSYNCD_PID=$!
	RSYNC_DEST=rsync://127.0.0.1:$port/mirror
	wait_for rsync "rsync://127.0.0.1:$port/"
}

# start_http DIR: python's HTTP server on 127.0.0.1 serving DIR; sets HTTP_URL and HTTP_PID.
start_http() {
	local dir=$1 port
	port=$(free_port)
	python3 -m http.server "$port" --bind 127.0.0.1 --directory "$dir" >/dev/null 2>&1 &
	HTTP_PID=$!
	HTTP_URL=http://127.0.0.1:$port
	wait_for curl -sf "$HTTP_URL/"
}

# gpg_key HOME EMAIL: a throwaway signing key without a passphrase.
gpg_key() {
	mkdir -p -m 700 "$1"
	GNUPGHOME=$1 gpg --batch --passphrase '' --quick-gen-key "apkg test <$2>" ed25519 sign never 2>/dev/null
}

# check_mirror ROOT: index.json is valid JSON, every version it lists is
# complete (sha256sum -c of its SHA256SUMS, which must cover the files the
# entry lists), and each LATEST names a listed version. The oracle of the
# crash tests; independent of apkg's own code.
check_mirror() {
	python3 - "$1" <<'PY'
import json, os, sys, hashlib, subprocess
root = sys.argv[1]
p = os.path.join(root, "index.json")
if not os.path.exists(p):
    for d in os.listdir(root):
        assert not os.path.exists(os.path.join(root, d, "LATEST")), "LATEST without index.json"
    sys.exit(0)
index = json.load(open(p))
assert index["apkg_index"] == 1
for app in index["appliances"]:
    versions = [v["version"] for v in app["versions"]]
    for v in app["versions"]:
        d = os.path.join(root, app["name"], v["version"])
        sums = open(os.path.join(d, "SHA256SUMS")).read()
        assert hashlib.sha256(sums.encode()).hexdigest() == v["sha256sums"], d
        subprocess.run(["sha256sum", "-c", "--quiet", "SHA256SUMS"], cwd=d, check=True)
        listed = {line.split("  ", 1)[1] for line in sums.splitlines()}
        for f in v["files"]:
            assert f["file"] in listed, f
    latest = open(os.path.join(root, app["name"], "LATEST")).read().strip()
    assert latest in versions, (latest, versions)
PY
}
