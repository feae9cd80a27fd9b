/* repro/container_map.h: which structure of an image container or archive a byte belongs to.
 *
 * For `apkg build --verify-repro` when two images hold the same disk but
 * their files still differ: the qcow2 header field, L1 or L2 table entry,
 * refcount structure or data cluster (with the guest offset it stores);
 * and, for archives, the first member that differs (cpio initramfs, tar
 * OVA). Images and archives are untrusted input: every offset and count
 * is checked against the file, and reads are bounded.
 */
#ifndef APKG_REPRO_CONTAINER_MAP_H
#define APKG_REPRO_CONTAINER_MAP_H

#include <stdint.h>

struct strbuf;

/* Appends a description of byte off of the qcow2 file path. Returns 0, or
 * -1 (reason appended) when it is not a qcow2 image apkg can map. */
int qcow2_describe(const char *path, uint64_t off, struct strbuf *out);

/* The same for any image format apkg writes: qcow2 (above), VMDK (sparse
 * header fields, the descriptor line), VDI (header fields, block map
 * entries, data blocks), VHDX (headers, region tables, BAT entries,
 * metadata). */
int image_container_describe(const char *format, const char *path, uint64_t off, struct strbuf *out);

/* Compares two archives libarchive reads (any compression) member by
 * member, in order: appends the first difference (a member only one has,
 * a different header field or content) to out and returns 1; 0 when every
 * member is the same (then only the container bytes differ); -1 on errors.
 * When a differing member's name ends in one of extract_suffixes, its two
 * versions are written to tmpdir as a.<name-base> and b.<name-base> and
 * *member gets the base name (caller frees), for a closer look. */
int archive_first_difference(const char *a, const char *b, const char *tmpdir, const char *const *extract_suffixes,
			     struct strbuf *out, char **member);

#endif
