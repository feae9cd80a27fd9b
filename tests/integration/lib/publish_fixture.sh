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
