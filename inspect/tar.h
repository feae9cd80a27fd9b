/* inspect/tar.h: the members of a tar archive (an OVA), found without extracting anything.
 *
 * Lists each member's name and where its data lies in the archive, so that
 * a disk inside an OVA can be read in place. Reads ustar and GNU headers,
 * GNU long names ('L') and pax "path"/"size" records ('x'). The archive is
 * hostile: every header's checksum is verified, sizes are bounded by the
 * archive's length, and names, pax headers and the member count are capped.
 */
#ifndef APKG_INSPECT_TAR_H
#define APKG_INSPECT_TAR_H

#include <stddef.h>
#include <stdint.h>

struct strbuf;

#define TAR_MAX_MEMBERS 4096
#define TAR_MAX_NAME 4096
#define TAR_MAX_PAX (64u << 10)

struct tar_member {
	char *name;
	char type;        /* '0' regular file, '5' directory, other typeflags as in the header */
	uint64_t offset;  /* of the data, in the archive */
	uint64_t size;
};

/* Reads len bytes at off; returns 0, or -1 when they are not all there. */
typedef int (*tar_read_fn)(void *ctx, void *buf, size_t len, uint64_t off);

/* True if the 512-byte block is a tar header (ustar magic and a valid checksum). */
int tar_is_header(const unsigned char block[512]);
/* Lists the archive of `total` bytes. Returns 0, or -1 with the reason in err. */
int tar_list(tar_read_fn read, void *ctx, uint64_t total, struct tar_member **members, size_t *n,
	     struct strbuf *err);
void tar_members_free(struct tar_member *m, size_t n);

#endif
