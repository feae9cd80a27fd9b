/* builder/build_tree.c: the root tree of `apkg build`: base and customize through the stage cache, and the ostree output.
 *
 * Each of the two stages is restored from the stage cache when its key is
 * there (builder/stage_cache.h, builder/stage_key.h), else built and then
 * stored. A hit on customize makes the base unnecessary. The tree that
 * leaves here is the same bytes whichever way it was made.
 */
#include "builder/build_internal.h"

#include "builder/customize.h"
#include "builder/ostree_io.h"
#include "builder/ostree_tree.h"
#include "builder/rootfs.h"
#include "builder/rootfs_busybox.h"
#include "builder/stage_cache.h"
#include "builder/stage_key.h"
#include "util/diag.h"
#include "util/progress.h"
#include "util/strbuf.h"

#include <stdlib.h>
#include <string.h>

/* The base is made from the base's inputs only (builder/stage_key.h): its
 * scrub spares no path for the recipe's files, which customize writes
 * afterwards anyway, so that a recipe's files are not an input of its base. */
static int build_rootfs(struct build_ctx *c)
{
	struct recipe base_view = *c->r;
	const struct recipe *r = &base_view;
	base_view.files = NULL;
	base_view.n_files = 0;
	int rc = -1;
	switch (r->base.kind) {
	case BASE_BUSYBOX:
		stage_begin(c, "rootfs", "root filesystem: busybox");
		rc = rootfs_busybox(r, c->rootdir);
		break;
	case BASE_DEBIAN:
		stage_begin(c, "rootfs", "root filesystem: debian (mmdebstrap)");
		rc = rootfs_debian(r, c->rootdir, c->scratch);
		break;
	case BASE_TARBALL:
		stage_begin(c, "rootfs", "root filesystem: tarball");
		rc = rootfs_tarball(r, c->rootdir);
		break;
	case BASE_OSTREE:
		stage_begin(c, "rootfs", "root filesystem: ostree commit");
		rc = rootfs_ostree(r, c->rootdir);
		break;
	}
	/* customize clamps again at its end; clamping the base already leaves
	 * only what customize changes to be read when its tree is committed. */
	return rc < 0 ? -1 : rootfs_clamp_mtimes(c->rootdir, r->epoch);
}

static int build_customize(struct build_ctx *c)
{
	stage_begin(c, "customize", "customise: files, users, services, network, run");
	return customize(c->r, c->rootdir, rootfs_is_systemd(c->rootdir));
}

/* ---- the cached stages: base and customize (builder/stage_cache.h) ---- */

struct tree_stage {
	const char *name, *timing, *what; /* cache entry, stage_times key, progress line */
	int (*build)(struct build_ctx *c);
};
static const struct tree_stage BASE_STAGE = {"base", "rootfs", "root filesystem: cached base", build_rootfs};
static const struct tree_stage CUSTOMIZE_STAGE = {"customize", "customize", "customise: cached tree", build_customize};

static void cache_note(struct build_ctx *c, const char *stage, const char *state, const char *key)
{
	strbuf_addf(&c->cache_report, "%s\"%s\": \"%s\"", c->cache_report.len ? ", " : "", stage, state);
	if (c->cache)
		info("    cache: %s %s%s%.12s", stage, state, key ? " " : "", key ? key : "");
}

/* 1: keys computed and the cache open; 0: building without the cache (said why); -1: error. */
static int open_stage_cache(struct build_ctx *c, char base_key[65], char custom_key[65])
{
	char *why = NULL;
	if (c->o->no_cache) {
		info("    cache: off (--no-cache)");
		return 0;
	}
	double t0 = now_seconds();
	int rc = stage_key_base(c->r, base_key, &why);
	if (rc == 1 && stage_key_customize(c->r, base_key, custom_key) < 0)
		rc = -1;
	if (rc == 1 && !(c->cache = stage_cache_open(c->o->cache_dir, &why)))
		rc = 0;
	if (rc == 0)
		info("    cache: not used: %s", why);
	else if (rc == 1)
		info("    cache: keys in %.1f s", now_seconds() - t0);
	free(why);
	return rc;
}

/* After the base: remember the tree as its commit has it. */
static void snapshot_base(struct build_ctx *c, const struct tree_stage *s, const char *commit)
{
	if (s == &BASE_STAGE)
		c->base_snap = ostree_tree_snapshot(c->rootdir, commit);
}

static int restore_stage(struct build_ctx *c, const struct tree_stage *s, const char *key)
{
	double t0 = now_seconds();
	char commit[65];
	int hit = stage_cache_restore(c->cache, s->name, key, c->rootdir, commit);
	if (hit == 1) {
		snapshot_base(c, s, commit);
		c->stage = s->timing;
		c->t_stage = t0;
		progress_stage("%s", s->what);
		stage_end(c);
		cache_note(c, s->name, "hit", key);
	}
	return hit;
}

/* A debian base's key hashes the mirror's Release file: if it changed while
 * mmdebstrap ran, the tree may hold newer packages than the key says. */
static int key_still_valid(struct build_ctx *c, const char *key)
{
	char now[65], *why = NULL;
	int rc = c->r->base.kind != BASE_DEBIAN || (stage_key_base(c->r, now, &why) == 1 && !strcmp(now, key));
	free(why);
	return rc;
}

static int make_stage(struct build_ctx *c, const struct tree_stage *s, const char *key)
{
	if (s->build(c) < 0)
		return -1;
	stage_end(c);
	if (!c->cache || !key) {
		cache_note(c, s->name, c->cache ? "not cached" : "off", NULL);
		return 0;
	}
	if (s == &BASE_STAGE && !key_still_valid(c, key)) {
		cache_note(c, s->name, "not stored (the mirror changed during the build)", NULL);
		return 0;
	}
	char *subject = xasprintf("%s %s: %s", c->r->name, c->r->version, s->name), commit[65];
	double t0 = now_seconds();
	int rc = stage_cache_store(c->cache, s->name, key, c->rootdir, subject, c->base_snap, commit);
	free(subject);
	if (rc == 0)
		snapshot_base(c, s, commit);
	cache_note(c, s->name, rc == 0 ? "stored" : "not stored", key);
	if (rc == 0)
		info("    cache: %s committed in %.1f s", s->name, now_seconds() - t0);
	return 0; /* a cache that cannot take the tree does not fail the build */
}

/* base then customize, each restored from the cache when it can be; a hit
 * on customize makes the base unnecessary. */
int build_root_tree(struct build_ctx *c)
{
	char base_key[65], custom_key[65];
	int keyed = open_stage_cache(c, base_key, custom_key), hit = 0;
	/* An ostree base is itself a checkout: caching it would only copy it twice. */
	int base_cacheable = keyed == 1 && c->r->base.kind != BASE_OSTREE;
	if (keyed < 0)
		return -1;
	if (keyed && (hit = restore_stage(c, &CUSTOMIZE_STAGE, custom_key)) != 0) {
		if (hit > 0)
			cache_note(c, BASE_STAGE.name, "not needed", NULL);
		if (hit > 0 && base_cacheable)
			stage_cache_touch(c->cache, BASE_STAGE.name, base_key);
		return hit < 0 ? -1 : 0;
	}
	if (base_cacheable && (hit = restore_stage(c, &BASE_STAGE, base_key)) < 0)
		return -1;
	if (!hit && make_stage(c, &BASE_STAGE, base_cacheable ? base_key : NULL) < 0)
		return -1;
	return make_stage(c, &CUSTOMIZE_STAGE, keyed ? custom_key : NULL);
}

int write_ostree(struct build_ctx *c, const char *outdir)
{
	char **fmts = c->o->formats ? c->o->formats : c->r->outputs.items;
	size_t n = c->o->formats ? c->o->n_formats : c->r->outputs.n;
	if (!ostree_output_wanted(fmts, n))
		return 0;
	stage_begin(c, "ostree", "ostree: commit the root filesystem");
	struct ostree_output out;
	if (ostree_output_commit(c->r, c->rootdir, c->staging, outdir, &out) < 0)
		return -1;
	info("    ostree: %s = %.12s%s%s", out.ref, out.commit, out.delta ? ", static delta from " : "",
	     out.delta ? out.parent_version : "");
	manifest_set_ostree(&c->m, out.ref, out.commit, out.parent, out.delta);
	stage_end(c);
	return 0;
}

void build_tree_release(struct build_ctx *c)
{
	stage_cache_close(c->cache);
	ostree_tree_snapshot_free(c->base_snap);
	c->cache = NULL;
	c->base_snap = NULL;
}
