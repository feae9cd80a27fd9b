#!/bin/bash
# tests/integration/vmm_acpi.sh: the VMM's ACPI tables, checked by ACPICA itself.
#
# Boots the test guest with three vCPUs and two disks and --dump-acpi, then
# `iasl -d` disassembles each table (any checksum or structure problem is an
# error there) and the test reads the facts back from iasl's text: the
# hardware-reduced FADT with its sleep and reset registers, one local APIC
# per vCPU plus the IOAPIC, COM1 and both virtio-mmio devices with their
# windows and interrupts, and \_S5. `acpiexec` then loads the tables and
# evaluates \_S5 and each device's _HID and _CRS, and the disassembled DSDT
# must compile again with iasl.
set -u
cd "$(dirname "$0")/../.."
for t in iasl acpiexec; do
	command -v $t >/dev/null || { echo "SKIP: $t is missing (package acpica-tools)"; exit 77; }
done
[ -r /dev/kvm ] && [ -w /dev/kvm ] || { echo "SKIP: no usable /dev/kvm"; exit 77; }
guest=build/vmm-guests/testguest.bzImage
[ -f "$guest" ] || { echo "missing $guest (make guests)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

truncate -s 1M "$tmp/d1"
truncate -s 3M "$tmp/d2"
bin/apkg boot --vmm --kernel "$guest" --cmdline "test=none" --disk "$tmp/d1" --disk "$tmp/d2" --cpus 3 \
	--dump-acpi "$tmp/acpi" --timeout 30 </dev/null >"$tmp/console" 2>"$tmp/err" ||
	fail "the guest did not power off: $(cat "$tmp/err")"
grep -q "^RESULT ok" "$tmp/console" || fail "the guest's own ACPI checks failed: $(cat "$tmp/console")"
for t in rsdp xsdt facp apic dsdt; do [ -s "$tmp/acpi/$t.dat" ] || fail "no $t.dat"; done

cd "$tmp/acpi"
for t in xsdt facp apic dsdt; do
	iasl -d "$t.dat" >"$t.log" 2>&1 || fail "iasl -d $t.dat: $(cat "$t.log")"
	grep -qi "checksum.*incorrect\|invalid\|error" "$t.dsl" "$t.log" && fail "iasl complains about $t: $(grep -i "checksum\|invalid\|error" "$t.dsl" "$t.log")"
done
has() { grep -qE "$2" "$1" || fail "$1 lacks: $2"; }
has facp.dsl 'Hardware Reduced \(V5\) : 1'
has facp.dsl 'Reset Register Supported \(V2\) : 1'
sed -n '/Sleep Control Register/,/Address :/p' facp.dsl | grep -q 'Address : 0000000000000600' || fail "sleep control register is not port 0x600"
sed -n '/Sleep Status Register/,/Address :/p' facp.dsl | grep -q 'Address : 0000000000000601' || fail "sleep status register is not port 0x601"
sed -n '/Reset Register :/,/Address :/p' facp.dsl | grep -q 'Address : 0000000000000602' || fail "reset register is not port 0x602"
has facp.dsl 'Value to cause reset : 01'
[ "$(grep -c 'Subtable Type : 00 \[Processor Local APIC\]' apic.dsl)" = 3 ] || fail "MADT: not 3 local APICs"
has apic.dsl 'Subtable Type : 01 \[I/O APIC\]'
has apic.dsl 'Address : FEC00000'
has dsdt.dsl 'EisaId \("PNP0501"\)'
has dsdt.dsl 'IO \(Decode16,'
has dsdt.dsl '0x03F8, +// Range Minimum'
[ "$(grep -c 'Name (_HID, "LNRO0005")' dsdt.dsl)" = 2 ] || fail "DSDT: not 2 LNRO0005 devices"
has dsdt.dsl '0xD0000000, +// Address Base'
has dsdt.dsl '0xD0001000, +// Address Base'
has dsdt.dsl 'Interrupt \(ResourceConsumer, Edge, ActiveHigh, Exclusive'
has dsdt.dsl '0x00000005,'
has dsdt.dsl '0x00000006,'
has dsdt.dsl 'Name \(\\_S5, Package'

# ACPICA's interpreter loads the namespace and evaluates the objects Linux uses.
acpiexec -b "evaluate \\_S5; evaluate \\_SB.VR01._HID; evaluate \\_SB.VR01._CRS; evaluate \\_SB.COM1._CRS" \
	dsdt.dat facp.dat apic.dat >exec.log 2>&1 || fail "acpiexec: $(tail -20 exec.log)"
grep -q "No outstanding allocations" exec.log || fail "acpiexec did not finish cleanly: $(tail -20 exec.log)"
grep -q '"LNRO0005"' exec.log || fail "acpiexec: VR01._HID is not LNRO0005"
grep -q '86 09 00 01 00 10 00 D0 00 02 00 00 89 06 00 03' exec.log || fail "acpiexec: VR01._CRS is not the expected window and interrupt"
grep -q 'Evaluation of \\_S5 returned' exec.log || fail "acpiexec: \\_S5 did not evaluate"

# The disassembly compiles again (iasl's own round trip of our AML).
iasl -p recompiled dsdt.dsl >compile.log 2>&1 || fail "iasl cannot compile the disassembled DSDT: $(cat compile.log)"
echo "ACPI tables pass iasl -d, acpiexec and a recompile"
