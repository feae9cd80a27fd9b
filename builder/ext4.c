/* builder/ext4.c: size, clamp and build the ext4 root filesystem image. */
#include "builder/ext4.h"

#include "util/diag.h"
#include "util/run.h"
#include "util/strbuf.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define MiB (1024ull * 1024)

static struct tree_usage *walk_usage;
static uint64_t walk_epoch;

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

static int clamp_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)flag; (void)ftw;
	if ((uint64_t)st->st_mtime <= walk_epoch && (uint64_t)st->st_atime <= walk_epoch)
		return 0;
	struct timespec ts[2];
	ts[0].tv_sec = (uint64_t)st->st_atime > walk_epoch ? (time_t)walk_epoch : st->st_atime;
	ts[0].tv_nsec = 0;
	ts[1].tv_sec = (uint64_t)st->st_mtime > walk_epoch ? (time_t)walk_epoch : st->st_mtime;
	ts[1].tv_nsec = 0;
	if (utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return error_errno("cannot set times of %s", path);
	return 0;
}

int tree_clamp_times(const char *rootdir, uint64_t epoch)
{
	walk_epoch = epoch;
	/* FTW_DEPTH: a directory's times are set after its entries changed it. */
	return nftw(rootdir, clamp_cb, 64, FTW_PHYS | FTW_DEPTH) != 0 ? -1 : 0;
}

uint64_t ext4_auto_size(const struct tree_usage *u)
{
	/* Content, inode tables (256 B each, with slack for 2x the inodes), the
	 * journal (about 4 MiB at these sizes), 30% growth and 64 MiB headroom.
	 * Free blocks are holes in the image, so headroom costs nothing on download. */
	uint64_t need = u->bytes + u->inodes * 512 + u->bytes * 3 / 10 + 64 * MiB;
	return (need + MiB - 1) / MiB * MiB;
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
	char *env[] = {fake_time, NULL};
	unlink(image);
	const char *argv[] = {"mke2fs", "-q", "-F", "-t", "ext4", "-d", rootdir, "-L", "root", "-U", fs_uuid,
			      "-N", inodes, "-m", "1", "-E", ext, image, size_k, NULL};
	struct strbuf out = STRBUF_INIT;
	struct run_opts o = {.output = &out, .env_add = env};
	int rc = run_argv(argv, &o);
	if (rc != 0)
		error("mke2fs failed (exit %d): %s", rc, out.buf);
	strbuf_release(&out);
	return rc ? -1 : 0;
}
