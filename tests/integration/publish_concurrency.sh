#!/bin/bash
# tests/integration/publish_concurrency.sh: publishers of different versions
# at the same time, to a local directory and to an rsync daemon. First a
# forced overlap: A is held inside the lock (APKG_PUBLISH_PAUSE_AT=locked)
# until B reports that it waits for the lock, then A is let go (SIGUSR1);
# then three publishers started at once. Every publish must succeed and the
# index must list every version, with LATEST the highest.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/integration/lib/publish_fixture.sh
need_tools rsync python3 qemu-img sha256sum
T=$(mktemp -d /tmp/apkg-it-conc.XXXXXX)
RSYNCD_PID=
trap '[ -n "$RSYNCD_PID" ] && kill "$RSYNCD_PID" 2>/dev/null && wait "$RSYNCD_PID" 2>/dev/null; rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

for v in 1.0.0 1.1.0 2.0.0 2.1.0 2.2.0; do
	make_outdir "$T/out-$v" hello "$v" || fail "fixture"
done
start_rsyncd "$T/rsyncd" || fail "rsync daemon"

# lists ROOT VERSIONS...: the index lists exactly these versions (newest first)
lists() {
	local root=$1; shift
	python3 - "$root/index.json" "$@" <<'PY'
import json, sys
got = [v["version"] for v in json.load(open(sys.argv[1]))["appliances"][0]["versions"]]
assert got == sys.argv[2:], (got, sys.argv[2:])
PY
}

for kind in local rsync; do
	if [ $kind = local ]; then dest=$T/local root=$T/local; else dest=$RSYNC_DEST/pub root=$T/rsyncd/module/pub; fi
	APKG_PUBLISH_PAUSE_AT=locked ./bin/apkg publish "$T/out-1.0.0" --mirror "$dest" >"$T/a.log" 2>&1 &
	a=$!
	wait_for grep -q "paused at locked" "$T/a.log" || fail "$kind: A never took the lock"
	./bin/apkg publish "$T/out-1.1.0" --mirror "$dest" >"$T/b.log" 2>&1 &
	b=$!
	wait_for grep -q "waiting for another publisher" "$T/b.log" || { cat "$T/b.log"; fail "$kind: B did not wait for A's lock"; }
	kill -USR1 "$a"
	wait "$a" || { cat "$T/a.log"; fail "$kind: A failed"; }
	wait "$b" || { cat "$T/b.log"; fail "$kind: B failed"; }
	lists "$root" 1.1.0 1.0.0 || fail "$kind: the index does not list both versions"

	pids=()
	for v in 2.0.0 2.1.0 2.2.0; do
		./bin/apkg publish "$T/out-$v" --mirror "$dest" >"$T/c-$v.log" 2>&1 &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || { cat "$T"/c-*.log; fail "$kind: a concurrent publish failed"; }; done
	lists "$root" 2.2.0 2.1.0 2.0.0 1.1.0 1.0.0 || fail "$kind: the index lost a concurrent version"
	[ "$(cat "$root/hello/LATEST")" = 2.2.0 ] || fail "$kind: LATEST is not the highest version"
	check_mirror "$root" || fail "$kind: inconsistent mirror"
	echo "$kind: concurrent publishes all landed"
done
echo "publish_concurrency: ok"
