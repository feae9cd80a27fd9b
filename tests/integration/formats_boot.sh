#!/bin/bash
# tests/integration/formats_boot.sh: the hello appliance boots from every new format.
#
# `apkg build recipes/hello.yaml -f ova,vhdx,vdi,raw`, then:
#   - `apkg lint --profile virtualbox` finds no error in the OVA (hello targets VirtualBox, so the
#     build writes the virtualbox profile);
#   - `apkg test --target vmware,virtualbox,hyperv` boots the VMDK taken out
#     of the OVA (validate/targets.c: VMware's PVSCSI machine, VirtualBox's
#     AHCI one) and the VHDX (Hyper-V Gen2, UEFI) under QEMU TCG, and the
#     recipe's checks pass inside the guest;
#   - the VDI (QEMU's vdi driver, on an AHCI controller as VirtualBox
#     attaches it) and a monolithicSparse VMDK converted from the raw image
#     (IDE, as Workstation's default) boot with SeaBIOS to the appliance's
#     APKG-READY line.
# Exit 0 pass, 77 skip (no QEMU or OVMF, or no way to download the kernel).
set -u
cd "$(dirname "$0")/../.."
APKG=$PWD/bin/apkg
command -v qemu-system-x86_64 >/dev/null || { echo "SKIP: qemu-system-x86_64 not installed"; exit 77; }
[ -f /usr/share/OVMF/OVMF_CODE.fd ] || { echo "SKIP: OVMF not installed (package ovmf)"; exit 77; }
[ -x "$APKG" ] || { echo "bin/apkg missing: run make"; exit 1; }
T=$(mktemp -d /tmp/apkg-formats-boot.XXXXXX)
failures=0
trap 'if [ $failures -eq 0 ]; then rm -rf "$T"; else echo "work directory kept: $T"; fi' EXIT
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

if ! "$APKG" build recipes/hello.yaml -o "$T/out" -f ova,vhdx,vdi,raw --no-test >"$T/build.log" 2>&1; then
	if grep -q "apt-get download\|cannot resolve kernel package\|cannot download" "$T/build.log"; then
		echo "SKIP: cannot download the kernel (no network or apt lists)"
		exit 77
	fi
	cat "$T/build.log"
	fail "apkg build"
	exit 1
fi
out=$T/out
"$APKG" lint --profile virtualbox "$out/hello-1.0.0.ova" >"$T/lint" || fail "apkg lint: $(cat "$T/lint")"
grep -q "error \[" "$T/lint" && fail "apkg lint reports errors: $(cat "$T/lint")"

"$APKG" test "$out" --target vmware,virtualbox,hyperv >"$T/test.log" 2>&1 || fail "apkg test: $(cat "$T/test.log")"
cat "$T/test.log"
for want in "hello-1.0.0.ova @ vmware" "hello-1.0.0.ova @ virtualbox" "hello-1.0.0.vhdx @ hyperv"; do
	grep -q "^PASS  $want" "$T/test.log" || fail "no PASS for $want"
done

. tests/integration/lib/qemu_ready.sh
boot() { qemu_boot_ready "APKG-READY hello" 180 256 "$@"; } # name, qemu args...
boot vdi-ahci-seabios -device ahci,id=ahci -drive id=d0,file="$out/hello-1.0.0.vdi",format=vdi,if=none,snapshot=on \
	-device ide-hd,drive=d0,bus=ahci.0
"$APKG" convert --format vmdk --vmdk-subformat monolithicSparse --vmdk-adapter ide "$out/hello-1.0.0.raw" "$T/ws.vmdk" 2>/dev/null ||
	fail "convert to monolithicSparse"
boot vmdk-monolithicSparse-ide-seabios -drive file="$T/ws.vmdk",format=vmdk,if=ide,snapshot=on

[ $failures -eq 0 ] && echo "formats boot: every format boots the appliance"
exit $((failures > 0))
