#!/bin/bash
# tests/integration/publish_crash.sh: `apkg publish` killed with SIGKILL at
# every phase of the protocol (APKG_PUBLISH_PAUSE_AT holds it there), and in
# the middle of an rsync upload slowed down with --bwlimit, for a local
# directory and for an rsync daemon. After each kill the mirror must be
# consistent (index.json valid, every version it lists complete by
# sha256sum -c, LATEST naming a listed version, the old version intact);
# rerunning the same publish must complete it, leaving no staging behind.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/integration/lib/publish_fixture.sh
need_tools rsync python3 qemu-img sha256sum
T=$(mktemp -d /tmp/apkg-it-crash.XXXXXX)
RSYNCD_PID=
trap '[ -n "$RSYNCD_PID" ] && kill "$RSYNCD_PID" 2>/dev/null && wait "$RSYNCD_PID" 2>/dev/null; rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

make_outdir "$T/out-1.0.0" hello 1.0.0 || fail "fixture"
make_outdir "$T/out-1.1.0" hello 1.1.0 || fail "fixture"
start_rsyncd "$T/rsyncd" || fail "rsync daemon"
./bin/apkg publish "$T/out-1.0.0" --mirror "$T/template" >/dev/null 2>&1 || fail "publish 1.0.0"

# after_kill ROOT: the mirror is consistent and 1.0.0 is untouched
after_kill() {
	check_mirror "$1" || fail "$1 is inconsistent after the kill"
	(cd "$1/hello/1.0.0" && sha256sum -c --quiet SHA256SUMS) || fail "$1: 1.0.0 damaged"
	grep -q '"version": "1.0.0"' "$1/index.json" || fail "$1: 1.0.0 left the index"
	case $(cat "$1/hello/LATEST") in 1.0.0 | 1.1.0) ;; *) fail "$1: LATEST names $(cat "$1/hello/LATEST")" ;; esac
}

# rerun DEST ROOT: the same publish, run again, completes
rerun() {
	./bin/apkg publish "$T/out-1.1.0" --mirror "$1" >"$T/rerun.log" 2>&1 || { cat "$T/rerun.log"; fail "rerun to $1"; }
	check_mirror "$2" || fail "$2 is inconsistent after the rerun"
	[ "$(cat "$2/hello/LATEST")" = 1.1.0 ] || fail "$2: LATEST is not 1.1.0 after the rerun"
	python3 -c 'import json,sys; v=[x["version"] for x in json.load(open(sys.argv[1]))["appliances"][0]["versions"]]; assert v==["1.1.0","1.0.0"], v' \
		"$2/index.json" || fail "$2: the index does not list both versions"
	ls -a "$2/hello" | grep -q '^\.tmp-' && fail "$2: staging left behind"
	[ -z "$(ls "$2/.apkg-lock" 2>/dev/null)" ] || [ -f "$2/.apkg-lock" ] || fail "$2: a lock token left behind"
	return 0
}

# kill_at PHASE DEST ROOT
kill_at() {
	local phase=$1 dest=$2 root=$3
	rm -rf "$root" && cp -a "$T/template" "$root"
	APKG_PUBLISH_PAUSE_AT=$phase ./bin/apkg publish "$T/out-1.1.0" --mirror "$dest" >"$T/kill.log" 2>&1 &
	local pid=$!
	wait_for grep -q "paused at $phase" "$T/kill.log" || { cat "$T/kill.log"; fail "never reached $phase ($dest)"; }
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	after_kill "$root"
	rerun "$dest" "$root"
	echo "killed at $phase ($dest): consistent, rerun completed"
}

for phase in locked upload staged verified renamed indexed html latest; do
	kill_at "$phase" "$T/local-$phase" "$T/local-$phase"
done
for phase in locked staged verified renamed indexed latest; do
	kill_at "$phase" "$RSYNC_DEST/rs-$phase" "$T/rsyncd/module/rs-$phase"
done
grep -q "removing a stale mirror lock" "$T/rerun.log" || fail "the rsync rerun did not clear the dead publisher's lock"

# in the middle of an rsync transfer (about 5 s at 50 KB/s)
root=$T/rsyncd/module/rs-mid
rm -rf "$root" && cp -a "$T/template" "$root"
./bin/apkg publish "$T/out-1.1.0" --mirror "$RSYNC_DEST/rs-mid" --rsync-opt=--bwlimit=50 >"$T/kill.log" 2>&1 &
pid=$!
wait_for test -d "$root/hello/.tmp-1.1.0" || fail "the upload never started"
kill -KILL "$pid"
wait "$pid" 2>/dev/null
wait_for sh -c "! pgrep -f -- 'bwlimi[t]=50' >/dev/null" || fail "apkg's rsync outlived it"
after_kill "$root"
[ -d "$root/hello/1.1.0" ] && fail "1.1.0 appeared although its upload was killed"
rerun "$RSYNC_DEST/rs-mid" "$root"
echo "killed mid-transfer (rsync): consistent, rerun completed"
# the read-back catches an upload that arrived damaged: one byte of the
# staged copy is flipped while apkg is held between upload and read-back
for kind in local rsync; do
	if [ $kind = local ]; then dest=$T/bad-local root=$T/bad-local; else dest=$RSYNC_DEST/bad root=$T/rsyncd/module/bad; fi
	rm -rf "$root" && cp -a "$T/template" "$root"
	APKG_PUBLISH_PAUSE_AT=staged ./bin/apkg publish "$T/out-1.1.0" --mirror "$dest" >"$T/bad.log" 2>&1 &
	pid=$!
	wait_for grep -q "paused at staged" "$T/bad.log" || fail "$kind: never reached staged"
	printf '\x5a' | dd of="$root/hello/.tmp-1.1.0/hello-1.1.0.raw" bs=1 seek=1048600 conv=notrunc status=none
	kill -USR1 "$pid"
	wait "$pid"
	rc=$?
	[ $rc -eq 1 ] || { cat "$T/bad.log"; fail "$kind: a damaged upload was published (exit $rc)"; }
	grep -q "hello-1.1.0.raw on the mirror has sha256 .* the upload is corrupt" "$T/bad.log" ||
		{ cat "$T/bad.log"; fail "$kind: the damaged file is not named"; }
	[ -e "$root/hello/1.1.0" ] && fail "$kind: the damaged version appeared"
	[ "$(cat "$root/hello/LATEST")" = 1.0.0 ] || fail "$kind: LATEST moved"
	after_kill "$root"
	echo "damaged upload ($kind): refused by the read-back, mirror unchanged"
done
echo "publish_crash: ok"
