/* initramfs/cpio.h: a deterministic, compressed newc cpio writer on top of libarchive.
 *
 * Entries are given in any order and written sorted by path, with uid/gid 0, one fixed mtime
 * and inode numbers by position, so the same entries always give the same bytes. The archive
 * is written to a temporary file beside out_path and renamed over it only when complete.
 */
#ifndef APKG_INITRAMFS_CPIO_H
#define APKG_INITRAMFS_CPIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cpio_entry {
	char *path;       /* relative, no leading '/' */
	mode_t type;      /* S_IFDIR, S_IFREG or S_IFCHR */
	mode_t perm;      /* permission bits */
	unsigned rdev_major, rdev_minor; /* S_IFCHR only */
	char *data;       /* S_IFREG contents */
	size_t len;
};

struct cpio_list {
	struct cpio_entry *v;
	size_t n;
};

void cpio_add_dir(struct cpio_list *l, const char *path, mode_t perm);
/* Adds path and every missing parent directory (mode 0755). */
void cpio_add_dirs(struct cpio_list *l, const char *path);
void cpio_add_chr(struct cpio_list *l, const char *path, mode_t perm, unsigned major, unsigned minor);
/* Takes ownership of data (malloc'd). */
void cpio_add_file(struct cpio_list *l, const char *path, mode_t perm, char *data, size_t len);
void cpio_list_release(struct cpio_list *l);

/* Writes l (sorted in place) as zstd-compressed newc to out_path. */
int cpio_write(struct cpio_list *l, const char *out_path, uint64_t epoch);

#endif
