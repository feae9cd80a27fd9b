/* repro/container_map.c: qcow2 structures by file offset; the first differing archive member.
 *
 * qcow2 layout from qemu's docs/interop/qcow2.rst (formats/qcow2/qcow2_format.h
 * has the offsets); archives are read with libarchive, as the initramfs
 * and OVA writers write them.
 */
#include "repro/container_map.h"

#include "formats/qcow2/qcow2_format.h"
#include "util/diag.h"
#include "util/io.h"
#include "util/strbuf.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- qcow2 ---- */

static const char *qcow2_header_field(unsigned at)
{
	static const struct { unsigned end; const char *name; } f[] = {
		{4, "magic"}, {8, "version"}, {16, "backing file offset"}, {20, "backing file name size"},
		{24, "cluster bits"}, {32, "virtual size"}, {36, "encryption method"}, {40, "L1 size"},
		{48, "L1 table offset"}, {56, "refcount table offset"}, {60, "refcount table clusters"},
		{64, "number of snapshots"}, {72, "snapshots offset"}, {80, "incompatible features"},
		{88, "compatible features"}, {96, "autoclear features"}, {100, "refcount order"},
		{104, "header length"}, {105, "compression type"}, {112, "padding"}};
	for (size_t i = 0; i < sizeof f / sizeof *f; i++)
		if (at < f[i].end)
			return f[i].name;
	return "header extensions";
}

struct q2 {
	int fd;
	uint64_t file_size, cluster, l1_offset, l1_entries, rt_offset, rt_bytes, header_len;
	unsigned cluster_bits;
};

static int q2_open(struct q2 *q, const char *path)
{
	uint8_t h[QH_V3_LENGTH];
	struct stat st;
	q->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (q->fd < 0 || fstat(q->fd, &st) < 0 || pread(q->fd, h, QH_V2_LENGTH, 0) != QH_V2_LENGTH ||
	    get_be32(h + QH_MAGIC) != QCOW2_MAGIC)
		return -1;
	q->file_size = (uint64_t)st.st_size;
	q->cluster_bits = get_be32(h + QH_CLUSTER_BITS);
	if (q->cluster_bits < QCOW2_MIN_CLUSTER_BITS || q->cluster_bits > QCOW2_MAX_CLUSTER_BITS)
		return -1;
	q->cluster = 1ull << q->cluster_bits;
	q->l1_entries = get_be32(h + QH_L1_SIZE);
	q->l1_offset = get_be64(h + QH_L1_OFFSET);
	q->rt_offset = get_be64(h + QH_REFTABLE_OFFSET);
	q->rt_bytes = (uint64_t)get_be32(h + QH_REFTABLE_CLUSTERS) << q->cluster_bits;
	q->header_len = QH_V2_LENGTH;
	if (get_be32(h + QH_VERSION) >= 3 && pread(q->fd, h, QH_V3_LENGTH, 0) == QH_V3_LENGTH)
		q->header_len = get_be32(h + QH_HEADER_LENGTH);
	if (q->l1_entries * 8 > QCOW2_MAX_L1_BYTES || q->rt_bytes > QCOW2_MAX_REFTABLE_BYTES ||
	    q->l1_offset + q->l1_entries * 8 > q->file_size || q->rt_offset + q->rt_bytes > q->file_size)
		return -1;
	return 0;
}

static uint64_t *read_table(const struct q2 *q, uint64_t off, uint64_t entries)
{
	uint64_t *t = xmalloc(entries ? entries * 8 : 8);
	if (entries && pread_exact(q->fd, t, entries * 8, off) < 0) {
		free(t);
		return NULL;
	}
	for (uint64_t i = 0; i < entries; i++)
		t[i] = get_be64((const unsigned char *)&t[i]);
	return t;
}

/* The refcount blocks the refcount table points at. */
static int in_refcount_block(const struct q2 *q, uint64_t off, struct strbuf *out)
{
	uint64_t *rt = read_table(q, q->rt_offset, q->rt_bytes / 8);
	int found = 0;
	for (uint64_t i = 0; rt && i < q->rt_bytes / 8 && !found; i++) {
		uint64_t b = rt[i] & ~(q->cluster - 1);
		if (b && off >= b && off < b + q->cluster) {
			strbuf_addf(out, "refcount block %" PRIu64 " (refcounts of host clusters from %" PRIu64 ")", i,
				    i * (q->cluster * 8 / 16));
			found = 1;
		}
	}
	free(rt);
	return found;
}

/* L2 tables and the data clusters they point at. */
static int in_l2_or_data(const struct q2 *q, uint64_t off, struct strbuf *out)
{
	uint64_t *l1 = read_table(q, q->l1_offset, q->l1_entries), l2_entries = q->cluster / 8;
	uint64_t guest_per_l2 = l2_entries * q->cluster;
	unsigned shift = qcow2_csize_shift(q->cluster_bits);
	int found = 0;
	for (uint64_t i = 0; l1 && i < q->l1_entries && !found; i++) {
		uint64_t l2_off = l1[i] & QCOW2_OFFSET_MASK;
		if (!l2_off || l2_off + q->cluster > q->file_size)
			continue;
		if (off >= l2_off && off < l2_off + q->cluster) {
			uint64_t j = (off - l2_off) / 8;
			strbuf_addf(out, "L2 table %" PRIu64 ", entry %" PRIu64 " (guest bytes %" PRIu64 "..%" PRIu64 ")", i, j,
				    i * guest_per_l2 + j * q->cluster, i * guest_per_l2 + (j + 1) * q->cluster - 1);
			found = 1;
			break;
		}
		uint64_t *l2 = read_table(q, l2_off, l2_entries);
		for (uint64_t j = 0; l2 && j < l2_entries && !found; j++) {
			uint64_t e = l2[j], start, len;
			if (e & QCOW2_OFLAG_COMPRESSED) {
				start = e & ((1ull << shift) - 1);
				len = (((e & ~QCOW2_OFLAG_COPIED) >> shift) + 1) * 512 - (start & 511);
			} else {
				start = e & QCOW2_OFFSET_MASK;
				len = q->cluster;
			}
			if (start && off >= start && off < start + len) {
				strbuf_addf(out, "%s data cluster of guest bytes %" PRIu64 "..%" PRIu64,
					    e & QCOW2_OFLAG_COMPRESSED ? "the compressed" : "the", i * guest_per_l2 + j * q->cluster,
					    i * guest_per_l2 + (j + 1) * q->cluster - 1);
				found = 1;
			}
		}
		free(l2);
	}
	free(l1);
	return found;
}

int qcow2_describe(const char *path, uint64_t off, struct strbuf *out)
{
	struct q2 q = {.fd = -1};
	int rc = 0;
	if (q2_open(&q, path) < 0) {
		strbuf_adds(out, "(not a qcow2 image apkg can map)");
		rc = -1;
	} else if (off < q.header_len) {
		strbuf_addf(out, "the qcow2 header: %s", qcow2_header_field((unsigned)off));
	} else if (off < q.cluster) {
		strbuf_adds(out, "the qcow2 header extensions");
	} else if (off >= q.l1_offset && off < q.l1_offset + q.l1_entries * 8) {
		strbuf_addf(out, "the L1 table, entry %" PRIu64, (off - q.l1_offset) / 8);
	} else if (off >= q.rt_offset && off < q.rt_offset + q.rt_bytes) {
		strbuf_addf(out, "the refcount table, entry %" PRIu64, (off - q.rt_offset) / 8);
	} else if (!in_refcount_block(&q, off, out) && !in_l2_or_data(&q, off, out)) {
		strbuf_adds(out, off >= q.file_size ? "past the end of the file" : "space no table points at (padding)");
	}
	if (q.fd >= 0)
		close(q.fd);
	return rc;
}

/* ---- archives ---- */

static struct archive *open_archive(const char *path)
{
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_all(a);
	archive_read_support_format_raw(a);
	if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
		error("cannot read %s: %s", path, archive_error_string(a));
		archive_read_free(a);
		return NULL;
	}
	return a;
}

/* A header field that differs, or NULL. */
static const char *header_difference(struct archive_entry *x, struct archive_entry *y)
{
	const char *lx = archive_entry_symlink(x), *ly = archive_entry_symlink(y);
	if (archive_entry_filetype(x) != archive_entry_filetype(y))
		return "file type";
	if (archive_entry_perm(x) != archive_entry_perm(y))
		return "mode";
	if (archive_entry_uid(x) != archive_entry_uid(y) || archive_entry_gid(x) != archive_entry_gid(y))
		return "owner";
	if (archive_entry_mtime(x) != archive_entry_mtime(y))
		return "modification time";
	if (archive_entry_size(x) != archive_entry_size(y))
		return "size";
	if ((lx || ly) && (!lx || !ly || strcmp(lx, ly)))
		return "link target";
	if (archive_entry_rdev(x) != archive_entry_rdev(y))
		return "device number";
	return NULL;
}

static int wants_extract(const char *name, const char *const *suffixes)
{
	size_t n = strlen(name);
	for (; suffixes && *suffixes; suffixes++) {
		size_t s = strlen(*suffixes);
		if (n > s && !strcmp(name + n - s, *suffixes))
			return 1;
	}
	return 0;
}

struct extract {
	int fd[2];
	char *path[2];
};

static void extract_open(struct extract *x, const char *tmpdir, const char *base)
{
	for (int i = 0; i < 2; i++) {
		char *name = xasprintf("%c.%s", 'a' + i, base);
		x->path[i] = path_join(tmpdir, name);
		free(name);
		x->fd[i] = open(x->path[i], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	}
}

static void extract_close(struct extract *x, int keep)
{
	for (int i = 0; i < 2; i++) {
		if (x->fd[i] >= 0)
			close(x->fd[i]);
		if (!keep && x->path[i])
			unlink(x->path[i]);
		free(x->path[i]);
	}
}

/* Reads both members to the end; the offset of their first difference, or -1. */
static int64_t content_difference(struct archive *a, struct archive *b, struct extract *x)
{
	enum { CHUNK = 1 << 16 };
	char *ba = xmalloc(CHUNK), *bb = xmalloc(CHUNK);
	int64_t pos = 0, first = -1;
	for (;;) {
		la_ssize_t na = archive_read_data(a, ba, CHUNK), nb = archive_read_data(b, bb, CHUNK);
		if (na < 0 || nb < 0) {
			first = first < 0 ? pos : first;
			break;
		}
		if (x) {
			if (x->fd[0] >= 0 && na)
				write_all(x->fd[0], ba, (size_t)na);
			if (x->fd[1] >= 0 && nb)
				write_all(x->fd[1], bb, (size_t)nb);
		}
		la_ssize_t n = na < nb ? na : nb;
		if (first < 0)
			for (la_ssize_t i = 0; i < n; i++)
				if (ba[i] != bb[i]) {
					first = pos + i;
					break;
				}
		if (first < 0 && na != nb)
			first = pos + n;
		pos += n;
		if (!na && !nb)
			break;
		if (first >= 0 && !x)
			break;
	}
	free(ba);
	free(bb);
	return first;
}

int archive_first_difference(const char *pa, const char *pb, const char *tmpdir, const char *const *extract_suffixes,
			     struct strbuf *out, char **member)
{
	struct archive *a = open_archive(pa), *b = a ? open_archive(pb) : NULL;
	if (!b) {
		if (a)
			archive_read_free(a);
		return -1;
	}
	*member = NULL;
	int result = 0;
	for (unsigned index = 0; !result; index++) {
		struct archive_entry *ea, *eb;
		int ra = archive_read_next_header(a, &ea), rb = archive_read_next_header(b, &eb);
		if (ra == ARCHIVE_EOF && rb == ARCHIVE_EOF)
			break;
		if (ra != ARCHIVE_OK || rb != ARCHIVE_OK) {
			strbuf_addf(out, "member %u: %s", index + 1,
				    ra == ARCHIVE_EOF ? "only in the second build" : rb == ARCHIVE_EOF ? "only in the first build"
										    : "unreadable");
			result = 1;
			break;
		}
		const char *na = archive_entry_pathname(ea), *nb = archive_entry_pathname(eb), *field;
		if (!na || !nb || strcmp(na, nb)) {
			strbuf_addf(out, "member %u: named %s in the first build, %s in the second", index + 1, na ? na : "?",
				    nb ? nb : "?");
			result = 1;
		} else if ((field = header_difference(ea, eb))) {
			strbuf_addf(out, "member %s: its %s", na, field);
			result = 1;
		} else {
			const char *slash = strrchr(na, '/');
			const char *base = slash ? slash + 1 : na;
			struct extract x = {{-1, -1}, {NULL, NULL}};
			int extract = tmpdir && wants_extract(na, extract_suffixes) && !strchr(base, '\\');
			if (extract)
				extract_open(&x, tmpdir, base);
			int64_t at = content_difference(a, b, extract ? &x : NULL);
			if (at >= 0) {
				strbuf_addf(out, "member %s: its content, from byte %" PRId64, na, at);
				result = 1;
				if (extract)
					*member = xstrdup(base);
			}
			if (extract)
				extract_close(&x, at >= 0);
		}
	}
	archive_read_free(a);
	archive_read_free(b);
	return result;
}
