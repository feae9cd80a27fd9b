/* vmm/virtio_blk.c: virtio-blk request handling (virtio 1.2, 5.2.6). */
#include "vmm/virtio_blk.h"

#include <stdint.h>
#include <string.h>

struct blk_header { /* 5.2.6: struct virtio_blk_req, the device-readable part */
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

static void put_le32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put_le64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static const uint8_t *blk_config(void *dev, uint32_t *size)
{
	struct virtio_blk *b = dev;
	*size = sizeof b->config;
	return b->config;
}

/* Moves [off, off + len) of the disk to or from the chain, through the bounce buffer. */
static int transfer(struct virtio_blk *b, const struct virtq_chain *c, uint64_t chain_off, uint64_t disk_off,
		    uint64_t len, int to_guest)
{
	while (len) {
		uint64_t piece = len < sizeof b->bounce ? len : sizeof b->bounce;
		if (to_guest) {
			if (cow_disk_read(b->disk, b->bounce, piece, disk_off) < 0 ||
			    virtq_chain_write(c, chain_off, b->bounce, piece) < 0)
				return -1;
		} else {
			if (virtq_chain_read(c, chain_off, b->bounce, piece) < 0 ||
			    cow_disk_write(b->disk, b->bounce, piece, disk_off) < 0)
				return -1;
		}
		chain_off += piece;
		disk_off += piece;
		len -= piece;
	}
	return 0;
}

static int sectors_in_range(const struct virtio_blk *b, uint64_t sector, uint64_t len)
{
	uint64_t capacity = cow_disk_size(b->disk) / VIRTIO_BLK_SECTOR;
	if (len % VIRTIO_BLK_SECTOR)
		return 0;
	return sector <= capacity && len / VIRTIO_BLK_SECTOR <= capacity - sector;
}

/* Executes one request; returns its status and sets *written to the data bytes put in the chain. */
static uint8_t execute(struct virtio_blk *b, const struct virtq_chain *c, const struct blk_header *h,
		       uint64_t *written)
{
	uint64_t data_in = c->writable_len - 1; /* the writable part minus the status byte */
	uint64_t data_out = c->readable_len - sizeof *h;
	*written = 0;
	switch (h->type) {
	case VIRTIO_BLK_T_IN:
		if (!sectors_in_range(b, h->sector, data_in) ||
		    transfer(b, c, 0, h->sector * VIRTIO_BLK_SECTOR, data_in, 1) < 0)
			return VIRTIO_BLK_S_IOERR;
		*written = data_in;
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_OUT:
		if (!sectors_in_range(b, h->sector, data_out) ||
		    transfer(b, c, sizeof *h, h->sector * VIRTIO_BLK_SECTOR, data_out, 0) < 0)
			return VIRTIO_BLK_S_IOERR;
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_FLUSH:
		return VIRTIO_BLK_S_OK; /* the overlay is private and dies with the VM */
	case VIRTIO_BLK_T_GET_ID: {
		uint64_t n = data_in < VIRTIO_BLK_ID_BYTES ? data_in : VIRTIO_BLK_ID_BYTES;
		if (virtq_chain_write(c, 0, b->serial, n) < 0)
			return VIRTIO_BLK_S_IOERR;
		*written = n;
		return VIRTIO_BLK_S_OK;
	}
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

/* Handles one valid chain; returns the used length (bytes written into the chain). */
static uint32_t handle_request(struct virtio_blk *b, const struct virtq_chain *c)
{
	struct blk_header h;
	if (c->writable_len == 0) {
		b->bad_requests++;
		return 0; /* no status byte to report in */
	}
	uint64_t written = 0;
	uint8_t status;
	if (virtq_chain_read(c, 0, &h, sizeof h) < 0) {
		status = VIRTIO_BLK_S_IOERR;
	} else {
		status = execute(b, c, &h, &written);
	}
	if (status == VIRTIO_BLK_S_IOERR)
		b->bad_requests++;
	virtq_chain_write(c, c->writable_len - 1, &status, 1);
	return written + 1 > UINT32_MAX ? UINT32_MAX : (uint32_t)(written + 1);
}

static void blk_notify(void *dev, struct virtio_mmio *t, unsigned qi)
{
	struct virtio_blk *b = dev;
	struct virtq *q = &t->queue[qi];
	int used = 0;
	for (;;) {
		enum virtq_pop_result r = virtq_pop(q, t->mem, &b->chain);
		if (r == VIRTQ_EMPTY)
			break;
		if (r == VIRTQ_BROKEN) {
			virtio_mmio_needs_reset(t);
			break;
		}
		b->requests++;
		uint32_t len = 0;
		if (r == VIRTQ_CHAIN)
			len = handle_request(b, &b->chain);
		else
			b->bad_requests++;
		virtq_push(q, b->chain.head, len);
		used = 1;
	}
	if (used)
		virtio_mmio_notify_used(t, qi);
}

static const struct virtio_device_ops blk_ops = {
	.device_id = VIRTIO_ID_BLOCK,
	.n_queues = 1,
	.config = blk_config,
	.notify = blk_notify,
};

void virtio_blk_init(struct virtio_blk *b, struct cow_disk *disk, const char *serial, const struct guest_mem *mem,
		     unsigned gsi, virtio_irq_fn irq, void *irq_opaque)
{
	memset(b, 0, sizeof *b);
	b->disk = disk;
	/* 5.2.6: the ID is zero-padded, and not terminated when it is 20 bytes long. */
	memcpy(b->serial, serial, strnlen(serial, sizeof b->serial));
	/* 5.2.4: capacity in 512-byte sectors; seg_max at 12; blk_size at 20. */
	put_le64(b->config, cow_disk_size(disk) / VIRTIO_BLK_SECTOR);
	put_le32(b->config + 12, VIRTQ_MAX_SIZE - 2);
	put_le32(b->config + 20, VIRTIO_BLK_SECTOR);
	virtio_mmio_init(&b->transport, &blk_ops, b, VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_BLK_SIZE | VIRTIO_BLK_F_FLUSH,
			 mem, gsi, irq, irq_opaque);
}

void virtio_blk_destroy(struct virtio_blk *b)
{
	cow_disk_destroy(b->disk);
	b->disk = NULL;
}
