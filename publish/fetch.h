/* publish/fetch.h: read a published version from wherever it is served:
 * an http(s) URL (through the curl tool) or a local path.
 *
 * Promises: file names are joined to the base only after passing
 * mirror_file_name_ok() (so a hostile SHA256SUMS cannot steer a request or
 * a path elsewhere); small files are capped at a size given by the caller;
 * artifacts are hashed as they stream in and never stored; curl follows
 * redirects only to http and https, and runs without a shell.
 */
#ifndef APKG_PUBLISH_FETCH_H
#define APKG_PUBLISH_FETCH_H

#include <stddef.h>
#include <stdint.h>

struct strbuf;

struct source {
	char *base;   /* URL or directory, without a trailing '/' */
	int is_url;
};

/* where: http://, https://, file:// or a path. Returns -1 for other schemes. */
int source_init(struct source *s, const char *where);
void source_release(struct source *s);
/* A source one level down (base/sub). */
void source_child(const struct source *s, const char *sub, struct source *out);
/* Splits off a last path segment "latest" (after trailing '/'s): 1 if it was there. */
int source_strip_latest(struct source *s);
/* Whole small file; *missing = 1 (and 0 returned) when it does not exist (HTTP 404). */
int fetch_small(const struct source *s, const char *name, struct strbuf *out, size_t max, int *missing);
/* sha256 of a file as it streams in. */
int fetch_hash(const struct source *s, const char *name, char hex[65], uint64_t *size);

#endif
