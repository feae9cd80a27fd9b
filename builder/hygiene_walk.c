/* builder/hygiene_walk.c: the two sources of hygiene entries: a root directory and a tar stream.
 *
 * The directory walk never follows a symlink (every open is O_NOFOLLOW
 * relative to its parent's fd), stays on the root's filesystem, visits
 * names in sorted order (so reports are stable) and opens files with
 * O_NONBLOCK so a FIFO in the tree cannot hang it. The tar reader (libarchive)
 * takes names as they come from the image and normalises them to absolute
 * paths; hard links are judged by their mode and owner but carry no data
 * (their content was seen under the first name). Both read at most what
 * hygiene_scan_wants() asks for per file.
 */
#include "builder/hygiene.h"

#include "util/diag.h"
#include "util/strbuf.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_DEPTH 256

/* Reads up to want bytes of dirfd/name into *buf (which grows). Returns the count, or 0. */
static size_t read_head(int dirfd, const char *name, size_t want, unsigned char **buf, size_t *cap)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (want > *cap) {
		*buf = xrealloc(*buf, want);
		*cap = want;
	}
	size_t got = 0;
	while (got < want) {
		ssize_t n = read(fd, *buf + got, want - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	return got;
}

struct tree_walk {
	struct hygiene_scan *s;
	dev_t dev;
	unsigned char *buf;
	size_t cap;
	int failed;
};

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char **sorted_names(DIR *d, size_t *n)
{
	char **names = NULL;
	size_t cap = 0;
	struct dirent *de;
	*n = 0;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 32;
			names = xrealloc(names, cap * sizeof *names);
		}
		names[(*n)++] = xstrdup(de->d_name);
	}
	if (*n)
		qsort(names, *n, sizeof *names, cmp_name);
	return names;
}

static void walk_dir(struct tree_walk *w, int dirfd, const char *path, int depth);

static void visit(struct tree_walk *w, int dirfd, const char *name, const char *path, int depth)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	struct hygiene_entry e = {.path = path, .mode = st.st_mode, .uid = st.st_uid, .gid = st.st_gid,
				  .size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0};
	char target[4096];
	if (S_ISLNK(st.st_mode)) {
		ssize_t n = readlinkat(dirfd, name, target, sizeof target - 1);
		if (n >= 0) {
			target[n] = 0;
			e.link_target = target;
		}
	} else if (S_ISREG(st.st_mode)) {
		size_t want = hygiene_scan_wants(w->s, path, e.size);
		e.data_len = want ? read_head(dirfd, name, want, &w->buf, &w->cap) : 0;
		e.data = w->buf;
	}
	hygiene_scan_entry(w->s, &e);
	if (!S_ISDIR(st.st_mode) || st.st_dev != w->dev)
		return;
	if (depth >= MAX_DEPTH) {
		w->failed = error("hygiene: %s: directories nested deeper than %d", path, MAX_DEPTH);
		return;
	}
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		w->failed = error_errno("hygiene: cannot read the directory %s", path);
		return;
	}
	walk_dir(w, fd, path, depth + 1);
}

/* Takes ownership of dirfd. */
static void walk_dir(struct tree_walk *w, int dirfd, const char *path, int depth)
{
	DIR *d = fdopendir(dirfd);
	if (!d) {
		close(dirfd);
		w->failed = error_errno("hygiene: cannot read the directory %s", path);
		return;
	}
	size_t n;
	char **names = sorted_names(d, &n);
	for (size_t i = 0; i < n; i++) {
		char *child = xasprintf("%s/%s", strcmp(path, "/") ? path : "", names[i]);
		visit(w, dirfd, names[i], child, depth);
		free(child);
		free(names[i]);
	}
	free(names);
	closedir(d);
}

int hygiene_scan_tree(struct hygiene_scan *s, const char *rootdir)
{
	struct stat st;
	int fd = open(rootdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return error_errno("hygiene: cannot open the image root %s", rootdir);
	}
	struct tree_walk w = {.s = s, .dev = st.st_dev};
	walk_dir(&w, fd, "/", 0);
	free(w.buf);
	return w.failed ? -1 : 0;
}

/* "./etc//passwd/" -> "/etc/passwd"; "." -> "/". Refuses ".." parts (NULL). */
static char *image_path(const char *name)
{
	struct strbuf sb = STRBUF_INIT;
	for (const char *p = name; *p;) {
		while (*p == '/')
			p++;
		size_t n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			strbuf_release(&sb);
			return NULL;
		}
		if (n && !(n == 1 && p[0] == '.')) {
			strbuf_addc(&sb, '/');
			strbuf_add(&sb, p, n);
		}
		p += n;
	}
	if (!sb.len)
		strbuf_addc(&sb, '/');
	return strbuf_detach(&sb);
}

static size_t read_entry_data(struct archive *a, size_t want, unsigned char **buf, size_t *cap)
{
	if (want > *cap) {
		*buf = xrealloc(*buf, want);
		*cap = want;
	}
	size_t got = 0;
	while (got < want) {
		la_ssize_t n = archive_read_data(a, *buf + got, want - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

static void tar_entry(struct hygiene_scan *s, struct archive *a, struct archive_entry *ae, unsigned char **buf,
		      size_t *cap)
{
	const char *name = archive_entry_pathname(ae);
	char *path = name ? image_path(name) : NULL;
	if (!path)
		return;
	const char *hardlink = archive_entry_hardlink(ae);
	mode_t mode = archive_entry_mode(ae);
	if (hardlink)
		mode = (mode & 07777) | S_IFREG;
	struct hygiene_entry e = {.path = path, .mode = mode, .uid = (uid_t)archive_entry_uid(ae),
				  .gid = (gid_t)archive_entry_gid(ae),
				  .size = archive_entry_size(ae) > 0 ? (uint64_t)archive_entry_size(ae) : 0,
				  .link_target = S_ISLNK(mode) ? archive_entry_symlink(ae) : NULL};
	if (S_ISREG(mode) && !hardlink) {
		size_t want = hygiene_scan_wants(s, path, e.size);
		e.data_len = want ? read_entry_data(a, want, buf, cap) : 0;
		e.data = *buf;
	}
	hygiene_scan_entry(s, &e);
	free(path);
}

int hygiene_scan_tar_fd(struct hygiene_scan *s, int fd)
{
	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	archive_read_support_filter_none(a);
	unsigned char *buf = NULL;
	size_t cap = 0;
	int rc = 0;
	if (archive_read_open_fd(a, fd, 1 << 16) != ARCHIVE_OK) {
		rc = error("hygiene: cannot read the image's file list: %s", archive_error_string(a));
	} else {
		struct archive_entry *ae;
		int r;
		while ((r = archive_read_next_header(a, &ae)) == ARCHIVE_OK || r == ARCHIVE_WARN)
			tar_entry(s, a, ae, &buf, &cap);
		if (r != ARCHIVE_EOF)
			rc = error("hygiene: the image's file list is damaged: %s", archive_error_string(a));
	}
	archive_read_free(a);
	free(buf);
	return rc;
}
