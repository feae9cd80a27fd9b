/* util/json.h: a small JSON (RFC 8259) DOM parser and writer.
 *
 * Used for manifest.json, the probe's console lines and publish indexes, all
 * of which may come from a hostile place (a guest's serial console, a
 * downloaded mirror). Promises: every read is bounds-checked against the
 * given length (no NUL terminator needed); nesting deeper than
 * JSON_MAX_DEPTH is refused; strings must be valid UTF-8 and may not contain
 * NUL (\u0000 is refused), so every string is a plain C string; numbers keep
 * their source text, so 64-bit sizes survive a round trip. Errors say what was
 * expected and where ("line 3, column 7: expected ':' after an object key").
 * Each value remembers its byte range in the input, so a caller can splice a
 * replacement into the original text without reformatting the rest.
 * Duplicate object keys are kept; lookups return the first.
 */
#ifndef APKG_UTIL_JSON_H
#define APKG_UTIL_JSON_H

#include <stddef.h>
#include <stdint.h>

struct strbuf;

#define JSON_MAX_DEPTH 64

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json_member;

struct json_value {
	enum json_type type;
	size_t start, end;             /* byte range of this value in the input */
	int boolean;                   /* JSON_BOOL */
	double number;                 /* JSON_NUMBER, as a double */
	char *text;                    /* JSON_NUMBER: source text; JSON_STRING: decoded UTF-8 */
	struct json_value **items;     /* JSON_ARRAY */
	struct json_member *members;   /* JSON_OBJECT, in input order */
	size_t n;                      /* number of items or members */
};

struct json_member {
	char *key;
	struct json_value *value;
};

struct json_error {
	char message[160];
	size_t offset;
	int line, col; /* 1-based */
};

/* Parses exactly one value (surrounded by optional whitespace) from
 * data[0..len). Returns NULL and fills *err (which may be NULL) on error. */
struct json_value *json_parse(const char *data, size_t len, struct json_error *err);
/* Parses one value at the start of data and stops after it; *used gets the
 * number of bytes consumed (leading whitespace included). For values embedded
 * in a longer line, such as the probe's "APKG-CHECK {...}". */
struct json_value *json_parse_prefix(const char *data, size_t len, size_t *used, struct json_error *err);
void json_free(struct json_value *v);

/* Object member lookup (first match); NULL if v is not an object or lacks key. */
const struct json_value *json_get(const struct json_value *v, const char *key);
/* Typed lookups: NULL / default when missing or of another type. */
const char *json_get_str(const struct json_value *v, const char *key);
const struct json_value *json_get_array(const struct json_value *v, const char *key);
const struct json_value *json_get_object(const struct json_value *v, const char *key);
int json_get_bool(const struct json_value *v, const char *key, int dflt);
/* A non-negative integer member that fits in uint64_t. Returns 0 on success,
 * -1 when missing, of another type, fractional, negative or too large. */
int json_get_u64(const struct json_value *v, const char *key, uint64_t *out);
/* The same for a value itself. */
int json_u64(const struct json_value *v, uint64_t *out);

/* Writes v as JSON. indent 0: compact; otherwise pretty, with `indent`
 * spaces per level, starting at level `level`. */
void json_write(const struct json_value *v, struct strbuf *out, int indent, int level);
/* Length of the valid UTF-8 sequence at s[0..avail), or 0 if it is invalid
 * (overlong forms, surrogates and code points above U+10FFFF included). */
size_t utf8_sequence_length(const unsigned char *s, size_t avail);
/* Appends a JSON string literal for s[0..len), escaping controls; bytes that
 * are not valid UTF-8 are written as U+FFFD so the output always parses. */
void json_add_str(struct strbuf *out, const char *s, size_t len);

#endif
