/* tests/fuzz/fuzz_bzimage.c: libFuzzer harness for the bzImage loader (vmm/boot.c).
 *
 * The input is a kernel file. Whatever its header claims, boot_load() must
 * either refuse it or place the kernel, the command line, the zero page and
 * a small initrd inside the 16 MiB of simulated guest RAM.
 */
#include "vmm/boot.h"
#include "vmm/layout.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define RAM (16u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *ram;
	if (!ram)
		ram = malloc(RAM);
	struct guest_mem mem;
	guest_mem_borrow(&mem, ram, RAM);
	static const uint8_t initrd[4096] = {1, 2, 3};
	struct boot_image img = {data, size, initrd, sizeof initrd, "console=ttyS0 apkg.check=1"};
	struct boot_layout b;
	if (boot_load(&mem, &img, VMM_ACPI_ADDR, &b) == 0) {
		if (b.kernel_end > RAM || b.initrd_addr + sizeof initrd > RAM || b.initrd_addr < b.kernel_end)
			abort();
	}
	return 0;
}
