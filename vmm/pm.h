/* vmm/pm.h: the power-management registers of a hardware-reduced ACPI machine.
 *
 * The FADT points the guest at three I/O ports (vmm/layout.h): the sleep
 * control register, the sleep status register and the reset register.
 * ACPI 6.5, 4.8.3.7: a guest enters S5 by writing SLP_TYP (bits 2-4, the
 * value of the DSDT's _S5_ package) with SLP_EN (bit 5) to the sleep
 * control register; Linux's `poweroff` does exactly that. Writing the FADT's
 * RESET_VALUE to the reset register resets the machine (Linux's default
 * `reboot` method, BOOT_ACPI).
 */
#ifndef APKG_VMM_PM_H
#define APKG_VMM_PM_H

#include <stdint.h>

enum pm_request { PM_NONE, PM_POWEROFF, PM_RESET };

#define PM_SLP_EN 0x20
#define PM_SLP_TYP_SHIFT 2
#define PM_SLP_TYP_MASK 0x1c

enum pm_request pm_io(uint16_t port, uint8_t *data, int is_write);

#endif
