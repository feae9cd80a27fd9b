/* builder/ostree_tree.c: commit, check out and verify root trees with libostree.
 *
 * The only file besides builder/stage_cache.c and builder/ostree_io.c that
 * speaks GLib (builder/ostree_dl.c loads it); everything it hands back is
 * plain C.
 */
#include "builder/ostree_tree.h"

#include "builder/ostree_dl.h"
#include "builder/tree_meta.h"
#include "util/diag.h"
#include "util/io.h"
#include "util/strbuf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gio/gunixinputstream.h>
#include <ostree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#define TREE_META_KEY "apkg.tree-meta"
/* OSTree refuses commit metadata over OSTREE_MAX_METADATA_SIZE (10 MiB);
 * a Debian root of 20 000 entries compresses to a few hundred KiB. */
#define TREE_META_MAX_COMPRESSED (8u << 20)
#define TREE_META_MAX_PLAIN (512u << 20)

static int gerror(GError **e, const char *fmt, const char *arg)
{
	char *what = xasprintf(fmt, arg);
	error("%s: %s", what, *e ? (*e)->message : "unknown error");
	free(what);
	g_clear_error(e);
	return -1;
}

struct OstreeRepo *ostree_tree_open(const char *path, enum ostree_tree_create create)
{
	const char *missing = ostree_dl_load();
	if (missing) {
		error("cannot open the OSTree repository %s: apkg needs %s", path, missing);
		return NULL;
	}
	GError *e = NULL;
	OstreeRepo *repo = ostree_repo_open_at(AT_FDCWD, path, NULL, &e);
	if (!repo && create != OSTREE_TREE_EXISTING && g_error_matches(e, G_IO_ERROR, G_IO_ERROR_NOT_FOUND)) {
		g_clear_error(&e);
		repo = ostree_repo_create_at(AT_FDCWD, path,
					     create == OSTREE_TREE_BARE ? OSTREE_REPO_MODE_BARE : OSTREE_REPO_MODE_ARCHIVE,
					     NULL, NULL, &e);
	}
	if (!repo) {
		gerror(&e, "cannot open the OSTree repository %s", path);
		return NULL;
	}
	/* A torn write is caught by the checksums on the next read, and a cache
	 * entry is only ever a shortcut: speed wins over fsync here. */
	ostree_repo_set_disable_fsync(repo, TRUE);
	return repo;
}

void ostree_tree_close(struct OstreeRepo *repo)
{
	if (repo)
		g_object_unref(repo);
}

static int compress_meta(const char *rootdir, void **out, size_t *len)
{
	struct strbuf blob = STRBUF_INIT;
	if (tree_meta_collect(rootdir, &blob, NULL) < 0) {
		strbuf_release(&blob);
		return -1;
	}
	size_t bound = ZSTD_compressBound(blob.len);
	*out = xmalloc(bound);
	*len = ZSTD_compress(*out, bound, blob.buf, blob.len, 3);
	strbuf_release(&blob);
	if (ZSTD_isError(*len) || *len > TREE_META_MAX_COMPRESSED) {
		free(*out);
		return error("%s: too many entries to record their times in an OSTree commit", rootdir);
	}
	return 0;
}

static GVariant *commit_metadata(const void *meta, size_t meta_len, const char *const *extra)
{
	GVariantBuilder b;
	g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&b, "{sv}", TREE_META_KEY,
			      g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, meta, meta_len, 1));
	for (size_t i = 0; extra && extra[i] && extra[i + 1]; i += 2)
		g_variant_builder_add(&b, "{sv}", extra[i], g_variant_new_string(extra[i + 1]));
	return g_variant_ref_sink(g_variant_builder_end(&b));
}

/* ---- snapshots: which entries still match the commit ---- */

struct snap_entry {
	char *path;
	ino_t ino;
	struct timespec ctime;
};

struct tree_snapshot {
	char commit[65];
	struct snap_entry *v;
	size_t n, cap;
};

static int snap_cmp(const void *a, const void *b)
{
	return strcmp(((const struct snap_entry *)a)->path, ((const struct snap_entry *)b)->path);
}

static int snap_walk(struct tree_snapshot *s, int dfd, const char *rel, int depth, struct timespec *latest)
{
	size_t n;
	char **names = dir_names_at(dfd, &n);
	if (!names)
		return error_errno("cannot list %s", *rel ? rel : "/");
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct stat st;
		if (fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = error_errno("cannot stat %s/%s", rel, names[i]);
			break;
		}
		char *child = *rel ? xasprintf("%s/%s", rel, names[i]) : xstrdup(names[i]);
		if (s->n == s->cap)
			s->v = xrealloc(s->v, (s->cap = s->cap ? 2 * s->cap : 1024) * sizeof *s->v);
		s->v[s->n++] = (struct snap_entry){child, st.st_ino, st.st_ctim};
		if (st.st_ctim.tv_sec > latest->tv_sec ||
		    (st.st_ctim.tv_sec == latest->tv_sec && st.st_ctim.tv_nsec > latest->tv_nsec))
			*latest = st.st_ctim;
		if (S_ISDIR(st.st_mode) && depth < 256) {
			int sub = openat(dfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			rc = sub < 0 ? error_errno("cannot open %s", child) : snap_walk(s, sub, child, depth + 1, latest);
			if (sub >= 0)
				close(sub);
		}
	}
	free_names(names, n);
	return rc;
}

/* Inode times come from the coarse clock: once it is past the latest
 * recorded ctime, any later change gives a later ctime. */
static void wait_past(const struct timespec *t)
{
	for (int i = 0; i < 1000; i++) {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME_COARSE, &now);
		if (now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec > t->tv_nsec))
			return;
		struct timespec pause = {0, 1000000};
		nanosleep(&pause, NULL);
	}
}

struct tree_snapshot *ostree_tree_snapshot(const char *rootdir, const char *commit)
{
	struct tree_snapshot *s = xcalloc(1, sizeof *s);
	snprintf(s->commit, sizeof s->commit, "%s", commit);
	struct timespec latest = {0, 0};
	int dfd = open(rootdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || snap_walk(s, dfd, "", 0, &latest) < 0) {
		if (dfd < 0)
			error_errno("cannot open %s", rootdir);
		else
			close(dfd);
		ostree_tree_snapshot_free(s);
		return NULL;
	}
	close(dfd);
	qsort(s->v, s->n, sizeof *s->v, snap_cmp);
	wait_past(&latest);
	return s;
}

void ostree_tree_snapshot_free(struct tree_snapshot *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].path);
	free(s->v);
	free(s);
}

static int snapshot_unchanged(const struct tree_snapshot *s, const char *path, const struct stat *st)
{
	struct snap_entry key = {.path = (char *)path};
	const struct snap_entry *e = bsearch(&key, s->v, s->n, sizeof *s->v, snap_cmp);
	return e && e->ino == st->st_ino && e->ctime.tv_sec == st->st_ctim.tv_sec &&
	       e->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

/* ---- writing a tree on top of a commit, reading only what changed ---- */

struct incr {
	OstreeRepo *repo;
	const struct tree_snapshot *base;
	GError **e;
	size_t written;
};

static int cmp_cstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The xattrs of an entry as OSTree's a(ayay), names sorted. */
static GVariant *entry_xattrs(int dfd, const char *name, const char *path)
{
	GVariantBuilder b;
	g_variant_builder_init(&b, G_VARIANT_TYPE("a(ayay)"));
	char *proc = xasprintf("/proc/self/fd/%d/%s", dfd, name);
	char names[65536];
	ssize_t n = llistxattr(proc, names, sizeof names);
	char *list[1024];
	size_t count = 0;
	for (ssize_t i = 0; n > 0 && i < n && count < 1024; i += (ssize_t)strlen(names + i) + 1)
		list[count++] = names + i;
	qsort(list, count, sizeof *list, cmp_cstr);
	for (size_t i = 0; i < count; i++) {
		char value[65536];
		ssize_t vn = lgetxattr(proc, list[i], value, sizeof value);
		if (vn < 0) {
			warning("%s: cannot read xattr %s: %s", path, list[i], strerror(errno));
			continue;
		}
		g_variant_builder_add(&b, "(@ay@ay)", g_variant_new_bytestring(list[i]),
				      g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, value, (gsize)vn, 1));
	}
	free(proc);
	return g_variant_ref_sink(g_variant_builder_end(&b));
}

static GFileInfo *entry_info(const struct stat *st, const char *symlink_target)
{
	GFileInfo *fi = g_file_info_new();
	g_file_info_set_attribute_uint32(fi, "unix::uid", st->st_uid);
	g_file_info_set_attribute_uint32(fi, "unix::gid", st->st_gid);
	g_file_info_set_attribute_uint32(fi, "unix::mode", st->st_mode);
	if (S_ISDIR(st->st_mode)) {
		g_file_info_set_file_type(fi, G_FILE_TYPE_DIRECTORY);
	} else if (S_ISLNK(st->st_mode)) {
		g_file_info_set_file_type(fi, G_FILE_TYPE_SYMBOLIC_LINK);
		g_file_info_set_is_symlink(fi, TRUE);
		g_file_info_set_symlink_target(fi, symlink_target);
	} else {
		g_file_info_set_file_type(fi, G_FILE_TYPE_REGULAR);
		g_file_info_set_size(fi, st->st_size);
	}
	return fi;
}

static int write_content(struct incr *w, int dfd, const char *name, const char *path, const struct stat *st,
			 char hex[65])
{
	char target[4096] = "";
	int fd = -1;
	if (S_ISLNK(st->st_mode)) {
		ssize_t n = readlinkat(dfd, name, target, sizeof target - 1);
		if (n < 0)
			return error_errno("cannot read the link %s", path);
		target[n] = 0;
	} else if ((fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		return error_errno("cannot open %s", path);
	}
	GFileInfo *fi = entry_info(st, target);
	GVariant *xattrs = entry_xattrs(dfd, name, path);
	GInputStream *in = fd >= 0 ? g_unix_input_stream_new(fd, TRUE) : NULL, *content = NULL;
	guint64 len = 0;
	guchar *csum = NULL;
	int rc = ostree_raw_file_to_content_stream(in, fi, xattrs, &content, &len, NULL, w->e) &&
			 ostree_repo_write_content(w->repo, NULL, content, len, &csum, NULL, w->e)
		 ? 0
		 : -1;
	if (rc == 0) {
		ostree_checksum_inplace_from_bytes(csum, hex);
		w->written++;
	}
	g_free(csum);
	if (content)
		g_object_unref(content);
	if (in)
		g_object_unref(in);
	g_variant_unref(xattrs);
	g_object_unref(fi);
	return rc;
}

static int write_dirmeta(struct incr *w, int dfd, const char *name, const char *path, const struct stat *st,
			 OstreeMutableTree *mt)
{
	GFileInfo *fi = entry_info(st, NULL);
	GVariant *xattrs = entry_xattrs(dfd, name, path);
	GVariant *dm = g_variant_ref_sink(ostree_create_directory_metadata(fi, xattrs));
	guchar *csum = NULL;
	int rc = ostree_repo_write_metadata(w->repo, OSTREE_OBJECT_TYPE_DIR_META, NULL, dm, &csum, NULL, w->e) ? 0 : -1;
	if (rc == 0) {
		char hex[65];
		ostree_checksum_inplace_from_bytes(csum, hex);
		ostree_mutable_tree_set_metadata_checksum(mt, hex);
	}
	g_free(csum);
	g_variant_unref(dm);
	g_variant_unref(xattrs);
	g_object_unref(fi);
	return rc;
}

static int incr_dir(struct incr *w, int dfd, const char *rel, OstreeMutableTree *mt, int depth);

/* One entry of a directory: kept as the base has it when unchanged, else written. */
static int incr_entry(struct incr *w, int dfd, const char *name, const char *rel, OstreeMutableTree *mt, int depth)
{
	char *path = *rel ? xasprintf("%s/%s", rel, name) : xstrdup(name);
	struct stat st;
	int rc = 0;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		rc = error_errno("cannot stat %s", path);
	int was_dir = rc == 0 && g_hash_table_contains(ostree_mutable_tree_get_subdirs(mt), name);
	int was_file = rc == 0 && g_hash_table_contains(ostree_mutable_tree_get_files(mt), name);
	if (rc == 0 && S_ISDIR(st.st_mode)) {
		OstreeMutableTree *sub = NULL;
		if (was_file && !ostree_mutable_tree_remove(mt, name, TRUE, w->e))
			rc = -1;
		int sfd = rc == 0 ? openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
		if (rc == 0 && sfd < 0)
			rc = error_errno("cannot open %s", path);
		if (rc == 0 && !ostree_mutable_tree_ensure_dir(mt, name, &sub, w->e))
			rc = -1;
		if (rc == 0)
			rc = write_dirmeta(w, dfd, name, path, &st, sub);
		if (rc == 0)
			rc = depth > 256 ? error("%s: directories nested too deep", path) : incr_dir(w, sfd, path, sub, depth + 1);
		if (sub)
			g_object_unref(sub);
		if (sfd >= 0)
			close(sfd);
	} else if (rc == 0 && (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))) {
		char hex[65];
		if (was_file && w->base && snapshot_unchanged(w->base, path, &st))
			rc = 0; /* the base commit's object is this file */
		else if ((was_dir && !ostree_mutable_tree_remove(mt, name, TRUE, w->e)) ||
			 write_content(w, dfd, name, path, &st, hex) < 0 ||
			 !ostree_mutable_tree_replace_file(mt, name, hex, w->e))
			rc = -1;
	} else if (rc == 0 && (was_dir || was_file)) { /* now a special file: tree_meta records it */
		rc = ostree_mutable_tree_remove(mt, name, TRUE, w->e) ? 0 : -1;
	}
	free(path);
	return rc;
}

static int incr_dir(struct incr *w, int dfd, const char *rel, OstreeMutableTree *mt, int depth)
{
	size_t n;
	char **names = dir_names_at(dfd, &n);
	if (!names)
		return error_errno("cannot list %s", *rel ? rel : "/");
	GHashTable *present = g_hash_table_new(g_str_hash, g_str_equal);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		g_hash_table_add(present, names[i]);
		rc = incr_entry(w, dfd, names[i], rel, mt, depth);
	}
	/* What the base had and the tree no longer has. */
	GHashTable *tables[2] = {ostree_mutable_tree_get_files(mt), ostree_mutable_tree_get_subdirs(mt)};
	for (int t = 0; t < 2 && rc == 0; t++) {
		GPtrArray *gone = g_ptr_array_new_with_free_func(g_free);
		GHashTableIter it;
		gpointer k;
		g_hash_table_iter_init(&it, tables[t]);
		while (g_hash_table_iter_next(&it, &k, NULL))
			if (!g_hash_table_contains(present, k))
				g_ptr_array_add(gone, g_strdup(k));
		for (guint i = 0; i < gone->len && rc == 0; i++)
			rc = ostree_mutable_tree_remove(mt, gone->pdata[i], TRUE, w->e) ? 0 : -1;
		g_ptr_array_unref(gone);
	}
	g_hash_table_unref(present);
	free_names(names, n);
	return rc;
}

/* The whole tree, on top of base's commit when given; the root's own
 * metadata too. OSTree's own ostree_repo_write_dfd_to_mtree() is not used:
 * it refuses special files even when a commit filter would skip them. */
static int write_tree_walk(OstreeRepo *repo, const char *rootdir, const struct tree_snapshot *base,
			   OstreeMutableTree **out, GError **e)
{
	OstreeMutableTree *mt = base ? ostree_mutable_tree_new_from_commit(repo, base->commit, e) : ostree_mutable_tree_new();
	if (!mt)
		return -1;
	struct incr w = {.repo = repo, .base = base, .e = e};
	struct stat st;
	int dfd = open(rootdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;
	if (dfd < 0 || fstat(dfd, &st) < 0)
		rc = error_errno("cannot open %s", rootdir);
	if (rc == 0) /* entry_xattrs wants a directory and a name: the root is "." of itself */
		rc = write_dirmeta(&w, dfd, ".", "/", &st, mt);
	if (rc == 0)
		rc = incr_dir(&w, dfd, "", mt, 0);
	if (dfd >= 0)
		close(dfd);
	if (rc < 0) {
		g_object_unref(mt);
		return -1;
	}
	*out = mt;
	return 0;
}

static int write_tree(OstreeRepo *repo, const char *rootdir, const struct tree_snapshot *base, GFile **root,
		      GError **e)
{
	OstreeMutableTree *mtree = NULL;
	gboolean ok = write_tree_walk(repo, rootdir, base, &mtree, e) == 0 &&
		      ostree_repo_write_mtree(repo, mtree, root, NULL, e);
	if (mtree)
		g_object_unref(mtree);
	return ok ? 0 : -1;
}

int ostree_tree_commit(struct OstreeRepo *repo, const char *rootdir, const struct ostree_tree_commit_opts *o,
		       char out[65])
{
	void *meta;
	size_t meta_len;
	if (compress_meta(rootdir, &meta, &meta_len) < 0)
		return -1;
	GVariant *md = commit_metadata(meta, meta_len, o->meta);
	GError *e = NULL;
	GFile *root = NULL;
	char *checksum = NULL;
	int rc = -1;
	if (!ostree_repo_prepare_transaction(repo, NULL, NULL, &e)) {
		gerror(&e, "cannot start a transaction to commit %s", rootdir);
	} else if (write_tree(repo, rootdir, o->base, &root, &e) < 0 ||
		   !ostree_repo_write_commit_with_time(repo, o->parent, o->subject, NULL, md, OSTREE_REPO_FILE(root),
						       o->timestamp, &checksum, NULL, &e)) {
		gerror(&e, "cannot commit %s", rootdir);
		ostree_repo_abort_transaction(repo, NULL, NULL);
	} else {
		if (o->ref)
			ostree_repo_transaction_set_ref(repo, NULL, o->ref, checksum);
		if (!ostree_repo_commit_transaction(repo, NULL, NULL, &e))
			gerror(&e, "cannot complete the commit of %s", rootdir);
		else
			rc = 0;
	}
	if (rc == 0)
		memcpy(out, checksum, 65);
	g_free(checksum);
	if (root)
		g_object_unref(root);
	g_variant_unref(md);
	free(meta);
	return rc;
}

/* The commit's apkg.tree-meta, decompressed (NULL when it has none). */
static int load_meta(OstreeRepo *repo, const char *commit, struct strbuf *plain, int *present)
{
	GError *e = NULL;
	GVariant *v = NULL;
	*present = 0;
	if (!ostree_repo_load_variant(repo, OSTREE_OBJECT_TYPE_COMMIT, commit, &v, &e))
		return gerror(&e, "cannot load commit %s", commit);
	GVariant *md = g_variant_get_child_value(v, 0);
	GVariant *blob = g_variant_lookup_value(md, TREE_META_KEY, G_VARIANT_TYPE_BYTESTRING);
	int rc = 0;
	if (blob) {
		gsize n;
		const void *data = g_variant_get_fixed_array(blob, &n, 1);
		unsigned long long size = ZSTD_getFrameContentSize(data, n);
		if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > TREE_META_MAX_PLAIN) {
			rc = error("commit %s: its %s is not a valid zstd frame", commit, TREE_META_KEY);
		} else {
			strbuf_grow(plain, (size_t)size);
			size_t got = ZSTD_decompress(plain->buf, (size_t)size + 1, data, n);
			if (ZSTD_isError(got) || got != size)
				rc = error("commit %s: its %s does not decompress", commit, TREE_META_KEY);
			else
				plain->buf[plain->len = got] = 0;
			*present = rc == 0;
		}
		g_variant_unref(blob);
	}
	g_variant_unref(md);
	g_variant_unref(v);
	return rc;
}

int ostree_tree_checkout(struct OstreeRepo *repo, const char *commit, const char *rootdir)
{
	struct strbuf meta = STRBUF_INIT;
	int have_meta = 0;
	if (load_meta(repo, commit, &meta, &have_meta) < 0) {
		strbuf_release(&meta);
		return -1;
	}
	OstreeRepoCheckoutAtOptions opts = {0};
	opts.mode = OSTREE_REPO_CHECKOUT_MODE_NONE;
	opts.overwrite_mode = OSTREE_REPO_CHECKOUT_OVERWRITE_NONE;
	opts.force_copy = TRUE;
	GError *e = NULL;
	int rc = 0;
	if (!ostree_repo_checkout_at(repo, &opts, AT_FDCWD, rootdir, commit, NULL, &e))
		rc = gerror(&e, "cannot check out %s", commit);
	if (rc == 0 && have_meta)
		rc = tree_meta_apply(rootdir, meta.buf, meta.len);
	strbuf_release(&meta);
	return rc;
}

/* Checks one object; a corrupt one is deleted. Returns 0 sound, 1 bad. */
static int check_object(OstreeRepo *repo, GVariant *name, char **why)
{
	const char *csum;
	OstreeObjectType type;
	GError *e = NULL;
	ostree_object_name_deserialize(name, &csum, &type);
	if (ostree_repo_fsck_object(repo, type, csum, NULL, &e))
		return 0;
	if (!*why)
		*why = xasprintf("%s.%s: %s", csum, ostree_object_type_to_string(type), e->message);
	g_clear_error(&e);
	ostree_repo_delete_object(repo, type, csum, NULL, NULL);
	return 1;
}

/* Checks every object named by the keys of a table (and frees it): 0 or 1. */
static int check_objects(OstreeRepo *repo, GHashTable *objects, char **why)
{
	GHashTableIter it;
	gpointer key;
	int bad = 0;
	g_hash_table_iter_init(&it, objects);
	while (g_hash_table_iter_next(&it, &key, NULL))
		bad |= check_object(repo, key, why);
	g_hash_table_unref(objects);
	return bad;
}

/* When a commit cannot even be walked (a metadata object is missing or
 * unreadable), every loose object is checked, so that a corrupt one does
 * not survive to be reused by the rebuild. */
static int check_all_objects(OstreeRepo *repo, char **why)
{
	GError *e = NULL;
	GHashTable *objects = NULL;
	if (!ostree_repo_list_objects(repo, OSTREE_REPO_LIST_OBJECTS_LOOSE, &objects, NULL, &e))
		return gerror(&e, "cannot list the objects of %s", "the repository");
	return check_objects(repo, objects, why);
}

int ostree_tree_verify(struct OstreeRepo *repo, const char *commit, char **why)
{
	GError *e = NULL;
	GHashTable *reachable = NULL;
	*why = NULL;
	if (!ostree_repo_traverse_commit(repo, commit, 0, &reachable, NULL, &e)) {
		char *walk = xasprintf("commit %s cannot be walked: %s", commit, e->message);
		g_clear_error(&e);
		if (check_all_objects(repo, why) < 0) {
			free(walk);
			return -1;
		}
		free(*why);
		*why = walk;
		return 1;
	}
	return check_objects(repo, reachable, why);
}

int ostree_tree_resolve(struct OstreeRepo *repo, const char *ref, char out[65])
{
	GError *e = NULL;
	char *rev = NULL;
	if (!ostree_repo_resolve_rev(repo, ref, TRUE, &rev, &e))
		return gerror(&e, "cannot resolve %s", ref);
	if (!rev)
		return 1;
	snprintf(out, 65, "%s", rev);
	g_free(rev);
	return 0;
}

int ostree_tree_commit_info(struct OstreeRepo *repo, const char *commit, char **subject, uint64_t *timestamp,
			    const char *key, char **value)
{
	GError *e = NULL;
	GVariant *v = NULL;
	if (!ostree_repo_load_variant(repo, OSTREE_OBJECT_TYPE_COMMIT, commit, &v, &e))
		return gerror(&e, "cannot load commit %s", commit);
	if (subject) {
		const char *s = NULL;
		g_variant_get_child(v, 3, "&s", &s);
		*subject = xstrdup(s ? s : "");
	}
	if (timestamp)
		*timestamp = ostree_commit_get_timestamp(v);
	if (key && value) {
		GVariant *md = g_variant_get_child_value(v, 0);
		const char *s = NULL;
		*value = g_variant_lookup(md, key, "&s", &s) ? xstrdup(s) : NULL;
		g_variant_unref(md);
	}
	g_variant_unref(v);
	return 0;
}
