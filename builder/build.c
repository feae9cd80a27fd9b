/* builder/build.c: the `apkg build` pipeline, one stage after another.
 *
 * Each stage is a call into its own module (rootfs_*, customize, kernel,
 * initramfs, disk, formats); this file only sequences them, times them,
 * and owns the scratch directory and the atomic swap of the output. The
 * root tree's stages (base and customize, through the stage cache) and its
 * ostree output are in builder/build_tree.c.
 */
#include "builder/build.h"
#include "builder/build_internal.h"

#include "builder/disk.h"
#include "builder/hygiene.h"
#include "builder/manifest.h"
#include "builder/probe_install.h"
#include "builder/rootfs.h"
#include "builder/rootfs_busybox.h"
#include "formats/extents.h"
#include "formats/meta.h"
#include "formats/writer.h"
#include "initramfs/initramfs.h"
#include "kernel/kernel.h"
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

void stage_begin(struct build_ctx *c, const char *name, const char *what)
{
	c->stage = name;
	c->t_stage = now_seconds();
	progress_stage("%s", what);
}

void stage_end(struct build_ctx *c)
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
	stage_begin(c, "hygiene", "hygiene gates");
	if (hygiene_gate(r, c->rootdir, &c->m.hygiene) < 0)
		return -1;
	stage_end(c);
	if (build_kernel(c) < 0)
		return -1;
	stage_end(c);
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
	build_tree_release(&c);
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
