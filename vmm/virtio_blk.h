/* vmm/virtio_blk.h: a virtio block device (virtio 1.2, section 5.2) over a cow_disk.
 *
 * One request queue. Offered features: VIRTIO_F_VERSION_1, SEG_MAX,
 * BLK_SIZE (512) and FLUSH. Requests: IN, OUT, FLUSH and GET_ID; anything
 * else is answered VIRTIO_BLK_S_UNSUPP. Promises: the header and the
 * status byte may lie anywhere in the chain (VERSION_1 implies any
 * layout); every sector range is checked against the capacity; a request
 * that is malformed (no room for the status, a short header, a length
 * that is not whole sectors) is answered VIRTIO_BLK_S_IOERR when there is
 * a status byte to say so, and returned with length 0 otherwise; writes
 * go to the overlay, never to the artifact.
 */
#ifndef APKG_VMM_VIRTIO_BLK_H
#define APKG_VMM_VIRTIO_BLK_H

#include "vmm/cow_disk.h"
#include "vmm/virtio_mmio.h"

#include <stdint.h>

#define VIRTIO_ID_BLOCK 2
#define VIRTIO_BLK_F_SEG_MAX (1ull << 2)
#define VIRTIO_BLK_F_BLK_SIZE (1ull << 6)
#define VIRTIO_BLK_F_FLUSH (1ull << 9)

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2
#define VIRTIO_BLK_ID_BYTES 20
#define VIRTIO_BLK_SECTOR 512

struct virtio_blk {
	struct virtio_mmio transport;
	struct cow_disk *disk;
	uint8_t config[24]; /* capacity, size_max, seg_max, geometry, blk_size */
	char serial[VIRTIO_BLK_ID_BYTES];
	uint8_t bounce[64 * 1024];
	struct virtq_chain chain;
	uint64_t requests, bad_requests;
};

/* Takes ownership of disk. */
void virtio_blk_init(struct virtio_blk *b, struct cow_disk *disk, const char *serial, const struct guest_mem *mem,
		     unsigned gsi, virtio_irq_fn irq, void *irq_opaque);
void virtio_blk_destroy(struct virtio_blk *b);

#endif
