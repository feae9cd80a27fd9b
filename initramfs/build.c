/* initramfs/build.c: what goes into apkg's initramfs, and in which order init loads it.
 *
 * The module set is fixed per kernel (every disk controller of every target, so one image
 * boots everywhere) plus the recipe's extras; the order comes from the kernel's modules.dep
 * and modules.softdep. Compressed modules (.ko.xz/.ko.zst/.ko.gz) are stored decompressed, so
 * init only ever calls finit_module on plain .ko files and the archive compresses them once.
 */
#include "initramfs/initramfs.h"

#include "initramfs/cpio.h"
#include "kernel/kernel.h"
#include "util/diag.h"
#include "util/io.h"
#include "util/strbuf.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MODULE_MAX_BYTES (256u << 20)

const char *const initramfs_default_modules[] = {
	"virtio_pci", "virtio_mmio", "virtio_blk", "virtio_scsi", /* QEMU/KVM, the apkg VMM */
	"ata_piix", "ahci", "sd_mod",                             /* IDE, SATA (VirtualBox) */
	"mptspi", "mptsas", "vmw_pvscsi",                         /* VMware */
	"hv_storvsc", "xen-blkfront", "nvme",                     /* Hyper-V, Xen, NVMe */
	"ext4",                                                   /* the root file system */
	"qemu_fw_cfg",                                            /* the boot check's flag */
};
const size_t initramfs_n_default_modules = sizeof initramfs_default_modules / sizeof *initramfs_default_modules;

static int closure_paths(const struct initramfs_opts *o, char ***paths, size_t *n)
{
	size_t total = initramfs_n_default_modules + o->n_extra;
	const char **names = xcalloc(total, sizeof *names);
	for (size_t i = 0; i < initramfs_n_default_modules; i++)
		names[i] = initramfs_default_modules[i];
	for (size_t i = 0; i < o->n_extra; i++) {
		names[initramfs_n_default_modules + i] = o->extra_modules[i];
		if (kernel_driver_state(o->kernel, o->extra_modules[i]) == DRIVER_MISSING)
			warning("kernel %s has no module or built-in driver named '%s'", o->kernel->release,
				o->extra_modules[i]);
	}
	int r = kernel_module_closure(o->kernel, names, total, paths, n);
	free(names);
	return r;
}

int initramfs_module_names(const struct initramfs_opts *o, char ***names_out, size_t *n_out)
{
	char **paths;
	size_t n;
	if (closure_paths(o, &paths, &n) < 0)
		return -1;
	char **names = xcalloc(n ? n : 1, sizeof *names);
	for (size_t i = 0; i < n; i++)
		names[i] = kernel_module_name(paths[i]);
	kernel_free_list(paths, n);
	*names_out = names;
	*n_out = n;
	return 0;
}

static int is_compressed_module(const char *path)
{
	size_t n = strlen(path);
	return (n > 3 && !strcmp(path + n - 3, ".xz")) || (n > 4 && !strcmp(path + n - 4, ".zst")) ||
	       (n > 3 && !strcmp(path + n - 3, ".gz"));
}

/* Decompresses a .ko.xz/.ko.zst/.ko.gz with libarchive's raw reader. */
static int read_decompressed(const char *path, struct strbuf *sb)
{
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_raw(a);
	struct archive_entry *e;
	int r = 0;
	if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK ||
	    archive_read_next_header(a, &e) != ARCHIVE_OK) {
		r = error("cannot decompress %s: %s", path, archive_error_string(a));
	} else {
		char buf[65536];
		la_ssize_t n;
		while ((n = archive_read_data(a, buf, sizeof buf)) > 0 && sb->len <= MODULE_MAX_BYTES)
			strbuf_add(sb, buf, (size_t)n);
		if (n < 0)
			r = error("cannot decompress %s: %s", path, archive_error_string(a));
		else if (sb->len > MODULE_MAX_BYTES)
			r = error("%s: decompresses to more than %u bytes", path, MODULE_MAX_BYTES);
	}
	archive_read_free(a);
	return r;
}

/* Adds one module as lib/modules/<release>/<path without compression suffix>; returns the
 * in-archive path (caller frees) or NULL. */
static char *add_module(struct cpio_list *l, const struct kernel *k, const char *rel_path)
{
	char *src = path_join(k->modules_dir, rel_path);
	struct strbuf sb = STRBUF_INIT;
	int compressed = is_compressed_module(rel_path);
	int r = compressed ? read_decompressed(src, &sb) : read_file(src, &sb, MODULE_MAX_BYTES);
	free(src);
	if (r < 0) {
		strbuf_release(&sb);
		return NULL;
	}
	char *dst = xasprintf("lib/modules/%s/%s", k->release, rel_path);
	if (compressed)
		*strrchr(dst, '.') = 0;
	char *dir = xstrdup(dst);
	*strrchr(dir, '/') = 0;
	cpio_add_dirs(l, dir);
	free(dir);
	size_t len = sb.len;
	cpio_add_file(l, dst, 0644, strbuf_detach(&sb), len);
	return dst;
}

static int add_modules(struct cpio_list *l, const struct initramfs_opts *o)
{
	char **paths;
	size_t n;
	if (closure_paths(o, &paths, &n) < 0)
		return -1;
	struct strbuf order = STRBUF_INIT;
	int r = 0;
	for (size_t i = 0; !r && i < n; i++) {
		char *dst = add_module(l, o->kernel, paths[i]);
		if (dst)
			strbuf_addf(&order, "/%s\n", dst);
		else
			r = -1;
		free(dst);
	}
	kernel_free_list(paths, n);
	size_t len = order.len;
	cpio_add_dirs(l, "lib/modules");
	cpio_add_file(l, "lib/modules/load.order", 0644, strbuf_detach(&order), len);
	return r;
}

static int add_skeleton(struct cpio_list *l, const char *init_binary)
{
	struct strbuf init = STRBUF_INIT;
	if (!path_exists(init_binary))
		return error("the initramfs init program %s is missing (run make)", init_binary);
	if (read_file(init_binary, &init, 64u << 20) < 0) {
		strbuf_release(&init);
		return -1;
	}
	size_t len = init.len;
	cpio_add_file(l, "init", 0755, strbuf_detach(&init), len);
	cpio_add_dir(l, "dev", 0755);
	/* The kernel opens /dev/console for init before any devtmpfs is mounted. */
	cpio_add_chr(l, "dev/console", 0600, 5, 1);
	cpio_add_dir(l, "proc", 0555);
	cpio_add_dir(l, "sys", 0555);
	cpio_add_dir(l, "newroot", 0755);
	return 0;
}

int initramfs_build(const struct initramfs_opts *o, const char *out_path)
{
	struct cpio_list l = { 0 };
	int r = add_skeleton(&l, o->init_binary);
	if (r == 0)
		r = add_modules(&l, o);
	if (r == 0)
		r = cpio_write(&l, out_path, o->epoch);
	cpio_list_release(&l);
	return r;
}
