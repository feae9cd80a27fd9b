/* repro/verify.c: the two builds of --verify-repro and their comparison. */
#include "repro/repro.h"

#include "builder/build.h"
#include "repro/compare.h"
#include "util/diag.h"
#include "util/io.h"
#include "util/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_TREE_ENTRIES 20

/* A scratch directory beside the output (same file system: the builds
 * rename their root trees into it). */
static char *make_workdir(const struct recipe *r, const char *outdir)
{
	char *parent = xstrdup(outdir), *slash = strrchr(parent, '/');
	if (slash)
		*slash = 0;
	char *work = xasprintf("%s/.apkg-repro-%s-XXXXXX", slash ? parent : ".", r->name);
	free(parent);
	if (mkdir_p(slash ? outdir : ".", 0755) < 0 || !mkdtemp(work)) {
		error_errno("cannot create a scratch directory for --verify-repro");
		free(work);
		return NULL;
	}
	cleanup_register(work);
	return work;
}

static int compare(const char *outdir, const char *work, struct strbuf *report)
{
	char *b = path_join(work, "b"), *tmp = path_join(work, "tmp");
	char *ra = path_join(work, "root-a"), *rb = path_join(work, "root-b");
	struct strbuf details = STRBUF_INIT, trees = STRBUF_INIT;
	size_t compared = 0;
	int rc = mkdir(tmp, 0700) < 0 ? error_errno("cannot create %s", tmp) : 0;
	int differ = rc == 0 ? repro_compare_outputs(outdir, b, tmp, &details, &compared) : -1;
	int tree_differ = differ >= 0 ? repro_compare_trees(ra, rb, MAX_TREE_ENTRIES, &trees) : -1;
	if (differ < 0 || tree_differ < 0) {
		rc = -1;
	} else if (differ == 0 && tree_differ == 0) {
		strbuf_addf(report, "verify-repro: reproducible: %zu artifacts and the root trees are identical\n", compared);
	} else {
		strbuf_addf(report, "verify-repro: NOT reproducible: %d of %zu artifacts differ\n%s", differ, compared,
			    details.buf);
		if (tree_differ)
			strbuf_addf(report, "  root file system: %d entr%s differ%s:\n%s", tree_differ,
				    tree_differ == 1 ? "y" : "ies", tree_differ == 1 ? "s" : "", trees.buf);
		rc = 1;
	}
	strbuf_release(&details);
	strbuf_release(&trees);
	free(b);
	free(tmp);
	free(ra);
	free(rb);
	return rc;
}

int repro_verify_build(const struct recipe *r, const struct build_opts *o, struct build_result *res,
		       struct strbuf *report)
{
	char *outdir = o->outdir ? xstrdup(o->outdir) : default_outdir(r);
	char *work = make_workdir(r, outdir);
	int rc = -1;
	if (!work) {
		free(outdir);
		return -1;
	}
	char *root_a = path_join(work, "root-a"), *root_b = path_join(work, "root-b"), *out_b = path_join(work, "b");
	struct build_opts first = *o, second = *o;
	first.outdir = outdir;
	first.keep_root = root_a;
	second.outdir = out_b;
	second.keep_root = root_b;
	second.no_cache = 1;
	second.threads = o->threads == 1 ? 2 : 1;
	memset(res, 0, sizeof *res);
	info("verify-repro: first build");
	if (appliance_build(r, &first, res) == 0) {
		struct build_result res_b;
		info("verify-repro: second build (stage cache off, %d compression thread%s)", second.threads,
		     second.threads == 1 ? "" : "s");
		if (appliance_build(r, &second, &res_b) == 0) {
			build_result_release(&res_b);
			rc = compare(res->outdir, work, report);
		}
	}
	rm_rf(work);
	cleanup_unregister(work);
	free(work);
	free(root_a);
	free(root_b);
	free(out_b);
	free(outdir);
	return rc;
}
