/* publish/sign.h: OpenPGP signatures over SHA256SUMS, with the real gpg.
 *
 * Signing uses the caller's own keys (GNUPGHOME or ~/.gnupg): a detached,
 * ASCII-armoured signature, checked again right after it is made. Checking
 * a download uses gpgv against exactly the keys in the keyring file given
 * (binary, keybox or ASCII-armoured: an armoured file is converted with
 * `gpg --dearmor` in a throwaway GNUPGHOME), never the user's own trust
 * database, and requires gpgv's VALIDSIG status, not just its exit code.
 */
#ifndef APKG_PUBLISH_SIGN_H
#define APKG_PUBLISH_SIGN_H

/* Fingerprints are 40 (v4) or 64 (v5) hex digits. */
#define FPR_MAX 65

/* gpg --detach-sign --armor --local-user key; fpr gets the signing key. */
int sign_detached(const char *key, const char *data_path, const char *sig_path, char fpr[FPR_MAX]);
/* 0 when sig is a good signature over data by a key in keyring. */
int verify_detached(const char *keyring, const char *sig_path, const char *data_path, char fpr[FPR_MAX]);

#endif
