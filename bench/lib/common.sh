# bench/lib/common.sh: what every bench/*.sh shares (sourced, not run by make bench).
#
# The input: a 2 GiB raw ext4 image holding ~400 MB of a real Debian bookworm
# root filesystem (mmdebstrap minbase plus a few packages), built once and
# cached as build/bench/debian-2g.raw (APKG_BENCH_INPUT=img.raw uses another).
# Timing: time_run FILE CMD... prints "wall cpu" seconds of CMD writing FILE,
# after removing FILE and an untimed sync; median reads numbers on stdin.
# Callers set: dir (build/bench), input.
# The qemu-img side-by-sides (qcow2.sh, vmdk.sh) start with convert_bench_init
# (defaults, tool checks, the input, a warm page cache), time each row with
# time_pair and open their report with input_line.

skip() { echo "SKIP: $*"; exit 77; }

PACKAGES=systemd,systemd-sysv,udev,dbus,python3,perl,git,vim,iproute2,openssh-server,curl,less,locales,man-db,ca-certificates,rsync

build_input() {
	command -v mmdebstrap >/dev/null || skip "mmdebstrap not installed"
	[ "$(id -u)" = 0 ] || skip "building the Debian input needs root (or set APKG_BENCH_INPUT)"
	local tar=$dir/rootfs.tar root=$dir/rootfs
	echo "building the input: mmdebstrap minbase bookworm + $PACKAGES" >&2
	mmdebstrap --quiet --variant=minbase --include="$PACKAGES" bookworm "$tar" || skip "mmdebstrap failed (no mirror?)"
	rm -rf "$root" && mkdir -p "$root" && tar -C "$root" -xpf "$tar" || exit 1
	rm -f "$input.tmp" && truncate -s 2G "$input.tmp" &&
		mke2fs -q -t ext4 -L bench -U 6b1c1b4e-0c1f-4d1e-9a3a-0d5c1b2a3f4e -d "$root" "$input.tmp" || exit 1
	mv "$input.tmp" "$input"
	rm -rf "$root" "$tar"
}

minimum() { sort -g | head -n 1; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

time_run() {
	local file=$1; shift
	rm -f "$file"; sync
	# Wall time from bash's microsecond clock (GNU time's %e has 10 ms steps,
	# too coarse for a 0.1 s conversion); CPU time from GNU time.
	# BENCH_NICE (root) runs both tools at that nice level, against a noisy machine.
	local t0=$EPOCHREALTIME
	${BENCH_NICE:+nice -n "$BENCH_NICE"} /usr/bin/time -f "%U %S" -o "$dir/time.txt" "$@" >/dev/null 2>&1 ||
		{ echo "command failed: $*" >&2; exit 1; }
	local t1=$EPOCHREALTIME
	awk -v a="$t0" -v b="$t1" '{printf "%.4f %.3f\n", b - a, $1 + $2}' "$dir/time.txt"
}

# convert_bench_init: RUNS (default 5), dir, input, apkg; skips without
# qemu-img, /usr/bin/time or bin/apkg; builds the input if needed and reads
# it once so that the page cache is warm for both tools.
convert_bench_init() {
	RUNS=${RUNS:-5}
	dir=build/bench
	input=${APKG_BENCH_INPUT:-$dir/debian-2g.raw}
	apkg=bin/apkg
	mkdir -p "$dir"
	command -v qemu-img >/dev/null || skip "qemu-img not installed (qemu-utils)"
	[ -x /usr/bin/time ] || skip "/usr/bin/time not installed (package time)"
	[ -x "$apkg" ] || skip "bin/apkg not built (run make)"
	[ -f "$input" ] || build_input
	cat "$input" >/dev/null
}

# input_line: the report's first line (the input, CPUs, runs).
input_line() {
	echo "Input: $input, $(du -m --apparent-size "$input" | cut -f1) MiB virtual, $(du -m "$input" | cut -f1) MiB allocated; $(nproc) CPUs; medians of $RUNS runs."
}

# time_pair NAME QOUT AOUT: runs qcmd (an array, writing QOUT) and acmd
# (writing AOUT) RUNS times each, alternating so that machine noise hits both
# alike. Sets qm/am (median wall s), qmin/amin (fastest wall s), qcpu/acpu
# (median CPU s) and qs/as (output sizes); the raw times go to stderr.
time_pair() {
	local name=$1 q=$2 a=$3 t
	local qt=() qc=() at=() ac=()
	for _ in $(seq "$RUNS"); do
		t=$(time_run "$q" "${qcmd[@]}")
		qt+=("${t% *}") qc+=("${t#* }")
		t=$(time_run "$a" "${acmd[@]}")
		at+=("${t% *}") ac+=("${t#* }")
	done
	qm=$(printf '%s\n' "${qt[@]}" | median)
	am=$(printf '%s\n' "${at[@]}" | median)
	qmin=$(printf '%s\n' "${qt[@]}" | minimum)
	amin=$(printf '%s\n' "${at[@]}" | minimum)
	qcpu=$(printf '%s\n' "${qc[@]}" | median)
	acpu=$(printf '%s\n' "${ac[@]}" | median)
	qs=$(stat -c %s "$q")
	as=$(stat -c %s "$a")
	echo "$name: qemu-img ${qt[*]} | apkg ${at[*]}" >&2
}
