/* formats/gpt/gpt_reader.c: GPT header and entry array validation (UEFI 2.10, 5.3.2 and 5.3.3). */
#include "formats/gpt/gpt_reader.h"

#include "util/diag.h"
#include "util/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define SECTOR 512
#define MAX_ENTRY_ARRAY (1024 * 1024) /* 128 entries of 128 bytes is 16 KiB; be generous, not unbounded */

/* C12A7328-F81F-11D2-BA4B-00A0C93EC93B in on-disk order. */
static const uint8_t esp_type[16] = {0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11,
				     0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b};

static uint32_t le32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t le64(const uint8_t *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }

struct header {
	uint64_t my_lba, alt_lba, first_usable, last_usable, entries_lba;
	uint32_t n_entries, entry_size, entries_crc;
	uint8_t disk_guid[16];
};

/* 5.3.2: signature, revision-independent size, CRC over header_size bytes with the CRC field zeroed. */
static int parse_header(const uint8_t *s, uint64_t lba, uint64_t n_lbas, struct header *h)
{
	if (memcmp(s, "EFI PART", 8))
		return -1;
	uint32_t size = le32(s + 12);
	if (size < 92 || size > SECTOR)
		return -1;
	uint8_t copy[SECTOR];
	memcpy(copy, s, size);
	memset(copy + 16, 0, 4);
	if ((uint32_t)crc32(0, copy, size) != le32(s + 16))
		return -1;
	h->my_lba = le64(s + 24);
	h->alt_lba = le64(s + 32);
	h->first_usable = le64(s + 40);
	h->last_usable = le64(s + 48);
	memcpy(h->disk_guid, s + 56, 16);
	h->entries_lba = le64(s + 72);
	h->n_entries = le32(s + 80);
	h->entry_size = le32(s + 84);
	h->entries_crc = le32(s + 88);
	if (h->my_lba != lba || h->entry_size < 128 || h->entry_size % 8 || h->n_entries == 0)
		return -1;
	uint64_t bytes = (uint64_t)h->n_entries * h->entry_size;
	if (bytes > MAX_ENTRY_ARRAY || h->entries_lba >= n_lbas || (bytes + SECTOR - 1) / SECTOR > n_lbas - h->entries_lba)
		return -1;
	return 0;
}

static void entry_name(const uint8_t *e, char out[37])
{
	for (int i = 0; i < 36; i++) {
		uint16_t c = (uint16_t)(e[56 + 2 * i] | e[57 + 2 * i] << 8);
		if (!c) {
			out[i] = 0;
			return;
		}
		out[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	out[36] = 0;
}

static int parse_entries(const uint8_t *arr, const struct header *h, uint64_t n_lbas, struct gpt_table *t)
{
	static const uint8_t unused[16];
	t->n_parts = 0;
	for (uint32_t i = 0; i < h->n_entries && t->n_parts < GPT_READER_MAX_PARTS; i++) {
		const uint8_t *e = arr + (size_t)i * h->entry_size;
		if (!memcmp(e, unused, 16))
			continue;
		struct gpt_part_info *p = &t->part[t->n_parts];
		p->index = i + 1;
		memcpy(p->type_guid, e, 16);
		memcpy(p->unique_guid, e + 16, 16);
		p->first_lba = le64(e + 32);
		p->last_lba = le64(e + 40);
		p->attributes = le64(e + 48);
		entry_name(e, p->name);
		if (p->first_lba > p->last_lba || p->last_lba >= n_lbas)
			return error("GPT: partition %u lies outside the disk", i + 1);
		t->n_parts++;
	}
	return 0;
}

/* Reads and checks one header and its entries; 0, or -1 (quietly) if this copy is unusable. */
static int try_copy(gpt_read_fn read, void *ctx, uint64_t lba, uint64_t n_lbas, struct gpt_table *t, int *bad_entries)
{
	uint8_t sector[SECTOR];
	struct header h;
	if (read(ctx, sector, SECTOR, lba * SECTOR) < 0 || parse_header(sector, lba, n_lbas, &h) < 0)
		return -1;
	size_t bytes = (size_t)h.n_entries * h.entry_size;
	uint8_t *arr = xmalloc(bytes);
	int r = read(ctx, arr, bytes, h.entries_lba * SECTOR);
	if (r == 0 && (uint32_t)crc32(0, arr, (uInt)bytes) != h.entries_crc)
		r = -1;
	if (r == 0) {
		memcpy(t->disk_guid, h.disk_guid, 16);
		r = parse_entries(arr, &h, n_lbas, t);
		if (r < 0)
			*bad_entries = 1;
	}
	free(arr);
	return r;
}

int gpt_read_table(gpt_read_fn read, void *ctx, uint64_t disk_size, struct gpt_table *out)
{
	memset(out, 0, sizeof *out);
	uint64_t n_lbas = disk_size / SECTOR;
	if (n_lbas < 3)
		return error("GPT: the disk is too small to hold a partition table");
	int bad_entries = 0;
	if (try_copy(read, ctx, 1, n_lbas, out, &bad_entries) == 0)
		return 0;
	if (try_copy(read, ctx, n_lbas - 1, n_lbas, out, &bad_entries) == 0) {
		out->used_backup = 1;
		return 0;
	}
	return bad_entries ? -1 : error("GPT: no valid partition table (neither the primary nor the backup header)");
}

const struct gpt_part_info *gpt_find_esp(const struct gpt_table *t)
{
	for (unsigned i = 0; i < t->n_parts; i++)
		if (!memcmp(t->part[i].type_guid, esp_type, 16))
			return &t->part[i];
	return NULL;
}

void gpt_guid_to_text(const uint8_t g[16], char out[37])
{
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", g[3], g[2], g[1],
		 g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]);
}
