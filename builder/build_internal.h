/* builder/build_internal.h: what builder/build.c shares with builder/build_tree.c, nothing else sees it.
 *
 * build.c sequences the stages of `apkg build`; build_tree.c makes the root
 * tree (the base and customize stages, through the stage cache) and commits
 * it for the ostree output. Both time their stages with stage_begin/end.
 */
#ifndef APKG_BUILDER_BUILD_INTERNAL_H
#define APKG_BUILDER_BUILD_INTERNAL_H

#include "builder/build.h"
#include "builder/manifest.h"
#include "kernel/kernel.h"
#include "util/strbuf.h"

struct stage_cache;
struct tree_snapshot;

struct build_ctx {
	const struct recipe *r;
	const struct build_opts *o;
	char *scratch, *rootdir, *staging;
	struct kernel kernel;
	int have_kernel;
	struct manifest m;
	struct strbuf times;
	double t_stage;
	const char *stage;
	struct stage_cache *cache;
	struct strbuf cache_report; /* JSON members: "base": "hit", ... */
	struct tree_snapshot *base_snap; /* the tree as the base commit has it, for a cheap customize commit */
};

/* Starts a timed stage (a progress line); stage_end records its seconds. */
void stage_begin(struct build_ctx *c, const char *name, const char *what);
void stage_end(struct build_ctx *c);

/* The root tree in c->rootdir: base then customize, each restored from the
 * stage cache when its key is there, else built (and stored). */
int build_root_tree(struct build_ctx *c);
/* outputs: [ostree]: commits the final root to staging/ostree (a no-op when
 * the outputs do not name ostree). */
int write_ostree(struct build_ctx *c, const char *outdir);
/* Closes the stage cache and frees what build_root_tree() kept. */
void build_tree_release(struct build_ctx *c);

#endif
