/* vmm/layout.h: the guest's physical address map and I/O ports.
 *
 * These are the documented addresses of apkg's micro-VMM machine: the ACPI
 * tables describe them to the guest, the test guests under tests/vmm/guests/
 * rely on them, and nothing else in the VMM hard-codes an address.
 *
 *   0x0000_0500  GDT (null, null, code 0x10, data 0x18, TSS 0x20)
 *   0x0000_7000  zero page (struct boot_params), RSI at entry
 *   0x0000_8ff0  initial stack top (the kernel sets its own)
 *   0x0000_9000  page tables: PML4, PDPT, 4 PDs identity-mapping 4 GiB
 *   0x0002_0000  kernel command line
 *   0x0009_fc00  end of low RAM (e820)
 *   0x000e_0000  ACPI: RSDP, then XSDT, FADT, MADT, DSDT (reserved in e820)
 *   0x0010_0000  protected-mode kernel (bzImage payload), entry at +0x200
 *   ...          initrd, at the top of RAM below 3 GiB and initrd_addr_max
 *   0xd000_0000  virtio-mmio device i at + i * 0x1000, 0x200 bytes, GSI 5 + i
 *   0xfec0_0000  IOAPIC; 0xfee0_0000 local APIC
 *   4 GiB ...    RAM beyond 3 GiB continues here
 */
#ifndef APKG_VMM_LAYOUT_H
#define APKG_VMM_LAYOUT_H

#define VMM_GDT_ADDR 0x500ull
#define VMM_ZERO_PAGE_ADDR 0x7000ull
#define VMM_BOOT_STACK_TOP 0x8ff0ull
#define VMM_PML4_ADDR 0x9000ull
#define VMM_PDPT_ADDR 0xa000ull
#define VMM_PD_ADDR 0xb000ull /* 4 pages */
#define VMM_IDENTITY_MAPPED (4ull << 30)
#define VMM_CMDLINE_ADDR 0x20000ull
#define VMM_CMDLINE_MAX 0x10000ull
#define VMM_LOW_RAM_END 0x9fc00ull
#define VMM_ACPI_ADDR 0xe0000ull
#define VMM_ACPI_SIZE 0x20000ull
#define VMM_KERNEL_ADDR 0x100000ull
#define VMM_KERNEL_ENTRY_OFFSET 0x200ull /* 64-bit entry: Documentation/arch/x86/boot.rst */

#define VMM_MMIO_HOLE_START 0xc0000000ull
#define VMM_HIGH_RAM_START 0x100000000ull
#define VMM_VIRTIO_MMIO_BASE 0xd0000000ull
#define VMM_VIRTIO_MMIO_STRIDE 0x1000ull
#define VMM_VIRTIO_MMIO_SIZE 0x200ull
#define VMM_VIRTIO_GSI_BASE 5
#define VMM_MAX_VIRTIO 8
#define VMM_IOAPIC_ADDR 0xfec00000ull
#define VMM_LAPIC_ADDR 0xfee00000ull
#define VMM_IDENTITY_MAP_ADDR 0xfffbc000ull /* KVM_SET_IDENTITY_MAP_ADDR: one page */
#define VMM_TSS_ADDR 0xfffbd000ull          /* KVM_SET_TSS_ADDR: three pages */

#define VMM_MIN_MEM (8ull << 20)
#define VMM_MAX_MEM (64ull << 30)
#define VMM_MAX_CPUS 32

/* I/O ports (the CMOS clock's 0x70/0x71 are in vmm/rtc.h) */
#define VMM_PORT_I8042_DATA 0x60
#define VMM_PORT_I8042_CMD 0x64
#define VMM_PORT_COM1 0x3f8
#define VMM_IRQ_COM1 4
#define VMM_PORT_PM_BASE 0x600           /* FADT sleep control, sleep status, reset */
#define VMM_PORT_SLEEP_CONTROL 0x600
#define VMM_PORT_SLEEP_STATUS 0x601
#define VMM_PORT_RESET 0x602
#define VMM_RESET_VALUE 0x01
#define VMM_SLEEP_TYPE_S5 5              /* the DSDT's _S5_ value */
#define VMM_PORT_BOOT_TIMER 0x610        /* any write: "the guest got here" */
#define VMM_PORT_TEST_SYSCALL 0x611      /* test builds only, see vmm_config */

#endif
