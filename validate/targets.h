/* validate/targets.h: the machines `apkg test` boots an appliance on.
 *
 * A target is a named QEMU (TCG, never KVM) machine definition that
 * presents the virtual hardware of one hypervisor: firmware, chipset, disk
 * controller, NIC and SMBIOS vendor strings. It also says which shipped
 * artifact formats that hypervisor uses (in order of preference) and which
 * kernel drivers the appliance needs to boot on it, so apkg can fail fast,
 * before booting, when the kernel lacks one. `vmm` is not QEMU: it boots on
 * apkg's bundled micro-VMM (validate/vmm_target.c), and only where hardware
 * virtualization makes a stock kernel boot in useful time.
 */
#ifndef APKG_VALIDATE_TARGETS_H
#define APKG_VALIDATE_TARGETS_H

#include <stddef.h>
#include <stdint.h>

/* DISK_VMM_VIRTIO_MMIO: the micro-VMM's own virtio-mmio disk (not a QEMU machine). */
enum target_disk { DISK_NONE, DISK_VIRTIO, DISK_AHCI, DISK_AHCI_Q35, DISK_PVSCSI, DISK_NVME, DISK_VMM_VIRTIO_MMIO };

#define TARGET_IS_VMM(t) ((t)->disk == DISK_VMM_VIRTIO_MMIO)

struct target {
	const char *name;
	const char *description;
	int uefi;                   /* OVMF with a fresh VARS copy; else SeaBIOS */
	const char *machine;        /* QEMU machine type */
	enum target_disk disk;
	const char *nic;            /* QEMU NIC model, or NULL for the recipe's hardware.nic */
	const char *smbios;         /* -smbios type=1 vendor strings, or NULL */
	const char *formats[6];     /* shipped formats it boots, best first */
	const char *drivers[4];     /* kernel drivers its disk needs (besides the console's) */
	const char *skip;           /* always skipped with this reason (not implemented yet) */
	const char *approximation;  /* how it differs from the real hypervisor, or NULL */
};

const struct target *target_find(const char *name);
size_t target_count(void);
const struct target *target_at(size_t i);
/* "qemu-bios, qemu-uefi, ..." (static storage). */
const char *target_names(void);

/* The kernel driver every target needs for its serial console. */
#define TARGET_CONSOLE_DRIVER "serial_8250"

struct qemu_setup {
	const struct target *target;
	const char *disk_path, *disk_format; /* QEMU format name */
	const char *ovmf_code, *ovmf_vars;   /* UEFI only: firmware and the VARS copy */
	uint64_t memory_mib;
	int cpus;
	const char *recipe_nic;              /* the recipe's hardware.nic */
	const char *fw_cfg_cmdline;          /* "apkg.check=1 apkg.deadline=120" */
};

/* QEMU's name for a recipe NIC ("e1000", "virtio", "vmxnet3"); NULL if unknown. */
const char *qemu_nic_model(const char *recipe_nic);
/* The full QEMU command line, NULL-terminated (free with argv_free). */
char **qemu_argv(const char *qemu, const struct qemu_setup *s);
void argv_free(char **argv);
/* The OVMF CODE and VARS pair installed on this host, or -1 if none. */
int ovmf_find(const char **code, const char **vars);

#endif
