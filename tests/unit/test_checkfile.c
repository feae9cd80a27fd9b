/* tests/unit/test_checkfile.c: the probe's checks file: round trips through
 * encode/parse, percent-encoding, labels and every kind of rejected input. */
#include "tests/unit/test.h"
#include "validate/probe/checkfile.h"

#include <stdlib.h>

static void test_round_trip(void)
{
	struct probe_check items[] = {
		{.kind = PROBE_SERVICE, .target = "nginx", .timeout_s = 5},
		{.kind = PROBE_TCP, .port = 80, .timeout_s = 3},
		{.kind = PROBE_HTTP, .target = "http://127.0.0.1:8080/index.html", .status = 404,
		 .contains = "100% not\tfound\n", .timeout_s = 10},
		{.kind = PROBE_COMMAND, .target = "test -s /etc/motd && echo 'ok %d'", .timeout_s = 5},
		{.kind = PROBE_FILE, .target = "/etc/with space", .timeout_s = 1},
	};
	struct probe_checks in = {.deadline_s = 300, .items = items, .n = 5}, out;
	char *text = checkfile_encode(&in);
	CHECK(text != NULL);
	if (!text)
		return;
	CHECK(strstr(text, "apkg-checks 1\n") == text);
	CHECK(strstr(text, "\ndeadline 300\n") != NULL);
	CHECK(strstr(text, "\ntcp timeout=3 port=80\n") != NULL);
	CHECK(strstr(text, " contains=100%25%20not%09found%0A\n") != NULL);
	CHECK(strstr(text, "\nfile timeout=1 path=/etc/with%20space\n") != NULL);
	char err[200] = "";
	CHECK(checkfile_parse(text, strlen(text), &out, err, sizeof err) == 0);
	CHECK_STR(err, "");
	CHECK(out.n == 5 && out.deadline_s == 300);
	for (size_t i = 0; i < out.n && i < 5; i++) {
		CHECK(out.items[i].kind == items[i].kind);
		CHECK(out.items[i].timeout_s == items[i].timeout_s);
		if (items[i].target)
			CHECK_STR(out.items[i].target, items[i].target);
	}
	if (out.n == 5) {
		CHECK(out.items[1].port == 80 && out.items[1].target == NULL);
		CHECK(out.items[2].status == 404);
		CHECK_STR(out.items[2].contains, "100% not\tfound\n");
	}
	checkfile_free(&out);
	free(text);
}

static void test_defaults_and_labels(void)
{
	const char *s = "# leading comment\n\napkg-checks 1\nhttp url=http://localhost/\ntcp port=22\n"
			"command run=echo%0Ahi\n";
	struct probe_checks c;
	char err[200], label[64];
	CHECK(checkfile_parse(s, strlen(s), &c, err, sizeof err) == 0);
	CHECK(c.n == 3 && c.deadline_s == CHECKFILE_DEFAULT_DEADLINE);
	if (c.n == 3) {
		CHECK(c.items[0].status == 200 && c.items[0].timeout_s == CHECKFILE_DEFAULT_TIMEOUT);
		CHECK(c.items[0].contains == NULL);
		checkfile_label(&c.items[0], label, sizeof label);
		CHECK_STR(label, "http http://localhost/");
		checkfile_label(&c.items[1], label, sizeof label);
		CHECK_STR(label, "tcp 22");
		checkfile_label(&c.items[2], label, sizeof label);
		CHECK_STR(label, "command echo hi"); /* one line */
		checkfile_label(&c.items[2], label, 6);
		CHECK_STR(label, "comma");
	}
	checkfile_free(&c);
}

static void expect_reject(const char *s, size_t len, const char *why)
{
	struct probe_checks c;
	char err[200] = "";
	int r = checkfile_parse(s, len, &c, err, sizeof err);
	CHECK(r < 0);
	if (r == 0)
		checkfile_free(&c);
	if (!strstr(err, why)) {
		fprintf(stderr, "expected \"%s\" in \"%s\"\n", why, err);
		test_failures++;
	}
}
#define REJECT(s, why) expect_reject(s, sizeof(s) - 1, why)

static void test_rejects(void)
{
	REJECT("", "empty checks file");
	REJECT("apkg-checks 2\n", "line 1: not an apkg checks file");
	REJECT("apkg-checks 1\nping host=x\n", "line 2: unknown check kind 'ping'");
	REJECT("apkg-checks 1\ntcp port=0\n", "port must be 1..65535");
	REJECT("apkg-checks 1\ntcp port=65536\n", "port must be 1..65535");
	REJECT("apkg-checks 1\ntcp port=8x\n", "port must be");
	REJECT("apkg-checks 1\ntcp\n", "a tcp check needs 'port='");
	REJECT("apkg-checks 1\nservice timeout=5\n", "a service check needs 'name='");
	REJECT("apkg-checks 1\nhttp url=x status=600\n", "status must be 100..599");
	REJECT("apkg-checks 1\nfile path=/a timeout=0\n", "timeout must be 1..3600");
	REJECT("apkg-checks 1\nfile path=/a port=1\n", "unknown key 'port' for a file check");
	REJECT("apkg-checks 1\nfile path=/a path=/b\n", "given twice");
	REJECT("apkg-checks 1\nfile path=/a%2\n", "bad %-encoding");
	REJECT("apkg-checks 1\nfile path=%00\n", "bad %-encoding");
	REJECT("apkg-checks 1\nfile path=\n", "empty 'path'");
	REJECT("apkg-checks 1\nfile /etc/motd\n", "expected key=value");
	REJECT("apkg-checks 1\ndeadline 0\n", "deadline must be");
	REJECT("apkg-checks 1\nfile path=/a\0\n", "line 2: NUL byte");
}

static void test_too_many(void)
{
	size_t cap = 64 + (CHECKFILE_MAX_CHECKS + 1) * 16;
	char *s = malloc(cap);
	size_t n = (size_t)sprintf(s, "apkg-checks 1\n");
	for (int i = 0; i <= CHECKFILE_MAX_CHECKS; i++)
		n += (size_t)sprintf(s + n, "tcp port=%d\n", i + 1);
	expect_reject(s, n, "more than 256 checks");
	free(s);
}

static void test_encode_refuses_incomplete(void)
{
	struct probe_check bad = {.kind = PROBE_FILE, .target = NULL, .timeout_s = 5};
	struct probe_checks c = {.deadline_s = 10, .items = &bad, .n = 1};
	CHECK(checkfile_encode(&c) == NULL);
}

int main(void)
{
	RUN(test_round_trip);
	RUN(test_defaults_and_labels);
	RUN(test_rejects);
	RUN(test_too_many);
	RUN(test_encode_refuses_incomplete);
	TEST_MAIN_END();
}
