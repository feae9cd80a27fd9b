/* formats/fat/fat_reader.h: a read-only FAT12/16/32 reader, for hostile volumes.
 *
 * Enough to read files off an EFI system partition without mounting it:
 * directories (8.3 names with the NT lower-case bits, and VFAT long
 * names, whose checksums are checked), paths looked up case-insensitively,
 * and files read whole up to a caller's limit. Promises: the boot sector's
 * geometry must be consistent and lie inside the volume; every cluster
 * number is range-checked; cluster chains are bounded by the cluster count
 * (a loop ends in an error, not a hang); a file's chain must cover its size.
 * Errors are reported with error() and -1.
 */
#ifndef APKG_FORMATS_FAT_READER_H
#define APKG_FORMATS_FAT_READER_H

#include <stddef.h>
#include <stdint.h>

struct strbuf;
struct fat_volume;

/* Reads len bytes at off of the volume; 0 or -1. */
typedef int (*fat_read_fn)(void *ctx, void *buf, size_t len, uint64_t off);

struct fat_dirent {
	char name[256]; /* long name if there is a valid one, else the 8.3 name */
	int is_dir;
	uint32_t size;
	uint32_t cluster;
};

struct fat_volume *fat_open(fat_read_fn read, void *ctx, uint64_t size);
void fat_close(struct fat_volume *v);
int fat_type(const struct fat_volume *v); /* 12, 16 or 32 */
/* 0 and *out if path exists, 1 if it does not, -1 on a damaged volume. */
int fat_stat(struct fat_volume *v, const char *path, struct fat_dirent *out);
/* Calls fn for each entry of the directory at path ("/" is the root), in
 * directory order, until fn returns non-zero. */
int fat_list(struct fat_volume *v, const char *path, int (*fn)(const struct fat_dirent *e, void *arg), void *arg);
/* Appends the file's content to out; files over max bytes are refused. */
int fat_read_file(struct fat_volume *v, const char *path, struct strbuf *out, size_t max);

#endif
