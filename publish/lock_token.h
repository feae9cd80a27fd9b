/* publish/lock_token.h: who holds an rsync mirror's lock, and when that
 * claim is stale.
 *
 * rsync has no atomic "create if absent", so the lock on an rsync mirror is
 * a directory of claims (see mirror_rsync.c): each publisher uploads a token
 * file saying who it is. A token is stale, and may be removed by anyone,
 * when (a) it was written on this machine in this boot (same boot id) by a
 * process that no longer exists (pid gone, or reused: its start time
 * differs), or (b) it was not refreshed for LOCK_STALE_S seconds, measured on
 * the mirror's clock (its mtime against the mtime of the reader's own fresh
 * token), while a live holder refreshes it every LOCK_HEARTBEAT_S seconds.
 * Token files come from the mirror: the parser takes any bytes and a token
 * it cannot read is judged by its age alone.
 */
#ifndef APKG_PUBLISH_LOCK_TOKEN_H
#define APKG_PUBLISH_LOCK_TOKEN_H

#include <stddef.h>

struct strbuf;

#define LOCK_STALE_S 600
#define LOCK_HEARTBEAT_S 60

struct lock_holder {
	char host[65];
	char boot[40];             /* /proc/sys/kernel/random/boot_id */
	long pid;
	unsigned long long start;  /* process start time, clock ticks after boot */
};

/* This process. */
void lock_self(struct lock_holder *me);
/* "apkg-lock 1\nhost ..\nboot ..\npid ..\nstart ..\nbeat N\n" */
void lock_token_format(const struct lock_holder *h, unsigned beat, struct strbuf *out);
/* Returns 0, or -1 when the text is not a token. */
int lock_token_parse(const char *data, size_t len, struct lock_holder *h);
/* age_s: how long ago the token was last written, on the mirror's clock. */
int lock_token_stale(const char *data, size_t len, long age_s, const struct lock_holder *me);
/* "host H, pid P" for messages (static storage). */
const char *lock_token_describe(const char *data, size_t len);

#endif
