#!/bin/bash
# tests/integration/ova_lint.sh: `apkg lint` on a corpus of broken OVAs made here.
#
# A good OVA from `apkg convert` is unpacked with tar, broken in one way
# each (wrong member order, sha256sum --tag spacing in the manifest, an
# unknown digest algorithm, a wrong digest, ovf:size off, a version-1
# streamOptimized disk, the end-of-stream marker cut off, a corrupt grain,
# an unknown controller subtype, a VirtualBox hardware family for VMware,
# an unresolved disk reference, an OVF 2.0 StorageItem, memory units
# VirtualBox does not read, a truncated descriptor, a DTD with nested
# entities, a directory in a member name, a gzipped OVA), repacked with GNU tar (and the manifest
# recomputed with sha256sum so that only the intended rule fires), and
# must be caught by the named rule with exit 1. The good OVA, and one with
# the manifest last (which DSP0243 allows), must pass with exit 0.
set -u
cd "$(dirname "$0")/../.."
APKG=$PWD/bin/apkg
for t in sha256sum gzip python3; do
	command -v $t >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
[ -x "$APKG" ] || { echo "bin/apkg missing: run make"; exit 1; }
work=$(mktemp -d /tmp/apkg-ova-lint.XXXXXX)
failures=0
trap 'if [ $failures -eq 0 ]; then rm -rf "$work"; else echo "work directory kept: $work"; fi' EXIT
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

raw=$work/disk.raw
truncate -s 40M "$raw"
yes "ova lint corpus" | head -c 3000000 | dd of="$raw" bs=64K seek=5 conv=notrunc status=none
head -c 200000 /dev/urandom | dd of="$raw" bs=1M seek=35 conv=notrunc status=none
"$APKG" convert --format ova --ova-profile vmware --name lint "$raw" "$work/good.ova" 2>/dev/null || { fail "convert"; exit 1; }
OVF=lint.ovf MF=lint.mf DISK=lint-disk1.vmdk

unpack() { rm -rf "$work/x" && mkdir -p "$work/x" && tar -C "$work/x" -xf "$work/good.ova"; }
remanifest() { (cd "$work/x" && for f in "$OVF" "$DISK"; do echo "SHA256($f)= $(sha256sum "$f" | cut -d' ' -f1)"; done >"$MF"); }
resize() { sed -i "s/ovf:size=\"[0-9]*\"/ovf:size=\"$(stat -c %s "$work/x/$DISK")\"/" "$work/x/$OVF"; }
repack() { # out members...
	local out=$1; shift
	tar --format=ustar --owner=0 --group=0 -C "$work/x" -cf "$out" "$@"
}
patch_byte() { # file offset value(decimal)
	printf "$(printf '\\%03o' "$3")" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

expect_rule() { # name rule profile-or-"" ova
	local name=$1 rule=$2 profile=$3 ova=$4 opts=()
	[ -n "$profile" ] && opts=(--profile "$profile")
	"$APKG" lint "${opts[@]}" "$ova" >"$work/out" 2>&1
	local rc=$?
	[ $rc -eq 1 ] || fail "$name: apkg lint exit $rc, want 1: $(cat "$work/out")"
	grep -q "error \[$rule\]" "$work/out" || fail "$name: no 'error [$rule]' in: $(cat "$work/out")"
}
expect_clean() { # name ova
	"$APKG" lint "$2" >"$work/out" 2>&1 || fail "$1: apkg lint exit $?: $(cat "$work/out")"
	grep -q "error \[" "$work/out" && fail "$1: errors reported: $(cat "$work/out")"
}

expect_clean "apkg's OVA" "$work/good.ova"

unpack; repack "$work/mf-last.ova" "$OVF" "$DISK" "$MF"
expect_clean "manifest last (DSP0243 allows it)" "$work/mf-last.ova"

unpack; repack "$work/order.ova" "$DISK" "$OVF" "$MF"
expect_rule "disk before the descriptor" ovf-first "" "$work/order.ova"

unpack; sed -i 's/^\(SHA256\)(\(.*\))= /\1 (\2) = /' "$work/x/$MF"; repack "$work/spacing.ova" "$OVF" "$MF" "$DISK"
expect_rule "sha256sum --tag spacing" manifest-syntax vmware "$work/spacing.ova"

unpack; sed -i 's/^SHA256(/SHA2-256(/' "$work/x/$MF"; repack "$work/alg.ova" "$OVF" "$MF" "$DISK"
expect_rule "SHA2-256 algorithm" manifest-algorithm "" "$work/alg.ova"

unpack; python3 - "$work/x/$MF" <<'PY'
import sys
p = sys.argv[1]
lines = open(p).read().splitlines()
name, hexd = lines[1].split(")= ")
lines[1] = name + ")= " + ("0" if hexd[0] != "0" else "1") + hexd[1:]
open(p, "w").write("\n".join(lines) + "\n")
PY
repack "$work/digest.ova" "$OVF" "$MF" "$DISK"
expect_rule "wrong digest" manifest-digest "" "$work/digest.ova"

unpack; sed -i 's/ovf:size="\([0-9]*\)"/ovf:size="1\1"/' "$work/x/$OVF"; remanifest; repack "$work/size.ova" "$OVF" "$MF" "$DISK"
expect_rule "ovf:size mismatch" file-size vmware "$work/size.ova"

unpack; disk_size=$(stat -c %s "$work/x/$DISK")
patch_byte "$work/x/$DISK" 4 1
patch_byte "$work/x/$DISK" $((disk_size - 1024 + 4)) 1
remanifest; repack "$work/v1.ova" "$OVF" "$MF" "$DISK"
expect_rule "version-1 streamOptimized" vmdk-version vmware "$work/v1.ova"

unpack; truncate -s -512 "$work/x/$DISK"; resize; remanifest; repack "$work/eos.ova" "$OVF" "$MF" "$DISK"
expect_rule "missing end-of-stream marker" vmdk-eos vmware "$work/eos.ova"

unpack; first_grain=$(python3 -c "import struct,sys; d=open(sys.argv[1],'rb').read(512); print(struct.unpack_from('<Q', d, 64)[0])" "$work/x/$DISK")
for i in 0 1 2 3 4 5 6 7; do patch_byte "$work/x/$DISK" $((first_grain * 512 + 40 + i)) 255; done
remanifest; repack "$work/grain.ova" "$OVF" "$MF" "$DISK"
expect_rule "corrupt grain" vmdk-grain "" "$work/grain.ova"

unpack; sed -i 's/>lsilogic</>megaraid</' "$work/x/$OVF"; remanifest; repack "$work/subtype.ova" "$OVF" "$MF" "$DISK"
expect_rule "unknown controller subtype" resource-subtype vmware "$work/subtype.ova"

unpack; sed -i 's/>vmx-11</>virtualbox-2.2</' "$work/x/$OVF"; remanifest; repack "$work/family.ova" "$OVF" "$MF" "$DISK"
expect_rule "VirtualBox hardware family" hardware-family vmware "$work/family.ova"

unpack; sed -i 's|ovf:/disk/vmdisk1|ovf:/disk/vmdisk9|' "$work/x/$OVF"; remanifest; repack "$work/ref.ova" "$OVF" "$MF" "$DISK"
expect_rule "unresolved HostResource" references "" "$work/ref.ova"

unpack; python3 - "$work/x/$OVF" <<'PY'
import re, sys
p = sys.argv[1]
s = open(p).read()
s = re.sub(r"<Item>(\s*<rasd:AddressOnParent>0</rasd:AddressOnParent>\s*<rasd:ElementName>Hard Disk 1.*?)</Item>",
           r"<StorageItem>\1</StorageItem>", s, flags=re.S)
open(p, "w").write(s)
PY
remanifest; repack "$work/ovf2.ova" "$OVF" "$MF" "$DISK"
expect_rule "OVF 2.0 StorageItem" ovf2-items vmware "$work/ovf2.ova"

unpack; sed -i 's|byte \* 2^20</rasd:AllocationUnits>|KiloBytes</rasd:AllocationUnits>|' "$work/x/$OVF"; remanifest
repack "$work/units.ova" "$OVF" "$MF" "$DISK"
expect_rule "memory in KiloBytes" memory-units virtualbox "$work/units.ova"

unpack; head -c 900 "$work/x/$OVF" >"$work/x/t" && mv "$work/x/t" "$work/x/$OVF"; remanifest; repack "$work/xml.ova" "$OVF" "$MF" "$DISK"
expect_rule "truncated descriptor" ovf-xml "" "$work/xml.ova"

unpack; python3 - "$work/x/$OVF" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
ents = '<!ENTITY e0 "lol">' + "".join('<!ENTITY e%d "%s">' % (i, ("&e%d;" % (i - 1)) * 10) for i in range(1, 10))
s = s.replace("<Envelope", "<!DOCTYPE Envelope [%s]>\n<Envelope" % ents, 1).replace("<Info>A virtual machine</Info>", "<Info>&e9;</Info>")
open(p, "w").write(s)
PY
remanifest; repack "$work/dtd.ova" "$OVF" "$MF" "$DISK"
expect_rule "a DTD with nested entities (billion laughs)" ovf-xml "" "$work/dtd.ova"

unpack; mkdir -p "$work/x/sub" && mv "$work/x/$DISK" "$work/x/sub/"; repack "$work/dir.ova" "$OVF" "$MF" "sub/$DISK"
expect_rule "a directory in a member name" member-name "" "$work/dir.ova"

gzip -c "$work/good.ova" >"$work/gz.ova"
expect_rule "gzipped OVA" ova-tar "" "$work/gz.ova"

# Usage and missing files.
"$APKG" lint --profile esx "$work/good.ova" >/dev/null 2>&1
[ $? -eq 2 ] || fail "an unknown profile is not a usage error"
"$APKG" lint "$work/missing.ova" >/dev/null 2>&1
[ $? -eq 1 ] || fail "a missing file does not exit 1"

[ $failures -eq 0 ] && echo "ova lint: every broken OVA caught by its rule"
exit $((failures > 0))
