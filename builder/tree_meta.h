/* builder/tree_meta.h: what an OSTree commit does not keep of a root tree, carried beside it.
 *
 * OSTree stores each file's content, type, mode, owner and xattrs, but not
 * its modification time, not which files were hard links of one another,
 * and no device nodes, FIFOs or sockets at all. `mke2fs -d` copies all three
 * into the image, so a tree that went through the stage cache must get them
 * back exactly, or a cached build would not give the same image as a fresh
 * one. tree_meta_collect() records them in a compact blob (from a walk in
 * name order: the same tree always gives the same bytes); tree_meta_apply()
 * restores them in a checkout of the commit. A blob may come from somebody
 * else's repository (an `ostree` base): it is parsed with every length
 * checked and every path is resolved inside the root (builder/imgroot.h).
 */
#ifndef APKG_BUILDER_TREE_META_H
#define APKG_BUILDER_TREE_META_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct strbuf;

/* Files OSTree cannot store: character and block devices, FIFOs, sockets. */
int tree_meta_is_special(mode_t mode);

struct tree_meta_counts {
	size_t times;    /* entries whose modification time is recorded (all of them) */
	size_t links;    /* extra names of hard-linked files */
	size_t specials; /* device nodes, FIFOs and sockets */
};

/* Walks rootdir (never following symlinks) and appends the blob to out. */
int tree_meta_collect(const char *rootdir, struct strbuf *out, struct tree_meta_counts *counts);

/* In a checkout of the tree the blob was collected from (special files
 * absent, hard links as separate copies): creates the special files with
 * their mode, owner and device number, turns the copies back into hard
 * links, then sets every recorded modification time. Returns 0, or -1 after
 * printing what was wrong (a malformed blob is refused before anything is
 * changed). */
int tree_meta_apply(const char *rootdir, const void *blob, size_t len);

/* One decoded record, for tree_meta_parse(). */
enum tree_meta_kind { TREE_META_TIME = 'T', TREE_META_LINK = 'L', TREE_META_SPECIAL = 'S' };
struct tree_meta_record {
	enum tree_meta_kind kind;
	const char *path;       /* relative to the root, "" for the root itself; NUL-terminated copy */
	const char *target;     /* LINK: the name it is a link of */
	int64_t sec;            /* TIME */
	uint32_t nsec;
	uint32_t mode, uid, gid; /* SPECIAL */
	uint64_t rdev;
};

/* Decodes the blob and calls fn for every record (stopping when fn returns
 * non-zero). Returns 0 when the whole blob is well-formed, -1 with a
 * message in *why (static text) otherwise. */
int tree_meta_parse(const void *blob, size_t len, int (*fn)(const struct tree_meta_record *rec, void *ctx),
		    void *ctx, const char **why);

#endif
