/* publish/mirror.h: a download mirror apkg publishes to: a local directory
 * or an rsync destination, behind one set of operations.
 *
 * Paths are relative to the mirror root and made only of names that passed
 * publish/names.h, so they need no quoting in paths, URLs or rsync filters.
 * The operations are the building blocks of the publish protocol
 * (publish.c); what each one guarantees:
 *   lock/unlock   mutual exclusion between publishers of the same mirror.
 *                 Local: flock(2) on ROOT/.apkg-lock (released by the kernel
 *                 when the holder dies). rsync: see mirror_rsync.c.
 *   read          a file's bytes, or "missing".
 *   list          the names in a directory (a missing one is empty).
 *   remove        deletes dir/name (a file or a whole tree).
 *   stage         makes directory `dir` hold exactly `files` (copied from
 *                 their local paths), each file written whole before it
 *                 gets its name.
 *   readback      a local directory with what `dir` holds, read from the
 *                 mirror again (local: the files themselves, with their
 *                 cached pages dropped first; rsync: downloaded).
 *   promote       gives the verified staged directory parent/from the name
 *                 parent/to, which must not exist. Local: one rename(2), so
 *                 the version appears whole. rsync: hard links of the staged
 *                 files, SHA256SUMS last (rsync cannot rename), then the
 *                 staged name is removed.
 *   put, symlink  replace one file or symlink atomically (temp + rename).
 * Every operation returns 0, or -1 after printing what went wrong.
 */
#ifndef APKG_PUBLISH_MIRROR_H
#define APKG_PUBLISH_MIRROR_H

#include <stddef.h>
#include <sys/types.h>

struct strbuf;

struct mirror_file {
	const char *name; /* on the mirror */
	const char *path; /* local source */
};

struct mirror_opts {
	const char *const *rsync_opts; /* extra options for every rsync run */
	size_t n_rsync_opts;
	unsigned lock_wait_s;          /* give up waiting for the lock after this long (0: 1 hour) */
};

struct mirror;

struct mirror_ops {
	const char *kind;
	int (*lock)(struct mirror *m);
	void (*unlock)(struct mirror *m);
	int (*read)(struct mirror *m, const char *rel, struct strbuf *out, size_t max, int *missing);
	int (*list)(struct mirror *m, const char *dir, char ***names, size_t *n);
	int (*remove)(struct mirror *m, const char *dir, const char *name);
	int (*stage)(struct mirror *m, const char *dir, const struct mirror_file *files, size_t n);
	int (*readback)(struct mirror *m, const char *dir, char **local_dir);
	int (*promote)(struct mirror *m, const char *parent, const char *from, const char *to,
		       const struct mirror_file *files, size_t n);
	int (*put)(struct mirror *m, const char *rel, const void *data, size_t len);
	int (*symlink)(struct mirror *m, const char *rel, const char *target);
};

struct mirror {
	const struct mirror_ops *ops;
	char *root;          /* the destination as given, without trailing '/' */
	struct mirror_opts opts;
	char *scratch;       /* local temporary directory (removed by mirror_close) */
	unsigned scratch_seq;
	int lock_fd;         /* local */
	char *lock_token;    /* rsync: our token's name while we hold or try the lock */
	pid_t heartbeat;     /* rsync: the process refreshing our token */
};

/* rsync's own rule: a destination is remote when it starts with rsync:// or
 * has a ':' before its first '/'. */
int mirror_is_rsync(const char *dest);
/* Returns NULL after printing why. */
struct mirror *mirror_open(const char *dest, const struct mirror_opts *o);
/* Unlocks if locked, removes the scratch directory, frees. */
void mirror_close(struct mirror *m);
/* A fresh empty directory under m->scratch (caller frees the name). */
char *mirror_scratch_dir(struct mirror *m, const char *label);
void mirror_free_names(char **names, size_t n);

extern const struct mirror_ops mirror_local_ops, mirror_rsync_ops;

/* Test hook for crash and lock tests: when $APKG_PUBLISH_PAUSE_AT names this
 * phase, print "apkg: paused at PHASE" on stderr and wait there until killed
 * or sent SIGUSR1 (then go on). */
void publish_pause_point(const char *phase);

#endif
