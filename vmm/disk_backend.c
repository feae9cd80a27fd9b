/* vmm/disk_backend.c: read-only disk backends: raw and qcow2 images, and memory buffers. */
#include "vmm/disk_backend.h"

#include "formats/reader.h"
#include "util/diag.h"
#include "util/strbuf.h"

#include <stdlib.h>
#include <string.h>

/* Raw and qcow2 images, through apkg's own reader (formats/reader.h): the
 * format is detected from the content, and the reader treats the image as
 * hostile (every qcow2 table entry is checked against the file). */
struct image_backend {
	struct disk_backend base;
	struct image_reader *reader;
};

static int image_pread(struct disk_backend *b, void *buf, size_t len, uint64_t off)
{
	return image_reader_pread(((struct image_backend *)b)->reader, buf, len, off);
}

static void image_close(struct disk_backend *b)
{
	image_reader_close(((struct image_backend *)b)->reader);
	free(b->name);
	free(b);
}

static const struct disk_backend_ops image_ops = {image_pread, image_close};

struct disk_backend *disk_backend_open(const char *path)
{
	struct image_reader *r = image_reader_open(path);
	if (!r)
		return NULL;
	struct image_backend *b = xcalloc(1, sizeof *b);
	b->base = (struct disk_backend){.ops = &image_ops, .size = image_reader_size(r), .name = xstrdup(path)};
	b->reader = r;
	return &b->base;
}

const char *disk_backend_format(const struct disk_backend *b)
{
	return b->ops == &image_ops ? image_reader_format(((const struct image_backend *)b)->reader) : "memory";
}

struct memory_backend {
	struct disk_backend base;
	const uint8_t *data;
};

static int memory_pread(struct disk_backend *b, void *buf, size_t len, uint64_t off)
{
	memcpy(buf, ((struct memory_backend *)b)->data + off, len);
	return 0;
}

static void memory_close(struct disk_backend *b)
{
	free(b->name);
	free(b);
}

static const struct disk_backend_ops memory_ops = {memory_pread, memory_close};

struct disk_backend *disk_backend_memory(const void *data, uint64_t size)
{
	struct memory_backend *m = xcalloc(1, sizeof *m);
	m->base = (struct disk_backend){.ops = &memory_ops, .size = size, .name = xstrdup("memory")};
	m->data = data;
	return &m->base;
}

int disk_backend_pread(struct disk_backend *b, void *buf, size_t len, uint64_t off)
{
	if (off > b->size || len > b->size - off)
		return error("%s: read beyond the end of the disk", b->name);
	return b->ops->pread(b, buf, len, off);
}

void disk_backend_close(struct disk_backend *b)
{
	if (b)
		b->ops->close(b);
}
