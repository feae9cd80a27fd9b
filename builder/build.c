/* builder/build.c: the `apkg build` pipeline, one stage after another.
 *
 * Each stage is a call into its own module (rootfs_*, customize, kernel,
 * initramfs, disk, formats); this file only sequences them, times them,
 * and owns the scratch directory and the atomic swap of the output.
 */
#include "builder/build.h"

#include "builder/disk.h"
#include "builder/hygiene.h"
#include "builder/manifest.h"
#include "builder/probe_install.h"
#include "builder/rootfs.h"
#include "builder/rootfs_busybox.h"
#include "formats/extents.h"
#include "formats/writer.h"
#include "initramfs/initramfs.h"
#include "kernel/kernel.h"
#include "util/diag.h"
#include "util/io.h"
#include "util/progress.h"
#include "util/sha256.h"
#include "util/strbuf.h"

#include <errno.h>
#include <fcntl.h>
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

static int build_rootfs(struct build_ctx *c)
{
	const struct recipe *r = c->r;
	switch (r->base.kind) {
	case BASE_BUSYBOX:
		stage_begin(c, "rootfs", "root filesystem: busybox");
		return rootfs_busybox(r, c->rootdir);
	case BASE_DEBIAN:
		stage_begin(c, "rootfs", "root filesystem: debian (mmdebstrap)");
		return rootfs_debian(r, c->rootdir, c->scratch);
	case BASE_TARBALL:
		stage_begin(c, "rootfs", "root filesystem: tarball");
		return rootfs_tarball(r, c->rootdir);
	}
	return error("unknown base");
}

static int build_kernel(struct build_ctx *c)
{
	stage_begin(c, "kernel", "kernel");
	int r;
	if (c->r->base.kind == BASE_DEBIAN) {
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

static int write_formats(struct build_ctx *c, struct disk_image *img)
{
	const struct recipe *r = c->r;
	char **fmts = c->o->formats ? c->o->formats : r->outputs.items;
	size_t n = c->o->formats ? c->o->n_formats : r->outputs.n;
	for (size_t i = 0; i < n; i++) {
		const struct image_format *f = image_format_find(fmts[i]);
		if (!f)
			return error("output format '%s' is not available yet (available: %s)", fmts[i],
				     image_format_names());
		char *name = artifact_name(r, fmts[i]);
		char *path = path_join(c->staging, name);
		struct image_options opt = {.virtual_size = img->size, .threads = c->o->threads, .epoch = r->epoch,
					    .seed = r->hash};
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

static int run_pipeline(struct build_ctx *c, const char *outdir)
{
	const struct recipe *r = c->r;
	if (make_scratch(c, outdir) < 0 || build_rootfs(c) < 0)
		return -1;
	stage_end(c);
	stage_begin(c, "customize", "customise: files, users, services, network, run");
	int systemd = rootfs_is_systemd(c->rootdir);
	if (customize(r, c->rootdir, systemd) < 0 || probe_install(r, c->rootdir, systemd) < 0)
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
	if (manifest_write(&c->m, c->staging) < 0)
		return -1;
	return publish_outdir(c, outdir);
}

int appliance_build(const struct recipe *r, const struct build_opts *o, struct build_result *res)
{
	memset(res, 0, sizeof *res);
	struct build_ctx c = {.r = r, .o = o};
	strbuf_init(&c.times);
	manifest_init(&c.m, r);
	double t0 = now_seconds();
	char *outdir = o->outdir ? xstrdup(o->outdir) : default_outdir(r);
	size_t len = strlen(outdir);
	while (len > 1 && outdir[len - 1] == '/')
		outdir[--len] = 0;
	int rc = run_pipeline(&c, outdir);
	if (rc && c.stage)
		error("build of %s %s failed in stage '%s'", r->name, r->version, c.stage);
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
		return -1;
	}
	res->outdir = outdir;
	res->seconds = now_seconds() - t0;
	res->stage_times = xmalloc(sizeof *res->stage_times);
	*res->stage_times = c.times;
	return 0;
}

void build_result_release(struct build_result *res)
{
	free(res->outdir);
	if (res->stage_times) {
		strbuf_release(res->stage_times);
		free(res->stage_times);
	}
	memset(res, 0, sizeof *res);
}
