/* formats/qcow2/qcow2_writer.c: a streaming qcow2 writer (v2 or v3, plain or compressed).
 *
 * Promises: images that `qemu-img check` finds clean (exact refcounts, the
 * refcount blocks counting themselves, COPIED flags on every L1 and
 * uncompressed L2 entry, no leaks); clusters that read as zero are never
 * allocated; the same input gives the same bytes whatever the thread
 * count; memory is bounded whatever the virtual size.
 *
 * Layout, in file order: the header cluster, then data clusters,
 * compressed clusters, L2 tables and refcount blocks as the stream
 * produces them, and at the end the L1 table, the refcount table and the
 * last refcount blocks. Extents arrive in increasing virtual order, so an
 * L2 table is complete (and written) as soon as the stream leaves the
 * range it maps; a refcount block is complete as soon as every host
 * cluster it covers has its final count. Only one L2 table, a window of
 * refcounts and the small L1 and refcount tables live in memory.
 *
 * Host clusters are allocated from `next_free` upwards. Compressed
 * clusters are packed back to back at byte granularity into an "open"
 * host cluster (a blob may run on into the next host cluster when that
 * one is contiguous, as qemu does); metadata allocated meanwhile goes to
 * next_free, so the open cluster is the only one whose count can still
 * change below next_free. Every host cluster that a blob touches counts
 * one reference per blob.
 */
#include "formats/parallel.h"
#include "formats/qcow2/qcow2_codec.h"
#include "formats/qcow2/qcow2_format.h"
#include "formats/writer.h"
#include "util/diag.h"
#include "util/io.h"
#include "util/strbuf.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_CLUSTER_SIZE (64u << 10)
#define MIN_CLUSTER_SIZE (4u << 10)
#define MAX_CLUSTER_SIZE (2u << 20)
#define POOL_BYTES (32u << 20)  /* bound on in-flight compression buffers */
#define WBUF_BYTES (1u << 20)   /* coalescing of small sequential writes */
#define DIRECT_BYTES (64u << 10) /* writes this large skip the copy into the buffer */
#define MAX_RUN_CLUSTERS 512    /* plain data written per allocation step */
#define REFCOUNT_MAX 0xffffu

struct qcow2w {
	struct image_output out; /* the temporary file, renamed onto the path at the end */
	int version;
	int compression_type; /* -1: none */
	unsigned cluster_bits;
	uint64_t cs;
	uint64_t header_size;   /* virtual size rounded up to 512 bytes */
	uint64_t l2_entries;

	uint32_t l1_size;
	uint64_t *l1;
	int64_t l2_index;       /* L1 index of the table being filled, -1 none */
	uint64_t *l2;

	/* Host allocation. */
	uint64_t next_free;     /* first never-allocated host cluster */
	int cz_open;            /* a compressed cluster is being filled */
	uint64_t cz_cluster;    /* its index */
	uint64_t cz_pos;        /* next free byte (absolute) */

	/* Refcounts of host clusters [rc_base, rc_base + rc_cap). */
	uint64_t rb_entries;    /* clusters per refcount block */
	uint64_t rc_base;
	uint16_t *rc;
	size_t rc_cap;
	uint64_t *reftable;     /* host offset of each written refcount block */
	size_t reftable_len, reftable_cap;

	/* The virtual cluster being assembled from partial extents. */
	int64_t cur_vc;
	unsigned char *cur;
	unsigned char *plain_buf; /* cur's storage when not compressing */

	unsigned char *scratch; /* one cluster for encoding tables */
	unsigned char *wbuf;    /* pending sequential bytes */
	uint64_t wbuf_off;
	size_t wbuf_len;

	struct ordered_pool *pool;
};

/* ---- output ---- */

static int wbuf_flush(struct qcow2w *q)
{
	if (!q->wbuf_len)
		return 0;
	image_output_reserve(&q->out, q->wbuf_off + q->wbuf_len);
	int r = pwrite_all(q->out.fd, q->wbuf, q->wbuf_len, q->wbuf_off);
	q->wbuf_len = 0;
	return r;
}

/* Writes at host offset off, coalescing writes that follow each other. */
static int out_write(struct qcow2w *q, uint64_t off, const void *buf, size_t len)
{
	if (q->wbuf_len && off != q->wbuf_off + q->wbuf_len && wbuf_flush(q) < 0)
		return -1;
	if (len >= DIRECT_BYTES) {
		if (wbuf_flush(q) < 0)
			return -1;
		image_output_reserve(&q->out, off + len);
		return pwrite_all(q->out.fd, buf, len, off);
	}
	if (q->wbuf_len + len > WBUF_BYTES && wbuf_flush(q) < 0)
		return -1;
	if (!q->wbuf_len)
		q->wbuf_off = off;
	memcpy(q->wbuf + q->wbuf_len, buf, len);
	q->wbuf_len += len;
	return 0;
}

/* ---- refcounts ---- */

static void rc_add(struct qcow2w *q, uint64_t cluster, unsigned n)
{
	/* Refcounts below rc_base were written already; the frontier logic
	 * guarantees nothing is allocated there again. */
	size_t idx = (size_t)(cluster - q->rc_base);
	if (idx >= q->rc_cap) {
		size_t cap = q->rc_cap * 2 > idx + 1 ? q->rc_cap * 2 : idx + 1;
		q->rc = xrealloc(q->rc, cap * sizeof *q->rc);
		memset(q->rc + q->rc_cap, 0, (cap - q->rc_cap) * sizeof *q->rc);
		q->rc_cap = cap;
	}
	q->rc[idx] = (uint16_t)(q->rc[idx] + n);
}

static uint64_t alloc_clusters(struct qcow2w *q, uint64_t n)
{
	uint64_t first = q->next_free;
	for (uint64_t i = 0; i < n; i++)
		rc_add(q, first + i, 1);
	q->next_free += n;
	return first;
}

/* Host clusters below the frontier have their final refcount. */
static uint64_t rc_frontier(const struct qcow2w *q)
{
	return q->cz_open && q->cz_cluster < q->next_free ? q->cz_cluster : q->next_free;
}

static void reftable_set(struct qcow2w *q, uint64_t block, uint64_t offset)
{
	if (block >= q->reftable_cap) {
		size_t cap = q->reftable_cap ? q->reftable_cap * 2 : 64;
		while (cap <= block)
			cap *= 2;
		q->reftable = xrealloc(q->reftable, cap * sizeof *q->reftable);
		memset(q->reftable + q->reftable_cap, 0, (cap - q->reftable_cap) * sizeof *q->reftable);
		q->reftable_cap = cap;
	}
	q->reftable[block] = offset;
	if (block + 1 > q->reftable_len)
		q->reftable_len = block + 1;
}

/* Writes the refcount block for [rc_base, rc_base + rb_entries) at host cluster `at`. */
static int write_refblock_at(struct qcow2w *q, uint64_t at)
{
	for (uint64_t i = 0; i < q->rb_entries; i++)
		put_be16(q->scratch + 2 * i, i < q->rc_cap ? q->rc[i] : 0);
	reftable_set(q, q->rc_base / q->rb_entries, at * q->cs);
	return out_write(q, at * q->cs, q->scratch, q->cs);
}

static void rc_shift_window(struct qcow2w *q)
{
	size_t n = (size_t)q->rb_entries;
	if (q->rc_cap > n) {
		memmove(q->rc, q->rc + n, (q->rc_cap - n) * sizeof *q->rc);
		memset(q->rc + q->rc_cap - n, 0, n * sizeof *q->rc);
	} else {
		memset(q->rc, 0, q->rc_cap * sizeof *q->rc);
	}
	q->rc_base += n;
}

/* Writes every refcount block whose clusters all have their final count. */
static int flush_complete_refblocks(struct qcow2w *q)
{
	while (rc_frontier(q) >= q->rc_base + q->rb_entries) {
		uint64_t at = alloc_clusters(q, 1);
		if (write_refblock_at(q, at) < 0)
			return -1;
		rc_shift_window(q);
	}
	return 0;
}

/* ---- L2 tables ---- */

static int flush_l2(struct qcow2w *q)
{
	if (q->l2_index < 0)
		return 0;
	uint64_t at = alloc_clusters(q, 1);
	for (uint64_t i = 0; i < q->l2_entries; i++)
		put_be64(q->scratch + 8 * i, q->l2[i]);
	q->l1[q->l2_index] = at * q->cs | QCOW2_OFLAG_COPIED;
	q->l2_index = -1;
	return out_write(q, at * q->cs, q->scratch, q->cs);
}

/* Makes the L2 table that maps virtual cluster vc the current one. */
static int select_l2(struct qcow2w *q, uint64_t vc)
{
	int64_t idx = (int64_t)(vc / q->l2_entries);
	if (idx == q->l2_index)
		return 0;
	if (flush_l2(q) < 0)
		return -1;
	memset(q->l2, 0, q->cs);
	q->l2_index = idx;
	return 0;
}

static void set_l2(struct qcow2w *q, uint64_t vc, uint64_t entry) { q->l2[vc % q->l2_entries] = entry; }

/* ---- data clusters ---- */

/* Stores n whole clusters uncompressed, mapped from virtual cluster vc on. */
static int store_plain(struct qcow2w *q, uint64_t vc, const unsigned char *buf, uint64_t n)
{
	while (n) {
		if (select_l2(q, vc) < 0)
			return -1;
		uint64_t k = q->l2_entries - vc % q->l2_entries;
		if (k > n)
			k = n;
		if (k > MAX_RUN_CLUSTERS)
			k = MAX_RUN_CLUSTERS;
		uint64_t host = alloc_clusters(q, k);
		for (uint64_t i = 0; i < k; i++)
			set_l2(q, vc + i, (host + i) * q->cs | QCOW2_OFLAG_COPIED);
		if (out_write(q, host * q->cs, buf, (size_t)(k * q->cs)) < 0)
			return -1;
		if (flush_complete_refblocks(q) < 0)
			return -1;
		vc += k;
		buf += k * q->cs;
		n -= k;
	}
	return 0;
}

/* Places a compressed blob of len bytes; returns its host byte offset. */
static uint64_t place_blob(struct qcow2w *q, size_t len)
{
	uint64_t cs = q->cs;
	if (q->cz_open) {
		int fits = q->cz_pos + len <= (q->cz_cluster + 1) * cs;
		int contiguous = q->next_free == q->cz_cluster + 1;
		int count_ok = q->rc[q->cz_cluster - q->rc_base] < REFCOUNT_MAX - 1;
		if (!(fits || contiguous) || !count_ok)
			q->cz_open = 0;
	}
	if (!q->cz_open) {
		q->cz_cluster = q->next_free++; /* counted by the loop below */
		q->cz_pos = q->cz_cluster * cs;
		q->cz_open = 1;
	}
	uint64_t off = q->cz_pos, last = (off + len - 1) / cs;
	for (uint64_t c = off / cs; c <= last; c++) {
		if (c >= q->next_free) /* the blob runs on into the next cluster */
			q->next_free = c + 1;
		rc_add(q, c, 1);
	}
	q->cz_pos = off + len;
	q->cz_cluster = q->cz_pos / cs;
	q->cz_open = q->cz_pos % cs != 0;
	return off;
}

static int store_compressed(struct qcow2w *q, uint64_t vc, const void *blob, size_t len)
{
	if (select_l2(q, vc) < 0)
		return -1;
	uint64_t off = place_blob(q, len);
	uint64_t sectors = (off + len - 1) / 512 - off / 512; /* after the first */
	set_l2(q, vc, off | sectors << qcow2_csize_shift(q->cluster_bits) | QCOW2_OFLAG_COMPRESSED);
	if (out_write(q, off, blob, len) < 0)
		return -1;
	return flush_complete_refblocks(q);
}

/* Pool callback, in virtual order: the compressed result of cluster vc. */
static int consume_cluster(void *arg, uint64_t vc, const void *in, size_t in_len, const void *out, size_t out_len)
{
	struct qcow2w *q = arg;
	if (out_len == 0)
		return store_plain(q, vc, in, 1);
	return store_compressed(q, vc, out, out_len);
}

static size_t compress_cluster(void *state, const void *in, size_t len, void *out, size_t cap)
{
	/* cap is cluster size - 1: a cluster that does not shrink is stored raw. */
	return qcow2_codec_compress(state, in, len, out, cap);
}

static void *codec_new(void *arg) { return qcow2_codec_new(*(int *)arg); }
static void codec_free(void *c) { qcow2_codec_free(c); }

/* ---- assembling clusters from extents ---- */

static int emit_current(struct qcow2w *q)
{
	if (q->cur_vc < 0)
		return 0;
	uint64_t vc = (uint64_t)q->cur_vc;
	q->cur_vc = -1;
	if (q->pool)
		return ordered_pool_submit(q->pool, vc, q->cs);
	return store_plain(q, vc, q->cur, 1);
}

static int start_current(struct qcow2w *q, uint64_t vc)
{
	q->cur = q->pool ? ordered_pool_slot(q->pool) : q->plain_buf;
	if (!q->cur)
		return -1;
	memset(q->cur, 0, q->cs);
	q->cur_vc = (int64_t)vc;
	return 0;
}

/* Whole clusters straight from the caller's buffer. */
static int emit_whole(struct qcow2w *q, uint64_t vc, const unsigned char *buf, uint64_t n)
{
	if (!q->pool)
		return store_plain(q, vc, buf, n);
	for (uint64_t i = 0; i < n; i++) {
		void *slot = ordered_pool_slot(q->pool);
		if (!slot)
			return -1;
		memcpy(slot, buf + i * q->cs, q->cs);
		if (ordered_pool_submit(q->pool, vc + i, q->cs) < 0)
			return -1;
	}
	return 0;
}

static int qcow2_write_data(struct image_writer *w, uint64_t off, const void *data, size_t len)
{
	struct qcow2w *q = w->priv;
	const unsigned char *buf = data;
	while (len) {
		uint64_t vc = off / q->cs, in = off % q->cs;
		if (q->cur_vc >= 0 && (uint64_t)q->cur_vc != vc && emit_current(q) < 0)
			return -1;
		if (in == 0 && len >= q->cs && q->cur_vc < 0) {
			uint64_t n = len / q->cs;
			if (emit_whole(q, vc, buf, n) < 0)
				return -1;
			off += n * q->cs;
			buf += n * q->cs;
			len -= (size_t)(n * q->cs);
			continue;
		}
		if (q->cur_vc < 0 && start_current(q, vc) < 0)
			return -1;
		size_t k = q->cs - in < len ? (size_t)(q->cs - in) : len;
		memcpy(q->cur + in, buf, k);
		off += k;
		buf += k;
		len -= k;
		if (in + k == q->cs && emit_current(q) < 0)
			return -1;
	}
	return 0;
}

/* ---- finishing ---- */

static int write_l1(struct qcow2w *q, uint64_t *l1_offset)
{
	uint64_t bytes = (uint64_t)q->l1_size * 8;
	uint64_t clusters = (bytes + q->cs - 1) / q->cs;
	if (!clusters) {
		*l1_offset = 0;
		return 0;
	}
	uint64_t at = alloc_clusters(q, clusters);
	*l1_offset = at * q->cs;
	for (uint64_t c = 0; c < clusters; c++) {
		memset(q->scratch, 0, q->cs);
		for (uint64_t i = 0; i < q->l2_entries && c * q->l2_entries + i < q->l1_size; i++)
			put_be64(q->scratch + 8 * i, q->l1[c * q->l2_entries + i]);
		if (out_write(q, (at + c) * q->cs, q->scratch, q->cs) < 0)
			return -1;
	}
	return 0;
}

/* Places the refcount table and the last refcount blocks, which must count
 * themselves: iterate to the fixed point of "blocks needed to cover the
 * file including these blocks and the table". */
static int write_refcount_tail(struct qcow2w *q, uint64_t *table_offset, uint64_t *table_clusters)
{
	uint64_t end = q->next_free, first_block = q->rc_base / q->rb_entries;
	uint64_t blocks = 0, tclusters = 0;
	for (;;) {
		uint64_t total = end + tclusters + blocks;
		uint64_t nb = (total + q->rb_entries - 1) / q->rb_entries;
		uint64_t new_blocks = nb - first_block;
		uint64_t new_t = (nb * 8 + q->cs - 1) / q->cs;
		if (new_blocks == blocks && new_t == tclusters)
			break;
		blocks = new_blocks;
		tclusters = new_t;
	}
	if (tclusters * q->cs > QCOW2_MAX_REFTABLE_BYTES)
		return error("qcow2: the refcount table would exceed qemu's 8 MiB limit; use a larger cluster size");
	uint64_t table_at = alloc_clusters(q, tclusters);
	uint64_t blocks_at = alloc_clusters(q, blocks);
	for (uint64_t b = 0; b < blocks; b++) {
		if (write_refblock_at(q, blocks_at + b) < 0)
			return -1;
		rc_shift_window(q);
	}
	for (uint64_t c = 0; c < tclusters; c++) {
		memset(q->scratch, 0, q->cs);
		for (uint64_t i = 0; i < q->cs / 8 && c * (q->cs / 8) + i < q->reftable_len; i++)
			put_be64(q->scratch + 8 * i, q->reftable[c * (q->cs / 8) + i]);
		if (out_write(q, (table_at + c) * q->cs, q->scratch, q->cs) < 0)
			return -1;
	}
	*table_offset = table_at * q->cs;
	*table_clusters = tclusters;
	return 0;
}

static void put_feature(unsigned char *p, int type, int bit, const char *name)
{
	p[0] = (unsigned char)type;
	p[1] = (unsigned char)bit;
	strncpy((char *)p + 2, name, 46);
}

/* The feature-name table qemu writes, so tools can name unknown bits. */
static size_t put_feature_table(unsigned char *p)
{
	static const struct {
		int type, bit;
		const char *name;
	} f[] = {
		{0, 0, "dirty bit"},     {0, 1, "corrupt bit"},       {0, 2, "external data file"},
		{0, 3, "compression type"}, {0, 4, "extended L2 entries"}, {1, 0, "lazy refcounts"},
		{2, 0, "bitmaps"},       {2, 1, "raw external data"},
	};
	size_t n = sizeof f / sizeof f[0];
	put_be32(p, QCOW2_EXT_FEATURE_NAMES);
	put_be32(p + 4, (uint32_t)(n * 48));
	for (size_t i = 0; i < n; i++)
		put_feature(p + 8 + i * 48, f[i].type, f[i].bit, f[i].name);
	return 8 + n * 48;
}

static int write_header(struct qcow2w *q, uint64_t l1_offset, uint64_t rt_offset, uint64_t rt_clusters)
{
	unsigned char *h = q->scratch;
	memset(h, 0, q->cs);
	put_be32(h + QH_MAGIC, QCOW2_MAGIC);
	put_be32(h + QH_VERSION, (uint32_t)q->version);
	put_be32(h + QH_CLUSTER_BITS, q->cluster_bits);
	put_be64(h + QH_SIZE, q->header_size);
	put_be32(h + QH_L1_SIZE, q->l1_size);
	put_be64(h + QH_L1_OFFSET, l1_offset);
	put_be64(h + QH_REFTABLE_OFFSET, rt_offset);
	put_be32(h + QH_REFTABLE_CLUSTERS, (uint32_t)rt_clusters);
	if (q->version >= 3) {
		int zstd = q->compression_type == QCOW2_COMPRESSION_ZSTD;
		put_be64(h + QH_INCOMPATIBLE, zstd ? QCOW2_INCOMPAT_COMPRESSION : 0);
		put_be32(h + QH_REFCOUNT_ORDER, QCOW2_REFCOUNT_ORDER);
		put_be32(h + QH_HEADER_LENGTH, QH_V3_LENGTH);
		h[QH_COMPRESSION_TYPE] = zstd ? QCOW2_COMPRESSION_ZSTD : QCOW2_COMPRESSION_DEFLATE;
		size_t ext = put_feature_table(h + QH_V3_LENGTH);
		put_be32(h + QH_V3_LENGTH + ext, QCOW2_EXT_END);
	}
	return pwrite_all(q->out.fd, h, q->cs, 0);
}

static int qcow2_finish(struct image_writer *w)
{
	struct qcow2w *q = w->priv;
	if (emit_current(q) < 0)
		return -1;
	if (q->pool && ordered_pool_drain(q->pool) < 0)
		return -1;
	if (flush_l2(q) < 0)
		return -1;
	q->cz_open = 0;
	uint64_t l1_offset = 0, rt_offset = 0, rt_clusters = 0;
	if (write_l1(q, &l1_offset) < 0 || write_refcount_tail(q, &rt_offset, &rt_clusters) < 0)
		return -1;
	if (wbuf_flush(q) < 0 || write_header(q, l1_offset, rt_offset, rt_clusters) < 0)
		return -1;
	return image_output_commit(w, &q->out, q->next_free * q->cs);
}

/* ---- setup ---- */

static unsigned log2_exact(uint64_t v)
{
	unsigned b = 0;
	while ((1ull << b) < v)
		b++;
	return (1ull << b) == v ? b : 0;
}

static int check_options(const struct image_options *o, unsigned *bits)
{
	uint64_t cs = o->cluster_size ? o->cluster_size : DEFAULT_CLUSTER_SIZE;
	*bits = log2_exact(cs);
	if (!*bits || cs < MIN_CLUSTER_SIZE || cs > MAX_CLUSTER_SIZE)
		return error("qcow2: cluster size %llu is not a power of two from 4 KiB to 2 MiB",
			     (unsigned long long)cs);
	if (o->version && o->version != 2 && o->version != 3)
		return error("qcow2: version %d is not 2 or 3", o->version);
	if (o->version == 2 && o->compress == COMPRESS_ZSTD)
		return error("qcow2: zstd compression needs qcow2 version 3");
	return 0;
}

static int setup_geometry(struct qcow2w *q, const struct image_options *o, unsigned bits)
{
	q->cluster_bits = bits;
	q->cs = 1ull << bits;
	q->l2_entries = q->cs / 8;
	q->rb_entries = q->cs * 8 / 16;
	if (o->virtual_size > (1ull << 62))
		return error("qcow2: virtual size %llu is too large", (unsigned long long)o->virtual_size);
	/* qemu counts the size in 512-byte sectors; a tail reads as zero. */
	q->header_size = (o->virtual_size + 511) & ~511ull;
	uint64_t per_l2 = q->cs * q->l2_entries;
	uint64_t l1 = (q->header_size + per_l2 - 1) / per_l2;
	if (l1 * 8 > QCOW2_MAX_L1_BYTES)
		return error("qcow2: a %llu-byte image needs an L1 table over qemu's 32 MiB limit; use a larger cluster size",
			     (unsigned long long)o->virtual_size);
	q->l1_size = (uint32_t)l1;
	return 0;
}

/* Compression runs on an ordered pool: one codec per worker, results in cluster order. */
static int start_compression(struct qcow2w *q, int threads)
{
	size_t slots = POOL_BYTES / (2 * q->cs);
	if (slots < 2 * (size_t)threads)
		slots = 2 * (size_t)threads;
	struct ordered_pool_config pc = {
		.threads = threads, .slots = slots, .in_cap = q->cs, .out_cap = q->cs - 1,
		.work = compress_cluster, .state_new = codec_new, .state_free = codec_free,
		.state_arg = &q->compression_type, .consume = consume_cluster, .arg = q,
	};
	q->pool = ordered_pool_create(&pc);
	return q->pool ? 0 : -1;
}

static void qcow2_abort(struct image_writer *w);

static int qcow2_open(struct image_writer *w)
{
	unsigned bits;
	if (check_options(&w->opt, &bits) < 0)
		return -1;
	struct qcow2w *q = xcalloc(1, sizeof *q);
	w->priv = q;
	q->out.fd = -1;
	q->version = w->opt.version ? w->opt.version : 3;
	q->compression_type = w->opt.compress == COMPRESS_ZSTD	 ? QCOW2_COMPRESSION_ZSTD
			      : w->opt.compress == COMPRESS_ZLIB ? QCOW2_COMPRESSION_DEFLATE
								 : -1;
	if (setup_geometry(q, &w->opt, bits) < 0)
		goto fail;
	q->l1 = xcalloc(q->l1_size ? q->l1_size : 1, sizeof *q->l1);
	q->l2 = xmalloc(q->cs);
	q->l2_index = -1;
	q->cur_vc = -1;
	q->scratch = xmalloc(q->cs);
	q->wbuf = xmalloc(WBUF_BYTES);
	q->next_free = 1; /* cluster 0: the header */
	rc_add(q, 0, 1);
	if (q->compression_type < 0)
		q->plain_buf = xmalloc(q->cs);
	else if (start_compression(q, w->opt.threads) < 0)
		goto fail;
	if (image_output_open(w, &q->out) < 0)
		goto fail;
	return 0;
fail:
	qcow2_abort(w);
	return -1;
}

static void qcow2_abort(struct image_writer *w)
{
	struct qcow2w *q = w->priv;
	if (!q)
		return;
	ordered_pool_destroy(q->pool);
	image_output_discard(&q->out);
	free(q->l1);
	free(q->l2);
	free(q->rc);
	free(q->reftable);
	free(q->plain_buf);
	free(q->scratch);
	free(q->wbuf);
	free(q);
	w->priv = NULL;
}

const struct image_format image_format_qcow2 = {
	.name = "qcow2",
	.extension = "qcow2",
	.open = qcow2_open,
	.write_data = qcow2_write_data,
	.finish = qcow2_finish,
	.abort = qcow2_abort,
};
