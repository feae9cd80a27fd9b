/* repro/disk_map.h: which structure of a GPT disk image a byte belongs to.
 *
 * For `apkg build --verify-repro`: the protective MBR and its fields, the
 * primary and backup GPT headers and partition entries (and the field),
 * and inside a partition whatever its file system says (FAT: fat_map.h,
 * ext4: ext4_map.h). The image is read as untrusted input: every LBA and
 * count from the GPT is checked against the image's size.
 */
#ifndef APKG_REPRO_DISK_MAP_H
#define APKG_REPRO_DISK_MAP_H

#include <stdint.h>

struct strbuf;

/* Appends a description of byte off of the raw disk image `raw` to out;
 * tmpdir holds the partition it cuts out for e2fsprogs. Returns 0, -1 on
 * I/O errors (reason appended). */
int disk_describe(const char *raw, uint64_t off, const char *tmpdir, struct strbuf *out);

/* Field names by byte offset. */
const char *mbr_field(unsigned at);
const char *gpt_header_field(unsigned at);
const char *gpt_entry_field(unsigned at);

#endif
