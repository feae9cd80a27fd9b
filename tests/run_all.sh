#!/bin/bash
# tests/run_all.sh: runs every test `make check` knows about and prints one
# closing line, "N passed, N failed", counting each test program or script.
#   unit tests:     build/tests/test_*        (plain) and build/asan/tests/test_* (ASan+UBSan)
#   fuzz replays:   build/asan/fuzz/replay_X  over tests/fuzz/corpus/X/
#   integration:    tests/integration/*.sh    (each exits 0 pass, 77 skip, else fail)
# A skip is printed with its reason and is never counted as passed.
set -u
cd "$(dirname "$0")/.."
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
only_integration=0
[ "${1:-}" = "--integration-only" ] && only_integration=1
[ -n "${APKG_TEST_FILTER:-}" ] && echo "filter: $APKG_TEST_FILTER"

passed=0 failed=0 skipped=0
failed_names=()
logdir=build/test-logs
mkdir -p "$logdir"

run_one() { # name, command...
	local name=$1; shift
	if [ -n "${APKG_TEST_FILTER:-}" ] && [[ "$name" != *"$APKG_TEST_FILTER"* ]]; then return; fi
	local log="$logdir/$(echo "$name" | tr '/ ' '__').log"
	local t0=$(date +%s.%N)
	"$@" >"$log" 2>&1
	local rc=$?
	local dt=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
	if [ $rc -eq 0 ]; then
		passed=$((passed + 1)); echo "PASS $name (${dt}s)"
	elif [ $rc -eq 77 ]; then
		skipped=$((skipped + 1)); echo "SKIP $name: $(grep -m1 '^SKIP:' "$log" | cut -c7-)"
	else
		failed=$((failed + 1)); failed_names+=("$name"); echo "FAIL $name (exit $rc, ${dt}s; log: $log)"
		tail -n 30 "$log" | sed 's/^/    /'
	fi
}

if [ $only_integration -eq 0 ]; then
	for t in build/tests/test_*; do [ -x "$t" ] && run_one "unit/$(basename "$t")" "$t"; done
	for t in build/asan/tests/test_*; do [ -x "$t" ] && run_one "asan/$(basename "$t")" "$t"; done
	for r in build/asan/fuzz/replay_*; do
		[ -x "$r" ] || continue
		n=${r##*/replay_}
		run_one "fuzz-replay/$n" "$r" "tests/fuzz/corpus/$n"
	done
fi
for s in tests/integration/*.sh; do
	[ -x "$s" ] && run_one "integration/$(basename "$s" .sh)" "$s"
done

echo
[ ${#failed_names[@]} -gt 0 ] && echo "failed: ${failed_names[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
