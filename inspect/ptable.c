/* inspect/ptable.c: GPT and MBR partition tables from raw sectors (see ptable.h). */
#include "inspect/ptable.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define SECTOR 512

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* A GUID as text: the first three fields are stored little-endian. */
static void guid_text(const unsigned char *g, char out[37])
{
	snprintf(out, 37, "%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X", le32(g),
		 (unsigned)(g[4] | g[5] << 8), (unsigned)(g[6] | g[7] << 8), g[8], g[9], g[10], g[11], g[12], g[13],
		 g[14], g[15]);
}

static int guid_zero(const unsigned char *g)
{
	for (int i = 0; i < 16; i++)
		if (g[i])
			return 0;
	return 1;
}

/* UTF-16LE (36 code units, NUL-terminated or not) to UTF-8; unpaired surrogates become '?'. */
static void name_text(const unsigned char *p, char *out, size_t size)
{
	size_t o = 0;
	for (int i = 0; i < 36; i++) {
		unsigned c = (unsigned)(p[2 * i] | p[2 * i + 1] << 8);
		if (!c)
			break;
		if (c >= 0xd800 && c <= 0xdfff) {
			unsigned lo = i + 1 < 36 ? (unsigned)(p[2 * i + 2] | p[2 * i + 3] << 8) : 0;
			if (c < 0xdc00 && lo >= 0xdc00 && lo <= 0xdfff) {
				c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
				i++;
			} else {
				c = '?';
			}
		}
		unsigned char b[4];
		size_t n = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
		if (c < 0x20 || c == 0x7f)
			c = '?', n = 1;
		if (n == 1)
			b[0] = (unsigned char)c;
		else if (n == 2)
			b[0] = (unsigned char)(0xc0 | c >> 6), b[1] = (unsigned char)(0x80 | (c & 0x3f));
		else if (n == 3)
			b[0] = (unsigned char)(0xe0 | c >> 12), b[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3f)),
			b[2] = (unsigned char)(0x80 | (c & 0x3f));
		else
			b[0] = (unsigned char)(0xf0 | c >> 18), b[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3f)),
			b[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3f)), b[3] = (unsigned char)(0x80 | (c & 0x3f));
		if (o + n >= size)
			break;
		memcpy(out + o, b, n);
		o += n;
	}
	out[o] = 0;
}

/* ---- GPT ---- */

static int gpt_fail(char *why, size_t n, const char *msg)
{
	snprintf(why, n, "GPT: %s", msg);
	return -1;
}

static int read_gpt(ptable_read_fn read, void *ctx, uint64_t disk_size, struct ptable *out, char *why, size_t wn)
{
	unsigned char h[SECTOR];
	if (read(ctx, h, SECTOR, SECTOR) < 0)
		return gpt_fail(why, wn, "cannot read the header");
	uint32_t hsize = le32(h + 12);
	if (memcmp(h, "EFI PART", 8) || hsize < 92 || hsize > SECTOR)
		return gpt_fail(why, wn, "the protective MBR has no valid header behind it");
	uint32_t want = le32(h + 16);
	memset(h + 16, 0, 4);
	if ((uint32_t)crc32(0, h, hsize) != want)
		return gpt_fail(why, wn, "header CRC32 mismatch");
	uint64_t entries_lba = le64(h + 72);
	uint32_t count = le32(h + 80), esize = le32(h + 84), ecrc = le32(h + 88);
	if (esize < 128 || esize > 1024 || esize % 8 || !count || count > PTABLE_MAX_PARTS)
		return gpt_fail(why, wn, "unsupported entry size or count");
	uint64_t off = entries_lba * SECTOR, len = (uint64_t)count * esize;
	if (entries_lba < 2 || entries_lba > disk_size / SECTOR || len > disk_size - off)
		return gpt_fail(why, wn, "the entry array lies outside the disk");
	unsigned char *e = malloc((size_t)len);
	if (!e || read(ctx, e, (size_t)len, off) < 0) {
		free(e);
		return gpt_fail(why, wn, "cannot read the entry array");
	}
	if ((uint32_t)crc32(0, e, (uInt)len) != ecrc) {
		free(e);
		return gpt_fail(why, wn, "entry array CRC32 mismatch");
	}
	out->kind = "gpt";
	guid_text(h + 56, out->disk_guid);
	for (uint32_t i = 0; i < count; i++) {
		const unsigned char *p = e + (size_t)i * esize;
		uint64_t first = le64(p + 32), last = le64(p + 40);
		if (guid_zero(p) || last < first || last >= disk_size / SECTOR)
			continue;
		struct ptable_part *q = &out->parts[out->n++];
		q->number = (int)i + 1;
		q->start = first * SECTOR;
		q->size = (last - first + 1) * SECTOR;
		guid_text(p, q->type);
		guid_text(p + 16, q->uuid);
		q->attributes = le64(p + 48);
		q->bootable = (q->attributes >> 2) & 1;
		name_text(p + 56, q->name, sizeof q->name);
	}
	free(e);
	return 0;
}

/* ---- MBR ---- */

static int is_extended(unsigned type)
{
	return type == 0x05 || type == 0x0f || type == 0x85;
}

static void add_mbr_part(struct ptable *out, int number, const unsigned char *p, uint64_t base, uint64_t disk_size)
{
	uint64_t start = (base + le32(p + 8)) * SECTOR, size = (uint64_t)le32(p + 12) * SECTOR;
	if (!p[4] || !size || start >= disk_size || size > disk_size - start || out->n >= PTABLE_MAX_PARTS)
		return;
	struct ptable_part *q = &out->parts[out->n++];
	q->number = number;
	q->start = start;
	q->size = size;
	snprintf(q->type, sizeof q->type, "0x%02x", p[4]);
	q->bootable = p[0] == 0x80;
}

/* Follows the chain of extended boot records from the extended partition at ext_lba. */
static void read_logical(ptable_read_fn read, void *ctx, uint64_t disk_size, uint64_t ext_lba, struct ptable *out)
{
	uint64_t ebr = ext_lba;
	for (int n = 0; n < PTABLE_MAX_LOGICAL; n++) {
		unsigned char s[SECTOR];
		if (ebr >= disk_size / SECTOR || read(ctx, s, SECTOR, ebr * SECTOR) < 0 || s[510] != 0x55 || s[511] != 0xaa)
			return;
		add_mbr_part(out, 5 + n, s + 446, ebr, disk_size);
		const unsigned char *next = s + 446 + 16;
		uint64_t rel = le32(next + 8);
		if (!is_extended(next[4]) || !rel || ext_lba + rel <= ebr)
			return; /* the chain must move forward, so it ends */
		ebr = ext_lba + rel;
	}
}

int ptable_read(ptable_read_fn read, void *ctx, uint64_t disk_size, struct ptable *out, char *why, size_t wn)
{
	memset(out, 0, sizeof *out);
	unsigned char m[SECTOR];
	if (disk_size < 2 * SECTOR || read(ctx, m, SECTOR, 0) < 0 || m[510] != 0x55 || m[511] != 0xaa)
		return 0;
	for (int i = 0; i < 4; i++)
		if (m[446 + 16 * i + 4] == 0xee)
			return read_gpt(read, ctx, disk_size, out, why, wn);
	/* A FAT or NTFS boot sector also ends in 55 AA: a partition table has
	 * status bytes 0x00 or 0x80 only, and at least one entry. */
	int entries = 0;
	for (int i = 0; i < 4; i++) {
		const unsigned char *p = m + 446 + 16 * i;
		if (p[0] != 0 && p[0] != 0x80)
			return 0;
		entries += p[4] != 0;
	}
	if (!entries)
		return 0;
	out->kind = "msdos";
	for (int i = 0; i < 4; i++) {
		const unsigned char *p = m + 446 + 16 * i;
		add_mbr_part(out, i + 1, p, 0, disk_size);
		if (is_extended(p[4]))
			read_logical(read, ctx, disk_size, le32(p + 8), out);
	}
	return 0;
}
