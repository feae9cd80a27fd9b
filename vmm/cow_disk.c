/* vmm/cow_disk.c: copy-on-write overlay in an unlinked sparse file.
 *
 * Which clusters were written is kept in a two-level bitmap: one 4 KiB
 * page of bits per 128 MiB of disk, allocated on first write, so a large
 * disk that the guest barely writes costs almost nothing.
 */
#include "vmm/cow_disk.h"

#include "util/diag.h"
#include "util/io.h"
#include "util/strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BITS_PER_CHUNK (COW_CLUSTER * 8u) /* clusters per bitmap page */

struct cow_disk {
	struct disk_backend *base;
	uint64_t size;
	int overlay_fd;
	uint8_t **chunks;
	uint64_t n_chunks;
	uint64_t overlay_clusters;
	uint8_t buf[COW_CLUSTER];
};

static int open_overlay(void)
{
	const char *dir = getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/var/tmp";
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	/* Filesystems without O_TMPFILE: create, then unlink at once. */
	char *path = xasprintf("%s/apkg-vmm-overlay-XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	else
		error_errno("cannot create the disk overlay in %s", dir);
	free(path);
	return fd;
}

struct cow_disk *cow_disk_create(struct disk_backend *base)
{
	int fd = open_overlay();
	if (fd < 0) {
		disk_backend_close(base);
		return NULL;
	}
	struct cow_disk *d = xcalloc(1, sizeof *d);
	d->base = base;
	d->size = base->size;
	d->overlay_fd = fd;
	uint64_t clusters = (d->size + COW_CLUSTER - 1) / COW_CLUSTER;
	d->n_chunks = (clusters + BITS_PER_CHUNK - 1) / BITS_PER_CHUNK;
	d->chunks = xcalloc(d->n_chunks ? d->n_chunks : 1, sizeof *d->chunks);
	return d;
}

void cow_disk_destroy(struct cow_disk *d)
{
	if (!d)
		return;
	for (uint64_t i = 0; i < d->n_chunks; i++)
		free(d->chunks[i]);
	free(d->chunks);
	close(d->overlay_fd);
	disk_backend_close(d->base);
	free(d);
}

uint64_t cow_disk_size(const struct cow_disk *d) { return d->size; }
uint64_t cow_disk_overlay_bytes(const struct cow_disk *d) { return d->overlay_clusters * COW_CLUSTER; }

static int in_overlay(const struct cow_disk *d, uint64_t cluster)
{
	const uint8_t *c = d->chunks[cluster / BITS_PER_CHUNK];
	uint64_t bit = cluster % BITS_PER_CHUNK;
	return c && (c[bit / 8] >> (bit % 8) & 1);
}

static void mark_overlay(struct cow_disk *d, uint64_t cluster)
{
	uint8_t **c = &d->chunks[cluster / BITS_PER_CHUNK];
	if (!*c)
		*c = xcalloc(1, COW_CLUSTER);
	uint64_t bit = cluster % BITS_PER_CHUNK;
	(*c)[bit / 8] |= (uint8_t)(1u << (bit % 8));
	d->overlay_clusters++;
}

static int check_range(const struct cow_disk *d, uint64_t len, uint64_t off)
{
	if (off > d->size || len > d->size - off)
		return error("%s: access beyond the end of the disk", d->base->name);
	return 0;
}

int cow_disk_read(struct cow_disk *d, void *buf, uint64_t len, uint64_t off)
{
	if (check_range(d, len, off) < 0)
		return -1;
	uint8_t *p = buf;
	while (len) {
		/* The longest run of clusters that all come from the same place. */
		uint64_t cluster = off / COW_CLUSTER;
		int overlay = in_overlay(d, cluster);
		uint64_t run = COW_CLUSTER - off % COW_CLUSTER;
		while (run < len && in_overlay(d, (off + run) / COW_CLUSTER) == overlay)
			run += COW_CLUSTER;
		if (run > len)
			run = len;
		int r = overlay ? pread_exact(d->overlay_fd, p, run, off) : disk_backend_pread(d->base, p, run, off);
		if (r < 0)
			return -1;
		p += run;
		off += run;
		len -= run;
	}
	return 0;
}

/* Writes part of one cluster, copying the rest of it from the base first. */
static int write_in_cluster(struct cow_disk *d, const uint8_t *src, uint64_t len, uint64_t off)
{
	uint64_t cluster = off / COW_CLUSTER;
	uint64_t start = cluster * COW_CLUSTER;
	uint64_t cluster_len = d->size - start < COW_CLUSTER ? d->size - start : COW_CLUSTER;
	if (in_overlay(d, cluster))
		return pwrite_all(d->overlay_fd, src, len, off);
	if (len < cluster_len && disk_backend_pread(d->base, d->buf, cluster_len, start) < 0)
		return -1;
	memcpy(d->buf + (off - start), src, len);
	if (pwrite_all(d->overlay_fd, d->buf, cluster_len, start) < 0)
		return -1;
	mark_overlay(d, cluster);
	return 0;
}

int cow_disk_write(struct cow_disk *d, const void *buf, uint64_t len, uint64_t off)
{
	if (check_range(d, len, off) < 0)
		return -1;
	const uint8_t *p = buf;
	while (len) {
		uint64_t piece = COW_CLUSTER - off % COW_CLUSTER;
		if (piece > len)
			piece = len;
		if (write_in_cluster(d, p, piece, off) < 0)
			return -1;
		p += piece;
		off += piece;
		len -= piece;
	}
	return 0;
}
