/* formats/vmdk/vmdk_format.h: the hosted sparse VMDK layout (SparseExtentHeader,
 * grain directory and tables, stream markers), shared by the writer and the
 * stream checker that `apkg lint` runs on OVA disks.
 *
 * Facts from VMware's "Virtual Disk Format 5.0", libyal/libvmdk's notes and
 * vmware/open-vmdk's vmware_vmdk.h (see ../shared/reference/formats.md,
 * section 2). Every field is little-endian; offsets and sizes are in
 * 512-byte sectors unless a name says bytes.
 */
#ifndef APKG_FORMATS_VMDK_FORMAT_H
#define APKG_FORMATS_VMDK_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define VMDK_MAGIC 0x564d444bu /* "KDMV" on disk */
#define VMDK_SECTOR 512u
#define VMDK_GRAIN_SECTORS 128u /* 64 KiB grains, as VMware and qemu write them */
#define VMDK_GTES_PER_GT 512u
#define VMDK_GT_SECTORS 4u      /* 512 entries x 4 bytes */
#define VMDK_GD_AT_END 0xffffffffffffffffull

#define VMDK_FLAG_NL_DETECT (1u << 0)
#define VMDK_FLAG_REDUNDANT_GD (1u << 1)
#define VMDK_FLAG_ZEROED_GTE (1u << 2)
#define VMDK_FLAG_COMPRESSED (1u << 16)
#define VMDK_FLAG_MARKERS (1u << 17)
#define VMDK_COMPRESS_DEFLATE 1u

/* Stream marker types (a marker's `size` field is 0; grains have size > 0). */
enum { VMDK_MARKER_EOS = 0, VMDK_MARKER_GT = 1, VMDK_MARKER_GD = 2, VMDK_MARKER_FOOTER = 3 };
/* A grain marker: u64 lba, u32 compressed size, then the zlib stream. */
#define VMDK_GRAIN_MARKER_BYTES 12u

/* Header field offsets (bytes). */
enum {
	VH_MAGIC = 0,
	VH_VERSION = 4,
	VH_FLAGS = 8,
	VH_CAPACITY = 12,
	VH_GRAIN_SIZE = 20,
	VH_DESC_OFFSET = 28,
	VH_DESC_SIZE = 36,
	VH_GTES_PER_GT = 44,
	VH_RGD_OFFSET = 48,
	VH_GD_OFFSET = 56,
	VH_OVERHEAD = 64,
	VH_UNCLEAN = 72,
	VH_NL_CHARS = 73, /* '\n', ' ', '\r', '\n' */
	VH_COMPRESS_ALG = 77,
};

struct vmdk_header {
	uint32_t version;
	uint32_t flags;
	uint64_t capacity;   /* sectors */
	uint64_t grain_size; /* sectors */
	uint64_t desc_offset, desc_size;
	uint32_t gtes_per_gt;
	uint64_t rgd_offset, gd_offset, overhead;
	uint8_t unclean;
	uint16_t compress_alg;
	int newline_chars_ok; /* the four newline-detection bytes are intact */
};

/* Encodes h into one sector (magic and newline bytes included). */
void vmdk_header_encode(const struct vmdk_header *h, unsigned char out[VMDK_SECTOR]);
/* Decodes one sector; -1 if the magic is wrong (nothing else is judged here). */
int vmdk_header_decode(const unsigned char in[VMDK_SECTOR], struct vmdk_header *h);

/* Descriptor geometry VMware derives from the capacity and adapter. */
struct vmdk_geometry {
	unsigned cylinders, heads, sectors;
};
struct vmdk_geometry vmdk_geometry_for(uint64_t capacity_sectors, const char *adapter_type);
/* 1 if adapter_type is one VMware knows (ide, buslogic, lsilogic, legacyESX). */
int vmdk_adapter_known(const char *adapter_type);

#endif
