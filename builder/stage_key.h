/* builder/stage_key.h: the cache keys of the cached build stages, base and customize.
 *
 * A key is sha256 over every input of its stage, so that a change to any of
 * them gives a new key and a stale tree is never reused (unlike caches that
 * look only at the package list: shared/reference/peers.md, item 8):
 *   base       apkg's build id; the base part of the recipe (base.*, packages,
 *              kernel.package, network.dhcp, epoch: recipe_part_digest); and
 *              what the host contributes: the busybox binary for a busybox
 *              base, the apt source line and the sha256 of the mirror's
 *              InRelease (or Release) file for a debian base, so that a new
 *              package version on the mirror gives a new key; the commit an
 *              ostree base resolves to.
 *   customize  the base key and the customisation part of the recipe (files
 *              with their source contents, users, services, hostname,
 *              network, run, epoch).
 */
#ifndef APKG_BUILDER_STAGE_KEY_H
#define APKG_BUILDER_STAGE_KEY_H

struct recipe;

/* apkg's version and the sha256 of its own executable ("0.1.0+1a2b3c4d5e6f"),
 * so that a rebuilt apkg never reuses a tree an older one made. */
const char *apkg_build_id(void);

/* Returns 1 with key set; 0 when the base cannot be keyed (*why, which the
 * caller frees, says why: e.g. the mirror's Release file could not be
 * fetched); -1 after printing an error. */
int stage_key_base(const struct recipe *r, char key[65], char **why);
/* Returns 0 with key set, or -1 after printing an error (a source file
 * that cannot be read). */
int stage_key_customize(const struct recipe *r, const char *base_key, char key[65]);

#endif
