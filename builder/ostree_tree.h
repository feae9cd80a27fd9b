/* builder/ostree_tree.h: a root tree into an OSTree commit and back, exactly.
 *
 * Shared by the stage cache (builder/stage_cache.c) and the ostree base and
 * output (builder/ostree_io.c). A commit holds content, modes, owners and
 * xattrs; what OSTree cannot hold (modification times, hard links, device
 * nodes, FIFOs, sockets: builder/tree_meta.h) travels in the commit's own
 * metadata as "apkg.tree-meta", a zstd-compressed tree_meta blob, which the
 * commit checksum covers. Checkouts are copies, never hard links into the
 * repository: the build goes on to change the tree (customisation, the
 * probe, the restored times), and one OSTree object can stand for several
 * files that differ only in their modification time.
 * Every function returns 0 on success and -1 after printing an error,
 * unless it says otherwise.
 */
#ifndef APKG_BUILDER_OSTREE_TREE_H
#define APKG_BUILDER_OSTREE_TREE_H

#include <stddef.h>
#include <stdint.h>

struct OstreeRepo;
struct tree_snapshot;

/* Opens the repository at path, creating it when missing unless create is
 * OSTREE_TREE_EXISTING: bare (files as they are, real owners: for the
 * cache) or archive (compressed, servable over HTTP: for outputs). NULL
 * after printing why. */
enum ostree_tree_create { OSTREE_TREE_EXISTING, OSTREE_TREE_BARE, OSTREE_TREE_ARCHIVE };
struct OstreeRepo *ostree_tree_open(const char *path, enum ostree_tree_create create);
void ostree_tree_close(struct OstreeRepo *repo);

struct ostree_tree_commit_opts {
	const char *subject;
	const char *parent;          /* commit checksum, or NULL */
	uint64_t timestamp;          /* seconds since 1970 */
	const char *ref;             /* set to the new commit in the same transaction, or NULL */
	const char *const *meta;     /* extra string metadata: key, value, key, value, ..., NULL */
	const struct tree_snapshot *base; /* optional: the tree as it was when it matched a commit */
};

/* Commits rootdir (special files left out, recorded with the times and
 * links in apkg.tree-meta) and writes the checksum to out. */
int ostree_tree_commit(struct OstreeRepo *repo, const char *rootdir, const struct ostree_tree_commit_opts *o,
		       char out[65]);

/* Records the inode and change time of every entry of rootdir, which must
 * match commit right now (just checked out or just committed). A later
 * ostree_tree_commit() given the snapshot as its base reuses the commit's
 * objects for every entry whose inode and change time are unchanged and
 * reads only the rest, so committing a customised tree costs what the
 * customisation changed. To rule out a change within one clock tick of the
 * recorded times going unnoticed, this returns only once the file-system
 * clock has moved past all of them. NULL (after printing why) when the
 * tree cannot be walked; the caller then commits without a base. */
struct tree_snapshot *ostree_tree_snapshot(const char *rootdir, const char *commit);
void ostree_tree_snapshot_free(struct tree_snapshot *s);

/* Copies commit into rootdir, which must not exist yet, and restores what
 * apkg.tree-meta records (when the commit has it: a commit made by plain
 * `ostree commit` has none, and its files keep the checkout's times). */
int ostree_tree_checkout(struct OstreeRepo *repo, const char *commit, const char *rootdir);

/* Checks every object the commit reaches against its checksum (OSTree's
 * fsck). Returns 0 when all are sound; 1 when some are missing or corrupt,
 * with *why (caller frees) naming one, after deleting the corrupt objects
 * so that a rebuild writes them afresh; -1 on other errors. */
int ostree_tree_verify(struct OstreeRepo *repo, const char *commit, char **why);

/* The commit a ref (or a full checksum) names: 0, 1 when there is no such
 * ref (nothing printed), -1 on errors. */
int ostree_tree_resolve(struct OstreeRepo *repo, const char *ref, char out[65]);

/* A commit's subject, timestamp and string metadata value for key (any
 * output may be NULL; strings are the caller's to free). */
int ostree_tree_commit_info(struct OstreeRepo *repo, const char *commit, char **subject, uint64_t *timestamp,
			    const char *key, char **value);

#endif
