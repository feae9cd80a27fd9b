#!/bin/bash
# tests/vmm/device_check.sh: the micro-VMM on a machine with hardware virtualization.
#
# One short, self-contained run (under 3 minutes) for a lent machine that has
# this repository and the bundle `make vmm-check-bundle` wrote (carry
# build/vmm-check; bin/ too so that `bin/apkg` itself is tried where its
# libraries exist; the static build/vmm-check/apkg-vmm runs anywhere). Nothing is
# installed and nothing outside the working tree and a temporary directory is
# written. It prints "VMM-CHECK ..." lines and a summary:
#   1. the machine: VMX/SVM, kvm_intel/kvm_amd/kvm_pvm, /dev/kvm;
#   2. setup cost: process start (bash's clock) to the test guest's first
#      instruction (its boot-timer port write), 20 runs, and the VMM's resident
#      size without guest RAM;
#   3. the test guest's scenarios that need real KVM: virtio-blk completions
#      and COM1 input by interrupt, malformed queues, 4 vCPUs in the MADT;
#   4. the hello appliance (recipes/hello.yaml as `apkg build` makes it: Debian
#      kernel, apkg's initramfs finding the root by PARTUUID on the virtio-mmio
#      disk that the DSDT lists, apkg-probe running the recipe's checks)
#      booted by `apkg boot --vmm` with apkg.check=1: time to APKG-RESULT, 3
#      runs, one run with 2 vCPUs, and `bin/apkg boot --vmm` and
#      `bin/apkg test --target vmm` if bin/apkg runs here;
#   5. the same kernel, initrd and disk under `qemu-system-x86_64 -M microvm
#      -enable-kvm`, 3 runs, only if QEMU is installed.
# Exit status: 0 when everything that could run passed (skips are printed as
# SKIP, never as passed), 1 on a failure, 2 when the bundle is missing.
# For a dry run of the script itself: APKG_DEVICE_CHECK_FORCE=1 goes on without
# hardware virtualization, APKG_DEVICE_CHECK_BOOT_TIMEOUT=S shortens the boots.
set -u
cd "$(dirname "$0")/../.."
B=build/vmm-check
VMM=$B/apkg-vmm
H=$B/hello
IMG=$H/hello-1.0.0.qcow2
[ -x "$VMM" ] && [ -f "$IMG" ] && [ -f "$H/vmlinuz" ] && [ -f "$B/testguest.bzImage" ] ||
	{ echo "missing $B: run 'make vmm-check-bundle' and carry build/vmm-check"; exit 2; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/apkg-device-check.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
start=$SECONDS
failures=0
say() { echo "VMM-CHECK $*"; }
pass() { say "PASS $*"; }
fail() { say "FAIL $*"; failures=$((failures + 1)); }
skip() { say "SKIP $*"; }
now() { if [ -n "${EPOCHREALTIME:-}" ]; then echo "${EPOCHREALTIME/,/.}"; else date +%s.%N; fi; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "n/a" }'; }
minimum() { sort -g | head -n1; }

# ---- 1. the machine ------------------------------------------------------------------------
say "host kernel=$(uname -r) cpus=$(nproc) cpu=\"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')\""
flag=$(grep -m1 -o -w -E 'vmx|svm' /proc/cpuinfo | head -n1)
modules=$(ls /sys/module 2>/dev/null | grep -E '^kvm(_intel|_amd|_pvm)?$' | tr '\n' ' ')
say "virtualization flag=${flag:-none} modules=[${modules% }] dev_kvm=$([ -e /dev/kvm ] && echo yes || echo no)"
if [ -n "$flag" ] && [ ! -e /dev/kvm ] && [ "$(id -u)" = 0 ]; then
	mod=$([ "$flag" = vmx ] && echo kvm_intel || echo kvm_amd)
	modprobe "$mod" 2>"$tmp/modprobe.err" && say "loaded $mod" || say "modprobe $mod failed: $(head -c 200 "$tmp/modprobe.err")"
fi
why=""
if [ -e /sys/module/kvm_pvm ]; then why="/dev/kvm is kvm-pvm (software virtualization)"
elif [ -z "$flag" ]; then why="no VMX or SVM in /proc/cpuinfo"
elif [ ! -e /sys/module/kvm_intel ] && [ ! -e /sys/module/kvm_amd ]; then why="kvm_intel/kvm_amd not loaded"
elif [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then why="/dev/kvm missing or not accessible"
fi
boot_timeout=${APKG_DEVICE_CHECK_BOOT_TIMEOUT:-30}
budget=170 # seconds for the whole script: a boot starts only if its time limit still fits
if [ -n "$why" ] && [ "${APKG_DEVICE_CHECK_FORCE:-}" = 1 ]; then
	say "no hardware virtualization ($why), going on anyway (APKG_DEVICE_CHECK_FORCE=1)"
elif [ -n "$why" ]; then
	skip "everything: no hardware virtualization ($why)"
	echo "VMM-CHECK SUMMARY skipped: $why"
	exit 0
fi
[ -z "$why" ] && say "hardware virtualization: $flag"

# Runs a command, stamping each output line with the time since launch.
# timed NAME CMD...: output in $tmp/NAME.log ("SECONDS line"), exit status in $tmp/NAME.rc
timed() {
	local name=$1 t0
	shift
	t0=$(now)
	{ "$@" 2>&1; echo "__EXIT $?"; } | while IFS= read -r line; do
		printf '%s %s\n' "$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }')" "$line"
	done >"$tmp/$name.log"
	awk '$2 == "__EXIT" { print $3 }' "$tmp/$name.log" >"$tmp/$name.rc"
}
first_time() { awk -v pat="$2" 'index($0, pat) { print $1; exit }' "$tmp/$1.log"; }
has() { grep -q -- "$2" "$tmp/$1.log"; }
tail_of() { sed 's/^[0-9.]* /    | /' "$tmp/$1.log" | tail -n "${2:-25}"; }

# ---- 2. setup cost ---------------------------------------------------------------------------
for i in $(seq 1 20); do
	t0=$(now)
	APKG_VMM_STATS=1 "$VMM" --vmm --kernel "$B/testguest.bzImage" --cmdline "test=none" --mem 64M --timeout 10 \
		</dev/null >/dev/null 2>"$tmp/stats.err"
	rt=$(grep -o 'boot_timer_realtime_ns=[0-9]*' "$tmp/stats.err" | cut -d= -f2)
	[ -n "$rt" ] && [ "$rt" != 0 ] && awk -v a="$t0" -v b="$rt" 'BEGIN { printf "%.3f\n", (b / 1e9 - a) * 1000 }' >>"$tmp/start_to_first.txt"
	grep -o 'boot_timer_ns=[0-9]*' "$tmp/stats.err" | awk -F= '{ printf "%.3f\n", $2 / 1e6 }' >>"$tmp/run_to_first.txt"
	grep -o 'vmm_rss_kb=[0-9]*' "$tmp/stats.err" | cut -d= -f2 >>"$tmp/rss.txt"
done
if [ -s "$tmp/start_to_first.txt" ]; then
	pass "setup process_start_to_first_guest_instruction_ms median=$(median <"$tmp/start_to_first.txt") min=$(minimum <"$tmp/start_to_first.txt") vmm_run_to_first_instruction_ms median=$(median <"$tmp/run_to_first.txt") vmm_rss_kb median=$(median <"$tmp/rss.txt") runs=$(wc -l <"$tmp/start_to_first.txt")"
else
	fail "setup: the test guest never reached its first instruction: $(tail -n 5 "$tmp/stats.err")"
fi

# ---- 3. test guest scenarios that need real KVM ----------------------------------------------
head -c 4M /dev/urandom >"$tmp/disk.raw"
timed irq "$VMM" --vmm --kernel "$B/testguest.bzImage" --cmdline "test=virtio irq=1 read=0:8,100:16 malformed=1" \
	--disk "$tmp/disk.raw" --mem 64M --timeout 20 </dev/null
if has irq "RESULT ok" && has irq "BLK interrupts=" && ! has irq "ok=0" && [ "$(cat "$tmp/irq.rc")" = 0 ]; then
	pass "guest virtio-blk by interrupt: $(grep -o 'interrupts=[0-9]*' "$tmp/irq.log"), $(grep -c 'CASE .* ok=1' "$tmp/irq.log") malformed cases refused"
else
	fail "guest virtio-blk by interrupt (exit $(cat "$tmp/irq.rc")):"; tail_of irq
fi
printf 'typed by interrupt\n' >"$tmp/input.txt"
timed uart "$VMM" --vmm --kernel "$B/testguest.bzImage" --cmdline "test=uart-irq" --mem 64M --timeout 20 <"$tmp/input.txt"
if has uart "UART irq line=typed by interrupt"; then
	pass "guest COM1 input by interrupt"
else
	fail "guest COM1 input by interrupt:"; tail_of uart
fi
timed smp "$VMM" --vmm --kernel "$B/testguest.bzImage" --cmdline "test=none" --cpus 4 --mem 64M --timeout 20 </dev/null
if has smp "lapics=4" && has smp "RESULT ok"; then pass "guest sees 4 local APICs"; else fail "4 vCPUs:"; tail_of smp; fi

# ---- 4. the appliance on the VMM -------------------------------------------------------------
cmdline_extra="apkg.check=1"
fits() { [ $((SECONDS - start + boot_timeout + 5)) -le $budget ]; }
appliance_run() { # NAME CPUS
	fits || { echo "__EXIT out-of-time" >"$tmp/$1.log"; echo out-of-time >"$tmp/$1.rc"; return; }
	timed "$1" env APKG_VMM_STATS=1 "$VMM" --vmm "$IMG" --append "$cmdline_extra" --cpus "$2" \
		--mem 512M --timeout "$boot_timeout" </dev/null
}
judge_appliance() { # NAME LABEL
	local r t
	r=$(grep -o 'APKG-RESULT {[^}]*}' "$tmp/$1.log" | head -n1)
	t=$(first_time "$1" "APKG-RESULT")
	if [ -n "$r" ] && echo "$r" | grep -q '"failed":0' && [ "$(cat "$tmp/$1.rc")" = 0 ]; then
		pass "$2 result=$r time_to_result_s=$t exit=$(cat "$tmp/$1.rc") $(grep -o 'vmm_rss_kb=[0-9]*' "$tmp/$1.log")"
		echo "$t" >>"$tmp/$3.times"
	elif [ "$(cat "$tmp/$1.rc")" = out-of-time ]; then
		skip "$2: out of time (the whole check stays under $budget s)"
	else
		fail "$2 result=${r:-none} exit=$(cat "$tmp/$1.rc"):"
		tail_of "$1" 40
	fi
}
for i in 1 2 3; do
	appliance_run "vmm$i" 1
	judge_appliance "vmm$i" "appliance on apkg-vmm (run $i)" vmm
done
appliance_run vmm_smp 2
judge_appliance vmm_smp "appliance on apkg-vmm with 2 vCPUs" smp

if bin/apkg version >/dev/null 2>&1; then
	if fits; then
		timed apkg bin/apkg boot --vmm "$IMG" --append "$cmdline_extra" --timeout "$boot_timeout" </dev/null
	else
		echo "__EXIT out-of-time" >"$tmp/apkg.log"
		echo out-of-time >"$tmp/apkg.rc"
	fi
	judge_appliance apkg "appliance on bin/apkg boot --vmm" apkg
	if fits; then timed test bin/apkg test "$H" --target vmm --deadline "$boot_timeout"; else echo out-of-time >"$tmp/test.rc"; : >"$tmp/test.log"; fi
	if [ "$(cat "$tmp/test.rc")" = out-of-time ]; then
		skip "apkg test --target vmm: out of time"
	elif has test "PASS.*@ vmm" && [ "$(cat "$tmp/test.rc")" = 0 ]; then
		pass "apkg test --target vmm: $(grep -o 'PASS.*' "$tmp/test.log" | head -n1)"
	else
		fail "apkg test --target vmm:"; tail_of test
	fi
else
	skip "bin/apkg does not run here ($(bin/apkg version 2>&1 | head -n1)): the static apkg-vmm stands in for it"
fi

# ---- 5. QEMU microvm, same kernel, initrd and disk -------------------------------------------
kernel_cmdline=$(sed -n 's/^ *"cmdline": "\(.*\)",*$/\1/p' "$H/manifest.json" | head -n1)
if [ -n "$why" ]; then
	skip "qemu microvm side by side: never -enable-kvm without hardware virtualization"
elif command -v qemu-system-x86_64 >/dev/null; then
	for i in 1 2 3; do
		fits || { skip "qemu microvm run $i: out of time"; continue; }
		timed "qemu$i" timeout "$boot_timeout" qemu-system-x86_64 -M microvm -enable-kvm -cpu host -m 512 -smp 1 -nodefaults \
			-no-user-config -nographic -serial stdio -no-reboot -kernel "$H/vmlinuz" -initrd "$H/initrd.img" \
			-append "$kernel_cmdline $cmdline_extra" \
			-drive "id=d,file=$IMG,format=qcow2,if=none,snapshot=on" -device virtio-blk-device,drive=d \
			</dev/null
		judge_appliance "qemu$i" "appliance on qemu -M microvm -enable-kvm (run $i)" qemu
	done
else
	skip "qemu microvm side by side: qemu-system-x86_64 is not installed"
fi

# ---- summary ---------------------------------------------------------------------------------
vmm_med=$( [ -s "$tmp/vmm.times" ] && median <"$tmp/vmm.times" || echo n/a)
qemu_med=$( [ -s "$tmp/qemu.times" ] && median <"$tmp/qemu.times" || echo n/a)
say "SUMMARY failures=$failures time_to_APKG-RESULT_s apkg-vmm_median=$vmm_med qemu-microvm_median=$qemu_med setup_ms_median=$( [ -s "$tmp/start_to_first.txt" ] && median <"$tmp/start_to_first.txt" || echo n/a) vmm_rss_kb_median=$( [ -s "$tmp/rss.txt" ] && median <"$tmp/rss.txt" || echo n/a) wall_s=$((SECONDS - start))"
[ "$failures" = 0 ]
