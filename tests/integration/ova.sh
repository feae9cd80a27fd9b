#!/bin/bash
# tests/integration/ova.sh: apkg's OVAs taken apart with the tools users have.
#
# A real ext4 filesystem (mke2fs -d) goes through `apkg convert --format ova`
# for every profile; each OVA must be a USTAR tar whose members are, in
# order, the .ovf, the .mf and the disk, owned 0:0 with mtimes at
# SOURCE_DATE_EPOCH; `sha256sum`/`sha1sum` must agree with every manifest
# line (written exactly "ALG(name)= hex"); `xmllint` must accept the OVF,
# whose ovf:size and capacity must be exact and whose hardware must be
# the profile's; the disk must pass `qemu-img check` and `qemu-img
# compare` with the source; `apkg lint --profile P` must find no error;
# and the same input must give the same OVA bytes, with 1 or 4 threads.
set -u
cd "$(dirname "$0")/../.."
APKG=$PWD/bin/apkg
for t in qemu-img xmllint mke2fs sha256sum sha1sum; do
	command -v $t >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
[ -x "$APKG" ] || { echo "bin/apkg missing: run make"; exit 1; }
work=$(mktemp -d /tmp/apkg-ova.XXXXXX)
failures=0
trap 'if [ $failures -eq 0 ]; then rm -rf "$work"; else echo "work directory kept: $work"; fi' EXIT
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

export SOURCE_DATE_EPOCH=1700000000
src=/usr/share/perl5
[ -d "$src" ] || src=/usr/share/doc
kib=$(du -sk "$src" | cut -f1)
raw=$work/root.raw
mke2fs -q -t ext4 -E root_owner=0:0 -d "$src" "$raw" $((kib * 2 + 16384))k 2>/dev/null || { fail "mke2fs"; exit 1; }
size=$(stat -c %s "$raw")

check_ova() { # profile manifest-alg extra-options...
	local profile=$1 alg=$2; shift 2
	local tag="$profile/$alg" ova=$work/$profile-$alg.ova dir=$work/x-$profile-$alg
	"$APKG" convert --format ova --ova-profile "$profile" --ova-manifest "$alg" --name web-appliance \
		--cpus 2 --memory 1G "$@" "$raw" "$ova" 2>"$work/err" || { fail "$tag: convert: $(cat "$work/err")"; return; }
	# Order, owner, mtime.
	local listing names
	listing=$(tar -tvf "$ova" --numeric-owner --full-time --utc) || { fail "$tag: tar cannot list it"; return; }
	names=$(tar -tf "$ova" | tr '\n' ' ')
	local disk=web-appliance-disk1.vmdk
	[ "$profile" = virtualbox ] && disk=web-appliance-disk001.vmdk
	[ "$names" = "web-appliance.ovf web-appliance.mf $disk " ] || fail "$tag: members are '$names'"
	echo "$listing" | grep -vq " 0/0 " && fail "$tag: a member is not owned by 0/0: $listing"
	echo "$listing" | grep -vq "2023-11-14 22:13:20" && fail "$tag: a member's mtime is not SOURCE_DATE_EPOCH: $listing"
	[ "$(dd if="$ova" bs=1 skip=257 count=8 status=none | od -An -c | tr -d ' ')" = 'ustar\000' ] ||
		[ "$(dd if="$ova" bs=1 skip=257 count=8 status=none | od -An -c | tr -d ' ')" = 'ustar\00000' ] ||
		fail "$tag: not a USTAR header"
	mkdir -p "$dir" && tar -C "$dir" -xf "$ova" || { fail "$tag: tar -x"; return; }
	# The manifest, line by line, against the real digests.
	local sum=sha256sum ALG=SHA256
	[ "$alg" = sha1 ] && sum=sha1sum ALG=SHA1
	local lines=0
	while IFS= read -r line; do
		lines=$((lines + 1))
		[[ "$line" =~ ^$ALG\(([^\)]+)\)=\ ([0-9a-f]+)$ ]] || { fail "$tag: manifest line '$line'"; continue; }
		local f=${BASH_REMATCH[1]} h=${BASH_REMATCH[2]}
		[ "$(cd "$dir" && $sum "$f" | cut -d' ' -f1)" = "$h" ] || fail "$tag: $sum of $f disagrees with the manifest"
	done <"$dir/web-appliance.mf"
	[ $lines -eq 2 ] || fail "$tag: the manifest has $lines lines, not 2"
	# The descriptor.
	local ovf=$dir/web-appliance.ovf
	xmllint --noout "$ovf" || fail "$tag: xmllint rejects the OVF"
	grep -q "ovf:href=\"$disk\" ovf:id=\"file1\" ovf:size=\"$(stat -c %s "$dir/$disk")\"" "$ovf" || fail "$tag: ovf:size is not the disk's size"
	grep -q "ovf:capacity=\"$(((size + 511) / 512 * 512))\"" "$ovf" || fail "$tag: ovf:capacity is not the disk's capacity"
	case $profile in
	vmware) grep -q "<vssd:VirtualSystemType>vmx-11<" "$ovf" && grep -q "<rasd:ResourceSubType>lsilogic<" "$ovf" &&
		grep -q "<rasd:ResourceSubType>VmxNet3<" "$ovf" || fail "$tag: not vmx-11 + lsilogic + vmxnet3" ;;
	virtualbox) grep -q "<vssd:VirtualSystemType>virtualbox-2.2<" "$ovf" && grep -q "<rasd:ResourceSubType>AHCI<" "$ovf" &&
		grep -q "<rasd:ResourceSubType>E1000<" "$ovf" && grep -q "<rasd:AllocationUnits>MegaBytes<" "$ovf" ||
		fail "$tag: not virtualbox-2.2 + AHCI + E1000" ;;
	generic) grep -q "<vssd:VirtualSystemType>vmx-11<" "$ovf" && grep -q "<rasd:ResourceSubType>E1000<" "$ovf" ||
		fail "$tag: not vmx-11 + E1000" ;;
	esac
	grep -q "<rasd:VirtualQuantity>2</rasd:VirtualQuantity>" "$ovf" && grep -q "<rasd:VirtualQuantity>1024</rasd:VirtualQuantity>" "$ovf" ||
		fail "$tag: 2 CPUs and 1024 MB are not in the OVF"
	# The disk.
	qemu-img check -q "$dir/$disk" || fail "$tag: qemu-img check of the disk"
	qemu-img compare -q -f raw -F vmdk "$raw" "$dir/$disk" || fail "$tag: the disk differs from the source"
	local want_adapter=lsilogic
	[ "$profile" = virtualbox ] && want_adapter=ide
	head -c 2048 "$dir/$disk" | tr -d '\0' | grep -q "ddb.adapterType = \"$want_adapter\"" || fail "$tag: disk adapter is not $want_adapter"
	"$APKG" lint --profile "$profile" "$ova" >"$work/lint" || fail "$tag: apkg lint: $(cat "$work/lint")"
}

check_ova vmware sha256 --nic vmxnet3
check_ova vmware sha1 --nic vmxnet3
check_ova virtualbox sha256
check_ova generic sha256

# Firmware hints: none for a hybrid disk, vmw:Config and VirtualBox's machine section otherwise.
"$APKG" convert --format ova --ova-profile vmware --firmware efi "$raw" "$work/efi.ova" 2>/dev/null
tar -xOf "$work/efi.ova" efi.ovf | grep -q 'vmw:key="firmware" vmw:value="efi"' || fail "vmware --firmware efi: no vmw:Config firmware"
"$APKG" convert --format ova --ova-profile vmware "$raw" "$work/any.ova" 2>/dev/null
tar -xOf "$work/any.ova" any.ovf | grep -q 'firmware' && fail "a hybrid disk's OVF names a firmware"
"$APKG" convert --format ova --ova-profile virtualbox --firmware efi "$raw" "$work/vbefi.ova" 2>/dev/null
tar -xOf "$work/vbefi.ova" vbefi.ovf >"$work/vbefi.ovf"
xmllint --noout "$work/vbefi.ovf" || fail "virtualbox --firmware efi: xmllint"
grep -q '<Firmware type="EFI"/>' "$work/vbefi.ovf" || fail "virtualbox --firmware efi: no vbox:Machine firmware"
uuid=$(sed -n 's/.*vbox:uuid="\([^"]*\)".*/\1/p' "$work/vbefi.ovf")
grep -q "<Image uuid=\"{$uuid}\"/>" "$work/vbefi.ovf" || fail "virtualbox: vbox:Machine does not attach the disk's vbox:uuid"
"$APKG" lint --profile virtualbox "$work/vbefi.ova" >"$work/lint" || fail "virtualbox efi: lint: $(cat "$work/lint")"

# Reproducible, whatever the thread count; a refused option leaves nothing.
mkdir -p "$work/r1" "$work/r4" "$work/r4b"
"$APKG" convert --format ova -j 1 "$raw" "$work/r1/a.ova" 2>/dev/null
"$APKG" convert --format ova -j 4 "$raw" "$work/r4/a.ova" 2>/dev/null
"$APKG" convert --format ova -j 4 "$raw" "$work/r4b/a.ova" 2>/dev/null
cmp -s "$work/r1/a.ova" "$work/r4/a.ova" || fail "-j1 and -j4 OVAs differ"
cmp -s "$work/r4/a.ova" "$work/r4b/a.ova" || fail "two runs give different OVAs"
"$APKG" convert --format ova --ova-profile esx "$raw" "$work/bad.ova" 2>/dev/null
[ $? -ne 0 ] || fail "an unknown profile was accepted"
"$APKG" convert --format ova --ova-manifest md5 "$raw" "$work/bad.ova" 2>/dev/null
[ $? -ne 0 ] || fail "an unknown manifest algorithm was accepted"
[ ! -e "$work/bad.ova" ] || fail "a refused OVA was written"
[ -z "$(ls -A "$work" | grep '^\.')" ] || fail "scratch left beside the outputs: $(ls -A "$work")"

[ $failures -eq 0 ] && echo "ova: all checks passed"
exit $((failures > 0))
