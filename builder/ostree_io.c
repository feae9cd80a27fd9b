/* builder/ostree_io.c: the ostree base and the ostree output (see ostree_io.h). */
#include "builder/ostree_io.h"

#include "builder/ostree_dl.h"
#include "builder/ostree_tree.h"
#include "builder/recipe.h"
#include "builder/rootfs.h"
#include "util/diag.h"
#include "util/io.h"
#include "util/strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <ostree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int ostree_lookup(const char *repo_path, const char *ref, char commit[65], char **why)
{
	const char *missing = ostree_dl_load();
	if (missing) {
		*why = xasprintf("cannot be read: the ostree base needs %s", missing);
		return -1;
	}
	GError *e = NULL;
	OstreeRepo *repo = ostree_repo_open_at(AT_FDCWD, repo_path, NULL, &e);
	if (!repo) {
		*why = xasprintf("is not an OSTree repository (%s)", e->message);
		g_clear_error(&e);
		return -1;
	}
	char *rev = NULL;
	GVariant *v = NULL;
	int rc = -2;
	if (!ostree_repo_resolve_rev(repo, ref, TRUE, &rev, &e)) {
		*why = xasprintf("cannot be resolved (%s)", e->message);
	} else if (!rev) {
		*why = xstrdup("is not in the repository");
	} else if (!ostree_repo_load_variant(repo, OSTREE_OBJECT_TYPE_COMMIT, rev, &v, &e)) {
		*why = xasprintf("names commit %.12s, which the repository does not hold (%s)", rev, e->message);
	} else {
		snprintf(commit, 65, "%s", rev);
		rc = 0;
	}
	g_clear_error(&e);
	if (v)
		g_variant_unref(v);
	g_free(rev);
	g_object_unref(repo);
	return rc;
}

int rootfs_ostree(const struct recipe *r, const char *rootdir)
{
	struct OstreeRepo *repo = ostree_tree_open(r->base.ostree_repo, OSTREE_TREE_EXISTING);
	if (!repo)
		return -1;
	info("ostree: %s from %s (commit %.12s)", r->base.ostree_ref, r->base.ostree_repo, r->base.ostree_commit);
	int rc = rmdir(rootdir) < 0 && errno != ENOENT ? error_errno("cannot replace %s", rootdir) : 0;
	if (rc == 0)
		rc = ostree_tree_checkout(repo, r->base.ostree_commit, rootdir);
	ostree_tree_close(repo);
	if (rc == 0)
		rc = rootfs_scrub(r, rootdir, rootfs_is_systemd(rootdir));
	return rc;
}

int ostree_output_wanted(char *const *formats, unsigned long n)
{
	for (unsigned long i = 0; i < n; i++)
		if (!strcmp(formats[i], "ostree"))
			return 1;
	return 0;
}

/* ---- the previous version ---- */

struct previous {
	char *repo;          /* absolute path */
	char version[128];
	char commit[65];
	char **refs;         /* every apkg/<name>/<v> in that repository but this version */
	size_t n_refs;
};

static void previous_release(struct previous *p)
{
	free(p->repo);
	for (size_t i = 0; i < p->n_refs; i++)
		free(p->refs[i]);
	free(p->refs);
	memset(p, 0, sizeof *p);
}

/* Looks at one repository's refs apkg/<name>/<version>; keeps it when it holds a
 * higher version below r->version than the best so far. */
static void consider_repo(const struct recipe *r, const char *path, struct previous *best)
{
	GError *e = NULL;
	OstreeRepo *repo = is_dir(path) ? ostree_repo_open_at(AT_FDCWD, path, NULL, &e) : NULL;
	g_clear_error(&e);
	if (!repo)
		return;
	char *prefix = xasprintf("apkg/%s", r->name);
	GHashTable *refs = NULL;
	if (ostree_repo_list_refs_ext(repo, prefix, &refs, OSTREE_REPO_LIST_REFS_EXT_NONE, NULL, &e)) {
		struct previous cand = {0};
		GHashTableIter it;
		gpointer k, v;
		g_hash_table_iter_init(&it, refs);
		while (g_hash_table_iter_next(&it, &k, &v)) {
			const char *ref = k, *version = ref + strlen(prefix) + 1;
			if (strncmp(ref, prefix, strlen(prefix)) || ref[strlen(prefix)] != '/' || strchr(version, '/') ||
			    !strcmp(version, r->version) || strlen(version) >= sizeof cand.version)
				continue;
			cand.refs = xrealloc(cand.refs, (cand.n_refs + 1) * sizeof *cand.refs);
			cand.refs[cand.n_refs++] = xstrdup(ref);
			if (strverscmp(version, r->version) < 0 &&
			    (!cand.version[0] || strverscmp(version, cand.version) > 0)) {
				snprintf(cand.version, sizeof cand.version, "%s", version);
				snprintf(cand.commit, sizeof cand.commit, "%s", (const char *)v);
			}
		}
		g_hash_table_unref(refs);
		if (cand.version[0] && (!best->version[0] || strverscmp(cand.version, best->version) > 0)) {
			previous_release(best);
			*best = cand;
			best->repo = realpath(path, NULL);
		} else {
			previous_release(&cand);
		}
	}
	g_clear_error(&e);
	free(prefix);
	g_object_unref(repo);
}

/* OUTDIR/ostree first (the output this build replaces), then the outputs
 * of other versions beside it. */
static void find_previous(const struct recipe *r, const char *outdir, struct previous *best)
{
	char *own = path_join(outdir, "ostree");
	consider_repo(r, own, best);
	char *parent = xstrdup(outdir), *slash = strrchr(parent, '/');
	if (slash)
		*slash = 0;
	char *pattern = xasprintf("%s/%s-*/ostree", slash ? parent : ".", r->name);
	glob_t g;
	if (glob(pattern, 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++) {
			char *a = realpath(g.gl_pathv[i], NULL), *b = realpath(own, NULL);
			if (a && (!b || strcmp(a, b)))
				consider_repo(r, g.gl_pathv[i], best);
			free(a);
			free(b);
		}
		globfree(&g);
	}
	free(pattern);
	free(parent);
	free(own);
}

/* ---- writing ---- */

static int gfail(GError **e, const char *what)
{
	error("%s: %s", what, *e ? (*e)->message : "unknown error");
	g_clear_error(e);
	return -1;
}

/* Pulls the previous versions' refs (objects checked against their checksums). */
static int pull_previous(OstreeRepo *repo, const struct previous *p)
{
	char *url = xasprintf("file://%s", p->repo);
	char **refs = xcalloc(p->n_refs + 1, sizeof *refs);
	memcpy(refs, p->refs, p->n_refs * sizeof *refs);
	GVariantBuilder b;
	g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&b, "{s@v}", "refs", g_variant_new_variant(g_variant_new_strv((const char *const *)refs, -1)));
	g_variant_builder_add(&b, "{s@v}", "flags", g_variant_new_variant(g_variant_new_int32(OSTREE_REPO_PULL_FLAGS_UNTRUSTED)));
	g_variant_builder_add(&b, "{s@v}", "gpg-verify", g_variant_new_variant(g_variant_new_boolean(FALSE)));
	g_variant_builder_add(&b, "{s@v}", "gpg-verify-summary", g_variant_new_variant(g_variant_new_boolean(FALSE)));
	GVariant *opts = g_variant_ref_sink(g_variant_builder_end(&b));
	GError *e = NULL;
	int rc = ostree_repo_pull_with_options(repo, url, opts, NULL, NULL, &e)
			 ? 0
			 : gfail(&e, "cannot pull the previous versions");
	g_variant_unref(opts);
	free(refs);
	free(url);
	return rc;
}

static int make_delta(OstreeRepo *repo, const char *from, const char *to)
{
	GError *e = NULL;
	GVariant *params = g_variant_ref_sink(g_variant_new("a{sv}", NULL));
	int rc = ostree_repo_static_delta_generate(repo, OSTREE_STATIC_DELTA_GENERATE_OPT_MAJOR, from, to, NULL, params,
						   NULL, &e)
			 ? 0
			 : gfail(&e, "cannot generate the static delta");
	g_variant_unref(params);
	return rc;
}

int ostree_output_commit(const struct recipe *r, const char *rootdir, const char *staging, const char *outdir,
			 struct ostree_output *out)
{
	memset(out, 0, sizeof *out);
	const char *missing = ostree_dl_load();
	if (missing)
		return error("the ostree output needs %s", missing);
	snprintf(out->ref, sizeof out->ref, "apkg/%s/%s", r->name, r->version);
	struct previous prev = {0};
	find_previous(r, outdir, &prev);
	char *path = path_join(staging, "ostree");
	struct OstreeRepo *repo = ostree_tree_open(path, OSTREE_TREE_ARCHIVE);
	int rc = repo ? 0 : -1;
	if (rc == 0 && prev.repo) {
		info("    ostree: previous version %s from %s", prev.version, prev.repo);
		rc = pull_previous(repo, &prev);
	}
	char *subject = xasprintf("%s %s", r->name, r->version);
	const char *meta[] = {"version", r->version, "apkg.recipe-hash", r->hash, NULL};
	struct ostree_tree_commit_opts o = {.subject = subject, .parent = prev.repo ? prev.commit : NULL,
					    .timestamp = r->epoch, .ref = out->ref, .meta = meta};
	if (rc == 0)
		rc = ostree_tree_commit(repo, rootdir, &o, out->commit);
	if (rc == 0 && prev.repo) {
		snprintf(out->parent, sizeof out->parent, "%s", prev.commit);
		snprintf(out->parent_version, sizeof out->parent_version, "%s", prev.version);
		rc = make_delta(repo, prev.commit, out->commit);
		out->delta = rc == 0;
	}
	GError *e = NULL;
	if (rc == 0 && !ostree_repo_regenerate_summary(repo, NULL, NULL, &e))
		rc = gfail(&e, "cannot write the repository summary");
	free(subject);
	free(path);
	ostree_tree_close(repo);
	previous_release(&prev);
	return rc;
}
