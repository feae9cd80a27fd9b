/* repro/ext4_map.h: which structure of an ext4 image a byte belongs to, asked of e2fsprogs.
 *
 * For `apkg build --verify-repro`. debugfs (icheck, ncheck) and dumpe2fs
 * are the oracles: a data block is named by the file that owns it, a block
 * of the inode table by the inode's path and the field within the inode
 * (its mtime, say), a superblock byte by its field; bitmaps and group
 * descriptors by their group.
 */
#ifndef APKG_REPRO_EXT4_MAP_H
#define APKG_REPRO_EXT4_MAP_H

#include <stdint.h>

struct strbuf;

/* Appends a description of byte `off` of the ext4 image file fs to out.
 * Returns 0, or -1 (reason appended) when e2fsprogs cannot read it. */
int ext4_describe(const char *fs, uint64_t off, struct strbuf *out);

/* Names of the fields of an ext4 inode and superblock, by byte offset. */
const char *ext4_inode_field(unsigned at);
const char *ext4_super_field(unsigned at);

#endif
