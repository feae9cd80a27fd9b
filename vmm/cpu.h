/* vmm/cpu.h: x86-64 vCPU state for the 64-bit Linux boot protocol.
 *
 * Promises: CPUID is what KVM_GET_SUPPORTED_CPUID reports (the hypervisor
 * leaves unchanged), with only the APIC IDs made per-vCPU; MSRs are set to
 * fixed architectural defaults, never copied from the host; the local APIC
 * has LINT0 as ExtINT and LINT1 as NMI. The boot vCPU gets long mode with
 * the first 4 GiB identity-mapped by 2 MiB pages, the boot GDT (code 0x10,
 * data 0x18), RSI = zero page, RIP = the kernel's 64-bit entry (boot.rst,
 * "64-bit BOOT PROTOCOL"). Other vCPUs wait for INIT/SIPI in the in-kernel LAPIC.
 */
#ifndef APKG_VMM_CPU_H
#define APKG_VMM_CPU_H

#include "vmm/guest_mem.h"

#include <linux/kvm.h>
#include <stdint.h>

struct cpu_cpuid {
	struct kvm_cpuid2 *cpuid; /* from KVM_GET_SUPPORTED_CPUID; freed by cpu_cpuid_free */
};

int cpu_supported_cpuid(int kvm_fd, struct cpu_cpuid *out);
void cpu_cpuid_free(struct cpu_cpuid *c);
/* Writes the page tables and GDT the boot vCPU starts with into guest memory. */
int cpu_write_boot_tables(struct guest_mem *mem);
/* Sets CPUID, MSRs, FPU and LAPIC of vCPU `index`; for index 0 also the boot registers. */
int cpu_setup_vcpu(int vcpu_fd, unsigned index, const struct cpu_cpuid *cpuid, uint64_t entry, uint64_t zero_page);

#endif
