/* formats/qcow2/qcow2_reader.h: reading qcow2 images (v2 and v3), as hostile input.
 *
 * Promises: every offset and size in the image is checked against the
 * file before use; features apkg cannot honour (backing files, encryption,
 * external data files, extended L2 entries, unknown incompatible bits) are
 * refused at open with a message naming them; memory is bounded (the L1
 * table, which qemu caps at 32 MiB and which must lie inside the file, a
 * few MiB of L2 cache and two cluster buffers); errors are reported with
 * error() and -1, never by crashing or exiting.
 *
 * Reads only the active image (internal snapshots are ignored) and never
 * writes. Thread-safety: one reader may be shared by several threads;
 * calls are serialised internally where they touch the caches, and data
 * clusters are read with pread() outside the lock. Meant to live in a
 * long-running process (the VMM's block device): close frees everything.
 */
#ifndef APKG_FORMATS_QCOW2_READER_H
#define APKG_FORMATS_QCOW2_READER_H

#include <stddef.h>
#include <stdint.h>

struct qcow2_reader;

struct qcow2_info {
	int version;            /* 2 or 3 */
	unsigned cluster_bits;
	uint64_t cluster_size;
	uint64_t virtual_size;  /* bytes, as stored in the header */
	int compression_type;   /* 0 deflate, 1 zstd */
	int dirty;              /* incompatible bit 0: refcounts may be stale (reading is fine) */
};

/* How a range of the virtual disk is stored. */
enum qcow2_status {
	QCOW2_UNALLOCATED = 0, /* reads as zero (no backing file is ever followed) */
	QCOW2_ZERO = 1,        /* v3 zero cluster */
	QCOW2_DATA = 2,
	QCOW2_COMPRESSED = 3,
};

/* Opens the image on fd (not closed by the reader; it must stay open).
 * name is used in messages. NULL after printing why. */
struct qcow2_reader *qcow2_reader_open_fd(int fd, const char *name);
void qcow2_reader_close(struct qcow2_reader *r);
const struct qcow2_info *qcow2_reader_info(const struct qcow2_reader *r);

/* Reads len bytes at virtual offset off (the whole range must lie inside
 * the virtual size). Returns 0 or -1. */
int qcow2_reader_pread(struct qcow2_reader *r, void *buf, size_t len, uint64_t off);

/* Describes the range starting at off: returns its status (>= 0) and sets
 * *run to how many bytes from off (1..len) share it; -1 on error. */
int qcow2_reader_status(struct qcow2_reader *r, uint64_t off, uint64_t len, uint64_t *run);

/* True if buf starts with the qcow2 magic (len >= 4). */
int qcow2_probe(const void *buf, size_t len);

#endif
