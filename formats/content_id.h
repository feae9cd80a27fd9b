/* formats/content_id.h: identifiers derived from a disk's content and the seed.
 *
 * Formats store ids that their tools expect to differ between disks (VMDK
 * CID, VHDX disk and write GUIDs, VDI UUIDs). apkg derives them instead
 * of drawing them at random: the same seed and the same content give the
 * same ids (reproducible images), different content different ids. The
 * content is summarised as the Adler-32 of every stored block, in order,
 * which costs next to nothing beside compressing or writing the block.
 */
#ifndef APKG_FORMATS_CONTENT_ID_H
#define APKG_FORMATS_CONTENT_ID_H

#include "util/sha256.h"

#include <stddef.h>
#include <stdint.h>

struct content_id {
	struct sha256 sha;
	char seed[160]; /* "<seed>/<64 hex>" once finished */
};

/* seed may be NULL (then only the content counts). */
void content_id_init(struct content_id *c, const char *seed, uint64_t virtual_size);
/* A stored block: its index and the Adler-32 of its bytes. */
void content_id_add(struct content_id *c, uint64_t block, uint32_t adler32);
/* The same, computing the Adler-32 of data. */
void content_id_add_data(struct content_id *c, uint64_t block, const void *data, size_t len);
/* Ends the summary; returns a seed string for util/ident.h (valid while c lives). */
const char *content_id_finish(struct content_id *c);

#endif
