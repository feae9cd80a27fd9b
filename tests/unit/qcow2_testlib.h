/* tests/unit/qcow2_testlib.h: helpers shared by the qcow2 unit tests.
 *
 * On top of formats_testlib.h (scratch, PRNG, synthetic disks, writing
 * through the image-writer interface): reading a qcow2 back through the
 * reader, and an independent metadata checker (refcounts recomputed from
 * every reference, COPIED flags, alignment), so a unit test fails without
 * needing qemu-img when the writer's metadata is wrong.
 */
#ifndef APKG_TESTS_QCOW2_TESTLIB_H
#define APKG_TESTS_QCOW2_TESTLIB_H

#define FORMATS_TESTLIB_SEED 88172645463325252ull
#include "formats_testlib.h"

#include "formats/qcow2/qcow2_format.h"
#include "formats/qcow2/qcow2_reader.h"

/* Reads the whole virtual disk of a qcow2 file; 0 if it equals want. */
static inline int read_back_equals(const char *path, const unsigned char *want, uint64_t size)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	struct qcow2_reader *r = qcow2_reader_open_fd(fd, path);
	int rc = -1;
	if (r && qcow2_reader_info(r)->virtual_size >= size) {
		unsigned char *buf = xmalloc(size ? size : 1);
		rc = qcow2_reader_pread(r, buf, size, 0);
		if (rc == 0 && memcmp(buf, want, size))
			rc = -2;
		free(buf);
	}
	qcow2_reader_close(r);
	close(fd);
	return rc;
}

/* ---- an independent qcow2 metadata checker ---- */

struct check {
	unsigned char *f;
	uint64_t fsize, cs;
	unsigned bits;
	uint32_t *expect; /* recomputed refcounts per host cluster */
	uint64_t nclusters;
	int errors;
};

static inline void ref_range(struct check *c, uint64_t off, uint64_t len)
{
	if (!len)
		return;
	for (uint64_t k = off / c->cs; k <= (off + len - 1) / c->cs; k++) {
		if (k >= c->nclusters) {
			fprintf(stderr, "check: reference to cluster %llu beyond the file\n", (unsigned long long)k);
			c->errors++;
			return;
		}
		c->expect[k]++;
	}
}

static inline void check_l2(struct check *c, uint64_t l2off)
{
	unsigned shift = qcow2_csize_shift(c->bits);
	for (uint64_t i = 0; i < c->cs / 8; i++) {
		uint64_t e = get_be64(c->f + l2off + 8 * i);
		if (e & QCOW2_OFLAG_COMPRESSED) {
			if (e & QCOW2_OFLAG_COPIED) {
				fprintf(stderr, "check: COPIED on a compressed entry\n");
				c->errors++;
			}
			uint64_t d = e & ~(3ull << 62), off = d & ((1ull << shift) - 1);
			uint64_t n = (d >> shift) + 1;
			ref_range(c, off & ~511ull, n * 512);
		} else if (e & QCOW2_OFFSET_MASK) {
			uint64_t off = e & QCOW2_OFFSET_MASK;
			if (!(e & QCOW2_OFLAG_COPIED) || off % c->cs) {
				fprintf(stderr, "check: bad standard L2 entry %llx\n", (unsigned long long)e);
				c->errors++;
			}
			ref_range(c, off, c->cs);
		}
	}
}

/* Returns the number of problems found (0 = clean, like qemu-img check). */
static inline int check_image(const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	if (read_file(path, &sb, 1u << 30) < 0)
		return 1;
	struct check c = {.f = (unsigned char *)sb.buf, .fsize = sb.len};
	c.bits = get_be32(c.f + QH_CLUSTER_BITS);
	c.cs = 1ull << c.bits;
	if (c.fsize % c.cs) {
		fprintf(stderr, "check: file size %llu not a cluster multiple\n", (unsigned long long)c.fsize);
		c.errors++;
	}
	c.nclusters = (c.fsize + c.cs - 1) / c.cs;
	c.expect = xcalloc(c.nclusters + 1, sizeof *c.expect);
	ref_range(&c, 0, c.cs);
	uint32_t l1_size = get_be32(c.f + QH_L1_SIZE);
	uint64_t l1off = get_be64(c.f + QH_L1_OFFSET);
	ref_range(&c, l1off, (uint64_t)l1_size * 8);
	for (uint32_t i = 0; i < l1_size && !c.errors; i++) {
		uint64_t e = get_be64(c.f + l1off + 8 * i), off = e & QCOW2_OFFSET_MASK;
		if (!off)
			continue;
		if (!(e & QCOW2_OFLAG_COPIED)) {
			fprintf(stderr, "check: L1 entry %u without COPIED\n", i);
			c.errors++;
		}
		ref_range(&c, off, c.cs);
		check_l2(&c, off);
	}
	uint64_t rt = get_be64(c.f + QH_REFTABLE_OFFSET);
	uint32_t rt_clusters = get_be32(c.f + QH_REFTABLE_CLUSTERS);
	ref_range(&c, rt, rt_clusters * c.cs);
	uint64_t rb_entries = c.cs / 2;
	for (uint64_t i = 0; i < rt_clusters * c.cs / 8; i++) {
		uint64_t rb = get_be64(c.f + rt + 8 * i);
		if (!rb)
			continue;
		ref_range(&c, rb, c.cs);
		for (uint64_t k = 0; k < rb_entries; k++) {
			uint64_t cl = i * rb_entries + k;
			uint32_t have = get_be16(c.f + rb + 2 * k);
			if (cl >= c.nclusters && have) {
				fprintf(stderr, "check: refcount %u for cluster %llu beyond the file\n", have,
					(unsigned long long)cl);
				c.errors++;
			}
		}
	}
	for (uint64_t k = 0; k < c.nclusters; k++) {
		uint64_t blk = k / rb_entries;
		uint64_t rb = blk < rt_clusters * c.cs / 8 ? get_be64(c.f + rt + 8 * blk) : 0;
		uint32_t have = rb ? get_be16(c.f + rb + 2 * (k % rb_entries)) : 0;
		if (have != c.expect[k]) {
			fprintf(stderr, "check: cluster %llu refcount %u, referenced %u times\n", (unsigned long long)k, have,
				c.expect[k]);
			if (++c.errors > 10)
				break;
		}
	}
	free(c.expect);
	strbuf_release(&sb);
	return c.errors;
}

#endif
