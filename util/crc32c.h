/* util/crc32c.h: CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as VHDX
 * checksums its headers, region tables and log entries (MS-VHDX 2.2). */
#ifndef APKG_UTIL_CRC32C_H
#define APKG_UTIL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* crc32c(0, buf, len) is the checksum of buf; pass a previous result to continue. */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

#endif
