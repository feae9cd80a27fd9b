/* inspect/guestfs_dl.h: loading libguestfs on demand (internal to inspect/; see util/dlopen.h).
 *
 * apkg does not link libguestfs: guestfs_dl_load() loads it, and must
 * have succeeded before any guestfs_* function is called.
 */
#ifndef APKG_INSPECT_GUESTFS_DL_H
#define APKG_INSPECT_GUESTFS_DL_H

/* NULL once libguestfs is loaded, else why it cannot be, naming the library and its package. */
const char *guestfs_dl_load(void);

#endif
