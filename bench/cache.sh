#!/bin/bash
# bench/cache.sh: the stage cache on debian-web, side by side with mkosi; two clean builds bit-identical.
#
# In one run, on a copy of recipes/debian-web.yaml with an empty cache:
#   clean      apkg build (cold stage cache; mmdebstrap downloads every package)
#   rebuild    the same after changing only the content of index.html (warm cache;
#              RUNS times, default 3, a new change each time; the median counts)
#   no change  the same again with nothing changed
# Target: rebuild <= 20% of clean. Then two more clean builds (--verify-repro
# --no-cache, every format: raw, qcow2, VMDK, OVA, VHDX, VDI) must give
# identical artifacts; if not, the report names the first differing structure
# and the Debian package behind each differing file.
# mkosi (Debian package mkosi 14) builds the closest equivalent it can here
# (see the notes it prints) clean, then incrementally after the same
# index.html change, each right after apkg's build of the same kind so that
# the machine's load hits both alike. Wall-clock seconds of the whole
# command (/usr/bin/time).
# Markdown on stdout and in build/bench/cache.md.
#
#   bench/cache.sh                 SKIP_MKOSI=1 / SKIP_REPRO=1 leave those parts out
set -u
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
. bench/lib/common.sh
apkg=$PWD/bin/apkg
dir=$PWD/build/bench/cache
[ -x "$apkg" ] || skip "bin/apkg not built (run make)"
[ "$(id -u)" = 0 ] || skip "the stage cache and mmdebstrap need root"
command -v mmdebstrap >/dev/null || skip "mmdebstrap not installed"
[ -x /usr/bin/time ] || skip "/usr/bin/time not installed (package time)"
rm -rf "$dir"
mkdir -p "$dir/recipe" "$dir/bin"
# A copy of the binaries: a `make` during the run would change apkg's build id and with it every key.
cp bin/apkg bin/apkg-init bin/apkg-probe "$dir/bin/"
apkg=$dir/bin/apkg
cp recipes/debian-web.yaml "$dir/recipe/"
cp -r recipes/files "$dir/recipe/"
page=$dir/recipe/files/site/index.html

timed() { # label logfile command... -> seconds on stdout
	local label=$1 log=$2
	shift 2
	/usr/bin/time -f "%e" -o "$dir/$label.time" "$@" > "$log" 2>&1 || { tail -n 30 "$log" >&2; echo "FAILED"; return 1; }
	cat "$dir/$label.time"
}
cache_line() { grep -o "cache: [a-z]* [a-z ]*[0-9a-f]\{12\}" "$1" | tr '\n' ';' | sed 's/;$//; s/;/; /g'; }

qsize() { stat -c %s "$1" 2>/dev/null | awk '{ printf "%.0f MB", $1 / 1e6 }'; }
build() { # label -> seconds
	timed "$1" "$dir/$1.log" "$apkg" build "$dir/recipe/debian-web.yaml" -o "$dir/out-$1" --no-test --cache "$dir/cache"
}

# ---- mkosi ----
mkosi_rows="" mkosi_notes="" have_mkosi="" m=$dir/mkosi
if [ -n "${SKIP_MKOSI:-}" ]; then
	mkosi_notes="mkosi: not run (SKIP_MKOSI=1)."
elif ! command -v mkosi >/dev/null; then
	mkosi_notes="mkosi: not installed (Debian package mkosi)."
else
	mkdir -p "$m/mkosi.extra/var/www/html"
	cp recipes/files/site/index.html "$m/mkosi.extra/var/www/html/"
	# debian-web's packages, kernel and page, as far as mkosi gets here: no
	# ESP (Bootable=yes fails, see below), documentation kept (WithDocs=no and
	# postinst scripts run through systemd-nspawn, which fails on a host not
	# booted with systemd), so no user and no enabled service either.
	cat > "$m/mkosi.default" <<'EOF'
[Distribution]
Distribution=debian
Release=bookworm

[Output]
Format=gpt_ext4
Bootable=no
QCow2=yes
Output=debian-web.qcow2

[Content]
Packages=systemd-sysv,udev,linux-image-cloud-amd64,nginx-light,curl,systemd-resolved,tiny-initramfs
WithDocs=yes
EOF
	mk() { (cd "$m" && timed "$1" "$dir/$1.log" mkosi -f --incremental build); }
	have_mkosi=1
fi

# apkg and mkosi take turns, so that the machine's load hits both alike.
clean=$(build clean) || exit 1
[ -n "$have_mkosi" ] && { mclean=$(mk mkosi-clean) || mclean=failed; }
# Rebuilds are short, and a spike of the machine's load can double one: each
# is measured RUNS times (a new change to index.html each time), median kept.
apkg_times="" mkosi_times=""
for i in $(seq 1 "$RUNS"); do
	printf '\n<p>Change %d by bench/cache.sh.</p>\n' "$i" >> "$page"
	t=$(build rebuild) || exit 1
	apkg_times="$apkg_times $t"
	if [ -n "$have_mkosi" ] && [ "$mclean" != failed ]; then
		printf '\n<p>Change %d by bench/cache.sh.</p>\n' "$i" >> "$m/mkosi.extra/var/www/html/index.html"
		t=$(mk mkosi-rebuild) || t=failed
		mkosi_times="$mkosi_times $t"
	fi
done
rebuild=$(echo $apkg_times | tr ' ' '\n' | median)
case "$mkosi_times" in *failed*) mre=failed ;; "") mre="" ;; *) mre=$(echo $mkosi_times | tr ' ' '\n' | median) ;; esac
again=$(build nochange) || exit 1
ratio=$(awk -v a="$rebuild" -v b="$clean" 'BEGIN { printf "%.1f", 100 * a / b }')
verdict=$(awk -v a="$rebuild" -v b="$clean" 'BEGIN { print (a <= 0.2 * b) ? "met" : "MISSED" }')

if [ -n "$have_mkosi" ]; then
	if [ "$mclean" != failed ]; then
		mkosi_rows="| mkosi 14 (not bootable: no ESP, see below) | $mclean | $mre | $(awk -v a="$mre" -v b="$mclean" 'BEGIN { printf "%.1f", 100 * a / b }')% |"
		mkosi_notes="mkosi's image: $(qsize "$m/debian-web.qcow2") qcow2."
	else
		mkosi_notes="mkosi failed: $(grep -m1 -E 'mount:|Failed to|Error|error:' "$dir/mkosi-clean.log")"
	fi
	# The bootable variant, for the record of why it cannot be built here.
	sed -i 's/^Bootable=no/Bootable=yes/' "$m/mkosi.default"
	if (cd "$m" && mkosi -f build > "$dir/mkosi-bootable.log" 2>&1); then
		mkosi_notes="$mkosi_notes mkosi with Bootable=yes built here too (build/bench/cache/mkosi-bootable.log)."
	else
		mkosi_notes="$mkosi_notes mkosi with Bootable=yes (an ESP with a boot loader, as apkg builds) fails here: \`$(grep -m1 'mount:' "$dir/mkosi-bootable.log" || tail -n 1 "$dir/mkosi-bootable.log")\`."
	fi
	losetup -D 2>/dev/null || true
fi

repro="not run (SKIP_REPRO=1)"
if [ -z "${SKIP_REPRO:-}" ]; then
	if "$apkg" build "$dir/recipe/debian-web.yaml" -o "$dir/out-repro" --no-test --no-cache --verify-repro \
		--format raw,qcow2,vmdk,ova,vhdx,vdi > "$dir/repro.log" 2>&1; then
		repro=$(grep "^verify-repro: reproducible" "$dir/repro.log")
	else
		repro="NOT reproducible (build/bench/cache/repro.log):
\`\`\`
$(sed -n '/^verify-repro: NOT/,$p' "$dir/repro.log" | head -n 40)
\`\`\`"
	fi
fi



report=$dir/../cache.md
{
	echo "## cache: debian-web clean build vs rebuild after an index.html change (bench/cache.sh)"
	echo
	echo "$(date -u +%Y-%m-%d), $(nproc) CPUs ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1)), load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)."
	echo "Command: \`bench/cache.sh\` (wall-clock seconds of the whole build command, boot tests off)."
	echo
	echo "| tool | clean build (s) | rebuild after changing index.html (s, median of $RUNS) | rebuild / clean |"
	echo "| --- | --- | --- | --- |"
	echo "| apkg (stage cache) | $clean | $rebuild | $ratio% (target <= 20%: $verdict) |"
	[ -n "$mkosi_rows" ] && echo "$mkosi_rows"
	echo
	echo "Rebuilds, each run: apkg$apkg_times; mkosi${mkosi_times:- (not run)}."
	echo "apkg's stage cache in the three kinds of build: clean: $(cache_line "$dir/clean.log"); rebuild: $(cache_line "$dir/rebuild.log"); no change ($again s): $(cache_line "$dir/nochange.log")."
	echo "apkg's qcow2: $(qsize "$dir/out-clean/debian-web-1.0.0.qcow2"). Stage times of the rebuild: $(grep -E '^    (rootfs|customize|probe|kernel|initramfs|disk|images): ' "$dir/rebuild.log" | sed 's/^ *//' | tr '\n' ',' | sed 's/,$//; s/,/, /g')."
	echo
	echo "Two clean builds of debian-web, every format: $repro"
	echo
	[ -n "$mkosi_notes" ] && echo "$mkosi_notes"
} > "$report"
cat "$report"
