/* repro/disk_map.c: byte of a GPT disk -> MBR / GPT field / partition structure.
 *
 * GPT layout from the UEFI specification 2.10, section 5.3; the protective
 * MBR from section 5.2.3.
 */
#include "repro/disk_map.h"

#include "formats/gpt/gpt_reader.h"
#include "repro/ext4_map.h"
#include "repro/fat_map.h"
#include "util/diag.h"
#include "util/io.h"
#include "util/strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECTOR 512
#define MAX_ENTRIES 1024
#define MAX_FAT_BYTES (2ull << 30)

struct field {
	unsigned end;
	const char *name;
};

static const char *field_at(const struct field *f, size_t n, unsigned at)
{
	for (size_t i = 0; i < n; i++)
		if (at < f[i].end)
			return f[i].name;
	return "reserved";
}

const char *mbr_field(unsigned at)
{
	static const struct field f[] = {{440, "boot code (gptmbr.bin)"}, {444, "disk signature"}, {446, "reserved"},
					 {462, "protective partition entry"}, {510, "unused partition entries"},
					 {512, "boot signature"}};
	return field_at(f, sizeof f / sizeof *f, at);
}

const char *gpt_header_field(unsigned at)
{
	static const struct field f[] = {{8, "signature"}, {12, "revision"}, {16, "header size"}, {20, "header CRC32"},
					 {24, "reserved"}, {32, "my LBA"}, {40, "alternate LBA"},
					 {48, "first usable LBA"}, {56, "last usable LBA"}, {72, "disk GUID"},
					 {80, "partition entries LBA"}, {84, "number of partition entries"},
					 {88, "partition entry size"}, {92, "partition entries CRC32"}};
	return field_at(f, sizeof f / sizeof *f, at);
}

const char *gpt_entry_field(unsigned at)
{
	static const struct field f[] = {{16, "partition type GUID"}, {32, "unique partition GUID"},
					 {40, "starting LBA"}, {48, "ending LBA"}, {56, "attributes"},
					 {128, "partition name"}};
	return field_at(f, sizeof f / sizeof *f, at);
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint32_t le32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

struct part {
	uint64_t start, end; /* bytes, end exclusive */
};

/* Where the GPT's structures are: the partitions from formats/gpt/gpt_reader
 * (the one GPT reader, CRCs checked), the entry arrays' places from the header. */
struct gpt {
	uint64_t size;
	uint64_t entries_off, entries_bytes, entry_size;
	uint64_t backup_header, backup_entries;
	struct part parts[GPT_READER_MAX_PARTS];
	unsigned part_index[GPT_READER_MAX_PARTS];
	size_t n_parts;
};

static int read_at(void *ctx, void *buf, size_t len, uint64_t off)
{
	return pread_exact(*(int *)ctx, buf, len, off);
}

static int read_gpt(int fd, struct gpt *g)
{
	uint8_t h[SECTOR];
	struct gpt_table *t = xcalloc(1, sizeof *t);
	int rc = -1;
	if (pread(fd, h, SECTOR, SECTOR) == SECTOR && !memcmp(h, "EFI PART", 8) &&
	    gpt_read_table(read_at, &fd, g->size, t) == 0) {
		uint64_t esize = le32(h + 84);
		g->entry_size = esize >= 128 && esize <= 4096 ? esize : 128;
		g->entries_off = le64(h + 72) * SECTOR;
		g->entries_bytes = (uint64_t)(le32(h + 80) <= MAX_ENTRIES ? le32(h + 80) : 0) * g->entry_size;
		g->backup_header = g->size / SECTOR * SECTOR - SECTOR;
		/* The backup entries sit just before the backup header (UEFI 2.10, 5.3.2). */
		g->backup_entries = g->backup_header >= g->entries_bytes ? g->backup_header - g->entries_bytes : 0;
		for (unsigned i = 0; i < t->n_parts; i++) {
			g->part_index[g->n_parts] = t->part[i].index;
			g->parts[g->n_parts++] = (struct part){t->part[i].first_lba * SECTOR, (t->part[i].last_lba + 1) * SECTOR};
		}
		rc = 0;
	}
	free(t);
	return rc;
}

/* Copies [start, end) of the disk into path, keeping holes (SEEK_DATA). */
static int cut_out(int fd, uint64_t start, uint64_t end, const char *path)
{
	int out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0)
		return error_errno("cannot create %s", path);
	char *buf = xmalloc(1 << 20);
	int rc = ftruncate(out, (off_t)(end - start)) < 0 ? error_errno("cannot size %s", path) : 0;
	for (uint64_t pos = start; rc == 0 && pos < end;) {
		off_t data = lseek(fd, (off_t)pos, SEEK_DATA);
		if (data < 0 || (uint64_t)data >= end)
			break;
		off_t hole = lseek(fd, data, SEEK_HOLE);
		uint64_t stop = hole < 0 || (uint64_t)hole > end ? end : (uint64_t)hole;
		for (pos = (uint64_t)data; rc == 0 && pos < stop;) {
			size_t n = stop - pos < (1u << 20) ? (size_t)(stop - pos) : 1u << 20;
			if (pread_exact(fd, buf, n, pos) < 0 || pwrite_all(out, buf, n, pos - start) < 0)
				rc = -1;
			pos += n;
		}
	}
	free(buf);
	close(out);
	return rc;
}

static int is_fat(const uint8_t *s)
{
	return s[510] == 0x55 && s[511] == 0xaa && (!memcmp(s + 54, "FAT", 3) || !memcmp(s + 82, "FAT32", 5));
}

static int describe_partition(int fd, const struct gpt *g, size_t i, uint64_t off, const char *tmpdir,
			      struct strbuf *out)
{
	const struct part *p = &g->parts[i];
	uint8_t head[2048];
	strbuf_addf(out, "partition %u, byte %" PRIu64 ": ", g->part_index[i], off - p->start);
	if (p->end - p->start < sizeof head || pread(fd, head, sizeof head, (off_t)p->start) != (ssize_t)sizeof head) {
		strbuf_adds(out, "(too small to hold a file system)");
		return 0;
	}
	if (is_fat(head) && p->end - p->start <= MAX_FAT_BYTES) {
		size_t len = (size_t)(p->end - p->start);
		uint8_t *buf = xmalloc(len);
		int rc = pread_exact(fd, buf, len, p->start);
		if (rc == 0) {
			strbuf_adds(out, "FAT file system (ESP): ");
			fat_describe(buf, len, off - p->start, out);
		}
		free(buf);
		return rc;
	}
	if (head[1080] == 0x53 && head[1081] == 0xef) {
		char *path = path_join(tmpdir, "partition.ext4");
		int rc = cut_out(fd, p->start, p->end, path);
		if (rc == 0) {
			strbuf_adds(out, "ext4 root file system: ");
			ext4_describe(path, off - p->start, out);
		}
		unlink(path);
		free(path);
		return rc;
	}
	strbuf_adds(out, "(a file system apkg cannot map)");
	return 0;
}

int disk_describe(const char *raw, uint64_t off, const char *tmpdir, struct strbuf *out)
{
	int fd = open(raw, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		strbuf_addf(out, "cannot read %s: %s", raw, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	struct gpt *g = xcalloc(1, sizeof *g);
	g->size = (uint64_t)st.st_size;
	int rc = 0, have_gpt = read_gpt(fd, g) == 0;
	if (off < SECTOR) {
		strbuf_addf(out, "the protective MBR: %s", mbr_field((unsigned)off));
	} else if (!have_gpt) {
		strbuf_adds(out, "(no valid GPT header to map the disk by)");
	} else if (off < 2 * SECTOR) {
		strbuf_addf(out, "the primary GPT header: %s", gpt_header_field((unsigned)(off - SECTOR)));
	} else if (off >= g->entries_off && off < g->entries_off + g->entries_bytes) {
		uint64_t rel = off - g->entries_off;
		strbuf_addf(out, "the primary GPT partition entry %" PRIu64 ": %s", rel / g->entry_size + 1,
			    gpt_entry_field((unsigned)(rel % g->entry_size)));
	} else if (off >= g->backup_header && off < g->backup_header + SECTOR) {
		strbuf_addf(out, "the backup GPT header: %s", gpt_header_field((unsigned)(off - g->backup_header)));
	} else if (off >= g->backup_entries && off < g->backup_entries + g->entries_bytes) {
		uint64_t rel = off - g->backup_entries;
		strbuf_addf(out, "the backup GPT partition entry %" PRIu64 ": %s", rel / g->entry_size + 1,
			    gpt_entry_field((unsigned)(rel % g->entry_size)));
	} else {
		size_t i = 0;
		while (i < g->n_parts && !(off >= g->parts[i].start && off < g->parts[i].end))
			i++;
		if (i < g->n_parts)
			rc = describe_partition(fd, g, i, off, tmpdir, out);
		else
			strbuf_adds(out, "space outside every partition");
	}
	free(g);
	close(fd);
	return rc;
}
