/* vmm/disk_backend.c: read-only disk backends: raw files and memory buffers. */
#include "vmm/disk_backend.h"

#include "util/diag.h"
#include "util/io.h"
#include "util/strbuf.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

struct raw_backend {
	struct disk_backend base;
	int fd;
};

static int raw_pread(struct disk_backend *b, void *buf, size_t len, uint64_t off)
{
	struct raw_backend *r = (struct raw_backend *)b;
	return pread_exact(r->fd, buf, len, off);
}

static void raw_close(struct disk_backend *b)
{
	struct raw_backend *r = (struct raw_backend *)b;
	close(r->fd);
	free(b->name);
	free(r);
}

static const struct disk_backend_ops raw_ops = {raw_pread, raw_close};

static int file_size(int fd, const char *path, uint64_t *size)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return error_errno("%s", path);
	if (S_ISREG(st.st_mode)) {
		*size = (uint64_t)st.st_size;
		return 0;
	}
	if (S_ISBLK(st.st_mode) && ioctl(fd, BLKGETSIZE64, size) == 0)
		return 0;
	return error("%s: not a regular file or block device", path);
}

/* Image formats a raw read would silently misinterpret. */
static const char *foreign_format(const uint8_t *m, size_t n)
{
	if (n >= 4 && !memcmp(m, "QFI\xfb", 4))
		return "qcow2";
	if (n >= 4 && !memcmp(m, "KDMV", 4))
		return "VMDK";
	if (n >= 8 && !memcmp(m, "vhdxfile", 8))
		return "VHDX";
	return NULL;
}

struct disk_backend *disk_backend_open(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		error_errno("cannot open disk %s", path);
		return NULL;
	}
	uint64_t size;
	uint8_t magic[8] = {0};
	if (file_size(fd, path, &size) < 0)
		goto fail;
	if (size >= sizeof magic && pread_exact(fd, magic, sizeof magic, 0) < 0)
		goto fail;
	const char *fmt = foreign_format(magic, size < sizeof magic ? size : sizeof magic);
	if (fmt) {
		error("%s: %s images are not readable by the VMM yet; convert it to raw first", path, fmt);
		goto fail;
	}
	struct raw_backend *r = xcalloc(1, sizeof *r);
	r->base = (struct disk_backend){.ops = &raw_ops, .size = size, .name = xstrdup(path)};
	r->fd = fd;
	return &r->base;
fail:
	close(fd);
	return NULL;
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
