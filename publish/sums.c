/* publish/sums.c: parse and write SHA256SUMS. See sums.h. */
#include "publish/sums.h"

#include "publish/names.h"
#include "util/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hex_digit(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

void sums_free(struct sums *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].file);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

const struct sums_entry *sums_find(const struct sums *s, const char *file)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i].file, file))
			return &s->v[i];
	return NULL;
}

int sums_add(struct sums *s, const char *file, const char sha256[65])
{
	if (!mirror_file_name_ok(file) || sums_find(s, file) || s->n >= SUMS_MAX_ENTRIES)
		return -1;
	s->v = xrealloc(s->v, (s->n + 1) * sizeof *s->v);
	struct sums_entry *e = &s->v[s->n++];
	e->file = xstrdup(file);
	for (int i = 0; i < 64; i++)
		e->sha256[i] = (char)(sha256[i] >= 'A' && sha256[i] <= 'F' ? sha256[i] - 'A' + 'a' : sha256[i]);
	e->sha256[64] = 0;
	return 0;
}

/* One line without its '\n'. */
static int parse_line(const char *line, size_t len, struct sums *out, char err[160], size_t lineno)
{
	if (len < 64 + 2 + 1) {
		snprintf(err, 160, "line %zu: expected \"<sha256>  <file>\"", lineno);
		return -1;
	}
	for (size_t i = 0; i < 64; i++)
		if (!hex_digit(line[i])) {
			snprintf(err, 160, "line %zu: the checksum is not 64 hex digits", lineno);
			return -1;
		}
	if (line[64] != ' ' || (line[65] != ' ' && line[65] != '*')) {
		snprintf(err, 160, "line %zu: expected two spaces after the checksum", lineno);
		return -1;
	}
	char name[256];
	size_t name_len = len - 66;
	if (name_len >= sizeof name || memchr(line + 66, 0, name_len)) {
		snprintf(err, 160, "line %zu: the file name is not a plain name", lineno);
		return -1;
	}
	memcpy(name, line + 66, name_len);
	name[name_len] = 0;
	if (!mirror_file_name_ok(name)) {
		snprintf(err, 160, "line %zu: \"%.60s\" is not a plain file name", lineno, name);
		return -1;
	}
	if (sums_find(out, name)) {
		snprintf(err, 160, "line %zu: %.100s is listed twice", lineno, name);
		return -1;
	}
	if (out->n >= SUMS_MAX_ENTRIES) {
		snprintf(err, 160, "more than %d files", SUMS_MAX_ENTRIES);
		return -1;
	}
	char hex[65];
	memcpy(hex, line, 64);
	hex[64] = 0;
	return sums_add(out, name, hex);
}

int sums_parse(const char *data, size_t len, struct sums *out, char err[160])
{
	out->v = NULL;
	out->n = 0;
	err[0] = 0;
	if (len > SUMS_MAX_BYTES) {
		snprintf(err, 160, "larger than %u bytes", SUMS_MAX_BYTES);
		return -1;
	}
	size_t lineno = 0;
	for (size_t pos = 0; pos < len;) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t line_len = nl ? (size_t)(nl - (data + pos)) : len - pos;
		lineno++;
		if (parse_line(data + pos, line_len, out, err, lineno) < 0) {
			sums_free(out);
			return -1;
		}
		pos += line_len + (nl != NULL);
	}
	return 0;
}

static int by_file(const void *a, const void *b)
{
	return strcmp(((const struct sums_entry *)a)->file, ((const struct sums_entry *)b)->file);
}

void sums_format(const struct sums *s, struct strbuf *out)
{
	struct sums_entry *sorted = xmalloc((s->n ? s->n : 1) * sizeof *sorted);
	if (s->n)
		memcpy(sorted, s->v, s->n * sizeof *sorted);
	qsort(sorted, s->n, sizeof *sorted, by_file);
	for (size_t i = 0; i < s->n; i++)
		strbuf_addf(out, "%s  %s\n", sorted[i].sha256, sorted[i].file);
	free(sorted);
}
