/* repro/ext4_map.c: byte of an ext4 image -> superblock field, group metadata, inode field or file.
 *
 * Field offsets from the kernel's Documentation/filesystems/ext4/inodes.rst
 * and super.rst. Output of the e2fsprogs tools is parsed leniently: a line
 * that does not parse is skipped, and the answer falls back to the block
 * number.
 */
#include "repro/ext4_map.h"

#include "util/diag.h"
#include "util/run.h"
#include "util/strbuf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct field {
	unsigned end; /* exclusive */
	const char *name;
};

static const char *field_at(const struct field *f, size_t n, unsigned at, const char *beyond)
{
	for (size_t i = 0; i < n; i++)
		if (at < f[i].end)
			return f[i].name;
	return beyond;
}

const char *ext4_inode_field(unsigned at)
{
	static const struct field f[] = {
		{2, "mode"}, {4, "uid"}, {8, "size"}, {12, "atime"}, {16, "ctime"}, {20, "mtime"}, {24, "dtime"},
		{26, "gid"}, {28, "link count"}, {32, "block count"}, {36, "flags"}, {40, "version"},
		{100, "block map or extent tree"}, {104, "generation"}, {108, "extended attribute block"},
		{112, "size (high bits)"}, {116, "fragment address"}, {118, "block count (high bits)"},
		{120, "extended attribute block (high bits)"}, {122, "uid (high bits)"}, {124, "gid (high bits)"},
		{126, "checksum"}, {128, "reserved"}, {130, "extra inode size"}, {132, "checksum (high bits)"},
		{136, "ctime (extra bits)"}, {140, "mtime (extra bits)"}, {144, "atime (extra bits)"},
		{148, "creation time"}, {152, "creation time (extra bits)"}, {156, "version (high bits)"},
		{160, "project id"}};
	return field_at(f, sizeof f / sizeof *f, at, "in-inode extended attributes");
}

const char *ext4_super_field(unsigned at)
{
	static const struct field f[] = {
		{4, "inode count"}, {8, "block count"}, {12, "reserved block count"}, {16, "free block count"},
		{20, "free inode count"}, {24, "first data block"}, {28, "block size"}, {32, "cluster size"},
		{36, "blocks per group"}, {40, "clusters per group"}, {44, "inodes per group"}, {48, "mount time"},
		{52, "write time"}, {54, "mount count"}, {56, "maximum mount count"}, {58, "magic"}, {60, "state"},
		{62, "error behaviour"}, {64, "minor revision"}, {68, "last check time"}, {72, "check interval"},
		{76, "creator OS"}, {80, "revision"}, {82, "default reserved uid"}, {84, "default reserved gid"},
		{88, "first inode"}, {90, "inode size"}, {92, "block group of this superblock"},
		{96, "compatible features"}, {100, "incompatible features"}, {104, "read-only compatible features"},
		{120, "file system UUID"}, {136, "volume label"}, {200, "last mount point"},
		{204, "compression bitmap"}, {206, "preallocation"}, {208, "reserved GDT blocks"},
		{224, "journal UUID"}, {228, "journal inode"}, {232, "journal device"}, {236, "orphan list head"},
		{252, "directory hash seed"}, {253, "default hash version"}, {254, "journal backup type"},
		{256, "group descriptor size"}, {260, "default mount options"}, {264, "first meta block group"},
		{268, "file system creation time"}, {336, "journal inode backup"}, {340, "block count (high bits)"},
		{344, "reserved blocks (high bits)"}, {348, "free blocks (high bits)"}, {350, "minimum extra inode size"},
		{352, "wanted extra inode size"}, {356, "flags"}, {358, "RAID stride"}, {360, "MMP interval"},
		{368, "MMP block"}, {372, "RAID stripe width"}, {373, "flex group size"},
		{374, "checksum type"}, {376, "reserved"}, {384, "lifetime writes"}, {388, "snapshot inode"},
		{392, "snapshot id"}, {400, "snapshot reserved blocks"}, {404, "snapshot list"},
		{408, "error count"}, {412, "first error time"}, {1020, "error and mount records, options, reserved"},
		{1024, "superblock checksum"}};
	return field_at(f, sizeof f / sizeof *f, at, "superblock padding");
}

/* debugfs -R "cmd" fs; the lines after its banner. */
static int debugfs(const char *fs, const char *cmd, struct strbuf *out)
{
	const char *argv[] = {"debugfs", "-R", cmd, fs, NULL};
	struct run_opts o = {.output = out};
	return run_argv(argv, &o) == 0 ? 0 : -1;
}

/* The value after "Key:" in dumpe2fs -h output. */
static int header_value(const char *dump, const char *key, uint64_t *v)
{
	const char *p = strstr(dump, key);
	if (!p)
		return -1;
	p += strlen(key);
	while (*p == ' ' || *p == '\t' || *p == ':')
		p++;
	char *end;
	unsigned long long x = strtoull(p, &end, 10);
	if (end == p)
		return -1;
	*v = x;
	return 0;
}

/* "  Inode table at 277-408 (+276)" -> 277, 408 */
static int range_after(const char *line, const char *what, uint64_t *a, uint64_t *b)
{
	const char *p = strstr(line, what);
	if (!p)
		return 0;
	unsigned long long x, y;
	int n = sscanf(p + strlen(what), " %llu-%llu", &x, &y);
	if (n < 1)
		return 0;
	*a = x;
	*b = n == 2 ? y : x;
	return 1;
}

/* The path of an inode (ncheck), or "" when it has none (unlinked, reserved). */
static void inode_path(const char *fs, uint64_t ino, char *path, size_t size)
{
	char cmd[64];
	struct strbuf out = STRBUF_INIT;
	path[0] = 0;
	snprintf(cmd, sizeof cmd, "ncheck -c %" PRIu64, ino);
	if (debugfs(fs, cmd, &out) == 0) {
		char *save = NULL;
		for (char *l = strtok_r(out.buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			char *tab = strchr(l, '\t');
			if (tab && strtoull(l, NULL, 10) == ino) {
				const char *p = tab + 1;
				while (p[0] == '/' && p[1] == '/')
					p++;
				snprintf(path, size, "%s", p);
				break;
			}
		}
	}
	strbuf_release(&out);
}

static const char *reserved_inode(uint64_t ino)
{
	static const char *const names[] = {NULL, "bad blocks inode", "root directory", "user quota inode",
					    "group quota inode", "boot loader inode", "undelete directory inode",
					    "reserved GDT inode (resize)", "journal", "exclude inode", "replica inode"};
	return ino < sizeof names / sizeof *names ? names[ino] : NULL;
}

static void name_inode(const char *fs, uint64_t ino, struct strbuf *out)
{
	char path[4096];
	const char *reserved = reserved_inode(ino);
	if (reserved && ino != 2) {
		strbuf_addf(out, "the %s (inode %" PRIu64 ")", reserved, ino);
		return;
	}
	inode_path(fs, ino, path, sizeof path);
	if (path[0])
		strbuf_addf(out, "%s (inode %" PRIu64 ")", path, ino);
	else
		strbuf_addf(out, "inode %" PRIu64 " (no name: unused or unlinked)", ino);
}

/* Block owned by a file? icheck says which inode. */
static int block_owner(const char *fs, uint64_t block, uint64_t *ino)
{
	char cmd[64];
	struct strbuf out = STRBUF_INIT;
	int found = 0;
	snprintf(cmd, sizeof cmd, "icheck %" PRIu64, block);
	if (debugfs(fs, cmd, &out) == 0) {
		char *save = NULL;
		for (char *l = strtok_r(out.buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			unsigned long long b, i;
			if (sscanf(l, "%llu %llu", &b, &i) == 2 && b == block) {
				*ino = i;
				found = 1;
			}
		}
	}
	strbuf_release(&out);
	return found;
}

struct geometry {
	uint64_t block_size, inode_size, inodes_per_group;
};

/* Group metadata (superblocks, descriptors, bitmaps, inode tables) from dumpe2fs. */
static int describe_metadata(const char *fs, const struct geometry *g, uint64_t block, uint64_t off,
			     struct strbuf *out)
{
	const char *argv[] = {"dumpe2fs", fs, NULL};
	struct strbuf dump = STRBUF_INIT;
	struct run_opts o = {.output = &dump};
	int done = 0;
	if (run_argv(argv, &o) == 0) {
		long group = -1;
		char *save = NULL;
		for (char *l = strtok_r(dump.buf, "\n", &save); l && !done; l = strtok_r(NULL, "\n", &save)) {
			uint64_t a, b;
			unsigned long gn;
			if (sscanf(l, "Group %lu:", &gn) == 1) {
				group = (long)gn;
				continue;
			}
			if (group < 0)
				continue;
			if (range_after(l, "superblock at", &a, &b) && block == a) {
				/* In block 0 the superblock starts at byte 1024; elsewhere at the block's start. */
				uint64_t at = off - block * g->block_size - (block == 0 ? 1024 : 0);
				strbuf_addf(out, "the %s superblock of group %ld: %s", strstr(l, "Primary") ? "primary" : "backup",
					    group, at < 1024 ? ext4_super_field((unsigned)at) : "the rest of its block");
				done = 1;
			} else if (range_after(l, "Group descriptors at", &a, &b) && block >= a && block <= b) {
				strbuf_addf(out, "the group descriptors (copy in group %ld)", group);
				done = 1;
			} else if (range_after(l, "Reserved GDT blocks at", &a, &b) && block >= a && block <= b) {
				strbuf_addf(out, "reserved GDT blocks (group %ld)", group);
				done = 1;
			} else if (range_after(l, "Block bitmap at", &a, &b) && block == a) {
				strbuf_addf(out, "the block bitmap of group %ld", group);
				done = 1;
			} else if (range_after(l, "Inode bitmap at", &a, &b) && block == a) {
				strbuf_addf(out, "the inode bitmap of group %ld", group);
				done = 1;
			} else if (range_after(l, "Inode table at", &a, &b) && block >= a && block <= b) {
				uint64_t byte = (block - a) * g->block_size + off % g->block_size;
				uint64_t ino = (uint64_t)group * g->inodes_per_group + byte / g->inode_size + 1;
				strbuf_addf(out, "the inode table of group %ld: the %s of ", group,
					    ext4_inode_field((unsigned)(byte % g->inode_size)));
				name_inode(fs, ino, out);
				done = 1;
			}
		}
	}
	strbuf_release(&dump);
	return done;
}

int ext4_describe(const char *fs, uint64_t off, struct strbuf *out)
{
	const char *argv[] = {"dumpe2fs", "-h", fs, NULL};
	struct strbuf head = STRBUF_INIT;
	struct run_opts o = {.output = &head};
	struct geometry g = {0};
	int ok = run_argv(argv, &o) == 0 && header_value(head.buf, "Block size", &g.block_size) == 0 &&
		 header_value(head.buf, "Inode size", &g.inode_size) == 0 &&
		 header_value(head.buf, "Inodes per group", &g.inodes_per_group) == 0 && g.block_size && g.inode_size;
	strbuf_release(&head);
	if (!ok) {
		strbuf_adds(out, "dumpe2fs cannot read the file system");
		return -1;
	}
	uint64_t block = off / g.block_size, ino;
	if (off < 1024) {
		strbuf_adds(out, "the boot sectors before the superblock");
	} else if (block_owner(fs, block, &ino)) {
		strbuf_addf(out, "block %" PRIu64 ": data of ", block);
		name_inode(fs, ino, out);
	} else if (!describe_metadata(fs, &g, block, off, out)) {
		strbuf_addf(out, "block %" PRIu64 " (free space)", block);
	}
	return 0;
}
