#!/bin/bash
# tests/fuzz/run_libfuzzer.sh SECONDS [NAME...]: runs every fuzz harness (or the
# named ones, e.g. virtqueue) under libFuzzer (`make fuzz`; make check runs the
# VMM's two for 30 s each through tests/integration/fuzz_vmm.sh).
#
# For each tests/fuzz/fuzz_X.c: builds build/fuzz/fuzz_X with clang
# (-fsanitize=fuzzer,address,undefined, linked against the project's sources
# rebuilt with clang, see libfuzzer.mk) and runs it for SECONDS on a copy of
# tests/fuzz/corpus/X/ (the checked-in corpus is never modified), with
# tests/fuzz/X.dict when there is one. A crash, leak or timeout leaves its
# input in build/fuzz/artifacts-X/: add it to tests/fuzz/corpus/X/ once fixed,
# so that `make check` replays it for ever. Exit 0 when no harness found anything.
set -u
cd "$(dirname "$0")/../.."
seconds=${1:-60}
case $seconds in '' | *[!0-9]*) echo "usage: $0 SECONDS [NAME...]" >&2; exit 2 ;; esac
shift $(($# > 0 ? 1 : 0))
sources=()
if [ $# -eq 0 ]; then
	sources=(tests/fuzz/fuzz_*.c)
else
	for name in "$@"; do
		[ -f "tests/fuzz/fuzz_$name.c" ] || { echo "run_libfuzzer: no harness tests/fuzz/fuzz_$name.c" >&2; exit 2; }
		sources+=("tests/fuzz/fuzz_$name.c")
	done
fi
if ! command -v clang >/dev/null; then
	echo "run_libfuzzer: clang is missing (package clang; make deps installs it)" >&2
	exit 3
fi
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
failed=()
for src in "${sources[@]}"; do
	name=${src#tests/fuzz/fuzz_}
	name=${name%.c}
	echo "== fuzz $name for ${seconds}s"
	if ! make -s -f Makefile -f tests/fuzz/libfuzzer.mk -j2 "build/fuzz/fuzz_$name"; then
		failed+=("$name (build)")
		continue
	fi
	work=build/fuzz/corpus-$name
	artifacts=build/fuzz/artifacts-$name
	rm -rf "$work"
	mkdir -p "$work" "$artifacts"
	[ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name/." "$work/"
	dict=()
	[ -f "tests/fuzz/$name.dict" ] && dict=("-dict=tests/fuzz/$name.dict")
	if ! "build/fuzz/fuzz_$name" "${dict[@]}" -max_total_time="$seconds" -max_len=8192 -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/" "$work"; then
		failed+=("$name")
		echo "fuzz $name: found a problem; the input is in $artifacts/"
	fi
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz: problems in: ${failed[*]}"
	exit 1
fi
echo "fuzz: no problems found"
