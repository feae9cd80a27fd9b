/* formats/content_id.c: see content_id.h. */
#include "formats/content_id.h"

#include "formats/le.h"

#include <libdeflate.h>
#include <stdio.h>
#include <string.h>

void content_id_init(struct content_id *c, const char *seed, uint64_t virtual_size)
{
	sha256_init(&c->sha);
	unsigned char size[8];
	put_le64(size, virtual_size);
	sha256_update(&c->sha, size, sizeof size);
	snprintf(c->seed, sizeof c->seed, "%.80s", seed ? seed : "");
}

void content_id_add(struct content_id *c, uint64_t block, uint32_t adler32)
{
	unsigned char rec[12];
	put_le64(rec, block);
	put_le32(rec + 8, adler32);
	sha256_update(&c->sha, rec, sizeof rec);
}

void content_id_add_data(struct content_id *c, uint64_t block, const void *data, size_t len)
{
	content_id_add(c, block, libdeflate_adler32(1, data, len));
}

const char *content_id_finish(struct content_id *c)
{
	uint8_t d[32];
	char hex[65];
	sha256_final(&c->sha, d);
	sha256_hex(d, hex);
	size_t n = strlen(c->seed);
	snprintf(c->seed + n, sizeof c->seed - n, "/%s", hex);
	return c->seed;
}
