/* formats/gpt/gpt_reader.h: reading a GUID partition table, as hostile input (UEFI 2.10, 5.3).
 *
 * Promises: the primary header is used if its signature, size, CRC, own
 * LBA and entry-array CRC are right, else the backup header at the disk's
 * last LBA; the entry array must lie inside the disk and its size is
 * capped; every partition returned lies inside the disk (first <= last).
 * Errors are reported with error() and -1; nothing is trusted unchecked.
 */
#ifndef APKG_FORMATS_GPT_READER_H
#define APKG_FORMATS_GPT_READER_H

#include <stddef.h>
#include <stdint.h>

#define GPT_READER_MAX_PARTS 128

/* Reads len bytes at off of the disk; 0 or -1. */
typedef int (*gpt_read_fn)(void *ctx, void *buf, size_t len, uint64_t off);

struct gpt_part_info {
	unsigned index;           /* 1-based, as partition numbers are */
	uint8_t type_guid[16];    /* on-disk (mixed-endian) byte order */
	uint8_t unique_guid[16];
	uint64_t first_lba, last_lba, attributes;
	char name[37];            /* UTF-16LE name, non-ASCII as '?' */
};

struct gpt_table {
	uint8_t disk_guid[16];
	struct gpt_part_info part[GPT_READER_MAX_PARTS];
	unsigned n_parts;         /* used entries only */
	int used_backup;
};

int gpt_read_table(gpt_read_fn read, void *ctx, uint64_t disk_size, struct gpt_table *out);
/* The first EFI system partition, or NULL. */
const struct gpt_part_info *gpt_find_esp(const struct gpt_table *t);
/* "xxxxxxxx-xxxx-..." of an on-disk GUID (37 bytes with the NUL). */
void gpt_guid_to_text(const uint8_t guid[16], char out[37]);

#endif
