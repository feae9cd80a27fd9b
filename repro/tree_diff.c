/* repro/tree_diff.c: entry-by-entry comparison of two root trees, with the package behind each difference.
 *
 * Both trees are walked in name order together. Which Debian package put
 * a path there comes from the first tree's /var/lib/dpkg/info/ *.list
 * files (dpkg's own record), read once into a sorted table; a path no
 * package lists was written by apkg, by a `run` step or by a maintainer
 * script, and the report says so.
 */
#include "repro/compare.h"

#include "util/diag.h"
#include "util/io.h"
#include "util/sha256.h"
#include "util/strbuf.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define MAX_DEPTH 256

struct owner {
	char *path;
	char *package;
};

struct owners {
	struct owner *v;
	size_t n, cap;
};

static int cmp_owner(const void *a, const void *b)
{
	return strcmp(((const struct owner *)a)->path, ((const struct owner *)b)->path);
}

static void load_owners(const char *root, struct owners *o)
{
	char *dir = path_join(root, "var/lib/dpkg/info");
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n < 6 || strcmp(de->d_name + n - 5, ".list"))
			continue;
		char *path = path_join(dir, de->d_name);
		struct strbuf sb = STRBUF_INIT;
		if (read_file(path, &sb, 64u << 20) == 0) {
			char *save = NULL;
			for (char *l = strtok_r(sb.buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
				if (o->n == o->cap)
					o->v = xrealloc(o->v, (o->cap = o->cap ? 2 * o->cap : 4096) * sizeof *o->v);
				o->v[o->n++] = (struct owner){xstrdup(l), strndup(de->d_name, n - 5)};
			}
		}
		strbuf_release(&sb);
		free(path);
	}
	if (d)
		closedir(d);
	free(dir);
	if (o->n)
		qsort(o->v, o->n, sizeof *o->v, cmp_owner);
}

static void free_owners(struct owners *o)
{
	for (size_t i = 0; i < o->n; i++) {
		free(o->v[i].path);
		free(o->v[i].package);
	}
	free(o->v);
}

static const char *owner_of(const struct owners *o, const char *abs_path)
{
	struct owner key = {.path = (char *)abs_path};
	const struct owner *hit = o->n ? bsearch(&key, o->v, o->n, sizeof *o->v, cmp_owner) : NULL;
	return hit ? hit->package : NULL;
}

/* ---- one entry ---- */

static int file_digest(int dfd, const char *name, char hex[65])
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct sha256 s;
	sha256_init(&s);
	char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) > 0)
		sha256_update(&s, buf, (size_t)n);
	close(fd);
	uint8_t d[32];
	sha256_final(&s, d);
	sha256_hex(d, hex);
	return n < 0 ? -1 : 0;
}

static void xattr_digest(int dfd, const char *name, char hex[65])
{
	char *proc = xasprintf("/proc/self/fd/%d/%s", dfd, name), names[65536], value[65536];
	ssize_t n = llistxattr(proc, names, sizeof names);
	/* llistxattr's order is the file system's: combining the digests of
	 * each name and value by XOR makes the result independent of it. */
	uint8_t acc[32] = {0};
	for (ssize_t i = 0; n > 0 && i < n; i += (ssize_t)strlen(names + i) + 1) {
		struct sha256 e;
		uint8_t d[32];
		sha256_init(&e);
		sha256_update(&e, names + i, strlen(names + i) + 1);
		ssize_t vn = lgetxattr(proc, names + i, value, sizeof value);
		if (vn > 0)
			sha256_update(&e, value, (size_t)vn);
		sha256_final(&e, d);
		for (int k = 0; k < 32; k++)
			acc[k] ^= d[k];
	}
	sha256_hex(acc, hex);
	free(proc);
}

/* The attributes that differ, comma-separated; empty when none. */
static void entry_difference(int da, int db, const char *name, const struct stat *x, const struct stat *y,
			     struct strbuf *what)
{
#define DIFF(cond, label) \
	if (cond)         \
	strbuf_addf(what, "%s%s", what->len ? ", " : "", label)
	DIFF((x->st_mode & S_IFMT) != (y->st_mode & S_IFMT), "type");
	DIFF((x->st_mode & 07777) != (y->st_mode & 07777), "mode");
	DIFF(x->st_uid != y->st_uid || x->st_gid != y->st_gid, "owner");
	DIFF(x->st_mtim.tv_sec != y->st_mtim.tv_sec || x->st_mtim.tv_nsec != y->st_mtim.tv_nsec, "modification time");
	DIFF(!S_ISDIR(x->st_mode) && x->st_nlink != y->st_nlink, "hard-link count");
	DIFF((S_ISCHR(x->st_mode) || S_ISBLK(x->st_mode)) && x->st_rdev != y->st_rdev, "device number");
	if ((x->st_mode & S_IFMT) != (y->st_mode & S_IFMT))
		return;
	if (S_ISREG(x->st_mode)) {
		char ha[65] = "", hb[65] = "";
		DIFF(x->st_size != y->st_size || file_digest(da, name, ha) < 0 || file_digest(db, name, hb) < 0 ||
			     strcmp(ha, hb),
		     "content");
	} else if (S_ISLNK(x->st_mode)) {
		char ta[4096], tb[4096];
		ssize_t na = readlinkat(da, name, ta, sizeof ta), nb = readlinkat(db, name, tb, sizeof tb);
		DIFF(na != nb || na < 0 || memcmp(ta, tb, (size_t)na), "link target");
	}
	char xa[65], xb[65];
	xattr_digest(da, name, xa);
	xattr_digest(db, name, xb);
	DIFF(strcmp(xa, xb), "extended attributes");
#undef DIFF
}

/* ---- walking both trees ---- */

struct walk {
	const struct owners *owners;
	size_t max, differ;
	struct strbuf *report;
};

static void report_entry(struct walk *w, const char *path, const char *what)
{
	if (w->differ++ >= w->max)
		return;
	const char *pkg = w->owners->n ? owner_of(w->owners, path) : NULL;
	strbuf_addf(w->report, "    %s: %s", path, what);
	if (pkg)
		strbuf_addf(w->report, " (from package %s: it does not build reproducibly)", pkg);
	else if (w->owners->n)
		strbuf_adds(w->report, " (no package owns it: made by apkg, a run step or a maintainer script)");
	strbuf_addc(w->report, '\n');
}

static void walk(struct walk *w, int da, int db, const char *rel, int depth)
{
	size_t na = 0, nb = 0, i = 0, j = 0;
	char **va = dir_names_at(da, &na), **vb = dir_names_at(db, &nb);
	while (i < na || j < nb) {
		int c = i >= na ? 1 : j >= nb ? -1 : strcmp(va[i], vb[j]);
		char *path = xasprintf("%s/%s", rel, c <= 0 ? va[i] : vb[j]);
		if (c) {
			report_entry(w, path, c < 0 ? "only in the first build" : "only in the second build");
		} else {
			struct stat x, y;
			struct strbuf what = STRBUF_INIT;
			if (fstatat(da, va[i], &x, AT_SYMLINK_NOFOLLOW) == 0 && fstatat(db, vb[j], &y, AT_SYMLINK_NOFOLLOW) == 0) {
				entry_difference(da, db, va[i], &x, &y, &what);
				if (what.len)
					report_entry(w, path, what.buf);
				if (S_ISDIR(x.st_mode) && S_ISDIR(y.st_mode) && depth < MAX_DEPTH) {
					int sa = openat(da, va[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
					int sb = openat(db, vb[j], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
					if (sa >= 0 && sb >= 0)
						walk(w, sa, sb, path, depth + 1);
					if (sa >= 0)
						close(sa);
					if (sb >= 0)
						close(sb);
				}
			}
			strbuf_release(&what);
		}
		free(path);
		if (c <= 0)
			i++;
		if (c >= 0)
			j++;
	}
	free_names(va, na);
	free_names(vb, nb);
}

int repro_compare_trees(const char *a, const char *b, size_t max, struct strbuf *report)
{
	int da = open(a, O_RDONLY | O_DIRECTORY | O_CLOEXEC), db = open(b, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (da < 0 || db < 0) {
		if (da >= 0)
			close(da);
		if (db >= 0)
			close(db);
		return error_errno("cannot open the root trees %s and %s", a, b);
	}
	struct owners owners = {0};
	load_owners(a, &owners);
	struct walk w = {.owners = &owners, .max = max, .report = report};
	walk(&w, da, db, "", 0);
	if (w.differ > max)
		strbuf_addf(report, "    ... and %zu more\n", w.differ - max);
	free_owners(&owners);
	close(da);
	close(db);
	return (int)w.differ;
}
