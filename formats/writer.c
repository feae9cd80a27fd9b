/* formats/writer.c: the generic half of the image-writer interface.
 *
 * Enforces the contract every format relies on (increasing, in-bounds
 * extents) so formats need not re-check it, and guarantees that a failed
 * or abandoned writer leaves nothing at the destination.
 */
#include "formats/writer.h"

#include "util/diag.h"
#include "util/io.h"
#include "util/strbuf.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

struct image_writer *image_writer_open(const struct image_format *fmt, const char *path,
				       const struct image_options *opt)
{
	struct image_writer *w = xcalloc(1, sizeof *w);
	w->fmt = fmt;
	w->opt = *opt;
	if (w->opt.threads <= 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		w->opt.threads = n > 0 ? (int)n : 1;
	}
	w->path = xstrdup(path);
	if (fmt->open(w) < 0) {
		free(w->path);
		free(w);
		return NULL;
	}
	return w;
}

static int check_range(struct image_writer *w, uint64_t offset, uint64_t len)
{
	if (offset < w->next_offset)
		return error("%s writer: extent at %llu before end of previous extent %llu", w->fmt->name,
			     (unsigned long long)offset, (unsigned long long)w->next_offset);
	if (offset > w->opt.virtual_size || len > w->opt.virtual_size - offset)
		return error("%s writer: extent %llu+%llu beyond virtual size %llu", w->fmt->name,
			     (unsigned long long)offset, (unsigned long long)len,
			     (unsigned long long)w->opt.virtual_size);
	w->next_offset = offset + len;
	return 0;
}

int image_writer_data(struct image_writer *w, uint64_t offset, const void *buf, size_t len)
{
	if (!len)
		return 0;
	if (check_range(w, offset, len) < 0)
		return -1;
	return w->fmt->write_data(w, offset, buf, len);
}

int image_writer_zero(struct image_writer *w, uint64_t offset, uint64_t len)
{
	if (!len)
		return 0;
	if (check_range(w, offset, len) < 0)
		return -1;
	return w->fmt->write_zero ? w->fmt->write_zero(w, offset, len) : 0;
}

int image_writer_finish(struct image_writer *w)
{
	int r = w->fmt->finish(w);
	if (r == 0)
		w->finished = 1;
	w->fmt->abort(w); /* frees priv; removes the temp file unless finished */
	free(w->path);
	free(w);
	return r;
}

void image_writer_abort(struct image_writer *w)
{
	if (!w)
		return;
	w->fmt->abort(w);
	free(w->path);
	free(w);
}

int image_output_open(const struct image_writer *w, struct image_output *o)
{
	o->reserved = 0;
	o->fd = create_temp_beside(w->path, &o->tmp);
	if (o->fd < 0) {
		o->tmp = NULL;
		return -1;
	}
	cleanup_register(o->tmp);
	if (fchmod(o->fd, 0644) < 0) {
		error_errno("chmod %s", o->tmp);
		image_output_discard(o);
		return -1;
	}
	return 0;
}

#define RESERVE_STEP (64u << 20)

void image_output_reserve(struct image_output *o, uint64_t end)
{
	if (end <= o->reserved || o->reserved == UINT64_MAX)
		return;
	uint64_t upto = (end + RESERVE_STEP - 1) / RESERVE_STEP * RESERVE_STEP;
	if (fallocate(o->fd, 0, (off_t)o->reserved, (off_t)(upto - o->reserved)) < 0)
		o->reserved = UINT64_MAX; /* EOPNOTSUPP, ENOSPC...: write without it */
	else
		o->reserved = upto;
}

int image_output_commit(const struct image_writer *w, struct image_output *o, uint64_t size)
{
	if (ftruncate(o->fd, (off_t)size) < 0) {
		error_errno("%s: truncate %s", w->fmt->name, o->tmp);
		image_output_discard(o);
		return -1;
	}
	int fd = o->fd;
	o->fd = -1;
	int r = commit_temp_ex(fd, o->tmp, w->path, !w->opt.no_sync); /* unlinks tmp on failure */
	cleanup_unregister(o->tmp);
	free(o->tmp);
	o->tmp = NULL;
	return r;
}

void image_output_discard(struct image_output *o)
{
	if (o->fd >= 0)
		close(o->fd);
	o->fd = -1;
	if (o->tmp) {
		unlink(o->tmp);
		cleanup_unregister(o->tmp);
		free(o->tmp);
		o->tmp = NULL;
	}
}
