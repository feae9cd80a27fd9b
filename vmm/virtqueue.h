/* vmm/virtqueue.h: the device side of a split virtqueue (virtio 1.2, section 2.7).
 *
 * The descriptor table, the available ring and the used ring live in guest
 * memory and are hostile. Promises:
 *   - the three areas are checked against guest RAM (and their alignment)
 *     once, when the driver sets QueueReady; afterwards only host pointers
 *     inside them are used;
 *   - every descriptor is copied before it is checked, and its buffer must
 *     lie inside guest RAM (guest_mem_ptr);
 *   - a chain is at most the queue size long (so a loop ends), its `next`
 *     indexes are below the queue size, device-readable buffers come before
 *     device-writable ones, and indirect descriptors (never offered) are refused;
 *   - ring positions are taken modulo the queue size; an available index
 *     that runs more than a queue ahead, or a head index out of range,
 *     marks the queue broken: it is then ignored until the device is reset.
 */
#ifndef APKG_VMM_VIRTQUEUE_H
#define APKG_VMM_VIRTQUEUE_H

#include "vmm/guest_mem.h"

#include <stdbool.h>
#include <stdint.h>

#define VIRTQ_MAX_SIZE 256 /* QueueNumMax, as Firecracker */

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtq {
	/* Set by the transport from the driver's register writes. */
	uint16_t num;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	bool ready;
	bool broken;
	/* Device state. */
	uint16_t last_avail; /* free-running index of the next available entry */
	uint16_t used_idx;   /* free-running index of the next used entry */
	struct virtq_desc *desc;
	uint16_t *avail;     /* flags, idx, ring[num], used_event */
	uint8_t *used;       /* flags, idx, ring[num] of {id, len}, avail_event */
};

/* One buffer of a chain, already translated to host memory. */
struct virtq_iov {
	uint8_t *base;
	uint32_t len;
};

struct virtq_chain {
	uint16_t head;
	unsigned n_readable, n_writable;  /* readable iovs first, then writable */
	uint64_t readable_len, writable_len;
	struct virtq_iov iov[VIRTQ_MAX_SIZE];
};

enum virtq_pop_result {
	VIRTQ_EMPTY = 0,
	VIRTQ_CHAIN = 1,      /* chain is valid */
	VIRTQ_BAD_CHAIN = 2,  /* chain->head is valid; return it with length 0 */
	VIRTQ_BROKEN = 3,     /* the queue is unusable until reset */
};

/* Resets the device-side state (a device reset, or QueueReady = 0). */
void virtq_reset(struct virtq *q);
/* Validates the areas and queue size the driver set; 0 (queue ready) or -1. */
int virtq_activate(struct virtq *q, const struct guest_mem *mem);
enum virtq_pop_result virtq_pop(struct virtq *q, const struct guest_mem *mem, struct virtq_chain *chain);
/* Puts head into the used ring with len bytes written. */
void virtq_push(struct virtq *q, uint16_t head, uint32_t len);
/* Whether the driver wants an interrupt for used buffers. */
bool virtq_wants_interrupt(const struct virtq *q);

/* Copies len bytes starting at off of the chain's readable part into dst;
 * -1 if the readable part is shorter. */
int virtq_chain_read(const struct virtq_chain *c, uint64_t off, void *dst, uint64_t len);
/* Copies into the chain's writable part at off; -1 if it is shorter. */
int virtq_chain_write(const struct virtq_chain *c, uint64_t off, const void *src, uint64_t len);

#endif
