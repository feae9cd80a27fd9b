/* tests/unit/test_vhdx_vdi.c: the VHDX and VDI writers against readers written from the specs.
 *
 * VHDX (MS-VHDX): file identifier, both headers and both region tables
 * with valid CRC-32C, an empty log, the metadata items, the BAT with its
 * sector-bitmap entry after every chunk_ratio payload entries (checked on
 * a 5 GiB disk that crosses one), and every payload block read back. VDI
 * (VirtualBox's VDICore.h): the 1.1 header, 1 MiB blocks, the map at
 * 1 MiB and data 1 MiB aligned, every block read back. Same bytes with any
 * thread count and on every run.
 */
#include "test.h"

#include "formats_testlib.h"

#include "util/crc32c.h"

#include <fcntl.h>

#define MiB (1ull << 20)

static uint16_t le16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }

/* Reads block b of the raw file into want (zero-padded); 1 if it is a hole (not read). */
static int raw_block(int fd, uint64_t raw_size, uint64_t b, unsigned char *want)
{
	off_t data = lseek(fd, (off_t)(b * MiB), SEEK_DATA);
	memset(want, 0, MiB);
	if (data < 0 || (uint64_t)data >= (b + 1) * MiB)
		return 1;
	uint64_t n = raw_size - b * MiB < MiB ? raw_size - b * MiB : MiB;
	return pread(fd, want, n, (off_t)(b * MiB)) == (ssize_t)n ? 0 : -1;
}

/* ---- VHDX ---- */

static const unsigned char BAT_GUID[16] = {0x66, 0x77, 0xc2, 0x2d, 0x23, 0xf6, 0x00, 0x42,
					   0x9d, 0x64, 0x11, 0x5e, 0x9b, 0xfd, 0x4a, 0x08};
static const unsigned char META_GUID[16] = {0x06, 0xa2, 0x7c, 0x8b, 0x90, 0x47, 0x9a, 0x4b,
					    0xb8, 0xfe, 0x57, 0x5f, 0x05, 0x0f, 0x88, 0x6e};
static const unsigned char SIZE_GUID[16] = {0x24, 0x42, 0xa5, 0x2f, 0x1b, 0xcd, 0x76, 0x48,
					    0xb2, 0x11, 0x5d, 0xbe, 0xd8, 0x3b, 0xf4, 0xb8};
static const unsigned char PARAMS_GUID[16] = {0x37, 0x67, 0xa1, 0xca, 0x36, 0xfa, 0x43, 0x4d,
					      0xb3, 0xb6, 0x33, 0xf0, 0xaa, 0x44, 0xe7, 0x6b};

static int crc_ok(const unsigned char *p, size_t len)
{
	unsigned char *copy = xmalloc(len);
	memcpy(copy, p, len);
	memset(copy + 4, 0, 4);
	int ok = crc32c(0, copy, len) == le32(p + 4);
	free(copy);
	return ok;
}

struct vhdx_view {
	uint64_t bat_off, bat_len, meta_off, block_size, size;
};

static int vhdx_structure(const unsigned char *f, size_t len, struct vhdx_view *v)
{
	if (len < 4 * MiB || memcmp(f, "vhdxfile", 8))
		return -1;
	for (int h = 1; h <= 2; h++) {
		const unsigned char *hd = f + h * 65536;
		if (memcmp(hd, "head", 4) || !crc_ok(hd, 4096) || le16(hd + 66) != 1 || le16(hd + 64) != 0)
			return -2;
		static const unsigned char zero[16];
		if (memcmp(hd + 48, zero, 16) || le32(hd + 68) != MiB || le64(hd + 72) != MiB)
			return -3; /* the log: empty, 1 MiB at 1 MiB */
	}
	if (le64(f + 65536 + 8) == le64(f + 131072 + 8))
		return -4; /* sequence numbers must tell the headers apart */
	const unsigned char *rt = f + 192 * 1024;
	if (memcmp(rt, "regi", 4) || !crc_ok(rt, 65536) || memcmp(rt, f + 256 * 1024, 65536) || le32(rt + 8) != 2)
		return -5;
	for (int i = 0; i < 2; i++) {
		const unsigned char *e = rt + 16 + 32 * i;
		if (!memcmp(e, BAT_GUID, 16))
			v->bat_off = le64(e + 16), v->bat_len = le32(e + 24);
		else if (!memcmp(e, META_GUID, 16))
			v->meta_off = le64(e + 16);
		if (le64(e + 16) % MiB || le32(e + 24) % MiB || le32(e + 28) != 1)
			return -6;
	}
	if (!v->bat_off || !v->meta_off || v->meta_off + MiB > len)
		return -7;
	const unsigned char *m = f + v->meta_off;
	if (memcmp(m, "metadata", 8) || le16(m + 10) != 5)
		return -8;
	for (int i = 0; i < 5; i++) {
		const unsigned char *e = m + 32 + 32 * i;
		if (le32(e + 16) < 65536)
			return -9;
		if (!memcmp(e, PARAMS_GUID, 16))
			v->block_size = le32(m + le32(e + 16));
		else if (!memcmp(e, SIZE_GUID, 16))
			v->size = le64(m + le32(e + 16));
	}
	return v->block_size == MiB ? 0 : -10;
}

/* 0 if the VHDX at path holds exactly the file `raw` (checked block by block). */
static int vhdx_read_back(const char *path, int raw_fd, uint64_t raw_size)
{
	struct strbuf sb = STRBUF_INIT;
	if (load(path, &sb) < 0)
		return -1;
	const unsigned char *f = (const unsigned char *)sb.buf;
	struct vhdx_view v = {0};
	int rc = vhdx_structure(f, sb.len, &v);
	if (rc == 0 && v.size != (raw_size + 511) / 512 * 512)
		rc = -11;
	uint64_t chunk = (1ull << 23) * 512 / v.block_size, blocks = (raw_size + MiB - 1) / MiB;
	unsigned char *want = xmalloc(MiB);
	for (uint64_t b = 0; b < blocks && rc == 0; b++) {
		uint64_t e = le64(f + v.bat_off + 8 * (b + b / chunk));
		int hole = raw_block(raw_fd, raw_size, b, want);
		if (hole < 0)
			rc = -12;
		else if ((e & 7) == 0)
			rc = hole || buffer_is_zero(want, MiB) ? 0 : -13;
		else if ((e & 7) != 6 || (e >> 20) * MiB + MiB > sb.len || memcmp(f + (e >> 20) * MiB, want, MiB))
			rc = -14;
		if ((b + 1) % chunk == 0 && le64(f + v.bat_off + 8 * (b + b / chunk + 1)) != 0)
			rc = -15; /* the sector-bitmap entry stays "not present" */
	}
	free(want);
	strbuf_release(&sb);
	return rc;
}

/* ---- VDI ---- */

static int vdi_read_back(const char *path, int raw_fd, uint64_t raw_size)
{
	struct strbuf sb = STRBUF_INIT;
	if (load(path, &sb) < 0)
		return -1;
	const unsigned char *f = (const unsigned char *)sb.buf;
	int rc = 0;
	if (sb.len < MiB || memcmp(f, "<<< Oracle VM VirtualBox Disk Image >>>\n", 40) || le32(f + 0x40) != 0xbeda107f ||
	    le32(f + 0x44) != 0x00010001 || le32(f + 0x48) != 400 || le32(f + 0x4c) != 1)
		rc = -2;
	uint64_t off_blocks = le32(f + 0x154), off_data = le32(f + 0x158), blocks = le32(f + 0x180);
	if (rc == 0 && (off_blocks != MiB || off_data % MiB || off_data < off_blocks + 4 * blocks ||
			le64(f + 0x170) != (raw_size + 511) / 512 * 512 || le32(f + 0x178) != MiB || le32(f + 0x17c) != 0 ||
			blocks != (raw_size + MiB - 1) / MiB || le32(f + 0x168) != 512))
		rc = -3;
	uint32_t allocated = 0;
	unsigned char *want = xmalloc(MiB);
	for (uint64_t b = 0; b < blocks && rc == 0; b++) {
		uint32_t e = le32(f + off_blocks + 4 * b);
		int hole = raw_block(raw_fd, raw_size, b, want);
		if (hole < 0)
			rc = -4;
		else if (e == 0xffffffffu)
			rc = hole || buffer_is_zero(want, MiB) ? 0 : -5;
		else if (e != allocated || off_data + (uint64_t)e * MiB + MiB > sb.len || memcmp(f + off_data + (uint64_t)e * MiB, want, MiB))
			rc = -6; /* blocks are stored in virtual order */
		else
			allocated++;
	}
	if (rc == 0 && (le32(f + 0x184) != allocated || sb.len != off_data + (uint64_t)allocated * MiB))
		rc = -7;
	free(want);
	strbuf_release(&sb);
	return rc;
}

/* ---- shared ---- */

/* Writes the sparse file `raw` through a format. */
static int write_file_image(const char *format, const char *raw, const char *out, int threads)
{
	struct disk_layout l;
	int fd;
	if (disk_layout_from_file(&l, raw, &fd) < 0)
		return -1;
	struct image_options o = {.virtual_size = l.size, .threads = threads, .seed = "s", .no_sync = 1};
	struct image_writer *w = image_writer_open(image_format_find(format), out, &o);
	int r = w ? extents_stream(&l, w, NULL, NULL) : -1;
	if (w)
		r = r < 0 ? (image_writer_abort(w), -1) : image_writer_finish(w);
	disk_layout_release(&l);
	close(fd);
	return r;
}

static void put(int fd, uint64_t off, size_t len, int random)
{
	unsigned char *b = xmalloc(len);
	for (size_t i = 0; i < len; i++)
		b[i] = random ? (unsigned char)rng() : (unsigned char)("appliance "[i % 10]);
	CHECK(pwrite(fd, b, len, (off_t)off) == (ssize_t)len);
	free(b);
}

static void check_both(const char *raw, uint64_t size)
{
	int fd = open(raw, O_RDONLY);
	const char *x = scratch("a.vhdx"), *y = scratch("b.vhdx"), *v = scratch("a.vdi"), *w = scratch("b.vdi");
	CHECK(write_file_image("vhdx", raw, x, 1) == 0);
	CHECK(write_file_image("vhdx", raw, y, 4) == 0);
	CHECK(write_file_image("vdi", raw, v, 1) == 0);
	CHECK(write_file_image("vdi", raw, w, 4) == 0);
	int rx = vhdx_read_back(x, fd, size), rv = vdi_read_back(v, fd, size);
	if (rx || rv)
		fprintf(stderr, "  size %llu: vhdx %d, vdi %d\n", (unsigned long long)size, rx, rv);
	CHECK(rx == 0);
	CHECK(rv == 0);
	CHECK(files_equal(x, y));
	CHECK(files_equal(v, w));
	close(fd);
}

static void test_small_disks(void)
{
	static const uint64_t sizes[] = {0, 512, 12345, 3 * MiB + 1536, 17 * MiB};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		const char *raw = scratch("small.raw");
		int fd = open(raw, O_RDWR | O_CREAT | O_TRUNC, 0644);
		CHECK(fd >= 0 && ftruncate(fd, (off_t)sizes[i]) == 0);
		for (uint64_t off = rng() % 5000; sizes[i] && off < sizes[i]; off += 1 + rng() % (3 * MiB)) {
			size_t len = 1 + rng() % 300000;
			if (len > sizes[i] - off)
				len = (size_t)(sizes[i] - off);
			put(fd, off, len, (int)(rng() % 2));
		}
		close(fd);
		check_both(raw, sizes[i]);
	}
}

static void test_across_a_bitmap_chunk(void)
{
	/* 4096 payload blocks per chunk: data in block 4100 sits after a
	 * sector-bitmap entry in the BAT. */
	const char *raw = scratch("big.raw");
	uint64_t size = 5ull << 30;
	int fd = open(raw, O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && ftruncate(fd, (off_t)size) == 0);
	put(fd, 0, 70000, 1);
	put(fd, 4095 * MiB + 100, 2 * MiB, 0);
	put(fd, 4100 * MiB, 4096, 1);
	put(fd, size - 1, 1, 0);
	close(fd);
	check_both(raw, size);
}

static void test_ids_and_refusals(void)
{
	const char *raw = scratch("ids.raw"), *a = scratch("ids.vhdx"), *b = scratch("ids2.vhdx");
	int fd = open(raw, O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && ftruncate(fd, 4 * MiB) == 0);
	put(fd, 1000, 5000, 1);
	CHECK(write_file_image("vhdx", raw, a, 2) == 0);
	put(fd, 3 * MiB, 5000, 1);
	close(fd);
	CHECK(write_file_image("vhdx", raw, b, 2) == 0);
	struct strbuf x = STRBUF_INIT, y = STRBUF_INIT;
	CHECK(load(a, &x) == 0 && load(b, &y) == 0);
	if (x.len > 3 * MiB && y.len > 3 * MiB) /* another content, another disk id (metadata item 3) */
		CHECK(memcmp(x.buf + 2 * MiB + 65536 + 16, y.buf + 2 * MiB + 65536 + 16, 16) != 0);
	strbuf_release(&x);
	strbuf_release(&y);
	struct image_options o = {.virtual_size = 65ull << 40};
	CHECK(image_writer_open(image_format_find("vhdx"), a, &o) == NULL);
}

int main(void)
{
	RUN(test_small_disks);
	RUN(test_across_a_bitmap_chunk);
	RUN(test_ids_and_refusals);
	scratch_cleanup();
	TEST_MAIN_END();
}
