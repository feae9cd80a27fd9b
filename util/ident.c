/* util/ident.c: derive UUIDs and serials from (seed, label) with SHA-256. */
#include "util/ident.h"

#include "util/sha256.h"

#include <stdio.h>
#include <string.h>

static void digest(const char *seed, const char *label, uint8_t d[32])
{
	struct sha256 s;
	sha256_init(&s);
	sha256_update(&s, seed, strlen(seed));
	sha256_update(&s, "", 1);
	sha256_update(&s, label, strlen(label));
	sha256_final(&s, d);
}

void ident_uuid(const char *seed, const char *label, uint8_t out[16])
{
	uint8_t d[32];
	digest(seed, label, d);
	memcpy(out, d, 16);
	out[6] = (uint8_t)((out[6] & 0x0f) | 0x40);
	out[8] = (uint8_t)((out[8] & 0x3f) | 0x80);
}

void ident_uuid_str(const uint8_t u[16], char out[37])
{
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2],
		 u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

void ident_uuid_to_guid(const uint8_t u[16], uint8_t g[16])
{
	g[0] = u[3]; g[1] = u[2]; g[2] = u[1]; g[3] = u[0];
	g[4] = u[5]; g[5] = u[4];
	g[6] = u[7]; g[7] = u[6];
	memcpy(g + 8, u + 8, 8);
}

uint32_t ident_u32(const char *seed, const char *label)
{
	uint8_t d[32];
	digest(seed, label, d);
	uint32_t v = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
	return v ? v : 1;
}
