/* vmm/cpu.c: x86-64 vCPU setup: CPUID, MSRs, LAPIC, page tables, segments (cf. kvmtool x86/kvm-cpu.c). */
#include "vmm/cpu.h"

#include "util/diag.h"
#include "util/strbuf.h"
#include "vmm/layout.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#define MAX_CPUID_ENTRIES 256

/* Control register and EFER bits (Intel SDM vol. 3A, 2.5 and 2.2.1). */
#define CR0_PE (1ull << 0)
#define CR0_MP (1ull << 1)
#define CR0_ET (1ull << 4)
#define CR0_NE (1ull << 5)
#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define PTE_PRESENT 1ull
#define PTE_RW 2ull
#define PTE_PS (1ull << 7)

#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_IA32_MISC_ENABLE_FAST_STRING 1ull
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SYSCALL_MASK 0xc0000084
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_IA32_TSC 0x10

#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_MODE_NMI 0x4
#define APIC_MODE_EXTINT 0x7

int cpu_supported_cpuid(int kvm_fd, struct cpu_cpuid *out)
{
	struct kvm_cpuid2 *c = xcalloc(1, sizeof *c + MAX_CPUID_ENTRIES * sizeof c->entries[0]);
	c->nent = MAX_CPUID_ENTRIES;
	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
		free(c);
		return error_errno("KVM_GET_SUPPORTED_CPUID");
	}
	out->cpuid = c;
	return 0;
}

void cpu_cpuid_free(struct cpu_cpuid *c)
{
	free(c->cpuid);
	c->cpuid = NULL;
}

static int set_cpuid(int fd, unsigned index, const struct cpu_cpuid *base)
{
	size_t bytes = sizeof *base->cpuid + base->cpuid->nent * sizeof base->cpuid->entries[0];
	struct kvm_cpuid2 *c = xmalloc(bytes);
	memcpy(c, base->cpuid, bytes);
	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		if (e->function == 1) /* initial APIC ID in EBX[31:24] */
			e->ebx = (e->ebx & 0x00ffffff) | (index << 24);
		if (e->function == 0xb || e->function == 0x1f) /* x2APIC ID */
			e->edx = index;
	}
	int r = ioctl(fd, KVM_SET_CPUID2, c);
	free(c);
	return r < 0 ? error_errno("KVM_SET_CPUID2") : 0;
}

static int set_msrs(int fd)
{
	static const struct { uint32_t index; uint64_t value; } defaults[] = {
		{MSR_IA32_SYSENTER_CS, 0}, {MSR_IA32_SYSENTER_ESP, 0}, {MSR_IA32_SYSENTER_EIP, 0},
		{MSR_STAR, 0}, {MSR_CSTAR, 0}, {MSR_KERNEL_GS_BASE, 0}, {MSR_SYSCALL_MASK, 0},
		{MSR_LSTAR, 0}, {MSR_IA32_TSC, 0}, {MSR_IA32_MISC_ENABLE, MSR_IA32_MISC_ENABLE_FAST_STRING},
	};
	size_t n = sizeof defaults / sizeof defaults[0];
	struct kvm_msrs *m = xcalloc(1, sizeof *m + n * sizeof m->entries[0]);
	m->nmsrs = (uint32_t)n;
	for (size_t i = 0; i < n; i++) {
		m->entries[i].index = defaults[i].index;
		m->entries[i].data = defaults[i].value;
	}
	int r = ioctl(fd, KVM_SET_MSRS, m);
	free(m);
	if (r < 0)
		return error_errno("KVM_SET_MSRS");
	if ((size_t)r != n)
		return error("KVM_SET_MSRS: KVM refused MSR 0x%x", defaults[r].index);
	return 0;
}

static int set_fpu(int fd)
{
	struct kvm_fpu fpu;
	memset(&fpu, 0, sizeof fpu);
	fpu.fcw = 0x37f;    /* FNINIT state */
	fpu.mxcsr = 0x1f80; /* all SSE exceptions masked */
	return ioctl(fd, KVM_SET_FPU, &fpu) < 0 ? error_errno("KVM_SET_FPU") : 0;
}

static void set_lvt_mode(struct kvm_lapic_state *l, unsigned reg, uint32_t mode)
{
	uint32_t v;
	memcpy(&v, l->regs + reg, 4);
	v = (v & ~0x700u) | (mode << 8);
	memcpy(l->regs + reg, &v, 4);
}

/* LINT0 delivers the 8259's ExtINT, LINT1 the NMI, as a BIOS leaves them (MP spec, 3.6.2.2). */
static int set_lapic(int fd)
{
	struct kvm_lapic_state l;
	if (ioctl(fd, KVM_GET_LAPIC, &l) < 0)
		return error_errno("KVM_GET_LAPIC");
	set_lvt_mode(&l, APIC_LVT0, APIC_MODE_EXTINT);
	set_lvt_mode(&l, APIC_LVT1, APIC_MODE_NMI);
	return ioctl(fd, KVM_SET_LAPIC, &l) < 0 ? error_errno("KVM_SET_LAPIC") : 0;
}

int cpu_write_boot_tables(struct guest_mem *mem)
{
	uint64_t *pml4 = guest_mem_ptr(mem, VMM_PML4_ADDR, 4096);
	uint64_t *pdpt = guest_mem_ptr(mem, VMM_PDPT_ADDR, 4096);
	uint64_t *pd = guest_mem_ptr(mem, VMM_PD_ADDR, 4 * 4096);
	uint64_t *gdt = guest_mem_ptr(mem, VMM_GDT_ADDR, 5 * 8);
	if (!pml4 || !pdpt || !pd || !gdt)
		return error("guest memory too small for the boot page tables");
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = VMM_PDPT_ADDR | PTE_PRESENT | PTE_RW;
	for (uint64_t g = 0; g < 4; g++) {
		pdpt[g] = (VMM_PD_ADDR + g * 4096) | PTE_PRESENT | PTE_RW;
		for (uint64_t i = 0; i < 512; i++)
			pd[g * 512 + i] = (g << 30 | i << 21) | PTE_PRESENT | PTE_RW | PTE_PS;
	}
	/* boot.rst: __BOOT_CS is 0x10, __BOOT_DS is 0x18; a TSS at 0x20 keeps VM entry happy. */
	gdt[0] = 0;
	gdt[1] = 0;
	gdt[2] = 0x00af9b000000ffffull; /* 64-bit code, present, DPL 0 */
	gdt[3] = 0x00cf93000000ffffull; /* data, 4 GiB, writable */
	gdt[4] = 0x00808b0000000fffull; /* 32-bit busy TSS */
	return 0;
}

static struct kvm_segment segment(uint16_t selector, uint8_t type, int code)
{
	struct kvm_segment s;
	memset(&s, 0, sizeof s);
	s.base = 0;
	s.limit = 0xfffff;
	s.selector = selector;
	s.type = type;
	s.present = 1;
	s.s = 1;
	s.g = 1;
	s.l = code ? 1 : 0;
	s.db = code ? 0 : 1;
	return s;
}

static int set_boot_registers(int fd, uint64_t entry, uint64_t zero_page)
{
	struct kvm_sregs s;
	if (ioctl(fd, KVM_GET_SREGS, &s) < 0)
		return error_errno("KVM_GET_SREGS");
	s.cs = segment(0x10, 0xb, 1);
	s.ds = s.es = s.fs = s.gs = s.ss = segment(0x18, 0x3, 0);
	memset(&s.tr, 0, sizeof s.tr);
	s.tr.selector = 0x20;
	s.tr.limit = 0xfff;
	s.tr.type = 0xb;
	s.tr.present = 1;
	s.gdt.base = VMM_GDT_ADDR;
	s.gdt.limit = 5 * 8 - 1;
	s.idt.base = 0;
	s.idt.limit = 0;
	s.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_PG;
	s.cr3 = VMM_PML4_ADDR;
	s.cr4 = CR4_PAE;
	s.efer = EFER_LME | EFER_LMA;
	if (ioctl(fd, KVM_SET_SREGS, &s) < 0)
		return error_errno("KVM_SET_SREGS");
	struct kvm_regs r;
	memset(&r, 0, sizeof r);
	r.rflags = 2; /* bit 1 is always set; interrupts off */
	r.rip = entry;
	r.rsi = zero_page;
	r.rsp = VMM_BOOT_STACK_TOP;
	return ioctl(fd, KVM_SET_REGS, &r) < 0 ? error_errno("KVM_SET_REGS") : 0;
}

int cpu_setup_vcpu(int fd, unsigned index, const struct cpu_cpuid *cpuid, uint64_t entry, uint64_t zero_page)
{
	if (set_cpuid(fd, index, cpuid) < 0 || set_msrs(fd) < 0 || set_fpu(fd) < 0 || set_lapic(fd) < 0)
		return -1;
	return index == 0 ? set_boot_registers(fd, entry, zero_page) : 0;
}
