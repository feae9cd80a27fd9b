/* inspect/ptable.h: a disk's partition table (GPT or MBR), read from its bytes.
 *
 * libguestfs answers partition questions by running parted or sgdisk in its
 * appliance, several seconds each under TCG; reading the few sectors once
 * and parsing them here is one call. GPT (UEFI 2.10, ch. 5): the primary
 * header's signature, size and CRC32 are checked, as is the entry array's
 * CRC32; entries are capped at 256. MBR: the four primary entries and up to
 * 64 logical partitions along the extended chain (each EBR is read once;
 * loops end). The bytes are hostile: every offset is checked before use.
 */
#ifndef APKG_INSPECT_PTABLE_H
#define APKG_INSPECT_PTABLE_H

#include <stddef.h>
#include <stdint.h>

#define PTABLE_MAX_PARTS 256
#define PTABLE_MAX_LOGICAL 64

struct ptable_part {
	int number;
	uint64_t start, size;   /* bytes */
	char type[40];          /* GPT type GUID (upper case), or the MBR id as "0x83" */
	char uuid[37];          /* GPT unique GUID, or "" */
	char name[112];         /* GPT name as UTF-8, or "" */
	uint64_t attributes;    /* GPT attribute bits */
	int bootable;           /* MBR active flag, or GPT bit 2 (LegacyBIOSBootable) */
};

struct ptable {
	const char *kind;       /* "gpt", "msdos", or NULL (no partition table) */
	char disk_guid[37];
	struct ptable_part parts[PTABLE_MAX_PARTS];
	size_t n;
};

/* Reads len bytes of the disk at off into buf; returns 0, or -1 when it cannot. */
typedef int (*ptable_read_fn)(void *ctx, void *buf, size_t len, uint64_t off);

/* Reads the partition table of a disk of disk_size bytes (512-byte sectors).
 * Returns 0 (out->kind is NULL when there is none), or -1 when a table is
 * there but damaged, with the reason in why. */
int ptable_read(ptable_read_fn read, void *ctx, uint64_t disk_size, struct ptable *out, char *why, size_t n);

#endif
