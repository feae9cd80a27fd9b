#!/bin/bash
# tests/integration/build_interrupt.sh: Ctrl-C (SIGINT) or SIGTERM in the middle of `apkg build`
# leaves no output directory, no scratch directory and no host tool still running (apkg stops
# its tools' process groups, mmdebstrap included, before removing its scratch).
set -u
cd "$(dirname "$0")/../.."
T=$(mktemp -d /tmp/apkg-it-int.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# interrupt SIGNAL STAGE-PATTERN RECIPE [SECONDS-AFTER]
interrupt() {
	local sig=$1 pattern=$2 recipe=$3 after=${4:-0}
	rm -rf "$T/out" "$T/err"
	./bin/apkg build "$recipe" -o "$T/out" --no-test 2> "$T/err" &
	local pid=$!
	for _ in $(seq 1 1200); do
		grep -q "$pattern" "$T/err" 2>/dev/null && break
		kill -0 $pid 2>/dev/null || break
		sleep 0.1
	done
	grep -q "$pattern" "$T/err" || { cat "$T/err"; fail "$sig: never reached '$pattern'"; }
	sleep "$after"
	kill -"$sig" $pid
	wait $pid
	local rc=$?
	[ $rc -ne 0 ] || fail "$sig: build exited 0"
	[ ! -e "$T/out" ] || fail "$sig: output directory left behind"
	ls -a "$T" | grep -q '^\.apkg-build' && fail "$sig: scratch left behind: $(ls -a "$T")"
	sleep 0.5
	pgrep -f "$T/\.apkg-build" > /dev/null && { pgrep -af "$T/\.apkg-build"; fail "$sig: a host tool still runs"; }
	echo "$sig at '$pattern': exit $rc, nothing left"
}

interrupt INT "==> initramfs" recipes/hello.yaml
interrupt TERM "==> disk" recipes/hello.yaml
# mmdebstrap runs in its own namespace and process group: it must be stopped too.
interrupt INT "==> root filesystem: debian" recipes/debian-web.yaml 5
echo ok
