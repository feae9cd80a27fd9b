#!/bin/bash
# tests/integration/fuzz_vmm.sh: the VMM's virtqueue and virtio-blk harnesses
# fuzzed with libFuzzer (ASan+UBSan) for a bounded time each in `make check`
# (APKG_CHECK_FUZZ_SECONDS, default 30), starting from their checked-in
# corpora; `make fuzz` runs every harness for longer. Anything found fails the
# test and leaves its input in build/fuzz/artifacts-NAME/.
set -u
cd "$(dirname "$0")/../.."
command -v clang >/dev/null || { echo "SKIP: clang is missing (package clang; make deps installs it)"; exit 77; }
exec tests/fuzz/run_libfuzzer.sh "${APKG_CHECK_FUZZ_SECONDS:-30}" virtqueue virtio_blk
