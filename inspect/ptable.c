/* inspect/ptable.c: GPT (through formats/gpt/gpt_reader.c) and MBR partition tables from raw sectors (see ptable.h). */
#include "inspect/ptable.h"

#include "formats/gpt/gpt_reader.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECTOR 512

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}


/* ---- GPT: formats/gpt/gpt_reader.c ---- */

/* GUIDs in upper case, as sfdisk and libguestfs print them. */
static void guid_upper(const uint8_t g[16], char out[37])
{
	gpt_guid_to_text(g, out);
	for (char *p = out; *p; p++)
		*p = (char)toupper((unsigned char)*p);
}

static int read_gpt(ptable_read_fn read, void *ctx, uint64_t disk_size, struct ptable *out, char *why, size_t wn)
{
	struct gpt_table *t = calloc(1, sizeof *t);
	if (!t || gpt_read_table(read, ctx, disk_size, t) < 0) {
		free(t);
		snprintf(why, wn, "the GUID partition table cannot be read (see above)");
		return -1;
	}
	out->kind = "gpt";
	guid_upper(t->disk_guid, out->disk_guid);
	for (unsigned i = 0; i < t->n_parts && out->n < PTABLE_MAX_PARTS; i++) {
		const struct gpt_part_info *p = &t->part[i];
		struct ptable_part *q = &out->parts[out->n++];
		q->number = (int)p->index;
		q->start = p->first_lba * SECTOR;
		q->size = (p->last_lba - p->first_lba + 1) * SECTOR;
		guid_upper(p->type_guid, q->type);
		guid_upper(p->unique_guid, q->uuid);
		snprintf(q->name, sizeof q->name, "%s", p->name);
		q->attributes = p->attributes;
		q->bootable = (p->attributes >> 2) & 1; /* LegacyBIOSBootable */
	}
	free(t);
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
