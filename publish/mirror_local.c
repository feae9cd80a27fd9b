/* publish/mirror_local.c: a mirror that is a local directory (a web root, an
 * NFS mount). Staged files are copied (holes kept) and fsync'd; the version
 * directory appears by one rename(2) (RENAME_NOREPLACE where the filesystem
 * has it); index files and links are replaced by temp + rename, and each
 * directory changed is fsync'd, so the state after a crash or power loss is
 * the old one or the new one. See mirror.h. */
#include "publish/mirror.h"

#include "util/diag.h"
#include "util/io.h"
#include "util/strbuf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char *at(const struct mirror *m, const char *rel) { return path_join(m->root, rel); }

static void fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* The directory that holds path. */
static char *parent_of(const char *path)
{
	char *p = xstrdup(path);
	char *slash = strrchr(p, '/');
	if (slash && slash != p)
		*slash = 0;
	else if (slash)
		slash[1] = 0;
	else
		strcpy(p, ".");
	return p;
}

static int wait_for_flock(int fd, const char *path, unsigned wait_s)
{
	time_t give_up = time(NULL) + wait_s;
	for (int said = 0;; said = 1) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return error_errno("cannot lock %s", path);
		if (time(NULL) >= give_up)
			return error("gave up waiting for the mirror lock %s after %u s", path, wait_s);
		if (!said)
			info("waiting for another publisher to finish (lock %s)", path);
		usleep(200 * 1000);
	}
}

static int local_lock(struct mirror *m)
{
	if (mkdir_p(m->root, 0755) < 0)
		return -1;
	char *path = at(m, ".apkg-lock");
	int ret = -1;
	m->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (m->lock_fd < 0)
		error_errno("cannot open the mirror lock %s", path);
	else if (wait_for_flock(m->lock_fd, path, m->opts.lock_wait_s) < 0) {
		close(m->lock_fd);
		m->lock_fd = -1;
	} else
		ret = 0;
	free(path);
	return ret;
}

static void local_unlock(struct mirror *m)
{
	if (m->lock_fd >= 0)
		close(m->lock_fd); /* releases the flock */
	m->lock_fd = -1;
}

static int local_read(struct mirror *m, const char *rel, struct strbuf *out, size_t max, int *missing)
{
	char *path = at(m, rel);
	struct stat st;
	int ret = 0;
	*missing = lstat(path, &st) < 0 && errno == ENOENT;
	if (!*missing)
		ret = read_file(path, out, max);
	free(path);
	return ret;
}

static int local_list(struct mirror *m, const char *dir, char ***names, size_t *n)
{
	char *path = at(m, dir);
	DIR *d = opendir(path);
	*names = NULL;
	*n = 0;
	if (!d) {
		int missing = errno == ENOENT;
		if (!missing)
			error_errno("cannot list %s", path);
		free(path);
		return missing ? 0 : -1;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		*names = xrealloc(*names, (*n + 1) * sizeof **names);
		(*names)[(*n)++] = xstrdup(de->d_name);
	}
	closedir(d);
	free(path);
	return 0;
}

static int local_remove(struct mirror *m, const char *dir, const char *name)
{
	char *parent = at(m, dir), *path = path_join(parent, name);
	int ret = rm_rf(path);
	fsync_dir(parent);
	free(parent);
	free(path);
	return ret;
}

static int copy_synced(const char *src, const char *dst)
{
	if (copy_file_sparse(src, dst, 0644) < 0)
		return -1;
	int fd = open(dst, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fchmod(fd, 0644) < 0 || fsync(fd) < 0) {
		error_errno("cannot write %s", dst);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* Copies to "name.part" and renames, so a file under its own name is whole. */
static int local_stage(struct mirror *m, const char *dir, const struct mirror_file *files, size_t n)
{
	char *path = at(m, dir);
	int ret = rm_rf(path) == 0 && mkdir_p(path, 0755) == 0 && chmod(path, 0755) == 0 ? 0 : -1;
	for (size_t i = 0; ret == 0 && i < n; i++) {
		char *final = path_join(path, files[i].name), *part = xasprintf("%s.part", final);
		if (copy_synced(files[i].path, part) < 0 || rename(part, final) < 0)
			ret = error_errno("cannot copy %s to %s", files[i].path, final);
		free(final);
		free(part);
		if (i == 0)
			publish_pause_point("upload");
	}
	if (ret == 0) {
		fsync_dir(path);
		char *parent = parent_of(path);
		fsync_dir(parent);
		free(parent);
	}
	free(path);
	return ret;
}

/* The reads that follow go to the storage (or the NFS server), not to pages
 * this process just wrote. */
static int local_readback(struct mirror *m, const char *dir, char **local_dir)
{
	char *path = at(m, dir);
	char **names;
	size_t n;
	if (local_list(m, dir, &names, &n) < 0) {
		free(path);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		char *file = path_join(path, names[i]);
		int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd >= 0) {
			posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
			close(fd);
		}
		free(file);
	}
	mirror_free_names(names, n);
	*local_dir = path;
	return 0;
}

static int rename_noreplace(const char *from, const char *to)
{
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* the filesystem lacks RENAME_NOREPLACE (NFS): we hold the lock, and
	 * rename(2) refuses a non-empty target */
	struct stat st;
	if (lstat(to, &st) == 0) {
		errno = EEXIST;
		return -1;
	}
	return rename(from, to);
}

static int local_promote(struct mirror *m, const char *parent, const char *from, const char *to,
			 const struct mirror_file *files, size_t n)
{
	(void)files;
	(void)n;
	char *dir = at(m, parent), *src = path_join(dir, from), *dst = path_join(dir, to);
	int ret = rename_noreplace(src, dst) < 0 ? error_errno("cannot rename %s to %s", src, dst) : 0;
	fsync_dir(dir);
	free(dir);
	free(src);
	free(dst);
	return ret;
}

static int local_put(struct mirror *m, const char *rel, const void *data, size_t len)
{
	char *path = at(m, rel), *parent = parent_of(path);
	int ret = mkdir_p(parent, 0755) == 0 ? write_file_atomic(path, data, len, 0644) : -1;
	fsync_dir(parent);
	free(path);
	free(parent);
	return ret;
}

static int local_symlink(struct mirror *m, const char *rel, const char *target)
{
	char *path = at(m, rel), *parent = parent_of(path);
	char *tmp = xasprintf("%s.tmp-%ld", path, (long)getpid());
	unlink(tmp);
	int ret = 0;
	if (symlink(target, tmp) < 0 || rename(tmp, path) < 0) {
		ret = error_errno("cannot point %s at %s", path, target);
		unlink(tmp);
	}
	fsync_dir(parent);
	free(path);
	free(parent);
	free(tmp);
	return ret;
}

const struct mirror_ops mirror_local_ops = {
	.kind = "local",
	.lock = local_lock,
	.unlock = local_unlock,
	.read = local_read,
	.list = local_list,
	.remove = local_remove,
	.stage = local_stage,
	.readback = local_readback,
	.promote = local_promote,
	.put = local_put,
	.symlink = local_symlink,
};
