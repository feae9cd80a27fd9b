/* util/io.c: full reads/writes, atomic files, recursive mkdir/rm, scratch cleanup. */
#include "util/io.h"

#include "util/diag.h"
#include "util/strbuf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return error_errno("write");
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const char *p = buf;
	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return error_errno("pwrite");
		}
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int pread_exact(int fd, void *buf, size_t len, uint64_t off)
{
	char *p = buf;
	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return error_errno("read");
		}
		if (n == 0)
			return error("unexpected end of file (truncated image?)");
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int read_file(const char *path, struct strbuf *sb, size_t max_size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_errno("cannot open %s", path);
	size_t start = sb->len;
	for (;;) {
		strbuf_grow(sb, 65536);
		ssize_t n = read(fd, sb->buf + sb->len, 65536);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return error_errno("cannot read %s", path);
		}
		if (n == 0)
			break;
		sb->len += (size_t)n;
		sb->buf[sb->len] = 0;
		if (sb->len - start > max_size) {
			close(fd);
			return error("%s: larger than %zu bytes", path, max_size);
		}
	}
	close(fd);
	return 0;
}

int create_temp_beside(const char *final_path, char **tmp_out)
{
	char *tmp = xasprintf("%s.tmp-XXXXXX", final_path);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		error_errno("cannot create a temporary file beside %s", final_path);
		free(tmp);
		return -1;
	}
	*tmp_out = tmp;
	return fd;
}

int commit_temp(int fd, const char *tmp, const char *final_path) { return commit_temp_ex(fd, tmp, final_path, 1); }

int commit_temp_ex(int fd, const char *tmp, const char *final_path, int sync)
{
	if (sync && fsync(fd) < 0 && errno != EINVAL) {
		error_errno("fsync %s", tmp);
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (close(fd) < 0) {
		error_errno("close %s", tmp);
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, final_path) < 0) {
		error_errno("cannot rename %s to %s", tmp, final_path);
		unlink(tmp);
		return -1;
	}
	return 0;
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	char *tmp;
	int fd = create_temp_beside(path, &tmp);
	if (fd < 0)
		return -1;
	if (fchmod(fd, mode) < 0 || write_all(fd, data, len) < 0) {
		error("cannot write %s", path);
		close(fd);
		unlink(tmp);
		free(tmp);
		return -1;
	}
	int r = commit_temp(fd, tmp, path);
	free(tmp);
	return r;
}

int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof buf)
		return error("invalid directory path '%s'", path);
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return error_errno("cannot create directory %s", buf);
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return error_errno("cannot create directory %s", buf);
	return 0;
}

int rm_rf_at(int dirfd, const char *name)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : error_errno("stat %s", name);
	if (S_ISDIR(st.st_mode)) {
		int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return error_errno("open %s", name);
		DIR *d = fdopendir(fd);
		if (!d) {
			close(fd);
			return error_errno("opendir %s", name);
		}
		struct dirent *de;
		int r = 0;
		while ((de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			if (rm_rf_at(fd, de->d_name) < 0)
				r = -1;
		}
		closedir(d);
		if (r < 0)
			return r;
		if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
			return error_errno("rmdir %s", name);
		return 0;
	}
	if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
		return error_errno("unlink %s", name);
	return 0;
}

int rm_rf(const char *path) { return rm_rf_at(AT_FDCWD, path); }

int copy_file_sparse(const char *src, const char *dst, mode_t mode)
{
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return error_errno("cannot open %s", src);
	int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (out < 0) {
		close(in);
		return error_errno("cannot create %s", dst);
	}
	struct stat st;
	int r = fstat(in, &st);
	off_t pos = 0;
	char *buf = xmalloc(1 << 20);
	while (r == 0 && pos < st.st_size) {
		off_t data = lseek(in, pos, SEEK_DATA);
		if (data < 0)
			break; /* only a hole remains */
		off_t hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0)
			hole = st.st_size;
		for (off_t o = data; o < hole && r == 0;) {
			size_t want = (size_t)((hole - o) < (1 << 20) ? (hole - o) : (1 << 20));
			r = pread_exact(in, buf, want, (uint64_t)o);
			if (r == 0)
				r = pwrite_all(out, buf, want, (uint64_t)o);
			o += (off_t)want;
		}
		pos = hole;
	}
	free(buf);
	if (r == 0 && ftruncate(out, st.st_size) < 0)
		r = error_errno("truncate %s", dst);
	close(in);
	if (close(out) < 0 && r == 0)
		r = error_errno("close %s", dst);
	return r;
}

int path_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

char **dir_names_at(int dirfd, size_t *n)
{
	*n = 0;
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		errno = e;
		return NULL;
	}
	char **names = xcalloc(1, sizeof *names);
	size_t cap = 1;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (*n == cap)
			names = xrealloc(names, (cap *= 2) * sizeof *names);
		names[(*n)++] = xstrdup(de->d_name);
	}
	closedir(d);
	qsort(names, *n, sizeof *names, cmp_names);
	return names;
}

void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

char *path_join(const char *a, const char *b)
{
	size_t la = strlen(a);
	while (*b == '/')
		b++;
	if (la && a[la - 1] == '/')
		return xasprintf("%s%s", a, b);
	return xasprintf("%s/%s", a, b);
}

const char *self_dir(void)
{
	static char dir[PATH_MAX];
	if (!dir[0]) {
		ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
		if (n <= 0) {
			strcpy(dir, ".");
		} else {
			dir[n] = 0;
			char *slash = strrchr(dir, '/');
			if (slash)
				*slash = 0;
		}
	}
	return dir;
}

char *find_libexec(const char *name)
{
	const char *env = getenv("APKG_LIBEXEC");
	if (env && *env) {
		char *p = path_join(env, name);
		if (access(p, X_OK) == 0)
			return p;
		free(p);
	}
	char *p = path_join(self_dir(), name);
	if (access(p, X_OK) == 0)
		return p;
	free(p);
	p = xasprintf("%s/../lib/apkg/%s", self_dir(), name);
	if (access(p, X_OK) == 0)
		return p;
	free(p);
	return NULL;
}

/* Scratch registry for signal-time cleanup. Fixed size: a build has a few. */
#define MAX_CLEANUP 16
static char *cleanup_paths[MAX_CLEANUP];

void cleanup_register(const char *path)
{
	for (int i = 0; i < MAX_CLEANUP; i++)
		if (!cleanup_paths[i]) {
			cleanup_paths[i] = xstrdup(path);
			return;
		}
}

void cleanup_unregister(const char *path)
{
	for (int i = 0; i < MAX_CLEANUP; i++)
		if (cleanup_paths[i] && !strcmp(cleanup_paths[i], path)) {
			free(cleanup_paths[i]);
			cleanup_paths[i] = NULL;
		}
}

/* Host tools run in process groups of their own (util/run.c), so a Ctrl-C on
 * the terminal reaches only apkg: it must stop them itself before removing
 * the scratch they write into (mmdebstrap would otherwise go on writing). */
#define MAX_CHILDREN 16
static volatile pid_t child_groups[MAX_CHILDREN];

void cleanup_child_begin(pid_t pgid)
{
	for (int i = 0; i < MAX_CHILDREN; i++)
		if (!child_groups[i]) {
			child_groups[i] = pgid;
			return;
		}
}

void cleanup_child_end(pid_t pgid)
{
	for (int i = 0; i < MAX_CHILDREN; i++)
		if (child_groups[i] == pgid)
			child_groups[i] = 0;
}

static void stop_children(void)
{
	int any = 0;
	for (int i = 0; i < MAX_CHILDREN; i++)
		if (child_groups[i] > 0 && kill(-child_groups[i], SIGTERM) == 0)
			any = 1;
	if (!any)
		return;
	/* Give them up to 2 s to exit cleanly (mmdebstrap unmounts), then kill. */
	for (int tries = 0; tries < 40; tries++) {
		int alive = 0;
		for (int i = 0; i < MAX_CHILDREN; i++)
			if (child_groups[i] > 0) {
				while (waitpid(-child_groups[i], NULL, WNOHANG) > 0)
					;
				if (kill(-child_groups[i], 0) == 0)
					alive = 1;
			}
		if (!alive)
			return;
		struct timespec ts = {0, 50 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	for (int i = 0; i < MAX_CHILDREN; i++)
		if (child_groups[i] > 0)
			kill(-child_groups[i], SIGKILL);
}

/* Stops the children and removes the registered paths, from a signal handler. */
static void clean_up_after_signal(void)
{
	stop_children();
	/* rm_rf is not async-signal-safe in theory (opendir allocates); in
	 * practice the main thread is blocked in a child wait or I/O here, and
	 * leaving scratch behind is worse than the small risk. */
	for (int i = 0; i < MAX_CLEANUP; i++)
		if (cleanup_paths[i])
			rm_rf(cleanup_paths[i]);
}

static void on_fatal_signal(int sig)
{
	clean_up_after_signal();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* apkg maps its input images (formats/extents.c); a file truncated by
 * someone else while it is mapped faults with SIGBUS on the next access.
 * That is bad input, not a crash: say so, clean up, exit 1. */
static void on_sigbus(int sig)
{
	static const char msg[] = "apkg: error: an input file shrank while apkg was reading it (SIGBUS); "
				  "nothing was written\n";
	(void)sig;
	ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
	(void)ignored;
	clean_up_after_signal();
	_exit(1);
}

void cleanup_install_signal_handlers(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_fatal_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = on_sigbus;
	sigaction(SIGBUS, &sa, NULL);
}
