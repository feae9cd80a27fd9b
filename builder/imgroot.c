/* builder/imgroot.c: file operations confined to an image root (see imgroot.h).
 *
 * Every lookup goes through openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
 * from the root's fd; the final component is then handled with *at() calls
 * that do not follow it. Reads refuse anything but regular files, so a FIFO
 * planted at /etc/passwd cannot hang the build.
 */
#include "builder/imgroot.h"

#include "util/diag.h"
#include "util/io.h"
#include "util/strbuf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int imgroot_open(struct imgroot *ir, const char *rootdir)
{
	ir->fd = open(rootdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	ir->path = xstrdup(rootdir);
	if (ir->fd < 0) {
		error_errno("cannot open the image root %s", rootdir);
		free(ir->path);
		ir->path = NULL;
		return -1;
	}
	return 0;
}

void imgroot_close(struct imgroot *ir)
{
	if (ir->fd >= 0)
		close(ir->fd);
	ir->fd = -1;
	free(ir->path);
	ir->path = NULL;
}

int imgroot_openat(const struct imgroot *ir, const char *path, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.mode = (flags & O_CREAT) ? mode : 0,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	long fd;
	int tries = 0;
	/* EAGAIN means a concurrent rename raced the lookup: retry a little. */
	do
		fd = syscall(SYS_openat2, ir->fd, path, &how, sizeof how);
	while (fd < 0 && (errno == EINTR || errno == EAGAIN) && ++tries < 100);
	return (int)fd;
}

int imgroot_open_parent(const struct imgroot *ir, const char *path, const char **base)
{
	const char *slash = strrchr(path, '/');
	const char *b = slash ? slash + 1 : path;
	if (!*b || !strcmp(b, ".") || !strcmp(b, "..")) {
		errno = EINVAL;
		return -1;
	}
	char *parent = slash && slash != path ? strndup(path, (size_t)(slash - path)) : xstrdup("/");
	int fd = imgroot_openat(ir, parent, O_PATH | O_DIRECTORY, 0);
	int saved = errno;
	free(parent);
	errno = saved;
	*base = b;
	return fd;
}

static int is_root_path(const char *path)
{
	return strspn(path, "/") == strlen(path);
}

int imgroot_stat(const struct imgroot *ir, const char *path, struct stat *st)
{
	int fd = imgroot_openat(ir, path, O_PATH, 0);
	if (fd < 0)
		return -1;
	int r = fstat(fd, st);
	int saved = errno;
	close(fd);
	errno = saved;
	return r;
}

int imgroot_lstat(const struct imgroot *ir, const char *path, struct stat *st)
{
	if (is_root_path(path))
		return fstat(ir->fd, st);
	const char *base;
	int dfd = imgroot_open_parent(ir, path, &base);
	if (dfd < 0)
		return -1;
	int r = fstatat(dfd, base, st, AT_SYMLINK_NOFOLLOW);
	int saved = errno;
	close(dfd);
	errno = saved;
	return r;
}

int imgroot_exists(const struct imgroot *ir, const char *path)
{
	struct stat st;
	return imgroot_stat(ir, path, &st) == 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **imgroot_list_dir(const struct imgroot *ir, const char *dir, size_t *n)
{
	*n = 0;
	int fd = imgroot_openat(ir, dir, O_RDONLY | O_DIRECTORY, 0);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	char **names = NULL;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		names = xrealloc(names, (*n + 1) * sizeof *names);
		names[(*n)++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (*n)
		qsort(names, *n, sizeof *names, cmp_names);
	return names;
}

void imgroot_free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static int read_fd(int fd, struct strbuf *sb, size_t max)
{
	size_t start = sb->len;
	for (;;) {
		strbuf_grow(sb, 65536);
		ssize_t n = read(fd, sb->buf + sb->len, 65536);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		sb->len += (size_t)n;
		sb->buf[sb->len] = 0;
		if (sb->len - start > max) {
			errno = EFBIG;
			return -1;
		}
	}
}

int imgroot_read(const struct imgroot *ir, const char *path, struct strbuf *sb, size_t max, int missing_ok)
{
	int fd = imgroot_openat(ir, path, O_RDONLY | O_NONBLOCK, 0);
	if (fd < 0) {
		if (errno == ENOENT && missing_ok)
			return 1;
		return error_errno("cannot open %s in the image %s", path, ir->path);
	}
	struct stat st;
	int r = 0;
	if (fstat(fd, &st) < 0)
		r = error_errno("cannot stat %s in the image", path);
	else if (!S_ISREG(st.st_mode))
		r = error("%s in the image is not a regular file", path);
	else if (read_fd(fd, sb, max) < 0)
		r = error_errno("cannot read %s in the image", path);
	close(fd);
	return r;
}

/* Opens the existing prefix path[0..end) as a directory, creating its last
 * component (with mode and owner) if it is missing. */
static int open_or_create_dir(const struct imgroot *ir, const char *prefix, int parent_fd, const char *name,
			      mode_t mode, uid_t uid, gid_t gid)
{
	int fd = imgroot_openat(ir, prefix, O_PATH | O_DIRECTORY, 0);
	if (fd >= 0)
		return fd;
	if (errno == ENOTDIR)
		return error("cannot create directory %s in the image: a component is not a directory", prefix);
	if (errno != ENOENT)
		return error_errno("cannot open %s in the image", prefix);
	if (mkdirat(parent_fd, name, mode) < 0)
		return error_errno("cannot create directory %s in the image", prefix);
	if (fchownat(parent_fd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 || fchmodat(parent_fd, name, mode, 0) < 0)
		return error_errno("cannot set owner and mode of %s in the image", prefix);
	fd = imgroot_openat(ir, prefix, O_PATH | O_DIRECTORY, 0);
	if (fd < 0)
		return error_errno("cannot open %s in the image", prefix);
	return fd;
}

int imgroot_mkdirs(const struct imgroot *ir, const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	char *copy = xstrdup(path);
	struct strbuf prefix = STRBUF_INIT;
	int cur = dup(ir->fd), r = cur < 0 ? error_errno("dup") : 0;
	char *save = NULL;
	for (char *c = strtok_r(copy, "/", &save); c && r == 0; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, ".") || !strcmp(c, "..")) {
			r = error("invalid path %s in the image", path);
			break;
		}
		strbuf_addc(&prefix, '/');
		strbuf_adds(&prefix, c);
		int next = open_or_create_dir(ir, prefix.buf, cur, c, mode, uid, gid);
		close(cur);
		cur = next;
		if (next < 0)
			r = -1;
	}
	if (cur >= 0)
		close(cur);
	strbuf_release(&prefix);
	free(copy);
	return r;
}

/* Opens the parent of path, creating it (0755 root) if it is missing.
 * Prints its own errors. */
static int open_parent_creating(const struct imgroot *ir, const char *path, const char **base)
{
	int dfd = imgroot_open_parent(ir, path, base);
	if (dfd >= 0)
		return dfd;
	if (errno != ENOENT)
		return error_errno("cannot open the directory of %s in the image %s", path, ir->path);
	char *parent = strndup(path, (size_t)(*base - path));
	int r = imgroot_mkdirs(ir, parent, 0755, 0, 0);
	free(parent);
	if (r < 0)
		return -1;
	dfd = imgroot_open_parent(ir, path, base);
	if (dfd < 0)
		return error_errno("cannot open the directory of %s in the image %s", path, ir->path);
	return dfd;
}

/* Creates an unused temporary name beside base in dfd. */
static int create_temp_in(int dfd, const char *base, char **tmp_out)
{
	static unsigned counter;
	for (int i = 0; i < 100; i++) {
		char *tmp = xasprintf(".%s.apkg-%d-%u", base, (int)getpid(), counter++);
		int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0) {
			*tmp_out = tmp;
			return fd;
		}
		free(tmp);
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}

int imgroot_write(const struct imgroot *ir, const char *path, const void *data, size_t len, mode_t mode, uid_t uid,
		  gid_t gid)
{
	const char *base;
	int dfd = open_parent_creating(ir, path, &base);
	if (dfd < 0)
		return -1;
	char *tmp = NULL;
	int fd = create_temp_in(dfd, base, &tmp);
	int r = 0;
	if (fd < 0) {
		r = error_errno("cannot create a file beside %s in the image", path);
	} else {
		/* chown before chmod: chown clears set-id bits. */
		if (write_all(fd, data, len) < 0 || fchown(fd, uid, gid) < 0 || fchmod(fd, mode) < 0)
			r = error_errno("cannot write %s in the image", path);
		if (close(fd) < 0 && r == 0)
			r = error_errno("cannot write %s in the image", path);
		if (r == 0 && renameat(dfd, tmp, dfd, base) < 0)
			r = error_errno("cannot replace %s in the image", path);
		if (r < 0)
			unlinkat(dfd, tmp, 0);
	}
	free(tmp);
	close(dfd);
	return r;
}

int imgroot_symlink(const struct imgroot *ir, const char *target, const char *path)
{
	const char *base;
	int dfd = open_parent_creating(ir, path, &base);
	if (dfd < 0)
		return -1;
	int r = 0;
	for (unsigned n = 0;; n++) {
		char *tmp = xasprintf(".%s.apkg-%d-%u", base, (int)getpid(), n);
		if (symlinkat(target, dfd, tmp) == 0) {
			if (renameat(dfd, tmp, dfd, base) < 0) {
				r = error_errno("cannot create the symlink %s in the image", path);
				unlinkat(dfd, tmp, 0);
			}
			free(tmp);
			break;
		}
		free(tmp);
		if (errno != EEXIST || n > 100) {
			r = error_errno("cannot create the symlink %s in the image", path);
			break;
		}
	}
	close(dfd);
	return r;
}

int imgroot_readlink(const struct imgroot *ir, const char *path, struct strbuf *sb)
{
	const char *base;
	int dfd = imgroot_open_parent(ir, path, &base);
	if (dfd < 0)
		return errno == ENOENT || errno == ENOTDIR ? 1 : error_errno("cannot open %s in the image", path);
	int r = 1;
	for (size_t size = 256; size <= 65536; size *= 2) {
		char *buf = xmalloc(size);
		ssize_t n = readlinkat(dfd, base, buf, size);
		if (n >= 0 && (size_t)n < size) {
			strbuf_add(sb, buf, (size_t)n);
			r = 0;
		} else if (n < 0) {
			r = errno == EINVAL || errno == ENOENT ? 1 : error_errno("cannot read the link %s in the image", path);
		}
		free(buf);
		if (n < 0 || (size_t)n < size)
			break;
	}
	close(dfd);
	return r;
}

int imgroot_unlink(const struct imgroot *ir, const char *path)
{
	const char *base;
	int dfd = imgroot_open_parent(ir, path, &base);
	if (dfd < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : error_errno("cannot remove %s in the image", path);
	int r = 0;
	if (unlinkat(dfd, base, 0) < 0 && errno != ENOENT)
		r = error_errno("cannot remove %s in the image", path);
	close(dfd);
	return r;
}

int imgroot_remove_tree(const struct imgroot *ir, const char *path)
{
	const char *base;
	int dfd = imgroot_open_parent(ir, path, &base);
	if (dfd < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : error_errno("cannot remove %s in the image", path);
	int r = rm_rf_at(dfd, base);
	close(dfd);
	return r;
}

int imgroot_chown_chmod(const struct imgroot *ir, const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	const char *base;
	int dfd = imgroot_open_parent(ir, path, &base);
	if (dfd < 0)
		return error_errno("cannot open %s in the image", path);
	struct stat st;
	int r = 0;
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    fchownat(dfd, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 ||
	    (!S_ISLNK(st.st_mode) && fchmodat(dfd, base, mode, 0) < 0))
		r = error_errno("cannot set owner and mode of %s in the image", path);
	close(dfd);
	return r;
}
