/* tests/fuzz/fuzz_loader_entry.c: libFuzzer harness for the loader entry parsers
 * as validate/boot_entry.c uses them (inspect/bootcfg.c's parsers, the entry then taken apart):
 * the same bytes as a systemd-boot entry and as a syslinux.cfg. */
#include "validate/boot_entry.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct boot_entry_spec s;
	if (boot_entry_parse_bls((const char *)data, size, &s) == 0) {
		if (!s.linux_path || s.n_initrds > BOOT_ENTRY_MAX_INITRDS)
			__builtin_trap();
		boot_entry_spec_release(&s);
	}
	if (boot_entry_parse_syslinux((const char *)data, size, &s) == 0)
		boot_entry_spec_release(&s);
	return 0;
}
