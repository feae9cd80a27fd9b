/* formats/raw/raw.c: the raw format: a sparse file of exactly virtual_size bytes.
 * Zero extents become holes (the file is ftruncated to size at the end). */
#include "formats/writer.h"
#include "util/diag.h"
#include "util/io.h"
#include "util/strbuf.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

struct raw {
	int fd;
	char *tmp;
};

static int raw_open(struct image_writer *w)
{
	struct raw *r = xcalloc(1, sizeof *r);
	r->fd = create_temp_beside(w->path, &r->tmp);
	if (r->fd < 0) {
		free(r);
		return -1;
	}
	cleanup_register(r->tmp);
	if (fchmod(r->fd, 0644) < 0) {
		error_errno("chmod %s", r->tmp);
	}
	w->priv = r;
	return 0;
}

static int raw_data(struct image_writer *w, uint64_t off, const void *buf, size_t len)
{
	struct raw *r = w->priv;
	return pwrite_all(r->fd, buf, len, off);
}

static int raw_finish(struct image_writer *w)
{
	struct raw *r = w->priv;
	if (ftruncate(r->fd, (off_t)w->opt.virtual_size) < 0)
		return error_errno("truncate %s", r->tmp);
	int fd = r->fd;
	r->fd = -1;
	if (commit_temp_ex(fd, r->tmp, w->path, !w->opt.no_sync) < 0)
		return -1;
	cleanup_unregister(r->tmp);
	free(r->tmp);
	r->tmp = NULL;
	return 0;
}

static void raw_abort(struct image_writer *w)
{
	struct raw *r = w->priv;
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	if (r->tmp) {
		unlink(r->tmp);
		cleanup_unregister(r->tmp);
		free(r->tmp);
	}
	free(r);
	w->priv = NULL;
}

const struct image_format image_format_raw = {
	.name = "raw",
	.extension = "raw",
	.open = raw_open,
	.write_data = raw_data,
	.finish = raw_finish,
	.abort = raw_abort,
};
