#!/bin/bash
# tests/integration/build_interrupt.sh: Ctrl-C (SIGINT) or SIGTERM in the middle of `apkg build`
# leaves no output directory, no scratch directory and no host tool still running: apkg stops
# its tools' process groups (util/io.c stop_children: mmdebstrap, a recipe's `run` command, ...)
# before removing its scratch. Each interrupt lands while a child of apkg is known to be running,
# and the test looks for that very child afterwards, so it fails when the children are not stopped.
set -u
cd "$(dirname "$0")/../.."
T=$(mktemp -d /tmp/apkg-it-int.XXXXXX)
# Leftovers of a failed run: processes this test started and apkg did not stop.
TOKEN="apkg-int-hold-$$-$RANDOM"
reap() { pkill -KILL -f "$TOKEN" 2>/dev/null; pkill -KILL -f "$T/" 2>/dev/null; rm -rf "$T"; }
trap reap EXIT
fail() { echo "FAIL: $*"; exit 1; }

# gone PATTERN: true once no process's command line matches PATTERN (apkg has
# already waited for its children when it exits; allow the kernel a moment to
# tear a PID namespace down).
gone() {
	for _ in $(seq 1 30); do
		pgrep -f "$1" > /dev/null || return 0
		sleep 0.1
	done
	return 1
}

# interrupt SIGNAL READY RECIPE CHILD: build RECIPE, wait until READY (a
# command) succeeds, send SIGNAL, then check that nothing is left, and that no
# process matches CHILD (a pgrep -f pattern; the scratch path by default).
interrupt() {
	local sig=$1 ready=$2 recipe=$3 child=${4:-$T/.apkg-build}
	rm -rf "$T/out" "$T/err"
	./bin/apkg build "$recipe" -o "$T/out" --no-test --no-cache 2> "$T/err" &
	local pid=$!
	for _ in $(seq 1 1200); do
		eval "$ready" && break
		kill -0 $pid 2>/dev/null || break
		sleep 0.1
	done
	eval "$ready" || { cat "$T/err"; fail "$sig: never got ready ($ready)"; }
	kill -"$sig" $pid
	wait $pid
	local rc=$?
	[ $rc -ne 0 ] || fail "$sig: build exited 0"
	[ ! -e "$T/out" ] || fail "$sig: output directory left behind"
	ls -a "$T" | grep -q '^\.apkg-build' && fail "$sig: scratch left behind: $(ls -a "$T")"
	gone "$child" || { pgrep -af "$child"; fail "$sig: a child of apkg still runs after apkg exited"; }
	gone "$T/\.apkg-build" || { pgrep -af "$T/\.apkg-build"; fail "$sig: a host tool still runs"; }
	gone "$recipe" || { pgrep -af "$recipe"; fail "$sig: a forked apkg still runs"; }
	echo "$sig with ($ready): exit $rc, nothing left"
}

stage() { grep -q "$1" "$T/err" 2>/dev/null; }

interrupt INT 'stage "==> initramfs"' recipes/hello.yaml
interrupt TERM 'stage "==> disk"' recipes/hello.yaml

# A recipe `run` command that would never end by itself: it runs in a PID
# namespace of its own, as PID 1 there, which ignores SIGINT and SIGTERM.
# apkg must still stop it (and, with it, the namespace) before it exits.
sed "s/^hostname: hello\$/hostname: hello\nrun:\n  - \"while :; do sleep 1; done # $TOKEN\"/" recipes/hello.yaml > "$T/hold.yaml"
grep -q "$TOKEN" "$T/hold.yaml" || fail "could not add the run step"
interrupt INT 'pgrep -f "$TOKEN" > /dev/null' "$T/hold.yaml" "$TOKEN"
interrupt TERM 'pgrep -f "$TOKEN" > /dev/null' "$T/hold.yaml" "$TOKEN"

# mmdebstrap runs in its own namespace and process group: it must be stopped too. (This case
# alone would not catch a broken stop_children: mmdebstrap also dies, a moment later, of its
# output pipe closing and its scratch vanishing. The `run` cases above are the ones that do.)
if command -v mmdebstrap > /dev/null; then
	interrupt INT 'stage "==> root filesystem: debian" && pgrep -f "mmdebstrap.*$T/" > /dev/null' \
		recipes/debian-web.yaml "mmdebstrap.*$T/"
fi
echo ok
