/* vmm/cow_disk.h: a private copy-on-write overlay over a read-only disk.
 *
 * Promises: the base backend (the artifact) is only ever read. Written
 * 4 KiB clusters live in an unlinked, sparse temporary file (in $TMPDIR,
 * else /var/tmp), which disappears with the process; reads take each
 * cluster from the overlay if the guest wrote it, else from the base.
 * Every range is checked against the disk size.
 */
#ifndef APKG_VMM_COW_DISK_H
#define APKG_VMM_COW_DISK_H

#include "vmm/disk_backend.h"

#include <stddef.h>
#include <stdint.h>

#define COW_CLUSTER 4096u

struct cow_disk;

/* Takes ownership of base. NULL after printing why. */
struct cow_disk *cow_disk_create(struct disk_backend *base);
void cow_disk_destroy(struct cow_disk *d);
uint64_t cow_disk_size(const struct cow_disk *d);
int cow_disk_read(struct cow_disk *d, void *buf, uint64_t len, uint64_t off);
int cow_disk_write(struct cow_disk *d, const void *buf, uint64_t len, uint64_t off);
/* Bytes of overlay written so far (whole clusters). */
uint64_t cow_disk_overlay_bytes(const struct cow_disk *d);

#endif
