/* formats/qcow2/qcow2_reader.c: the qcow2 reader (see qcow2_reader.h for its promises).
 *
 * Open validates the header and the whole L1 table once; each L2 table is
 * read into a direct-mapped cache and each entry is validated when used.
 * A lookup is a fixed two-level walk (L1 -> L2 -> cluster), so a hostile
 * image cannot make the reader loop: there is no chain to follow, as
 * backing files are refused and snapshots are not read. Host clusters
 * that several entries share are fine for reading and allowed; what is
 * refused is anything pointing outside the file, into the header cluster,
 * or with reserved bits set, as qemu would flag the image corrupt.
 */
#include "formats/qcow2/qcow2_reader.h"

#include "formats/qcow2/qcow2_codec.h"
#include "formats/qcow2/qcow2_format.h"
#include "util/diag.h"
#include "util/io.h"
#include "util/strbuf.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define L2_CACHE_BYTES (4u << 20)
#define MAX_BACKING_NAME 1023

struct l2_slot {
	uint64_t offset; /* host offset of the cached table; 0 = empty */
	unsigned char *data;
};

struct qcow2_reader {
	int fd;
	char *name;
	uint64_t file_size;
	struct qcow2_info info;
	uint64_t cs;
	uint64_t l2_entries;
	uint32_t l1_size;
	uint64_t *l1;

	pthread_mutex_t lock; /* guards everything below */
	struct l2_slot *l2_cache;
	size_t l2_slots;
	struct qcow2_codec *codec;
	unsigned char *zin;   /* compressed bytes (up to 2 clusters) */
	unsigned char *zout;  /* the last decompressed cluster */
	uint64_t zout_entry;  /* its L2 entry; 0 = none */
};

int qcow2_probe(const void *buf, size_t len)
{
	return len >= 4 && get_be32(buf) == QCOW2_MAGIC;
}

/* ---- open ---- */

struct raw_header {
	uint32_t version, cluster_bits, crypt_method, l1_size, header_length, refcount_order;
	uint64_t backing_offset, size, l1_offset, incompatible;
	uint32_t backing_size;
	int compression_type;
};

static void parse_header(const unsigned char *h, struct raw_header *rh)
{
	rh->version = get_be32(h + QH_VERSION);
	rh->backing_offset = get_be64(h + QH_BACKING_OFFSET);
	rh->backing_size = get_be32(h + QH_BACKING_SIZE);
	rh->cluster_bits = get_be32(h + QH_CLUSTER_BITS);
	rh->size = get_be64(h + QH_SIZE);
	rh->crypt_method = get_be32(h + QH_CRYPT_METHOD);
	rh->l1_size = get_be32(h + QH_L1_SIZE);
	rh->l1_offset = get_be64(h + QH_L1_OFFSET);
	rh->incompatible = 0;
	rh->refcount_order = QCOW2_REFCOUNT_ORDER;
	rh->header_length = QH_V2_LENGTH;
	rh->compression_type = QCOW2_COMPRESSION_DEFLATE;
	if (rh->version >= 3) {
		rh->incompatible = get_be64(h + QH_INCOMPATIBLE);
		rh->refcount_order = get_be32(h + QH_REFCOUNT_ORDER);
		rh->header_length = get_be32(h + QH_HEADER_LENGTH);
		if (rh->header_length > QH_COMPRESSION_TYPE)
			rh->compression_type = h[QH_COMPRESSION_TYPE];
	}
}

/* Names the backing file in the refusal, when it can be read safely. */
static int refuse_backing(struct qcow2_reader *r, const struct raw_header *rh)
{
	char name[MAX_BACKING_NAME + 1] = "";
	uint64_t end = rh->backing_offset + rh->backing_size;
	if (rh->backing_size && rh->backing_size <= MAX_BACKING_NAME && end <= r->file_size &&
	    end > rh->backing_offset && pread_exact(r->fd, name, rh->backing_size, rh->backing_offset) == 0) {
		name[rh->backing_size] = 0;
		for (char *p = name; *p; p++)
			if ((unsigned char)*p < 32 || (unsigned char)*p > 126)
				*p = '?';
	}
	return error("%s: the image has a backing file%s%s%s; apkg does not follow backing files "
		     "(flatten it first: qemu-img convert -O qcow2 %s flat.qcow2)",
		     r->name, name[0] ? " (" : "", name, name[0] ? ")" : "", r->name);
}

static int check_features(struct qcow2_reader *r, const struct raw_header *rh)
{
	uint64_t inc = rh->incompatible;
	if (inc & QCOW2_INCOMPAT_CORRUPT)
		return error("%s: the image is marked corrupt (run qemu-img check -r all)", r->name);
	if (inc & QCOW2_INCOMPAT_DATA_FILE)
		return error("%s: images with an external data file are not supported", r->name);
	if (inc & QCOW2_INCOMPAT_EXTL2)
		return error("%s: images with extended L2 entries are not supported", r->name);
	uint64_t known = QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_COMPRESSION;
	if (inc & ~known)
		return error("%s: unknown incompatible features 0x%llx", r->name, (unsigned long long)(inc & ~known));
	int zstd_bit = (inc & QCOW2_INCOMPAT_COMPRESSION) != 0;
	if (rh->compression_type != QCOW2_COMPRESSION_DEFLATE && rh->compression_type != QCOW2_COMPRESSION_ZSTD)
		return error("%s: unknown compression type %d", r->name, rh->compression_type);
	if (zstd_bit != (rh->compression_type != QCOW2_COMPRESSION_DEFLATE))
		return error("%s: compression type %d does not match the compression feature bit", r->name,
			     rh->compression_type);
	return 0;
}

static int check_header(struct qcow2_reader *r, const struct raw_header *rh)
{
	if (rh->version != 2 && rh->version != 3)
		return error("%s: unsupported qcow2 version %u", r->name, rh->version);
	if (rh->cluster_bits < QCOW2_MIN_CLUSTER_BITS || rh->cluster_bits > QCOW2_MAX_CLUSTER_BITS)
		return error("%s: invalid cluster size 2^%u", r->name, rh->cluster_bits);
	uint64_t cs = 1ull << rh->cluster_bits;
	if (rh->version >= 3 && (rh->header_length < 104 || rh->header_length > cs))
		return error("%s: invalid header length %u", r->name, rh->header_length);
	if (rh->version >= 3 && rh->refcount_order > 6)
		return error("%s: invalid refcount order %u", r->name, rh->refcount_order);
	if (rh->backing_offset)
		return refuse_backing(r, rh);
	if (rh->crypt_method)
		return error("%s: encrypted images are not supported", r->name);
	if (check_features(r, rh) < 0)
		return -1;
	uint64_t per_l2 = cs * (cs / 8);
	uint64_t needed = rh->size / per_l2 + (rh->size % per_l2 != 0);
	if ((uint64_t)rh->l1_size * 8 > QCOW2_MAX_L1_BYTES)
		return error("%s: L1 table of %u entries is too large", r->name, rh->l1_size);
	if (needed > rh->l1_size)
		return error("%s: L1 table too small for a virtual size of %llu bytes", r->name,
			     (unsigned long long)rh->size);
	if (rh->l1_size &&
	    (rh->l1_offset % cs || rh->l1_offset < cs || rh->l1_offset > r->file_size ||
	     (uint64_t)rh->l1_size * 8 > r->file_size - rh->l1_offset))
		return error("%s: L1 table at %llu lies outside the file or overlaps the header", r->name,
			     (unsigned long long)rh->l1_offset);
	return 0;
}

static int check_l1_entry(struct qcow2_reader *r, uint32_t i, uint64_t e)
{
	uint64_t off = e & QCOW2_OFFSET_MASK;
	if (e & QCOW2_L1_RESERVED)
		return error("%s: L1 entry %u has reserved bits set", r->name, i);
	if (!off)
		return 0;
	if (off % r->cs || off < r->cs || off > r->file_size || r->cs > r->file_size - off)
		return error("%s: L1 entry %u points outside the file (L2 table at %llu)", r->name, i,
			     (unsigned long long)off);
	return 0;
}

static int load_l1(struct qcow2_reader *r, uint64_t l1_offset)
{
	if (!r->l1_size)
		return 0;
	size_t bytes = (size_t)r->l1_size * 8;
	unsigned char *raw = xmalloc(bytes);
	int rc = pread_exact(r->fd, raw, bytes, l1_offset);
	r->l1 = xmalloc(r->l1_size * sizeof *r->l1);
	for (uint32_t i = 0; rc == 0 && i < r->l1_size; i++) {
		r->l1[i] = get_be64(raw + 8 * (size_t)i);
		rc = check_l1_entry(r, i, r->l1[i]);
	}
	free(raw);
	return rc;
}

static int read_header(struct qcow2_reader *r, struct raw_header *rh)
{
	unsigned char h[QH_V3_LENGTH];
	memset(h, 0, sizeof h);
	if (r->file_size < QH_V2_LENGTH)
		return error("%s: too small to be a qcow2 image", r->name);
	size_t want = r->file_size < sizeof h ? (size_t)r->file_size : sizeof h;
	if (pread_exact(r->fd, h, want, 0) < 0)
		return -1;
	if (!qcow2_probe(h, want))
		return error("%s: not a qcow2 image", r->name);
	parse_header(h, rh);
	if (rh->version >= 3 && (r->file_size < rh->header_length || want < 104))
		return error("%s: truncated qcow2 header", r->name);
	if (rh->header_length <= QH_COMPRESSION_TYPE)
		rh->compression_type = QCOW2_COMPRESSION_DEFLATE;
	return 0;
}

static void setup_caches(struct qcow2_reader *r)
{
	r->l2_slots = L2_CACHE_BYTES / r->cs;
	if (r->l2_slots < 2)
		r->l2_slots = 2;
	r->l2_cache = xcalloc(r->l2_slots, sizeof *r->l2_cache);
}

struct qcow2_reader *qcow2_reader_open_fd(int fd, const char *name)
{
	struct qcow2_reader *r = xcalloc(1, sizeof *r);
	r->fd = fd;
	r->name = xstrdup(name ? name : "qcow2 image");
	pthread_mutex_init(&r->lock, NULL);
	struct stat st;
	if (fstat(fd, &st) < 0) {
		error_errno("%s: cannot stat", r->name);
		qcow2_reader_close(r);
		return NULL;
	}
	r->file_size = (uint64_t)st.st_size;
	if (S_ISBLK(st.st_mode)) { /* qcow2 on a logical volume */
		off_t end = lseek(fd, 0, SEEK_END);
		r->file_size = end > 0 ? (uint64_t)end : 0;
	}
	struct raw_header rh = {0};
	if (read_header(r, &rh) < 0 || check_header(r, &rh) < 0)
		goto fail;
	r->info.version = (int)rh.version;
	r->info.cluster_bits = rh.cluster_bits;
	r->info.cluster_size = r->cs = 1ull << rh.cluster_bits;
	r->info.virtual_size = rh.size;
	r->info.compression_type = rh.compression_type;
	r->info.dirty = (rh.incompatible & QCOW2_INCOMPAT_DIRTY) != 0;
	r->l2_entries = r->cs / 8;
	r->l1_size = rh.l1_size;
	setup_caches(r);
	if (load_l1(r, rh.l1_offset) < 0)
		goto fail;
	return r;
fail:
	qcow2_reader_close(r);
	return NULL;
}

void qcow2_reader_close(struct qcow2_reader *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->l2_slots; i++)
		free(r->l2_cache[i].data);
	free(r->l2_cache);
	qcow2_codec_free(r->codec);
	free(r->zin);
	free(r->zout);
	free(r->l1);
	free(r->name);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

const struct qcow2_info *qcow2_reader_info(const struct qcow2_reader *r) { return &r->info; }

/* ---- mapping ---- */

/* Called with the lock held. Sets *entry to the L2 entry of virtual cluster vc (0 if unmapped). */
static int l2_entry(struct qcow2_reader *r, uint64_t vc, uint64_t *entry)
{
	uint64_t l1i = vc / r->l2_entries;
	if (l1i >= r->l1_size)
		return error("%s: cluster %llu lies beyond the L1 table", r->name, (unsigned long long)vc);
	uint64_t l2off = r->l1[l1i] & QCOW2_OFFSET_MASK;
	if (!l2off) {
		*entry = 0;
		return 0;
	}
	struct l2_slot *s = &r->l2_cache[l1i % r->l2_slots];
	if (s->offset != l2off) {
		if (!s->data)
			s->data = xmalloc(r->cs);
		s->offset = 0;
		if (pread_exact(r->fd, s->data, r->cs, l2off) < 0)
			return error("%s: cannot read the L2 table at %llu", r->name, (unsigned long long)l2off);
		s->offset = l2off;
	}
	*entry = get_be64(s->data + 8 * (vc % r->l2_entries));
	return 0;
}

struct mapping {
	int status;
	uint64_t host;      /* DATA: cluster offset; COMPRESSED: byte offset */
	uint64_t csize;     /* COMPRESSED: bytes available to read */
	uint64_t entry;
};

static int classify_compressed(struct qcow2_reader *r, uint64_t e, struct mapping *m)
{
	unsigned shift = qcow2_csize_shift(r->info.cluster_bits);
	uint64_t desc = e & ~(QCOW2_OFLAG_COPIED | QCOW2_OFLAG_COMPRESSED);
	uint64_t off = desc & ((1ull << shift) - 1);
	uint64_t sectors = (desc >> shift) + 1;
	if (off < r->cs || off >= r->file_size)
		return error("%s: compressed cluster at %llu lies outside the file", r->name, (unsigned long long)off);
	uint64_t csize = sectors * 512 - (off & 511);
	/* qemu writes the last blob without padding: read what the file holds. */
	if (csize > r->file_size - off)
		csize = r->file_size - off;
	m->status = QCOW2_COMPRESSED;
	m->host = off;
	m->csize = csize;
	return 0;
}

static int classify_standard(struct qcow2_reader *r, uint64_t e, struct mapping *m)
{
	uint64_t off = e & QCOW2_OFFSET_MASK;
	if (e & QCOW2_L2_RESERVED)
		return error("%s: L2 entry 0x%llx has reserved bits set", r->name, (unsigned long long)e);
	if (e & QCOW2_OFLAG_ZERO) {
		if (r->info.version < 3)
			return error("%s: zero cluster in a version 2 image", r->name);
		m->status = QCOW2_ZERO;
		return 0;
	}
	if (!off) {
		m->status = QCOW2_UNALLOCATED;
		return 0;
	}
	if (off % r->cs || off < r->cs || off >= r->file_size)
		return error("%s: data cluster at %llu is misaligned, in the header or outside the file", r->name,
			     (unsigned long long)off);
	m->status = QCOW2_DATA;
	m->host = off;
	return 0;
}

/* Called with the lock held. */
static int map_cluster(struct qcow2_reader *r, uint64_t vc, struct mapping *m)
{
	uint64_t e = 0;
	memset(m, 0, sizeof *m);
	if (l2_entry(r, vc, &e) < 0)
		return -1;
	m->entry = e;
	if (e & QCOW2_OFLAG_COMPRESSED)
		return classify_compressed(r, e, m);
	return classify_standard(r, e, m);
}

int qcow2_reader_status(struct qcow2_reader *r, uint64_t off, uint64_t len, uint64_t *run)
{
	if (!len || off >= r->info.virtual_size)
		return error("%s: status query at %llu beyond the virtual size", r->name, (unsigned long long)off);
	if (len > r->info.virtual_size - off)
		len = r->info.virtual_size - off;
	uint64_t per_l2 = r->cs * r->l2_entries;
	uint64_t pos = off;
	int status = -1;
	pthread_mutex_lock(&r->lock);
	while (pos < off + len) {
		uint64_t vc = pos / r->cs, step;
		int st;
		if (!(r->l1[vc / r->l2_entries] & QCOW2_OFFSET_MASK)) {
			st = QCOW2_UNALLOCATED; /* a whole L2 range at once */
			step = per_l2 - pos % per_l2;
		} else {
			struct mapping m;
			if (map_cluster(r, vc, &m) < 0) {
				status = -1;
				pos = off;
				break;
			}
			st = m.status;
			step = r->cs - pos % r->cs;
		}
		if (status >= 0 && st != status)
			break;
		status = st;
		pos += step;
	}
	pthread_mutex_unlock(&r->lock);
	if (status < 0)
		return -1;
	*run = (pos > off + len ? off + len : pos) - off;
	return status;
}

/* ---- reading ---- */

/* Called with the lock held: makes r->zout hold the cluster m describes. */
static int decompress_cluster(struct qcow2_reader *r, const struct mapping *m)
{
	if (r->zout_entry == m->entry && r->zout_entry)
		return 0;
	if (!r->codec && !(r->codec = qcow2_codec_new(r->info.compression_type)))
		return error("%s: cannot set up the decompressor", r->name);
	if (!r->zin) {
		r->zin = xmalloc(2 * r->cs);
		r->zout = xmalloc(r->cs);
	}
	r->zout_entry = 0;
	/* At most cs/512 + 1 sectors fit the descriptor, i.e. < 2 clusters. */
	size_t n = m->csize < 2 * r->cs ? (size_t)m->csize : (size_t)(2 * r->cs);
	if (pread_exact(r->fd, r->zin, n, m->host) < 0)
		return -1;
	if (qcow2_codec_decompress(r->codec, r->zin, n, r->zout, r->cs) < 0)
		return error("%s: compressed cluster at %llu does not decompress", r->name,
			     (unsigned long long)m->host);
	r->zout_entry = m->entry;
	return 0;
}

/* Reads a data cluster's bytes; the part past the end of the file reads as zero. */
static int read_host(struct qcow2_reader *r, void *buf, size_t len, uint64_t host)
{
	size_t avail = host >= r->file_size ? 0 : r->file_size - host < len ? (size_t)(r->file_size - host) : len;
	if (avail && pread_exact(r->fd, buf, avail, host) < 0)
		return error("%s: cannot read data at %llu", r->name, (unsigned long long)host);
	memset((char *)buf + avail, 0, len - avail);
	return 0;
}

/* Called with the lock held: how many bytes from pos (at most len) lie in
 * data clusters that follow each other in the file too, so that one
 * pread() covers them. m describes the cluster at pos. */
static size_t contiguous_data(struct qcow2_reader *r, const struct mapping *m, uint64_t pos, size_t len)
{
	size_t n = r->cs - pos % r->cs;
	uint64_t next_host = m->host + r->cs;
	while (n < len) {
		struct mapping next;
		if (map_cluster(r, (pos + n) / r->cs, &next) < 0 || next.status != QCOW2_DATA || next.host != next_host)
			break; /* an error here is reported when that cluster is read */
		n += r->cs;
		next_host += r->cs;
	}
	return n < len ? n : len;
}

/* Reads from pos: the cluster there, and more while they are contiguous
 * data. Sets *done to the bytes produced. */
static int read_piece(struct qcow2_reader *r, unsigned char *buf, size_t len, uint64_t pos, size_t *done)
{
	uint64_t in = pos % r->cs;
	size_t k = r->cs - in < len ? (size_t)(r->cs - in) : len;
	struct mapping m;
	pthread_mutex_lock(&r->lock);
	int rc = map_cluster(r, pos / r->cs, &m);
	if (rc == 0 && m.status == QCOW2_COMPRESSED) {
		rc = decompress_cluster(r, &m);
		if (rc == 0)
			memcpy(buf, r->zout + in, k);
	}
	if (rc == 0 && m.status == QCOW2_DATA)
		k = contiguous_data(r, &m, pos, len);
	pthread_mutex_unlock(&r->lock);
	if (rc < 0)
		return -1;
	*done = k;
	if (m.status == QCOW2_DATA)
		return read_host(r, buf, k, m.host + in);
	if (m.status != QCOW2_COMPRESSED)
		memset(buf, 0, k);
	return 0;
}

int qcow2_reader_pread(struct qcow2_reader *r, void *buf, size_t len, uint64_t off)
{
	if (off > r->info.virtual_size || len > r->info.virtual_size - off)
		return error("%s: read of %zu bytes at %llu beyond the virtual size", r->name, len,
			     (unsigned long long)off);
	unsigned char *p = buf;
	while (len) {
		size_t k;
		if (read_piece(r, p, len, off, &k) < 0)
			return -1;
		p += k;
		off += k;
		len -= k;
	}
	return 0;
}
