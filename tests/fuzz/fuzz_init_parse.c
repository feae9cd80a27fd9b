/* tests/fuzz/fuzz_init_parse.c: apkg-init's parsers (command line, GUID, GPT) on hostile bytes.
 *
 * The first 512 bytes are a GPT header block (LBA 1 of a 64-block disk); the rest is both the
 * partition entry array and a command line, as init would read them from a disk and /proc.
 */
#include "initramfs/init_parse.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct boot_opts o;
	boot_opts_init(&o);
	boot_opts_parse(&o, (const char *)data, size);
	if (!strncmp(o.root, "PARTUUID=", 9)) {
		uint8_t guid[16];
		guid_parse(o.root + 9, guid);
	}
	if (size < 512)
		return 0;
	struct gpt_info g;
	if (gpt_parse_header(data, 512, 1, 64, &g) == 0) {
		static const uint8_t guid[16] = { 1, 2, 3 };
		size_t len = gpt_entries_bytes(&g);
		if (len <= size - 512)
			gpt_find_partition(data + 512, len, &g, guid);
	}
	return 0;
}
