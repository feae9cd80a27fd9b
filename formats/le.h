/* formats/le.h: little-endian field access for the formats that store their
 * metadata little-endian (VMDK, VHDX, VDI). Unaligned-safe, host-independent. */
#ifndef APKG_FORMATS_LE_H
#define APKG_FORMATS_LE_H

#include <stdint.h>

static inline uint16_t get_le16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t get_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t get_le64(const unsigned char *p) { return get_le32(p) | (uint64_t)get_le32(p + 4) << 32; }
static inline void put_le16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}
static inline void put_le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}
static inline void put_le64(unsigned char *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

#endif
