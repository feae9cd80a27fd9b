#!/bin/bash
# tests/integration/vmm_test_target.sh: `apkg test --target vmm` end to end.
#
# An output directory with a manifest and one raw artifact whose ESP boots
# the VMM test guest; with apkg.check=1 the guest reports like apkg's probe.
# Without hardware virtualization the vmm target must be skipped with its
# reason (a failure with --strict or --require-kvm); with APKG_VMM_FORCE=1
# it boots on any /dev/kvm and must pass, with the check flag on the real
# kernel command line, and the artifact unchanged.
set -u
cd "$(dirname "$0")/../.."
[ -r /dev/kvm ] && [ -w /dev/kvm ] || { echo "SKIP: no usable /dev/kvm"; exit 77; }
for t in sfdisk mkfs.fat mcopy; do
	command -v $t >/dev/null || { echo "SKIP: $t is missing"; exit 77; }
done
guest=build/vmm-guests/testguest.bzImage
[ -f "$guest" ] || { echo "missing $guest (make guests)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
export MTOOLS_SKIP_CHECK=1

out=$tmp/out
mkdir "$out"
disk=$out/vmmtest-1.0.raw
truncate -s 40M "$disk"
printf 'label: gpt\nstart=2048, size=65536, type=uefi\n' | sfdisk --no-reread --no-tell-kernel -q "$disk"
mkfs.fat -C -F 16 -n ESP "$tmp/esp.img" 32768 >/dev/null
printf 'title vmm test\nlinux /vmlinuz\noptions test=virtio read=0:2\n' >"$tmp/apkg.conf"
mmd -i "$tmp/esp.img" ::/loader ::/loader/entries
mcopy -i "$tmp/esp.img" "$guest" ::/vmlinuz
mcopy -i "$tmp/esp.img" "$tmp/apkg.conf" ::/loader/entries/apkg.conf
dd if="$tmp/esp.img" of="$disk" bs=1M seek=1 conv=notrunc status=none
sha=$(sha256sum "$disk" | cut -d' ' -f1)
cat >"$out/manifest.json" <<JSON
{
  "name": "vmmtest",
  "version": "1.0",
  "artifacts": [{"file": "vmmtest-1.0.raw", "format": "raw", "sha256": "$sha"}],
  "targets": ["vmm"],
  "checks": ["vmm guest"],
  "hardware": {"memory": 67108864, "cpus": 1},
  "check_deadline": 30
}
JSON

if [ -e /sys/module/kvm_pvm ]; then
	bin/apkg test "$out" --target vmm >"$tmp/skip.txt" 2>&1 || fail "a skipped vmm target failed the run: $(cat "$tmp/skip.txt")"
	grep -q "SKIP.*vmm" "$tmp/skip.txt" && grep -q "no hardware virtualization.*kvm-pvm" "$tmp/skip.txt" ||
		fail "the vmm target was not skipped with its reason: $(cat "$tmp/skip.txt")"
	if bin/apkg test "$out" --target vmm --strict >/dev/null 2>&1; then fail "--strict passed a skipped target"; fi
	if bin/apkg test "$out" --target vmm --require-kvm >"$tmp/req.txt" 2>&1; then fail "--require-kvm passed"; fi
	grep -q "FAIL.*vmm" "$tmp/req.txt" || fail "--require-kvm did not fail the vmm target: $(cat "$tmp/req.txt")"
fi

APKG_VMM_FORCE=1 bin/apkg test "$out" --target vmm --json >"$tmp/report.json" 2>"$tmp/lines.txt" ||
	fail "the forced vmm boot did not pass: $(cat "$tmp/lines.txt")"
grep -q "PASS.*vmm" "$tmp/lines.txt" || fail "no PASS line: $(cat "$tmp/lines.txt")"
grep -q '"passed": *1' "$tmp/report.json" || fail "the JSON report does not count the pass: $(cat "$tmp/report.json")"
grep -q '"validation"' "$out/manifest.json" || fail "manifest.json has no validation record"
[ "$(sha256sum "$disk" | cut -d' ' -f1)" = "$sha" ] || fail "the artifact changed"
APKG_VMM_FORCE=1 bin/apkg test "$out" --target vmm --json 2>/dev/null | grep -q 'apkg.check=1 apkg.deadline=30' ||
	fail "the check flag is not on the kernel command line"
echo "apkg test --target vmm: skipped with its reason without hardware virtualization, passes when forced"
