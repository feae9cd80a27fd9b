# bench/lib/common.sh: what every bench/*.sh shares (sourced, not run by make bench).
#
# The input: a 2 GiB raw ext4 image holding ~400 MB of a real Debian bookworm
# root filesystem (mmdebstrap minbase plus a few packages), built once and
# cached as build/bench/debian-2g.raw (APKG_BENCH_INPUT=img.raw uses another).
# Timing: time_run FILE CMD... prints "wall cpu" seconds of CMD writing FILE,
# after removing FILE and an untimed sync; median reads numbers on stdin.
# Callers set: dir (build/bench), input.

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
	# BENCH_NICE (root) runs both tools at that nice level, against a noisy machine.
	${BENCH_NICE:+nice -n "$BENCH_NICE"} /usr/bin/time -f "%e %U %S" -o "$dir/time.txt" "$@" >/dev/null 2>&1 ||
		{ echo "command failed: $*" >&2; exit 1; }
	awk '{printf "%.3f %.3f\n", $1, $2 + $3}' "$dir/time.txt"
}
