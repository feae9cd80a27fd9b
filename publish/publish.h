/* publish/publish.h: `apkg publish`: put one validated appliance version on
 * a download mirror, atomically, optionally signed.
 *
 * The protocol (the mirror operations are in mirror.h):
 *   1. check the output directory (release.h) and the validation gate;
 *      write the mirror's SHA256SUMS and sign it (before taking the lock);
 *   2. lock the mirror; read index.json (an unreadable one stops the publish);
 *   3. if NAME/VERSION exists: with the same SHA256SUMS it is already
 *      published (only the index is brought up to date); with another it is
 *      refused, naming the files that differ; without SHA256SUMS it is an
 *      unfinished publish and is removed;
 *   4. upload to NAME/.tmp-VERSION (earlier .tmp-* leftovers are removed
 *      first), read every file back from the mirror and compare its sha256,
 *      then promote it to NAME/VERSION;
 *   5. only then replace index.json, index.html, NAME/LATEST and the
 *      NAME/latest symlink, in that order, each atomically;
 *   6. with --keep N, drop the versions beyond the N newest (by version
 *      order; never the newest, never the one just published) from the index
 *      first, then delete their directories; unlock.
 * A reader therefore sees the old mirror or the new one: the index and
 * LATEST only ever name versions that are complete and verified. A publisher
 * killed at any point leaves at most an unreferenced .tmp-* directory (or, on
 * rsync, an unfinished version directory without SHA256SUMS), which the next
 * publish cleans up; running the same publish again completes it.
 */
#ifndef APKG_PUBLISH_PUBLISH_H
#define APKG_PUBLISH_PUBLISH_H

#include "publish/mirror.h"

struct publish_opts {
	const char *outdir;
	const char *dest;
	const char *sign_key;    /* NULL: unsigned */
	unsigned keep;           /* 0: keep every version */
	int allow_unvalidated;
	int json;                /* a JSON summary on stdout */
	struct mirror_opts mirror;
};

/* Returns the exit code (util/diag.h). */
int publish_release(const struct publish_opts *o);

#endif
