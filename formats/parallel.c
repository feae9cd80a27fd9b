/* formats/parallel.c: the ordered worker pool (see parallel.h).
 *
 * Slots form a ring indexed by sequence number. Three counters, all
 * monotonic: `submitted` (producer), `taken` (workers, under the lock) and
 * `consumed` (producer). A slot is reused only after it was consumed, and
 * workers only touch slots in [taken, submitted), so buffers need no
 * locking; the lock guards the counters and the done flags.
 */
#include "formats/parallel.h"

#include "util/diag.h"
#include "util/strbuf.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct slot {
	unsigned char *in, *out;
	size_t in_len, out_len;
	uint64_t tag;
	int done;
};

struct worker {
	struct ordered_pool *pool;
	pthread_t thread;
	void *state;
	int started;
};

struct ordered_pool {
	struct ordered_pool_config cfg;
	struct slot *slots;
	struct worker *workers;
	pthread_mutex_t lock;
	pthread_cond_t work_ready, work_done;
	uint64_t submitted, taken, consumed;
	int stop, failed;
};

static void *worker_main(void *arg)
{
	struct worker *wk = arg;
	struct ordered_pool *p = wk->pool;
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->stop && p->taken == p->submitted)
			pthread_cond_wait(&p->work_ready, &p->lock);
		if (p->stop)
			break;
		struct slot *s = &p->slots[p->taken++ % p->cfg.slots];
		pthread_mutex_unlock(&p->lock);
		s->out_len = p->cfg.work(wk->state, s->in, s->in_len, s->out, p->cfg.out_cap);
		pthread_mutex_lock(&p->lock);
		s->done = 1;
		pthread_cond_broadcast(&p->work_done);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct ordered_pool *ordered_pool_create(const struct ordered_pool_config *cfg)
{
	struct ordered_pool *p = xcalloc(1, sizeof *p);
	p->cfg = *cfg;
	if (p->cfg.threads < 1)
		p->cfg.threads = 1;
	if (p->cfg.slots < (size_t)p->cfg.threads)
		p->cfg.slots = (size_t)p->cfg.threads;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work_ready, NULL);
	pthread_cond_init(&p->work_done, NULL);
	p->slots = xcalloc(p->cfg.slots, sizeof *p->slots);
	for (size_t i = 0; i < p->cfg.slots; i++) {
		p->slots[i].in = xmalloc(p->cfg.in_cap);
		p->slots[i].out = xmalloc(p->cfg.out_cap);
	}
	p->workers = xcalloc((size_t)p->cfg.threads, sizeof *p->workers);
	for (int i = 0; i < p->cfg.threads; i++) {
		struct worker *wk = &p->workers[i];
		wk->pool = p;
		wk->state = p->cfg.state_new ? p->cfg.state_new(p->cfg.state_arg) : NULL;
		if (p->cfg.state_new && !wk->state) {
			error("cannot set up compression worker %d", i);
			ordered_pool_destroy(p);
			return NULL;
		}
		if (pthread_create(&wk->thread, NULL, worker_main, wk)) {
			error("cannot start worker thread %d", i);
			ordered_pool_destroy(p);
			return NULL;
		}
		wk->started = 1;
	}
	return p;
}

static int consume_oldest(struct ordered_pool *p)
{
	struct slot *s = &p->slots[p->consumed % p->cfg.slots];
	pthread_mutex_lock(&p->lock);
	while (!s->done)
		pthread_cond_wait(&p->work_done, &p->lock);
	pthread_mutex_unlock(&p->lock);
	p->consumed++;
	if (p->cfg.consume(p->cfg.arg, s->tag, s->in, s->in_len, s->out, s->out_len) < 0) {
		p->failed = 1;
		return -1;
	}
	return 0;
}

void *ordered_pool_slot(struct ordered_pool *p)
{
	if (p->failed)
		return NULL;
	if (p->submitted - p->consumed == p->cfg.slots && consume_oldest(p) < 0)
		return NULL;
	return p->slots[p->submitted % p->cfg.slots].in;
}

int ordered_pool_submit(struct ordered_pool *p, uint64_t tag, size_t len)
{
	if (p->failed)
		return -1;
	struct slot *s = &p->slots[p->submitted % p->cfg.slots];
	s->tag = tag;
	s->in_len = len;
	s->out_len = 0;
	pthread_mutex_lock(&p->lock);
	s->done = 0;
	p->submitted++;
	pthread_cond_signal(&p->work_ready);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

int ordered_pool_drain(struct ordered_pool *p)
{
	while (!p->failed && p->consumed < p->submitted)
		if (consume_oldest(p) < 0)
			return -1;
	return p->failed ? -1 : 0;
}

void ordered_pool_destroy(struct ordered_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_cond_broadcast(&p->work_ready);
	pthread_mutex_unlock(&p->lock);
	for (int i = 0; i < p->cfg.threads; i++) {
		struct worker *wk = &p->workers[i];
		if (wk->started)
			pthread_join(wk->thread, NULL);
		if (wk->state && p->cfg.state_free)
			p->cfg.state_free(wk->state);
	}
	for (size_t i = 0; i < p->cfg.slots; i++) {
		free(p->slots[i].in);
		free(p->slots[i].out);
	}
	free(p->slots);
	free(p->workers);
	pthread_cond_destroy(&p->work_ready);
	pthread_cond_destroy(&p->work_done);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
