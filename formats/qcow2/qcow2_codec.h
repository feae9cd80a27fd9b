/* formats/qcow2/qcow2_codec.h: compressing and decompressing one qcow2 cluster.
 *
 * Deflate clusters are raw deflate streams (no zlib header), zstd clusters
 * one zstd frame, exactly as qemu's block/qcow2-threads.c encodes and
 * decodes them. A codec object holds the per-thread state; it is not
 * thread-safe, so each worker (or reader) owns one.
 */
#ifndef APKG_FORMATS_QCOW2_CODEC_H
#define APKG_FORMATS_QCOW2_CODEC_H

#include <stddef.h>

struct qcow2_codec;

/* type: QCOW2_COMPRESSION_DEFLATE or QCOW2_COMPRESSION_ZSTD. NULL on failure. */
struct qcow2_codec *qcow2_codec_new(int type);
void qcow2_codec_free(struct qcow2_codec *c);

/* Compresses in[0..len) into out (capacity cap). Returns the compressed
 * length, or 0 if it does not fit in cap (the caller stores it raw). */
size_t qcow2_codec_compress(struct qcow2_codec *c, const void *in, size_t len, void *out, size_t cap);

/* Decompresses in[0..in_len) into exactly out_len bytes, with qemu's
 * acceptance rules (trailing bytes after the stream are ignored; a stream
 * that yields fewer bytes is an error). Returns 0 or -1 (no message). */
int qcow2_codec_decompress(struct qcow2_codec *c, const void *in, size_t in_len, void *out, size_t out_len);

#endif
