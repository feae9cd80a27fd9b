#!/bin/bash
# bench/qcow2.sh: apkg convert vs qemu-img convert, raw -> qcow2, side by side.
#
# Input: the Debian root image of bench/lib/common.sh (2 GiB, ~400 MB of
# data, cached as build/bench/debian-2g.raw). The page cache is warmed, then each
# mode (plain, zlib, zstd) runs RUNS times per tool, alternating the tools
# so that machine noise hits both alike; `sync` runs (untimed) before each
# run so one run's writeback does not land in the next one's time.
# Reports median wall times, the ratio qemu-img/apkg and both output sizes
# (markdown, also saved to build/bench/qcow2.md).
#
#   RUNS=5 bench/qcow2.sh            APKG_BENCH_INPUT=img.raw to use another input
#   BENCH_NICE=-10 bench/qcow2.sh    run both tools at that nice level (root), so that
#                                    other jobs on a shared machine disturb them less
#   BENCH_OUT=/dev/shm/b bench/qcow2.sh  write the outputs there (tmpfs: no disk, journal or
#                                    writeback throttling from other jobs in the numbers)
set -u
cd "$(dirname "$0")/.."
. bench/lib/common.sh
convert_bench_init

out=${BENCH_OUT:-$dir/out}
mkdir -p "$out"
rm -f "$out"/*.qcow2

report=$dir/qcow2.md
{
	input_line
	echo "$(qemu-img --version | head -n 1); $(bin/apkg --version); load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)${BENCH_NICE:+; both tools at nice $BENCH_NICE}; outputs in $out ($(stat -f -c %T "$out"))."

	echo
	echo "| mode | qemu-img wall s, median (min) | apkg wall s, median (min) | speed-up, medians (mins) | CPU s, qemu-img / apkg | qemu-img size | apkg size | size |"
	echo "|---|---|---|---|---|---|---|---|"
} >"$report"

bench_mode() { # name, qemu-img options, apkg options
	local name=$1 qopts=$2 aopts=$3 q=$out/qemu.qcow2 a=$out/apkg.qcow2
	local qcmd acmd
	# shellcheck disable=SC2206
	qcmd=(qemu-img convert $qopts -O qcow2 "$input" "$q") acmd=("$apkg" convert $aopts "$input" "$a")
	time_pair "$name" "$q" "$a"
	qemu-img compare -q "$input" "$a" || { echo "apkg output differs from the input ($name)" >&2; exit 1; }
	qemu-img check -q "$a" || { echo "qemu-img check failed on apkg output ($name)" >&2; exit 1; }
	awk -v n="$name" -v qm="$qm" -v am="$am" -v qn="$qmin" -v an="$amin" -v qc="$qcpu" -v ac="$acpu" \
		-v qs="$qs" -v as="$as" 'BEGIN {
		printf "| %s | %.3f (%.3f) | %.3f (%.3f) | **%.2fx** (%.2fx) | %.2f / %.2f | %.1f MiB | %.1f MiB | %+.1f%% |\n",
			n, qm, qn, am, an, qm / am, qn / an, qc, ac, qs / 1048576, as / 1048576, (as / qs - 1) * 100 }' >>"$report"
}

bench_mode plain "" ""
bench_mode zlib "-c" "--compress zlib"
bench_mode zstd "-c -o compression_type=zstd" "--compress zstd"
bench_mode "plain, apkg --sync" "" "--sync"
rm -rf "$out"
{
	echo
	echo "Commands: \`qemu-img convert [-c [-o compression_type=zstd]] -O qcow2 IN OUT\` vs"
	echo "\`apkg convert [--compress zlib|zstd] IN OUT\`; measured by \`make bench\` (bench/qcow2.sh)."
	echo "Neither tool fsyncs its output by default; the last row adds apkg's --sync (qemu-img unchanged)."
} >>"$report"
cat "$report"
