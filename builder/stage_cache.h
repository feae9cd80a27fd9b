/* builder/stage_cache.h: finished stage trees, kept in a local OSTree repository.
 *
 * `apkg build` is a chain of stages; the two that make the root filesystem
 * (base: bootstrap, packages and kernel; customize: files, users, services,
 * run) are the slow ones, and their trees are committed to CACHE/ostree
 * (a bare repository: real owners, modes and xattrs; times, hard links and
 * device nodes ride along, see builder/ostree_tree.h) under the ref
 * apkg/stage/<stage>/<key>, where key hashes every input of the stage
 * (builder/stage_key.h). A later build with the same key checks the tree
 * out instead of building it.
 * Promises: an entry is used only after every object it reaches has been
 * checked against its checksum; a missing or corrupt entry is reported,
 * removed (its bad objects with it) and rebuilt, never used. The cache
 * needs root (only root can give files back their owners); for anyone
 * else stage_cache_open() says so and the build goes on without it.
 */
#ifndef APKG_BUILDER_STAGE_CACHE_H
#define APKG_BUILDER_STAGE_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct stage_cache;
struct tree_snapshot;

/* The cache directory: dir, else $XDG_CACHE_HOME/apkg, else ~/.cache/apkg. Caller frees. */
char *stage_cache_dir(const char *dir);

/* Opens (creating when missing) the repository in cache_dir/ostree. NULL
 * when the cache cannot be used, with *why (caller frees) saying why. */
struct stage_cache *stage_cache_open(const char *cache_dir, char **why);
void stage_cache_close(struct stage_cache *sc);

/* Checks out stage/key into rootdir (which must not exist). Returns 1 on a
 * hit (the entry's commit in commit); 0 on a miss (a corrupt entry counts
 * as a miss after a warning that names the bad object); -1 on errors. */
int stage_cache_restore(struct stage_cache *sc, const char *stage, const char *key, const char *rootdir,
			char commit[65]);
/* Commits rootdir as stage/key; subject says what it is ("debian-web 1.0.0:
 * base"). With base (a snapshot of the tree when it matched the previous
 * stage's commit), only what changed since is read. */
int stage_cache_store(struct stage_cache *sc, const char *stage, const char *key, const char *rootdir,
		      const char *subject, const struct tree_snapshot *base, char commit[65]);
/* Marks an entry as used (a hit on a later stage keeps its base alive for gc). */
void stage_cache_touch(struct stage_cache *sc, const char *stage, const char *key);

/* One cache entry, for `apkg cache ls` and `gc`. */
struct stage_entry {
	char *stage, *key, *commit, *subject, *apkg;
	uint64_t created, last_used; /* seconds since 1970 */
};
int stage_cache_list(struct stage_cache *sc, struct stage_entry **out, size_t *n);
void stage_entries_free(struct stage_entry *v, size_t n);
/* Deletes one entry's ref (its objects go with the next prune). */
int stage_cache_drop(struct stage_cache *sc, const struct stage_entry *e);
/* Deletes the objects no entry reaches any more; reports how many and their size. */
int stage_cache_prune(struct stage_cache *sc, uint64_t *objects, uint64_t *bytes);
/* Disk usage of the repository in bytes. */
uint64_t stage_cache_size(struct stage_cache *sc);

#endif
