/* formats/qcow2/qcow2_codec.c: per-cluster deflate (libdeflate, zlib) and zstd.
 *
 * Compression: deflate uses libdeflate, several times faster than zlib at
 * a slightly better ratio. libdeflate always uses a 32 KiB window while
 * qemu opens its inflater with windowBits -12 (4 KiB); that is still
 * decodable because qemu inflates a whole cluster in one inflate() call
 * into one output buffer, and zlib checks a match distance against the
 * bytes already produced in that call, never against the window size
 * (zlib's INFLATE_STRICT, which would, is off in every distribution
 * build). The integration tests check every compressed image with
 * `qemu-img compare`, which decodes with qemu's own code.
 * zstd uses level 3 (zstd's default, which qemu uses too).
 *
 * Decompression mirrors qemu: deflate must fill the cluster (a longer
 * stream is cut, as zlib's Z_BUF_ERROR with a full buffer is accepted);
 * zstd frames are decoded until the cluster is full and the last frame
 * must end exactly there.
 */
#include "formats/qcow2/qcow2_codec.h"

#include "formats/qcow2/qcow2_format.h"
#include "util/strbuf.h"

#include <libdeflate.h>
#include <stdlib.h>
#include <zlib.h>
#include <zstd.h>

#define DEFLATE_LEVEL 2
#define ZSTD_LEVEL 3

struct qcow2_codec {
	int type;
	struct libdeflate_compressor *deflate_c;
	struct libdeflate_decompressor *deflate_d;
	ZSTD_CCtx *zstd_c;
	ZSTD_DCtx *zstd_d;
};

struct qcow2_codec *qcow2_codec_new(int type)
{
	if (type != QCOW2_COMPRESSION_DEFLATE && type != QCOW2_COMPRESSION_ZSTD)
		return NULL;
	struct qcow2_codec *c = xcalloc(1, sizeof *c);
	c->type = type;
	return c;
}

void qcow2_codec_free(struct qcow2_codec *c)
{
	if (!c)
		return;
	libdeflate_free_compressor(c->deflate_c);
	libdeflate_free_decompressor(c->deflate_d);
	ZSTD_freeCCtx(c->zstd_c);
	ZSTD_freeDCtx(c->zstd_d);
	free(c);
}

static size_t compress_deflate(struct qcow2_codec *c, const void *in, size_t len, void *out, size_t cap)
{
	if (!c->deflate_c && !(c->deflate_c = libdeflate_alloc_compressor(DEFLATE_LEVEL)))
		return 0;
	return libdeflate_deflate_compress(c->deflate_c, in, len, out, cap);
}

static size_t compress_zstd(struct qcow2_codec *c, const void *in, size_t len, void *out, size_t cap)
{
	if (!c->zstd_c && !(c->zstd_c = ZSTD_createCCtx()))
		return 0;
	size_t n = ZSTD_compressCCtx(c->zstd_c, out, cap, in, len, ZSTD_LEVEL);
	return ZSTD_isError(n) ? 0 : n;
}

size_t qcow2_codec_compress(struct qcow2_codec *c, const void *in, size_t len, void *out, size_t cap)
{
	return c->type == QCOW2_COMPRESSION_ZSTD ? compress_zstd(c, in, len, out, cap)
						 : compress_deflate(c, in, len, out, cap);
}

/* zlib with qemu's exact rules, for streams libdeflate will not take as they are. */
static int inflate_like_qemu(const void *in, size_t in_len, void *out, size_t out_len)
{
	z_stream s = {0};
	if (in_len > UINT32_MAX || out_len > UINT32_MAX || inflateInit2(&s, -12) != Z_OK)
		return -1;
	s.next_in = (Bytef *)in;
	s.avail_in = (uInt)in_len;
	s.next_out = out;
	s.avail_out = (uInt)out_len;
	int r = inflate(&s, Z_FINISH);
	int ok = (r == Z_STREAM_END || r == Z_BUF_ERROR) && s.avail_out == 0;
	inflateEnd(&s);
	return ok ? 0 : -1;
}

static int decompress_deflate(struct qcow2_codec *c, const void *in, size_t in_len, void *out, size_t out_len)
{
	if (!c->deflate_d && !(c->deflate_d = libdeflate_alloc_decompressor()))
		return -1;
	enum libdeflate_result r = libdeflate_deflate_decompress(c->deflate_d, in, in_len, out, out_len, NULL);
	if (r == LIBDEFLATE_SUCCESS)
		return 0;
	if (r == LIBDEFLATE_SHORT_OUTPUT)
		return -1;
	return inflate_like_qemu(in, in_len, out, out_len);
}

static int decompress_zstd(struct qcow2_codec *c, const void *in, size_t in_len, void *out, size_t out_len)
{
	if (!c->zstd_d && !(c->zstd_d = ZSTD_createDCtx()))
		return -1;
	/* A hostile frame may declare a huge window; a cluster never needs more than 2 MiB. */
	ZSTD_DCtx_reset(c->zstd_d, ZSTD_reset_session_and_parameters);
	ZSTD_DCtx_setParameter(c->zstd_d, ZSTD_d_windowLogMax, QCOW2_MAX_CLUSTER_BITS + 1);
	ZSTD_inBuffer ib = {in, in_len, 0};
	ZSTD_outBuffer ob = {out, out_len, 0};
	size_t r = 0;
	while (ob.pos < ob.size) {
		size_t in_before = ib.pos, out_before = ob.pos;
		r = ZSTD_decompressStream(c->zstd_d, &ob, &ib);
		if (ZSTD_isError(r))
			return -1;
		if (ib.pos <= in_before && ob.pos <= out_before)
			return -1; /* no progress: the input ended early */
	}
	return r == 0 ? 0 : -1;
}

int qcow2_codec_decompress(struct qcow2_codec *c, const void *in, size_t in_len, void *out, size_t out_len)
{
	return c->type == QCOW2_COMPRESSION_ZSTD ? decompress_zstd(c, in, in_len, out, out_len)
						 : decompress_deflate(c, in, in_len, out, out_len);
}
