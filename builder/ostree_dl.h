/* builder/ostree_dl.h: loading libostree and GLib on demand (see util/dlopen.h).
 *
 * apkg does not link libostree: ostree_dl_load() loads it, and must have
 * succeeded before any ostree_* or g_* function is called. The entry
 * points that open a repository (ostree_lookup, ostree_tree_open,
 * ostree_output_commit, stage_cache_open) call it and report its message.
 */
#ifndef APKG_BUILDER_OSTREE_DL_H
#define APKG_BUILDER_OSTREE_DL_H

/* NULL once libostree is loaded, else why it cannot be, naming the library and its package. */
const char *ostree_dl_load(void);

#endif
