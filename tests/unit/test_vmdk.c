/* tests/unit/test_vmdk.c: the VMDK writer against independent readers, and the stream checker.
 *
 * Every image is read back by a reader written here from the VMDK spec,
 * with zlib's own inflate (the writer deflates with libdeflate), and must
 * hold exactly the disk written. streamOptimized images must also pass
 * formats/vmdk/vmdk_check.c fed in random chunk sizes, and each kind of
 * damage must be reported under its rule. qemu-img is the oracle in
 * tests/integration/formats_matrix.sh; these run without it, and under
 * ASan+UBSan.
 */
#include "test.h"

#include "formats_testlib.h"

#include "formats/vmdk/vmdk_check.h"

#include <zlib.h>

#define GRAIN 65536u

/* ---- an independent reader ---- */

/* Reads grain g (64 KiB) into out from a streamOptimized (compressed) or
 * monolithicSparse image; 0 ok, -1 broken, 1 unallocated. */
static int read_grain(const unsigned char *f, size_t len, const unsigned char *hdr, uint64_t g, unsigned char *out)
{
	int compressed = le32(hdr + 8) & (1u << 16);
	uint64_t gd = le64(hdr + 56);
	uint64_t gt_index = g / 512;
	if (gd * 512 + gt_index * 4 + 4 > len)
		return -1;
	uint32_t gt = le32(f + gd * 512 + gt_index * 4);
	if (!gt)
		return 1;
	if ((uint64_t)gt * 512 + 2048 > len)
		return -1;
	uint32_t sector = le32(f + (uint64_t)gt * 512 + (g % 512) * 4);
	if (!sector)
		return 1;
	uint64_t off = (uint64_t)sector * 512;
	if (!compressed) {
		if (off + GRAIN > len)
			return -1;
		memcpy(out, f + off, GRAIN);
		return 0;
	}
	if (off + 12 > len || le64(f + off) != g * 128)
		return -1;
	uint32_t size = le32(f + off + 8);
	if (off + 12 + size > len)
		return -1;
	uLongf out_len = GRAIN;
	if (uncompress(out, &out_len, f + off + 12, size) != Z_OK || out_len != GRAIN)
		return -1;
	return 0;
}

/* 0 if the image holds exactly d. */
static int read_back(const char *path, const struct disk *d, int stream)
{
	struct strbuf sb = STRBUF_INIT;
	if (load(path, &sb) < 0 || sb.len < 1536 || sb.len % 512) {
		strbuf_release(&sb);
		return -1;
	}
	const unsigned char *f = (const unsigned char *)sb.buf;
	/* streamOptimized: the footer (second to last sector) has the real gdOffset. */
	const unsigned char *hdr = stream ? f + sb.len - 1024 : f;
	int rc = memcmp(hdr, "KDMV", 4) || le64(f + 12) != (d->size + 511) / 512 ? -2 : 0;
	unsigned char *grain = xmalloc(GRAIN), *want = xmalloc(GRAIN);
	uint64_t grains = (d->size + GRAIN - 1) / GRAIN;
	for (uint64_t g = 0; g < grains && rc == 0; g++) {
		memset(want, 0, GRAIN);
		uint64_t n = d->size - g * GRAIN < GRAIN ? d->size - g * GRAIN : GRAIN;
		memcpy(want, d->bytes + g * GRAIN, n);
		int r = read_grain(f, sb.len, hdr, g, grain);
		if (r < 0 || (r == 0 && memcmp(grain, want, GRAIN)) || (r == 1 && !buffer_is_zero(want, GRAIN)))
			rc = -3;
	}
	if (!stream && rc == 0) {
		/* The redundant tables equal the primary ones. */
		uint64_t rgd = le64(f + 48), gd = le64(f + 56), n_gts = (grains + 511) / 512;
		for (uint64_t i = 0; i < n_gts && rc == 0; i++) {
			uint32_t a = le32(f + rgd * 512 + 4 * i), b = le32(f + gd * 512 + 4 * i);
			if (memcmp(f + (uint64_t)a * 512, f + (uint64_t)b * 512, 2048))
				rc = -4;
		}
	}
	free(grain);
	free(want);
	strbuf_release(&sb);
	return rc;
}

/* ---- the checker ---- */

struct findings {
	int n;
	char rules[16][32];
};

static void collect(void *arg, const char *rule, const char *message)
{
	struct findings *f = arg;
	(void)message;
	if (f->n < 16)
		snprintf(f->rules[f->n], 32, "%s", rule);
	f->n++;
}

static int has_rule(const struct findings *f, const char *rule)
{
	for (int i = 0; i < f->n && i < 16; i++)
		if (!strcmp(f->rules[i], rule))
			return 1;
	return 0;
}

/* Feeds buf to a fresh checker in random-sized chunks. */
static struct findings check_bytes(const unsigned char *buf, size_t len)
{
	struct findings f = {0};
	struct vmdk_check *c = vmdk_check_new(collect, &f);
	size_t pos = 0;
	while (pos < len) {
		size_t k = 1 + rng() % (rng() % 2 ? 700 : 200000);
		if (k > len - pos)
			k = len - pos;
		vmdk_check_feed(c, buf + pos, k);
		pos += k;
	}
	vmdk_check_end(c);
	vmdk_check_free(c);
	return f;
}

/* ---- tests ---- */

static void roundtrip(uint64_t size, uint64_t max_run, int threads)
{
	struct disk d = random_disk(size, max_run);
	const char *s = scratch("s.vmdk"), *m = scratch("m.vmdk");
	CHECK(write_image("vmdk", &d, s, (struct image_options){.threads = threads}) == 0);
	CHECK(write_image("vmdk", &d, m, (struct image_options){.subformat = "monolithicSparse"}) == 0);
	int rs = read_back(s, &d, 1), rm = read_back(m, &d, 0);
	if (rs || rm)
		fprintf(stderr, "  size %llu: stream %d, sparse %d\n", (unsigned long long)size, rs, rm);
	CHECK(rs == 0);
	CHECK(rm == 0);
	struct strbuf sb = STRBUF_INIT;
	CHECK(load(s, &sb) == 0);
	struct findings f = check_bytes((const unsigned char *)sb.buf, sb.len);
	if (size == 0) { /* an empty disk is valid VMDK, but importers refuse it (qemu issue #2532) */
		CHECK(f.n == 1 && has_rule(&f, VMDK_RULE_HEADER));
	} else {
		if (f.n)
			fprintf(stderr, "  size %llu: checker found %d problem(s), first %s\n", (unsigned long long)size, f.n,
				f.rules[0]);
		CHECK(f.n == 0);
	}
	strbuf_release(&sb);
	disk_free(&d);
}

static void test_roundtrip(void)
{
	roundtrip(0, 1, 1);
	roundtrip(511, 100, 1);
	roundtrip(GRAIN * 3 + 17, 70000, 2);
	roundtrip((1u << 20) + 12345, 70000, 3);
	roundtrip(40u << 20, 200000, 2); /* crosses a grain table (32 MiB) */
}

static void test_threads_and_runs_identical(void)
{
	struct disk d = random_disk(37u << 20, 150000);
	const char *a = scratch("one/d.vmdk"), *b = scratch("four/d.vmdk"), *c = scratch("again/d.vmdk");
	mkdir_p(scratch("one"), 0755), mkdir_p(scratch("four"), 0755), mkdir_p(scratch("again"), 0755);
	struct image_options o = {.seed = "recipe-hash", .threads = 1};
	CHECK(write_image("vmdk", &d, a, o) == 0);
	o.threads = 4;
	CHECK(write_image("vmdk", &d, b, o) == 0);
	CHECK(write_image("vmdk", &d, c, o) == 0);
	CHECK(files_equal(a, b));
	CHECK(files_equal(b, c));
	disk_free(&d);
}

static void test_ids_follow_content_and_seed(void)
{
	struct disk d = random_disk(3u << 20, 50000);
	struct strbuf x = STRBUF_INIT, y = STRBUF_INIT, z = STRBUF_INIT;
	const char *p = scratch("ids.vmdk");
	CHECK(write_image("vmdk", &d, p, (struct image_options){.seed = "a"}) == 0 && load(p, &x) == 0);
	CHECK(write_image("vmdk", &d, p, (struct image_options){.seed = "b"}) == 0 && load(p, &y) == 0);
	d.bytes[12345] ^= 1;
	CHECK(write_image("vmdk", &d, p, (struct image_options){.seed = "a"}) == 0 && load(p, &z) == 0);
	const char *cx = strstr(x.buf + 512, "CID="), *cy = strstr(y.buf + 512, "CID="), *cz = strstr(z.buf + 512, "CID=");
	CHECK(cx && cy && cz);
	if (cx && cy && cz) {
		CHECK(strncmp(cx, cy, 12) != 0);
		CHECK(strncmp(cx, cz, 12) != 0);
		CHECK(strncmp(cx + 4, "ffffffff", 8) && strncmp(cx + 4, "fffffffe", 8));
		const char *lid = strstr(x.buf + 512, "ddb.longContentID = \"");
		CHECK(lid && !strncmp(lid + 21 + 24, cx + 4, 8)); /* the CID ends the longContentID */
	}
	strbuf_release(&x);
	strbuf_release(&y);
	strbuf_release(&z);
	disk_free(&d);
}

static void test_checker_finds_damage(void)
{
	struct disk d = random_disk(34u << 20, 120000);
	const char *p = scratch("damage.vmdk");
	CHECK(write_image("vmdk", &d, p, (struct image_options){.threads = 2}) == 0);
	struct strbuf sb = STRBUF_INIT;
	CHECK(load(p, &sb) == 0);
	unsigned char *f = (unsigned char *)sb.buf;
	size_t len = sb.len;
	unsigned char *copy = xmalloc(len);
	struct findings r;

	r = check_bytes(f, len - 512); /* no EOS */
	CHECK(has_rule(&r, VMDK_RULE_EOS));
	r = check_bytes(f, len - 1024); /* no EOS, and no footer */
	CHECK(has_rule(&r, VMDK_RULE_EOS) && has_rule(&r, VMDK_RULE_TABLES));

	memcpy(copy, f, len);
	copy[4] = 1; /* version 1 in the header and the footer */
	copy[len - 1024 + 4] = 1;
	r = check_bytes(copy, len);
	CHECK(has_rule(&r, VMDK_RULE_VERSION));
	CHECK(!has_rule(&r, VMDK_RULE_TABLES));

	memcpy(copy, f, len);
	uint64_t first = le64(f + 64) * 512; /* overhead: the first grain marker */
	for (int i = 0; i < 16; i++)
		copy[first + 30 + i] ^= 0xa5;
	r = check_bytes(copy, len);
	CHECK(has_rule(&r, VMDK_RULE_GRAIN));

	memcpy(copy, f, len);
	uint64_t gd = le64(f + len - 1024 + 56) * 512;
	uint32_t gt = le32(f + gd);
	copy[(uint64_t)gt * 512] ^= 1; /* the first table's first entry points elsewhere */
	r = check_bytes(copy, len);
	CHECK(has_rule(&r, VMDK_RULE_TABLES));

	memcpy(copy, f, len);
	char *ct = memmem(copy + 512, 1024, "createType=\"streamOptimized\"", 28);
	if (ct)
		memcpy(ct, "createType=\"monolithicFlat\" ", 28);
	r = check_bytes(copy, len);
	CHECK(has_rule(&r, VMDK_RULE_DESCRIPTOR));

	/* CID: a 32-bit hex number. qemu-img writes it without leading zeros
	 * ("CID=abcdef1"), which is valid; "CID=zzzzzzzz" is not. */
	for (int variant = 0; variant < 2; variant++) {
		memcpy(copy, f, len);
		char *desc = (char *)copy + 512, *cid = strstr(desc, "CID=");
		CHECK(cid != NULL);
		if (!cid)
			break;
		size_t text = strnlen(desc, 1024);
		char *eol = strchr(cid, '\n');
		struct strbuf nd = STRBUF_INIT;
		strbuf_add(&nd, desc, (size_t)(cid - desc));
		strbuf_adds(&nd, variant == 0 ? "CID=abcdef1" : "CID=zzzzzzzz");
		strbuf_add(&nd, eol, text - (size_t)(eol - desc));
		memset(desc, 0, text);
		memcpy(desc, nd.buf, nd.len);
		strbuf_release(&nd);
		r = check_bytes(copy, len);
		CHECK(has_rule(&r, VMDK_RULE_DESCRIPTOR) == (variant == 1));
	}

	memcpy(copy, f, len); /* data after EOS */
	r = check_bytes(copy, len);
	CHECK(r.n == 0);
	unsigned char *longer = xcalloc(1, len + 512);
	memcpy(longer, f, len);
	r = check_bytes(longer, len + 512); /* a zero sector after EOS: qemu-img's padding */
	CHECK(has_rule(&r, VMDK_RULE_TRAILING) && !has_rule(&r, VMDK_RULE_EOS));
	longer[len + 100] = 1;
	r = check_bytes(longer, len + 512);
	CHECK(has_rule(&r, VMDK_RULE_EOS));
	free(longer);

	memcpy(copy, f, 512);
	copy[0] = 'X';
	r = check_bytes(copy, 512);
	CHECK(has_rule(&r, VMDK_RULE_HEADER));

	/* Random damage anywhere: never a crash, always finished. */
	for (int round = 0; round < 200; round++) {
		memcpy(copy, f, len);
		for (int k = 0; k < 4; k++)
			copy[rng() % len] = (unsigned char)rng();
		check_bytes(copy, rng() % 3 ? len : rng() % len);
	}
	free(copy);
	strbuf_release(&sb);
	disk_free(&d);
}

static void test_refusals(void)
{
	struct disk d = random_disk(1u << 20, 1000);
	const char *p = scratch("refused.vmdk");
	CHECK(write_image("vmdk", &d, p, (struct image_options){.subformat = "twoGbMaxExtentSparse"}) < 0);
	CHECK(write_image("vmdk", &d, p, (struct image_options){.adapter_type = "scsi"}) < 0);
	CHECK(access(p, F_OK) != 0);
	struct image_options o = {.virtual_size = 3ull << 40, .subformat = "monolithicSparse"};
	CHECK(image_writer_open(image_format_find("vmdk"), p, &o) == NULL);
	disk_free(&d);
}

int main(void)
{
	RUN(test_roundtrip);
	RUN(test_threads_and_runs_identical);
	RUN(test_ids_follow_content_and_seed);
	RUN(test_checker_finds_damage);
	RUN(test_refusals);
	scratch_cleanup();
	TEST_MAIN_END();
}
