#!/bin/bash
# bench/run.sh: `make bench`: runs every bench/*.sh (except this one) in name
# order and prints each one's report. A bench exits 0 when it measured,
# 77 when it had to skip (printing "SKIP: reason"), anything else on failure.
set -u
cd "$(dirname "$0")/.."
status=0
for b in bench/*.sh; do
	[ "$b" = bench/run.sh ] && continue
	[ -x "$b" ] || continue
	[ -n "${APKG_BENCH_FILTER:-}" ] && [[ "$b" != *"$APKG_BENCH_FILTER"* ]] && continue
	echo "==> $b"
	"$b"
	rc=$?
	if [ $rc -eq 77 ]; then
		echo "(skipped)"
	elif [ $rc -ne 0 ]; then
		echo "FAILED: $b (exit $rc)"
		status=1
	fi
done
exit $status
