/* formats/qcow2/qcow2_format.h: the qcow2 on-disk layout shared by the writer and the reader.
 *
 * Field offsets, flag bits and limits from qemu's docs/interop/qcow2.rst
 * (see ../shared/reference/formats.md, section 1). Every field is
 * big-endian. Internal to formats/qcow2/.
 */
#ifndef APKG_FORMATS_QCOW2_FORMAT_H
#define APKG_FORMATS_QCOW2_FORMAT_H

#include <stdint.h>

#define QCOW2_MAGIC 0x514649fbu /* "QFI\xfb" */

/* Header field offsets. v2 ends at 72; v3 adds the rest. */
enum {
	QH_MAGIC = 0,
	QH_VERSION = 4,
	QH_BACKING_OFFSET = 8,
	QH_BACKING_SIZE = 16,
	QH_CLUSTER_BITS = 20,
	QH_SIZE = 24,
	QH_CRYPT_METHOD = 32,
	QH_L1_SIZE = 36,
	QH_L1_OFFSET = 40,
	QH_REFTABLE_OFFSET = 48,
	QH_REFTABLE_CLUSTERS = 56,
	QH_NB_SNAPSHOTS = 60,
	QH_SNAPSHOTS_OFFSET = 64,
	QH_V2_LENGTH = 72,
	QH_INCOMPATIBLE = 72,
	QH_COMPATIBLE = 80,
	QH_AUTOCLEAR = 88,
	QH_REFCOUNT_ORDER = 96,
	QH_HEADER_LENGTH = 100,
	QH_COMPRESSION_TYPE = 104,
	QH_V3_LENGTH = 112, /* with the compression type byte and padding */
};

/* Incompatible feature bits. */
#define QCOW2_INCOMPAT_DIRTY (1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT (1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE (1ull << 2)
#define QCOW2_INCOMPAT_COMPRESSION (1ull << 3)
#define QCOW2_INCOMPAT_EXTL2 (1ull << 4)

#define QCOW2_COMPRESSION_DEFLATE 0
#define QCOW2_COMPRESSION_ZSTD 1

/* Header extension types. */
#define QCOW2_EXT_END 0u
#define QCOW2_EXT_FEATURE_NAMES 0x6803f857u

/* L1/L2 entries. */
#define QCOW2_OFLAG_COPIED (1ull << 63)
#define QCOW2_OFLAG_COMPRESSED (1ull << 62)
#define QCOW2_OFLAG_ZERO (1ull << 0)
#define QCOW2_OFFSET_MASK 0x00fffffffffffe00ull /* bits 9..55 */
#define QCOW2_L1_RESERVED 0x7f000000000001ffull /* bits 0..8, 56..62 */
#define QCOW2_L2_RESERVED 0x3f000000000001feull /* standard entry: bits 1..8, 56..61 */

/* Limits qemu enforces when opening (block/qcow2.h). */
#define QCOW2_MIN_CLUSTER_BITS 9
#define QCOW2_MAX_CLUSTER_BITS 21
#define QCOW2_MAX_L1_BYTES (32u << 20)
#define QCOW2_MAX_REFTABLE_BYTES (8u << 20)
#define QCOW2_REFCOUNT_ORDER 4 /* 16-bit refcounts */

/* Compressed cluster descriptor: the low `x` bits are the byte offset, the
 * bits above (up to 61) count the 512-byte sectors after the first. */
static inline unsigned qcow2_csize_shift(unsigned cluster_bits) { return 62 - (cluster_bits - 8); }

static inline uint16_t get_be16(const unsigned char *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t get_be64(const unsigned char *p) { return (uint64_t)get_be32(p) << 32 | get_be32(p + 4); }
static inline void put_be16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}
static inline void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}
static inline void put_be64(unsigned char *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

#endif
