/* vmm/pm.c: ACPI sleep control/status and reset registers (ACPI 6.5, 4.8.3.7 and 4.8.3.6). */
#include "vmm/pm.h"

#include "vmm/layout.h"

enum pm_request pm_io(uint16_t port, uint8_t *data, int is_write)
{
	if (!is_write) {
		*data = 0; /* sleep status: WAK_STS clear; the others read as 0 */
		return PM_NONE;
	}
	if (port == VMM_PORT_SLEEP_CONTROL && (*data & PM_SLP_EN) &&
	    ((*data & PM_SLP_TYP_MASK) >> PM_SLP_TYP_SHIFT) == VMM_SLEEP_TYPE_S5)
		return PM_POWEROFF;
	if (port == VMM_PORT_RESET && *data == VMM_RESET_VALUE)
		return PM_RESET;
	return PM_NONE;
}
