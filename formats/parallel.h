/* formats/parallel.h: an ordered pool of worker threads for per-block work.
 *
 * Writers that compress (qcow2 now, streamOptimized VMDK later) fill input
 * slots in order; up to `threads` workers transform them in any order; the
 * results come back to the producer strictly in submission order, through
 * the consume callback, on the producer's thread. So the output never
 * depends on the number of threads or on timing, which keeps images
 * reproducible. Memory is bounded: slots x (in_cap + out_cap) bytes.
 *
 * Only the producer thread may call the functions below.
 */
#ifndef APKG_FORMATS_PARALLEL_H
#define APKG_FORMATS_PARALLEL_H

#include <stddef.h>
#include <stdint.h>

/* Runs on a worker: transforms in[0..in_len) into out (capacity out_cap)
 * and returns the output length; 0 means "no useful output" (e.g. the
 * block does not shrink). Must be deterministic. */
typedef size_t (*ordered_work_fn)(void *worker_state, const void *in, size_t in_len, void *out, size_t out_cap);
/* Runs on the producer, in submission order. Returns 0 or -1 (the pool
 * then refuses further work and every later call returns -1). */
typedef int (*ordered_consume_fn)(void *arg, uint64_t tag, const void *in, size_t in_len, const void *out,
				  size_t out_len);

struct ordered_pool_config {
	int threads;        /* >= 1 */
	size_t slots;       /* in-flight blocks; >= threads */
	size_t in_cap, out_cap;
	ordered_work_fn work;
	void *(*state_new)(void *state_arg); /* one per worker; NULL on failure */
	void (*state_free)(void *state);
	void *state_arg;
	ordered_consume_fn consume;
	void *arg;
};

struct ordered_pool;

/* Starts the workers. NULL after printing an error. */
struct ordered_pool *ordered_pool_create(const struct ordered_pool_config *cfg);
/* The input buffer (in_cap bytes) of the next slot to submit; waits for
 * and consumes the oldest result when every slot is busy. NULL on error. */
void *ordered_pool_slot(struct ordered_pool *p);
/* Hands the slot returned by ordered_pool_slot() to the workers. */
int ordered_pool_submit(struct ordered_pool *p, uint64_t tag, size_t len);
/* Waits for and consumes every submitted block. */
int ordered_pool_drain(struct ordered_pool *p);
/* Stops the workers (pending results are dropped) and frees everything. */
void ordered_pool_destroy(struct ordered_pool *p);

#endif
