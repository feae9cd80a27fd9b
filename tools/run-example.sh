#!/bin/sh
# tools/run-example.sh: `make run`: build the example appliance and boot-check it.
# (make run has already installed the dependencies and built apkg.)
set -eu
cd "$(dirname "$0")/.."
echo "==> apkg build recipes/hello.yaml (busybox appliance; boot-checked under QEMU TCG)"
exec ./bin/apkg build recipes/hello.yaml
