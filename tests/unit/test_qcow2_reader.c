/* tests/unit/test_qcow2_reader.c: the qcow2 reader on good, refused, corrupted and truncated images.
 *
 * Images come from our writer and are then damaged on purpose: every
 * damage must give a clean -1 (or, where it does not matter for reading,
 * correct data), never a crash; run under ASan+UBSan by make check.
 * Reading qemu-img's own images is covered by tests/integration/qcow2_matrix.sh.
 */
#include "test.h"

#include "qcow2_testlib.h"

#include "formats/reader.h"

#include <pthread.h>
#include <sys/mman.h>

static struct disk sample_disk(uint64_t size)
{
	struct disk d = {.size = size, .bytes = xcalloc(size, 1)};
	for (uint64_t pos = 0; pos + 70000 < size; pos += 150000 + rng() % 100000)
		fill_pattern(d.bytes + pos, 20000 + rng() % 50000, (int)(rng() % 3));
	return d;
}

struct image {
	unsigned char *bytes;
	size_t len;
};

static struct image make_image(const struct disk *d, struct image_options o)
{
	const char *path = scratch("base.qcow2");
	struct image im = {0};
	struct strbuf sb = STRBUF_INIT;
	if (write_image("qcow2", d, path, o) == 0 && read_file(path, &sb, 1u << 28) == 0) {
		im.len = sb.len;
		im.bytes = (unsigned char *)strbuf_detach(&sb);
	}
	return im;
}

/* Opens bytes[0..len) and reads the whole disk. Returns -1 if open or any
 * read fails, 0 if it all read, 1 if it read but differs from want. */
static int try_read(const unsigned char *bytes, size_t len, const struct disk *want)
{
	int fd = memfd_create("try.qcow2", MFD_CLOEXEC);
	if (fd < 0 || write_all(fd, bytes, len) < 0)
		return -1;
	struct qcow2_reader *r = qcow2_reader_open_fd(fd, "try.qcow2");
	int rc = -1;
	if (r) {
		uint64_t size = qcow2_reader_info(r)->virtual_size;
		if (size > 64u << 20)
			size = 64u << 20;
		unsigned char *buf = xmalloc(size ? size : 1);
		rc = qcow2_reader_pread(r, buf, size, 0);
		if (rc == 0 && want && (size < want->size || memcmp(buf, want->bytes, want->size)))
			rc = 1;
		free(buf);
		qcow2_reader_close(r);
	}
	close(fd);
	return rc;
}

static void poke64(unsigned char *p, uint64_t v) { put_be64(p, v); }

static void test_reads_back(void)
{
	struct disk d = sample_disk(6u << 20);
	for (int comp = COMPRESS_NONE; comp <= COMPRESS_ZSTD; comp++) {
		struct image im = make_image(&d, (struct image_options){.compress = (enum image_compress)comp});
		CHECK(im.bytes && try_read(im.bytes, im.len, &d) == 0);
		free(im.bytes);
	}
	disk_free(&d);
}

/* Header damage that must be refused at open. */
static void test_refused_headers(void)
{
	struct disk d = sample_disk(2u << 20);
	struct image im = make_image(&d, (struct image_options){.compress = COMPRESS_ZLIB});
	CHECK(im.bytes != NULL);
	static const struct {
		size_t off, width;
		uint64_t value;
		const char *what;
	} bad[] = {
		{QH_VERSION, 4, 1, "version 1"},
		{QH_VERSION, 4, 4, "version 4"},
		{QH_CLUSTER_BITS, 4, 8, "cluster bits 8"},
		{QH_CLUSTER_BITS, 4, 22, "cluster bits 22"},
		{QH_BACKING_OFFSET, 8, 4096, "backing file"},
		{QH_CRYPT_METHOD, 4, 2, "LUKS encryption"},
		{QH_L1_SIZE, 4, 0, "L1 too small"},
		{QH_L1_SIZE, 4, 0x7fffffff, "L1 absurd"},
		{QH_L1_OFFSET, 8, 0, "L1 over the header"},
		{QH_L1_OFFSET, 8, 100, "L1 unaligned"},
		{QH_L1_OFFSET, 8, 1ull << 40, "L1 beyond the file"},
		{QH_INCOMPATIBLE, 8, 1u << 1, "corrupt bit"},
		{QH_INCOMPATIBLE, 8, 1u << 2, "external data file"},
		{QH_INCOMPATIBLE, 8, 1u << 3, "zstd bit, deflate type"},
		{QH_INCOMPATIBLE, 8, 1u << 4, "extended L2"},
		{QH_INCOMPATIBLE, 8, 1ull << 40, "unknown feature"},
		{QH_REFCOUNT_ORDER, 4, 7, "refcount order 7"},
		{QH_HEADER_LENGTH, 4, 50, "header length 50"},
		{QH_HEADER_LENGTH, 4, 1u << 20, "header length beyond the cluster"},
		{QH_COMPRESSION_TYPE, 1, 2, "compression type 2"},
		{QH_COMPRESSION_TYPE, 1, 1, "zstd type without the bit"},
		{QH_SIZE, 8, 1ull << 62, "size beyond the L1 table"},
	};
	for (size_t i = 0; im.bytes && i < sizeof bad / sizeof bad[0]; i++) {
		unsigned char *copy = xmalloc(im.len);
		memcpy(copy, im.bytes, im.len);
		unsigned char *p = copy + bad[i].off;
		if (bad[i].width == 8)
			poke64(p, bad[i].value);
		else if (bad[i].width == 4)
			put_be32(p, (uint32_t)bad[i].value);
		else
			*p = (unsigned char)bad[i].value;
		int rc = try_read(copy, im.len, NULL);
		if (rc != -1)
			fprintf(stderr, "  not refused: %s\n", bad[i].what);
		CHECK(rc == -1);
		free(copy);
	}
	/* The dirty bit alone is fine for reading. */
	unsigned char *copy = xmalloc(im.len);
	memcpy(copy, im.bytes, im.len);
	poke64(copy + QH_INCOMPATIBLE, 1);
	CHECK(try_read(copy, im.len, &d) == 0);
	free(copy);
	free(im.bytes);
	disk_free(&d);
}

static uint64_t first_l2(const struct image *im, uint64_t *l1_entry_off)
{
	uint64_t l1 = get_be64(im->bytes + QH_L1_OFFSET);
	uint32_t n = get_be32(im->bytes + QH_L1_SIZE);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t e = get_be64(im->bytes + l1 + 8 * i) & QCOW2_OFFSET_MASK;
		if (e) {
			*l1_entry_off = l1 + 8 * i;
			return e;
		}
	}
	return 0;
}

/* L1/L2 entry damage: refused when read, never followed outside the file. */
static void test_bad_entries(void)
{
	struct disk d = sample_disk(2u << 20);
	for (int comp = COMPRESS_NONE; comp <= COMPRESS_ZSTD; comp++) {
		struct image im = make_image(&d, (struct image_options){.compress = (enum image_compress)comp, .cluster_size = 4096});
		uint64_t l1e = 0, l2 = first_l2(&im, &l1e);
		CHECK(l2 != 0);
		uint64_t first = get_be64(im.bytes + l2);
		static const uint64_t l1_bad[] = {QCOW2_OFLAG_COPIED | (1ull << 50), QCOW2_OFLAG_COPIED | 0x200 | 1,
						  1ull << 9, QCOW2_OFLAG_COPIED | 4096 | (1ull << 57)};
		for (size_t i = 0; i < 4; i++) {
			unsigned char *copy = xmalloc(im.len);
			memcpy(copy, im.bytes, im.len);
			poke64(copy + l1e, l1_bad[i]);
			CHECK(try_read(copy, im.len, NULL) == -1);
			free(copy);
		}
		uint64_t l2_bad[] = {
			QCOW2_OFLAG_COPIED | (1ull << 50),      /* beyond the file */
			QCOW2_OFLAG_COPIED | 4096 | 2,          /* reserved bit */
			QCOW2_OFLAG_COPIED | (4096 + 512),       /* misaligned */
			QCOW2_OFLAG_COPIED,                     /* fine: unallocated (reads zero, differs) */
			QCOW2_OFLAG_COMPRESSED | (im.len + 10), /* compressed beyond the file */
			QCOW2_OFLAG_COMPRESSED | 100,           /* compressed inside the header */
			(first & QCOW2_OFLAG_COMPRESSED) ? first + 7 : QCOW2_OFLAG_COMPRESSED | 4096 * 2,
		};
		for (size_t i = 0; i < sizeof l2_bad / sizeof l2_bad[0]; i++) {
			unsigned char *copy = xmalloc(im.len);
			memcpy(copy, im.bytes, im.len);
			poke64(copy + l2, l2_bad[i]);
			int rc = try_read(copy, im.len, &d);
			CHECK(rc != 0); /* an error, or (entry 3) different bytes */
			free(copy);
		}
		free(im.bytes);
	}
	disk_free(&d);
}

/* A v3 zero cluster reads as zero; in v2 it is corruption. */
static void test_zero_cluster_entry(void)
{
	struct disk d = sample_disk(2u << 20);
	for (int v = 2; v <= 3; v++) {
		struct image im = make_image(&d, (struct image_options){.version = v, .cluster_size = 4096});
		uint64_t l1e, l2 = first_l2(&im, &l1e);
		uint64_t e = get_be64(im.bytes + l2);
		poke64(im.bytes + l2, e | QCOW2_OFLAG_ZERO);
		struct disk want = {.size = d.size, .bytes = xmalloc(d.size)};
		memcpy(want.bytes, d.bytes, d.size);
		memset(want.bytes, 0, 4096);
		CHECK(try_read(im.bytes, im.len, &want) == (v == 3 ? 0 : -1));
		disk_free(&want);
		free(im.bytes);
	}
	disk_free(&d);
}

static void test_truncated(void)
{
	struct disk d = sample_disk(3u << 20);
	struct image im = make_image(&d, (struct image_options){.compress = COMPRESS_ZSTD, .cluster_size = 4096});
	int errors = 0;
	for (size_t cut = 0; cut < im.len; cut += 1 + cut / 3 + rng() % 1000) {
		int rc = try_read(im.bytes, cut, &d);
		errors += rc == -1;
		CHECK(rc != 1); /* never silently wrong */
	}
	CHECK(errors > 0);
	free(im.bytes);
	disk_free(&d);
}

/* Random damage anywhere: ASan and UBSan watch; anything but a crash is fine. */
static void test_random_damage(void)
{
	struct disk d = sample_disk(1u << 20);
	static const unsigned clusters[] = {512 * 8, 65536};
	for (int c = 0; c < 2; c++)
		for (int comp = COMPRESS_NONE; comp <= COMPRESS_ZSTD; comp++) {
			struct image im = make_image(&d, (struct image_options){.compress = (enum image_compress)comp,
										.cluster_size = clusters[c]});
			unsigned char *copy = xmalloc(im.len);
			for (int i = 0; i < 150; i++) {
				memcpy(copy, im.bytes, im.len);
				for (int k = 0; k < 1 + i % 5; k++) {
					size_t at = rng() % im.len;
					if (i % 2) /* aim at the metadata: header and the tables at the end */
						at = rng() % 2 ? rng() % 256 : im.len - 1 - rng() % (im.len < 4 * clusters[c] ? im.len : 4 * clusters[c]);
					copy[at] ^= (unsigned char)(1 + rng() % 255);
				}
				try_read(copy, im.len, NULL);
			}
			free(copy);
			free(im.bytes);
		}
	disk_free(&d);
}

struct reader_job {
	struct qcow2_reader *r;
	const struct disk *d;
	int failures;
	uint64_t seed;
};

static void *read_randomly(void *arg)
{
	struct reader_job *j = arg;
	unsigned char buf[100000];
	uint64_t s = j->seed;
	for (int i = 0; i < 300; i++) {
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		size_t len = 1 + (s >> 33) % sizeof buf;
		uint64_t off = (s >> 13) % (j->d->size - len);
		if (qcow2_reader_pread(j->r, buf, len, off) < 0 || memcmp(buf, j->d->bytes + off, len))
			j->failures++;
	}
	return NULL;
}

/* One reader shared by four threads (the VMM's block device use). */
static void test_threads_share_a_reader(void)
{
	struct disk d = sample_disk(8u << 20);
	const char *path = scratch("shared.qcow2");
	CHECK(write_image("qcow2", &d, path, (struct image_options){.compress = COMPRESS_ZLIB, .cluster_size = 8192}) == 0);
	int fd = open(path, O_RDONLY);
	struct qcow2_reader *r = qcow2_reader_open_fd(fd, path);
	CHECK(r != NULL);
	struct reader_job jobs[4];
	pthread_t t[4];
	for (int i = 0; r && i < 4; i++) {
		jobs[i] = (struct reader_job){.r = r, .d = &d, .seed = (uint64_t)i * 7919 + 1};
		pthread_create(&t[i], NULL, read_randomly, &jobs[i]);
	}
	for (int i = 0; r && i < 4; i++) {
		pthread_join(t[i], NULL);
		CHECK(jobs[i].failures == 0);
	}
	qcow2_reader_close(r);
	close(fd);
	disk_free(&d);
}

/* The generic reader: detection, status runs, refusal of other formats. */
static void test_generic_reader(void)
{
	struct disk d = sample_disk(2u << 20);
	const char *q = scratch("g.qcow2"), *raw = scratch("g.raw"), *vmdk = scratch("g.vmdk");
	CHECK(write_image("qcow2", &d, q, (struct image_options){0}) == 0);
	CHECK(write_bytes(raw, d.bytes, d.size) == 0);
	CHECK(write_bytes(vmdk, "KDMV\1\0\0\0", 8) == 0);
	struct image_reader *r = image_reader_open(q);
	CHECK(r && !strcmp(image_reader_format(r), "qcow2") && image_reader_size(r) == d.size);
	uint64_t run, covered = 0;
	while (r && covered < d.size) {
		int st = image_reader_status(r, covered, d.size - covered, &run);
		CHECK(st == IMAGE_DATA || st == IMAGE_ZERO);
		if (st < 0)
			break;
		if (st == IMAGE_ZERO)
			CHECK(buffer_is_zero(d.bytes + covered, run));
		covered += run;
	}
	CHECK(covered == d.size);
	image_reader_close(r);
	r = image_reader_open(raw);
	unsigned char buf[4096];
	CHECK(r && !strcmp(image_reader_format(r), "raw") && image_reader_pread(r, buf, 4096, 8192) == 0 &&
	      !memcmp(buf, d.bytes + 8192, 4096));
	image_reader_close(r);
	CHECK(image_reader_open(vmdk) == NULL);
	CHECK(image_reader_open(scratch("missing")) == NULL);
	disk_free(&d);
}

int main(void)
{
	RUN(test_reads_back);
	RUN(test_refused_headers);
	RUN(test_bad_entries);
	RUN(test_zero_cluster_entry);
	RUN(test_truncated);
	RUN(test_random_damage);
	RUN(test_threads_share_a_reader);
	RUN(test_generic_reader);
	scratch_cleanup();
	TEST_MAIN_END();
}
