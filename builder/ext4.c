/* builder/ext4.c: size, clamp and build the ext4 root filesystem image. */
#include "builder/ext4.h"

#include "util/diag.h"
#include "util/io.h"
#include "util/run.h"
#include "util/strbuf.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
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

/* Free inode ranges per group from dumpe2fs, turned into the in-use list. */
static int used_inodes(const char *image, uint32_t **out, size_t *n_out)
{
	const char *argv[] = {"dumpe2fs", image, NULL};
	struct strbuf dump = STRBUF_INIT;
	struct run_opts o = {.output = &dump};
	if (run_argv(argv, &o) != 0) {
		strbuf_release(&dump);
		return error("dumpe2fs %s failed", image);
	}
	unsigned long per_group = 0, group = 0;
	uint32_t *list = NULL;
	size_t n = 0, alloc = 0;
	char *save = NULL;
	for (char *line = strtok_r(dump.buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "Inodes per group: %lu", &per_group) == 1)
			continue;
		if (strncmp(line, "  Free inodes:", 14) || !per_group)
			continue;
		/* Mark the group's inodes used, then clear each free range. */
		unsigned long first = group * per_group + 1, last = (group + 1) * per_group;
		char *free_map = xcalloc(per_group, 1);
		for (char *tok = line + 14; *tok;) {
			unsigned long a, b;
			int used_chars = 0;
			if (sscanf(tok, " %lu-%lu%n", &a, &b, &used_chars) == 2 || (sscanf(tok, " %lu%n", &a, &used_chars) == 1 && (b = a, 1))) {
				for (unsigned long i = a; i <= b && i <= last; i++)
					if (i >= first)
						free_map[i - first] = 1;
				tok += used_chars;
				while (*tok == ',' || *tok == ' ')
					tok++;
			} else {
				break;
			}
		}
		for (unsigned long i = first; i <= last; i++) {
			if (free_map[i - first] || (i < 11 && i != 2))
				continue;
			if (n == alloc)
				list = xrealloc(list, (alloc = alloc ? alloc * 2 : 1024) * sizeof *list);
			list[n++] = (uint32_t)i;
		}
		free(free_map);
		group++;
	}
	strbuf_release(&dump);
	*out = list;
	*n_out = n;
	return 0;
}

/* mke2fs -d copies each file's ctime (which no one can set on the host) and
 * its read of the file bumps the atime, so both are set to the epoch after
 * the fact with debugfs, for every inode in use. */
static int ext4_fix_times(const char *image, uint64_t epoch, const char *cmdfile)
{
	uint32_t *inodes = NULL;
	size_t n = 0;
	if (used_inodes(image, &inodes, &n) < 0)
		return -1;
	struct strbuf cmds = STRBUF_INIT;
	for (size_t i = 0; i < n; i++)
		strbuf_addf(&cmds, "sif <%u> atime @%llu\nsif <%u> ctime @%llu\n", inodes[i], (unsigned long long)epoch,
			    inodes[i], (unsigned long long)epoch);
	free(inodes);
	int rc = write_file_atomic(cmdfile, cmds.buf, cmds.len, 0600);
	strbuf_release(&cmds);
	if (rc < 0)
		return -1;
	const char *argv[] = {"debugfs", "-w", "-f", cmdfile, image, NULL};
	struct strbuf out = STRBUF_INIT;
	/* debugfs stamps the superblock's write time when it closes the image. */
	char fake_time[64];
	snprintf(fake_time, sizeof fake_time, "E2FSPROGS_FAKE_TIME=%llu", (unsigned long long)epoch);
	char *env[] = {fake_time, NULL};
	struct run_opts o = {.output = &out, .env_add = env};
	rc = run_argv(argv, &o);
	unlink(cmdfile);
	if (rc != 0)
		error("debugfs could not set inode times: %s", out.buf);
	strbuf_release(&out);
	return rc ? -1 : 0;
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
	if (rc)
		return -1;
	char *cmdfile = xasprintf("%s.times", image);
	rc = ext4_fix_times(image, epoch, cmdfile);
	free(cmdfile);
	return rc;
}
