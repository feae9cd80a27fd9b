/* tests/fuzz/fuzz_virtqueue.c: libFuzzer harness for the split virtqueue (vmm/virtqueue.c).
 *
 * Input: a 12-byte queue description (size, and the descriptor, available
 * and used ring addresses, each taken modulo a little more than guest RAM so
 * that both valid and invalid places are common), then the contents of a
 * simulated 64 KiB guest RAM. The harness activates the queue and pops
 * every chain, touching each byte of each buffer (ASan catches any pointer
 * outside guest RAM: the RAM is an exact-size allocation), copies through
 * virtq_chain_read/write, and returns every chain to the used ring.
 */
#include "vmm/virtqueue.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define RAM 65536
#define SPREAD (RAM + 8192)

static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 12)
		return 0;
	uint8_t *ram = calloc(1, RAM);
	memcpy(ram, data + 12, size - 12 < RAM ? size - 12 : RAM);
	struct guest_mem mem;
	guest_mem_borrow(&mem, ram, RAM);
	struct virtq q;
	virtq_reset(&q);
	q.num = (uint16_t)(1u << (data[0] % 10)); /* 1..512: past the maximum too */
	if (data[1] & 1)
		q.num = (uint16_t)(data[0] | data[1] << 8);
	q.desc_gpa = get32(data + 0) % SPREAD & ~0xfull;
	q.avail_gpa = get32(data + 4) % SPREAD;
	q.used_gpa = get32(data + 8) % SPREAD;
	if (virtq_activate(&q, &mem) == 0) {
		struct virtq_chain *c = malloc(sizeof *c);
		unsigned sum = 0;
		for (int i = 0; i < 2 * VIRTQ_MAX_SIZE + 4; i++) {
			enum virtq_pop_result r = virtq_pop(&q, &mem, c);
			if (r == VIRTQ_EMPTY || r == VIRTQ_BROKEN)
				break;
			uint32_t written = 0;
			if (r == VIRTQ_CHAIN) {
				for (unsigned k = 0; k < c->n_readable + c->n_writable; k++)
					for (uint32_t b = 0; b < c->iov[k].len; b += 61)
						sum += c->iov[k].base[b] + c->iov[k].base[c->iov[k].len - 1];
				uint8_t buf[64];
				if (virtq_chain_read(c, c->readable_len / 2, buf, 16) == 0)
					sum += buf[0];
				if (c->writable_len && virtq_chain_write(c, c->writable_len - 1, buf, 1) == 0)
					written = 1;
			}
			virtq_push(&q, c->head, written);
			(void)virtq_wants_interrupt(&q);
		}
		free(c);
		if (sum == 0xdeadbeef)
			abort(); /* keeps the reads from being optimised away */
	}
	free(ram);
	return 0;
}
