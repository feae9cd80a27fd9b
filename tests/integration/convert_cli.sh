#!/bin/bash
# tests/integration/convert_cli.sh: `apkg convert` as a user meets it.
#
# Exit codes (0 done, 1 failed, 2 usage), the output format from the
# extension or --format, refusals of option combinations that make no
# sense, raw output, nothing at OUT after a failure (and an existing OUT
# left untouched), and the progress bar appearing only on a terminal.
set -u
cd "$(dirname "$0")/../.."
APKG=$PWD/bin/apkg
command -v qemu-img >/dev/null || { echo "SKIP: qemu-img not installed (qemu-utils)"; exit 77; }
work=$(mktemp -d /tmp/apkg-convert-cli.XXXXXX)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

expect_exit() { # code description command...
	local want=$1 what=$2; shift 2
	"$@" >"$work/out" 2>"$work/err"
	local rc=$?
	[ $rc -eq "$want" ] || fail "$what: exit $rc, want $want ($(head -c 200 "$work/err"))"
}

in=$work/in.raw
truncate -s 8M "$in"
yes "convert cli" | head -c 300000 | dd of="$in" bs=64K seek=3 conv=notrunc status=none

expect_exit 0 "--help" "$APKG" convert --help
grep -q -- "--compress" "$work/out" || fail "--help does not describe --compress"
expect_exit 2 "no arguments" "$APKG" convert
expect_exit 2 "one argument" "$APKG" convert "$in"
expect_exit 2 "unknown option" "$APKG" convert --frobnicate "$in" "$work/o.qcow2"
expect_exit 2 "bad --compress" "$APKG" convert --compress lzma "$in" "$work/o.qcow2"
expect_exit 2 "bad --cluster-size" "$APKG" convert --cluster-size 3000 "$in" "$work/o.qcow2"
expect_exit 2 "cluster size too big" "$APKG" convert --cluster-size 4M "$in" "$work/o.qcow2"
expect_exit 2 "bad --qcow2-version" "$APKG" convert --qcow2-version 4 "$in" "$work/o.qcow2"
expect_exit 2 "zstd with v2" "$APKG" convert --compress zstd --qcow2-version 2 "$in" "$work/o.qcow2"
expect_exit 2 "bad -j" "$APKG" convert -j 0 "$in" "$work/o.qcow2"
expect_exit 2 "unknown extension" "$APKG" convert "$in" "$work/o.unknown"
expect_exit 2 "unknown --format" "$APKG" convert --format vmdk9 "$in" "$work/o.qcow2"
expect_exit 2 "--compress with raw output" "$APKG" convert --compress zlib "$in" "$work/o.raw"
expect_exit 2 "same file" "$APKG" convert --format raw "$in" "$in"
expect_exit 1 "missing input" "$APKG" convert "$work/missing.raw" "$work/o.qcow2"
grep -q "missing.raw" "$work/err" || fail "missing input: the error does not name the file"
[ -z "$(ls "$work" | grep -v -e '^in.raw$' -e '^out$' -e '^err$')" ] || fail "usage errors left files: $(ls "$work")"

# Formats from the extension and from --format.
expect_exit 0 ".qcow2" "$APKG" convert "$in" "$work/a.qcow2"
[ "$(qemu-img info --output=json "$work/a.qcow2" | sed -n 's/.*"format": "\(.*\)".*/\1/p')" = qcow2 ] || fail ".qcow2 is not qcow2"
# qcow2 output is allocated ahead while it is written (image_output_reserve):
# the finished file ends where qemu-img says the image ends, and keeps no
# blocks beyond that.
alloc=$(($(stat -c '%b * %B' "$work/a.qcow2")))
size=$(stat -c %s "$work/a.qcow2")
end=$(qemu-img check "$work/a.qcow2" | sed -n 's/^Image end offset: //p')
[ "$size" = "$end" ] || fail "a.qcow2 is $size bytes, the image ends at ${end:-?}"
[ "$alloc" -le $(((size + 65535) / 65536 * 65536)) ] || fail "a.qcow2 keeps $alloc bytes allocated for $size bytes"
expect_exit 0 "--format qcow2 on .bin" "$APKG" convert --format qcow2 "$in" "$work/b.bin"
qemu-img compare -q -f raw -F qcow2 "$in" "$work/b.bin" || fail "--format qcow2 output differs"
expect_exit 0 "qcow2 -> .img (raw)" "$APKG" convert "$work/a.qcow2" "$work/c.img"
cmp -s "$in" "$work/c.img" || fail "qcow2 -> raw differs from the original"
[ "$(du -k "$work/c.img" | cut -f1)" -lt 1024 ] || fail "raw output is not sparse"
expect_exit 0 "--sync" "$APKG" convert --sync --compress zstd -j 1 "$in" "$work/d.qcow2"
qemu-img check -q "$work/d.qcow2" || fail "--sync output fails qemu-img check"

# A failure leaves nothing new at OUT, and leaves an existing OUT alone.
head -c 4096 "$work/a.qcow2" >"$work/broken.qcow2"
expect_exit 1 "truncated input" "$APKG" convert "$work/broken.qcow2" "$work/never.raw"
[ ! -e "$work/never.raw" ] || fail "a failed convert left OUT"
echo keep >"$work/existing.raw"
expect_exit 1 "truncated input over an existing OUT" "$APKG" convert "$work/broken.qcow2" "$work/existing.raw"
[ "$(cat "$work/existing.raw")" = keep ] || fail "a failed convert replaced the existing OUT"
ls "$work" | grep -q tmp- && fail "temporary files left: $(ls "$work")"

# Backing files are refused by name.
qemu-img create -q -f qcow2 -b "$work/a.qcow2" -F qcow2 "$work/overlay.qcow2"
expect_exit 1 "backing file" "$APKG" convert "$work/overlay.qcow2" "$work/o.raw"
grep -q "backing file" "$work/err" || fail "backing file refusal does not say so"

# Progress: a bar on a terminal, none when stderr is a file.
if command -v script >/dev/null; then
	script -qec "$APKG convert $in $work/tty.qcow2" /dev/null >"$work/tty.log" 2>&1
	grep -q "converting" "$work/tty.log" || fail "no progress bar on a terminal"
fi
"$APKG" convert "$in" "$work/notty.qcow2" 2>"$work/err"
grep -q "converting \[" "$work/err" && fail "progress bar written to a file"

[ $failures -eq 0 ] && echo "convert_cli: all passed"
[ $failures -eq 0 ]
