/* formats/extents.c: stream a disk layout into a writer, detecting zeros once.
 *
 * Holes in file pieces come from SEEK_DATA/SEEK_HOLE (no read at all);
 * data is read in 1 MiB chunks and split into runs of all-zero and non-zero
 * 4 KiB blocks, so writers see only real data. Gaps between pieces are zero.
 */
#include "formats/extents.h"

#include "formats/reader.h"
#include "formats/writer.h"
#include "util/diag.h"
#include "util/io.h"
#include "util/strbuf.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ZERO_BLOCK 4096
#define CHUNK (1u << 20)

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

/* Sends buf (at virtual offset off) as alternating data and zero runs. */
static int emit_scanned(struct image_writer *w, uint64_t off, const unsigned char *buf, size_t len)
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
		int r = zero ? image_writer_zero(w, off + i, j - i) : image_writer_data(w, off + i, buf + i, j - i);
		if (r < 0)
			return -1;
		i = j;
	}
	return 0;
}

struct stream_state {
	struct image_writer *w;
	extents_progress_fn progress;
	void *ctx;
	uint64_t total;
	unsigned char *buf;
};

static int stream_file_piece(struct stream_state *s, const struct disk_piece *p)
{
	uint64_t pos = 0;
	while (pos < p->length) {
		off_t fpos = (off_t)(p->file_offset + pos);
		off_t data = lseek(p->fd, fpos, SEEK_DATA);
		if (data < 0) /* ENXIO: only a hole remains */
			return image_writer_zero(s->w, p->offset + pos, p->length - pos);
		uint64_t dpos = (uint64_t)data - p->file_offset;
		if (dpos >= p->length)
			return image_writer_zero(s->w, p->offset + pos, p->length - pos);
		if (dpos > pos && image_writer_zero(s->w, p->offset + pos, dpos - pos) < 0)
			return -1;
		off_t hole = lseek(p->fd, data, SEEK_HOLE);
		uint64_t hpos = hole < 0 ? p->length : (uint64_t)hole - p->file_offset;
		if (hpos > p->length)
			hpos = p->length;
		for (uint64_t o = dpos; o < hpos;) {
			size_t want = hpos - o < CHUNK ? (size_t)(hpos - o) : CHUNK;
			if (pread_exact(p->fd, s->buf, want, p->file_offset + o) < 0)
				return -1;
			if (emit_scanned(s->w, p->offset + o, s->buf, want) < 0)
				return -1;
			o += want;
			if (s->progress)
				s->progress(s->ctx, p->offset + o, s->total);
		}
		pos = hpos;
	}
	return 0;
}

/* Image pieces: ranges the image says read as zero are never read. */
static int stream_reader_piece(struct stream_state *s, const struct disk_piece *p)
{
	uint64_t pos = 0;
	while (pos < p->length) {
		uint64_t run;
		int st = image_reader_status(p->reader, p->file_offset + pos, p->length - pos, &run);
		if (st < 0)
			return -1;
		if (st == IMAGE_ZERO) {
			if (image_writer_zero(s->w, p->offset + pos, run) < 0)
				return -1;
			pos += run;
			if (s->progress)
				s->progress(s->ctx, p->offset + pos, s->total);
			continue;
		}
		for (uint64_t end = pos + run; pos < end;) {
			size_t want = end - pos < CHUNK ? (size_t)(end - pos) : CHUNK;
			if (image_reader_pread(p->reader, s->buf, want, p->file_offset + pos) < 0)
				return -1;
			if (emit_scanned(s->w, p->offset + pos, s->buf, want) < 0)
				return -1;
			pos += want;
			if (s->progress)
				s->progress(s->ctx, p->offset + pos, s->total);
		}
	}
	return 0;
}

int extents_stream(const struct disk_layout *l, struct image_writer *w, extents_progress_fn progress, void *ctx)
{
	struct disk_piece *sorted = xmalloc((l->n ? l->n : 1) * sizeof *sorted);
	if (l->n) /* an empty layout has no pieces array */
		memcpy(sorted, l->pieces, l->n * sizeof *sorted);
	qsort(sorted, l->n, sizeof *sorted, cmp_piece);
	struct stream_state s = {.w = w, .progress = progress, .ctx = ctx, .total = l->size, .buf = xmalloc(CHUNK)};
	uint64_t pos = 0;
	int r = 0;
	for (size_t i = 0; i < l->n && r == 0; i++) {
		const struct disk_piece *p = &sorted[i];
		if (p->offset < pos || p->offset > l->size || p->length > l->size - p->offset) {
			r = error("disk layout: piece at %llu+%llu overlaps or exceeds the disk", (unsigned long long)p->offset,
				  (unsigned long long)p->length);
			break;
		}
		if (p->offset > pos)
			r = image_writer_zero(w, pos, p->offset - pos);
		if (r == 0)
			r = p->reader ? stream_reader_piece(&s, p)
			    : p->fd >= 0 ? stream_file_piece(&s, p)
					 : emit_scanned(w, p->offset, p->mem, p->length);
		pos = p->offset + p->length;
	}
	if (r == 0 && pos < l->size)
		r = image_writer_zero(w, pos, l->size - pos);
	if (r == 0 && progress)
		progress(ctx, l->size, l->size);
	free(s.buf);
	free(sorted);
	return r;
}
