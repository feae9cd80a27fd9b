/* vmm/virtqueue.c: split virtqueues over hostile guest memory (virtio 1.2, 2.7). */
#include "vmm/virtqueue.h"

#include <string.h>

/* Ring layouts (2.7.6 and 2.7.8), in bytes, for a queue of num entries. */
static uint64_t desc_bytes(uint16_t num) { return 16ull * num; }
static uint64_t avail_bytes(uint16_t num) { return 6ull + 2ull * num; }
static uint64_t used_bytes(uint16_t num) { return 6ull + 8ull * num; }

void virtq_reset(struct virtq *q)
{
	memset(q, 0, sizeof *q);
}

int virtq_activate(struct virtq *q, const struct guest_mem *mem)
{
	uint16_t n = q->num;
	/* 2.7: the queue size of a split virtqueue is a power of 2, at most 32768;
	 * ours is at most VIRTQ_MAX_SIZE. Alignment: 2.7 table "Virtqueue Part Alignment". */
	if (n == 0 || n > VIRTQ_MAX_SIZE || (n & (n - 1)))
		return -1;
	if ((q->desc_gpa & 15) || (q->avail_gpa & 1) || (q->used_gpa & 3))
		return -1;
	q->desc = guest_mem_ptr(mem, q->desc_gpa, desc_bytes(n));
	q->avail = guest_mem_ptr(mem, q->avail_gpa, avail_bytes(n));
	q->used = guest_mem_ptr(mem, q->used_gpa, used_bytes(n));
	if (!q->desc || !q->avail || !q->used)
		return -1;
	q->last_avail = 0;
	q->used_idx = 0;
	q->broken = false;
	q->ready = true;
	return 0;
}

static uint16_t load_u16(const uint16_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static enum virtq_pop_result walk_chain(const struct virtq *q, const struct guest_mem *mem, uint16_t head,
					struct virtq_chain *c)
{
	uint16_t idx = head;
	for (unsigned count = 0;; count++) {
		if (count == q->num)
			return VIRTQ_BAD_CHAIN; /* longer than the queue: a loop */
		struct virtq_desc d;
		memcpy(&d, (const void *)&q->desc[idx], sizeof d); /* check the copy, never the original */
		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			return VIRTQ_BAD_CHAIN; /* VIRTIO_F_INDIRECT_DESC is never offered */
		uint8_t *p = guest_mem_ptr(mem, d.addr, d.len);
		if (!p)
			return VIRTQ_BAD_CHAIN;
		if (d.flags & VIRTQ_DESC_F_WRITE) {
			c->writable_len += d.len;
			c->iov[c->n_readable + c->n_writable++] = (struct virtq_iov){p, d.len};
		} else {
			if (c->n_writable)
				return VIRTQ_BAD_CHAIN; /* 2.7.4.2: readable buffers come first */
			c->readable_len += d.len;
			c->iov[c->n_readable++] = (struct virtq_iov){p, d.len};
		}
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return VIRTQ_CHAIN;
		if (d.next >= q->num)
			return VIRTQ_BAD_CHAIN;
		idx = d.next;
	}
}

enum virtq_pop_result virtq_pop(struct virtq *q, const struct guest_mem *mem, struct virtq_chain *c)
{
	if (!q->ready || q->broken)
		return q->broken ? VIRTQ_BROKEN : VIRTQ_EMPTY;
	uint16_t avail_idx = load_u16(&q->avail[1]);
	uint16_t pending = (uint16_t)(avail_idx - q->last_avail);
	if (pending == 0)
		return VIRTQ_EMPTY;
	if (pending > q->num) {
		q->broken = true;
		return VIRTQ_BROKEN;
	}
	uint16_t head = load_u16(&q->avail[2 + q->last_avail % q->num]);
	if (head >= q->num) {
		q->broken = true;
		return VIRTQ_BROKEN;
	}
	q->last_avail++;
	c->head = head;
	c->n_readable = c->n_writable = 0;
	c->readable_len = c->writable_len = 0;
	return walk_chain(q, mem, head, c);
}

void virtq_push(struct virtq *q, uint16_t head, uint32_t len)
{
	uint8_t *elem = q->used + 4 + 8u * (q->used_idx % q->num);
	uint32_t id = head;
	memcpy(elem, &id, 4);
	memcpy(elem + 4, &len, 4);
	q->used_idx++;
	/* The entry must be visible before the index that publishes it (2.7.8). */
	__atomic_store_n((uint16_t *)(void *)(q->used + 2), q->used_idx, __ATOMIC_RELEASE);
}

bool virtq_wants_interrupt(const struct virtq *q)
{
	return !(load_u16(&q->avail[0]) & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

/* Walks iovs [first, first + n) and calls copy on the pieces of [off, off + len). */
static int chain_copy(const struct virtq_iov *iov, unsigned n, uint64_t off, uint8_t *buf, uint64_t len,
		      int to_guest)
{
	for (unsigned i = 0; i < n && len; i++) {
		if (off >= iov[i].len) {
			off -= iov[i].len;
			continue;
		}
		uint64_t piece = iov[i].len - off;
		if (piece > len)
			piece = len;
		if (to_guest)
			memcpy(iov[i].base + off, buf, piece);
		else
			memcpy(buf, iov[i].base + off, piece);
		buf += piece;
		len -= piece;
		off = 0;
	}
	return len ? -1 : 0;
}

int virtq_chain_read(const struct virtq_chain *c, uint64_t off, void *dst, uint64_t len)
{
	if (off > c->readable_len || len > c->readable_len - off)
		return -1;
	return chain_copy(c->iov, c->n_readable, off, dst, len, 0);
}

int virtq_chain_write(const struct virtq_chain *c, uint64_t off, const void *src, uint64_t len)
{
	if (off > c->writable_len || len > c->writable_len - off)
		return -1;
	return chain_copy(c->iov + c->n_readable, c->n_writable, off, (uint8_t *)src, len, 1);
}
