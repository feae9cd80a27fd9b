/* tests/unit/test_report.c: the JUnit and JSON writers: counts, skips as
 * <skipped/>, failures with messages, escaping of hostile console text, and
 * JSON that parses back to the same results. (xmllint checks the XML
 * against tests/data/junit.xsd in the integration tests.) */
#include "tests/unit/test.h"
#include "util/json.h"
#include "util/strbuf.h"
#include "validate/report.h"

#include <stdlib.h>

static void make_report(struct report *r)
{
	memset(r, 0, sizeof *r);
	r->appliance = xstrdup("web-1.0.0");
	struct target_result *t = report_add(r, "qemu-bios", "web-1.0.0.qcow2");
	t->status = RESULT_PASS;
	t->seconds = 12.25;
	free(t->format);
	t->format = xstrdup("qcow2");
	t->console = xstrdup("SeaBIOS\nAPKG-RESULT {\"passed\":1,\"failed\":0}\n");
	report_add_check(t, "tcp 80", 1, 1, "port 80 accepts connections", 12);

	t = report_add(r, "vmware", "web-1.0.0.raw");
	t->status = RESULT_FAIL;
	t->reason = xstrdup("1 of 2 checks failed: http http://127.0.0.1/");
	t->note = xstrdup("no OVA or VMDK was built: booted the raw image");
	t->seconds = 30;
	/* hostile console: markup, a CDATA terminator, controls, invalid UTF-8, U+FFFF */
	t->console = xstrdup("<b>&\"]]>\x01\x1b ok \xc3\xa9 bad \xff\xfe end \xef\xbf\xbf.\n");
	t->console_tail = xstrdup("last line <x>\n");
	report_add_check(t, "tcp 80", 1, 1, "ok", 5);
	report_add_check(t, "http http://127.0.0.1/", 1, 0, "status 404 (expected 200)", 90000);

	t = report_add(r, "vmm", "");
	t->status = RESULT_SKIP;
	t->reason = xstrdup("micro-VMM not built yet");
	report_add_check(t, "tcp 80", 0, 0, NULL, 0);
}

static void test_junit(void)
{
	struct report r;
	make_report(&r);
	struct strbuf x = STRBUF_INIT;
	report_junit(&r, &x);
	const char *s = x.buf;
	CHECK(strstr(s, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"apkg test web-1.0.0\" "
			"tests=\"7\" failures=\"2\" errors=\"0\" time=\"42.250\">") == s);
	CHECK(strstr(s, "<testsuite name=\"web-1.0.0.qcow2@qemu-bios\" tests=\"2\" failures=\"0\" errors=\"0\" "
			"skipped=\"0\" time=\"12.250\">"));
	CHECK(strstr(s, "<testsuite name=\"web-1.0.0.raw@vmware\" tests=\"3\" failures=\"2\" errors=\"0\" skipped=\"0\""));
	CHECK(strstr(s, "<testsuite name=\"web-1.0.0@vmm\" tests=\"2\" failures=\"0\" errors=\"0\" skipped=\"2\""));
	CHECK(strstr(s, "<testcase classname=\"web-1.0.0@vmm\" name=\"boot\" time=\"0.000\">\n"
			"      <skipped message=\"micro-VMM not built yet\"/>"));
	CHECK(strstr(s, "name=\"check: tcp 80\" time=\"0.000\">\n      <skipped message=\"not run: micro-VMM not built yet\"/>"));
	CHECK(strstr(s, "<failure message=\"1 of 2 checks failed: http http://127.0.0.1/\" type=\"boot\">last line "
			"&lt;x&gt;&#10;</failure>"));
	CHECK(strstr(s, "name=\"check: http http://127.0.0.1/\" time=\"90.000\">\n      <failure message=\"status 404 "
			"(expected 200)\" type=\"check\"/>"));
	CHECK(strstr(s, "<property name=\"note\" value=\"no OVA or VMDK was built: booted the raw image\"/>"));
	CHECK(strstr(s, "<system-out>&lt;b&gt;&amp;&quot;]]&gt;?? ok \xc3\xa9 bad ?? end ?.&#10;</system-out>"));
	/* nothing XML 1.0 cannot carry */
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		CHECK(*p >= 0x20 || *p == '\n');
	strbuf_release(&x);
	report_free(&r);
}

static void test_json(void)
{
	struct report r;
	make_report(&r);
	struct strbuf j = STRBUF_INIT;
	report_json(&r, &j);
	struct json_error err;
	struct json_value *v = json_parse(j.buf, j.len, &err);
	CHECK(v != NULL);
	uint64_t n;
	CHECK(json_get_u64(v, "passed", &n) == 0 && n == 1);
	CHECK(json_get_u64(v, "failed", &n) == 0 && n == 1);
	CHECK(json_get_u64(v, "skipped", &n) == 0 && n == 1);
	const struct json_value *res = json_get_array(v, "results");
	CHECK(res && res->n == 3);
	if (res && res->n == 3) {
		CHECK_STR(json_get_str(res->items[1], "status"), "fail");
		CHECK_STR(json_get_str(res->items[1], "note"), "no OVA or VMDK was built: booted the raw image");
		CHECK(strstr(json_get_str(res->items[1], "console"), "bad \xef\xbf\xbd\xef\xbf\xbd end") != NULL);
		const struct json_value *checks = json_get_array(res->items[1], "checks");
		CHECK(checks && checks->n == 2 && !json_get_bool(checks->items[1], "ok", 1));
		CHECK(json_get_bool(json_get_array(res->items[2], "checks")->items[0], "ran", 1) == 0);
		CHECK(json_get(res->items[0], "reason")->type == JSON_NULL);
	}
	json_free(v);
	strbuf_reset(&j);
	report_json_results(&r, &j, 0, 2, 1); /* manifest form: no console */
	v = json_parse(j.buf, j.len, &err);
	CHECK(v && v->type == JSON_ARRAY && v->n == 3 && !json_get(v->items[0], "console"));
	CHECK(strstr(j.buf, "[\n    {\"target\":\"qemu-bios\"") == j.buf);
	json_free(v);
	strbuf_release(&j);
	report_free(&r);
}

static void test_text(void)
{
	struct report r;
	make_report(&r);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	for (size_t i = 0; i < r.n; i++)
		report_print_result(f, &r.results[i], r.appliance, 0);
	report_print_summary(f, &r, 0);
	fclose(f);
	CHECK(strstr(buf, "PASS  web-1.0.0.qcow2 @ qemu-bios  12.2 s  1/1 checks\n") ||
	      strstr(buf, "PASS  web-1.0.0.qcow2 @ qemu-bios  12.3 s  1/1 checks\n"));
	CHECK(strstr(buf, "FAIL  web-1.0.0.raw @ vmware  30.0 s  1/2 checks\n      note: no OVA or VMDK was built: "
			  "booted the raw image\n      reason: 1 of 2 checks failed: http http://127.0.0.1/\n"
			  "      failed check: http http://127.0.0.1/: status 404 (expected 200)\n"));
	CHECK(strstr(buf, "SKIP  web-1.0.0 @ vmm  0.0 s  0/1 checks  (micro-VMM not built yet)\n"));
	CHECK(strstr(buf, "web-1.0.0: 1 passed, 1 failed, 1 skipped\n"));
	CHECK(strstr(buf, "--- last console lines of web-1.0.0.raw @ vmware ---\nlast line <x>\n"));
	free(buf);
	report_free(&r);
}

int main(void)
{
	RUN(test_junit);
	RUN(test_json);
	RUN(test_text);
	TEST_MAIN_END();
}
