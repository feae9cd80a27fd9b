/* util/sha256.h: SHA-256 (FIPS 180-4), streaming, for manifests and derived ids. */
#ifndef APKG_UTIL_SHA256_H
#define APKG_UTIL_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256 {
	uint32_t h[8];
	uint64_t len;
	uint8_t buf[64];
	size_t fill;
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
void sha256_final(struct sha256 *s, uint8_t out[32]);
void sha256_hex(const uint8_t digest[32], char hex[65]);
/* Digest of a whole file, as lowercase hex. Returns -1 on error. */
int sha256_file_hex(const char *path, char hex[65]);
void sha256_buf_hex(const void *data, size_t len, char hex[65]);

#endif
