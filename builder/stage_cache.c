/* builder/stage_cache.c: the stage cache: refs apkg/stage/<stage>/<key> in CACHE/ostree.
 *
 * When an entry was last used is kept outside the repository, as the
 * modification time of CACHE/stage-used/<stage>-<key> (touched on every hit
 * and store), so that `apkg cache gc` can drop what has not been used for a
 * while without rewriting any commit.
 */
#include "builder/stage_cache.h"

#include "builder/ostree_dl.h"
#include "builder/ostree_tree.h"
#include "builder/stage_key.h"
#include "util/diag.h"
#include "util/io.h"
#include "util/strbuf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ostree.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define REF_PREFIX "apkg/stage"

struct stage_cache {
	OstreeRepo *repo;
	char *repo_path;
	char *used_dir;
};

char *stage_cache_dir(const char *dir)
{
	if (dir)
		return xstrdup(dir);
	const char *xdg = getenv("XDG_CACHE_HOME");
	if (xdg && *xdg == '/')
		return xasprintf("%s/apkg", xdg);
	const char *home = getenv("HOME");
	return xasprintf("%s/.cache/apkg", home && *home ? home : "/tmp");
}

struct stage_cache *stage_cache_open(const char *cache_dir, char **why)
{
	*why = NULL;
	if (geteuid() != 0) {
		*why = xstrdup("only root can give cached files back their owners");
		return NULL;
	}
	const char *missing = ostree_dl_load();
	if (missing) {
		*why = xasprintf("the stage cache needs %s", missing);
		return NULL;
	}
	char *dir = stage_cache_dir(cache_dir);
	struct stage_cache *sc = xcalloc(1, sizeof *sc);
	sc->repo_path = path_join(dir, "ostree");
	sc->used_dir = path_join(dir, "stage-used");
	if (mkdir_p(dir, 0700) == 0 && mkdir_p(sc->used_dir, 0700) == 0)
		sc->repo = ostree_tree_open(sc->repo_path, OSTREE_TREE_BARE);
	free(dir);
	if (!sc->repo) {
		*why = xasprintf("the repository %s cannot be used", sc->repo_path);
		stage_cache_close(sc);
		return NULL;
	}
	return sc;
}

void stage_cache_close(struct stage_cache *sc)
{
	if (!sc)
		return;
	ostree_tree_close(sc->repo);
	free(sc->repo_path);
	free(sc->used_dir);
	free(sc);
}

static char *stage_ref(const char *stage, const char *key)
{
	return xasprintf(REF_PREFIX "/%s/%s", stage, key);
}

static char *used_stamp(struct stage_cache *sc, const char *stage, const char *key)
{
	return xasprintf("%s/%s-%s", sc->used_dir, stage, key);
}

static void mark_used(struct stage_cache *sc, const char *stage, const char *key)
{
	char *p = used_stamp(sc, stage, key);
	int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0) {
		futimens(fd, NULL);
		close(fd);
	}
	free(p);
}

static void drop_ref(struct stage_cache *sc, const char *stage, const char *key)
{
	char *ref = stage_ref(stage, key), *stamp = used_stamp(sc, stage, key);
	ostree_repo_set_ref_immediate(sc->repo, NULL, ref, NULL, NULL, NULL);
	unlink(stamp);
	free(ref);
	free(stamp);
}

void stage_cache_touch(struct stage_cache *sc, const char *stage, const char *key)
{
	char *ref = stage_ref(stage, key);
	char commit[65];
	if (ostree_tree_resolve(sc->repo, ref, commit) == 0)
		mark_used(sc, stage, key);
	free(ref);
}

/* The fsck of an entry, on its own thread and its own handle on the repository. */
struct verify_job {
	const char *repo_path, *commit;
	int rc;
	char *why;
};

static void *verify_entry(void *arg)
{
	struct verify_job *j = arg;
	struct OstreeRepo *repo = ostree_tree_open(j->repo_path, OSTREE_TREE_EXISTING);
	j->rc = repo ? ostree_tree_verify(repo, j->commit, &j->why) : -1;
	ostree_tree_close(repo);
	return NULL;
}

/* The entry is checked and copied out at the same time (on two cores that
 * hides the fsck); the copy is thrown away unless the check passed. */
int stage_cache_restore(struct stage_cache *sc, const char *stage, const char *key, const char *rootdir,
			char commit[65])
{
	char *ref = stage_ref(stage, key);
	int rc = ostree_tree_resolve(sc->repo, ref, commit);
	free(ref);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	struct verify_job job = {.repo_path = sc->repo_path, .commit = commit};
	pthread_t thread;
	int threaded = pthread_create(&thread, NULL, verify_entry, &job) == 0;
	if (!threaded)
		verify_entry(&job);
	/* checkout_at creates the root itself, with the commit's owner and mode. */
	int copied = rmdir(rootdir) < 0 && errno != ENOENT ? error_errno("cannot make room for the cached tree at %s", rootdir)
							     : ostree_tree_checkout(sc->repo, commit, rootdir);
	if (threaded)
		pthread_join(thread, NULL);
	if (job.rc != 0 || copied < 0) {
		if (rm_rf(rootdir) < 0 || mkdir(rootdir, 0755) < 0)
			rc = error_errno("cannot empty %s again", rootdir);
		if (job.rc == 1) {
			warning("cache: the %s entry %.12s is damaged (%s): rebuilding it", stage, key, job.why);
			drop_ref(sc, stage, key);
		}
		free(job.why);
		return rc < 0 || job.rc < 0 || (job.rc == 0 && copied < 0) ? -1 : 0;
	}
	mark_used(sc, stage, key);
	return 1;
}

int stage_cache_store(struct stage_cache *sc, const char *stage, const char *key, const char *rootdir,
		      const char *subject, const struct tree_snapshot *base, char commit[65])
{
	char *ref = stage_ref(stage, key);
	const char *meta[] = {"apkg.stage", stage, "apkg.key", key, "apkg.version", apkg_build_id(), NULL};
	struct ostree_tree_commit_opts o = {.subject = subject, .timestamp = (uint64_t)time(NULL), .ref = ref,
					    .meta = meta, .base = base};
	int rc = ostree_tree_commit(sc->repo, rootdir, &o, commit);
	free(ref);
	if (rc == 0)
		mark_used(sc, stage, key);
	return rc;
}

static uint64_t stamp_time(struct stage_cache *sc, const char *stage, const char *key, uint64_t fallback)
{
	char *p = used_stamp(sc, stage, key);
	struct stat st;
	uint64_t t = stat(p, &st) == 0 ? (uint64_t)st.st_mtim.tv_sec : fallback;
	free(p);
	return t;
}

static int cmp_entries(const void *a, const void *b)
{
	const struct stage_entry *x = a, *y = b;
	int d = strcmp(x->stage, y->stage);
	return d ? d : x->last_used > y->last_used ? -1 : x->last_used < y->last_used;
}

/* "apkg/stage/<stage>/<key>" -> entry; 0, or -1 when the ref is not one of ours. */
static int entry_from_ref(struct stage_cache *sc, const char *ref, const char *commit, struct stage_entry *e)
{
	const char *rest = ref + strlen(REF_PREFIX "/"), *slash = strchr(rest, '/');
	if (strncmp(ref, REF_PREFIX "/", strlen(REF_PREFIX "/")) || !slash || strchr(slash + 1, '/'))
		return -1;
	memset(e, 0, sizeof *e);
	e->stage = strndup(rest, (size_t)(slash - rest));
	e->key = xstrdup(slash + 1);
	e->commit = xstrdup(commit);
	if (ostree_tree_commit_info(sc->repo, commit, &e->subject, &e->created, "apkg.version", &e->apkg) < 0)
		e->subject = xstrdup("(commit unreadable)");
	e->last_used = stamp_time(sc, e->stage, e->key, e->created);
	return 0;
}

int stage_cache_list(struct stage_cache *sc, struct stage_entry **out, size_t *n)
{
	GError *err = NULL;
	GHashTable *refs = NULL;
	*out = NULL;
	*n = 0;
	if (!ostree_repo_list_refs_ext(sc->repo, REF_PREFIX, &refs, OSTREE_REPO_LIST_REFS_EXT_NONE, NULL, &err)) {
		error("cannot list the cache's refs: %s", err->message);
		g_clear_error(&err);
		return -1;
	}
	GHashTableIter it;
	gpointer k, v;
	*out = xcalloc(g_hash_table_size(refs) + 1, sizeof **out);
	g_hash_table_iter_init(&it, refs);
	while (g_hash_table_iter_next(&it, &k, &v))
		if (entry_from_ref(sc, k, v, &(*out)[*n]) == 0)
			(*n)++;
	g_hash_table_unref(refs);
	qsort(*out, *n, sizeof **out, cmp_entries);
	return 0;
}

void stage_entries_free(struct stage_entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].stage);
		free(v[i].key);
		free(v[i].commit);
		free(v[i].subject);
		free(v[i].apkg);
	}
	free(v);
}

int stage_cache_drop(struct stage_cache *sc, const struct stage_entry *e)
{
	drop_ref(sc, e->stage, e->key);
	return 0;
}

int stage_cache_prune(struct stage_cache *sc, uint64_t *objects, uint64_t *bytes)
{
	GError *err = NULL;
	gint total = 0, pruned = 0;
	guint64 size = 0;
	if (!ostree_repo_prune(sc->repo, OSTREE_REPO_PRUNE_FLAGS_REFS_ONLY, -1, &total, &pruned, &size, NULL, &err)) {
		error("cannot prune the cache: %s", err->message);
		g_clear_error(&err);
		return -1;
	}
	*objects = (uint64_t)pruned;
	*bytes = size;
	return 0;
}

static uint64_t du_at(int dfd, int depth)
{
	uint64_t sum = 0;
	size_t n;
	char **names = dir_names_at(dfd, &n);
	for (size_t i = 0; names && i < n; i++) {
		struct stat st;
		if (fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		/* Objects are hard-linked nowhere else, so blocks count once. */
		sum += (uint64_t)st.st_blocks * 512;
		if (S_ISDIR(st.st_mode) && depth < 16) {
			int sub = openat(dfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0) {
				sum += du_at(sub, depth + 1);
				close(sub);
			}
		}
	}
	free_names(names, n);
	return sum;
}

uint64_t stage_cache_size(struct stage_cache *sc)
{
	int fd = open(sc->repo_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	uint64_t n = du_at(fd, 0);
	close(fd);
	return n;
}
