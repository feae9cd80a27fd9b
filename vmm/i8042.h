/* vmm/i8042.h: the least of an i8042 keyboard controller: command 0xFE resets.
 *
 * Linux's `reboot=k` waits for the input buffer to be empty (status bit 1
 * clear) and writes 0xFE (pulse the reset line) to port 0x64; that is all
 * this device does. Reads of the status and data ports return 0.
 */
#ifndef APKG_VMM_I8042_H
#define APKG_VMM_I8042_H

#include <stdint.h>

#define I8042_CMD_RESET 0xfe

/* An access to port 0x60 (data) or 0x64 (command/status); returns 1 when the guest asked for a reset. */
int i8042_io(uint16_t port, uint8_t *data, int is_write);

#endif
