/* inspect/guest.h: the libguestfs session of one inspection (internal to inspect/).
 *
 * guest_launch() starts libguestfs once with every disk of the source
 * attached read-only: on TCG when the host lacks usable hardware
 * virtualization, with apkg's cached Debian kernel for the appliance when
 * the host has no kernel of its own, and with libguestfs' own error printing
 * turned off (callers report what matters). The readers never follow a
 * symlink at the last component and never read more than they are told.
 */
#ifndef APKG_INSPECT_GUEST_H
#define APKG_INSPECT_GUEST_H

#include <guestfs.h>
#include <stddef.h>

struct inspect_source;
struct hygiene_scan;

guestfs_h *guest_launch(const struct inspect_source *src);
void guest_close(guestfs_h *g);

/* A regular file's content (not through a symlink), NUL-terminated, or NULL
 * when it is missing, not a regular file or larger than max. */
char *guest_read(guestfs_h *g, const char *path, size_t max, size_t *len);
/* Up to n bytes from the start of a regular file (at most 16 MiB), or NULL. */
char *guest_read_head(guestfs_h *g, const char *path, size_t n, size_t *len);
int guest_is_regular(guestfs_h *g, const char *path);
int guest_is_dir(guestfs_h *g, const char *path);
/* The path as it is spelt on a case-insensitive filesystem (FAT), or NULL. */
char *guest_find(guestfs_h *g, const char *path);
/* Directory entries (names), or NULL. Free with guest_free_strings(). */
char **guest_ls(guestfs_h *g, const char *dir);
void guest_free_strings(char **v);
/* Size of a regular file, or -1. */
long long guest_size(guestfs_h *g, const char *path);

/* Streams dir (as mounted) out as tar and feeds it to the scan. 0 or -1. */
int guest_scan_hygiene(guestfs_h *g, const char *dir, struct hygiene_scan *s);

#endif
