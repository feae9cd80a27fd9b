/* builder/build.c: the `apkg build` pipeline, one stage after another.
 *
 * Each stage is a call into its own module (rootfs_*, customize, kernel,
 * initramfs, disk, formats); this file only sequences them, times them,
 * and owns the scratch directory and the atomic swap of the output. The
 * two stages that make the root tree, base and customize, go through the
 * stage cache (builder/stage_cache.h) when their keys can be computed.
 */
#include "builder/build.h"

#include "builder/disk.h"
#include "builder/manifest.h"
#include "builder/ostree_io.h"
#include "builder/ostree_tree.h"
#include "builder/probe_install.h"
#include "builder/rootfs.h"
#include "builder/rootfs_busybox.h"
#include "builder/stage_cache.h"
#include "builder/stage_key.h"
#include "formats/extents.h"
#include "formats/meta.h"
#include "formats/ova/lint.h"
#include "formats/writer.h"
#include "initramfs/initramfs.h"
#include "kernel/kernel.h"
#include "publish/sbom.h"
#include "publish/sbom.h"
#include "util/diag.h"
#include "util/io.h"
#include "util/progress.h"
#include "util/sha256.h"
#include "util/strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *default_outdir(const struct recipe *r) { return xasprintf("out/%s-%s", r->name, r->version); }

char *artifact_name(const struct recipe *r, const char *format)
{
	const struct image_format *f = image_format_find(format);
	return xasprintf("%s-%s.%s", r->name, r->version, f ? f->extension : format);
}

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

static void stage_begin(struct build_ctx *c, const char *name, const char *what)
{
	c->stage = name;
	c->t_stage = now_seconds();
	progress_stage("%s", what);
}

static void stage_end(struct build_ctx *c)
{
	double dt = now_seconds() - c->t_stage;
	strbuf_addf(&c->times, "%s\"%s\": %.2f", c->times.len ? ", " : "", c->stage, dt);
	info("    %s: %.1f s", c->stage, dt);
}

static int make_scratch(struct build_ctx *c, const char *outdir)
{
	char *parent = xstrdup(outdir);
	char *slash = strrchr(parent, '/');
	if (slash)
		*slash = 0;
	else
		strcpy(parent, ".");
	if (mkdir_p(parent, 0755) < 0) {
		free(parent);
		return -1;
	}
	c->scratch = xasprintf("%s/.apkg-build-%s-XXXXXX", parent, c->r->name);
	free(parent);
	if (!mkdtemp(c->scratch))
		return error_errno("cannot create a scratch directory beside %s", outdir);
	cleanup_register(c->scratch);
	c->rootdir = path_join(c->scratch, "root");
	c->staging = path_join(c->scratch, "out");
	if (mkdir(c->rootdir, 0755) < 0 || mkdir(c->staging, 0755) < 0)
		return error_errno("cannot populate %s", c->scratch);
	return 0;
}

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
static int build_root_tree(struct build_ctx *c)
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

/* ---- end of the cached stages ---- */

/* An ostree base brings its kernel when it has one installed. */
static int root_has_kernel(const char *rootdir)
{
	char *pattern = xasprintf("%s/boot/vmlinuz-*", rootdir);
	glob_t g;
	int found = glob(pattern, 0, NULL, &g) == 0;
	if (found)
		globfree(&g);
	free(pattern);
	return found;
}

static int build_kernel(struct build_ctx *c)
{
	stage_begin(c, "kernel", "kernel");
	int r;
	if (c->r->base.kind == BASE_DEBIAN || (c->r->base.kind == BASE_OSTREE && root_has_kernel(c->rootdir))) {
		r = kernel_find_in_root(c->rootdir, &c->kernel);
	} else {
		char *cache = c->o->cache_dir ? path_join(c->o->cache_dir, "debs") : NULL;
		r = kernel_fetch(c->r->kernel.package, cache, &c->kernel);
		free(cache);
	}
	c->have_kernel = r == 0;
	if (r == 0)
		info("    kernel %s", c->kernel.release);
	return r;
}

static int build_initramfs(struct build_ctx *c, char **initrd_out)
{
	stage_begin(c, "initramfs", "initramfs");
	char *init = find_libexec("apkg-init");
	if (!init)
		return error("apkg-init not found next to apkg (run 'make')");
	struct initramfs_opts io = {.kernel = &c->kernel,
				    .extra_modules = (const char *const *)c->r->kernel.modules.items,
				    .n_extra = c->r->kernel.modules.n,
				    .init_binary = init,
				    .epoch = c->r->epoch};
	*initrd_out = path_join(c->staging, "initrd.img");
	int r = initramfs_build(&io, *initrd_out);
	if (r == 0)
		r = initramfs_module_names(&io, &c->m.initramfs_modules, &c->m.n_initramfs_modules);
	free(init);
	return r;
}

static void on_progress(void *ctx, uint64_t done, uint64_t total) { progress_update(ctx, done, total); }

static int has_target(const struct recipe *r, const char *prefix)
{
	for (size_t i = 0; i < r->targets.n; i++)
		if (!strncmp(r->targets.items[i], prefix, strlen(prefix)))
			return 1;
	return 0;
}

/* What the OVA's descriptor says about the machine: from the recipe, with the
 * OVF profile of the product the recipe targets (VMware first, as its
 * importers are the strictest). */
static void fill_meta(const struct recipe *r, struct appliance_meta *m)
{
	memset(m, 0, sizeof *m);
	m->name = r->name;
	m->version = r->version;
	m->description = r->description;
	m->cpus = (unsigned)r->hardware.cpus;
	m->memory = r->hardware.memory;
	m->nic = r->hardware.nic;
	m->firmware = r->disk.boot == BOOT_BIOS ? FIRMWARE_BIOS : r->disk.boot == BOOT_UEFI ? FIRMWARE_EFI : FIRMWARE_ANY;
	m->os = r->base.kind == BASE_DEBIAN ? "debian" : "linux";
	m->ova_profile = has_target(r, "vmware") ? "vmware" : has_target(r, "virtualbox") ? "virtualbox" : "generic";
}

/* Every OVA apkg writes passes its own linter for the profile it was made for. */
static int lint_ova(const char *path, const char *profile)
{
	unsigned products;
	struct lint_report rep;
	if (lint_profile_products(profile, &products) < 0)
		products = PRODUCT_ALL;
	memset(&rep, 0, sizeof rep);
	if (ova_lint_file(path, products, &rep) < 0)
		return -1;
	int rc = 0;
	if (rep.errors || rep.warnings)
		lint_report_print(&rep, stderr, path, 0);
	if (rep.errors)
		rc = error("the OVA fails its lint (%u errors): not shipping it", rep.errors);
	lint_report_release(&rep);
	return rc;
}

static int write_formats(struct build_ctx *c, struct disk_image *img)
{
	const struct recipe *r = c->r;
	char **fmts = c->o->formats ? c->o->formats : r->outputs.items;
	size_t n = c->o->formats ? c->o->n_formats : r->outputs.n;
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(fmts[i], "ostree")) /* a repository, not an image: write_ostree() */
			continue;
		const struct image_format *f = image_format_find(fmts[i]);
		if (!f)
			return error("output format '%s' is not available yet (available: %s)", fmts[i],
				     image_format_names());
		char *name = artifact_name(r, fmts[i]);
		char *path = path_join(c->staging, name);
		struct appliance_meta meta;
		fill_meta(r, &meta);
		struct image_options opt = {.virtual_size = img->size, .threads = c->o->threads, .epoch = r->epoch,
					    .seed = r->hash, .meta = &meta};
		struct image_writer *w = image_writer_open(f, path, &opt);
		int rc = w ? extents_stream(&img->layout, w, on_progress, (void *)f->name) : -1;
		progress_done();
		if (w)
			rc = rc ? (image_writer_abort(w), -1) : image_writer_finish(w);
		if (rc == 0 && !strcmp(f->name, "ova"))
			rc = lint_ova(path, meta.ova_profile);
		if (rc == 0)
			manifest_add_artifact(&c->m, name, f->name, path);
		free(name);
		free(path);
		if (rc)
			return -1;
	}
	return 0;
}

static int build_disk(struct build_ctx *c, const char *initrd)
{
	const struct recipe *r = c->r;
	stage_begin(c, "disk", "disk: ESP, root filesystem, GPT");
	char *vmlinuz = path_join(c->staging, "vmlinuz");
	if (copy_file_sparse(c->kernel.vmlinuz, vmlinuz, 0644) < 0) {
		free(vmlinuz);
		return -1;
	}
	char *title = xasprintf("%s %s", r->name, r->version);
	struct disk_inputs in = {.rootdir = c->rootdir, .vmlinuz = vmlinuz, .initrd = initrd,
				 .extra_cmdline = r->kernel.cmdline, .boot = r->disk.boot,
				 .requested_size = r->disk.size, .title = title, .seed = r->hash,
				 .epoch = r->epoch, .scratch = c->scratch};
	struct disk_image img;
	int rc = disk_build(&in, &img);
	if (rc && r->disk.size && r->disk.size_pos.line)
		diag_at(r->disk.size_pos.file, r->disk.size_pos.line, r->disk.size_pos.col, "disk.size set here");
	free(title);
	free(vmlinuz);
	if (rc == 0) {
		stage_end(c);
		manifest_set_disk(&c->m, &img);
		stage_begin(c, "images", "images");
		rc = write_formats(c, &img);
	}
	disk_image_release(&img);
	return rc;
}

static int write_ostree(struct build_ctx *c, const char *outdir)
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

/* Swaps staging into place: the old output (if any) vanishes in the same
 * rename that makes the new one appear. */
static int publish_outdir(struct build_ctx *c, const char *outdir)
{
	if (renameat2(AT_FDCWD, c->staging, AT_FDCWD, outdir, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EEXIST)
		return error_errno("cannot move the output into %s", outdir);
	if (renameat2(AT_FDCWD, c->staging, AT_FDCWD, outdir, RENAME_EXCHANGE) < 0)
		return error_errno("cannot replace %s", outdir);
	return 0; /* the old output is now at c->staging and goes with the scratch */
}

/* OUTDIR/<name>-<version>.spdx.json, while the root filesystem still exists
 * (publish/sbom.h). A downloaded kernel is named by its resolved package;
 * a debian base's kernel is in the image's dpkg database already. */
static int write_sbom(struct build_ctx *c)
{
	const struct recipe *r = c->r;
	char *path = xasprintf("%s/%s-%s.spdx.json", c->staging, r->name, r->version);
	char *package = c->have_kernel && r->base.kind != BASE_DEBIAN ? xasprintf("linux-image-%s", c->kernel.release)
								      : NULL;
	struct sbom_kernel k = {.package = package, .release = c->have_kernel ? c->kernel.release : NULL};
	int rc = sbom_write_spdx(c->rootdir, r, &k, path);
	free(package);
	free(path);
	return rc;
}

static int run_pipeline(struct build_ctx *c, const char *outdir)
{
	const struct recipe *r = c->r;
	if (make_scratch(c, outdir) < 0 || build_root_tree(c) < 0)
		return -1;
	stage_begin(c, "probe", "boot check agent");
	int systemd = rootfs_is_systemd(c->rootdir);
	if (probe_install(r, c->rootdir, systemd) < 0)
		return -1;
	stage_end(c);
	if (build_kernel(c) < 0)
		return -1;
	stage_end(c);
	char *sbom = xasprintf("%s/%s-%s.spdx.json", c->staging, r->name, r->version);
	struct sbom_kernel sk = {.package = r->kernel.package, .release = c->kernel.release};
	int sbom_rc = sbom_write_spdx(c->rootdir, r, &sk, sbom);
	free(sbom);
	if (sbom_rc < 0)
		return -1;
	char *initrd = NULL;
	int rc = build_initramfs(c, &initrd);
	if (rc == 0) {
		stage_end(c);
		manifest_set_kernel(&c->m, r, &c->kernel);
		rc = build_disk(c, initrd);
	}
	free(initrd);
	if (rc)
		return -1;
	stage_end(c);
	if (write_ostree(c, outdir) < 0 || write_sbom(c) < 0 || manifest_write(&c->m, c->staging) < 0)
		return -1;
	return publish_outdir(c, outdir);
}

int appliance_build(const struct recipe *r, const struct build_opts *o, struct build_result *res)
{
	memset(res, 0, sizeof *res);
	struct build_ctx c = {.r = r, .o = o};
	strbuf_init(&c.times);
	strbuf_init(&c.cache_report);
	manifest_init(&c.m, r);
	double t0 = now_seconds();
	char *outdir = o->outdir ? xstrdup(o->outdir) : default_outdir(r);
	size_t len = strlen(outdir);
	while (len > 1 && outdir[len - 1] == '/')
		outdir[--len] = 0;
	int rc = run_pipeline(&c, outdir);
	if (rc && c.stage)
		error("build of %s %s failed in stage '%s'", r->name, r->version, c.stage);
	if (rc == 0 && o->keep_root && rename(c.rootdir, o->keep_root) < 0)
		rc = error_errno("cannot keep the root tree at %s", o->keep_root);
	stage_cache_close(c.cache);
	ostree_tree_snapshot_free(c.base_snap);
	if (c.scratch) {
		rm_rf(c.scratch);
		cleanup_unregister(c.scratch);
	}
	if (c.have_kernel)
		kernel_release(&c.kernel);
	manifest_release(&c.m);
	free(c.scratch);
	free(c.rootdir);
	free(c.staging);
	if (rc) {
		free(outdir);
		strbuf_release(&c.times);
		strbuf_release(&c.cache_report);
		return -1;
	}
	res->cache = strbuf_detach(&c.cache_report);
	res->outdir = outdir;
	res->seconds = now_seconds() - t0;
	res->stage_times = xmalloc(sizeof *res->stage_times);
	*res->stage_times = c.times;
	return 0;
}

void build_result_release(struct build_result *res)
{
	free(res->outdir);
	free(res->cache);
	if (res->stage_times) {
		strbuf_release(res->stage_times);
		free(res->stage_times);
	}
	memset(res, 0, sizeof *res);
}
