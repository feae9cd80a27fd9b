/* initramfs/initramfs.h: building apkg's own initramfs (a zstd-compressed newc cpio).
 *
 * The archive holds /init (bin/apkg-init), the module closure of the disk controllers every
 * target may use plus the recipe's extra modules, /lib/modules/load.order (absolute module paths
 * in load order, read by init), the directories init mounts on and a /dev/console node.
 * Promises: the same inputs give the same bytes (entries sorted, uid/gid 0, mtimes = epoch,
 * inode numbers by position); the output appears complete or not at all (temp + rename).
 */
#ifndef APKG_INITRAMFS_INITRAMFS_H
#define APKG_INITRAMFS_INITRAMFS_H

#include <stddef.h>
#include <stdint.h>

struct kernel;

struct initramfs_opts {
	const struct kernel *kernel;
	const char *const *extra_modules; /* recipe kernel.modules */
	size_t n_extra;
	const char *init_binary;          /* bin/apkg-init (find_libexec("apkg-init")) */
	uint64_t epoch;                   /* clamp every mtime */
};

/* The default module set: the disk controllers of every target plus what the root file system
 * and the boot check need; whichever of them the kernel has as modules are included. */
extern const char *const initramfs_default_modules[];
extern const size_t initramfs_n_default_modules;

int initramfs_build(const struct initramfs_opts *o, const char *out_path);
/* The modules actually included (names such as "virtio_blk", in load order), for the manifest
 * and the tests' driver check. Free with kernel_free_list(). */
int initramfs_module_names(const struct initramfs_opts *o, char ***names_out, size_t *n_out);

#endif
