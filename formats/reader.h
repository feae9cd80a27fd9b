/* formats/reader.h: reading a disk image of any format apkg reads (raw, qcow2).
 *
 * The format is detected from the content: the qcow2 magic means qcow2,
 * other known image magics (VMDK, VHDX, VHD, VDI) are refused by name, and
 * anything else is raw. One interface for `apkg convert`, `apkg inspect`
 * and the VMM's block device: the virtual size, reads of any range, and a
 * status query that tells data from ranges that read as zero without
 * reading them. Thread-safety: as the underlying format reader (qcow2:
 * shareable between threads; raw: pread only).
 */
#ifndef APKG_FORMATS_READER_H
#define APKG_FORMATS_READER_H

#include <stddef.h>
#include <stdint.h>

struct image_reader;

enum image_status { IMAGE_ZERO = 0, IMAGE_DATA = 1 };

/* QEMU's driver name for an image from its first bytes (512 or more):
 * "qcow2", "vmdk", "vmdk-descriptor" (a text descriptor of separate
 * extents), "vhdx", "vpc" (VHD), "vdi", or "raw" for anything else. */
const char *image_format_sniff(const unsigned char *head, size_t n);
/* Opens and detects. NULL after printing why. */
struct image_reader *image_reader_open(const char *path);
void image_reader_close(struct image_reader *r);
const char *image_reader_format(const struct image_reader *r); /* "raw", "qcow2" */
uint64_t image_reader_size(const struct image_reader *r);
int image_reader_pread(struct image_reader *r, void *buf, size_t len, uint64_t off);
/* Returns IMAGE_ZERO or IMAGE_DATA for the run starting at off and sets
 * *run to its length (1..len, clipped to the virtual size); -1 on error.
 * IMAGE_DATA may still contain zeros (raw data blocks, qcow2 data clusters). */
int image_reader_status(struct image_reader *r, uint64_t off, uint64_t len, uint64_t *run);
/* The underlying qcow2 reader, or NULL for raw (for format-specific details). */
struct qcow2_reader *image_reader_qcow2(struct image_reader *r);
/* The file descriptor of a raw image (its bytes are the disk's), or -1 for qcow2. */
int image_reader_raw_fd(const struct image_reader *r);

#endif
