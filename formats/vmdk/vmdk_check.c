/* formats/vmdk/vmdk_check.c: the one-pass streamOptimized validator (see vmdk_check.h).
 *
 * The stream is a sequence of sector-aligned records. The checker asks for
 * exactly the bytes the next record needs (`need`), or skips bytes it does
 * not inspect (`skip`), and judges each record when it is complete. The
 * grains since the last grain table are remembered (at most one table's
 * worth) so the table can be checked against them; tables are remembered
 * by (sector, index) so the directory can be checked against them.
 */
#include "formats/vmdk/vmdk_check.h"

#include "formats/le.h"
#include "formats/vmdk/vmdk_format.h"
#include "util/strbuf.h"

#include <libdeflate.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_CAPACITY (1ull << 37)    /* sectors: 64 TiB */
#define MAX_DESC_SECTORS 2048u       /* 1 MiB of descriptor text */
#define MAX_OVERHEAD (1ull << 24)    /* sectors of metadata before the first record */
#define MAX_META_SECTORS (1u << 16)  /* a grain directory of 64 TiB needs 16384 */

enum state {
	ST_HEADER,
	ST_DESCRIPTOR,
	ST_RECORD,      /* the first sector of a record */
	ST_GRAIN_REST,  /* the rest of a grain record */
	ST_META,        /* the sectors that follow a GT, GD or footer marker */
	ST_AFTER_EOS,
	ST_DEAD,
};

struct pending_grain {
	uint64_t lba;
	uint32_t sector;
};

struct table_seen {
	uint32_t sector;
	int64_t index; /* -1: an empty table (no entry to place it by) */
};

struct vmdk_check {
	vmdk_check_report_fn report;
	void *arg;
	unsigned problems;
	enum state state, after_skip;
	uint64_t pos;           /* bytes consumed */
	uint64_t skip;          /* bytes to pass over before `after_skip` */
	unsigned char *buf;
	size_t need, have, cap;
	uint64_t record_sector; /* where the record in buf starts */

	struct vmdk_header h;
	int have_header, tables_at_end;
	uint64_t grain_bytes, n_gts;
	uint32_t meta_type;

	struct pending_grain pending[VMDK_GTES_PER_GT];
	size_t n_pending;
	int crosscheck;         /* pending grains fit one table: tables are checked */
	struct table_seen *tables;
	size_t n_tables, alloc_tables;
	int have_gd, have_footer, have_eos;
	uint64_t gd_sector, footer_sector, grains;
	uint64_t trailing_zero;  /* zero bytes seen after the EOS marker */

	struct libdeflate_decompressor *inflater;
	unsigned char *grain_out;
};

static void report(struct vmdk_check *c, const char *rule, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	c->problems++;
	if (c->report)
		c->report(c->arg, rule, msg);
}

static void die_stream(struct vmdk_check *c) { c->state = ST_DEAD; }

static void want(struct vmdk_check *c, enum state st, size_t bytes)
{
	if (bytes > c->cap) {
		c->buf = xrealloc(c->buf, bytes);
		c->cap = bytes;
	}
	c->state = st;
	c->need = bytes;
	c->have = 0;
}

static void skip_then(struct vmdk_check *c, uint64_t bytes, enum state st, size_t then_bytes)
{
	want(c, st, then_bytes);
	c->skip = bytes;
}

/* ---- header and descriptor ---- */

static int power_of_two(uint64_t v) { return v && !(v & (v - 1)); }

static int judge_header(struct vmdk_check *c)
{
	struct vmdk_header *h = &c->h;
	if (vmdk_header_decode(c->buf, h) < 0) {
		report(c, VMDK_RULE_HEADER, "not a sparse VMDK (no KDMV magic in the first sector)");
		return -1;
	}
	c->have_header = 1;
	if (h->version != 3)
		report(c, VMDK_RULE_VERSION, "header version %u: streamOptimized disks must be version 3 "
					     "(ESXi: \"sparse VMDK version too old\")", h->version);
	if (!(h->flags & VMDK_FLAG_COMPRESSED) || !(h->flags & VMDK_FLAG_MARKERS) || h->compress_alg != VMDK_COMPRESS_DEFLATE) {
		report(c, VMDK_RULE_HEADER, "flags 0x%x, compression %u: a streamOptimized disk has compressed grains "
					    "with markers (flags 0x30001, deflate)", h->flags, h->compress_alg);
		if (!(h->flags & VMDK_FLAG_MARKERS) || h->compress_alg != VMDK_COMPRESS_DEFLATE)
			return -1;
	}
	if ((h->flags & VMDK_FLAG_NL_DETECT) && !h->newline_chars_ok)
		report(c, VMDK_RULE_HEADER, "the newline-detection bytes are damaged (the file went through a text conversion)");
	if (!power_of_two(h->grain_size) || h->grain_size > 128) {
		report(c, VMDK_RULE_HEADER, "grain size %llu sectors is not a power of two up to 128",
		       (unsigned long long)h->grain_size);
		return -1;
	}
	if (h->gtes_per_gt != VMDK_GTES_PER_GT) {
		report(c, VMDK_RULE_HEADER, "%u entries per grain table (VMware reads only 512)", h->gtes_per_gt);
		return -1;
	}
	if (!h->capacity || h->capacity > MAX_CAPACITY) {
		report(c, VMDK_RULE_HEADER, "capacity of %llu sectors is out of range", (unsigned long long)h->capacity);
		return -1;
	}
	if (!h->desc_size || h->desc_size > MAX_DESC_SECTORS || h->desc_offset < 1 ||
	    h->desc_offset > MAX_OVERHEAD || h->overhead > MAX_OVERHEAD) {
		report(c, VMDK_RULE_HEADER, "descriptor at sector %llu (%llu sectors), overhead %llu: out of range",
		       (unsigned long long)h->desc_offset, (unsigned long long)h->desc_size, (unsigned long long)h->overhead);
		return -1;
	}
	c->grain_bytes = h->grain_size * VMDK_SECTOR;
	uint64_t grains = (h->capacity + h->grain_size - 1) / h->grain_size;
	c->n_gts = (grains + VMDK_GTES_PER_GT - 1) / VMDK_GTES_PER_GT;
	c->tables_at_end = h->gd_offset == VMDK_GD_AT_END;
	c->grain_out = xmalloc(c->grain_bytes);
	skip_then(c, (h->desc_offset - 1) * VMDK_SECTOR, ST_DESCRIPTOR, h->desc_size * VMDK_SECTOR);
	return 0;
}

/* The value of `key=` or `key = "..."` on a descriptor line, unquoted; NULL if absent. */
static const char *desc_value(const char *line, const char *key, char *out, size_t cap)
{
	size_t k = strlen(key);
	if (strncmp(line, key, k))
		return NULL;
	const char *p = line + k;
	while (*p == ' ')
		p++;
	if (*p++ != '=')
		return NULL;
	while (*p == ' ')
		p++;
	int quoted = *p == '"';
	p += quoted;
	size_t n = 0;
	while (p[n] && p[n] != '\n' && p[n] != '\r' && !(quoted && p[n] == '"'))
		n++;
	if (n >= cap)
		n = cap - 1;
	memcpy(out, p, n);
	out[n] = 0;
	return out;
}

static void judge_descriptor(struct vmdk_check *c)
{
	/* The descriptor is text up to the first NUL. */
	char *text = xmalloc(c->need + 1);
	memcpy(text, c->buf, c->need);
	text[c->need] = 0;
	char create_type[64] = "", cid[64] = "", val[64];
	int extents = 0;
	unsigned long long ext_sectors = 0;
	for (char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (desc_value(line, "createType", val, sizeof val))
			snprintf(create_type, sizeof create_type, "%s", val);
		else if (desc_value(line, "CID", val, sizeof val))
			snprintf(cid, sizeof cid, "%s", val);
		else if (!strncmp(line, "RW ", 3) || !strncmp(line, "RDONLY ", 7) || !strncmp(line, "NOACCESS ", 9)) {
			char kind[16];
			if (sscanf(line, "%*s %llu %15s", &ext_sectors, kind) == 2 && !strcmp(kind, "SPARSE"))
				extents++;
			else
				extents += 100; /* not a single sparse extent */
		}
	}
	free(text);
	if (strcmp(create_type, "streamOptimized"))
		report(c, VMDK_RULE_DESCRIPTOR, "createType is \"%s\", not \"streamOptimized\"", create_type);
	if (extents != 1)
		report(c, VMDK_RULE_DESCRIPTOR, "the descriptor must name exactly one SPARSE extent");
	else if (ext_sectors != c->h.capacity)
		report(c, VMDK_RULE_DESCRIPTOR, "the extent line says %llu sectors, the header %llu", ext_sectors,
		       (unsigned long long)c->h.capacity);
	/* A 32-bit hex number: VMware writes 8 digits, qemu-img drops leading
	 * zeros (its CIDs are random, so one in sixteen has 7 digits or fewer). */
	size_t cid_len = strlen(cid);
	if (cid_len < 1 || cid_len > 8 || strspn(cid, "0123456789abcdefABCDEF") != cid_len)
		report(c, VMDK_RULE_DESCRIPTOR, "CID \"%s\" is not a 32-bit hex number (1 to 8 hex digits)", cid);
	else if (!strcasecmp(cid, "ffffffff") || !strcasecmp(cid, "fffffffe"))
		report(c, VMDK_RULE_DESCRIPTOR, "CID %s is reserved (it means \"no parent\")", cid);
	uint64_t desc_end = c->h.desc_offset + c->h.desc_size;
	uint64_t first = c->h.overhead > desc_end ? c->h.overhead : desc_end;
	skip_then(c, (first - desc_end) * VMDK_SECTOR, ST_RECORD, VMDK_SECTOR);
}

/* ---- grains ---- */

static void judge_grain(struct vmdk_check *c, uint64_t lba, uint32_t size)
{
	const struct vmdk_header *h = &c->h;
	c->grains++;
	if (lba % h->grain_size || lba >= h->capacity) {
		report(c, VMDK_RULE_GRAIN, "grain at sector %llu has LBA %llu, %s", (unsigned long long)c->record_sector,
		       (unsigned long long)lba, lba >= h->capacity ? "beyond the capacity" : "not on a grain boundary");
		return;
	}
	if (!c->inflater)
		c->inflater = libdeflate_alloc_decompressor();
	size_t out_len = 0;
	enum libdeflate_result r = c->inflater
		? libdeflate_zlib_decompress_ex(c->inflater, c->buf + VMDK_GRAIN_MARKER_BYTES, size, c->grain_out,
						c->grain_bytes, NULL, &out_len)
		: LIBDEFLATE_BAD_DATA;
	uint64_t want = lba + h->grain_size <= h->capacity ? c->grain_bytes : (h->capacity - lba) * VMDK_SECTOR;
	if (r != LIBDEFLATE_SUCCESS && r != LIBDEFLATE_SHORT_OUTPUT)
		report(c, VMDK_RULE_GRAIN, "the grain at LBA %llu does not inflate (corrupt or not a zlib stream: "
					   "VirtualBox reports VERR_ZIP_CORRUPTED)", (unsigned long long)lba);
	else if (out_len < want)
		report(c, VMDK_RULE_GRAIN, "the grain at LBA %llu inflates to %zu bytes, not %llu",
		       (unsigned long long)lba, out_len, (unsigned long long)want);
	if (c->n_pending == VMDK_GTES_PER_GT)
		c->crosscheck = 0; /* more grains than one table holds: a layout without GT markers */
	else if (c->crosscheck)
		c->pending[c->n_pending++] = (struct pending_grain){lba, (uint32_t)c->record_sector};
}

/* ---- tables ---- */

static void remember_table(struct vmdk_check *c, uint32_t sector, int64_t index)
{
	if (c->n_tables == c->alloc_tables) {
		c->alloc_tables = c->alloc_tables ? 2 * c->alloc_tables : 64;
		c->tables = xrealloc(c->tables, c->alloc_tables * sizeof *c->tables);
	}
	c->tables[c->n_tables++] = (struct table_seen){sector, index};
}

static const struct pending_grain *find_pending(const struct vmdk_check *c, uint32_t sector)
{
	for (size_t i = 0; i < c->n_pending; i++)
		if (c->pending[i].sector == sector)
			return &c->pending[i];
	return NULL;
}

static void judge_gt(struct vmdk_check *c, uint64_t table_sector)
{
	uint64_t per_table = (uint64_t)VMDK_GTES_PER_GT * c->h.grain_size;
	int64_t index = -1;
	size_t used = 0;
	for (unsigned i = 0; c->crosscheck && i < VMDK_GTES_PER_GT; i++) {
		uint32_t s = get_le32(c->buf + 4 * i);
		if (!s)
			continue;
		const struct pending_grain *g = find_pending(c, s);
		if (!g) {
			report(c, VMDK_RULE_TABLES, "grain table at sector %llu: entry %u points at sector %u, where no grain "
						    "of this table's range was written", (unsigned long long)table_sector, i, s);
			continue;
		}
		if (index < 0)
			index = (int64_t)(g->lba / per_table);
		if (g->lba != (uint64_t)index * per_table + (uint64_t)i * c->h.grain_size)
			report(c, VMDK_RULE_TABLES, "grain table at sector %llu: entry %u points at the grain of LBA %llu",
			       (unsigned long long)table_sector, i, (unsigned long long)g->lba);
		used++;
	}
	if (c->crosscheck && used != c->n_pending)
		report(c, VMDK_RULE_TABLES, "%zu grain(s) before the grain table at sector %llu are not in it",
		       c->n_pending - used, (unsigned long long)table_sector);
	if (index >= 0 && (uint64_t)index >= c->n_gts)
		report(c, VMDK_RULE_TABLES, "grain table at sector %llu maps beyond the capacity", (unsigned long long)table_sector);
	remember_table(c, (uint32_t)table_sector, index);
	c->n_pending = 0;
	c->crosscheck = 1;
}

static void judge_gd(struct vmdk_check *c, uint64_t table_sector, uint64_t sectors)
{
	c->have_gd = 1;
	c->gd_sector = table_sector;
	if (sectors * VMDK_SECTOR / 4 < c->n_gts) {
		report(c, VMDK_RULE_TABLES, "the grain directory has %llu sectors, too few for %llu tables",
		       (unsigned long long)sectors, (unsigned long long)c->n_gts);
		return;
	}
	if (!c->tables_at_end)
		return; /* tables precede the grains: nothing in the stream to compare with */
	size_t referenced = 0;
	for (uint64_t i = 0; i < c->n_gts; i++) {
		uint32_t s = get_le32(c->buf + 4 * i);
		if (!s)
			continue;
		const struct table_seen *t = NULL;
		for (size_t k = 0; k < c->n_tables && !t; k++)
			if (c->tables[k].sector == s)
				t = &c->tables[k];
		if (!t)
			report(c, VMDK_RULE_TABLES, "grain directory entry %llu points at sector %u, which holds no grain table",
			       (unsigned long long)i, s);
		else if (t->index >= 0 && (uint64_t)t->index != i)
			report(c, VMDK_RULE_TABLES, "grain directory entry %llu points at the table for range %lld",
			       (unsigned long long)i, (long long)t->index);
		else
			referenced++;
	}
	size_t with_grains = 0;
	for (size_t k = 0; k < c->n_tables; k++)
		with_grains += c->tables[k].index >= 0;
	if (referenced < with_grains)
		report(c, VMDK_RULE_TABLES, "%zu grain table(s) are not in the grain directory", with_grains - referenced);
}

static void judge_footer(struct vmdk_check *c, uint64_t sector)
{
	struct vmdk_header f;
	c->have_footer = 1;
	c->footer_sector = sector;
	if (vmdk_header_decode(c->buf, &f) < 0) {
		report(c, VMDK_RULE_TABLES, "the footer at sector %llu is not a header copy (no KDMV magic)",
		       (unsigned long long)sector);
		return;
	}
	const struct vmdk_header *h = &c->h;
	if (f.version != h->version || f.flags != h->flags || f.capacity != h->capacity || f.grain_size != h->grain_size ||
	    f.gtes_per_gt != h->gtes_per_gt)
		report(c, VMDK_RULE_TABLES, "the footer disagrees with the header (version, flags, capacity or grain size)");
	uint64_t gd = c->tables_at_end ? c->gd_sector : h->gd_offset;
	if (c->tables_at_end && !c->have_gd)
		report(c, VMDK_RULE_TABLES, "the footer comes before any grain directory");
	else if (f.gd_offset != gd)
		report(c, VMDK_RULE_TABLES, "the footer's gdOffset is %llu, the grain directory is at %llu",
		       (unsigned long long)f.gd_offset, (unsigned long long)gd);
}

/* ---- records ---- */

static void judge_record_head(struct vmdk_check *c)
{
	c->record_sector = (c->pos - VMDK_SECTOR) / VMDK_SECTOR;
	uint64_t value = get_le64(c->buf);
	uint32_t size = get_le32(c->buf + 8);
	if (size) {
		if (size > 2 * c->grain_bytes + VMDK_SECTOR) {
			report(c, VMDK_RULE_GRAIN, "grain marker at sector %llu claims %u compressed bytes",
			       (unsigned long long)c->record_sector, size);
			die_stream(c);
			return;
		}
		size_t total = (VMDK_GRAIN_MARKER_BYTES + size + VMDK_SECTOR - 1) / VMDK_SECTOR * VMDK_SECTOR;
		if (total == VMDK_SECTOR) {
			judge_grain(c, value, size);
			want(c, ST_RECORD, VMDK_SECTOR);
		} else {
			/* keep the first sector, read the rest after it */
			c->state = ST_GRAIN_REST;
			if (total > c->cap) {
				c->buf = xrealloc(c->buf, total);
				c->cap = total;
			}
			c->need = total;
		}
		return;
	}
	uint32_t type = get_le32(c->buf + 12);
	if (type == VMDK_MARKER_EOS) {
		c->have_eos = 1;
		if (c->tables_at_end && c->have_footer && c->footer_sector + 1 != c->record_sector)
			report(c, VMDK_RULE_TABLES, "the footer is not the sector before the end-of-stream marker");
		c->state = ST_AFTER_EOS;
		return;
	}
	if (type > VMDK_MARKER_FOOTER || value > MAX_META_SECTORS || !value ||
	    (type == VMDK_MARKER_GT && value * VMDK_SECTOR != 4 * VMDK_GTES_PER_GT) ||
	    (type == VMDK_MARKER_FOOTER && value != 1)) {
		report(c, VMDK_RULE_TABLES, "unknown or malformed marker at sector %llu (type %u, %llu sectors)",
		       (unsigned long long)c->record_sector, type, (unsigned long long)value);
		die_stream(c);
		return;
	}
	c->meta_type = type;
	want(c, ST_META, value * VMDK_SECTOR);
}

static void judge_meta(struct vmdk_check *c)
{
	uint64_t sector = c->record_sector + 1;
	if (c->meta_type == VMDK_MARKER_GT)
		judge_gt(c, sector);
	else if (c->meta_type == VMDK_MARKER_GD)
		judge_gd(c, sector, c->need / VMDK_SECTOR);
	else
		judge_footer(c, sector);
	want(c, ST_RECORD, VMDK_SECTOR);
}

static void judge(struct vmdk_check *c)
{
	switch (c->state) {
	case ST_HEADER:
		if (judge_header(c) < 0)
			die_stream(c);
		break;
	case ST_DESCRIPTOR:
		judge_descriptor(c);
		break;
	case ST_RECORD:
		judge_record_head(c);
		break;
	case ST_GRAIN_REST:
		judge_grain(c, get_le64(c->buf), get_le32(c->buf + 8));
		want(c, ST_RECORD, VMDK_SECTOR);
		break;
	case ST_META:
		judge_meta(c);
		break;
	default:
		break;
	}
}

int vmdk_check_feed(struct vmdk_check *c, const void *data, size_t len)
{
	const unsigned char *p = data;
	while (len && c->state != ST_DEAD) {
		if (c->state == ST_AFTER_EOS) {
			/* Zero sectors read as more EOS markers (qemu-img pads its
			 * streamOptimized files so); anything else is data that
			 * no reader will see. */
			size_t z = 0;
			while (z < len && !p[z])
				z++;
			c->trailing_zero += z, c->pos += z, p += z, len -= z;
			if (len) {
				report(c, VMDK_RULE_EOS, "data follows the end-of-stream marker at sector %llu",
				       (unsigned long long)c->record_sector);
				die_stream(c);
			}
			continue;
		}
		if (c->skip) {
			size_t k = c->skip < len ? (size_t)c->skip : len;
			c->skip -= k, c->pos += k, p += k, len -= k;
			continue;
		}
		size_t k = c->need - c->have < len ? c->need - c->have : len;
		memcpy(c->buf + c->have, p, k);
		c->have += k, c->pos += k, p += k, len -= k;
		if (c->have == c->need)
			judge(c);
	}
	return c->state == ST_DEAD ? -1 : 0;
}

void vmdk_check_end(struct vmdk_check *c)
{
	if (c->state == ST_DEAD || !c->have_header)
		return;
	if (c->trailing_zero)
		report(c, VMDK_RULE_TRAILING, "%llu zero bytes follow the end-of-stream marker (%s)",
		       (unsigned long long)c->trailing_zero,
		       c->trailing_zero % VMDK_SECTOR ? "not whole sectors" : "qemu-img pads its files so");
	if (c->state != ST_AFTER_EOS && (c->state != ST_RECORD || c->have || c->skip))
		report(c, VMDK_RULE_GRAIN, "the file ends inside a record (truncated at byte %llu)", (unsigned long long)c->pos);
	if (!c->have_eos)
		report(c, VMDK_RULE_EOS, "no end-of-stream marker: the stream is incomplete (ESXi's OVF deploy fails)");
	if (c->tables_at_end && !c->have_footer)
		report(c, VMDK_RULE_TABLES, "no footer: readers cannot find the grain directory");
	if (c->tables_at_end && !c->have_gd)
		report(c, VMDK_RULE_TABLES, "no grain directory");
	if (c->n_pending && c->crosscheck && c->tables_at_end)
		report(c, VMDK_RULE_TABLES, "%zu grain(s) after the last grain table are in no table", c->n_pending);
}

struct vmdk_check *vmdk_check_new(vmdk_check_report_fn fn, void *arg)
{
	struct vmdk_check *c = xcalloc(1, sizeof *c);
	c->report = fn;
	c->arg = arg;
	c->crosscheck = 1;
	want(c, ST_HEADER, VMDK_SECTOR);
	return c;
}

void vmdk_check_free(struct vmdk_check *c)
{
	if (!c)
		return;
	libdeflate_free_decompressor(c->inflater);
	free(c->grain_out);
	free(c->tables);
	free(c->buf);
	free(c);
}

int vmdk_check_have_header(const struct vmdk_check *c) { return c->have_header; }
uint64_t vmdk_check_capacity_bytes(const struct vmdk_check *c) { return c->h.capacity * VMDK_SECTOR; }
unsigned vmdk_check_problems(const struct vmdk_check *c) { return c->problems; }
