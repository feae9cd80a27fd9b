/* util/digest.h: the message digests an OVA manifest may name (SHA1, SHA256, SHA512).
 *
 * One streaming interface over the three, chosen at run time by name, so
 * the OVA writer and the linter never care which one a manifest uses.
 * SHA-256 is util/sha256.c; SHA-1 and SHA-512 follow FIPS 180-4 too.
 */
#ifndef APKG_UTIL_DIGEST_H
#define APKG_UTIL_DIGEST_H

#include "util/sha256.h"

#include <stddef.h>
#include <stdint.h>

enum digest_alg { DIGEST_SHA1, DIGEST_SHA256, DIGEST_SHA512 };

#define DIGEST_MAX_BYTES 64
#define DIGEST_MAX_HEX (2 * DIGEST_MAX_BYTES + 1)

struct sha1 {
	uint32_t h[5];
	uint64_t len;
	uint8_t buf[64];
	size_t fill;
};

struct sha512 {
	uint64_t h[8];
	uint64_t len;
	uint8_t buf[128];
	size_t fill;
};

struct digest {
	enum digest_alg alg;
	union {
		struct sha1 sha1;
		struct sha256 sha256;
		struct sha512 sha512;
	} u;
};

/* "SHA256" (as a manifest writes it) for alg. */
const char *digest_name(enum digest_alg alg);
/* Case-insensitive "sha1" | "sha256" | "sha512"; -1 if unknown. */
int digest_from_name(const char *name, enum digest_alg *alg);
size_t digest_size(enum digest_alg alg);

void digest_init(struct digest *d, enum digest_alg alg);
void digest_update(struct digest *d, const void *data, size_t len);
/* Writes digest_size() bytes to out and the lowercase hex to hex (may be NULL). */
void digest_final(struct digest *d, uint8_t *out, char hex[DIGEST_MAX_HEX]);

void sha1_init(struct sha1 *s);
void sha1_update(struct sha1 *s, const void *data, size_t len);
void sha1_final(struct sha1 *s, uint8_t out[20]);
void sha512_init(struct sha512 *s);
void sha512_update(struct sha512 *s, const void *data, size_t len);
void sha512_final(struct sha512 *s, uint8_t out[64]);

#endif
