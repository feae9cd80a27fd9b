/* tests/unit/test_gpt.c: the GPT bytes we write, checked field by field against
 * the UEFI layout (the sfdisk oracle runs in tests/integration/build_hello.sh). */
#include "builder/gpt.h"
#include "tests/unit/test.h"
#include "util/ident.h"

#include <stdlib.h>
#include <zlib.h>

static uint32_t le32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t le64(const uint8_t *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }

static void make_disk(struct gpt_disk *d, uint64_t size)
{
	memset(d, 0, sizeof *d);
	d->size_bytes = size;
	ident_uuid("t", "disk", d->disk_uuid);
	d->n_parts = 2;
	memcpy(d->parts[0].type_uuid, GPT_TYPE_ESP, 16);
	ident_uuid("t", "esp", d->parts[0].unique_uuid);
	d->parts[0].first_lba = 2048;
	d->parts[0].last_lba = 4095;
	d->parts[0].attributes = GPT_ATTR_LEGACY_BIOS_BOOTABLE;
	d->parts[0].name = "ESP";
	memcpy(d->parts[1].type_uuid, GPT_TYPE_LINUX_ROOT_X86_64, 16);
	ident_uuid("t", "root", d->parts[1].unique_uuid);
	d->parts[1].first_lba = 4096;
	d->parts[1].last_lba = gpt_last_usable_lba(size);
	d->parts[1].name = "root";
}

static void test_headers(void)
{
	uint64_t size = 8 << 20;
	struct gpt_disk d;
	make_disk(&d, size);
	uint8_t *head = calloc(GPT_HEAD_SECTORS, 512), *tail = calloc(GPT_TAIL_SECTORS, 512);
	CHECK(gpt_build(&d, head, tail) == 0);
	CHECK(head[510] == 0x55 && head[511] == 0xaa && head[446 + 4] == 0xee);
	CHECK(le32(head + 446 + 8) == 1 && le32(head + 446 + 12) == size / 512 - 1);
	const uint8_t *h = head + 512, *b = tail + 32 * 512;
	CHECK(!memcmp(h, "EFI PART", 8) && !memcmp(b, "EFI PART", 8));
	CHECK(le64(h + 24) == 1 && le64(h + 32) == size / 512 - 1);
	CHECK(le64(b + 24) == size / 512 - 1 && le64(b + 32) == 1);
	CHECK(le64(h + 72) == 2 && le64(b + 72) == size / 512 - 33);
	CHECK(le64(h + 48) == size / 512 - 34);
	uint8_t hc[92];
	memcpy(hc, h, 92);
	memset(hc + 16, 0, 4);
	CHECK(le32(h + 16) == (uint32_t)crc32(0, hc, 92));
	CHECK(le32(h + 88) == (uint32_t)crc32(0, head + 1024, 128 * 128));
	CHECK(!memcmp(head + 1024, tail, 128 * 128));
	const uint8_t *e = head + 1024;
	CHECK(le64(e + 32) == 2048 && le64(e + 40) == 4095 && le64(e + 48) == 4);
	CHECK(e[56] == 'E' && e[57] == 0 && e[58] == 'S');
	/* ESP type GUID on disk is mixed-endian: 28 73 2A C1 1F F8 D2 11 BA 4B ... */
	CHECK(e[0] == 0x28 && e[1] == 0x73 && e[2] == 0x2a && e[3] == 0xc1 && e[8] == 0xba);
	free(head);
	free(tail);
}

static void test_rejects(void)
{
	uint8_t *head = calloc(GPT_HEAD_SECTORS, 512), *tail = calloc(GPT_TAIL_SECTORS, 512);
	struct gpt_disk d;
	make_disk(&d, 8 << 20);
	d.parts[1].last_lba = (8 << 20) / 512; /* past the usable end */
	CHECK(gpt_build(&d, head, tail) < 0);
	make_disk(&d, 8 << 20);
	d.parts[1].first_lba = 3000; /* overlaps the ESP */
	CHECK(gpt_build(&d, head, tail) < 0);
	make_disk(&d, 8 << 20);
	d.size_bytes = 1000; /* not a sector multiple */
	CHECK(gpt_build(&d, head, tail) < 0);
	free(head);
	free(tail);
}

int main(void)
{
	RUN(test_headers);
	RUN(test_rejects);
	TEST_MAIN_END();
}
