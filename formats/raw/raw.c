/* formats/raw/raw.c: the raw format: a sparse file of exactly virtual_size bytes.
 * Zero extents become holes (the file is ftruncated to size at the end). */
#include "formats/writer.h"
#include "util/io.h"
#include "util/strbuf.h"

#include <stdlib.h>

static int raw_open(struct image_writer *w)
{
	struct image_output *o = xcalloc(1, sizeof *o);
	if (image_output_open(w, o) < 0) {
		free(o);
		return -1;
	}
	w->priv = o;
	return 0;
}

static int raw_data(struct image_writer *w, uint64_t off, const void *buf, size_t len)
{
	struct image_output *o = w->priv;
	return pwrite_all(o->fd, buf, len, off);
}

static int raw_finish(struct image_writer *w) { return image_output_commit(w, w->priv, w->opt.virtual_size); }

static void raw_abort(struct image_writer *w)
{
	struct image_output *o = w->priv;
	if (!o)
		return;
	image_output_discard(o);
	free(o);
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
