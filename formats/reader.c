/* formats/reader.c: format detection and the raw/qcow2 dispatch behind formats/reader.h. */
#include "formats/reader.h"

#include "formats/qcow2/qcow2_reader.h"
#include "util/diag.h"
#include "util/io.h"
#include "util/strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct image_reader {
	int fd;
	char *path;
	uint64_t size;
	struct qcow2_reader *qcow2; /* NULL: raw */
};

const char *image_format_sniff(const unsigned char *b, size_t n)
{
	if (n >= 4 && !memcmp(b, "QFI\xfb", 4))
		return "qcow2";
	if (n >= 4 && !memcmp(b, "KDMV", 4))
		return "vmdk";
	if (n >= 21 && !memcmp(b, "# Disk DescriptorFile", 21))
		return "vmdk-descriptor";
	if (n >= 8 && !memcmp(b, "vhdxfile", 8))
		return "vhdx";
	if (n >= 8 && !memcmp(b, "conectix", 8))
		return "vpc";
	if (n >= 0x44 && b[0x40] == 0x7f && b[0x41] == 0x10 && b[0x42] == 0xda && b[0x43] == 0xbe)
		return "vdi";
	return "raw";
}

/* Formats apkg writes or might be handed but cannot read yet, by name. */
static const char *foreign_format(const unsigned char *b, size_t n)
{
	static const char *const names[][2] = {{"vmdk", "VMDK"}, {"vmdk-descriptor", "VMDK (descriptor)"},
						{"vhdx", "VHDX"}, {"vpc", "VHD"}, {"vdi", "VDI"}};
	const char *f = image_format_sniff(b, n);
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (!strcmp(f, names[i][0]))
			return names[i][1];
	return NULL;
}

static int raw_size(struct image_reader *r)
{
	struct stat st;
	if (fstat(r->fd, &st) < 0)
		return error_errno("cannot stat %s", r->path);
	if (S_ISBLK(st.st_mode)) {
		off_t end = lseek(r->fd, 0, SEEK_END);
		if (end < 0)
			return error_errno("cannot size %s", r->path);
		r->size = (uint64_t)end;
	} else if (S_ISREG(st.st_mode)) {
		r->size = (uint64_t)st.st_size;
	} else {
		return error("%s is not a regular file or block device", r->path);
	}
	return 0;
}

static int detect(struct image_reader *r)
{
	unsigned char head[512];
	ssize_t n;
	do
		n = pread(r->fd, head, sizeof head, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return error_errno("cannot read %s", r->path);
	if (qcow2_probe(head, (size_t)n)) {
		r->qcow2 = qcow2_reader_open_fd(r->fd, r->path);
		if (!r->qcow2)
			return -1;
		r->size = qcow2_reader_info(r->qcow2)->virtual_size;
		return 0;
	}
	const char *foreign = foreign_format(head, (size_t)n);
	if (foreign)
		return error("%s is a %s image; apkg reads raw and qcow2 images only (qemu-img convert -O raw first)",
			     r->path, foreign);
	return raw_size(r);
}

struct image_reader *image_reader_open(const char *path)
{
	struct image_reader *r = xcalloc(1, sizeof *r);
	r->path = xstrdup(path);
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0) {
		error_errno("cannot open %s", path);
		image_reader_close(r);
		return NULL;
	}
	if (detect(r) < 0) {
		image_reader_close(r);
		return NULL;
	}
	return r;
}

void image_reader_close(struct image_reader *r)
{
	if (!r)
		return;
	qcow2_reader_close(r->qcow2);
	if (r->fd >= 0)
		close(r->fd);
	free(r->path);
	free(r);
}

const char *image_reader_format(const struct image_reader *r) { return r->qcow2 ? "qcow2" : "raw"; }
uint64_t image_reader_size(const struct image_reader *r) { return r->size; }
struct qcow2_reader *image_reader_qcow2(struct image_reader *r) { return r->qcow2; }

int image_reader_raw_fd(const struct image_reader *r) { return r->qcow2 ? -1 : r->fd; }

int image_reader_pread(struct image_reader *r, void *buf, size_t len, uint64_t off)
{
	if (r->qcow2)
		return qcow2_reader_pread(r->qcow2, buf, len, off);
	if (off > r->size || len > r->size - off)
		return error("%s: read of %zu bytes at %llu beyond the end", r->path, len, (unsigned long long)off);
	return pread_exact(r->fd, buf, len, off);
}

/* Raw: holes from SEEK_DATA/SEEK_HOLE; without them everything is data. */
static int raw_status(struct image_reader *r, uint64_t off, uint64_t len, uint64_t *run)
{
	off_t data = lseek(r->fd, (off_t)off, SEEK_DATA);
	if (data < 0 && errno == ENXIO) {
		*run = len;
		return IMAGE_ZERO;
	}
	if (data < 0) {
		*run = len;
		return IMAGE_DATA;
	}
	if ((uint64_t)data > off) {
		*run = (uint64_t)data - off < len ? (uint64_t)data - off : len;
		return IMAGE_ZERO;
	}
	off_t hole = lseek(r->fd, (off_t)off, SEEK_HOLE);
	uint64_t end = hole < 0 ? r->size : (uint64_t)hole;
	*run = end > off && end - off < len ? end - off : len;
	return IMAGE_DATA;
}

int image_reader_status(struct image_reader *r, uint64_t off, uint64_t len, uint64_t *run)
{
	if (!len || off >= r->size)
		return error("%s: status query at %llu beyond the end", r->path, (unsigned long long)off);
	if (len > r->size - off)
		len = r->size - off;
	if (!r->qcow2)
		return raw_status(r, off, len, run);
	int st = qcow2_reader_status(r->qcow2, off, len, run);
	if (st < 0)
		return -1;
	return st == QCOW2_DATA || st == QCOW2_COMPRESSED ? IMAGE_DATA : IMAGE_ZERO;
}
