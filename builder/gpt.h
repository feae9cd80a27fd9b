/* builder/gpt.h: a GUID partition table written by apkg itself (UEFI spec 2.10, ch. 5).
 *
 * gpt_build() produces the bytes of the protective MBR, the primary header
 * and entry array (the first 34 sectors) and the backup entry array and
 * header (the last 33 sectors). Partitions are 1 MiB aligned; GUIDs come from
 * the caller (derived from the recipe hash, so builds are reproducible).
 */
#ifndef APKG_BUILDER_GPT_H
#define APKG_BUILDER_GPT_H

#include <stddef.h>
#include <stdint.h>

#define GPT_SECTOR 512
#define GPT_ENTRIES 128
#define GPT_ENTRY_SIZE 128
#define GPT_HEAD_SECTORS 34 /* MBR + header + 32 sectors of entries */
#define GPT_TAIL_SECTORS 33 /* 32 sectors of entries + header */
#define GPT_ALIGN (1024 * 1024)

#define GPT_ATTR_LEGACY_BIOS_BOOTABLE (1ull << 2)

struct gpt_partition {
	uint8_t type_uuid[16];   /* text (big-endian) byte order */
	uint8_t unique_uuid[16]; /* text byte order */
	uint64_t first_lba, last_lba;
	uint64_t attributes;
	const char *name;        /* ASCII, at most 36 characters */
};

struct gpt_disk {
	uint64_t size_bytes;     /* multiple of 512 */
	uint8_t disk_uuid[16];   /* text byte order */
	const uint8_t *mbr_boot_code; /* 440 bytes (gptmbr.bin) or NULL */
	struct gpt_partition parts[4];
	size_t n_parts;
};

/* head: GPT_HEAD_SECTORS*512 bytes; tail: GPT_TAIL_SECTORS*512 bytes, to be placed at
 * size_bytes - GPT_TAIL_SECTORS*512. Returns -1 if the partitions don't fit. */
int gpt_build(const struct gpt_disk *d, uint8_t *head, uint8_t *tail);

/* First and last LBA usable by partitions for a disk of this size. */
uint64_t gpt_first_usable_lba(void);
uint64_t gpt_last_usable_lba(uint64_t size_bytes);

/* Type GUIDs (text order). */
extern const uint8_t GPT_TYPE_ESP[16];
extern const uint8_t GPT_TYPE_LINUX_ROOT_X86_64[16];

#endif
