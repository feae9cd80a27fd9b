/* formats/vmdk/vmdk_writer.c: streaming VMDK writer, streamOptimized and monolithicSparse.
 *
 * streamOptimized (the default; what OVAs carry): version 3, flags
 * 0x30001, 64 KiB grains deflated as zlib streams behind grain markers.
 * File order, as ESXi's own exports and the stream-optimized spec lay it
 * out: header (gdOffset = GD_AT_END), descriptor, then the grains of each
 * 32 MiB range followed by a GT marker and that grain table, then a GD
 * marker and the grain directory, the footer marker and footer (the header
 * again with the real gdOffset), and the end-of-stream marker as the last
 * sector. Grain tables of ranges without data are not written (their
 * directory entry is 0, which every reader takes as "unallocated").
 * Compression runs on formats/parallel.h's ordered pool, so the bytes do
 * not depend on the thread count.
 *
 * monolithicSparse (VMware Workstation): version 1, flags 3, qemu's
 * layout: header, descriptor (sector 1), redundant grain directory and
 * tables, grain directory and tables, then uncompressed grains aligned to
 * the grain size. Each grain table is written in place as soon as the
 * stream leaves its range, so only one table is ever held in memory.
 *
 * Both: the descriptor's CID and ddb.longContentID are derived from the
 * seed and the content (the Adler-32 of every grain), so the same disk
 * gives the same file and a different disk a different id.
 */
#include "formats/content_id.h"
#include "formats/le.h"
#include "formats/parallel.h"
#include "formats/vmdk/vmdk_format.h"
#include "formats/writer.h"
#include "util/diag.h"
#include "util/io.h"
#include "util/ident.h"
#include "util/strbuf.h"

#include <libdeflate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GRAIN_BYTES (VMDK_GRAIN_SECTORS * VMDK_SECTOR)
#define DEFLATE_LEVEL 4 /* libdeflate: within 1% of qemu-img's zlib-6 size at 3.5x less CPU (bench/vmdk.sh) */
#define POOL_BYTES (32u << 20) /* bound on in-flight compression buffers */
#define WBUF_BYTES (1u << 20)
#define DESCRIPTOR_SECTORS 20
/* streamOptimized disks up to 64 TiB (ESXi's limit is 62 TB); hosted sparse ones to 2 TiB. */
#define MAX_STREAM_CAPACITY (1ull << 37)
#define MAX_SPARSE_CAPACITY (1ull << 32)

struct vmdkw {
	struct image_output out;
	int stream;             /* 1: streamOptimized, 0: monolithicSparse */
	const char *adapter;
	char *extent_name;      /* the file name the descriptor's extent line names */
	uint64_t capacity;      /* sectors */
	uint64_t n_gts;
	uint64_t gd_sectors;
	uint64_t desc_sectors;
	uint64_t next_sector;   /* where the next grain (or stream record) goes */

	uint32_t *gd;           /* n_gts entries: sector of each written grain table */
	uint32_t *rgd;          /* monolithicSparse: the redundant directory */
	uint64_t rgd_sector, gd_sector;
	int64_t gt_index;       /* table being filled, -1 none */
	uint32_t gt[VMDK_GTES_PER_GT];

	int64_t cur_grain;      /* grain being assembled from partial extents, -1 none */
	unsigned char *cur;
	unsigned char *plain_buf;
	unsigned char *pad;     /* one zero grain, for padding */

	struct content_id content; /* summary of the seed and every stored grain */

	unsigned char *wbuf;
	uint64_t wbuf_off;
	size_t wbuf_len;
	struct ordered_pool *pool;
};

/* ---- output ---- */

static int wbuf_flush(struct vmdkw *v)
{
	if (!v->wbuf_len)
		return 0;
	int r = pwrite_all(v->out.fd, v->wbuf, v->wbuf_len, v->wbuf_off);
	v->wbuf_len = 0;
	return r;
}

/* Writes at byte offset off, coalescing writes that follow each other. */
static int out_write(struct vmdkw *v, uint64_t off, const void *buf, size_t len)
{
	if (v->wbuf_len && off != v->wbuf_off + v->wbuf_len && wbuf_flush(v) < 0)
		return -1;
	if (len >= WBUF_BYTES) {
		if (wbuf_flush(v) < 0)
			return -1;
		return pwrite_all(v->out.fd, buf, len, off);
	}
	if (v->wbuf_len + len > WBUF_BYTES && wbuf_flush(v) < 0)
		return -1;
	if (!v->wbuf_len)
		v->wbuf_off = off;
	memcpy(v->wbuf + v->wbuf_len, buf, len);
	v->wbuf_len += len;
	return 0;
}

/* Appends len bytes at next_sector, zero-padded to whole sectors. */
static int append_sectors(struct vmdkw *v, const void *buf, size_t len)
{
	uint64_t off = v->next_sector * VMDK_SECTOR;
	size_t padded = (len + VMDK_SECTOR - 1) / VMDK_SECTOR * VMDK_SECTOR;
	if (out_write(v, off, buf, len) < 0 || out_write(v, off + len, v->pad, padded - len) < 0)
		return -1;
	v->next_sector += padded / VMDK_SECTOR;
	if (v->next_sector > UINT32_MAX)
		return error("vmdk: the image would exceed 2 TiB, the most a sparse extent can address");
	return 0;
}

static int append_marker(struct vmdkw *v, uint64_t num_sectors, uint32_t type)
{
	unsigned char m[VMDK_SECTOR] = {0};
	put_le64(m, num_sectors);
	put_le32(m + 12, type);
	return append_sectors(v, m, sizeof m);
}

static void encode_table(unsigned char *out, const uint32_t *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put_le32(out + 4 * i, t[i]);
}

/* ---- grain tables ---- */

static int flush_gt(struct vmdkw *v)
{
	if (v->gt_index < 0)
		return 0;
	unsigned char t[VMDK_GT_SECTORS * VMDK_SECTOR];
	encode_table(t, v->gt, VMDK_GTES_PER_GT);
	uint64_t idx = (uint64_t)v->gt_index;
	v->gt_index = -1;
	if (v->stream) {
		if (append_marker(v, VMDK_GT_SECTORS, VMDK_MARKER_GT) < 0)
			return -1;
		v->gd[idx] = (uint32_t)v->next_sector;
		return append_sectors(v, t, sizeof t);
	}
	/* monolithicSparse: both tables sit at fixed places before the grains. */
	if (out_write(v, (uint64_t)v->rgd[idx] * VMDK_SECTOR, t, sizeof t) < 0)
		return -1;
	return out_write(v, (uint64_t)v->gd[idx] * VMDK_SECTOR, t, sizeof t);
}

static int select_gt(struct vmdkw *v, uint64_t grain)
{
	int64_t idx = (int64_t)(grain / VMDK_GTES_PER_GT);
	if (idx == v->gt_index)
		return 0;
	if (flush_gt(v) < 0)
		return -1;
	memset(v->gt, 0, sizeof v->gt);
	v->gt_index = idx;
	return 0;
}

/* ---- grains ---- */

/* Pool worker: one grain in, its stream record out (marker with the LBA
 * left for the consumer, zlib stream, sector padding not included). */
static size_t compress_grain(void *state, const void *in, size_t len, void *out, size_t cap)
{
	unsigned char *o = out;
	size_t n = libdeflate_zlib_compress(state, in, len, o + VMDK_GRAIN_MARKER_BYTES, cap - VMDK_GRAIN_MARKER_BYTES);
	if (!n)
		return 0; /* cannot happen: cap is libdeflate's bound */
	put_le32(o + 8, (uint32_t)n);
	return VMDK_GRAIN_MARKER_BYTES + n;
}

static void *compressor_new(void *arg)
{
	(void)arg;
	return libdeflate_alloc_compressor(DEFLATE_LEVEL);
}
static void compressor_free(void *c) { libdeflate_free_compressor(c); }

/* Pool callback, in grain order: the compressed record of one grain. */
static int consume_grain(void *arg, uint64_t grain, const void *in, size_t in_len, const void *out, size_t out_len)
{
	struct vmdkw *v = arg;
	(void)in;
	(void)in_len;
	if (!out_len)
		return error("vmdk: compressing grain %llu failed", (unsigned long long)grain);
	if (select_gt(v, grain) < 0)
		return -1;
	v->gt[grain % VMDK_GTES_PER_GT] = (uint32_t)v->next_sector;
	/* The stream's last four bytes are the grain's Adler-32. */
	content_id_add(&v->content, grain, (uint32_t)((const unsigned char *)out)[out_len - 4] << 24 |
				       (uint32_t)((const unsigned char *)out)[out_len - 3] << 16 |
				       (uint32_t)((const unsigned char *)out)[out_len - 2] << 8 |
				       ((const unsigned char *)out)[out_len - 1]);
	unsigned char lba[8];
	put_le64(lba, grain * VMDK_GRAIN_SECTORS);
	uint64_t off = v->next_sector * VMDK_SECTOR;
	size_t padded = (out_len + VMDK_SECTOR - 1) / VMDK_SECTOR * VMDK_SECTOR;
	if (out_write(v, off, lba, 8) < 0 || out_write(v, off + 8, (const unsigned char *)out + 8, out_len - 8) < 0 ||
	    out_write(v, off + out_len, v->pad, padded - out_len) < 0)
		return -1;
	v->next_sector += padded / VMDK_SECTOR;
	if (v->next_sector > UINT32_MAX)
		return error("vmdk: the image would exceed 2 TiB, the most a sparse extent can address");
	return 0;
}

/* monolithicSparse: n whole grains stored as they are. */
static int store_plain(struct vmdkw *v, uint64_t grain, const unsigned char *buf, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		if (select_gt(v, grain + i) < 0)
			return -1;
		v->gt[(grain + i) % VMDK_GTES_PER_GT] = (uint32_t)v->next_sector;
		content_id_add_data(&v->content, grain + i, buf + i * GRAIN_BYTES, GRAIN_BYTES);
		if (append_sectors(v, buf + i * GRAIN_BYTES, GRAIN_BYTES) < 0)
			return -1;
	}
	return 0;
}

static int emit_grain(struct vmdkw *v, uint64_t grain, const unsigned char *buf)
{
	if (!v->pool)
		return store_plain(v, grain, buf, 1);
	if (buf != v->cur) {
		void *slot = ordered_pool_slot(v->pool);
		if (!slot)
			return -1;
		memcpy(slot, buf, GRAIN_BYTES);
	}
	return ordered_pool_submit(v->pool, grain, GRAIN_BYTES);
}

static int emit_current(struct vmdkw *v)
{
	if (v->cur_grain < 0)
		return 0;
	uint64_t g = (uint64_t)v->cur_grain;
	v->cur_grain = -1;
	return emit_grain(v, g, v->cur);
}

static int start_current(struct vmdkw *v, uint64_t grain)
{
	v->cur = v->pool ? ordered_pool_slot(v->pool) : v->plain_buf;
	if (!v->cur)
		return -1;
	memset(v->cur, 0, GRAIN_BYTES);
	v->cur_grain = (int64_t)grain;
	return 0;
}

static int vmdk_write_data(struct image_writer *w, uint64_t off, const void *data, size_t len)
{
	struct vmdkw *v = w->priv;
	const unsigned char *buf = data;
	while (len) {
		uint64_t grain = off / GRAIN_BYTES, in = off % GRAIN_BYTES;
		if (v->cur_grain >= 0 && (uint64_t)v->cur_grain != grain && emit_current(v) < 0)
			return -1;
		if (in == 0 && len >= GRAIN_BYTES && v->cur_grain < 0) {
			if (!v->pool) {
				uint64_t n = len / GRAIN_BYTES;
				if (store_plain(v, grain, buf, n) < 0)
					return -1;
				off += n * GRAIN_BYTES, buf += n * GRAIN_BYTES, len -= (size_t)(n * GRAIN_BYTES);
			} else {
				if (emit_grain(v, grain, buf) < 0)
					return -1;
				off += GRAIN_BYTES, buf += GRAIN_BYTES, len -= GRAIN_BYTES;
			}
			continue;
		}
		if (v->cur_grain < 0 && start_current(v, grain) < 0)
			return -1;
		size_t k = GRAIN_BYTES - in < len ? (size_t)(GRAIN_BYTES - in) : len;
		memcpy(v->cur + in, buf, k);
		off += k, buf += k, len -= k;
		if (in + k == GRAIN_BYTES && emit_current(v) < 0)
			return -1;
	}
	return 0;
}

/* ---- descriptor ---- */

/* CID (8 hex digits) and longContentID (32 hex digits) from the content
 * digest; the CID is also the longContentID's last 8 digits, as VMware
 * writes them, and never one of the values that mean "no parent". */
static void content_ids(struct vmdkw *v, char cid[9], char long_id[33])
{
	uint8_t d[16];
	ident_uuid(content_id_finish(&v->content), "vmdk-content-id", d);
	uint32_t c = get_le32(d + 12);
	if (c == 0xffffffffu || c == 0xfffffffeu)
		c = 0x7fffffffu;
	snprintf(cid, 9, "%08x", c);
	snprintf(long_id, 33, "%08x%08x%08x%s", get_le32(d), get_le32(d + 4), get_le32(d + 8), cid);
}

static void build_descriptor(const struct vmdkw *v, const char *cid, const char *long_id, struct strbuf *sb)
{
	struct vmdk_geometry g = vmdk_geometry_for(v->capacity, v->adapter);
	strbuf_addf(sb,
		    "# Disk DescriptorFile\n"
		    "version=1\n"
		    "encoding=\"UTF-8\"\n"
		    "CID=%s\n"
		    "parentCID=ffffffff\n"
		    "createType=\"%s\"\n"
		    "\n"
		    "# Extent description\n"
		    "RW %llu SPARSE \"%s\"\n"
		    "\n"
		    "# The Disk Data Base\n"
		    "#DDB\n"
		    "\n"
		    "ddb.longContentID = \"%s\"\n"
		    "ddb.virtualHWVersion = \"4\"\n"
		    "ddb.geometry.cylinders = \"%u\"\n"
		    "ddb.geometry.heads = \"%u\"\n"
		    "ddb.geometry.sectors = \"%u\"\n"
		    "ddb.adapterType = \"%s\"\n"
		    "ddb.toolsVersion = \"2147483647\"\n",
		    cid, v->stream ? "streamOptimized" : "monolithicSparse", (unsigned long long)v->capacity,
		    v->extent_name, long_id, g.cylinders, g.heads, g.sectors, v->adapter);
}

/* The descriptor's size does not depend on the ids (fixed-width hex), so
 * its sectors can be reserved before the content is known. VMware and qemu
 * reserve 20 sectors, and Workstation rewrites the descriptor in place
 * (new CID, ddb.uuid) when it first writes the disk, so reserve as much. */
static uint64_t descriptor_sectors(const struct vmdkw *v)
{
	struct strbuf sb = STRBUF_INIT;
	build_descriptor(v, "00000000", "00000000000000000000000000000000", &sb);
	uint64_t n = (sb.len + VMDK_SECTOR) / VMDK_SECTOR; /* at least one zero byte after it */
	strbuf_release(&sb);
	return n > DESCRIPTOR_SECTORS ? n : DESCRIPTOR_SECTORS;
}

static struct vmdk_header base_header(const struct vmdkw *v)
{
	struct vmdk_header h = {
		.version = v->stream ? 3 : 1,
		.flags = v->stream ? VMDK_FLAG_NL_DETECT | VMDK_FLAG_COMPRESSED | VMDK_FLAG_MARKERS
				   : VMDK_FLAG_NL_DETECT | VMDK_FLAG_REDUNDANT_GD,
		.capacity = v->capacity,
		.grain_size = VMDK_GRAIN_SECTORS,
		.desc_offset = 1,
		.desc_size = v->desc_sectors,
		.gtes_per_gt = VMDK_GTES_PER_GT,
		.compress_alg = v->stream ? VMDK_COMPRESS_DEFLATE : 0,
	};
	if (v->stream) {
		h.gd_offset = VMDK_GD_AT_END;
		h.overhead = 1 + v->desc_sectors;
	} else {
		h.rgd_offset = v->rgd_sector;
		h.gd_offset = v->gd_sector;
		h.overhead = v->next_sector; /* set in open: the first grain's sector */
	}
	return h;
}

/* ---- finishing ---- */

static int write_stream_tail(struct vmdkw *v)
{
	if (append_marker(v, v->gd_sectors, VMDK_MARKER_GD) < 0)
		return -1;
	uint64_t gd_at = v->next_sector;
	unsigned char *t = xcalloc(v->gd_sectors, VMDK_SECTOR);
	encode_table(t, v->gd, v->n_gts);
	int r = append_sectors(v, t, v->gd_sectors * VMDK_SECTOR);
	free(t);
	if (r < 0 || append_marker(v, 1, VMDK_MARKER_FOOTER) < 0)
		return -1;
	struct vmdk_header h = base_header(v);
	h.gd_offset = gd_at;
	unsigned char footer[VMDK_SECTOR];
	vmdk_header_encode(&h, footer);
	if (append_sectors(v, footer, sizeof footer) < 0)
		return -1;
	return append_marker(v, 0, VMDK_MARKER_EOS);
}

static int write_sparse_directories(struct vmdkw *v)
{
	unsigned char *t = xcalloc(v->gd_sectors, VMDK_SECTOR);
	encode_table(t, v->rgd, v->n_gts);
	int r = out_write(v, v->rgd_sector * VMDK_SECTOR, t, v->gd_sectors * VMDK_SECTOR);
	encode_table(t, v->gd, v->n_gts);
	if (r == 0)
		r = out_write(v, v->gd_sector * VMDK_SECTOR, t, v->gd_sectors * VMDK_SECTOR);
	free(t);
	return r;
}

static int write_head(struct vmdkw *v)
{
	char cid[9], long_id[33];
	content_ids(v, cid, long_id);
	struct strbuf sb = STRBUF_INIT;
	build_descriptor(v, cid, long_id, &sb);
	unsigned char *head = xcalloc(1 + v->desc_sectors, VMDK_SECTOR);
	struct vmdk_header h = base_header(v);
	vmdk_header_encode(&h, head);
	memcpy(head + VMDK_SECTOR, sb.buf, sb.len);
	strbuf_release(&sb);
	int r = out_write(v, 0, head, (1 + v->desc_sectors) * VMDK_SECTOR);
	free(head);
	return r;
}

static int vmdk_finish(struct image_writer *w)
{
	struct vmdkw *v = w->priv;
	if (emit_current(v) < 0)
		return -1;
	if (v->pool && ordered_pool_drain(v->pool) < 0)
		return -1;
	if (flush_gt(v) < 0)
		return -1;
	if (v->stream ? write_stream_tail(v) : write_sparse_directories(v))
		return -1;
	if (write_head(v) < 0 || wbuf_flush(v) < 0)
		return -1;
	return image_output_commit(w, &v->out, v->next_sector * VMDK_SECTOR);
}

/* ---- setup ---- */

static int parse_options(struct vmdkw *v, const struct image_options *o)
{
	const char *sub = o->subformat ? o->subformat : "streamOptimized";
	if (!strcmp(sub, "streamOptimized"))
		v->stream = 1;
	else if (strcmp(sub, "monolithicSparse"))
		return error("vmdk: unknown subformat '%s' (streamOptimized, monolithicSparse)", sub);
	v->adapter = o->adapter_type ? o->adapter_type : "lsilogic";
	if (!vmdk_adapter_known(v->adapter))
		return error("vmdk: unknown adapter type '%s' (ide, buslogic, lsilogic, legacyESX)", v->adapter);
	v->capacity = (o->virtual_size + VMDK_SECTOR - 1) / VMDK_SECTOR;
	uint64_t max = v->stream ? MAX_STREAM_CAPACITY : MAX_SPARSE_CAPACITY;
	if (v->capacity > max)
		return error("vmdk: %s disks are limited to %llu GiB", sub, (unsigned long long)(max >> 21));
	return 0;
}

static void setup_layout(struct vmdkw *v)
{
	uint64_t grains = (v->capacity + VMDK_GRAIN_SECTORS - 1) / VMDK_GRAIN_SECTORS;
	v->n_gts = (grains + VMDK_GTES_PER_GT - 1) / VMDK_GTES_PER_GT;
	v->gd_sectors = (v->n_gts * 4 + VMDK_SECTOR - 1) / VMDK_SECTOR;
	if (!v->gd_sectors)
		v->gd_sectors = 1;
	v->gd = xcalloc(v->n_gts ? v->n_gts : 1, sizeof *v->gd);
	v->desc_sectors = descriptor_sectors(v);
	v->next_sector = 1 + v->desc_sectors;
	if (v->stream)
		return;
	/* monolithicSparse: every table has its place up front (qemu's order). */
	v->rgd = xcalloc(v->n_gts ? v->n_gts : 1, sizeof *v->rgd);
	v->rgd_sector = v->next_sector;
	uint64_t s = v->rgd_sector + v->gd_sectors;
	for (uint64_t i = 0; i < v->n_gts; i++, s += VMDK_GT_SECTORS)
		v->rgd[i] = (uint32_t)s;
	v->gd_sector = s;
	s += v->gd_sectors;
	for (uint64_t i = 0; i < v->n_gts; i++, s += VMDK_GT_SECTORS)
		v->gd[i] = (uint32_t)s;
	v->next_sector = (s + VMDK_GRAIN_SECTORS - 1) / VMDK_GRAIN_SECTORS * VMDK_GRAIN_SECTORS;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static int start_pool(struct vmdkw *v, int threads)
{
	struct libdeflate_compressor *probe = libdeflate_alloc_compressor(DEFLATE_LEVEL);
	if (!probe)
		return error("vmdk: cannot set up the compressor");
	size_t out_cap = VMDK_GRAIN_MARKER_BYTES + libdeflate_zlib_compress_bound(probe, GRAIN_BYTES);
	libdeflate_free_compressor(probe);
	size_t slots = POOL_BYTES / (GRAIN_BYTES + out_cap);
	if (slots < 2 * (size_t)threads)
		slots = 2 * (size_t)threads;
	struct ordered_pool_config pc = {
		.threads = threads, .slots = slots, .in_cap = GRAIN_BYTES, .out_cap = out_cap,
		.work = compress_grain, .state_new = compressor_new, .state_free = compressor_free,
		.consume = consume_grain, .arg = v,
	};
	v->pool = ordered_pool_create(&pc);
	return v->pool ? 0 : -1;
}

static void vmdk_abort(struct image_writer *w);

static int vmdk_open(struct image_writer *w)
{
	struct vmdkw *v = xcalloc(1, sizeof *v);
	w->priv = v;
	v->out.fd = -1;
	v->gt_index = -1;
	v->cur_grain = -1;
	if (parse_options(v, &w->opt) < 0)
		goto fail;
	v->extent_name = xstrdup(base_name(w->path));
	if (strchr(v->extent_name, '"') || strchr(v->extent_name, '\n')) {
		error("vmdk: the file name '%s' cannot be written in a descriptor", v->extent_name);
		goto fail;
	}
	setup_layout(v);
	content_id_init(&v->content, w->opt.seed, w->opt.virtual_size);
	v->pad = xcalloc(1, GRAIN_BYTES);
	v->wbuf = xmalloc(WBUF_BYTES);
	if (!v->stream)
		v->plain_buf = xmalloc(GRAIN_BYTES);
	else if (start_pool(v, w->opt.threads) < 0)
		goto fail;
	if (image_output_open(w, &v->out) < 0)
		goto fail;
	return 0;
fail:
	vmdk_abort(w);
	return -1;
}

static void vmdk_abort(struct image_writer *w)
{
	struct vmdkw *v = w->priv;
	if (!v)
		return;
	ordered_pool_destroy(v->pool);
	image_output_discard(&v->out);
	free(v->extent_name);
	free(v->gd);
	free(v->rgd);
	free(v->plain_buf);
	free(v->pad);
	free(v->wbuf);
	free(v);
	w->priv = NULL;
}

const struct image_format image_format_vmdk = {
	.name = "vmdk",
	.extension = "vmdk",
	.open = vmdk_open,
	.write_data = vmdk_write_data,
	.finish = vmdk_finish,
	.abort = vmdk_abort,
};
