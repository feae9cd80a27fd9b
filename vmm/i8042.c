/* vmm/i8042.c: i8042 reset line only (cf. Firecracker's devices/legacy/i8042.rs). */
#include "vmm/i8042.h"

#include "vmm/layout.h"

int i8042_io(uint16_t port, uint8_t *data, int is_write)
{
	if (!is_write) {
		*data = 0; /* status: output and input buffers empty */
		return 0;
	}
	return port == VMM_PORT_I8042_CMD && *data == I8042_CMD_RESET;
}
