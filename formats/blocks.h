/* formats/blocks.h: cutting a stream of data extents into fixed-size blocks.
 *
 * Dynamic formats (VHDX, VDI) store whole blocks. Extents arrive in
 * increasing order but with any alignment; a block_cutter gathers partial
 * blocks (the rest reads as zero) and hands every block that holds data,
 * exactly once and in increasing order, to its emit callback. Whole
 * blocks are passed straight from the caller's buffer, without a copy.
 */
#ifndef APKG_FORMATS_BLOCKS_H
#define APKG_FORMATS_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

typedef int (*block_emit_fn)(void *arg, uint64_t block, const unsigned char *data);

struct block_cutter {
	uint64_t block_size;
	block_emit_fn emit;
	void *arg;
	int64_t cur;          /* block being gathered, -1 none */
	unsigned char *buf;   /* block_size bytes */
};

void block_cutter_init(struct block_cutter *c, uint64_t block_size, block_emit_fn emit, void *arg);
void block_cutter_release(struct block_cutter *c);
/* Feeds data at virtual offset off (increasing across calls). */
int block_cutter_data(struct block_cutter *c, uint64_t off, const void *data, size_t len);
/* Emits the block being gathered, if any. */
int block_cutter_flush(struct block_cutter *c);

#endif
