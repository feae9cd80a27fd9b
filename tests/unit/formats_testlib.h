/* tests/unit/formats_testlib.h: helpers shared by the image format unit tests
 * (qcow2, VMDK, VHDX, VDI, OVA).
 *
 * A scratch directory, a deterministic PRNG, synthetic sparse disks, and
 * writing a disk through any registered format with the real zero
 * detection of extents_stream(). Oracles that need no qemu-img live in the
 * tests themselves (independent readers written from the specifications),
 * or in a format's own testlib (qcow2_testlib.h).
 */
#ifndef APKG_TESTS_FORMATS_TESTLIB_H
#define APKG_TESTS_FORMATS_TESTLIB_H

#include "formats/extents.h"
#include "formats/writer.h"
#include "util/io.h"
#include "util/strbuf.h"

#include <fcntl.h>
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

/* A test file may pick its own seed (defined before this header is
 * included), so that its data stays what its checks were written for. */
#ifndef FORMATS_TESTLIB_SEED
#define FORMATS_TESTLIB_SEED 0x2545f4914f6cdd1dull
#endif
static uint64_t rng_state = FORMATS_TESTLIB_SEED;
static inline uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Fills buf with one of: random bytes, compressible text, a single byte. */
static inline void fill_pattern(unsigned char *buf, size_t len, int kind)
{
	if (kind == 0) {
		for (size_t i = 0; i < len; i++)
			buf[i] = (unsigned char)rng();
	} else if (kind == 1) {
		static const char words[] = "the quick brown fox jumps over the lazy appliance builder ";
		for (size_t i = 0; i < len; i++)
			buf[i] = (unsigned char)words[(i + (rng() % 3 == 0)) % (sizeof words - 1)];
	} else {
		memset(buf, 0, len);
		buf[len / 2] = (unsigned char)(1 + rng() % 255);
	}
}

/* Plain write, no fsync (tests write thousands of small files). */
static inline int write_bytes(const char *path, const void *bytes, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -1;
	int r = write_all(fd, bytes, len);
	close(fd);
	return r;
}

struct disk {
	uint64_t size;
	unsigned char *bytes; /* the expected content */
};

static inline void disk_free(struct disk *d) { free(d->bytes); }

/* A disk of `size` bytes with runs of random, text and single-byte data at
 * random offsets and lengths (many off cluster and sector boundaries),
 * explicit zero runs and holes. */
static inline struct disk random_disk(uint64_t size, uint64_t max_run)
{
	struct disk d = {.size = size, .bytes = xcalloc(size ? size : 1, 1)};
	uint64_t pos = rng() % 3000;
	while (pos < size) {
		uint64_t len = 1 + rng() % max_run;
		if (len > size - pos)
			len = size - pos;
		int kind = (int)(rng() % 4);
		if (kind < 3)
			fill_pattern(d.bytes + pos, (size_t)len, kind);
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
