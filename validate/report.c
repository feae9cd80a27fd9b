/* validate/report.c: results of `apkg test` as terminal lines, JSON and
 * JUnit XML. See report.h. */
#include "validate/report.h"

#include "util/diag.h"
#include "util/io.h"
#include "util/json.h"
#include "util/strbuf.h"

#include <stdlib.h>
#include <string.h>

/* JUnit system-out is capped so a chatty guest cannot make the file huge. */
#define JUNIT_MAX_CONSOLE (2u << 20)

static char *dup_or_null(const char *s) { return s ? xstrdup(s) : NULL; }

struct target_result *report_add(struct report *r, const char *target, const char *artifact)
{
	r->results = xrealloc(r->results, (r->n + 1) * sizeof *r->results);
	struct target_result *t = &r->results[r->n++];
	memset(t, 0, sizeof *t);
	t->target = xstrdup(target);
	t->artifact = xstrdup(artifact ? artifact : "");
	t->format = xstrdup("");
	return t;
}

void report_add_check(struct target_result *t, const char *name, int ran, int ok, const char *detail, long ms)
{
	t->checks = xrealloc(t->checks, (t->n_checks + 1) * sizeof *t->checks);
	t->checks[t->n_checks++] = (struct check_result){
		.name = xstrdup(name), .ran = ran, .ok = ok, .detail = dup_or_null(detail), .ms = ms,
	};
}

void report_free(struct report *r)
{
	for (size_t i = 0; i < r->n; i++) {
		struct target_result *t = &r->results[i];
		for (size_t c = 0; c < t->n_checks; c++) {
			free(t->checks[c].name);
			free(t->checks[c].detail);
		}
		free(t->checks);
		free(t->target);
		free(t->artifact);
		free(t->format);
		free(t->note);
		free(t->reason);
		free(t->console);
		free(t->console_tail);
	}
	free(r->results);
	free(r->appliance);
	memset(r, 0, sizeof *r);
}

const char *result_status_name(enum result_status s)
{
	return s == RESULT_PASS ? "pass" : s == RESULT_FAIL ? "fail" : "skip";
}

void report_count(const struct report *r, size_t *passed, size_t *failed, size_t *skipped)
{
	*passed = *failed = *skipped = 0;
	for (size_t i = 0; i < r->n; i++) {
		enum result_status s = r->results[i].status;
		*(s == RESULT_PASS ? passed : s == RESULT_FAIL ? failed : skipped) += 1;
	}
}

static size_t checks_passed(const struct target_result *t)
{
	size_t n = 0;
	for (size_t i = 0; i < t->n_checks; i++)
		n += t->checks[i].ran && t->checks[i].ok;
	return n;
}

/* ---- terminal ---- */

void report_print_result(FILE *f, const struct target_result *t, const char *appliance, int color)
{
	static const char *const tags[] = {"PASS", "FAIL", "SKIP"};
	static const char *const colors[] = {"\033[32m", "\033[31m", "\033[33m"};
	fprintf(f, "%s%s%s  %s @ %s  %.1f s", color ? colors[t->status] : "", tags[t->status], color ? "\033[0m" : "",
		t->artifact[0] ? t->artifact : appliance, t->target, t->seconds);
	if (t->n_checks)
		fprintf(f, "  %zu/%zu checks", checks_passed(t), t->n_checks);
	if (t->status == RESULT_SKIP && t->reason)
		fprintf(f, "  (%s)", t->reason);
	fputc('\n', f);
	if (t->note)
		fprintf(f, "      note: %s\n", t->note);
	if (t->status != RESULT_FAIL)
		return;
	if (t->reason)
		fprintf(f, "      reason: %s\n", t->reason);
	for (size_t i = 0; i < t->n_checks; i++)
		if (t->checks[i].ran && !t->checks[i].ok)
			fprintf(f, "      failed check: %s: %s\n", t->checks[i].name, t->checks[i].detail ? t->checks[i].detail : "");
}

void report_print_summary(FILE *f, const struct report *r, int color)
{
	size_t p, fl, s;
	report_count(r, &p, &fl, &s);
	fprintf(f, "%s: %zu passed, %zu failed, %zu skipped\n", r->appliance ? r->appliance : "apkg test", p, fl, s);
	for (size_t i = 0; i < r->n; i++) {
		const struct target_result *t = &r->results[i];
		if (t->status == RESULT_FAIL && t->console_tail && *t->console_tail) {
			fprintf(f, "\n--- last console lines of %s @ %s ---\n%s", t->artifact, t->target, t->console_tail);
			if (t->console_tail[strlen(t->console_tail) - 1] != '\n')
				fputc('\n', f);
		}
	}
	(void)color;
}

/* ---- JSON ---- */

static void add_key_str(struct strbuf *out, const char *key, const char *val)
{
	strbuf_addf(out, "\"%s\":", key);
	if (val)
		json_add_str(out, val, strlen(val));
	else
		strbuf_adds(out, "null");
}

static void json_one_result(const struct target_result *t, struct strbuf *out, int with_console)
{
	strbuf_addc(out, '{');
	add_key_str(out, "target", t->target);
	strbuf_addc(out, ',');
	add_key_str(out, "artifact", t->artifact);
	strbuf_addc(out, ',');
	add_key_str(out, "format", t->format);
	strbuf_addc(out, ',');
	add_key_str(out, "status", result_status_name(t->status));
	strbuf_addf(out, ",\"seconds\":%.1f,", t->seconds);
	add_key_str(out, "reason", t->reason);
	strbuf_addc(out, ',');
	add_key_str(out, "note", t->note);
	strbuf_adds(out, ",\"checks\":[");
	for (size_t i = 0; i < t->n_checks; i++) {
		const struct check_result *c = &t->checks[i];
		strbuf_adds(out, i ? ",{" : "{");
		add_key_str(out, "check", c->name);
		strbuf_addf(out, ",\"ran\":%s,\"ok\":%s,", c->ran ? "true" : "false", c->ok ? "true" : "false");
		add_key_str(out, "detail", c->detail);
		strbuf_addf(out, ",\"ms\":%ld}", c->ms);
	}
	strbuf_addc(out, ']');
	if (with_console) {
		strbuf_addc(out, ',');
		add_key_str(out, "console", t->console);
	}
	strbuf_addc(out, '}');
}

void report_json_results(const struct report *r, struct strbuf *out, int with_console, int indent, int level)
{
	strbuf_addc(out, '[');
	for (size_t i = 0; i < r->n; i++) {
		if (i)
			strbuf_addc(out, ',');
		if (indent) {
			strbuf_addc(out, '\n');
			for (int s = 0; s < indent * (level + 1); s++)
				strbuf_addc(out, ' ');
		}
		json_one_result(&r->results[i], out, with_console);
	}
	if (indent && r->n) {
		strbuf_addc(out, '\n');
		for (int s = 0; s < indent * level; s++)
			strbuf_addc(out, ' ');
	}
	strbuf_addc(out, ']');
}

void report_json(const struct report *r, struct strbuf *out)
{
	size_t p, f, s;
	report_count(r, &p, &f, &s);
	strbuf_addc(out, '{');
	add_key_str(out, "appliance", r->appliance);
	strbuf_addf(out, ",\"passed\":%zu,\"failed\":%zu,\"skipped\":%zu,\"results\":", p, f, s);
	report_json_results(r, out, 1, 0, 0);
	strbuf_adds(out, "}\n");
}

/* ---- JUnit XML ---- */

/* Escapes for XML text and attributes. Characters XML 1.0 cannot carry
 * (controls other than tab/newline, invalid UTF-8) become '?'. */
static void xml_escape(struct strbuf *out, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < len;) {
		unsigned c = u[i];
		switch (c) {
		case '&': strbuf_adds(out, "&amp;"); break;
		case '<': strbuf_adds(out, "&lt;"); break;
		case '>': strbuf_adds(out, "&gt;"); break;
		case '"': strbuf_adds(out, "&quot;"); break;
		case '\n': strbuf_adds(out, "&#10;"); break;
		case '\t': strbuf_adds(out, "&#9;"); break;
		default:
			if (c < 0x20 || c == 0x7f) {
				strbuf_addc(out, '?');
			} else if (c < 0x80) {
				strbuf_addc(out, (char)c);
			} else {
				size_t n = utf8_sequence_length(u + i, len - i);
				if (!n) {
					strbuf_addc(out, '?');
					break;
				}
				/* U+FFFE and U+FFFF are not XML characters either */
				if (n == 3 && c == 0xef && u[i + 1] == 0xbf && u[i + 2] >= 0xbe)
					strbuf_addc(out, '?');
				else
					strbuf_add(out, s + i, n);
				i += n;
				continue;
			}
		}
		i++;
	}
}

static void xml_attr(struct strbuf *out, const char *name, const char *val)
{
	strbuf_addf(out, " %s=\"", name);
	xml_escape(out, val ? val : "", val ? strlen(val) : 0);
	strbuf_addc(out, '"');
}

static void xml_text_element(struct strbuf *out, const char *indent, const char *tag, const char *text, size_t cap)
{
	size_t len = strlen(text);
	strbuf_addf(out, "%s<%s>", indent, tag);
	if (len > cap) { /* keep the end: that is where a failure shows */
		strbuf_addf(out, "[... %zu bytes cut ...]&#10;", len - cap);
		text += len - cap;
		len = cap;
	}
	xml_escape(out, text, len);
	strbuf_addf(out, "</%s>\n", tag);
}

static size_t junit_failures(const struct target_result *t)
{
	size_t n = t->status == RESULT_FAIL;
	for (size_t i = 0; i < t->n_checks; i++)
		n += t->checks[i].ran && !t->checks[i].ok;
	return n;
}

static size_t junit_skips(const struct target_result *t)
{
	size_t n = t->status == RESULT_SKIP;
	for (size_t i = 0; i < t->n_checks; i++)
		n += !t->checks[i].ran;
	return n;
}

static void junit_boot_case(struct strbuf *out, const struct target_result *t, const char *classname)
{
	strbuf_adds(out, "    <testcase");
	xml_attr(out, "classname", classname);
	xml_attr(out, "name", "boot");
	strbuf_addf(out, " time=\"%.3f\">\n", t->seconds);
	if (t->status != RESULT_PASS) {
		const char *tag = t->status == RESULT_SKIP ? "skipped" : "failure";
		strbuf_addf(out, "      <%s", tag);
		xml_attr(out, "message", t->reason ? t->reason : "");
		if (t->status == RESULT_SKIP || !t->console_tail) {
			strbuf_adds(out, "/>\n");
		} else {
			xml_attr(out, "type", "boot");
			strbuf_adds(out, ">");
			xml_escape(out, t->console_tail, strlen(t->console_tail));
			strbuf_addf(out, "</%s>\n", tag);
		}
	}
	if (t->console)
		xml_text_element(out, "      ", "system-out", t->console, JUNIT_MAX_CONSOLE);
	strbuf_adds(out, "    </testcase>\n");
}

static void junit_check_case(struct strbuf *out, const struct check_result *c, const char *classname,
			     const struct target_result *t)
{
	char *name = xasprintf("check: %s", c->name);
	strbuf_adds(out, "    <testcase");
	xml_attr(out, "classname", classname);
	xml_attr(out, "name", name);
	strbuf_addf(out, " time=\"%.3f\">\n", c->ms / 1000.0);
	if (!c->ran) {
		char *why = xasprintf("not run: %s", t->reason ? t->reason : "the probe did not report it");
		strbuf_adds(out, "      <skipped");
		xml_attr(out, "message", why);
		strbuf_adds(out, "/>\n");
		free(why);
	} else if (!c->ok) {
		strbuf_adds(out, "      <failure");
		xml_attr(out, "message", c->detail);
		xml_attr(out, "type", "check");
		strbuf_adds(out, "/>\n");
	}
	if (c->detail && c->ran)
		xml_text_element(out, "      ", "system-out", c->detail, JUNIT_MAX_CONSOLE);
	strbuf_adds(out, "    </testcase>\n");
	free(name);
}

static void junit_suite(struct strbuf *out, const struct target_result *t, const char *appliance)
{
	char *suite = xasprintf("%s@%s", t->artifact[0] ? t->artifact : appliance, t->target);
	strbuf_adds(out, "  <testsuite");
	xml_attr(out, "name", suite);
	strbuf_addf(out, " tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\" time=\"%.3f\">\n",
		    t->n_checks + 1, junit_failures(t), junit_skips(t), t->seconds);
	strbuf_adds(out, "    <properties>\n");
	const char *props[][2] = {{"target", t->target}, {"artifact", t->artifact}, {"format", t->format},
				  {"note", t->note}};
	for (size_t i = 0; i < 4; i++) {
		if (!props[i][1])
			continue;
		strbuf_adds(out, "      <property");
		xml_attr(out, "name", props[i][0]);
		xml_attr(out, "value", props[i][1]);
		strbuf_adds(out, "/>\n");
	}
	strbuf_adds(out, "    </properties>\n");
	junit_boot_case(out, t, suite);
	for (size_t i = 0; i < t->n_checks; i++)
		junit_check_case(out, &t->checks[i], suite, t);
	strbuf_adds(out, "  </testsuite>\n");
	free(suite);
}

void report_junit(const struct report *r, struct strbuf *out)
{
	size_t tests = 0, failures = 0;
	double time = 0;
	for (size_t i = 0; i < r->n; i++) {
		tests += r->results[i].n_checks + 1;
		failures += junit_failures(&r->results[i]);
		time += r->results[i].seconds;
	}
	char *name = xasprintf("apkg test %s", r->appliance ? r->appliance : "");
	strbuf_adds(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites");
	xml_attr(out, "name", name);
	strbuf_addf(out, " tests=\"%zu\" failures=\"%zu\" errors=\"0\" time=\"%.3f\">\n", tests, failures, time);
	for (size_t i = 0; i < r->n; i++)
		junit_suite(out, &r->results[i], r->appliance ? r->appliance : "appliance");
	strbuf_adds(out, "</testsuites>\n");
	free(name);
}

int report_write_junit(const struct report *r, const char *path)
{
	struct strbuf xml = STRBUF_INIT;
	report_junit(r, &xml);
	int ret = write_file_atomic(path, xml.buf, xml.len, 0644);
	strbuf_release(&xml);
	return ret;
}
