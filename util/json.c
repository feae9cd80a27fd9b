/* util/json.c: recursive-descent JSON parser with bounds, a depth limit and
 * positioned errors, plus a writer. See util/json.h for the promises. */
#include "util/json.h"

#include "util/strbuf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_NUMBER_LEN 256

struct parser {
	const char *data;
	size_t len, pos;
	struct json_error *err;
	int failed;
};

__attribute__((format(printf, 2, 3))) static void fail(struct parser *p, const char *fmt, ...)
{
	if (p->failed)
		return;
	p->failed = 1;
	if (!p->err)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->err->message, sizeof p->err->message, fmt, ap);
	va_end(ap);
	p->err->offset = p->pos;
	p->err->line = 1;
	p->err->col = 1;
	for (size_t i = 0; i < p->pos && i < p->len; i++) {
		if (p->data[i] == '\n') {
			p->err->line++;
			p->err->col = 1;
		} else {
			p->err->col++;
		}
	}
}

static int at_end(const struct parser *p) { return p->pos >= p->len; }
static int peek(const struct parser *p) { return at_end(p) ? -1 : (unsigned char)p->data[p->pos]; }

static void skip_space(struct parser *p)
{
	while (!at_end(p) && strchr(" \t\r\n", p->data[p->pos]) && p->data[p->pos])
		p->pos++;
}

/* Describes the byte at the cursor for error messages. */
static const char *what_is_here(const struct parser *p, char buf[16])
{
	int c = peek(p);
	if (c < 0)
		return "end of input";
	if (c >= 0x21 && c < 0x7f)
		snprintf(buf, 16, "'%c'", c);
	else
		snprintf(buf, 16, "byte 0x%02x", c);
	return buf;
}

static struct json_value *new_value(enum json_type type, size_t start)
{
	struct json_value *v = xcalloc(1, sizeof *v);
	v->type = type;
	v->start = start;
	return v;
}

static int expect_word(struct parser *p, const char *word)
{
	size_t n = strlen(word);
	if (p->len - p->pos < n || memcmp(p->data + p->pos, word, n)) {
		fail(p, "invalid literal (expected '%s')", word);
		return -1;
	}
	p->pos += n;
	return 0;
}

static int is_digit(int c) { return c >= '0' && c <= '9'; }

static struct json_value *parse_number(struct parser *p)
{
	size_t start = p->pos;
	if (peek(p) == '-')
		p->pos++;
	if (peek(p) == '0') {
		p->pos++;
	} else if (is_digit(peek(p))) {
		while (is_digit(peek(p)))
			p->pos++;
	} else {
		fail(p, "invalid number: expected a digit");
		return NULL;
	}
	if (peek(p) == '.') {
		p->pos++;
		if (!is_digit(peek(p))) {
			fail(p, "invalid number: expected a digit after '.'");
			return NULL;
		}
		while (is_digit(peek(p)))
			p->pos++;
	}
	if (peek(p) == 'e' || peek(p) == 'E') {
		p->pos++;
		if (peek(p) == '+' || peek(p) == '-')
			p->pos++;
		if (!is_digit(peek(p))) {
			fail(p, "invalid number: expected a digit in the exponent");
			return NULL;
		}
		while (is_digit(peek(p)))
			p->pos++;
	}
	size_t n = p->pos - start;
	if (n > JSON_MAX_NUMBER_LEN) {
		p->pos = start;
		fail(p, "number longer than %d characters", JSON_MAX_NUMBER_LEN);
		return NULL;
	}
	char *text = xmalloc(n + 1);
	memcpy(text, p->data + start, n);
	text[n] = 0;
	double d = strtod(text, NULL);
	if (!isfinite(d)) {
		free(text);
		p->pos = start;
		fail(p, "number out of range");
		return NULL;
	}
	struct json_value *v = new_value(JSON_NUMBER, start);
	v->text = text;
	v->number = d;
	return v;
}

static int hex4(struct parser *p, unsigned *out)
{
	if (p->len - p->pos < 4) {
		fail(p, "truncated \\u escape");
		return -1;
	}
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p->data[p->pos + i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else {
			fail(p, "invalid \\u escape: expected 4 hex digits");
			return -1;
		}
	}
	p->pos += 4;
	*out = v;
	return 0;
}

static void add_utf8(struct strbuf *sb, unsigned cp)
{
	if (cp < 0x80) {
		strbuf_addc(sb, (char)cp);
	} else if (cp < 0x800) {
		strbuf_addc(sb, (char)(0xc0 | (cp >> 6)));
		strbuf_addc(sb, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		strbuf_addc(sb, (char)(0xe0 | (cp >> 12)));
		strbuf_addc(sb, (char)(0x80 | ((cp >> 6) & 0x3f)));
		strbuf_addc(sb, (char)(0x80 | (cp & 0x3f)));
	} else {
		strbuf_addc(sb, (char)(0xf0 | (cp >> 18)));
		strbuf_addc(sb, (char)(0x80 | ((cp >> 12) & 0x3f)));
		strbuf_addc(sb, (char)(0x80 | ((cp >> 6) & 0x3f)));
		strbuf_addc(sb, (char)(0x80 | (cp & 0x3f)));
	}
}

size_t utf8_sequence_length(const unsigned char *s, size_t avail)
{
	unsigned c = s[0];
	size_t n;
	unsigned cp, min;
	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0) {
		n = 2, cp = c & 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3, cp = c & 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4, cp = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (avail < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static int parse_escape(struct parser *p, struct strbuf *sb)
{
	int c = peek(p);
	p->pos++;
	switch (c) {
	case '"': strbuf_addc(sb, '"'); return 0;
	case '\\': strbuf_addc(sb, '\\'); return 0;
	case '/': strbuf_addc(sb, '/'); return 0;
	case 'b': strbuf_addc(sb, '\b'); return 0;
	case 'f': strbuf_addc(sb, '\f'); return 0;
	case 'n': strbuf_addc(sb, '\n'); return 0;
	case 'r': strbuf_addc(sb, '\r'); return 0;
	case 't': strbuf_addc(sb, '\t'); return 0;
	case 'u': break;
	default:
		p->pos--;
		fail(p, "invalid escape in string");
		return -1;
	}
	unsigned cp;
	if (hex4(p, &cp) < 0)
		return -1;
	if (cp >= 0xdc00 && cp <= 0xdfff) {
		fail(p, "unpaired low surrogate in \\u escape");
		return -1;
	}
	if (cp >= 0xd800 && cp <= 0xdbff) {
		unsigned lo;
		if (p->len - p->pos < 2 || p->data[p->pos] != '\\' || p->data[p->pos + 1] != 'u') {
			fail(p, "high surrogate not followed by a \\u low surrogate");
			return -1;
		}
		p->pos += 2;
		if (hex4(p, &lo) < 0)
			return -1;
		if (lo < 0xdc00 || lo > 0xdfff) {
			fail(p, "high surrogate not followed by a low surrogate");
			return -1;
		}
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	if (cp == 0) {
		fail(p, "\\u0000 in a string is not supported");
		return -1;
	}
	add_utf8(sb, cp);
	return 0;
}

/* Parses a string literal at the cursor (which is on the opening quote). */
static char *parse_string_raw(struct parser *p)
{
	struct strbuf sb = STRBUF_INIT;
	p->pos++;
	for (;;) {
		if (at_end(p)) {
			fail(p, "unterminated string");
			break;
		}
		const unsigned char *s = (const unsigned char *)p->data + p->pos;
		if (*s == '"') {
			p->pos++;
			return strbuf_detach(&sb);
		}
		if (*s == '\\') {
			p->pos++;
			if (at_end(p)) {
				fail(p, "unterminated string");
				break;
			}
			if (parse_escape(p, &sb) < 0)
				break;
			continue;
		}
		if (*s < 0x20) {
			fail(p, "control character 0x%02x in a string (escape it)", *s);
			break;
		}
		size_t n = utf8_sequence_length(s, p->len - p->pos);
		if (!n) {
			fail(p, "invalid UTF-8 in a string");
			break;
		}
		strbuf_add(&sb, s, n);
		p->pos += n;
	}
	strbuf_release(&sb);
	return NULL;
}

static struct json_value *parse_value(struct parser *p, int depth);

static struct json_value *parse_array(struct parser *p, int depth)
{
	struct json_value *v = new_value(JSON_ARRAY, p->pos);
	size_t cap = 0;
	p->pos++;
	skip_space(p);
	if (peek(p) == ']') {
		p->pos++;
		return v;
	}
	for (;;) {
		struct json_value *item = parse_value(p, depth + 1);
		if (!item)
			goto err;
		if (v->n == cap) {
			cap = cap ? cap * 2 : 4;
			v->items = xrealloc(v->items, cap * sizeof *v->items);
		}
		v->items[v->n++] = item;
		skip_space(p);
		int c = peek(p);
		if (c == ']') {
			p->pos++;
			return v;
		}
		if (c != ',') {
			char buf[16];
			fail(p, "expected ',' or ']' in an array, found %s", what_is_here(p, buf));
			goto err;
		}
		p->pos++;
	}
err:
	json_free(v);
	return NULL;
}

static struct json_value *parse_object(struct parser *p, int depth)
{
	struct json_value *v = new_value(JSON_OBJECT, p->pos);
	size_t cap = 0;
	char buf[16];
	p->pos++;
	skip_space(p);
	if (peek(p) == '}') {
		p->pos++;
		return v;
	}
	for (;;) {
		skip_space(p);
		if (peek(p) != '"') {
			fail(p, "expected a string key in an object, found %s", what_is_here(p, buf));
			goto err;
		}
		char *key = parse_string_raw(p);
		if (!key)
			goto err;
		skip_space(p);
		if (peek(p) != ':') {
			free(key);
			fail(p, "expected ':' after an object key, found %s", what_is_here(p, buf));
			goto err;
		}
		p->pos++;
		struct json_value *val = parse_value(p, depth + 1);
		if (!val) {
			free(key);
			goto err;
		}
		if (v->n == cap) {
			cap = cap ? cap * 2 : 4;
			v->members = xrealloc(v->members, cap * sizeof *v->members);
		}
		v->members[v->n].key = key;
		v->members[v->n].value = val;
		v->n++;
		skip_space(p);
		int c = peek(p);
		if (c == '}') {
			p->pos++;
			return v;
		}
		if (c != ',') {
			fail(p, "expected ',' or '}' in an object, found %s", what_is_here(p, buf));
			goto err;
		}
		p->pos++;
	}
err:
	json_free(v);
	return NULL;
}

static struct json_value *parse_value(struct parser *p, int depth)
{
	char buf[16];
	if (depth > JSON_MAX_DEPTH) {
		fail(p, "nesting deeper than %d levels", JSON_MAX_DEPTH);
		return NULL;
	}
	skip_space(p);
	size_t start = p->pos;
	struct json_value *v = NULL;
	switch (peek(p)) {
	case '{': v = parse_object(p, depth); break;
	case '[': v = parse_array(p, depth); break;
	case '"': {
		char *s = parse_string_raw(p);
		if (s) {
			v = new_value(JSON_STRING, start);
			v->text = s;
		}
		break;
	}
	case 't':
	case 'f':
		if (expect_word(p, peek(p) == 't' ? "true" : "false") == 0) {
			v = new_value(JSON_BOOL, start);
			v->boolean = p->data[start] == 't';
		}
		break;
	case 'n':
		if (expect_word(p, "null") == 0)
			v = new_value(JSON_NULL, start);
		break;
	default:
		if (peek(p) == '-' || is_digit(peek(p)))
			v = parse_number(p);
		else
			fail(p, "expected a value, found %s", what_is_here(p, buf));
	}
	if (v)
		v->end = p->pos;
	return v;
}

struct json_value *json_parse_prefix(const char *data, size_t len, size_t *used, struct json_error *err)
{
	struct parser p = {.data = data, .len = len, .err = err};
	struct json_value *v = parse_value(&p, 1);
	if (used)
		*used = p.pos;
	return v;
}

struct json_value *json_parse(const char *data, size_t len, struct json_error *err)
{
	struct parser p = {.data = data, .len = len, .err = err};
	struct json_value *v = parse_value(&p, 1);
	if (!v)
		return NULL;
	skip_space(&p);
	if (!at_end(&p)) {
		char buf[16];
		fail(&p, "unexpected %s after the value", what_is_here(&p, buf));
		json_free(v);
		return NULL;
	}
	return v;
}

void json_free(struct json_value *v)
{
	if (!v)
		return;
	for (size_t i = 0; v->type == JSON_ARRAY && i < v->n; i++)
		json_free(v->items[i]);
	for (size_t i = 0; v->type == JSON_OBJECT && i < v->n; i++) {
		free(v->members[i].key);
		json_free(v->members[i].value);
	}
	free(v->items);
	free(v->members);
	free(v->text);
	free(v);
}

const struct json_value *json_get(const struct json_value *v, const char *key)
{
	if (!v || v->type != JSON_OBJECT)
		return NULL;
	for (size_t i = 0; i < v->n; i++)
		if (!strcmp(v->members[i].key, key))
			return v->members[i].value;
	return NULL;
}

static const struct json_value *get_typed(const struct json_value *v, const char *key, enum json_type t)
{
	const struct json_value *m = json_get(v, key);
	return m && m->type == t ? m : NULL;
}

const char *json_get_str(const struct json_value *v, const char *key)
{
	const struct json_value *m = get_typed(v, key, JSON_STRING);
	return m ? m->text : NULL;
}

const struct json_value *json_get_array(const struct json_value *v, const char *key)
{
	return get_typed(v, key, JSON_ARRAY);
}

const struct json_value *json_get_object(const struct json_value *v, const char *key)
{
	return get_typed(v, key, JSON_OBJECT);
}

int json_get_bool(const struct json_value *v, const char *key, int dflt)
{
	const struct json_value *m = get_typed(v, key, JSON_BOOL);
	return m ? m->boolean : dflt;
}

int json_u64(const struct json_value *v, uint64_t *out)
{
	if (!v || v->type != JSON_NUMBER || !is_digit((unsigned char)v->text[0]))
		return -1;
	uint64_t r = 0;
	for (const char *s = v->text; *s; s++) {
		if (!is_digit((unsigned char)*s))
			return -1; /* fraction or exponent */
		unsigned d = (unsigned)(*s - '0');
		if (r > (UINT64_MAX - d) / 10)
			return -1;
		r = r * 10 + d;
	}
	*out = r;
	return 0;
}

int json_get_u64(const struct json_value *v, const char *key, uint64_t *out)
{
	return json_u64(json_get(v, key), out);
}

void json_add_str(struct strbuf *out, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	strbuf_addc(out, '"');
	for (size_t i = 0; i < len;) {
		unsigned c = u[i];
		if (c == '"' || c == '\\') {
			strbuf_addc(out, '\\');
			strbuf_addc(out, (char)c);
		} else if (c == '\n') {
			strbuf_adds(out, "\\n");
		} else if (c == '\t') {
			strbuf_adds(out, "\\t");
		} else if (c == '\r') {
			strbuf_adds(out, "\\r");
		} else if (c < 0x20 || c == 0x7f) {
			strbuf_addf(out, "\\u%04x", c);
		} else if (c >= 0x80) {
			size_t n = utf8_sequence_length(u + i, len - i);
			if (!n) {
				strbuf_adds(out, "\\ufffd");
				i++;
				continue;
			}
			strbuf_add(out, u + i, n);
			i += n;
			continue;
		} else {
			strbuf_addc(out, (char)c);
		}
		i++;
	}
	strbuf_addc(out, '"');
}

static void newline_indent(struct strbuf *out, int indent, int level)
{
	if (!indent)
		return;
	strbuf_addc(out, '\n');
	for (int i = 0; i < indent * level; i++)
		strbuf_addc(out, ' ');
}

void json_write(const struct json_value *v, struct strbuf *out, int indent, int level)
{
	switch (v->type) {
	case JSON_NULL: strbuf_adds(out, "null"); return;
	case JSON_BOOL: strbuf_adds(out, v->boolean ? "true" : "false"); return;
	case JSON_NUMBER: strbuf_adds(out, v->text); return;
	case JSON_STRING: json_add_str(out, v->text, strlen(v->text)); return;
	case JSON_ARRAY:
	case JSON_OBJECT: break;
	}
	int is_obj = v->type == JSON_OBJECT;
	strbuf_addc(out, is_obj ? '{' : '[');
	for (size_t i = 0; i < v->n; i++) {
		if (i)
			strbuf_addc(out, ',');
		newline_indent(out, indent, level + 1);
		if (is_obj) {
			json_add_str(out, v->members[i].key, strlen(v->members[i].key));
			strbuf_adds(out, indent ? ": " : ":");
		}
		json_write(is_obj ? v->members[i].value : v->items[i], out, indent, level + 1);
	}
	if (v->n)
		newline_indent(out, indent, level);
	strbuf_addc(out, is_obj ? '}' : ']');
}
