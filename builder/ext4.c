/* builder/ext4.c: size, clamp and build the ext4 root filesystem image. */
#include "builder/ext4.h"

#include "util/diag.h"
#include "util/io.h"
#include "util/run.h"
#include "util/strbuf.h"

#include <dirent.h>
#include <et/com_err.h>
#include <ext2fs/ext2fs.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define MiB (1024ull * 1024)

static struct tree_usage *walk_usage;

static int usage_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path; (void)flag; (void)ftw;
	walk_usage->inodes++;
	if (S_ISREG(st->st_mode) || S_ISDIR(st->st_mode) || S_ISLNK(st->st_mode))
		walk_usage->bytes += ((uint64_t)st->st_size + 4095) / 4096 * 4096;
	return 0;
}

int tree_usage(const char *rootdir, struct tree_usage *u)
{
	u->bytes = u->inodes = 0;
	walk_usage = u;
	if (nftw(rootdir, usage_cb, 64, FTW_PHYS) < 0)
		return error_errno("cannot walk %s", rootdir);
	return 0;
}

uint64_t ext4_auto_size(const struct tree_usage *u)
{
	/* Content, inode tables (256 B each, with slack for 2x the inodes), the
	 * journal (about 4 MiB at these sizes), 30% growth and 64 MiB headroom.
	 * Free blocks are holes in the image, so headroom costs nothing on download. */
	uint64_t need = u->bytes + u->inodes * 512 + u->bytes * 3 / 10 + 64 * MiB;
	return (need + MiB - 1) / MiB * MiB;
}

/* mke2fs -d copies each file's ctime (which no one can set on the host) and
 * its read of the file bumps the atime, so both are set to the epoch after
 * the fact, for every inode in use but the reserved ones (1 and 3..10),
 * with libext2fs (which keeps the inode checksums right). Closing the file
 * system stamps the superblock's write time: fs->now makes that the epoch. */
static int ext4_fix_times(const char *image, uint64_t epoch)
{
	ext2_filsys fs = NULL;
	ext2_inode_scan scan = NULL;
	errcode_t err = ext2fs_open(image, EXT2_FLAG_RW | EXT2_FLAG_64BITS, 0, 0, unix_io_manager, &fs);
	if (!err)
		err = ext2fs_read_inode_bitmap(fs);
	if (!err)
		err = ext2fs_open_inode_scan(fs, 0, &scan);
	if (err) {
		if (fs)
			ext2fs_close_free(&fs);
		return error("%s: libext2fs cannot open it: %s", image, error_message(err));
	}
	fs->now = (time_t)epoch;
	struct ext2_inode_large inode;
	ext2_ino_t ino;
	while (!err && !(err = ext2fs_get_next_inode_full(scan, &ino, (struct ext2_inode *)&inode, sizeof inode)) && ino) {
		if (!ext2fs_test_inode_bitmap2(fs->inode_map, ino) || (ino < EXT2_FIRST_INO(fs->super) && ino != EXT2_ROOT_INO))
			continue;
		inode.i_atime = inode.i_ctime = (__u32)epoch;
		if (EXT2_INODE_SIZE(fs->super) > EXT2_GOOD_OLD_INODE_SIZE &&
		    inode.i_extra_isize >= offsetof(struct ext2_inode_large, i_crtime) - EXT2_GOOD_OLD_INODE_SIZE)
			inode.i_atime_extra = inode.i_ctime_extra = (__u32)(epoch >> 32 & 3);
		err = ext2fs_write_inode_full(fs, ino, (struct ext2_inode *)&inode, sizeof inode);
	}
	ext2fs_close_inode_scan(scan);
	errcode_t cerr = ext2fs_close_free(&fs);
	if (err || cerr)
		return error("%s: cannot set inode times: %s", image, error_message(err ? err : cerr));
	return 0;
}

/* ---- extended attributes in one order ---- */

#define XATTR_LIST_MAX_BYTES 65536
#define XATTR_VALUE_MAX_BYTES 65536

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* mke2fs -d stores an inode's xattrs in the order the host lists them, which
 * is the order they were set in (a tarball's, OSTree's, a package's): set
 * them again sorted by name, so that the same attributes give the same
 * inode whatever made the tree. path is a /proc/self/fd/N/name path. */
static int sort_xattrs(const char *path, const char *shown)
{
	char names[XATTR_LIST_MAX_BYTES];
	ssize_t n = llistxattr(path, names, sizeof names);
	if (n <= 0)
		return 0;
	char *list[256];
	size_t count = 0;
	int sorted = 1;
	for (ssize_t i = 0; i < n && count < 256; i += (ssize_t)strlen(names + i) + 1) {
		list[count] = names + i;
		sorted &= count == 0 || strcmp(list[count - 1], list[count]) < 0;
		count++;
	}
	if (sorted)
		return 0;
	qsort(list, count, sizeof *list, cmp_names);
	char *values[256];
	ssize_t sizes[256];
	size_t read = 0;
	int rc = 0;
	for (; read < count && rc == 0; read++) {
		values[read] = xmalloc(XATTR_VALUE_MAX_BYTES);
		sizes[read] = lgetxattr(path, list[read], values[read], XATTR_VALUE_MAX_BYTES);
		if (sizes[read] < 0)
			rc = error_errno("%s: cannot read xattr %s", shown, list[read]);
	}
	for (size_t i = 0; i < count && rc == 0; i++)
		if (lremovexattr(path, list[i]) < 0)
			rc = error_errno("%s: cannot remove xattr %s", shown, list[i]);
	for (size_t i = 0; i < count && rc == 0; i++)
		if (lsetxattr(path, list[i], values[i], (size_t)sizes[i], XATTR_CREATE) < 0)
			rc = error_errno("%s: cannot set xattr %s", shown, list[i]);
	for (size_t i = 0; i < read; i++)
		free(values[i]);
	return rc;
}

static int sort_xattrs_below(int dfd, const char *rel, int depth)
{
	size_t n;
	char **names = dir_names_at(dfd, &n);
	if (!names)
		return error_errno("cannot list %s", rel);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		char *proc = xasprintf("/proc/self/fd/%d/%s", dfd, names[i]);
		char *shown = xasprintf("%s/%s", rel, names[i]);
		struct stat st;
		rc = sort_xattrs(proc, shown);
		if (rc == 0 && fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode) && depth < 256) {
			int sub = openat(dfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			rc = sub < 0 ? error_errno("cannot open %s", shown) : sort_xattrs_below(sub, shown, depth + 1);
			if (sub >= 0)
				close(sub);
		}
		free(proc);
		free(shown);
	}
	free_names(names, n);
	return rc;
}

static int sort_tree_xattrs(const char *rootdir)
{
	int dfd = open(rootdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return error_errno("cannot open %s", rootdir);
	char *proc = xasprintf("/proc/self/fd/%d", dfd);
	int rc = sort_xattrs(proc, "/");
	if (rc == 0)
		rc = sort_xattrs_below(dfd, "", 0);
	free(proc);
	close(dfd);
	return rc;
}

int ext4_build(const char *rootdir, const char *image, uint64_t size, const struct tree_usage *u,
	       const char *fs_uuid, const char *hash_seed, uint64_t epoch)
{
	require_tool("mke2fs", "e2fsprogs");
	char size_k[32], inodes[32], ext[128], fake_time[64];
	snprintf(size_k, sizeof size_k, "%lluk", (unsigned long long)(size / 1024));
	/* Twice the current count leaves room for the appliance to create files. */
	uint64_t n_inodes = u->inodes * 2 + 4096;
	snprintf(inodes, sizeof inodes, "%llu", (unsigned long long)n_inodes);
	snprintf(ext, sizeof ext, "hash_seed=%s,root_owner=0:0", hash_seed);
	snprintf(fake_time, sizeof fake_time, "E2FSPROGS_FAKE_TIME=%llu", (unsigned long long)epoch);
	/* mke2fs -d sorts each directory with alphasort(), which follows the locale. */
	char *env[] = {fake_time, "LC_ALL=C", NULL};
	if (sort_tree_xattrs(rootdir) < 0)
		return -1;
	unlink(image);
	const char *argv[] = {"mke2fs", "-q", "-F", "-t", "ext4", "-d", rootdir, "-L", "root", "-U", fs_uuid,
			      "-N", inodes, "-m", "1", "-E", ext, image, size_k, NULL};
	struct strbuf out = STRBUF_INIT;
	struct run_opts o = {.output = &out, .env_add = env};
	int rc = run_argv(argv, &o);
	if (rc != 0)
		error("mke2fs failed (exit %d): %s", rc, out.buf);
	strbuf_release(&out);
	if (rc)
		return -1;
	rc = ext4_fix_times(image, epoch);
	return rc;
}
