/* tests/unit/test_json.c: util/json.c: values, errors with positions, limits,
 * UTF-8 handling, 64-bit integers, byte ranges and the writer. */
#include "tests/unit/test.h"
#include "util/json.h"
#include "util/strbuf.h"

#include <stdint.h>
#include <stdlib.h>

static struct json_value *parse(const char *s, struct json_error *err)
{
	return json_parse(s, strlen(s), err);
}

static void test_manifest_shape(void)
{
	const char *s = "{\"name\":\"hello\",\"size\":18446744073709551615,\"neg\":-1,\"frac\":1.5,"
			"\"kernel\":{\"drivers\":{\"ahci\":\"missing\"}},\"ok\":true,\"list\":[1,2,3],\"nil\":null}";
	struct json_error err;
	struct json_value *v = parse(s, &err);
	CHECK(v != NULL);
	if (!v)
		return;
	CHECK_STR(json_get_str(v, "name"), "hello");
	uint64_t u = 0;
	CHECK(json_get_u64(v, "size", &u) == 0 && u == UINT64_MAX);
	CHECK(json_get_u64(v, "neg", &u) < 0);
	CHECK(json_get_u64(v, "frac", &u) < 0);
	CHECK(json_get_u64(v, "missing", &u) < 0);
	CHECK(json_get_u64(v, "name", &u) < 0);
	CHECK_STR(json_get_str(json_get_object(json_get_object(v, "kernel"), "drivers"), "ahci"), "missing");
	CHECK(json_get_bool(v, "ok", 0) == 1);
	CHECK(json_get_bool(v, "name", 7) == 7);
	const struct json_value *list = json_get_array(v, "list");
	CHECK(list && list->n == 3 && list->items[2]->number == 3);
	CHECK(json_get(v, "nil") && json_get(v, "nil")->type == JSON_NULL);
	CHECK(json_get_str(v, "nil") == NULL);
	json_free(v);
}

static void test_u64_overflow(void)
{
	struct json_value *v = parse("18446744073709551616", NULL);
	uint64_t u;
	CHECK(v && json_u64(v, &u) < 0);
	json_free(v);
}

static void test_byte_ranges(void)
{
	const char *s = "{ \"a\": [1, 2],\n  \"validation\": [ {\"x\": 1} ] }";
	struct json_value *v = parse(s, NULL);
	CHECK(v != NULL);
	if (!v)
		return;
	const struct json_value *val = json_get(v, "validation");
	CHECK(val && strncmp(s + val->start, "[ {\"x\": 1} ]", val->end - val->start) == 0);
	CHECK(v->start == 0 && v->end == strlen(s));
	json_free(v);
}

static void expect_error(const char *s, const char *msg, int line, int col)
{
	struct json_error err = {0};
	struct json_value *v = parse(s, &err);
	CHECK(v == NULL);
	json_free(v);
	if (!strstr(err.message, msg)) {
		fprintf(stderr, "input %s: expected error containing \"%s\", got \"%s\"\n", s, msg, err.message);
		test_failures++;
	}
	if (line && (err.line != line || err.col != col)) {
		fprintf(stderr, "input %s: expected position %d:%d, got %d:%d\n", s, line, col, err.line, err.col);
		test_failures++;
	}
}

static void test_errors(void)
{
	expect_error("{\"a\" 1}", "expected ':' after an object key, found '1'", 1, 6);
	expect_error("{\n  \"a\": 1,\n}", "expected a string key in an object, found '}'", 3, 1);
	expect_error("[1 2]", "expected ',' or ']' in an array, found '2'", 1, 4);
	expect_error("\"abc", "unterminated string", 0, 0);
	expect_error("", "expected a value, found end of input", 1, 1);
	expect_error("tru", "invalid literal", 0, 0);
	expect_error("01", "unexpected '1' after the value", 1, 2);
	expect_error("1.", "expected a digit after '.'", 0, 0);
	expect_error("1e999", "number out of range", 0, 0);
	expect_error("\"\\u0000\"", "\\u0000", 0, 0);
	expect_error("\"\\ud800\"", "high surrogate", 0, 0);
	expect_error("\"\\udc00\"", "unpaired low surrogate", 0, 0);
	expect_error("\"\xc0\xaf\"", "invalid UTF-8", 0, 0);
	expect_error("\"\xed\xa0\x80\"", "invalid UTF-8", 0, 0); /* encoded surrogate */
	expect_error("\"a\tb\"", "control character 0x09", 0, 0);
	expect_error("\"\\x\"", "invalid escape", 0, 0);
	expect_error("{} {}", "after the value", 0, 0);
}

static void test_depth_limit(void)
{
	struct strbuf sb = STRBUF_INIT;
	for (int i = 0; i < JSON_MAX_DEPTH; i++)
		strbuf_addc(&sb, '[');
	for (int i = 0; i < JSON_MAX_DEPTH; i++)
		strbuf_addc(&sb, ']');
	struct json_value *v = parse(sb.buf, NULL);
	CHECK(v != NULL); /* exactly at the limit */
	json_free(v);
	strbuf_reset(&sb);
	for (int i = 0; i < 100000; i++)
		strbuf_addc(&sb, '[');
	expect_error(sb.buf, "nesting deeper than 64 levels", 0, 0);
	strbuf_release(&sb);
}

static void test_strings(void)
{
	struct json_value *v = parse("\"\\u00e9\\ud83d\\ude00 \\\"q\\\" \\/ \xe2\x82\xac\"", NULL);
	CHECK(v && v->type == JSON_STRING);
	if (v)
		CHECK_STR(v->text, "\xc3\xa9\xf0\x9f\x98\x80 \"q\" / \xe2\x82\xac");
	json_free(v);
}

static void test_prefix(void)
{
	const char *line = "APKG-CHECK {\"check\":\"tcp 80\",\"ok\":true} trailing noise";
	size_t used = 0;
	const char *start = strchr(line, '{');
	struct json_value *v = json_parse_prefix(start, strlen(start), &used, NULL);
	CHECK(v && json_get_bool(v, "ok", 0));
	CHECK(used == strlen("{\"check\":\"tcp 80\",\"ok\":true}"));
	json_free(v);
	/* a truncated line fails cleanly */
	v = json_parse_prefix(start, 10, &used, NULL);
	CHECK(v == NULL);
}

static void test_writer(void)
{
	const char *s = "{\"b\":[1,2.5e3,{}],\"a\":{\"x\":\"\\n\\u0001\"},\"e\":[]}";
	struct json_value *v = parse(s, NULL);
	struct strbuf out = STRBUF_INIT;
	json_write(v, &out, 0, 0);
	CHECK_STR(out.buf, s);
	strbuf_reset(&out);
	json_write(v, &out, 2, 0);
	CHECK_STR(out.buf, "{\n  \"b\": [\n    1,\n    2.5e3,\n    {}\n  ],\n  \"a\": {\n    \"x\": \"\\n\\u0001\"\n  },\n  \"e\": []\n}");
	json_free(v);
	strbuf_reset(&out);
	json_add_str(&out, "ok\xff\xc3\xa9", 5);
	CHECK_STR(out.buf, "\"ok\\ufffd\xc3\xa9\"");
	strbuf_release(&out);
}

int main(void)
{
	RUN(test_manifest_shape);
	RUN(test_u64_overflow);
	RUN(test_byte_ranges);
	RUN(test_errors);
	RUN(test_depth_limit);
	RUN(test_strings);
	RUN(test_prefix);
	RUN(test_writer);
	TEST_MAIN_END();
}
