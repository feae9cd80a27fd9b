/* vmm/disk_backend.h: what a virtio-blk device reads its disk from.
 *
 * A backend is read-only: the virtual size and reads of any range inside
 * it. The artifact behind it is never written: guest writes go to a
 * cow_disk (vmm/cow_disk.h) layered on top. Implementations: raw and qcow2
 * images (files or block devices) through formats/reader.h, and a memory
 * buffer (tests, fuzz harnesses).
 */
#ifndef APKG_VMM_DISK_BACKEND_H
#define APKG_VMM_DISK_BACKEND_H

#include <stddef.h>
#include <stdint.h>

struct disk_backend;

struct disk_backend_ops {
	/* Reads len bytes at off; the range lies inside the size. 0 or -1. */
	int (*pread)(struct disk_backend *b, void *buf, size_t len, uint64_t off);
	void (*close)(struct disk_backend *b);
};

struct disk_backend {
	const struct disk_backend_ops *ops;
	uint64_t size;
	char *name; /* for messages */
};

/* Opens a raw or qcow2 image for reading (the format is detected from its
 * content; other image formats are refused by name). NULL after printing why. */
struct disk_backend *disk_backend_open(const char *path);
/* "raw", "qcow2" or "memory". */
const char *disk_backend_format(const struct disk_backend *b);
/* A backend over a caller-owned buffer, which must outlive it. */
struct disk_backend *disk_backend_memory(const void *data, uint64_t size);
int disk_backend_pread(struct disk_backend *b, void *buf, size_t len, uint64_t off);
void disk_backend_close(struct disk_backend *b);

#endif
