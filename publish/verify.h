/* publish/verify.h: `apkg verify`: check a published version the way a
 * user downloads it.
 *
 * Fetches SHA256SUMS from the version (".../NAME/latest" is resolved through
 * NAME/LATEST), checks SHA256SUMS.asc against the keyring when one is given
 * (a missing or bad signature is a failure then), hashes every file
 * SHA256SUMS lists as it downloads and, when SHA256SUMS covers manifest.json,
 * checks that it also covers every artifact the manifest lists, with the same
 * sha256. Every problem is reported with the file's name; nothing is written
 * outside a temporary directory.
 */
#ifndef APKG_PUBLISH_VERIFY_H
#define APKG_PUBLISH_VERIFY_H

struct verify_opts {
	const char *where;    /* URL or path of a version directory, or of NAME/latest */
	const char *keyring;  /* NULL: signatures are not checked */
};

/* Returns the exit code: 0 all good, 1 a mismatch or a missing file, 3 a tool missing. */
int verify_release(const struct verify_opts *o);

#endif
