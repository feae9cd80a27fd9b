#!/bin/bash
# bench/vmm.sh: the micro-VMM's setup cost and resident size (`make bench`).
#
# Boots the VMM test guest (build/vmm-guests/testguest.bzImage, whose first
# instruction writes the VMM's boot-timer port) RUNS times with `apkg boot
# --vmm` and reports medians and minima of:
#   - process start to first guest instruction: bash's clock ($EPOCHREALTIME)
#     just before exec, against the CLOCK_REALTIME the VMM records at the
#     boot-timer write (so fork/exec, dynamic linking and argument parsing count);
#   - vmm_run() entry to the first KVM_RUN, and to the first guest instruction;
#   - the slowest setup ioctl, KVM_SET_USER_MEMORY_REGION, timed alone;
#   - resident memory of the process without guest RAM, and the guest RAM the
#     guest touched.
# The full-boot comparison with QEMU's microvm needs hardware virtualization:
# tests/vmm/device_check.sh. Markdown goes to stdout and build/bench/vmm.md.
#   RUNS=30 bench/vmm.sh
set -u
cd "$(dirname "$0")/.."
RUNS=${RUNS:-30}
apkg=bin/apkg
guest=build/vmm-guests/testguest.bzImage
mkdir -p build/bench
skip() { echo "SKIP: $*"; exit 77; }
[ -x "$apkg" ] || skip "bin/apkg not built (run make)"
[ -f "$guest" ] || skip "$guest not built (run make guests)"
[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "no usable /dev/kvm"
[ -n "${EPOCHREALTIME:-}" ] || skip "bash 5 is needed (\$EPOCHREALTIME)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) printf "%.2f", v[int((NR + 1) / 2)]; else print "n/a" }'; }
minimum() { sort -g | head -n1 | awk '{ printf "%.2f", $1 }'; }

# measure NAME COMMAND...: RUNS boots of the test guest; results in $tmp/NAME.*
measure() {
	local name=$1 t0 stats
	shift
	for i in $(seq 1 "$RUNS"); do
		t0=${EPOCHREALTIME/,/.}
		APKG_VMM_STATS=1 "$@" --vmm --kernel "$guest" --cmdline "test=none" --mem 64M --timeout 10 \
			</dev/null >/dev/null 2>"$tmp/err" || { cat "$tmp/err"; exit 1; }
		stats=$(grep '^vmm-stats' "$tmp/err")
		val() { echo "$stats" | grep -o "$1=[0-9]*" | cut -d= -f2; }
		awk -v a="$t0" -v b="$(val boot_timer_realtime_ns)" 'BEGIN { printf "%.3f\n", (b / 1e9 - a) * 1000 }' >>"$tmp/$name.start"
		awk -v v="$(val setup_ns)" 'BEGIN { printf "%.3f\n", v / 1e6 }' >>"$tmp/$name.setup"
		awk -v v="$(val boot_timer_ns)" 'BEGIN { printf "%.3f\n", v / 1e6 }' >>"$tmp/$name.first"
		val vmm_rss_kb >>"$tmp/$name.rss"
		val guest_rss_kb >>"$tmp/$name.guest"
	done
}
measure apkg "$apkg" boot
static=build/vmm-check/apkg-vmm
[ -x "$static" ] && measure static "$static"

# The one setup step that dominates on kvm-pvm, timed alone in a tiny C program.
cat >"$tmp/memslot.c" <<'C'
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
int main(void)
{
	int kvm = open("/dev/kvm", O_RDWR), vm = ioctl(kvm, KVM_CREATE_VM, 0);
	size_t size = 64 << 20;
	void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	struct kvm_userspace_memory_region r = {.slot = 0, .memory_size = size, .userspace_addr = (uintptr_t)mem};
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	int rc = ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.3f\n", rc ? -1.0 : (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6);
	return 0;
}
C
memslot="n/a"
if cc -O2 -o "$tmp/memslot" "$tmp/memslot.c" 2>/dev/null; then
	for i in 1 2 3 4 5; do "$tmp/memslot"; done >"$tmp/slot"
	memslot=$(median <"$tmp/slot")
fi

kvm=$([ -e /sys/module/kvm_pvm ] && echo "kvm-pvm (software, no VMX/SVM)" ||
	(grep -q -w -E 'vmx|svm' /proc/cpuinfo && echo "hardware (VMX/SVM)" || echo unknown))
{
	echo "## vmm: setup cost and resident size (bench/vmm.sh)"
	echo
	echo "$(date -u +%Y-%m-%d), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), kernel $(uname -r), /dev/kvm: $kvm."
	echo "The VMM test guest (test=none: ACPI checks only), 64 MiB, $RUNS runs of \`apkg boot --vmm\`; milliseconds."
	echo
	echo "| measure | bin/apkg median | min | static apkg-vmm median | min |"
	echo "| --- | --- | --- | --- | --- |"
	row() { # label suffix
		local s=""
		[ -s "$tmp/static.$2" ] && s="$(median <"$tmp/static.$2") | $(minimum <"$tmp/static.$2")" || s="n/a | n/a"
		echo "| $1 | $(median <"$tmp/apkg.$2") | $(minimum <"$tmp/apkg.$2") | $s |"
	}
	row "process start to first guest instruction" start
	row "vmm_run() to first KVM_RUN" setup
	row "vmm_run() to first guest instruction" first
	row "resident size without guest RAM (KiB)" rss
	row "guest RAM touched (KiB)" guest
	echo
	echo "KVM_SET_USER_MEMORY_REGION alone (64 MiB, before the irqchip exists): $memslot ms (median of 5)."
	echo "bin/apkg is dynamically linked against the libraries every command uses (libarchive, libxml2, libext2fs, ...;"
	echo "libguestfs and libostree/GLib are loaded on demand, util/dlopen.h);"
	echo "build/vmm-check/apkg-vmm is the same \`apkg boot\` linked statically (make vmm-check-bundle)."
} | tee build/bench/vmm.md
