#!/bin/bash
# tests/vmm/make_check_bundle.sh: what tests/vmm/device_check.sh needs on a machine with
# hardware virtualization (`make vmm-check-bundle` builds the binaries, then runs this).
#
# Fills build/vmm-check/ (about 27 MB; carry this one directory):
#   apkg-vmm           `apkg boot` as a static binary (made by make): runs without
#                      apkg's library dependencies
#   testguest.bzImage  the VMM's test guest (its interrupt scenarios need real KVM)
#   hello/             `apkg build recipes/hello.yaml --format qcow2 --no-test`: the
#                      appliance, its vmlinuz and initrd.img (for QEMU's microvm side
#                      by side) and manifest.json (for `apkg test --target vmm`)
set -eu
cd "$(dirname "$0")/../.."
out=build/vmm-check
mkdir -p "$out"
cp build/vmm-guests/testguest.bzImage "$out/"
rm -rf "$out/hello"
bin/apkg build recipes/hello.yaml -o "$out/hello" --format qcow2 --no-test
echo "vmm check bundle: $(du -sh "$out" | cut -f1) in $out"
ls -la "$out" "$out/hello"
