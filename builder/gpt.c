/* builder/gpt.c: protective MBR + primary/backup GPT headers and entry arrays.
 * Field offsets follow the UEFI specification 2.10, section 5.3 (GPT header,
 * table 5-5) and 5.3.3 (partition entry); CRC32 is zlib's (the same polynomial). */
#include "builder/gpt.h"

#include "util/diag.h"
#include "util/ident.h"

#include <string.h>
#include <zlib.h>

const uint8_t GPT_TYPE_ESP[16] = {0xc1, 0x2a, 0x73, 0x28, 0xf8, 0x1f, 0x11, 0xd2,
				  0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b};
/* The Discoverable Partitions Specification's "root partition (x86-64)". */
const uint8_t GPT_TYPE_LINUX_ROOT_X86_64[16] = {0x4f, 0x68, 0xbc, 0xe3, 0xe8, 0xcd, 0x4d, 0xb1,
						0x96, 0xe7, 0xfb, 0xca, 0xf9, 0x84, 0xb7, 0x09};

static void put_le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

uint64_t gpt_first_usable_lba(void) { return GPT_HEAD_SECTORS; }
uint64_t gpt_last_usable_lba(uint64_t size_bytes) { return size_bytes / GPT_SECTOR - GPT_TAIL_SECTORS - 1; }

static void write_entries(const struct gpt_disk *d, uint8_t *entries)
{
	memset(entries, 0, GPT_ENTRIES * GPT_ENTRY_SIZE);
	for (size_t i = 0; i < d->n_parts; i++) {
		const struct gpt_partition *p = &d->parts[i];
		uint8_t *e = entries + i * GPT_ENTRY_SIZE;
		ident_uuid_to_guid(p->type_uuid, e);
		ident_uuid_to_guid(p->unique_uuid, e + 16);
		put_le64(e + 32, p->first_lba);
		put_le64(e + 40, p->last_lba);
		put_le64(e + 48, p->attributes);
		for (size_t c = 0; p->name && p->name[c] && c < 36; c++)
			put_le16(e + 56 + 2 * c, (uint8_t)p->name[c]);
	}
}

static void write_header(const struct gpt_disk *d, uint8_t *h, uint64_t my_lba, uint64_t alt_lba,
			 uint64_t entries_lba, uint32_t entries_crc)
{
	memset(h, 0, GPT_SECTOR);
	memcpy(h, "EFI PART", 8);
	put_le32(h + 8, 0x00010000); /* revision 1.0 */
	put_le32(h + 12, 92);        /* header size */
	put_le64(h + 24, my_lba);
	put_le64(h + 32, alt_lba);
	put_le64(h + 40, gpt_first_usable_lba());
	put_le64(h + 48, gpt_last_usable_lba(d->size_bytes));
	ident_uuid_to_guid(d->disk_uuid, h + 56);
	put_le64(h + 72, entries_lba);
	put_le32(h + 80, GPT_ENTRIES);
	put_le32(h + 84, GPT_ENTRY_SIZE);
	put_le32(h + 88, entries_crc);
	put_le32(h + 16, (uint32_t)crc32(0, h, 92));
}

static void write_protective_mbr(const struct gpt_disk *d, uint8_t *mbr)
{
	memset(mbr, 0, GPT_SECTOR);
	if (d->mbr_boot_code)
		memcpy(mbr, d->mbr_boot_code, 440);
	uint8_t *pe = mbr + 446;
	uint64_t sectors = d->size_bytes / GPT_SECTOR;
	pe[0] = 0x00;                       /* not active: as sfdisk writes it */
	pe[1] = 0x00; pe[2] = 0x02; pe[3] = 0x00; /* CHS of LBA 1 */
	pe[4] = 0xee;                       /* GPT protective */
	pe[5] = 0xff; pe[6] = 0xff; pe[7] = 0xff;
	put_le32(pe + 8, 1);
	put_le32(pe + 12, sectors - 1 > 0xffffffffull ? 0xffffffffu : (uint32_t)(sectors - 1));
	mbr[510] = 0x55;
	mbr[511] = 0xaa;
}

int gpt_build(const struct gpt_disk *d, uint8_t *head, uint8_t *tail)
{
	if (d->size_bytes % GPT_SECTOR || d->size_bytes < (uint64_t)(GPT_HEAD_SECTORS + GPT_TAIL_SECTORS + 1) * GPT_SECTOR)
		return error("GPT: invalid disk size %llu", (unsigned long long)d->size_bytes);
	uint64_t last_usable = gpt_last_usable_lba(d->size_bytes);
	for (size_t i = 0; i < d->n_parts; i++) {
		const struct gpt_partition *p = &d->parts[i];
		if (p->first_lba < gpt_first_usable_lba() || p->last_lba > last_usable || p->last_lba < p->first_lba)
			return error("GPT: partition %zu (%llu-%llu) outside the usable range", i + 1,
				     (unsigned long long)p->first_lba, (unsigned long long)p->last_lba);
		for (size_t j = 0; j < i; j++)
			if (p->first_lba <= d->parts[j].last_lba && d->parts[j].first_lba <= p->last_lba)
				return error("GPT: partitions %zu and %zu overlap", j + 1, i + 1);
	}
	uint64_t last_lba = d->size_bytes / GPT_SECTOR - 1;
	uint8_t *entries = head + 2 * GPT_SECTOR;
	write_entries(d, entries);
	uint32_t ecrc = (uint32_t)crc32(0, entries, GPT_ENTRIES * GPT_ENTRY_SIZE);
	write_protective_mbr(d, head);
	write_header(d, head + GPT_SECTOR, 1, last_lba, 2, ecrc);
	memcpy(tail, entries, GPT_ENTRIES * GPT_ENTRY_SIZE);
	write_header(d, tail + 32 * GPT_SECTOR, last_lba, 1, last_lba - 32, ecrc);
	return 0;
}
