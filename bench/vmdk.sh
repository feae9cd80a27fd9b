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
RUNS=${RUNS:-5}
dir=build/bench
input=${APKG_BENCH_INPUT:-$dir/debian-2g.raw}
apkg=bin/apkg
mkdir -p "$dir"

. bench/lib/common.sh
command -v qemu-img >/dev/null || skip "qemu-img not installed (qemu-utils)"
[ -x /usr/bin/time ] || skip "/usr/bin/time not installed (package time)"
[ -x "$apkg" ] || skip "bin/apkg not built (run make)"
[ -f "$input" ] || build_input

out=$dir/out-vmdk
mkdir -p "$out"
cat "$input" >/dev/null # warm the page cache for both tools

report=$dir/vmdk.md
{
	echo "Input: $input, $(du -m --apparent-size "$input" | cut -f1) MiB virtual, $(du -m "$input" | cut -f1) MiB allocated; $(nproc) CPUs; medians of $RUNS runs."
	echo "$(qemu-img --version | head -n 1); $(bin/apkg --version); load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)."
	echo
	echo "| output | qemu-img wall (cpu) s | apkg wall (cpu) s | speed-up | qemu-img size | apkg size | size |"
	echo "|---|---|---|---|---|---|---|"
} >"$report"

bench_row() { # name, apkg output file, apkg options
	local name=$1 a=$2 aopts=$3 q=$out/qemu.vmdk
	local qt=() qc=() at=() ac=() t
	for _ in $(seq "$RUNS"); do
		t=$(time_run "$q" qemu-img convert -O vmdk -o subformat=streamOptimized "$input" "$q")
		qt+=("${t% *}") qc+=("${t#* }")
		# shellcheck disable=SC2086
		t=$(time_run "$a" "$apkg" convert $aopts "$input" "$a")
		at+=("${t% *}") ac+=("${t#* }")
	done
	qemu-img compare -q "$input" "$q" || { echo "qemu-img's VMDK differs from the input" >&2; exit 1; }
	local check=$a
	if [ "${a##*.}" = ova ]; then
		tar -C "$out" -xf "$a" || exit 1
		check=$(ls "$out"/*-disk1.vmdk)
	fi
	qemu-img compare -q "$input" "$check" || { echo "apkg output differs from the input ($name)" >&2; exit 1; }
	qemu-img check -q "$check" || { echo "qemu-img check failed on apkg output ($name)" >&2; exit 1; }
	local qm am qcpu acpu qs as
	qm=$(printf '%s\n' "${qt[@]}" | median)
	am=$(printf '%s\n' "${at[@]}" | median)
	qcpu=$(printf '%s\n' "${qc[@]}" | median)
	acpu=$(printf '%s\n' "${ac[@]}" | median)
	qs=$(stat -c %s "$q")
	as=$(stat -c %s "$a")
	echo "$name: qemu-img ${qt[*]} | apkg ${at[*]}" >&2
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
