/* builder/users.h: the image's account database (passwd, group, shadow, gshadow).
 *
 * apkg edits these files directly, never through chroot tools, so the host's
 * own accounts are never consulted: every name is resolved against the
 * image's files. Lines apkg does not touch are kept byte for byte, files are
 * rewritten atomically with their original mode and owner, and new ids are
 * allocated deterministically (the lowest free id from 1000 upwards), so the
 * same recipe always yields the same files.
 */
#ifndef APKG_BUILDER_USERS_H
#define APKG_BUILDER_USERS_H

#include <stdint.h>
#include <sys/types.h>

struct imgroot;
struct recipe;
struct recipe_user;
struct strbuf;
struct userdb;

/* Loads /etc/passwd, /etc/group, /etc/shadow and /etc/gshadow (any may be
 * missing). Returns NULL after printing an error. */
struct userdb *userdb_load(const struct imgroot *ir);
void userdb_free(struct userdb *db);
/* The same from file contents, in the order passwd, group, shadow, gshadow
 * (NULL: the file is missing); for tests and the fuzzer. */
struct userdb *userdb_from_text(const char *const text[4]);
/* Appends the current content of file `which` (0 passwd .. 3 gshadow). */
void userdb_text(const struct userdb *db, int which, struct strbuf *out);
/* Writes back the files that changed. */
int userdb_save(struct userdb *db, const struct imgroot *ir);

/* Looks a user or group up by name. Returns 0, or -1 (silently) if unknown. */
int userdb_user(const struct userdb *db, const char *name, uid_t *uid, gid_t *gid);
int userdb_group(const struct userdb *db, const char *name, gid_t *gid);
/* Resolves "user", "user:group" (names or numbers) against the image.
 * A bare user means the user's primary group. Returns -1 after printing an
 * error naming what is unknown. */
int userdb_resolve_owner(const struct userdb *db, const char *owner, uid_t *uid, gid_t *gid);

/* Creates or updates one recipe user in db: passwd, shadow (last change on
 * the epoch's day), the user's own group, supplementary groups (created when
 * missing). The home directory and ~/.ssh/authorized_keys are created by
 * users_apply. */
int userdb_add_user(struct userdb *db, const struct recipe_user *u, uint64_t epoch);

/* Applies all of the recipe's users to the image: accounts, home directories
 * (0700, from /etc/skel when it exists) and ~/.ssh/authorized_keys (0700/0600,
 * owned by the user). Returns -1 after printing an error. */
int users_apply(const struct recipe *r, const struct imgroot *ir, struct userdb *db);

#endif
