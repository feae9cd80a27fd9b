/* initramfs/cpio.c: deterministic zstd-compressed newc archives via libarchive.
 *
 * zstd because every Debian 6.1 kernel decompresses it (CONFIG_RD_ZSTD=y), it is small and it
 * decompresses several times faster than xz under TCG. Level 9, not 19: on the default
 * module set 19 saves 190 KB (1.58 against 1.77 MB) but costs 4.4 s more per build, and
 * rebuild time is what people iterating on a recipe feel.
 */
#include "initramfs/cpio.h"

#include "util/diag.h"
#include "util/io.h"
#include "util/strbuf.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct cpio_entry *add(struct cpio_list *l, const char *path, mode_t type, mode_t perm)
{
	l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
	struct cpio_entry *e = &l->v[l->n++];
	memset(e, 0, sizeof *e);
	e->path = xstrdup(path);
	e->type = type;
	e->perm = perm;
	return e;
}

static int has_path(const struct cpio_list *l, const char *path)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].path, path))
			return 1;
	return 0;
}

void cpio_add_dir(struct cpio_list *l, const char *path, mode_t perm)
{
	if (!has_path(l, path))
		add(l, path, S_IFDIR, perm);
}

void cpio_add_dirs(struct cpio_list *l, const char *path)
{
	char *p = xstrdup(path);
	for (char *s = strchr(p, '/'); s; s = strchr(s + 1, '/')) {
		*s = 0;
		cpio_add_dir(l, p, 0755);
		*s = '/';
	}
	cpio_add_dir(l, p, 0755);
	free(p);
}

void cpio_add_chr(struct cpio_list *l, const char *path, mode_t perm, unsigned major, unsigned minor)
{
	struct cpio_entry *e = add(l, path, S_IFCHR, perm);
	e->rdev_major = major;
	e->rdev_minor = minor;
}

void cpio_add_file(struct cpio_list *l, const char *path, mode_t perm, char *data, size_t len)
{
	struct cpio_entry *e = add(l, path, S_IFREG, perm);
	e->data = data;
	e->len = len;
}

void cpio_list_release(struct cpio_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].path);
		free(l->v[i].data);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct cpio_entry *)a)->path, ((const struct cpio_entry *)b)->path);
}

static int write_entry(struct archive *a, struct archive_entry *ae, const struct cpio_entry *e, size_t ino,
		       uint64_t epoch)
{
	archive_entry_clear(ae);
	archive_entry_set_pathname(ae, e->path);
	archive_entry_set_filetype(ae, e->type);
	archive_entry_set_perm(ae, e->perm);
	archive_entry_set_uid(ae, 0);
	archive_entry_set_gid(ae, 0);
	archive_entry_set_mtime(ae, (time_t)epoch, 0);
	archive_entry_set_ino64(ae, (la_int64_t)ino);
	archive_entry_set_nlink(ae, e->type == S_IFDIR ? 2 : 1);
	if (e->type == S_IFCHR) {
		archive_entry_set_rdevmajor(ae, e->rdev_major);
		archive_entry_set_rdevminor(ae, e->rdev_minor);
	}
	archive_entry_set_size(ae, e->type == S_IFREG ? (la_int64_t)e->len : 0);
	if (archive_write_header(a, ae) != ARCHIVE_OK)
		return error("cpio: %s: %s", e->path, archive_error_string(a));
	if (e->type == S_IFREG && e->len &&
	    archive_write_data(a, e->data, e->len) != (la_ssize_t)e->len)
		return error("cpio: %s: %s", e->path, archive_error_string(a));
	return 0;
}

static struct archive *new_writer(void)
{
	struct archive *a = archive_write_new();
	if (archive_write_set_format_cpio_newc(a) != ARCHIVE_OK || archive_write_add_filter_zstd(a) != ARCHIVE_OK ||
	    archive_write_set_filter_option(a, "zstd", "compression-level", "9") != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK) {
		error("libarchive cannot write zstd-compressed cpio: %s", archive_error_string(a));
		archive_write_free(a);
		return NULL;
	}
	return a;
}

int cpio_write(struct cpio_list *l, const char *out_path, uint64_t epoch)
{
	qsort(l->v, l->n, sizeof *l->v, cmp_entry);
	struct archive *a = new_writer();
	if (!a)
		return -1;
	char *tmp;
	int fd = create_temp_beside(out_path, &tmp);
	if (fd < 0) {
		archive_write_free(a);
		return -1;
	}
	int r = 0;
	if (fchmod(fd, 0644) < 0 || archive_write_open_fd(a, fd) != ARCHIVE_OK)
		r = error("cannot write %s: %s", tmp, archive_error_string(a));
	struct archive_entry *ae = archive_entry_new();
	for (size_t i = 0; !r && i < l->n; i++)
		r = write_entry(a, ae, &l->v[i], i + 1, epoch);
	archive_entry_free(ae);
	if (!r && archive_write_close(a) != ARCHIVE_OK)
		r = error("cannot finish %s: %s", tmp, archive_error_string(a));
	archive_write_free(a);
	if (r) {
		close(fd);
		unlink(tmp);
	} else {
		r = commit_temp(fd, tmp, out_path);
	}
	free(tmp);
	return r;
}
