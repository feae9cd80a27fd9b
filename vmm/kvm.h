/* vmm/kvm.h: the KVM objects of one VM: /dev/kvm, the VM, its memory and its vCPUs.
 *
 * Setup follows the KVM API (Documentation/virt/kvm/api.rst): the TSS and
 * identity-map addresses, the in-kernel irqchip (PIC + IOAPIC + LAPICs) and
 * PIT, memory slots for the RAM regions, then vCPUs with their kvm_run
 * areas. Every failing ioctl is reported by name. kvm_dump_vcpu() prints the
 * registers and the code bytes at RIP, for KVM_EXIT_INTERNAL_ERROR.
 */
#ifndef APKG_VMM_KVM_H
#define APKG_VMM_KVM_H

#include "vmm/guest_mem.h"

#include <linux/kvm.h>
#include <stddef.h>

struct kvm_vm {
	int kvm_fd, vm_fd;
	size_t run_size;
};

struct kvm_vcpu {
	int fd;
	struct kvm_run *run;
};

int kvm_open(struct kvm_vm *vm, char *why, size_t n);
int kvm_create_machine(struct kvm_vm *vm, const struct guest_mem *mem);
int kvm_create_vcpu(struct kvm_vm *vm, unsigned index, struct kvm_vcpu *out);
void kvm_destroy_vcpu(struct kvm_vm *vm, struct kvm_vcpu *v);
void kvm_close(struct kvm_vm *vm);
/* Drives interrupt line gsi of the in-kernel irqchip. */
int kvm_irq_line(struct kvm_vm *vm, unsigned gsi, int level);
/* Registers, segments and the code bytes at RIP, on stderr. */
void kvm_dump_vcpu(const struct kvm_vcpu *v, const struct guest_mem *mem);

#endif
