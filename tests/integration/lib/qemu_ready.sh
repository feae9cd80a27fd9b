# tests/integration/lib/qemu_ready.sh: sourced by the tests that boot a built
# appliance's disk under QEMU TCG until its ready line (build_busybox.sh,
# formats_boot.sh).
#   qemu_boot_ready READY SECONDS MEMORY NAME QEMU_ARGS...
# boots with MEMORY MiB, serial console in $T/NAME.log, until the console
# shows READY (e.g. "APKG-READY hello") or SECONDS pass; then stops QEMU.
# Prints the time to the ready line; without one, shows the console's tail
# and calls the test's fail(). Safe under set -e.

qemu_boot_ready() {
	local ready=$1 seconds=$2 memory=$3 name=$4
	shift 4
	local log=$T/$name.log t0=$(date +%s.%N)
	timeout "$seconds" qemu-system-x86_64 -accel tcg -m "$memory" -nodefaults -nographic -no-reboot \
		-serial file:"$log" "$@" </dev/null >/dev/null 2>&1 &
	local pid=$!
	# Poll until 5 s before the QEMU timeout, so a late ready line is still seen.
	for _ in $(seq 1 $((seconds * 10 - 50))); do
		grep -aq "$ready" "$log" 2>/dev/null && break
		kill -0 $pid 2>/dev/null || break
		sleep 0.1
	done
	local dt=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
	kill $pid 2>/dev/null || true
	wait $pid 2>/dev/null || true
	grep -aq "$ready" "$log" || { tail -n 40 "$log"; fail "$name: no ready line"; return; }
	echo "boot $name: ready after ${dt}s"
}
