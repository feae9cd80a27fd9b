/* tests/fuzz/fuzz_gpt.c: libFuzzer harness for the GPT reader (formats/gpt/).
 *
 * The input is the beginning of a 1 MiB disk (the rest reads as zeros, so
 * the backup header at the last LBA is absent unless the input reaches it).
 * Every partition the reader returns must lie inside the disk.
 */
#include "formats/gpt/gpt_reader.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DISK (1 << 20)

struct input {
	const uint8_t *data;
	size_t size;
};

static int read_input(void *ctx, void *buf, size_t len, uint64_t off)
{
	const struct input *in = ctx;
	if (off > DISK || len > DISK - off)
		return -1;
	memset(buf, 0, len);
	if (off < in->size)
		memcpy(buf, in->data + off, in->size - off < len ? in->size - off : len);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size < DISK ? size : DISK};
	struct gpt_table *t = malloc(sizeof *t);
	if (gpt_read_table(read_input, &in, DISK, t) == 0) {
		for (unsigned i = 0; i < t->n_parts; i++)
			if (t->part[i].first_lba > t->part[i].last_lba || t->part[i].last_lba >= DISK / 512)
				abort();
		const struct gpt_part_info *esp = gpt_find_esp(t);
		char text[37];
		if (esp)
			gpt_guid_to_text(esp->unique_guid, text);
	}
	free(t);
	return 0;
}
