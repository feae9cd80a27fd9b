/* validate/vmm_target.h: the `vmm` target of `apkg test`: an artifact booted on the micro-VMM.
 *
 * The appliance boots the way `apkg boot --vmm` boots it: the kernel,
 * initrd and command line of its own loader entry (read from the ESP), the
 * artifact as the virtio disk behind a private overlay, and the check flag
 * on the real kernel command line ("apkg.check=1 apkg.deadline=N": the VMM
 * has no fw_cfg). The serial console is fed to validate/console.c as it
 * arrives, and the result is a boot_outcome that boot_judge() decides like
 * any QEMU boot. vmm_target_usable() says whether a stock kernel can boot
 * here at all (hardware virtualization), with the reason when not;
 * APKG_VMM_FORCE=1 lets any /dev/kvm do (apkg's tests, with tiny guests).
 */
#ifndef APKG_VALIDATE_VMM_TARGET_H
#define APKG_VALIDATE_VMM_TARGET_H

#include "validate/boot.h"

#include <stddef.h>
#include <stdint.h>

struct vmm_target_run {
	const char *image;         /* raw or qcow2 artifact */
	const char *check_cmdline; /* appended to the entry's options */
	int deadline_s;
	uint64_t memory;
	int cpus;
};

int vmm_target_usable(char *why, size_t n);
/* Returns 0 with *out filled (free with boot_outcome_free), or -1 with the
 * reason in *why (malloc'd) when the boot could not even be set up. */
int vmm_target_boot(const struct vmm_target_run *r, struct boot_outcome *out, char **why);

#endif
