/* util/ident.h: identifiers derived from a seed, for reproducible artifacts.
 *
 * Every UUID, GUID, serial and hash seed in an appliance is derived from the
 * recipe's hash and a purpose label, so the same recipe gives the same ids and
 * different purposes never collide.
 */
#ifndef APKG_UTIL_IDENT_H
#define APKG_UTIL_IDENT_H

#include <stdint.h>

/* 16 bytes of SHA-256(seed || "\0" || label), shaped as an RFC 4122 v4-style UUID
 * (version and variant bits set) in big-endian (text) byte order. */
void ident_uuid(const char *seed, const char *label, uint8_t out[16]);
/* "xxxxxxxx-xxxx-..." lowercase text of a big-endian UUID. */
void ident_uuid_str(const uint8_t uuid[16], char out[37]);
/* Converts a text-order UUID to the mixed-endian GUID layout used on disk by GPT/EFI. */
void ident_uuid_to_guid(const uint8_t uuid[16], uint8_t guid[16]);
uint32_t ident_u32(const char *seed, const char *label);

#endif
