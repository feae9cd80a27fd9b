/* builder/build.h: recipe -> appliance: the whole `apkg build` pipeline.
 *
 * Stages: root filesystem (base), customisation, hygiene gates, kernel, initramfs, disk,
 * then one image per requested format, manifest.json and SHA256SUMS.
 * Promises: the output directory appears complete or not at all (it is
 * built in a scratch directory beside it and swapped in atomically with
 * renameat2(RENAME_EXCHANGE)); a failed or interrupted build leaves neither
 * partial output nor scratch behind.
 */
#ifndef APKG_BUILDER_BUILD_H
#define APKG_BUILDER_BUILD_H

#include "builder/recipe.h"

struct build_opts {
	const char *outdir;        /* NULL: out/<name>-<version> */
	char **formats;            /* NULL: the recipe's outputs */
	size_t n_formats;
	int threads;               /* image compression workers; 0 = cores */
	const char *cache_dir;     /* NULL: ~/.cache/apkg */
	int no_cache;              /* build every stage; neither read nor write the stage cache */
	const char *keep_root;     /* when set, the final root tree is moved there (same file system) */
	int json;                  /* machine output on stdout */
};

struct build_result {
	char *outdir;              /* the final output directory */
	double seconds;
	struct strbuf *stage_times; /* JSON object text of per-stage seconds */
	char *cache;               /* JSON object members: each cached stage's outcome ("hit", "stored", ...) */
};

/* Returns 0 on success (result->outdir set; caller frees with build_result_release). */
int appliance_build(const struct recipe *r, const struct build_opts *o, struct build_result *result);
void build_result_release(struct build_result *res);
/* out/<name>-<version> */
char *default_outdir(const struct recipe *r);
/* The image file name for a format: <name>-<version>.<ext> */
char *artifact_name(const struct recipe *r, const char *format);

#endif
