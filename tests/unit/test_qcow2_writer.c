/* tests/unit/test_qcow2_writer.c: the qcow2 writer against an independent checker and our reader.
 *
 * Every image written here is checked for exact refcounts and COPIED flags
 * by qcow2_testlib.h's checker and read back through the reader. qemu-img
 * is the oracle in tests/integration/qcow2_matrix.sh; these tests run
 * without it, under ASan+UBSan too.
 */
#include "test.h"

#include "qcow2_testlib.h"

#include <dirent.h>
#include <sys/resource.h>
#include <sys/stat.h>

static void roundtrip(const struct disk *d, unsigned cs, enum image_compress comp, int version)
{
	const char *path = scratch("rt.qcow2");
	struct image_options o = {.cluster_size = cs, .compress = comp, .version = version, .threads = 2};
	CHECK(write_image("qcow2", d, path, o) == 0);
	int problems = check_image(path);
	int back = read_back_equals(path, d->bytes, d->size);
	if (problems || back)
		fprintf(stderr, "  size %llu cluster %u compress %d version %d: %d problems, read-back %d\n",
			(unsigned long long)d->size, cs, comp, version, problems, back);
	CHECK(problems == 0);
	CHECK(back == 0);
}

static void test_roundtrip_matrix(void)
{
	static const uint64_t sizes[] = {1, 511, 4096 * 3 + 17, (1u << 20) + 12345, 5u << 20};
	static const unsigned clusters[] = {4096, 65536, 2u << 20};
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
		struct disk d = random_disk(sizes[s], 70000);
		for (size_t c = 0; c < 3; c++)
			for (int comp = COMPRESS_NONE; comp <= COMPRESS_ZSTD; comp++)
				for (int v = 2; v <= 3; v++)
					if (!(v == 2 && comp == COMPRESS_ZSTD))
						roundtrip(&d, clusters[c], (enum image_compress)comp, v);
		disk_free(&d);
	}
}

static void test_empty_and_all_zero(void)
{
	struct disk d = {.size = 0, .bytes = xcalloc(1, 1)};
	roundtrip(&d, 0, COMPRESS_NONE, 0);
	disk_free(&d);
	d = (struct disk){.size = 3u << 20, .bytes = xcalloc(3u << 20, 1)};
	const char *path = scratch("zero.qcow2");
	CHECK(write_image("qcow2", &d, path, (struct image_options){.compress = COMPRESS_ZLIB}) == 0);
	CHECK(check_image(path) == 0);
	struct stat st;
	CHECK(stat(path, &st) == 0 && st.st_size == 4 * 65536); /* header, L1, reftable, refblock */
	disk_free(&d);
}

/* Every cluster holding a non-zero byte is allocated, no other. */
static void test_zero_clusters_never_allocated(void)
{
	struct disk d = random_disk(4u << 20, 9000);
	const char *path = scratch("alloc.qcow2");
	CHECK(write_image("qcow2", &d, path, (struct image_options){.cluster_size = 4096}) == 0);
	int fd = open(path, O_RDONLY);
	struct qcow2_reader *r = qcow2_reader_open_fd(fd, path);
	CHECK(r != NULL);
	for (uint64_t off = 0; r && off < d.size; off += 4096) {
		uint64_t run;
		int st = qcow2_reader_status(r, off, 4096, &run);
		int nonzero = !buffer_is_zero(d.bytes + off, 4096);
		CHECK(st == (nonzero ? QCOW2_DATA : QCOW2_UNALLOCATED));
	}
	qcow2_reader_close(r);
	close(fd);
	disk_free(&d);
}

static void test_threads_byte_identical(void)
{
	struct disk d = random_disk(6u << 20, 200000);
	for (int comp = COMPRESS_ZLIB; comp <= COMPRESS_ZSTD; comp++) {
		const char *one = scratch("t1.qcow2"), *four = scratch("t4.qcow2"), *three = scratch("t3.qcow2");
		struct image_options o = {.compress = (enum image_compress)comp, .cluster_size = 16384, .threads = 1};
		CHECK(write_image("qcow2", &d, one, o) == 0);
		o.threads = 4;
		CHECK(write_image("qcow2", &d, four, o) == 0);
		o.threads = 3;
		CHECK(write_image("qcow2", &d, three, o) == 0);
		CHECK(files_equal(one, four));
		CHECK(files_equal(one, three));
	}
	disk_free(&d);
}

/* Clusters that compress to a few bytes pack hundreds of blobs into one
 * host cluster: refcounts far above 1 must still be exact. */
static void test_tiny_blobs_share_clusters(void)
{
	static const unsigned clusters[] = {4096, 2u << 20};
	for (int c = 0; c < 2; c++)
		for (int comp = COMPRESS_ZLIB; comp <= COMPRESS_ZSTD; comp++) {
			uint64_t cs = clusters[c], n = c ? 24 : 3000;
			struct disk d = {.size = cs * n, .bytes = xcalloc(cs * n, 1)};
			for (uint64_t i = 0; i < n; i++)
				d.bytes[i * cs + (i * 7) % cs] = (unsigned char)(i | 1);
			roundtrip(&d, (unsigned)cs, (enum image_compress)comp, 3);
			disk_free(&d);
		}
}

/* 4 KiB clusters: one refcount block covers only 8 MiB of file, so a
 * 24 MiB image writes several mid-stream and the last ones at the end. */
static void test_many_refcount_blocks(void)
{
	struct disk d = {.size = 24u << 20, .bytes = xmalloc(24u << 20)};
	fill_pattern(d.bytes, d.size, 0);
	roundtrip(&d, 4096, COMPRESS_NONE, 3);
	/* Half random, half text: blobs of ~2 KiB that often span two host
	 * clusters, over several refcount blocks. */
	for (uint64_t off = 0; off < d.size; off += 4096)
		fill_pattern(d.bytes + off, 2048, 1);
	roundtrip(&d, 4096, COMPRESS_ZLIB, 2);
	roundtrip(&d, 4096, COMPRESS_ZSTD, 3);
	disk_free(&d);
}

static long max_rss_kib(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* 100 GiB virtual, data at the start, the middle and the very end. */
static void test_huge_sparse(void)
{
	static const unsigned clusters[] = {4096, 65536};
	uint64_t size = 100ull << 30;
	uint64_t where[] = {0, (50ull << 30) + 7, size - 4096};
	unsigned char block[4096];
	for (int c = 0; c < 2; c++) {
		long rss0 = max_rss_kib();
		const char *path = scratch("huge.qcow2");
		struct image_options o = {.virtual_size = size, .cluster_size = clusters[c], .compress = COMPRESS_ZSTD};
		struct image_writer *w = image_writer_open(image_format_find("qcow2"), path, &o);
		CHECK(w != NULL);
		for (int i = 0; w && i < 3; i++) {
			memset(block, 'a' + i, sizeof block);
			CHECK(image_writer_data(w, where[i], block, sizeof block) == 0);
		}
		CHECK(w && image_writer_finish(w) == 0);
		struct stat st;
		CHECK(stat(path, &st) == 0 && st.st_size < (2 << 20));
		CHECK(check_image(path) == 0);
		CHECK(max_rss_kib() - rss0 < 64 * 1024);
		int fd = open(path, O_RDONLY);
		struct qcow2_reader *r = qcow2_reader_open_fd(fd, path);
		CHECK(r && qcow2_reader_info(r)->virtual_size == size);
		for (int i = 0; r && i < 3; i++) {
			CHECK(qcow2_reader_pread(r, block, sizeof block, where[i]) == 0);
			CHECK(block[0] == 'a' + i && block[4095] == 'a' + i);
		}
		uint64_t run = 0;
		CHECK(r && qcow2_reader_status(r, 1u << 20, size, &run) == QCOW2_UNALLOCATED && run > (40ull << 30));
		qcow2_reader_close(r);
		close(fd);
	}
}

static void test_refused_options(void)
{
	const char *path = scratch("bad.qcow2");
	const struct image_format *f = image_format_find("qcow2");
	struct image_options bad[] = {
		{.virtual_size = 1 << 20, .cluster_size = 1000},
		{.virtual_size = 1 << 20, .cluster_size = 2048},
		{.virtual_size = 1 << 20, .cluster_size = 4u << 20},
		{.virtual_size = 1 << 20, .version = 4},
		{.virtual_size = 1 << 20, .version = 2, .compress = COMPRESS_ZSTD},
		{.virtual_size = 16ull << 40, .cluster_size = 4096}, /* L1 over 32 MiB */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct image_writer *w = image_writer_open(f, path, &bad[i]);
		CHECK(w == NULL);
		image_writer_abort(w);
	}
	CHECK(!path_exists(path));
}

static int dir_entries(const char *dir)
{
	int n = 0;
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static void test_abort_leaves_nothing(void)
{
	const char *dir = scratch("abort");
	mkdir_p(dir, 0755);
	char *path = path_join(dir, "x.qcow2");
	struct image_options o = {.virtual_size = 8 << 20, .compress = COMPRESS_ZLIB};
	struct image_writer *w = image_writer_open(image_format_find("qcow2"), path, &o);
	unsigned char buf[70000];
	fill_pattern(buf, sizeof buf, 1);
	CHECK(w && image_writer_data(w, 100, buf, sizeof buf) == 0);
	CHECK(w && image_writer_data(w, 50, buf, 10) < 0); /* out of order: refused */
	image_writer_abort(w);
	CHECK(dir_entries(dir) == 0);
	free(path);
}

/* Same input, same bytes; and the header fields qemu relies on. */
static void test_header_fields(void)
{
	struct disk d = random_disk(1u << 20, 30000);
	const char *a = scratch("h1.qcow2"), *b = scratch("h2.qcow2");
	CHECK(write_image("qcow2", &d, a, (struct image_options){.compress = COMPRESS_ZSTD}) == 0);
	CHECK(write_image("qcow2", &d, b, (struct image_options){.compress = COMPRESS_ZSTD}) == 0);
	CHECK(files_equal(a, b));
	struct strbuf sb = STRBUF_INIT;
	CHECK(read_file(a, &sb, 1u << 26) == 0);
	const unsigned char *h = (const unsigned char *)sb.buf;
	CHECK(get_be32(h + QH_VERSION) == 3);
	CHECK(get_be32(h + QH_CLUSTER_BITS) == 16);
	CHECK(get_be64(h + QH_INCOMPATIBLE) == QCOW2_INCOMPAT_COMPRESSION);
	CHECK(get_be32(h + QH_REFCOUNT_ORDER) == 4);
	CHECK(get_be32(h + QH_HEADER_LENGTH) == 112);
	CHECK(h[QH_COMPRESSION_TYPE] == 1);
	CHECK(get_be32(h + 112) == QCOW2_EXT_FEATURE_NAMES);
	strbuf_release(&sb);
	CHECK(write_image("qcow2", &d, a, (struct image_options){.version = 2, .compress = COMPRESS_ZLIB}) == 0);
	CHECK(read_file(a, &sb, 1u << 26) == 0);
	h = (const unsigned char *)sb.buf;
	CHECK(get_be32(h + QH_VERSION) == 2);
	CHECK(get_be64(h + QH_SIZE) == 1u << 20);
	CHECK(buffer_is_zero(h + QH_V2_LENGTH, 4096 - QH_V2_LENGTH));
	strbuf_release(&sb);
	disk_free(&d);
}

/* A virtual size off the 512-byte grid is stored rounded up (qemu counts sectors). */
static void test_size_rounded_to_sector(void)
{
	struct disk d = random_disk(1000, 300);
	const char *path = scratch("odd.qcow2");
	CHECK(write_image("qcow2", &d, path, (struct image_options){0}) == 0);
	int fd = open(path, O_RDONLY);
	struct qcow2_reader *r = qcow2_reader_open_fd(fd, path);
	CHECK(r && qcow2_reader_info(r)->virtual_size == 1024);
	qcow2_reader_close(r);
	close(fd);
	disk_free(&d);
}

int main(void)
{
	RUN(test_roundtrip_matrix);
	RUN(test_empty_and_all_zero);
	RUN(test_zero_clusters_never_allocated);
	RUN(test_threads_byte_identical);
	RUN(test_tiny_blobs_share_clusters);
	RUN(test_many_refcount_blocks);
	RUN(test_huge_sparse);
	RUN(test_refused_options);
	RUN(test_abort_leaves_nothing);
	RUN(test_header_fields);
	RUN(test_size_rounded_to_sector);
	scratch_cleanup();
	TEST_MAIN_END();
}
