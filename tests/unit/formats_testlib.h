/* tests/unit/formats_testlib.h: helpers shared by the VMDK, VHDX, VDI and OVA unit tests.
 *
 * A scratch directory, a deterministic PRNG, synthetic sparse disks, and
 * writing a disk through any registered format with the real zero
 * detection of extents_stream(). Oracles that need no qemu-img live in the
 * tests themselves (independent readers written from the specifications).
 */
#ifndef APKG_TESTS_FORMATS_TESTLIB_H
#define APKG_TESTS_FORMATS_TESTLIB_H

#include "formats/extents.h"
#include "formats/writer.h"
#include "util/io.h"
#include "util/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char scratch_dir[256];

static inline const char *scratch(const char *name)
{
	static char path[8][512];
	static int i;
	if (!scratch_dir[0]) {
		strcpy(scratch_dir, "/tmp/apkg-formats-test.XXXXXX");
		if (!mkdtemp(scratch_dir))
			abort();
	}
	char *p = path[i++ % 8];
	snprintf(p, 512, "%s/%s", scratch_dir, name);
	return p;
}

static inline void scratch_cleanup(void)
{
	if (scratch_dir[0])
		rm_rf(scratch_dir);
}

static uint64_t rng_state = 0x2545f4914f6cdd1dull;
static inline uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

struct disk {
	uint64_t size;
	unsigned char *bytes;
};

static inline void disk_free(struct disk *d) { free(d->bytes); }

/* Runs of random bytes, text and single bytes at random offsets, with holes. */
static inline struct disk random_disk(uint64_t size, uint64_t max_run)
{
	struct disk d = {.size = size, .bytes = calloc(size ? size : 1, 1)};
	static const char words[] = "the quick brown fox jumps over the lazy appliance builder ";
	uint64_t pos = rng() % 3000;
	while (pos < size) {
		uint64_t len = 1 + rng() % max_run;
		if (len > size - pos)
			len = size - pos;
		int kind = (int)(rng() % 4);
		for (uint64_t i = 0; i < len && kind < 3; i++)
			d.bytes[pos + i] = kind == 0 ? (unsigned char)rng() : kind == 1 ? (unsigned char)words[i % (sizeof words - 1)]
										     : (unsigned char)(i == len / 2 ? 0x5a : 0);
		pos += len + (rng() % 2 ? rng() % (3 * max_run) : 0);
	}
	return d;
}

/* Writes d through the named format (zero detection by extents_stream). */
static inline int write_image(const char *format, const struct disk *d, const char *path, struct image_options o)
{
	o.virtual_size = d->size;
	o.no_sync = 1;
	struct image_writer *w = image_writer_open(image_format_find(format), path, &o);
	if (!w)
		return -1;
	struct disk_layout l;
	disk_layout_init(&l, d->size);
	if (d->size)
		disk_layout_add_mem(&l, 0, d->bytes, d->size);
	int r = extents_stream(&l, w, NULL, NULL);
	disk_layout_release(&l);
	if (r < 0) {
		image_writer_abort(w);
		return -1;
	}
	return image_writer_finish(w);
}

static inline int load(const char *path, struct strbuf *sb)
{
	strbuf_reset(sb);
	return read_file(path, sb, 1u << 30);
}

static inline int files_equal(const char *a, const char *b)
{
	struct strbuf x = STRBUF_INIT, y = STRBUF_INIT;
	int eq = load(a, &x) == 0 && load(b, &y) == 0 && x.len == y.len && !memcmp(x.buf, y.buf, x.len);
	strbuf_release(&x);
	strbuf_release(&y);
	return eq;
}

static inline uint32_t le32(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static inline uint64_t le64(const unsigned char *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }

#endif
