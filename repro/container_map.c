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

/* ---- VMDK, VDI, VHDX ---- */

struct field {
	unsigned end;
	const char *name;
};

static const char *field_name(const struct field *f, size_t n, uint64_t at, const char *beyond)
{
	for (size_t i = 0; i < n; i++)
		if (at < f[i].end)
			return f[i].name;
	return beyond;
}

static uint32_t le32_at(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t le64_at(const uint8_t *p) { return le32_at(p) | (uint64_t)le32_at(p + 4) << 32; }

/* VMware's "Virtual Disk Format 1.1": the sparse extent header, then the embedded descriptor. */
static void vmdk_describe(int fd, uint64_t off, struct strbuf *out)
{
	static const struct field hdr[] = {
		{4, "magic"}, {8, "version"}, {12, "flags"}, {20, "capacity"}, {28, "grain size"},
		{36, "descriptor offset"}, {44, "descriptor size"}, {48, "grain table entries"},
		{56, "redundant grain directory offset"}, {64, "grain directory offset"}, {72, "overhead"},
		{73, "unclean shutdown flag"}, {77, "newline detection characters"}, {79, "compression algorithm"}};
	uint8_t h[512];
	if (pread(fd, h, sizeof h, 0) != (ssize_t)sizeof h || memcmp(h, "KDMV", 4)) {
		strbuf_adds(out, "(not a sparse VMDK apkg can map)");
		return;
	}
	uint64_t desc = le64_at(h + 28) * 512, desc_len = le64_at(h + 36) * 512;
	if (off < 512) {
		strbuf_addf(out, "the sparse extent header: %s", field_name(hdr, sizeof hdr / sizeof *hdr, off, "padding"));
	} else if (desc && off >= desc && off < desc + desc_len && desc_len <= (1u << 20)) {
		char *text = xmalloc(desc_len + 1);
		ssize_t n = pread(fd, text, desc_len, (off_t)desc);
		text[n > 0 ? n : 0] = 0;
		uint64_t rel = off - desc, start = rel;
		while (start > 0 && text[start - 1] != '\n')
			start--;
		strbuf_addf(out, "the descriptor, line \"%.*s\"", (int)strcspn(text + start, "\n"), text + start);
		free(text);
	} else {
		strbuf_adds(out, "grain data, a grain table or a stream marker");
	}
}

/* VirtualBox VDICore.h: pre-header, header 1.1, block map, blocks. */
static void vdi_describe(int fd, uint64_t off, struct strbuf *out)
{
	static const struct field hdr[] = {
		{0x40, "pre-header text"}, {0x44, "signature"}, {0x48, "version"}, {0x4c, "header size"},
		{0x50, "image type"}, {0x54, "flags"}, {0x154, "comment"}, {0x158, "block map offset"},
		{0x15c, "data offset"}, {0x16c, "legacy geometry"}, {0x170, "reserved"}, {0x178, "disk size"},
		{0x17c, "block size"}, {0x180, "block extra data size"}, {0x184, "block count"},
		{0x188, "allocated block count"}, {0x198, "creation UUID"}, {0x1a8, "modification UUID"},
		{0x1b8, "linkage UUID"}, {0x1c8, "parent modification UUID"}, {0x1d8, "LCHS geometry"}};
	uint8_t h[0x200];
	if (pread(fd, h, sizeof h, 0) != (ssize_t)sizeof h || le32_at(h + 0x40) != 0xbeda107fu) {
		strbuf_adds(out, "(not a VDI apkg can map)");
		return;
	}
	uint64_t map = le32_at(h + 0x154), data = le32_at(h + 0x158), block = le32_at(h + 0x178);
	uint64_t blocks = le32_at(h + 0x180);
	if (off < 0x1d8)
		strbuf_addf(out, "the header: %s", field_name(hdr, sizeof hdr / sizeof *hdr, off, "reserved"));
	else if (off < map)
		strbuf_adds(out, "the header's padding");
	else if (off < map + blocks * 4)
		strbuf_addf(out, "the block map, entry %" PRIu64 " (virtual MiB %" PRIu64 ")", (off - map) / 4,
			    (off - map) / 4 * (block >> 20));
	else if (off >= data && block)
		strbuf_addf(out, "data block %" PRIu64 " of the file", (off - data) / block);
	else
		strbuf_adds(out, "padding before the data");
}

/* MS-VHDX 2.2: file identifier, two headers, two region tables, then regions. */
static void vhdx_describe(int fd, uint64_t off, struct strbuf *out)
{
	static const struct field hdr[] = {
		{4, "signature"}, {8, "checksum"}, {16, "sequence number"}, {32, "FileWriteGuid"},
		{48, "DataWriteGuid"}, {64, "LogGuid"}, {66, "log version"}, {68, "version"}, {72, "log length"},
		{80, "log offset"}};
	static const uint8_t bat_guid[16] = {0x66, 0x77, 0xc2, 0x2d, 0x23, 0xf6, 0x00, 0x42,
					     0x9d, 0x64, 0x11, 0x5e, 0x9b, 0xfd, 0x4a, 0x08};
	enum { KiB = 1024 };
	if (off < 64 * KiB) {
		strbuf_adds(out, "the file type identifier");
	} else if (off < 192 * KiB) {
		uint64_t rel = (off - 64 * KiB) % (64 * KiB);
		strbuf_addf(out, "header %d: %s", off < 128 * KiB ? 1 : 2,
			    field_name(hdr, sizeof hdr / sizeof *hdr, rel, "reserved"));
	} else if (off < 320 * KiB) {
		uint64_t rel = (off - 192 * KiB) % (64 * KiB);
		strbuf_addf(out, "region table %d: %s", off < 256 * KiB ? 1 : 2,
			    rel < 16 ? "its header (signature, checksum, entry count)" : "a region entry");
	} else {
		uint8_t t[16 + 32 * 8];
		int named = 0;
		if (pread(fd, t, sizeof t, 192 * KiB) == (ssize_t)sizeof t && !memcmp(t, "regi", 4)) {
			uint32_t n = le32_at(t + 8);
			for (uint32_t i = 0; i < n && i < 8 && !named; i++) {
				const uint8_t *e = t + 16 + 32 * i;
				uint64_t start = le64_at(e + 16), len = le32_at(e + 24);
				if (off >= start && off < start + len) {
					int bat = !memcmp(e, bat_guid, 16);
					if (bat)
						strbuf_addf(out, "the BAT, entry %" PRIu64, (off - start) / 8);
					else
						strbuf_adds(out, "the metadata region (file parameters, disk size and id, sector sizes)");
					named = 1;
				}
			}
		}
		if (!named)
			strbuf_adds(out, "the log or a payload block");
	}
}

int image_container_describe(const char *format, const char *path, uint64_t off, struct strbuf *out)
{
	if (!strcmp(format, "qcow2"))
		return qcow2_describe(path, off, out);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		strbuf_addf(out, "(cannot read %s)", path);
		return -1;
	}
	if (!strcmp(format, "vmdk"))
		vmdk_describe(fd, off, out);
	else if (!strcmp(format, "vdi"))
		vdi_describe(fd, off, out);
	else if (!strcmp(format, "vhdx"))
		vhdx_describe(fd, off, out);
	else
		strbuf_addf(out, "byte %" PRIu64, off);
	close(fd);
	return 0;
}
