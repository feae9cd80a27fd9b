/* builder/ostree_io.h: OSTree in and out: a commit as the base, the finished root as a commit.
 *
 * In: `base: {ostree: {repo: PATH, ref: REF}}`. The ref is resolved when
 * the recipe is loaded (the recipe's hash covers the commit, not only its
 * name); the build copies that commit out as the root filesystem, restores
 * the times, hard links and device nodes when the commit carries apkg's
 * tree metadata (one made by `outputs: [ostree]`), then scrubs it like any
 * base. The commit is used as a plain tree: no deployment, /usr/etc is not
 * merged into /etc.
 * Out: `outputs: [ostree]` commits the final root filesystem (exactly what
 * the images hold) as ref apkg/<name>/<version> to OUTDIR/ostree, an
 * archive repository that any web server can serve to `ostree pull`. The
 * previous version (the highest apkg/<name>/<v> below this one, found in
 * OUTDIR/ostree or in a sibling <name>-*\/ostree output) is pulled in with
 * its history, becomes the new commit's parent, and a static delta from it
 * is generated, so mirrors carry an update channel beside whole images.
 * The commit's time is the recipe's epoch: the same inputs give the same
 * commit checksum.
 */
#ifndef APKG_BUILDER_OSTREE_IO_H
#define APKG_BUILDER_OSTREE_IO_H

struct recipe;

/* The commit ref names in the repository at repo_path. Returns 0; -1 when
 * repo_path is no repository, -2 when the ref names no commit there, with
 * *why (caller frees) completing "the repository/ref ...". */
int ostree_lookup(const char *repo_path, const char *ref, char commit[65], char **why);

/* The ostree base: r->base.ostree_commit copied into rootdir (which is
 * replaced), then rootfs_scrub(). */
int rootfs_ostree(const struct recipe *r, const char *rootdir);

struct ostree_output {
	char ref[320];
	char commit[65];
	char parent[65];          /* "" when there was no previous version */
	char parent_version[128];
	int delta;                /* a static delta parent -> commit was generated */
};

/* True if the recipe's outputs (or the --format list) name ostree. */
int ostree_output_wanted(char *const *formats, unsigned long n);

/* Commits rootdir to staging/ostree (the output directory being built, to
 * become outdir), as described above. */
int ostree_output_commit(const struct recipe *r, const char *rootdir, const char *staging, const char *outdir,
			 struct ostree_output *out);

#endif
