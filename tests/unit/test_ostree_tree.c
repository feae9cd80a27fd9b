/* tests/unit/test_ostree_tree.c: trees through OSTree and back, exactly; tree metadata blobs; the stage cache.
 *
 * The oracle is the file system itself: every entry of the original tree
 * and of the checkout is lstat()ed and compared field by field (type, mode,
 * owner, size, modification time to the nanosecond, device number, link
 * count), with content, link targets and xattrs. Owners, device nodes and
 * trusted.* xattrs need root; without it those entries are left out.
 */
#include "builder/ostree_tree.h"
#include "builder/stage_cache.h"
#include "builder/tree_meta.h"
#include "util/io.h"
#include "util/strbuf.h"

#include "test.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

static char base[64];
static int is_root;

static char *at(const char *rel) { return xasprintf("%s/%s", base, rel); }

static void put(const char *rel, const char *content, mode_t mode, long long sec, long nsec)
{
	char *p = at(rel);
	CHECK(write_file_atomic(p, content, strlen(content), mode) == 0);
	chmod(p, mode);
	struct timespec ts[2] = {{sec, nsec}, {sec, nsec}};
	CHECK(utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW) == 0);
	free(p);
}

static void set_time(const char *rel, long long sec, long nsec)
{
	char *p = at(rel);
	struct timespec ts[2] = {{sec, nsec}, {sec, nsec}};
	CHECK(utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW) == 0);
	free(p);
}

/* A tree with what OSTree keeps and what only tree_meta keeps. */
static void make_tree(const char *rel)
{
	char *root = at(rel);
	CHECK(mkdir_p(root, 0755) == 0);
	char *d = xasprintf("%s/%s/dir", base, rel), *t = xasprintf("%s/%s/tmp", base, rel);
	CHECK(mkdir_p(d, 0750) == 0);
	CHECK(mkdir_p(t, 0755) == 0);
	chmod(t, 01777);
#define R(x) (snprintf(buf, sizeof buf, "%s/%s", rel, x), buf)
	char buf[256];
	put(R("dir/file"), "hello world\n", 0644, 1600000000, 123456789);
	put(R("dir/empty"), "", 0600, 1500000000, 0);
	put(R("dup1"), "same bytes\n", 0644, 1400000000, 1);
	put(R("dup2"), "same bytes\n", 0644, 1400000002, 2); /* one OSTree object, two times */
	put(R("suid"), "#!/bin/sh\n", 04755, 1300000000, 0);
	put(R("hard1"), "linked\n", 0644, 1200000000, 5);
	char *h1 = at(R("hard1")), *h2 = at(R("hard2")), *l = at(R("dir/link"));
	CHECK(link(h1, h2) == 0);
	CHECK(symlink("file", l) == 0);
	set_time(R("dir/link"), 1100000000, 7);
	char *fifo = at(R("fifo"));
	CHECK(mkfifo(fifo, 0640) == 0);
	set_time(R("fifo"), 1000000000, 0);
	char *f = at(R("dir/file"));
	CHECK(setxattr(f, "user.apkg", "value", 5, 0) == 0);
	if (is_root) {
		char *dev = at(R("null"));
		CHECK(mknod(dev, S_IFCHR | 0666, makedev(1, 3)) == 0);
		CHECK(lchown(dev, 0, 5) == 0);
		set_time(R("null"), 900000000, 0);
		char *s = at(R("suid"));
		CHECK(chown(s, 1234, 5678) == 0);
		CHECK(chmod(s, 04755) == 0); /* chown cleared the set-uid bit */
		set_time(R("suid"), 1300000000, 0);
		CHECK(setxattr(f, "trusted.apkg", "t", 1, 0) == 0);
		CHECK(lchown(l, 33, 33) == 0);
		set_time(R("dir/link"), 1100000000, 7);
		free(dev);
		free(s);
	}
	set_time(R("dir"), 1700000000, 0);
	set_time(R("tmp"), 1700000001, 0);
	set_time(rel, 1700000002, 3);
#undef R
	free(root);
	free(d);
	free(t);
	free(h1);
	free(h2);
	free(l);
	free(fifo);
	free(f);
}

static void xattrs_of(const char *path, struct strbuf *out)
{
	char names[4096], value[4096];
	ssize_t n = llistxattr(path, names, sizeof names);
	char *list[64];
	int count = 0;
	for (ssize_t i = 0; n > 0 && i < n && count < 64; i += (ssize_t)strlen(names + i) + 1)
		list[count++] = names + i;
	for (int i = 0; i < count; i++)
		for (int j = i + 1; j < count; j++)
			if (strcmp(list[j], list[i]) < 0) {
				char *x = list[i];
				list[i] = list[j];
				list[j] = x;
			}
	for (int i = 0; i < count; i++) {
		ssize_t vn = lgetxattr(path, list[i], value, sizeof value);
		strbuf_addf(out, "%s=%.*s;", list[i], (int)(vn > 0 ? vn : 0), value);
	}
}

/* Differences between two trees, each printed. */
static int tree_diff(const char *a, const char *b, const char *rel)
{
	char *pa = *rel ? xasprintf("%s/%s", a, rel) : xstrdup(a), *pb = *rel ? xasprintf("%s/%s", b, rel) : xstrdup(b);
	struct stat x, y;
	int d = 0;
	if (lstat(pa, &x) < 0 || lstat(pb, &y) < 0) {
		fprintf(stderr, "  /%s: missing in one tree\n", rel);
		d = 1;
		goto out;
	}
	struct strbuf xa = STRBUF_INIT, xb = STRBUF_INIT, ca = STRBUF_INIT, cb = STRBUF_INIT;
	xattrs_of(pa, &xa);
	xattrs_of(pb, &xb);
	if (S_ISREG(x.st_mode)) {
		read_file(pa, &ca, 1 << 20);
		read_file(pb, &cb, 1 << 20);
	} else if (S_ISLNK(x.st_mode)) {
		char t[256];
		ssize_t n = readlink(pa, t, sizeof t);
		strbuf_add(&ca, t, n > 0 ? (size_t)n : 0);
		n = readlink(pb, t, sizeof t);
		strbuf_add(&cb, t, n > 0 ? (size_t)n : 0);
	}
	if (x.st_mode != y.st_mode || x.st_uid != y.st_uid || x.st_gid != y.st_gid || x.st_size != y.st_size ||
	    x.st_mtim.tv_sec != y.st_mtim.tv_sec || x.st_mtim.tv_nsec != y.st_mtim.tv_nsec || x.st_rdev != y.st_rdev ||
	    (!S_ISDIR(x.st_mode) && x.st_nlink != y.st_nlink) || strcmp(xa.buf, xb.buf) || ca.len != cb.len ||
	    memcmp(ca.buf, cb.buf, ca.len)) {
		fprintf(stderr, "  /%s: mode %o/%o owner %d:%d/%d:%d mtime %lld.%09ld/%lld.%09ld links %lu/%lu xattrs %s/%s\n",
			rel, x.st_mode, y.st_mode, x.st_uid, x.st_gid, y.st_uid, y.st_gid, (long long)x.st_mtim.tv_sec,
			x.st_mtim.tv_nsec, (long long)y.st_mtim.tv_sec, y.st_mtim.tv_nsec, (unsigned long)x.st_nlink,
			(unsigned long)y.st_nlink, xa.buf, xb.buf);
		d = 1;
	}
	strbuf_release(&xa);
	strbuf_release(&xb);
	strbuf_release(&ca);
	strbuf_release(&cb);
	if (S_ISDIR(x.st_mode) && S_ISDIR(y.st_mode)) {
		struct dirent **la, **lb;
		int na = scandir(pa, &la, NULL, alphasort), nb = scandir(pb, &lb, NULL, alphasort);
		if (na != nb) {
			fprintf(stderr, "  /%s: %d entries vs %d\n", rel, na, nb);
			d = 1;
		}
		for (int i = 0; i < na && i < nb; i++) {
			if (strcmp(la[i]->d_name, ".") && strcmp(la[i]->d_name, "..")) {
				char *child = *rel ? xasprintf("%s/%s", rel, la[i]->d_name) : xstrdup(la[i]->d_name);
				d += tree_diff(a, b, child);
				free(child);
			}
		}
		for (int i = 0; i < na; i++)
			free(la[i]);
		for (int i = 0; i < nb; i++)
			free(lb[i]);
		free(la);
		free(lb);
	}
out:
	free(pa);
	free(pb);
	return d;
}

static struct OstreeRepo *new_repo(const char *rel)
{
	char *p = at(rel);
	struct OstreeRepo *r = ostree_tree_open(p, OSTREE_TREE_BARE);
	free(p);
	return r;
}

static void test_round_trip(void)
{
	make_tree("src");
	struct OstreeRepo *repo = new_repo("repo");
	CHECK(repo != NULL);
	char *src = at("src"), *out = at("out");
	struct ostree_tree_commit_opts o = {.subject = "test", .timestamp = 1700000000};
	char c1[65], c2[65];
	CHECK(ostree_tree_commit(repo, src, &o, c1) == 0);
	CHECK(ostree_tree_commit(repo, src, &o, c2) == 0);
	CHECK_STR(c1, c2); /* the same tree and time give the same commit */
	CHECK(ostree_tree_checkout(repo, c1, out) == 0);
	CHECK(tree_diff(src, out, "") == 0);
	char *why = NULL;
	CHECK(ostree_tree_verify(repo, c1, &why) == 0);
	CHECK(why == NULL);
	ostree_tree_close(repo);
	free(src);
	free(out);
}

/* A snapshot lets a commit read only what changed; the result is the commit
 * a full read gives. */
static void test_incremental_commit(void)
{
	struct OstreeRepo *repo = new_repo("repo");
	char *src = at("src"), *work = at("work");
	struct ostree_tree_commit_opts o = {.subject = "base", .timestamp = 1700000000};
	char c1[65], incr[65], full[65];
	CHECK(ostree_tree_commit(repo, src, &o, c1) == 0);
	CHECK(ostree_tree_checkout(repo, c1, work) == 0);
	struct tree_snapshot *snap = ostree_tree_snapshot(work, c1);
	CHECK(snap != NULL);
	/* Changes of every kind: content, mode, xattr, new, removed, type. */
	char *f = at("work/dir/file"), *s = at("work/suid"), *dup = at("work/dup2"), *tmp = at("work/tmp");
	CHECK(write_file_atomic(f, "changed\n", 8, 0644) == 0);
	CHECK(chmod(s, 0700) == 0);
	CHECK(unlink(dup) == 0);
	CHECK(rmdir(tmp) == 0);
	CHECK(write_file_atomic(tmp, "now a file\n", 11, 0600) == 0);
	char *n = at("work/dir/new");
	CHECK(write_file_atomic(n, "new\n", 4, 0644) == 0);
	char *e = at("work/dir/empty");
	CHECK(setxattr(e, "user.added", "1", 1, 0) == 0);
	struct ostree_tree_commit_opts oi = {.subject = "next", .timestamp = 1700000000, .base = snap};
	struct ostree_tree_commit_opts of = {.subject = "next", .timestamp = 1700000000};
	CHECK(ostree_tree_commit(repo, work, &oi, incr) == 0);
	CHECK(ostree_tree_commit(repo, work, &of, full) == 0);
	CHECK_STR(incr, full);
	char *back = at("back");
	CHECK(ostree_tree_checkout(repo, incr, back) == 0);
	CHECK(tree_diff(work, back, "") == 0);
	ostree_tree_snapshot_free(snap);
	ostree_tree_close(repo);
	free(src);
	free(work);
	free(f);
	free(s);
	free(dup);
	free(tmp);
	free(n);
	free(e);
	free(back);
}

/* The regular-file object holding exactly content (bare repositories keep
 * objects as plain files). */
static char *find_object(const char *repo, const char *content)
{
	char *objects = xasprintf("%s/objects", repo), *found = NULL;
	DIR *d = opendir(objects);
	struct dirent *de;
	while (d && !found && (de = readdir(d))) {
		if (strlen(de->d_name) != 2)
			continue;
		char *sub = xasprintf("%s/%s", objects, de->d_name);
		DIR *s = opendir(sub);
		struct dirent *fe;
		while (s && !found && (fe = readdir(s))) {
			char *p = xasprintf("%s/%s", sub, fe->d_name);
			struct strbuf sb = STRBUF_INIT;
			struct stat st;
			if (strstr(fe->d_name, ".file") && lstat(p, &st) == 0 && S_ISREG(st.st_mode) &&
			    read_file(p, &sb, 1 << 20) == 0 && sb.len == strlen(content) && !memcmp(sb.buf, content, sb.len))
				found = xstrdup(p);
			strbuf_release(&sb);
			free(p);
		}
		if (s)
			closedir(s);
		free(sub);
	}
	if (d)
		closedir(d);
	free(objects);
	return found;
}

static void test_verify_finds_corruption(void)
{
	char *repo_path = at("repo-corrupt"), *src = at("src");
	struct OstreeRepo *repo = ostree_tree_open(repo_path, OSTREE_TREE_BARE);
	struct ostree_tree_commit_opts o = {.subject = "x", .timestamp = 1};
	char c[65], c2[65];
	CHECK(ostree_tree_commit(repo, src, &o, c) == 0);
	char *obj = find_object(repo_path, "hello world\n");
	CHECK(obj != NULL);
	if (obj) {
		int fd = open(obj, O_WRONLY);
		CHECK(fd >= 0 && pwrite(fd, "J", 1, 0) == 1);
		close(fd);
	}
	char *why = NULL;
	CHECK(ostree_tree_verify(repo, c, &why) == 1);
	CHECK(why && strstr(why, ".file"));
	free(why);
	why = NULL;
	CHECK(obj && access(obj, F_OK) != 0); /* the corrupt object is gone */
	/* Committing the tree again writes it afresh: sound again. */
	CHECK(ostree_tree_commit(repo, src, &o, c2) == 0);
	CHECK_STR(c, c2);
	CHECK(ostree_tree_verify(repo, c, &why) == 0);
	/* A missing object is caught the same way. */
	free(obj);
	obj = find_object(repo_path, "linked\n");
	CHECK(obj && unlink(obj) == 0);
	CHECK(ostree_tree_verify(repo, c, &why) == 1);
	free(why);
	ostree_tree_close(repo);
	free(obj);
	free(repo_path);
	free(src);
}

static void test_stage_cache(void)
{
	char *dir = at("cache"), *src = at("src"), *out = at("stage-out"), *why = NULL, commit[65];
	struct stage_cache *sc = stage_cache_open(dir, &why);
	if (!is_root) {
		CHECK(sc == NULL && why && strstr(why, "root"));
		free(why);
		free(dir);
		free(src);
		free(out);
		return;
	}
	CHECK(sc != NULL);
	CHECK(stage_cache_restore(sc, "base", "k1", out, commit) == 0); /* a miss */
	CHECK(stage_cache_store(sc, "base", "k1", src, "test: base", NULL, commit) == 0);
	CHECK(stage_cache_restore(sc, "base", "k1", out, commit) == 1);
	CHECK(tree_diff(src, out, "") == 0);
	struct stage_entry *v;
	size_t n;
	CHECK(stage_cache_list(sc, &v, &n) == 0);
	CHECK(n == 1 && !strcmp(v[0].stage, "base") && !strcmp(v[0].key, "k1") && !strcmp(v[0].subject, "test: base"));
	CHECK(n == 1 && stage_cache_drop(sc, &v[0]) == 0);
	stage_entries_free(v, n);
	uint64_t objects = 0, bytes = 0;
	CHECK(stage_cache_prune(sc, &objects, &bytes) == 0);
	CHECK(objects > 0);
	rm_rf(out);
	CHECK(stage_cache_restore(sc, "base", "k1", out, commit) == 0);
	stage_cache_close(sc);
	free(dir);
	free(src);
	free(out);
}

/* ---- the blob parser refuses what it cannot trust, before changing anything ---- */

static int count_records(const struct tree_meta_record *r, void *ctx)
{
	(void)r;
	(*(int *)ctx)++;
	return 0;
}

static void blob(struct strbuf *sb, char kind, const char *path, size_t extra, const char *extra_bytes)
{
	strbuf_addc(sb, kind);
	uint16_t n = (uint16_t)strlen(path);
	strbuf_addc(sb, (char)(n & 0xff));
	strbuf_addc(sb, (char)(n >> 8));
	strbuf_adds(sb, path);
	strbuf_add(sb, extra_bytes, extra);
}

static void test_blob_parser(void)
{
	static const char zero12[12] = {0};
	const char *why = NULL;
	int count = 0;
	struct strbuf sb = STRBUF_INIT;
	strbuf_adds(&sb, "APKGTM1\n");
	blob(&sb, 'T', "etc/passwd", 12, zero12);
	CHECK(tree_meta_parse(sb.buf, sb.len, count_records, &count, &why) == 0 && count == 1);
	CHECK(tree_meta_parse(sb.buf, sb.len - 1, NULL, NULL, &why) < 0); /* truncated */
	CHECK(tree_meta_parse("APKGTM2\n", 8, NULL, NULL, &why) < 0);   /* bad magic */
	static const char *const bad_paths[] = {"/etc", "../x", "a/../b", "a//b", "a/", ".", "a/./b"};
	for (size_t i = 0; i < sizeof bad_paths / sizeof *bad_paths; i++) {
		struct strbuf b = STRBUF_INIT;
		strbuf_adds(&b, "APKGTM1\n");
		blob(&b, 'T', bad_paths[i], 12, zero12);
		CHECK(tree_meta_parse(b.buf, b.len, NULL, NULL, &why) < 0);
		strbuf_release(&b);
	}
	struct strbuf nsec = STRBUF_INIT; /* nanoseconds must be below 10^9 */
	strbuf_adds(&nsec, "APKGTM1\n");
	blob(&nsec, 'T', "x", 12, "\0\0\0\0\0\0\0\0\xff\xff\xff\xff");
	CHECK(tree_meta_parse(nsec.buf, nsec.len, NULL, NULL, &why) < 0);
	struct strbuf special = STRBUF_INIT; /* a "special" file that is a regular file */
	strbuf_adds(&special, "APKGTM1\n");
	blob(&special, 'S', "x", 20, "\xa4\x81\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
	CHECK(tree_meta_parse(special.buf, special.len, NULL, NULL, &why) < 0);
	/* Nothing is applied from a blob that is refused. */
	char *dir = at("untouched");
	CHECK(mkdir_p(dir, 0755) == 0);
	struct stat before, after;
	stat(dir, &before);
	struct strbuf mixed = STRBUF_INIT;
	strbuf_adds(&mixed, "APKGTM1\n");
	blob(&mixed, 'T', "", 12, zero12);
	blob(&mixed, 'T', "../escape", 12, zero12);
	CHECK(tree_meta_apply(dir, mixed.buf, mixed.len) < 0);
	stat(dir, &after);
	CHECK(before.st_mtim.tv_sec == after.st_mtim.tv_sec);
	strbuf_release(&sb);
	strbuf_release(&nsec);
	strbuf_release(&special);
	strbuf_release(&mixed);
	free(dir);
}

int main(void)
{
	is_root = geteuid() == 0;
	strcpy(base, "/tmp/apkg-test-ostree.XXXXXX");
	if (!mkdtemp(base))
		return 1;
	RUN(test_round_trip);
	RUN(test_incremental_commit);
	RUN(test_verify_finds_corruption);
	RUN(test_stage_cache);
	RUN(test_blob_parser);
	rm_rf(base);
	TEST_MAIN_END();
}
