/* formats/blocks.c: see blocks.h. */
#include "formats/blocks.h"

#include "util/strbuf.h"

#include <stdlib.h>
#include <string.h>

void block_cutter_init(struct block_cutter *c, uint64_t block_size, block_emit_fn emit, void *arg)
{
	c->block_size = block_size;
	c->emit = emit;
	c->arg = arg;
	c->cur = -1;
	c->buf = xmalloc(block_size);
}

void block_cutter_release(struct block_cutter *c)
{
	free(c->buf);
	c->buf = NULL;
}

int block_cutter_flush(struct block_cutter *c)
{
	if (c->cur < 0)
		return 0;
	uint64_t b = (uint64_t)c->cur;
	c->cur = -1;
	return c->emit(c->arg, b, c->buf);
}

int block_cutter_data(struct block_cutter *c, uint64_t off, const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t bs = c->block_size;
	while (len) {
		uint64_t b = off / bs, in = off % bs;
		if (c->cur >= 0 && (uint64_t)c->cur != b && block_cutter_flush(c) < 0)
			return -1;
		if (in == 0 && len >= bs && c->cur < 0) {
			if (c->emit(c->arg, b, p) < 0)
				return -1;
			off += bs, p += bs, len -= (size_t)bs;
			continue;
		}
		if (c->cur < 0) {
			memset(c->buf, 0, bs);
			c->cur = (int64_t)b;
		}
		size_t k = bs - in < len ? (size_t)(bs - in) : len;
		memcpy(c->buf + in, p, k);
		off += k, p += k, len -= k;
		if (in + k == bs && block_cutter_flush(c) < 0)
			return -1;
	}
	return 0;
}
