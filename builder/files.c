/* builder/files.c: the recipe's `files`, installed into the image.
 *
 * An entry is inline content or a host `source` (a file, or a directory
 * copied recursively). Owners are names resolved against the image's own
 * /etc/passwd and /etc/group. Modes are exactly what the recipe says: a file
 * gets `mode` (default 0644; 0755 when a source file is executable on the
 * host and no mode is given); a directory source's directories get `mode`
 * (default 0755) and the files inside 0644, or 0755 when executable on the
 * host. Host symlinks inside a source directory are copied as symlinks and
 * never followed; other special files are refused.
 */
#include "builder/customize.h"

#include "builder/imgroot.h"
#include "builder/recipe.h"
#include "builder/users.h"
#include "util/diag.h"
#include "util/io.h"
#include "util/strbuf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_MAX_SIZE ((size_t)4 << 30)

struct install_ctx {
	const struct imgroot *ir;
	const struct recipe_file *f;
	uid_t uid;
	gid_t gid;
};

/* Absolute, no empty, "." or ".." components, no trailing slash. */
static int valid_image_path(const char *p)
{
	if (p[0] != '/' || !p[1])
		return 0;
	for (const char *c = p; *c;) {
		c++; /* past '/' */
		size_t n = strcspn(c, "/");
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return 0;
		c += n;
	}
	return 1;
}

static mode_t host_file_mode(const struct stat *st)
{
	return st->st_mode & 0111 ? 0755 : 0644;
}

static int copy_host_file(const struct install_ctx *c, int host_dirfd, const char *host_name, const char *dst,
			  mode_t mode)
{
	int fd = openat(host_dirfd, host_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return error_errno("files: cannot open %s", host_name);
	struct strbuf sb = STRBUF_INIT;
	int r = 0;
	for (;;) {
		strbuf_grow(&sb, 1 << 16);
		ssize_t n = read(fd, sb.buf + sb.len, 1 << 16);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = error_errno("files: cannot read %s", host_name);
			break;
		}
		if (n == 0)
			break;
		sb.len += (size_t)n;
		if (sb.len > FILE_MAX_SIZE) {
			r = error("files: %s is too large", host_name);
			break;
		}
	}
	close(fd);
	if (r == 0)
		r = imgroot_write(c->ir, dst, sb.buf, sb.len, mode, c->uid, c->gid);
	strbuf_release(&sb);
	return r;
}

static int copy_host_tree(const struct install_ctx *c, int host_dirfd, const char *host_name, const char *dst,
			  const char *shown);

static int copy_host_entry(const struct install_ctx *c, int dirfd, const char *name, const char *dst, const char *shown)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return error_errno("files: cannot stat %s", shown);
	if (S_ISDIR(st.st_mode))
		return copy_host_tree(c, dirfd, name, dst, shown);
	if (S_ISREG(st.st_mode))
		return copy_host_file(c, dirfd, name, dst, host_file_mode(&st));
	if (S_ISLNK(st.st_mode)) {
		struct strbuf target = STRBUF_INIT;
		strbuf_grow(&target, (size_t)st.st_size + 1);
		ssize_t n = readlinkat(dirfd, name, target.buf, (size_t)st.st_size + 1);
		int r = n < 0 || n > st.st_size ? error_errno("files: cannot read the link %s", shown) : 0;
		if (r == 0) {
			target.len = (size_t)n;
			target.buf[n] = 0;
			r = imgroot_symlink(c->ir, target.buf, dst);
		}
		if (r == 0)
			r = imgroot_chown_chmod(c->ir, dst, 0777, c->uid, c->gid);
		strbuf_release(&target);
		return r;
	}
	return error("files: %s is not a regular file, directory or symlink", shown);
}

/* Creates dst (parents as root, 0755) with the entry's mode and owner. A
 * directory that exists already keeps its mode and owner, unless it is the
 * entry's own path and the entry sets a mode or an owner other than root (so
 * a source merged into /root cannot silently open it up). */
static int prepare_dir(const struct install_ctx *c, const char *dst)
{
	mode_t dir_mode = c->f->mode_set ? c->f->mode & 07777 : 0755;
	int top = !strcmp(dst, c->f->path);
	struct stat st;
	if (imgroot_stat(c->ir, dst, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			return error("files: %s exists in the image and is not a directory", dst);
		int explicit_owner = c->f->owner && strcmp(c->f->owner, "root:root") && strcmp(c->f->owner, "root");
		if (top && (c->f->mode_set || explicit_owner))
			return imgroot_chown_chmod(c->ir, dst, dir_mode, c->uid, c->gid);
		return 0;
	}
	char *parent = xstrdup(dst);
	*strrchr(parent, '/') = 0;
	int r = *parent ? imgroot_mkdirs(c->ir, parent, 0755, 0, 0) : 0;
	free(parent);
	if (r == 0)
		r = imgroot_mkdirs(c->ir, dst, dir_mode, c->uid, c->gid);
	return r;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Copies a host directory: its entries in name order, so that a failure
 * always names the same file. */
static int copy_host_tree(const struct install_ctx *c, int host_dirfd, const char *host_name, const char *dst,
			  const char *shown)
{
	if (prepare_dir(c, dst) < 0)
		return -1;
	int fd = openat(host_dirfd, host_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return error_errno("files: cannot read the directory %s", shown);
	}
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		names = xrealloc(names, (n + 1) * sizeof *names);
		names[n++] = xstrdup(de->d_name);
	}
	qsort(names, n, sizeof *names, cmp_names);
	int r = 0;
	for (size_t i = 0; i < n; i++) {
		if (r == 0) {
			char *sub_dst = xasprintf("%s/%s", dst, names[i]);
			char *sub_shown = xasprintf("%s/%s", shown, names[i]);
			r = copy_host_entry(c, dirfd(d), names[i], sub_dst, sub_shown);
			free(sub_dst);
			free(sub_shown);
		}
		free(names[i]);
	}
	free(names);
	closedir(d);
	return r;
}

static int install_source(const struct install_ctx *c)
{
	const struct recipe_file *f = c->f;
	struct stat st;
	if (stat(f->source, &st) < 0)
		return error_errno("files: cannot read the source %s", f->source);
	if (S_ISDIR(st.st_mode))
		return copy_host_tree(c, AT_FDCWD, f->source, f->path, f->source);
	if (!S_ISREG(st.st_mode))
		return error("files: the source %s is not a regular file or a directory", f->source);
	return copy_host_file(c, AT_FDCWD, f->source, f->path, f->mode_set ? f->mode & 07777 : host_file_mode(&st));
}

static int install_file(const struct recipe_file *f, const struct imgroot *ir, const struct userdb *db)
{
	struct install_ctx c = {.ir = ir, .f = f};
	if (!f->path || !valid_image_path(f->path))
		return recipe_error(&f->pos, "files: '%s' must be an absolute path without '.', '..' or a trailing '/'",
				    f->path ? f->path : "");
	if (userdb_resolve_owner(db, f->owner, &c.uid, &c.gid) < 0)
		return recipe_error(&f->pos, "files: %s: the owner must be a user (and group) of the image", f->path);
	int r;
	if (f->content)
		r = imgroot_write(ir, f->path, f->content, f->content_len, f->mode_set ? f->mode & 07777 : 0644, c.uid,
				  c.gid);
	else if (f->source)
		r = install_source(&c);
	else
		return recipe_error(&f->pos, "files: %s has neither content nor source", f->path);
	return r < 0 ? recipe_error(&f->pos, "files: %s was not installed", f->path) : 0;
}

int files_apply(const struct recipe *r, const struct imgroot *ir, const struct userdb *db)
{
	for (size_t i = 0; i < r->n_files; i++)
		if (install_file(&r->files[i], ir, db) < 0)
			return -1;
	return 0;
}
