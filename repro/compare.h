/* repro/compare.h: compare two builds' outputs and root trees, and say where they differ.
 *
 * Every artifact is compared byte for byte. For one that differs the report
 * names the first differing structure: for a disk image (raw, or any format
 * qemu-img reads, converted to raw) the GPT field, the ESP's file or FAT
 * structure, the ext4 block and the file or inode field it belongs to; when
 * the disks are equal but the files are not, the container structure
 * (qcow2 header, L1/L2 entry, refcount block, data cluster); for archives
 * (initramfs cpio, OVA tar) the first differing member, looked into again
 * when it is a disk or a text; for texts the first differing line.
 */
#ifndef APKG_REPRO_COMPARE_H
#define APKG_REPRO_COMPARE_H

#include <stddef.h>
#include <stdint.h>

struct strbuf;

/* Returns 0 when the files are equal, 1 with *at (the first differing byte)
 * and *blocks (differing 4 KiB blocks) set when they differ, -1 on errors. */
int repro_file_difference(const char *a, const char *b, uint64_t *at, uint64_t *blocks);

/* Compares every file under the output directories a and b (recursively);
 * appends a paragraph per difference to report. tmpdir is scratch space
 * (converted images, cut-out partitions). Returns the number of differing
 * artifacts, -1 on errors; *compared counts the artifacts looked at. */
int repro_compare_outputs(const char *a, const char *b, const char *tmpdir, struct strbuf *report, size_t *compared);

/* Compares two root trees entry by entry (type, mode, owner, size, content,
 * link target, xattrs, modification time, device number, link count) and
 * appends the first `max` differing entries, each with the Debian package
 * that owns it (from the tree's /var/lib/dpkg/info/ *.list files) or what
 * else made it. Returns the number of differing entries, -1 on errors. */
int repro_compare_trees(const char *a, const char *b, size_t max, struct strbuf *report);

#endif
