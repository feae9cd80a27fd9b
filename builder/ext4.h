/* builder/ext4.h: the root filesystem image, made by `mke2fs -d` without mounting.
 *
 * Promises: the caller clamps the tree's timestamps first (rootfs_clamp_mtimes); inode
 * atimes and ctimes, which mke2fs takes from the host, are set to the epoch after; the
 * filesystem UUID and directory hash seed come from the caller, so the same
 * tree gives the same image: directories are read in byte order (mke2fs sorts
 * them, in the C locale) and each inode's xattrs are set again in name order,
 * so neither the host's directory order nor the order in which a tarball,
 * OSTree or a package set the xattrs shows in the image. Ownership and modes are taken from the tree as
 * it is on the host (apkg builds as root).
 */
#ifndef APKG_BUILDER_EXT4_H
#define APKG_BUILDER_EXT4_H

#include <stdint.h>

struct tree_usage {
	uint64_t bytes;   /* file data rounded to 4 KiB blocks */
	uint64_t inodes;
};

int tree_usage(const char *rootdir, struct tree_usage *u);
/* Filesystem size auto-sizing picks for this content (a MiB multiple). */
uint64_t ext4_auto_size(const struct tree_usage *u);
int ext4_build(const char *rootdir, const char *image, uint64_t size, const struct tree_usage *u,
	       const char *fs_uuid, const char *hash_seed, uint64_t epoch);

#endif
