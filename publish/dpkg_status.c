/* publish/dpkg_status.c: dpkg status and busybox version parsing. See dpkg_status.h. */
#include "publish/dpkg_status.h"

#include "util/strbuf.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct stanza {
	char name[DPKG_FIELD_MAX], version[DPKG_FIELD_MAX], arch[DPKG_FIELD_MAX], source[DPKG_FIELD_MAX],
		status[DPKG_FIELD_MAX];
	int bad;
};

static int only(const char *s, const char *allowed)
{
	return *s && strspn(s, allowed) == strlen(s);
}

#define ALNUM_LOWER "abcdefghijklmnopqrstuvwxyz0123456789"
#define ALNUM ALNUM_LOWER "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

/* "Key: value" into the matching field (value trimmed); other keys ignored. */
static void take_field(struct stanza *st, const char *line, size_t len)
{
	static const char *const keys[] = {"Package", "Version", "Architecture", "Source", "Status"};
	char *fields[] = {st->name, st->version, st->arch, st->source, st->status};
	const char *colon = memchr(line, ':', len);
	if (!colon)
		return;
	size_t klen = (size_t)(colon - line);
	for (size_t i = 0; i < 5; i++) {
		if (strlen(keys[i]) != klen || strncasecmp(line, keys[i], klen))
			continue;
		const char *v = colon + 1, *end = line + len;
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		while (end > v && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
			end--;
		size_t vlen = (size_t)(end - v);
		if (vlen >= DPKG_FIELD_MAX || memchr(v, 0, vlen)) {
			st->bad = 1;
			return;
		}
		memcpy(fields[i], v, vlen);
		fields[i][vlen] = 0;
	}
}

static int installed(const char *status)
{
	size_t n = strlen(status);
	return n >= 10 && !strcmp(status + n - 10, " installed");
}

static int find(const struct dpkg_packages *p, const char *name, const char *arch)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->v[i].name, name) && !strcmp(p->v[i].arch, arch))
			return 1;
	return 0;
}

static void finish_stanza(struct stanza *st, struct dpkg_packages *out)
{
	if (!st->name[0] && !st->version[0] && !st->status[0] && !st->bad)
		return; /* blank lines between stanzas */
	if (!installed(st->status) && !st->bad)
		return;
	/* Source may read "name (version)": keep the name */
	st->source[strcspn(st->source, " ")] = 0;
	if (!st->arch[0])
		strcpy(st->arch, "all");
	if (st->bad || !only(st->name, ALNUM_LOWER "+-.") || !only(st->version, ALNUM ".+~-:") ||
	    !only(st->arch, ALNUM_LOWER "-") || (st->source[0] && !only(st->source, ALNUM_LOWER "+-.")) ||
	    out->n >= DPKG_MAX_PACKAGES) {
		out->skipped++;
		return;
	}
	if (find(out, st->name, st->arch))
		return;
	out->v = xrealloc(out->v, (out->n + 1) * sizeof *out->v);
	out->v[out->n++] = (struct dpkg_package){xstrdup(st->name), xstrdup(st->version), xstrdup(st->arch),
						 st->source[0] ? xstrdup(st->source) : NULL};
}

static int by_name_arch(const void *a, const void *b)
{
	const struct dpkg_package *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->arch, y->arch);
}

void dpkg_status_parse(const char *data, size_t len, struct dpkg_packages *out)
{
	memset(out, 0, sizeof *out);
	struct stanza *st = xcalloc(1, sizeof *st);
	for (size_t pos = 0; pos <= len;) {
		const char *nl = pos < len ? memchr(data + pos, '\n', len - pos) : NULL;
		size_t line = pos < len ? (nl ? (size_t)(nl - data) - pos : len - pos) : 0;
		int blank = line == 0 || (line == 1 && data[pos] == '\r');
		if (blank) {
			finish_stanza(st, out);
			memset(st, 0, sizeof *st);
		} else if (data[pos] != ' ' && data[pos] != '\t') {
			take_field(st, data + pos, line);
		}
		if (pos >= len)
			break;
		pos += line + 1;
	}
	finish_stanza(st, out); /* a last stanza without a blank line after it */
	free(st);
	if (out->n)
		qsort(out->v, out->n, sizeof *out->v, by_name_arch);
}

void dpkg_packages_free(struct dpkg_packages *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].name);
		free(p->v[i].version);
		free(p->v[i].arch);
		free(p->v[i].source);
	}
	free(p->v);
	memset(p, 0, sizeof *p);
}

/* The run of version characters at s (at most 64, within end). */
static char *version_run(const char *s, const char *end)
{
	size_t n = 0;
	while (s + n < end && n < 64 && strchr(ALNUM ".+~-:", s[n]) && s[n])
		n++;
	if (!n)
		return NULL;
	char *v = xmalloc(n + 1);
	memcpy(v, s, n);
	v[n] = 0;
	return v;
}

int busybox_version(const char *data, size_t len, char **upstream, char **debian)
{
	static const char marker[] = "BusyBox v";
	const size_t mlen = sizeof marker - 1;
	*upstream = *debian = NULL;
	const char *end = data + len;
	for (const char *p = data; (size_t)(end - p) >= mlen; p++) {
		p = memchr(p, 'B', (size_t)(end - p - (ptrdiff_t)mlen + 1));
		if (!p)
			break;
		if (memcmp(p, marker, mlen))
			continue;
		const char *v = p + mlen;
		*upstream = v < end && *v >= '0' && *v <= '9' ? version_run(v, end) : NULL;
		if (!*upstream)
			continue; /* "BusyBox v%s" in a format string, say */
		const char *q = p + mlen + strlen(*upstream);
		if ((size_t)(end - q) > 9 && !memcmp(q, " (Debian ", 9))
			*debian = version_run(q + 9, end);
		return 0;
	}
	return -1;
}
