/* vmm/kvm.c: KVM ioctls for VM and vCPU setup (Documentation/virt/kvm/api.rst). */
#include "vmm/kvm.h"

#include "util/diag.h"
#include "vmm/layout.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

int kvm_open(struct kvm_vm *vm, char *why, size_t n)
{
	vm->kvm_fd = vm->vm_fd = -1;
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		snprintf(why, n, "cannot open /dev/kvm: %s", strerror(errno));
		return -1;
	}
	int api = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION) {
		snprintf(why, n, "/dev/kvm has API version %d, not %d", api, KVM_API_VERSION);
		close(vm->kvm_fd);
		vm->kvm_fd = -1;
		return -1;
	}
	static const struct { int cap; const char *name; } needed[] = {
		{KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"}, {KVM_CAP_PIT2, "KVM_CAP_PIT2"},
		{KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"}, {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
		{KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"}, {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
	};
	for (size_t i = 0; i < sizeof needed / sizeof needed[0]; i++) {
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, needed[i].cap) <= 0) {
			snprintf(why, n, "/dev/kvm lacks %s", needed[i].name);
			close(vm->kvm_fd);
			vm->kvm_fd = -1;
			return -1;
		}
	}
	return 0;
}

static int set_memory(struct kvm_vm *vm, const struct guest_mem *mem)
{
	for (unsigned i = 0; i < mem->n_regions; i++) {
		struct kvm_userspace_memory_region r = {
			.slot = i,
			.guest_phys_addr = mem->region[i].gpa,
			.memory_size = mem->region[i].size,
			.userspace_addr = (uint64_t)(uintptr_t)mem->region[i].host,
		};
		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
			return error_errno("KVM_SET_USER_MEMORY_REGION (slot %u)", i);
	}
	return 0;
}

int kvm_create_machine(struct kvm_vm *vm, const struct guest_mem *mem)
{
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return error_errno("KVM_CREATE_VM");
	int sz = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sz < (int)sizeof(struct kvm_run))
		return error_errno("KVM_GET_VCPU_MMAP_SIZE");
	vm->run_size = (size_t)sz;
	/* Memory before the irqchip: later, each memslot change pays for the
	 * in-kernel LAPIC/IOAPIC state too (5-10 ms instead of 1 on kvm-pvm). */
	if (set_memory(vm, mem) < 0)
		return -1;
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)VMM_TSS_ADDR) < 0)
		return error_errno("KVM_SET_TSS_ADDR");
	uint64_t identity = VMM_IDENTITY_MAP_ADDR;
	if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0)
		return error_errno("KVM_SET_IDENTITY_MAP_ADDR");
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return error_errno("KVM_CREATE_IRQCHIP");
	struct kvm_pit_config pit = {.flags = 0};
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return error_errno("KVM_CREATE_PIT2");
	return 0;
}

int kvm_create_vcpu(struct kvm_vm *vm, unsigned index, struct kvm_vcpu *out)
{
	out->run = NULL;
	out->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
	if (out->fd < 0)
		return error_errno("KVM_CREATE_VCPU %u", index);
	void *run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, out->fd, 0);
	if (run == MAP_FAILED) {
		close(out->fd);
		out->fd = -1;
		return error_errno("mmap of the kvm_run area of vCPU %u", index);
	}
	out->run = run;
	return 0;
}

void kvm_destroy_vcpu(struct kvm_vm *vm, struct kvm_vcpu *v)
{
	if (v->run)
		munmap(v->run, vm->run_size);
	if (v->fd >= 0)
		close(v->fd);
	v->run = NULL;
	v->fd = -1;
}

void kvm_close(struct kvm_vm *vm)
{
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->vm_fd = vm->kvm_fd = -1;
}

int kvm_irq_line(struct kvm_vm *vm, unsigned gsi, int level)
{
	struct kvm_irq_level l = {.irq = gsi, .level = (uint32_t)level};
	return ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0 ? error_errno("KVM_IRQ_LINE %u", gsi) : 0;
}

static void dump_code(const struct kvm_vcpu *v, const struct guest_mem *mem, uint64_t rip)
{
	struct kvm_translation t = {.linear_address = rip};
	if (ioctl(v->fd, KVM_TRANSLATE, &t) < 0 || !t.valid) {
		fprintf(stderr, "  code: RIP %#" PRIx64 " is not mapped\n", rip);
		return;
	}
	const uint8_t *code = guest_mem_ptr(mem, t.physical_address, 16);
	if (!code) {
		fprintf(stderr, "  code: RIP %#" PRIx64 " -> %#llx is outside guest RAM\n", rip, t.physical_address);
		return;
	}
	fprintf(stderr, "  code at %#" PRIx64 " (guest-physical %#llx):", rip, t.physical_address);
	for (int i = 0; i < 16; i++)
		fprintf(stderr, " %02x", code[i]);
	fprintf(stderr, "\n");
}

void kvm_dump_vcpu(const struct kvm_vcpu *v, const struct guest_mem *mem)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0) {
		error_errno("KVM_GET_REGS");
		return;
	}
	fprintf(stderr,
		"  rip %016llx rsp %016llx rflags %08llx\n"
		"  rax %016llx rbx %016llx rcx %016llx rdx %016llx\n"
		"  rsi %016llx rdi %016llx rbp %016llx\n"
		"  r8  %016llx r9  %016llx r10 %016llx r11 %016llx\n"
		"  r12 %016llx r13 %016llx r14 %016llx r15 %016llx\n"
		"  cr0 %016llx cr2 %016llx cr3 %016llx cr4 %016llx efer %llx\n"
		"  cs %04x ds %04x ss %04x (cs.l %u cs.db %u)\n",
		r.rip, r.rsp, r.rflags, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.r8, r.r9, r.r10, r.r11,
		r.r12, r.r13, r.r14, r.r15, s.cr0, s.cr2, s.cr3, s.cr4, s.efer, s.cs.selector, s.ds.selector,
		s.ss.selector, s.cs.l, s.cs.db);
	dump_code(v, mem, r.rip);
}
