/* repro/fat_map.c: map a byte of a FAT12/16/32 volume to the structure that holds it.
 *
 * Layout from Microsoft's "FAT: General Overview of On-Disk Format" (the
 * BPB fields, the cluster-count rule for the FAT type, 32-byte directory
 * entries, long-name entries with attribute 0x0F). The walk visits every
 * directory once, follows every chain at most once per cluster (a visited
 * map), and stops at MAX_DEPTH directories deep.
 */
#include "repro/fat_map.h"

#include "util/strbuf.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 32
#define MAX_NAME 260
#define MAX_DIR_CLUSTERS 4096

struct fat {
	const uint8_t *buf;
	size_t len;
	uint32_t bps, cluster_bytes, nfats, bits;
	uint64_t fat_start, fat_bytes, root_start, root_bytes, data_start;
	uint32_t nclusters;    /* valid data clusters are 2 .. nclusters + 1 */
	uint32_t root_cluster; /* FAT32 */
	uint64_t off;
	uint32_t off_cluster;  /* the data cluster holding off, or 0 */
	uint32_t off_fat_entry; /* the cluster whose FAT entry holds off, or 0 */
	unsigned off_fat_copy;
	uint8_t *visited;
	struct strbuf *out;
	int found;
};

static uint32_t le16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t le32(const uint8_t *p) { return le16(p) | le16(p + 2) << 16; }

static int parse_bpb(struct fat *f)
{
	const uint8_t *b = f->buf;
	if (f->len < 512 || b[510] != 0x55 || b[511] != 0xaa)
		return -1;
	f->bps = le16(b + 11);
	uint32_t spc = b[13], reserved = le16(b + 14), root_entries = le16(b + 17);
	uint64_t total = le16(b + 19) ? le16(b + 19) : le32(b + 32);
	uint64_t fat_sectors = le16(b + 22) ? le16(b + 22) : le32(b + 36);
	f->nfats = b[16];
	if (f->bps < 512 || f->bps > 4096 || (f->bps & (f->bps - 1)) || !spc || (spc & (spc - 1)) || !reserved ||
	    !f->nfats || f->nfats > 4 || !fat_sectors || !total)
		return -1;
	f->cluster_bytes = f->bps * spc;
	f->fat_start = (uint64_t)reserved * f->bps;
	f->fat_bytes = fat_sectors * f->bps;
	f->root_start = f->fat_start + f->nfats * f->fat_bytes;
	f->root_bytes = ((uint64_t)root_entries * 32 + f->bps - 1) / f->bps * f->bps;
	f->data_start = f->root_start + f->root_bytes;
	uint64_t size = total * f->bps;
	if (size > f->len)
		size = f->len; /* a truncated image: map what is there */
	if (f->data_start >= size)
		return -1;
	uint64_t n = (size - f->data_start) / f->cluster_bytes;
	f->bits = n < 4085 ? 12 : n < 65525 ? 16 : 32;
	/* The FAT must hold an entry for every cluster. */
	uint64_t fat_entries = f->fat_bytes * 8 / f->bits;
	if (fat_entries < 2)
		return -1;
	f->nclusters = (uint32_t)(n < fat_entries - 2 ? n : fat_entries - 2);
	if (f->bits == 32) {
		f->root_cluster = le32(b + 44);
		f->root_bytes = 0;
	}
	return 0;
}

static uint32_t next_cluster(const struct fat *f, uint32_t c)
{
	uint64_t pos = f->fat_start + (uint64_t)c * f->bits / 8;
	if (pos + (f->bits == 32 ? 4 : 2) > f->fat_start + f->fat_bytes || pos + 4 > f->len)
		return 0;
	uint32_t v = f->bits == 32 ? le32(f->buf + pos) & 0x0fffffffu : le16(f->buf + pos);
	if (f->bits == 12)
		v = c & 1 ? v >> 4 : v & 0xfff;
	return v;
}

static int valid_cluster(const struct fat *f, uint32_t c) { return c >= 2 && c <= f->nclusters + 1; }

static uint64_t cluster_pos(const struct fat *f, uint32_t c)
{
	return f->data_start + (uint64_t)(c - 2) * f->cluster_bytes;
}

static void say(struct fat *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct fat *f, const char *fmt, ...)
{
	if (f->found)
		return;
	va_list ap;
	va_start(ap, fmt);
	strbuf_vaddf(f->out, fmt, ap);
	va_end(ap);
	f->found = 1;
}

/* Follows path's chain, naming off when it is in one of its clusters or
 * their FAT entries. Returns the number of clusters. */
static uint32_t walk_chain(struct fat *f, uint32_t first, const char *path, int is_dir)
{
	uint32_t n = 0;
	for (uint32_t c = first; valid_cluster(f, c) && !f->visited[c]; c = next_cluster(f, c), n++) {
		f->visited[c] = 1;
		if (c == f->off_fat_entry)
			say(f, "FAT #%u: the entry of cluster %u (cluster #%u of %s)", f->off_fat_copy + 1, c, n, path);
		if (c == f->off_cluster && !is_dir)
			say(f, "data cluster %u of %s (byte %llu of the file)", c, path,
			    (unsigned long long)((uint64_t)n * f->cluster_bytes + (f->off - cluster_pos(f, c))));
	}
	return n;
}

static const char *dirent_field(unsigned at)
{
	return at < 11 ? "name" : at == 11 ? "attributes" : at < 20 ? "creation or access time" : at < 22 ? "first cluster"
	       : at < 26 ? "modification time" : at < 28 ? "first cluster" : "size";
}

static void short_name(const uint8_t *e, char *out)
{
	size_t n = 0;
	for (int i = 0; i < 8 && e[i] != ' '; i++)
		out[n++] = (char)(e[i] >= 0x20 && e[i] < 0x7f ? e[i] : '?');
	if (e[8] != ' ')
		out[n++] = '.';
	for (int i = 8; i < 11 && e[i] != ' '; i++)
		out[n++] = (char)(e[i] >= 0x20 && e[i] < 0x7f ? e[i] : '?');
	out[n] = 0;
}

/* Long-name pieces, in order: 5, 6 and 2 UCS-2 characters per entry. */
static void lfn_piece(const uint8_t *e, char *name)
{
	static const unsigned at[13] = {1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30};
	unsigned seq = e[0] & 0x1f;
	if (!seq || seq > 20)
		return;
	for (unsigned i = 0; i < 13; i++) {
		uint32_t ch = le16(e + at[i]);
		size_t pos = (seq - 1) * 13 + i;
		if (pos >= MAX_NAME - 1)
			return;
		if (ch == 0 || ch == 0xffff) {
			if (ch == 0)
				name[pos] = 0;
			continue;
		}
		name[pos] = (char)(ch < 0x80 && ch >= 0x20 ? ch : '?');
	}
}

struct dir_walk {
	const char *path;
	int depth;
	char lfn[MAX_NAME];
	int have_lfn, lfn_hit, ended;
};

static void walk_dir(struct fat *f, uint32_t first, const char *path, int depth);

/* One 32-byte entry at byte pos of the volume. */
static void dir_entry(struct fat *f, struct dir_walk *w, const uint8_t *e, uint64_t pos)
{
	int hit = f->off >= pos && f->off < pos + 32;
	const char *dir = *w->path ? w->path : "/";
	if (w->ended || e[0] == 0) {
		w->ended = 1;
		if (hit)
			say(f, "directory %s: unused entry space", dir);
		return;
	}
	if (e[0] == 0xe5) {
		w->have_lfn = 0;
		if (hit)
			say(f, "directory %s: a deleted entry", dir);
		return;
	}
	if ((e[11] & 0x3f) == 0x0f) {
		if (e[0] & 0x40) {
			memset(w->lfn, 0, sizeof w->lfn);
			w->have_lfn = 1;
		}
		lfn_piece(e, w->lfn);
		w->lfn_hit |= hit;
		return;
	}
	char name[MAX_NAME];
	if (w->have_lfn && w->lfn[0])
		memcpy(name, w->lfn, sizeof name);
	else
		short_name(e, name);
	name[MAX_NAME - 1] = 0;
	int lfn_hit = w->lfn_hit;
	w->have_lfn = w->lfn_hit = 0;
	if (e[11] & 0x08) {
		if (hit)
			say(f, "directory %s: the volume label entry", dir);
		return;
	}
	char *child = f->found ? NULL : malloc(strlen(w->path) + strlen(name) + 2);
	if (!child)
		return;
	strcpy(child, w->path);
	strcat(strcat(child, "/"), name);
	if (hit || lfn_hit)
		say(f, "directory %s: the entry of %s (%s)", dir, child,
		    lfn_hit ? "long name" : dirent_field((unsigned)(f->off - pos)));
	int dot = !strcmp(name, ".") || !strcmp(name, "..");
	uint32_t first = le16(e + 26) | (f->bits == 32 ? le16(e + 20) << 16 : 0);
	if (!dot && (e[11] & 0x10))
		walk_dir(f, first, child, w->depth + 1);
	else if (!dot)
		walk_chain(f, first, child, 0);
	free(child);
}

static void walk_dir(struct fat *f, uint32_t first, const char *path, int depth)
{
	struct dir_walk w = {.path = path, .depth = depth};
	if (depth > MAX_DEPTH || f->found)
		return;
	const char *shown = *path ? path : "/";
	if (!first) { /* the fixed root directory of FAT12/16 */
		for (uint64_t p = f->root_start; p + 32 <= f->root_start + f->root_bytes && p + 32 <= f->len; p += 32)
			dir_entry(f, &w, f->buf + p, p);
		return;
	}
	/* The chain first (it marks the clusters as visited), then the entries. */
	uint32_t *chain = malloc(MAX_DIR_CLUSTERS * sizeof *chain), n = 0;
	for (uint32_t c = first; chain && valid_cluster(f, c) && !f->visited[c] && n < MAX_DIR_CLUSTERS;
	     c = next_cluster(f, c)) {
		f->visited[c] = 1;
		if (c == f->off_fat_entry)
			say(f, "FAT #%u: the entry of cluster %u (directory %s)", f->off_fat_copy + 1, c, shown);
		chain[n++] = c;
	}
	for (uint32_t i = 0; i < n && !f->found; i++) {
		uint64_t start = cluster_pos(f, chain[i]);
		for (uint64_t p = start; p + 32 <= start + f->cluster_bytes && p + 32 <= f->len; p += 32)
			dir_entry(f, &w, f->buf + p, p);
	}
	free(chain);
}

static const char *boot_field(const struct fat *f, unsigned at)
{
	static const struct { unsigned end; const char *name; } common[] = {
		{3, "jump instruction"}, {11, "OEM name"}, {13, "bytes per sector"}, {14, "sectors per cluster"},
		{16, "reserved sectors"}, {17, "number of FATs"}, {19, "root entries"}, {21, "total sectors"},
		{22, "media descriptor"}, {24, "sectors per FAT"}, {26, "sectors per track"}, {28, "heads"},
		{32, "hidden sectors"}, {36, "total sectors"}};
	static const struct { unsigned end; const char *name; } fat16[] = {
		{37, "drive number"}, {38, "reserved"}, {39, "boot signature"}, {43, "volume serial number"},
		{54, "volume label"}, {62, "file system type"}, {510, "boot code"}, {512, "boot sector signature"}};
	static const struct { unsigned end; const char *name; } fat32[] = {
		{40, "sectors per FAT"}, {42, "FAT flags"}, {44, "version"}, {48, "root directory cluster"},
		{50, "FSInfo sector"}, {52, "backup boot sector"}, {64, "reserved"}, {65, "drive number"},
		{66, "reserved"}, {67, "boot signature"}, {71, "volume serial number"}, {82, "volume label"},
		{90, "file system type"}, {510, "boot code"}, {512, "boot sector signature"}};
	for (size_t i = 0; i < sizeof common / sizeof *common; i++)
		if (at < common[i].end)
			return common[i].name;
	if (f->bits == 32) {
		for (size_t i = 0; i < sizeof fat32 / sizeof *fat32; i++)
			if (at < fat32[i].end)
				return fat32[i].name;
	} else {
		for (size_t i = 0; i < sizeof fat16 / sizeof *fat16; i++)
			if (at < fat16[i].end)
				return fat16[i].name;
	}
	return "rest of the boot sector";
}

static void describe_reserved(struct fat *f)
{
	uint64_t sector = f->off / f->bps;
	unsigned at = (unsigned)(f->off % f->bps);
	uint32_t fsinfo = f->bits == 32 ? le16(f->buf + 48) : 0, backup = f->bits == 32 ? le16(f->buf + 50) : 0;
	if (sector == 0)
		say(f, "boot sector: %s", at < 512 ? boot_field(f, at) : "rest of the sector");
	else if (fsinfo && sector == fsinfo)
		say(f, "FSInfo sector (free-cluster count and next-free hint)");
	else if (backup && sector == backup)
		say(f, "backup boot sector: %s", at < 512 ? boot_field(f, at) : "rest of the sector");
	else
		say(f, "reserved sector %llu (boot loader code)", (unsigned long long)sector);
}

int fat_describe(const uint8_t *buf, size_t len, uint64_t off, struct strbuf *out)
{
	struct fat f = {.buf = buf, .len = len, .off = off, .out = out};
	if (parse_bpb(&f) < 0) {
		strbuf_adds(out, "not a FAT file system apkg can read");
		return -1;
	}
	if (off < f.fat_start) {
		describe_reserved(&f);
		return 0;
	}
	if (off < f.root_start) {
		f.off_fat_copy = (unsigned)((off - f.fat_start) / f.fat_bytes);
		f.off_fat_entry = (uint32_t)((off - f.fat_start) % f.fat_bytes * 8 / f.bits);
		if (f.off_fat_entry < 2)
			say(&f, "FAT #%u: the reserved entries (media byte, clean flags)", f.off_fat_copy + 1);
		else if (f.off_fat_entry > f.nclusters + 1)
			say(&f, "FAT #%u: the unused tail after the last cluster's entry", f.off_fat_copy + 1);
	} else if (off >= f.data_start) {
		uint64_t c = (off - f.data_start) / f.cluster_bytes + 2;
		f.off_cluster = c <= f.nclusters + 1 ? (uint32_t)c : 0;
		if (!f.off_cluster)
			say(&f, "beyond the last cluster of the file system");
	}
	f.visited = calloc((size_t)f.nclusters + 2, 1);
	if (!f.visited) {
		strbuf_adds(out, "out of memory");
		return -1;
	}
	walk_dir(&f, f.bits == 32 ? f.root_cluster : 0, "", 0);
	free(f.visited);
	if (f.off_fat_entry)
		say(&f, "FAT #%u: the entry of cluster %u (a free cluster)", f.off_fat_copy + 1, f.off_fat_entry);
	else if (f.off_cluster)
		say(&f, "data cluster %u (free space)", f.off_cluster);
	else
		say(&f, "root directory: unused entry space");
	return 0;
}
