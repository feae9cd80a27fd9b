/* formats/extents.c: stream a disk layout into a writer, detecting zeros once.
 *
 * Holes in file pieces come from SEEK_DATA/SEEK_HOLE and unallocated
 * ranges of image pieces from the image's own map (no read at all); data
 * is read in 2 MiB chunks by a read-ahead thread and split into runs of
 * all-zero and non-zero 4 KiB blocks, so writers see only real data. Gaps
 * between pieces are zero. The writer is called from the caller's thread.
 *
 * Regular files are mapped rather than read: the scan and the writer then
 * use the page cache's own pages, which saves copying every byte once into
 * a buffer (a third of the CPU time of a plain conversion went to that
 * copy). Each chunk is mapped on its own, its page tables filled in one
 * call before it is scanned, and unmapped by the read-ahead thread when it
 * reuses the chunk's slot, so the writer's thread never pays for it. A
 * chunk that cannot be mapped or filled (a file that shrank, an I/O error)
 * is read with pread instead, which reports the error. A file
 * truncated by someone else after that faults (SIGBUS) in the scan or the
 * writer: util/io.c turns that into an error exit that removes the
 * temporary output.
 */
#include "formats/extents.h"

#include "formats/reader.h"
#include "formats/writer.h"
#include "util/diag.h"
#include "util/io.h"
#include "util/strbuf.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define ZERO_BLOCK 4096
#define CHUNK (2u << 20)

void disk_layout_init(struct disk_layout *l, uint64_t size)
{
	memset(l, 0, sizeof *l);
	l->size = size;
}

void disk_layout_release(struct disk_layout *l)
{
	free(l->pieces);
	memset(l, 0, sizeof *l);
}

static struct disk_piece *add_piece(struct disk_layout *l)
{
	if (l->n == l->alloc) {
		l->alloc = l->alloc ? l->alloc * 2 : 8;
		l->pieces = xrealloc(l->pieces, l->alloc * sizeof *l->pieces);
	}
	struct disk_piece *p = &l->pieces[l->n++];
	memset(p, 0, sizeof *p);
	return p;
}

void disk_layout_add_file(struct disk_layout *l, uint64_t offset, int fd, uint64_t file_offset, uint64_t length)
{
	struct disk_piece *p = add_piece(l);
	p->offset = offset;
	p->length = length;
	p->fd = fd;
	p->file_offset = file_offset;
}

void disk_layout_add_mem(struct disk_layout *l, uint64_t offset, const void *mem, uint64_t length)
{
	struct disk_piece *p = add_piece(l);
	p->offset = offset;
	p->length = length;
	p->fd = -1;
	p->mem = mem;
}

void disk_layout_add_reader(struct disk_layout *l, uint64_t offset, struct image_reader *r, uint64_t image_offset,
			    uint64_t length)
{
	int raw_fd = image_reader_raw_fd(r);
	if (raw_fd >= 0) { /* a raw image is its file: holes by SEEK_DATA, data mapped */
		disk_layout_add_file(l, offset, raw_fd, image_offset, length);
		return;
	}
	struct disk_piece *p = add_piece(l);
	p->offset = offset;
	p->length = length;
	p->fd = -1;
	p->file_offset = image_offset;
	p->reader = r;
}

int disk_layout_from_file(struct disk_layout *l, const char *path, int *fd_out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_errno("cannot open %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return error_errno("cannot stat %s", path);
	}
	uint64_t size = (uint64_t)st.st_size;
	if (S_ISBLK(st.st_mode)) {
		off_t end = lseek(fd, 0, SEEK_END);
		size = end > 0 ? (uint64_t)end : 0;
	}
	disk_layout_init(l, size);
	if (size)
		disk_layout_add_file(l, 0, fd, 0, size);
	*fd_out = fd;
	return 0;
}

int buffer_is_zero(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	/* Check the head byte-wise until aligned, then compare against the
	 * buffer itself shifted by 16 bytes: memcmp is vectorised by libc. */
	while (len && ((uintptr_t)p & 15)) {
		if (*p)
			return 0;
		p++;
		len--;
	}
	if (len < 16) {
		for (size_t i = 0; i < len; i++)
			if (p[i])
				return 0;
		return 1;
	}
	static const unsigned char zero16[16];
	if (memcmp(p, zero16, 16))
		return 0;
	return memcmp(p, p + 16, len - 16) == 0;
}

static int cmp_piece(const void *a, const void *b)
{
	const struct disk_piece *x = a, *y = b;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* ---- the read-ahead pipeline ----
 *
 * A producer thread walks the pieces, reads data chunks into a ring of
 * slots and splits each chunk into zero and data runs; the caller's thread
 * takes the slots in order and feeds the runs to the writer. Reading and
 * scanning thus overlap writing (and compression), and the writer is only
 * ever called from the caller's thread. Eight 2 MiB slots: deep enough that
 * a reader thread starved for a few milliseconds does not stall the writer. */

#define SLOTS 8
#define MAX_RUNS (CHUNK / ZERO_BLOCK + 16)

enum slot_state { SLOT_FREE, SLOT_FILLING, SLOT_READY };
enum slot_end { SLOT_MORE, SLOT_LAST, SLOT_FAILED };

struct run {
	uint64_t offset, length;
	const unsigned char *data; /* NULL: reads as zero */
};

struct slot {
	unsigned char *buf;
	void *map;      /* the chunk's mapping when it was mapped, not read; */
	size_t map_len; /* unmapped by the producer when it takes the slot again */
	struct run runs[MAX_RUNS];
	size_t n;
	int has_data;
	uint64_t done; /* virtual bytes complete once this slot is written */
	enum slot_end end;
	enum slot_state state;
};

struct pipeline {
	const struct disk_layout *layout;
	struct disk_piece *sorted;
	struct slot slots[SLOTS];
	size_t fill, take; /* producer's and consumer's slot indexes */
	pthread_mutex_t lock;
	pthread_cond_t changed;
	int cancelled;
};

static void unmap_slot(struct slot *s)
{
	if (s->map)
		munmap(s->map, s->map_len);
	s->map = NULL;
}

/* Producer: the slot being filled, waiting for a free one if needed. */
static struct slot *cur_slot(struct pipeline *pl)
{
	struct slot *s = &pl->slots[pl->fill % SLOTS];
	pthread_mutex_lock(&pl->lock);
	/* When the ring is full, wait until half of it is free again: fewer
	 * wake-ups, which matters on a loaded machine. */
	while (s->state == SLOT_READY && pl->fill - pl->take > SLOTS / 2 && !pl->cancelled)
		pthread_cond_wait(&pl->changed, &pl->lock);
	int cancelled = pl->cancelled;
	pthread_mutex_unlock(&pl->lock);
	if (cancelled)
		return NULL;
	if (s->state == SLOT_FREE) {
		unmap_slot(s); /* the writer is done with it: unmapping here keeps it off the writer's thread */
		s->state = SLOT_FILLING;
		s->n = 0;
		s->has_data = 0;
		s->end = SLOT_MORE;
	}
	return s;
}

static void publish(struct pipeline *pl, struct slot *s, uint64_t done, enum slot_end end)
{
	s->done = done;
	s->end = end;
	pthread_mutex_lock(&pl->lock);
	s->state = SLOT_READY;
	pl->fill++;
	pthread_cond_broadcast(&pl->changed);
	pthread_mutex_unlock(&pl->lock);
}

/* Appends a run, merging zero runs that touch. Returns -1 if cancelled. */
static int add_run(struct pipeline *pl, uint64_t off, uint64_t len, const unsigned char *data)
{
	struct slot *s = cur_slot(pl);
	if (!s)
		return -1;
	if (!data && s->n && !s->runs[s->n - 1].data && s->runs[s->n - 1].offset + s->runs[s->n - 1].length == off) {
		s->runs[s->n - 1].length += len;
		return 0;
	}
	if (s->n == MAX_RUNS) {
		/* Only zero runs can overflow a slot: chunk_slot() leaves room for
		 * every run of a chunk, whose data lives in this slot's buffer. */
		assert(!s->has_data);
		publish(pl, s, off, SLOT_MORE);
		if (!(s = cur_slot(pl)))
			return -1;
	}
	s->runs[s->n++] = (struct run){off, len, data};
	return 0;
}

static int add_zero(struct pipeline *pl, uint64_t off, uint64_t len)
{
	return len ? add_run(pl, off, len, NULL) : 0;
}

/* Splits buf (virtual offset off) into zero and data runs of 4 KiB blocks. */
static int add_scanned(struct pipeline *pl, uint64_t off, const unsigned char *buf, size_t len)
{
	size_t i = 0;
	while (i < len) {
		size_t blk = len - i < ZERO_BLOCK ? len - i : ZERO_BLOCK;
		int zero = buffer_is_zero(buf + i, blk);
		size_t j = i + blk;
		while (j < len) {
			size_t b = len - j < ZERO_BLOCK ? len - j : ZERO_BLOCK;
			if (buffer_is_zero(buf + j, b) != zero)
				break;
			j += b;
		}
		if (add_run(pl, off + i, j - i, zero ? NULL : buf + i) < 0)
			return -1;
		i = j;
	}
	return 0;
}

/* A slot whose own buffer is free for a new chunk (publishing the current one if it holds data). */
static struct slot *chunk_slot(struct pipeline *pl, uint64_t off)
{
	struct slot *s = cur_slot(pl);
	if (s && (s->has_data || s->n > MAX_RUNS - CHUNK / ZERO_BLOCK - 2)) {
		publish(pl, s, off, SLOT_MORE);
		s = cur_slot(pl);
	}
	if (s)
		s->has_data = 1;
	return s;
}

/* ---- mapped file pieces ---- */

static int is_regular_file(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

/* Maps want bytes of fd at file_pos into slot s with its page tables
 * filled; NULL when the chunk must be read instead (a file that shrank,
 * an I/O error, no memory). */
static const unsigned char *map_chunk(struct slot *s, int fd, uint64_t file_pos, size_t want)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), skip = file_pos % page;
	size_t len = (size_t)(skip + want);
	void *map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, (off_t)(file_pos - skip));
	if (map == MAP_FAILED)
		return NULL;
	if (madvise(map, len, MADV_POPULATE_READ) < 0 && errno != EINVAL) {
		munmap(map, len); /* EINVAL: a kernel before 5.14, where the pages fault in as scanned */
		return NULL;
	}
	s->map = map;
	s->map_len = len;
	return (const unsigned char *)map + skip;
}

/* Reads want bytes at virtual offset off (piece offset pos) and scans them. */
static int add_chunk(struct pipeline *pl, const struct disk_piece *p, int mappable, uint64_t pos, size_t want)
{
	uint64_t off = p->offset + pos;
	struct slot *s = chunk_slot(pl, off);
	if (!s)
		return -1;
	const unsigned char *data = mappable ? map_chunk(s, p->fd, p->file_offset + pos, want) : NULL;
	int r = 0;
	if (!data && p->reader)
		r = image_reader_pread(p->reader, s->buf, want, p->file_offset + pos), data = s->buf;
	else if (!data && p->fd >= 0)
		r = pread_exact(p->fd, s->buf, want, p->file_offset + pos), data = s->buf;
	else if (!data)
		data = (const unsigned char *)p->mem + pos;
	if (r < 0 || add_scanned(pl, off, data, want) < 0)
		return -1;
	publish(pl, s, off + want, SLOT_MORE);
	return 0;
}

static int add_data(struct pipeline *pl, const struct disk_piece *p, int mappable, uint64_t pos, uint64_t end)
{
	while (pos < end) {
		size_t want = end - pos < CHUNK ? (size_t)(end - pos) : CHUNK;
		if (add_chunk(pl, p, mappable, pos, want) < 0)
			return -1;
		pos += want;
	}
	return 0;
}

/* File pieces: holes come from SEEK_DATA/SEEK_HOLE and are never read. */
static int walk_file_piece(struct pipeline *pl, const struct disk_piece *p)
{
	uint64_t pos = 0;
	int mappable = is_regular_file(p->fd);
	while (pos < p->length) {
		off_t data = lseek(p->fd, (off_t)(p->file_offset + pos), SEEK_DATA);
		uint64_t dpos = data < 0 ? p->length : (uint64_t)data - p->file_offset; /* ENXIO: a hole to the end */
		if (dpos >= p->length)
			return add_zero(pl, p->offset + pos, p->length - pos);
		if (add_zero(pl, p->offset + pos, dpos - pos) < 0)
			return -1;
		off_t hole = lseek(p->fd, data, SEEK_HOLE);
		uint64_t hpos = hole < 0 ? p->length : (uint64_t)hole - p->file_offset;
		if (hpos > p->length)
			hpos = p->length;
		if (add_data(pl, p, mappable, dpos, hpos) < 0)
			return -1;
		pos = hpos;
	}
	return 0;
}

/* Image pieces: ranges the image says read as zero are never read. */
static int walk_reader_piece(struct pipeline *pl, const struct disk_piece *p)
{
	uint64_t pos = 0;
	while (pos < p->length) {
		uint64_t run;
		int st = image_reader_status(p->reader, p->file_offset + pos, p->length - pos, &run);
		if (st < 0)
			return -1;
		if (st == IMAGE_ZERO ? add_zero(pl, p->offset + pos, run) < 0 : add_data(pl, p, 0, pos, pos + run) < 0)
			return -1;
		pos += run;
	}
	return 0;
}

static int walk_layout(struct pipeline *pl)
{
	const struct disk_layout *l = pl->layout;
	uint64_t pos = 0;
	for (size_t i = 0; i < l->n; i++) {
		const struct disk_piece *p = &pl->sorted[i];
		if (add_zero(pl, pos, p->offset - pos) < 0)
			return -1;
		int r = p->reader ? walk_reader_piece(pl, p)
			: p->fd >= 0 ? walk_file_piece(pl, p)
				     : add_data(pl, p, 0, 0, p->length);
		if (r < 0)
			return -1;
		pos = p->offset + p->length;
	}
	return add_zero(pl, pos, l->size - pos);
}

static void *producer_main(void *arg)
{
	struct pipeline *pl = arg;
	int r = walk_layout(pl);
	struct slot *s = cur_slot(pl);
	if (s)
		publish(pl, s, r < 0 ? 0 : pl->layout->size, r < 0 ? SLOT_FAILED : SLOT_LAST);
	return NULL;
}

static int write_runs(struct image_writer *w, const struct slot *s)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct run *r = &s->runs[i];
		int rc = r->data ? image_writer_data(w, r->offset, r->data, (size_t)r->length)
				 : image_writer_zero(w, r->offset, r->length);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* Consumer: feeds slots to the writer in order until the last one. */
static int consume(struct pipeline *pl, struct image_writer *w, extents_progress_fn progress, void *ctx)
{
	for (;;) {
		struct slot *s = &pl->slots[pl->take % SLOTS];
		pthread_mutex_lock(&pl->lock);
		while (s->state != SLOT_READY)
			pthread_cond_wait(&pl->changed, &pl->lock);
		pthread_mutex_unlock(&pl->lock);
		int rc = write_runs(w, s);
		enum slot_end end = s->end;
		if (rc == 0 && end != SLOT_FAILED && progress && (s->n || end == SLOT_LAST))
			progress(ctx, s->done, pl->layout->size);
		pthread_mutex_lock(&pl->lock);
		s->state = SLOT_FREE;
		pl->take++;
		if (rc < 0)
			pl->cancelled = 1;
		if (rc < 0 || pl->fill - pl->take == SLOTS / 2)
			pthread_cond_broadcast(&pl->changed);
		pthread_mutex_unlock(&pl->lock);
		if (rc < 0 || end == SLOT_FAILED)
			return -1;
		if (end == SLOT_LAST)
			return 0;
	}
}

static int check_pieces(const struct disk_layout *l, const struct disk_piece *sorted)
{
	uint64_t pos = 0;
	for (size_t i = 0; i < l->n; i++) {
		const struct disk_piece *p = &sorted[i];
		if (p->offset < pos || p->offset > l->size || p->length > l->size - p->offset)
			return error("disk layout: piece at %llu+%llu overlaps or exceeds the disk",
				     (unsigned long long)p->offset, (unsigned long long)p->length);
		pos = p->offset + p->length;
	}
	return 0;
}

int extents_stream(const struct disk_layout *l, struct image_writer *w, extents_progress_fn progress, void *ctx)
{
	struct pipeline *pl = xcalloc(1, sizeof *pl);
	pl->layout = l;
	pl->sorted = xmalloc((l->n ? l->n : 1) * sizeof *pl->sorted);
	if (l->n) /* an empty layout has no pieces array */
		memcpy(pl->sorted, l->pieces, l->n * sizeof *pl->sorted);
	qsort(pl->sorted, l->n, sizeof *pl->sorted, cmp_piece);
	int r = check_pieces(l, pl->sorted);
	pthread_t producer;
	if (r == 0) {
		pthread_mutex_init(&pl->lock, NULL);
		pthread_cond_init(&pl->changed, NULL);
		for (int i = 0; i < SLOTS; i++)
			pl->slots[i].buf = xmalloc(CHUNK);
		if (pthread_create(&producer, NULL, producer_main, pl)) {
			r = error("cannot start the read-ahead thread");
		} else {
			r = consume(pl, w, progress, ctx);
			pthread_join(producer, NULL);
		}
		for (int i = 0; i < SLOTS; i++) {
			unmap_slot(&pl->slots[i]);
			free(pl->slots[i].buf);
		}
		pthread_cond_destroy(&pl->changed);
		pthread_mutex_destroy(&pl->lock);
	}
	free(pl->sorted);
	free(pl);
	return r;
}
