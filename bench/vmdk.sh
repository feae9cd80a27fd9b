#!/bin/bash
# bench/vmdk.sh: apkg convert vs qemu-img convert, raw -> streamOptimized VMDK.
#
# Input: the Debian root image of bench/lib/common.sh (2 GiB, ~400 MB of
# data, cached as build/bench/debian-2g.raw). The page cache is warmed,
# then each tool runs RUNS times, alternating so machine noise hits both
# alike, with an untimed sync before each run. Both outputs must read back
# identical to the input (`qemu-img compare`) and apkg's must pass
# `qemu-img check`. A second row converts to an OVA (the same VMDK plus the
# descriptor, manifest digest, tar and self-lint) against qemu-img's VMDK
# alone. Reports median wall and CPU times, the speed-up qemu-img/apkg and
# both sizes (markdown, also saved to build/bench/vmdk.md).
#
#   RUNS=5 bench/vmdk.sh             APKG_BENCH_INPUT=img.raw to use another input
set -u
cd "$(dirname "$0")/.."
. bench/lib/common.sh
convert_bench_init

out=$dir/out-vmdk
mkdir -p "$out"

report=$dir/vmdk.md
{
	input_line
	echo "$(qemu-img --version | head -n 1); $(bin/apkg --version); load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)."
	echo
	echo "| output | qemu-img wall (cpu) s | apkg wall (cpu) s | speed-up | qemu-img size | apkg size | size |"
	echo "|---|---|---|---|---|---|---|"
} >"$report"

bench_row() { # name, apkg output file, apkg options
	local name=$1 a=$2 aopts=$3 q=$out/qemu.vmdk
	local qcmd acmd
	# shellcheck disable=SC2206
	qcmd=(qemu-img convert -O vmdk -o subformat=streamOptimized "$input" "$q") acmd=("$apkg" convert $aopts "$input" "$a")
	time_pair "$name" "$q" "$a"
	qemu-img compare -q "$input" "$q" || { echo "qemu-img's VMDK differs from the input" >&2; exit 1; }
	local check=$a
	if [ "${a##*.}" = ova ]; then
		tar -C "$out" -xf "$a" || exit 1
		check=$(ls "$out"/*-disk1.vmdk)
	fi
	qemu-img compare -q "$input" "$check" || { echo "apkg output differs from the input ($name)" >&2; exit 1; }
	qemu-img check -q "$check" || { echo "qemu-img check failed on apkg output ($name)" >&2; exit 1; }
	awk -v n="$name" -v qm="$qm" -v am="$am" -v qc="$qcpu" -v ac="$acpu" -v qs="$qs" -v as="$as" 'BEGIN {
		printf "| %s | %.2f (%.2f) | %.2f (%.2f) | **%.2fx** | %.1f MiB | %.1f MiB | %+.1f%% |\n",
			n, qm, qc, am, ac, qm / am, qs / 1048576, as / 1048576, (as / qs - 1) * 100 }' >>"$report"
}

bench_row "streamOptimized VMDK" "$out/apkg.vmdk" "--format vmdk"
bench_row "OVA (apkg) vs VMDK (qemu-img)" "$out/bench.ova" "--format ova"
rm -rf "$out"
{
	echo
	echo "Commands: \`qemu-img convert -O vmdk -o subformat=streamOptimized IN OUT\` vs"
	echo "\`apkg convert --format vmdk|ova IN OUT\`; measured by \`make bench\` (bench/vmdk.sh)."
	echo "qemu-img deflates with zlib level 6 on one thread; apkg with libdeflate level 4 on every core."
} >>"$report"
cat "$report"
