/* formats/fat/fat_reader.c: FAT boot sector, FAT chains, directories (Microsoft FAT32 File System
 * Specification 1.03, "FAT: General Overview of On-Disk Format"). */
#include "formats/fat/fat_reader.h"

#include "util/diag.h"
#include "util/strbuf.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_DIR_BYTES (4u << 20) /* 131072 entries: far beyond any ESP */
#define ATTR_VOLUME_ID 0x08
#define ATTR_DIRECTORY 0x10
#define ATTR_LONG_NAME 0x0f

struct fat_volume {
	fat_read_fn read;
	void *ctx;
	uint64_t size;
	int type;
	uint32_t sector_size, cluster_size;
	uint64_t fat_offset, fat_bytes;
	uint64_t root_offset;   /* FAT12/16: fixed root directory */
	uint32_t root_entries;
	uint32_t root_cluster;  /* FAT32 */
	uint64_t data_offset;
	uint32_t n_clusters;
};

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p) { return le16(p) | (uint32_t)le16(p + 2) << 16; }

static int vread(struct fat_volume *v, void *buf, size_t len, uint64_t off)
{
	if (off > v->size || len > v->size - off)
		return error("FAT: read beyond the end of the volume");
	return v->read(v->ctx, buf, len, off);
}

static int power_of_two(uint32_t x) { return x && !(x & (x - 1)); }

/* The BPB (specification section 3) and the region layout it implies. */
static int parse_boot_sector(struct fat_volume *v, const uint8_t *b)
{
	if (b[510] != 0x55 || b[511] != 0xaa)
		return error("FAT: no boot sector signature");
	v->sector_size = le16(b + 11);
	uint32_t spc = b[13], reserved = le16(b + 14), n_fats = b[16];
	v->root_entries = le16(b + 17);
	uint32_t total = le16(b + 19) ? le16(b + 19) : le32(b + 32);
	uint32_t fat_sectors = le16(b + 22) ? le16(b + 22) : le32(b + 36);
	if (v->sector_size < 512 || v->sector_size > 4096 || !power_of_two(v->sector_size) || !power_of_two(spc) ||
	    spc > 128 || reserved == 0 || n_fats == 0 || fat_sectors == 0 || total == 0)
		return error("FAT: inconsistent boot sector geometry");
	v->cluster_size = v->sector_size * spc;
	uint64_t root_bytes = (uint64_t)v->root_entries * 32;
	uint64_t root_sectors = (root_bytes + v->sector_size - 1) / v->sector_size;
	uint64_t meta = reserved + (uint64_t)n_fats * fat_sectors + root_sectors;
	if ((uint64_t)total * v->sector_size > v->size || meta >= total)
		return error("FAT: the file system is larger than its partition");
	uint64_t clusters = (total - meta) / spc;
	v->type = clusters < 4085 ? 12 : clusters < 65525 ? 16 : 32;
	v->n_clusters = (uint32_t)clusters;
	v->fat_offset = (uint64_t)reserved * v->sector_size;
	v->fat_bytes = (uint64_t)fat_sectors * v->sector_size;
	v->root_offset = v->fat_offset + n_fats * v->fat_bytes;
	v->data_offset = v->root_offset + root_sectors * v->sector_size;
	uint64_t need = v->type == 12 ? (clusters + 2) * 3 / 2 + 1 : (clusters + 2) * (v->type == 16 ? 2 : 4);
	if (need > v->fat_bytes)
		return error("FAT: the allocation table is too small for %llu clusters", (unsigned long long)clusters);
	if (v->type == 32) {
		v->root_cluster = le32(b + 44);
		v->root_entries = 0;
	} else if (!v->root_entries) {
		return error("FAT%d: no root directory entries", v->type);
	}
	return 0;
}

struct fat_volume *fat_open(fat_read_fn read, void *ctx, uint64_t size)
{
	struct fat_volume *v = xcalloc(1, sizeof *v);
	v->read = read;
	v->ctx = ctx;
	v->size = size;
	uint8_t b[512];
	if (size < 512 || vread(v, b, 512, 0) < 0 || parse_boot_sector(v, b) < 0) {
		free(v);
		return NULL;
	}
	return v;
}

void fat_close(struct fat_volume *v) { free(v); }
int fat_type(const struct fat_volume *v) { return v->type; }

static int valid_cluster(const struct fat_volume *v, uint32_t c) { return c >= 2 && c - 2 < v->n_clusters; }

/* The FAT entry of cluster c: 1 end of chain, 0 with *next set, -1 on a broken chain. */
static int next_cluster(struct fat_volume *v, uint32_t c, uint32_t *next)
{
	uint8_t e[4] = {0};
	uint32_t val, eoc;
	if (v->type == 12) {
		if (vread(v, e, 2, v->fat_offset + c + c / 2) < 0)
			return -1;
		val = le16(e);
		val = c & 1 ? val >> 4 : val & 0xfff;
		eoc = 0xff8;
	} else if (v->type == 16) {
		if (vread(v, e, 2, v->fat_offset + 2ull * c) < 0)
			return -1;
		val = le16(e);
		eoc = 0xfff8;
	} else {
		if (vread(v, e, 4, v->fat_offset + 4ull * c) < 0)
			return -1;
		val = le32(e) & 0x0fffffff;
		eoc = 0x0ffffff8;
	}
	if (val >= eoc)
		return 1;
	if (!valid_cluster(v, val))
		return error("FAT: broken cluster chain (cluster %u points to %#x)", c, val);
	*next = val;
	return 0;
}

/* Reads the chain from first: up to max bytes (exactly want bytes if want != 0). */
static int read_chain(struct fat_volume *v, uint32_t first, uint64_t want, uint64_t max, struct strbuf *out)
{
	uint64_t got = 0;
	uint32_t c = first;
	uint8_t *buf = xmalloc(v->cluster_size);
	int r = 0;
	for (uint32_t steps = 0; r == 0; steps++) {
		if (!valid_cluster(v, c) || steps > v->n_clusters) {
			r = error("FAT: invalid or looping cluster chain");
			break;
		}
		uint64_t n = v->cluster_size;
		if (want && want - got < n)
			n = want - got;
		if (got + n > max) {
			r = error("FAT: directory or file larger than %llu bytes", (unsigned long long)max);
			break;
		}
		if (vread(v, buf, n, v->data_offset + (uint64_t)(c - 2) * v->cluster_size) < 0) {
			r = -1;
			break;
		}
		strbuf_add(out, buf, n);
		got += n;
		if (want && got == want)
			break;
		int e = next_cluster(v, c, &c);
		if (e < 0)
			r = -1;
		else if (e == 1)
			break;
	}
	free(buf);
	if (r == 0 && want && got < want)
		r = error("FAT: a file's clusters end before its size");
	return r;
}

static int load_dir(struct fat_volume *v, uint32_t cluster, int is_root, struct strbuf *out)
{
	if (is_root && v->type != 32) {
		strbuf_grow(out, (size_t)v->root_entries * 32);
		if (vread(v, out->buf, (size_t)v->root_entries * 32, v->root_offset) < 0)
			return -1;
		out->len = (size_t)v->root_entries * 32;
		out->buf[out->len] = 0;
		return 0;
	}
	return read_chain(v, is_root ? v->root_cluster : cluster, 0, MAX_DIR_BYTES, out);
}

static uint8_t short_name_checksum(const uint8_t *n)
{
	uint8_t sum = 0;
	for (int i = 0; i < 11; i++)
		sum = (uint8_t)(((sum & 1) << 7) + (sum >> 1) + n[i]);
	return sum;
}

static void short_name(const uint8_t *e, char *out)
{
	int k = 0;
	for (int i = 0; i < 8 && e[i] != ' '; i++) {
		char c = (char)(i == 0 && e[0] == 0x05 ? 0xe5 : e[i]);
		out[k++] = (e[12] & 0x08) ? (char)tolower((unsigned char)c) : c;
	}
	if (e[8] != ' ') {
		out[k++] = '.';
		for (int i = 8; i < 11 && e[i] != ' '; i++)
			out[k++] = (e[12] & 0x10) ? (char)tolower((unsigned char)e[i]) : (char)e[i];
	}
	out[k] = 0;
}

/* Long-name assembly state: the pieces come in reverse order before their short entry. */
struct lfn {
	char name[256];
	int expect;  /* next sequence number expected, 0 when none in progress */
	uint8_t checksum;
};

static void lfn_piece(struct lfn *l, const uint8_t *e)
{
	static const int at[13] = {1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30};
	int seq = e[0] & 0x1f;
	if (e[0] & 0x40) {
		memset(l->name, 0, sizeof l->name);
		l->expect = seq;
		l->checksum = e[13];
	}
	if (seq < 1 || seq > 19 || seq != l->expect || e[13] != l->checksum) {
		l->expect = 0;
		return;
	}
	for (int i = 0; i < 13; i++) {
		uint16_t c = le16(e + at[i]);
		if (c == 0 || c == 0xffff)
			break;
		l->name[(seq - 1) * 13 + i] = c < 0x80 ? (char)c : '?';
	}
	l->expect = seq - 1 ? seq - 1 : -1; /* -1: complete, waiting for the short entry */
}

static int walk_dir(const struct strbuf *dir, int (*fn)(const struct fat_dirent *, void *), void *arg)
{
	struct lfn l = {.expect = 0};
	for (size_t off = 0; off + 32 <= dir->len; off += 32) {
		const uint8_t *e = (const uint8_t *)dir->buf + off;
		if (e[0] == 0)
			break;
		if (e[0] == 0xe5) {
			l.expect = 0;
			continue;
		}
		if ((e[11] & 0x3f) == ATTR_LONG_NAME) {
			lfn_piece(&l, e);
			continue;
		}
		int have_long = l.expect == -1 && l.checksum == short_name_checksum(e) && l.name[0];
		l.expect = 0;
		if (e[11] & ATTR_VOLUME_ID)
			continue;
		struct fat_dirent d = {.is_dir = !!(e[11] & ATTR_DIRECTORY), .size = le32(e + 28),
				       .cluster = (uint32_t)le16(e + 20) << 16 | le16(e + 26)};
		if (have_long)
			memcpy(d.name, l.name, sizeof d.name);
		else
			short_name(e, d.name);
		if (!strcmp(d.name, ".") || !strcmp(d.name, ".."))
			continue;
		int r = fn(&d, arg);
		if (r)
			return r;
	}
	return 0;
}

struct find {
	const char *name;
	size_t len;
	struct fat_dirent found;
	int hit;
};

static int find_cb(const struct fat_dirent *e, void *arg)
{
	struct find *f = arg;
	if (strlen(e->name) == f->len && !strncasecmp(e->name, f->name, f->len)) {
		f->found = *e;
		f->hit = 1;
		return 1;
	}
	return 0;
}

#define NOT_FOUND (-2)

/* Resolves path to a directory entry; the root is reported as a directory with cluster 0.
 * NOT_FOUND (quietly) when a component does not exist. */
static int lookup(struct fat_volume *v, const char *path, struct fat_dirent *out)
{
	struct fat_dirent cur = {.is_dir = 1, .cluster = 0};
	int at_root = 1;
	const char *p = path;
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (!cur.is_dir)
			return NOT_FOUND;
		struct strbuf dir = STRBUF_INIT;
		struct find f = {.name = p, .len = len};
		int r = load_dir(v, cur.cluster, at_root, &dir);
		if (r == 0)
			walk_dir(&dir, find_cb, &f);
		strbuf_release(&dir);
		if (r < 0)
			return -1;
		if (!f.hit)
			return NOT_FOUND;
		cur = f.found;
		at_root = 0;
		if (cur.is_dir && cur.cluster == 0)
			at_root = 1; /* ".." style entries to the root use cluster 0 */
		p += len;
	}
	*out = cur;
	if (at_root)
		out->cluster = 0;
	return 0;
}

static int lookup_or_error(struct fat_volume *v, const char *path, struct fat_dirent *out)
{
	int r = lookup(v, path, out);
	if (r == NOT_FOUND)
		return error("FAT: %s: no such file or directory", path);
	return r;
}

int fat_stat(struct fat_volume *v, const char *path, struct fat_dirent *out)
{
	int r = lookup(v, path, out);
	return r == NOT_FOUND ? 1 : r;
}

int fat_list(struct fat_volume *v, const char *path, int (*fn)(const struct fat_dirent *e, void *arg), void *arg)
{
	struct fat_dirent d;
	if (lookup_or_error(v, path, &d) < 0)
		return -1;
	if (!d.is_dir)
		return error("FAT: %s: not a directory", path);
	struct strbuf dir = STRBUF_INIT;
	int r = load_dir(v, d.cluster, d.cluster == 0, &dir);
	if (r == 0)
		walk_dir(&dir, fn, arg);
	strbuf_release(&dir);
	return r;
}

int fat_read_file(struct fat_volume *v, const char *path, struct strbuf *out, size_t max)
{
	struct fat_dirent d;
	if (lookup_or_error(v, path, &d) < 0)
		return -1;
	if (d.is_dir)
		return error("FAT: %s: is a directory", path);
	if (d.size > max)
		return error("FAT: %s: %u bytes, more than the %zu allowed", path, d.size, max);
	if (d.size == 0)
		return 0;
	return read_chain(v, d.cluster, d.size, max, out);
}
