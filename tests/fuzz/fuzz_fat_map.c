/* tests/fuzz/fuzz_fat_map.c: the FAT structure map against hostile volumes.
 *
 * The first 8 bytes are the offset to describe (little-endian), the rest is
 * the volume. fat_describe() must answer or refuse without reading outside
 * the buffer, looping on a cyclic cluster chain or recursing without end.
 */
#include "repro/fat_map.h"
#include "util/strbuf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 8)
		return 0;
	uint64_t off = 0;
	for (int i = 7; i >= 0; i--)
		off = off << 8 | data[i];
	/* A private copy: the map must not rely on reading past the end. */
	size_t len = size - 8;
	uint8_t *img = malloc(len ? len : 1);
	memcpy(img, data + 8, len);
	struct strbuf out = STRBUF_INIT;
	fat_describe(img, len, len ? off % (len + 16) : off, &out);
	strbuf_release(&out);
	free(img);
	return 0;
}
