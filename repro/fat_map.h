/* repro/fat_map.h: which structure of a FAT file system a byte belongs to.
 *
 * For `apkg build --verify-repro`: given an ESP image and the offset of its
 * first differing byte, say what is there: a boot sector field (the volume
 * serial, say), a FAT copy and the file whose cluster chain the entry
 * belongs to, a directory entry (and whose), or a data cluster and the file
 * that owns it. The image is untrusted input: every size, cluster number
 * and chain is checked against the buffer; chains that loop or leave the
 * volume are cut; a malformed image gives an answer, never a crash.
 */
#ifndef APKG_REPRO_FAT_MAP_H
#define APKG_REPRO_FAT_MAP_H

#include <stddef.h>
#include <stdint.h>

struct strbuf;

/* Appends a description of byte `off` of the FAT volume in buf[0..len) to
 * out, e.g. "data cluster 37 of /EFI/BOOT/BOOTX64.EFI (byte 12288 of the
 * file)". Returns 0, or -1 (with the reason appended) when buf does not
 * hold a FAT file system apkg can read. */
int fat_describe(const uint8_t *buf, size_t len, uint64_t off, struct strbuf *out);

#endif
