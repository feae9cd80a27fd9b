/* builder/tree_meta.c: record and restore modification times, hard links and special files.
 *
 * Blob layout (little-endian), after the 8-byte magic "APKGTM1\n":
 *   'T' u16 n, path[n], i64 sec, u32 nsec             every entry, the root as ""
 *   'L' u16 n, path[n], u16 m, target[m]              path is a hard link of target
 *   'S' u16 n, path[n], u32 mode, u32 uid, u32 gid, u64 rdev
 * Paths are relative to the root: no leading '/', no empty, "." or ".."
 * components, no NUL. Records come in walk order (names sorted with
 * strcmp, parents before children), so equal trees give equal blobs.
 */
#include "builder/tree_meta.h"

#include "builder/imgroot.h"
#include "util/io.h"
#include "util/diag.h"
#include "util/strbuf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define MAGIC "APKGTM1\n"
#define MAGIC_LEN 8
#define MAX_PATH_LEN 4095
#define MAX_DEPTH 256

int tree_meta_is_special(mode_t mode)
{
	return S_ISCHR(mode) || S_ISBLK(mode) || S_ISFIFO(mode) || S_ISSOCK(mode);
}

/* ---- encoding ---- */

static void put_u16(struct strbuf *sb, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
	strbuf_add(sb, b, 2);
}

static void put_u32(struct strbuf *sb, uint32_t v)
{
	uint8_t b[4];
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	strbuf_add(sb, b, 4);
}

static void put_u64(struct strbuf *sb, uint64_t v)
{
	put_u32(sb, (uint32_t)v);
	put_u32(sb, (uint32_t)(v >> 32));
}

static void put_path(struct strbuf *sb, const char *p)
{
	size_t n = strlen(p);
	put_u16(sb, (uint16_t)n);
	strbuf_add(sb, p, n);
}

/* ---- collecting ---- */

struct inode_name {
	dev_t dev;
	ino_t ino;
	size_t order; /* walk position: the first name is the one the others link to */
	char *path;
};

struct collector {
	struct strbuf *out;
	struct strbuf specials;
	struct inode_name *multi; /* non-directories with more than one name */
	size_t n_multi, cap_multi;
	size_t order;
	struct tree_meta_counts counts;
};

static void record_entry(struct collector *c, const char *rel, const struct stat *st)
{
	strbuf_addc(c->out, TREE_META_TIME);
	put_path(c->out, rel);
	put_u64(c->out, (uint64_t)(int64_t)st->st_mtim.tv_sec);
	put_u32(c->out, (uint32_t)st->st_mtim.tv_nsec);
	c->counts.times++;
	if (tree_meta_is_special(st->st_mode)) {
		strbuf_addc(&c->specials, TREE_META_SPECIAL);
		put_path(&c->specials, rel);
		put_u32(&c->specials, (uint32_t)st->st_mode);
		put_u32(&c->specials, (uint32_t)st->st_uid);
		put_u32(&c->specials, (uint32_t)st->st_gid);
		put_u64(&c->specials, (uint64_t)st->st_rdev);
		c->counts.specials++;
	} else if (!S_ISDIR(st->st_mode) && st->st_nlink > 1) {
		if (c->n_multi == c->cap_multi)
			c->multi = xrealloc(c->multi, (c->cap_multi = c->cap_multi ? 2 * c->cap_multi : 64) * sizeof *c->multi);
		c->multi[c->n_multi++] = (struct inode_name){st->st_dev, st->st_ino, c->order, xstrdup(rel)};
	}
	c->order++;
}

static int walk_dir(struct collector *c, int dfd, const char *rel, int depth)
{
	if (depth > MAX_DEPTH)
		return error("%s: directories nested too deep", rel);
	size_t n;
	char **names = dir_names_at(dfd, &n);
	if (!names)
		return error_errno("cannot list %s", *rel ? rel : "/");
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		char *child = *rel ? xasprintf("%s/%s", rel, names[i]) : xstrdup(names[i]);
		struct stat st;
		if (rc == 0 && strlen(child) > MAX_PATH_LEN)
			rc = error("%s: path too long", child);
		if (rc == 0 && fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
			rc = error_errno("cannot stat %s", child);
		if (rc == 0) {
			record_entry(c, child, &st);
			if (S_ISDIR(st.st_mode)) {
				int sub = openat(dfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				rc = sub < 0 ? error_errno("cannot open %s", child) : walk_dir(c, sub, child, depth + 1);
				if (sub >= 0)
					close(sub);
			}
		}
		free(child);
	}
	free_names(names, n);
	return rc;
}

static int cmp_inode(const void *a, const void *b)
{
	const struct inode_name *x = a, *y = b;
	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int cmp_link_path(const void *a, const void *b)
{
	return strcmp(((const struct inode_name *)a)->path, ((const struct inode_name *)b)->path);
}

/* 'L' records, sorted by path: each later name of an inode links to its first name. */
static void emit_links(struct collector *c)
{
	qsort(c->multi, c->n_multi, sizeof *c->multi, cmp_inode);
	struct inode_name *links = xcalloc(c->n_multi ? c->n_multi : 1, sizeof *links);
	size_t n_links = 0;
	for (size_t i = 0, first = 0; i < c->n_multi; i++) {
		if (i == 0 || c->multi[i].dev != c->multi[first].dev || c->multi[i].ino != c->multi[first].ino)
			first = i;
		else
			links[n_links++] = (struct inode_name){.path = c->multi[i].path, .order = first};
	}
	qsort(links, n_links, sizeof *links, cmp_link_path);
	for (size_t i = 0; i < n_links; i++) {
		strbuf_addc(c->out, TREE_META_LINK);
		put_path(c->out, links[i].path);
		put_path(c->out, c->multi[links[i].order].path);
	}
	c->counts.links = n_links;
	free(links);
}

int tree_meta_collect(const char *rootdir, struct strbuf *out, struct tree_meta_counts *counts)
{
	struct collector c = {.out = out};
	strbuf_init(&c.specials);
	int dfd = open(rootdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return error_errno("cannot open %s", rootdir);
	struct stat st;
	int rc = fstat(dfd, &st) < 0 ? error_errno("cannot stat %s", rootdir) : 0;
	strbuf_add(out, MAGIC, MAGIC_LEN);
	if (rc == 0) {
		record_entry(&c, "", &st);
		rc = walk_dir(&c, dfd, "", 0);
	}
	close(dfd);
	if (rc == 0) {
		emit_links(&c);
		strbuf_add(out, c.specials.buf, c.specials.len);
		if (counts)
			*counts = c.counts;
	}
	for (size_t i = 0; i < c.n_multi; i++)
		free(c.multi[i].path);
	free(c.multi);
	strbuf_release(&c.specials);
	return rc;
}

/* ---- parsing ---- */

struct reader {
	const uint8_t *p;
	size_t left;
};

static int get_bytes(struct reader *r, void *out, size_t n)
{
	if (r->left < n)
		return -1;
	memcpy(out, r->p, n);
	r->p += n;
	r->left -= n;
	return 0;
}

static int get_u16(struct reader *r, uint16_t *v)
{
	uint8_t b[2];
	if (get_bytes(r, b, 2) < 0)
		return -1;
	*v = (uint16_t)(b[0] | b[1] << 8);
	return 0;
}

static int get_u32(struct reader *r, uint32_t *v)
{
	uint8_t b[4];
	if (get_bytes(r, b, 4) < 0)
		return -1;
	*v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
	return 0;
}

static int get_u64(struct reader *r, uint64_t *v)
{
	uint32_t lo, hi;
	if (get_u32(r, &lo) < 0 || get_u32(r, &hi) < 0)
		return -1;
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

/* A relative path with only real components; "" (the root) when allow_root. */
static int valid_rel_path(const char *p, size_t n, int allow_root)
{
	if (n == 0)
		return allow_root;
	if (memchr(p, 0, n) || p[0] == '/' || p[n - 1] == '/')
		return 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && p[j] != '/')
			j++;
		size_t len = j - i;
		if (len == 0 || (len == 1 && p[i] == '.') || (len == 2 && p[i] == '.' && p[i + 1] == '.'))
			return 0;
		i = j + 1;
	}
	return 1;
}

static int get_path(struct reader *r, char *buf, int allow_root)
{
	uint16_t n;
	if (get_u16(r, &n) < 0 || n > MAX_PATH_LEN || get_bytes(r, buf, n) < 0)
		return -1;
	buf[n] = 0;
	return valid_rel_path(buf, n, allow_root) ? 0 : -1;
}

int tree_meta_parse(const void *blob, size_t len, int (*fn)(const struct tree_meta_record *rec, void *ctx),
		    void *ctx, const char **why)
{
	struct reader r = {blob, len};
	char magic[MAGIC_LEN];
	if (get_bytes(&r, magic, MAGIC_LEN) < 0 || memcmp(magic, MAGIC, MAGIC_LEN)) {
		*why = "not an apkg tree-metadata blob (bad magic)";
		return -1;
	}
	char path[MAX_PATH_LEN + 1], target[MAX_PATH_LEN + 1];
	while (r.left) {
		struct tree_meta_record rec = {.path = path};
		uint8_t kind;
		uint64_t sec = 0;
		int bad = get_bytes(&r, &kind, 1);
		rec.kind = (enum tree_meta_kind)kind;
		if (!bad && kind == TREE_META_TIME) {
			bad = get_path(&r, path, 1) || get_u64(&r, &sec) || get_u32(&r, &rec.nsec) || rec.nsec >= 1000000000u;
			rec.sec = (int64_t)sec;
		} else if (!bad && kind == TREE_META_LINK) {
			bad = get_path(&r, path, 0) || get_path(&r, target, 0) || !strcmp(path, target);
			rec.target = target;
		} else if (!bad && kind == TREE_META_SPECIAL) {
			bad = get_path(&r, path, 0) || get_u32(&r, &rec.mode) || get_u32(&r, &rec.uid) ||
			      get_u32(&r, &rec.gid) || get_u64(&r, &rec.rdev) || !tree_meta_is_special(rec.mode);
		} else {
			bad = 1;
		}
		if (bad) {
			*why = "malformed record";
			return -1;
		}
		if (fn && fn(&rec, ctx))
			return 0;
	}
	return 0;
}

/* ---- applying ---- */

struct applier {
	const char *rootdir;
	struct imgroot ir;
	enum tree_meta_kind pass;
	int failed;
};

/* The directory holding rel (O_PATH, inside the root) and rel's last component. */
static int open_parent(struct applier *a, const char *rel, char **abs, const char **base)
{
	*abs = xasprintf("/%s", rel);
	int fd = imgroot_open_parent(&a->ir, *abs, base);
	if (fd < 0)
		error_errno("%s: cannot open the directory of %s", a->rootdir, *abs);
	return fd;
}

static int apply_special(struct applier *a, const struct tree_meta_record *rec)
{
	char *abs;
	const char *base;
	int dfd = open_parent(a, rec->path, &abs, &base), rc = -1;
	if (dfd >= 0) {
		if (mknodat(dfd, base, (mode_t)rec->mode & ~07777u, (dev_t)rec->rdev) < 0)
			error_errno("cannot create the special file %s", abs);
		else if (fchownat(dfd, base, (uid_t)rec->uid, (gid_t)rec->gid, AT_SYMLINK_NOFOLLOW) < 0 ||
			 fchmodat(dfd, base, (mode_t)rec->mode & 07777u, 0) < 0)
			error_errno("cannot set the owner and mode of %s", abs);
		else
			rc = 0;
		close(dfd);
	}
	free(abs);
	return rc;
}

static int apply_link(struct applier *a, const struct tree_meta_record *rec)
{
	char *abs, *target_abs;
	const char *base, *target_base;
	int dfd = open_parent(a, rec->path, &abs, &base);
	int tfd = dfd >= 0 ? open_parent(a, rec->target, &target_abs, &target_base) : -1;
	int rc = -1;
	struct stat st, tst;
	if (tfd >= 0) {
		if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0 || fstatat(tfd, target_base, &tst, AT_SYMLINK_NOFOLLOW) < 0)
			error_errno("hard link %s -> %s: missing in the checkout", abs, target_abs);
		else if (S_ISDIR(st.st_mode) || S_ISDIR(tst.st_mode) || (st.st_mode & S_IFMT) != (tst.st_mode & S_IFMT))
			error("hard link %s -> %s: not two files of one type", abs, target_abs);
		else if (unlinkat(dfd, base, 0) < 0 || linkat(tfd, target_base, dfd, base, 0) < 0)
			error_errno("cannot link %s to %s", abs, target_abs);
		else
			rc = 0;
		close(tfd);
		free(target_abs);
	}
	if (dfd >= 0)
		close(dfd);
	free(abs);
	return rc;
}

static int apply_time(struct applier *a, const struct tree_meta_record *rec)
{
	struct timespec ts[2] = {{rec->sec, rec->nsec}, {rec->sec, rec->nsec}};
	if (!*rec->path) /* the root itself: our own host path */
		return utimensat(AT_FDCWD, a->rootdir, ts, 0) < 0 ? error_errno("cannot set the time of %s", a->rootdir) : 0;
	char *abs;
	const char *base;
	int dfd = open_parent(a, rec->path, &abs, &base), rc = -1;
	if (dfd >= 0) {
		rc = utimensat(dfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0 ? error_errno("cannot set the time of %s", abs) : 0;
		close(dfd);
	}
	free(abs);
	return rc;
}

static int apply_record(const struct tree_meta_record *rec, void *ctx)
{
	struct applier *a = ctx;
	if (rec->kind != a->pass)
		return 0;
	int rc = rec->kind == TREE_META_SPECIAL ? apply_special(a, rec)
		 : rec->kind == TREE_META_LINK  ? apply_link(a, rec)
						 : apply_time(a, rec);
	a->failed = rc < 0;
	return a->failed;
}

int tree_meta_apply(const char *rootdir, const void *blob, size_t len)
{
	const char *why = NULL;
	if (tree_meta_parse(blob, len, NULL, NULL, &why) < 0)
		return error("%s: tree metadata refused: %s", rootdir, why);
	struct applier a = {.rootdir = rootdir};
	if (imgroot_open(&a.ir, rootdir) < 0)
		return -1;
	/* Names first (special files, then links), times last: creating a name
	 * changes its directory's time. */
	static const enum tree_meta_kind passes[] = {TREE_META_SPECIAL, TREE_META_LINK, TREE_META_TIME};
	for (size_t i = 0; i < 3 && !a.failed; i++) {
		a.pass = passes[i];
		tree_meta_parse(blob, len, apply_record, &a, &why);
	}
	imgroot_close(&a.ir);
	return a.failed ? -1 : 0;
}
