/* publish/sums.h: SHA256SUMS files, as `sha256sum` writes and checks them.
 *
 * Each line is "<64 hex digits>  <file>" ("<hex> *<file>" is read too).
 * A SHA256SUMS may be downloaded from a mirror, so the parser is strict and
 * bounds-checked: every file name must pass mirror_file_name_ok() (one plain
 * path component), names are unique, at most SUMS_MAX_ENTRIES lines, and an
 * error names the line. Written files are sorted by name, so the same set of
 * files always gives the same bytes.
 */
#ifndef APKG_PUBLISH_SUMS_H
#define APKG_PUBLISH_SUMS_H

#include <stddef.h>

struct strbuf;

#define SUMS_MAX_ENTRIES 4096
#define SUMS_MAX_BYTES (1u << 20)

struct sums_entry {
	char *file;
	char sha256[65]; /* lowercase hex */
};

struct sums {
	struct sums_entry *v;
	size_t n;
};

/* Parses data[0..len). Returns 0, or -1 with the reason in err. */
int sums_parse(const char *data, size_t len, struct sums *out, char err[160]);
void sums_free(struct sums *s);
const struct sums_entry *sums_find(const struct sums *s, const char *file);
/* Adds (file must pass mirror_file_name_ok and be new; returns -1 otherwise). */
int sums_add(struct sums *s, const char *file, const char sha256[65]);
/* Sorted by file name, two spaces between hash and name, '\n' after each. */
void sums_format(const struct sums *s, struct strbuf *out);

#endif
