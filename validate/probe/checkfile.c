/* validate/probe/checkfile.c: parse and write the image's checks file.
 * libc only: this file is linked into the static in-guest probe as well as
 * into libapkg. See checkfile.h for the format. */
#include "validate/probe/checkfile.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = {
	[PROBE_SERVICE] = "service", [PROBE_TCP] = "tcp", [PROBE_HTTP] = "http",
	[PROBE_COMMAND] = "command", [PROBE_FILE] = "file",
};

/* The key that holds each kind's target ("tcp" has a port instead). */
static const char *const target_keys[] = {
	[PROBE_SERVICE] = "name", [PROBE_TCP] = NULL, [PROBE_HTTP] = "url",
	[PROBE_COMMAND] = "run", [PROBE_FILE] = "path",
};

const char *probe_kind_name(enum probe_kind k)
{
	return (unsigned)k < sizeof kind_names / sizeof kind_names[0] ? kind_names[k] : "?";
}

__attribute__((format(printf, 4, 5))) static int fail(char *err, size_t errlen, int line, const char *fmt, ...)
{
	if (!err || !errlen)
		return -1;
	int n = snprintf(err, errlen, "line %d: ", line);
	if (n >= 0 && (size_t)n < errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes s[0..n) into a new string; NULL if malformed or holding NUL. */
static char *decode(const char *s, size_t n)
{
	char *out = malloc(n + 1);
	size_t o = 0;
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			out[o++] = s[i];
			continue;
		}
		int hi = i + 2 < n ? hexval((unsigned char)s[i + 1]) : -1;
		int lo = i + 2 < n ? hexval((unsigned char)s[i + 2]) : -1;
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			free(out);
			return NULL;
		}
		out[o++] = (char)(hi * 16 + lo);
		i += 2;
	}
	out[o] = 0;
	return out;
}

/* Parses a decimal in [min, max] from s[0..n). */
static int parse_int(const char *s, size_t n, int min, int max, int *out)
{
	long v = 0;
	if (n == 0 || n > 9)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v < min || v > max)
		return -1;
	*out = (int)v;
	return 0;
}

static int kind_from_word(const char *s, size_t n, enum probe_kind *out)
{
	for (size_t k = 0; k < sizeof kind_names / sizeof kind_names[0]; k++)
		if (strlen(kind_names[k]) == n && !memcmp(kind_names[k], s, n)) {
			*out = (enum probe_kind)k;
			return 0;
		}
	return -1;
}

static int key_is(const char *key, size_t n, const char *want)
{
	return want && strlen(want) == n && !memcmp(key, want, n);
}

/* Applies one key=value to c. */
static int apply_field(struct probe_check *c, const char *key, size_t klen, const char *val, size_t vlen,
		       int line, char *err, size_t errlen)
{
	if (key_is(key, klen, "timeout")) {
		if (parse_int(val, vlen, 1, 3600, &c->timeout_s) < 0)
			return fail(err, errlen, line, "timeout must be 1..3600 seconds");
		return 0;
	}
	if (c->kind == PROBE_TCP && key_is(key, klen, "port")) {
		if (parse_int(val, vlen, 1, 65535, &c->port) < 0)
			return fail(err, errlen, line, "port must be 1..65535");
		return 0;
	}
	if (c->kind == PROBE_HTTP && key_is(key, klen, "status")) {
		if (parse_int(val, vlen, 100, 599, &c->status) < 0)
			return fail(err, errlen, line, "status must be 100..599");
		return 0;
	}
	char **slot = NULL;
	if (key_is(key, klen, target_keys[c->kind]))
		slot = &c->target;
	else if (c->kind == PROBE_HTTP && key_is(key, klen, "contains"))
		slot = &c->contains;
	if (!slot)
		return fail(err, errlen, line, "unknown key '%.*s' for a %s check", (int)(klen > 40 ? 40 : klen), key,
			    kind_names[c->kind]);
	if (*slot)
		return fail(err, errlen, line, "key '%.*s' given twice", (int)klen, key);
	*slot = decode(val, vlen);
	if (!*slot)
		return fail(err, errlen, line, "bad %%-encoding in '%.*s'", (int)klen, key);
	if (!**slot)
		return fail(err, errlen, line, "empty '%.*s'", (int)klen, key);
	return 0;
}

static int is_blank(char c) { return c == ' ' || c == '\t'; }

/* Parses one check line s[0..n) into c. */
static int parse_check(const char *s, size_t n, struct probe_check *c, int line, char *err, size_t errlen)
{
	size_t i = 0, w = 0;
	while (w < n && !is_blank(s[w]))
		w++;
	if (kind_from_word(s, w, &c->kind) < 0)
		return fail(err, errlen, line, "unknown check kind '%.*s'", (int)(w > 40 ? 40 : w), s);
	c->timeout_s = CHECKFILE_DEFAULT_TIMEOUT;
	c->status = 200;
	for (i = w; i < n;) {
		while (i < n && is_blank(s[i]))
			i++;
		size_t t = i;
		while (i < n && !is_blank(s[i]))
			i++;
		if (t == i)
			break;
		const char *eq = memchr(s + t, '=', i - t);
		if (!eq)
			return fail(err, errlen, line, "expected key=value, found '%.*s'", (int)(i - t > 40 ? 40 : i - t), s + t);
		if (apply_field(c, s + t, (size_t)(eq - (s + t)), eq + 1, (size_t)(s + i - eq - 1), line, err, errlen) < 0)
			return -1;
	}
	if (c->kind == PROBE_TCP ? !c->port : !c->target)
		return fail(err, errlen, line, "a %s check needs '%s='", kind_names[c->kind],
			    c->kind == PROBE_TCP ? "port" : target_keys[c->kind]);
	return 0;
}

static int parse_line(const char *s, size_t n, int line, int *seen_header, struct probe_checks *out, char *err,
		      size_t errlen)
{
	if (n == 0 || s[0] == '#')
		return 0;
	if (!*seen_header) {
		if (n != 13 || memcmp(s, "apkg-checks 1", 13))
			return fail(err, errlen, line, "not an apkg checks file (expected 'apkg-checks 1')");
		*seen_header = 1;
		return 0;
	}
	if (n > 9 && !memcmp(s, "deadline ", 9)) {
		if (parse_int(s + 9, n - 9, 1, 86400, &out->deadline_s) < 0)
			return fail(err, errlen, line, "deadline must be 1..86400 seconds");
		return 0;
	}
	if (out->n >= CHECKFILE_MAX_CHECKS)
		return fail(err, errlen, line, "more than %d checks", CHECKFILE_MAX_CHECKS);
	struct probe_check *items = realloc(out->items, (out->n + 1) * sizeof *items);
	if (!items)
		return fail(err, errlen, line, "out of memory");
	out->items = items;
	memset(&items[out->n], 0, sizeof items[0]);
	out->n++;
	return parse_check(s, n, &items[out->n - 1], line, err, errlen);
}

int checkfile_parse(const char *data, size_t len, struct probe_checks *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	out->deadline_s = CHECKFILE_DEFAULT_DEADLINE;
	if (len > CHECKFILE_MAX_SIZE)
		return fail(err, errlen, 0, "checks file larger than %d bytes", CHECKFILE_MAX_SIZE);
	int line = 0, seen_header = 0;
	for (size_t pos = 0; pos < len;) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (data + pos)) : len - pos;
		size_t next = pos + n + (nl ? 1 : 0);
		line++;
		if (memchr(data + pos, 0, n)) {
			checkfile_free(out);
			return fail(err, errlen, line, "NUL byte");
		}
		if (n && data[pos + n - 1] == '\r')
			n--;
		if (parse_line(data + pos, n, line, &seen_header, out, err, errlen) < 0) {
			checkfile_free(out);
			return -1;
		}
		pos = next;
	}
	if (!seen_header) {
		checkfile_free(out);
		return fail(err, errlen, line, "empty checks file (expected 'apkg-checks 1')");
	}
	return 0;
}

void checkfile_free(struct probe_checks *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->items[i].target);
		free(c->items[i].contains);
	}
	free(c->items);
	c->items = NULL;
	c->n = 0;
}

/* A growable string for the encoder (no libapkg here). */
struct buf {
	char *s;
	size_t len, cap;
	int oom;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = realloc(b->s, cap);
		if (!p) {
			b->oom = 1;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = 0;
}

__attribute__((format(printf, 2, 3))) static void buf_addf(struct buf *b, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n > 0)
		buf_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void buf_add_encoded(struct buf *b, const char *key, const char *val)
{
	buf_addf(b, " %s=", key);
	for (const unsigned char *p = (const unsigned char *)val; *p; p++) {
		if (*p <= 0x20 || *p == 0x7f || *p == '%')
			buf_addf(b, "%%%02X", *p);
		else
			buf_add(b, (const char *)p, 1);
	}
}

char *checkfile_encode(const struct probe_checks *c)
{
	struct buf b = {0};
	buf_addf(&b, "apkg-checks 1\n");
	static const char note[] = "# written by apkg build; read by /usr/lib/apkg/apkg-probe when apkg test boots the image\n";
	buf_add(&b, note, sizeof note - 1);
	buf_addf(&b, "deadline %d\n", c->deadline_s);
	for (size_t i = 0; i < c->n; i++) {
		const struct probe_check *k = &c->items[i];
		if ((unsigned)k->kind > PROBE_FILE || (k->kind == PROBE_TCP ? !k->port : !k->target || !*k->target)) {
			free(b.s);
			return NULL;
		}
		buf_addf(&b, "%s timeout=%d", kind_names[k->kind], k->timeout_s);
		if (k->kind == PROBE_TCP)
			buf_addf(&b, " port=%d", k->port);
		if (k->kind == PROBE_HTTP)
			buf_addf(&b, " status=%d", k->status);
		if (k->target)
			buf_add_encoded(&b, target_keys[k->kind], k->target);
		if (k->kind == PROBE_HTTP && k->contains && *k->contains)
			buf_add_encoded(&b, "contains", k->contains);
		buf_add(&b, "\n", 1);
	}
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

void checkfile_label(const struct probe_check *c, char *buf, size_t size)
{
	if (!size)
		return;
	if (c->kind == PROBE_TCP)
		snprintf(buf, size, "tcp %d", c->port);
	else
		snprintf(buf, size, "%s %s", probe_kind_name(c->kind), c->target ? c->target : "");
	/* A label is one line of printable text. */
	for (char *p = buf; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
}
