#!/bin/sh
# tools/deps.sh: installs every Debian package apkg needs, idempotently and
# non-interactively. This is the one place that knows the package list
# (`make deps` runs it; .ci/run runs `make deps`).
set -eu

PACKAGES="
build-essential pkg-config clang libclang-rt-14-dev
libyaml-dev libarchive-dev zlib1g-dev libzstd-dev libdeflate-dev libostree-dev libguestfs-dev libext2fs-dev libguestfs-tools
e2fsprogs dosfstools mtools fdisk syslinux syslinux-common systemd-boot-efi ovmf
qemu-system-x86 qemu-utils mmdebstrap busybox-static cpio xz-utils kmod
libxml2-dev libxml2-utils acpica-tools rsync gnupg curl ca-certificates time python3
ostree mkosi
"
# ostree: the oracle the stage-cache and OSTree tests check repositories with;
# mkosi: bench/cache.sh measures it side by side with apkg.
# The kernel the example recipes use is not installed on the host: apkg
# downloads it with `apt-get download` into its cache on first use.

# libguestfs (apkg inspect) builds its appliance with supermin from the host's
# kernel; on a host without one apkg lends it the Debian kernel it caches, but
# supermin 5.2 (bookworm) still insists that /lib/modules exists on the host.
if [ ! -d /lib/modules ] && [ "$(id -u)" = 0 ]; then
	mkdir -p /lib/modules
fi

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "deps: all packages present"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing:$missing (run as root: make deps)" >&2
	exit 3
fi
echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
