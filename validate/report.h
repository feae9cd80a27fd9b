/* validate/report.h: the results of `apkg test` and the ways they are shown.
 *
 * One result per artifact x target: passed, failed or skipped, with its
 * time, the reason for a failure or skip, the checks the probe reported, and
 * the console log. The writers turn the same data into the terminal summary
 * (one line per result), machine-readable JSON (--json and manifest.json's
 * "validation") and JUnit XML (--junit: one testcase per artifact x target x
 * check plus one for the boot itself; skips are real <skipped/>). The XML
 * writer escapes everything and drops what XML 1.0 cannot carry, so a
 * guest's console output can never make the file malformed.
 */
#ifndef APKG_VALIDATE_REPORT_H
#define APKG_VALIDATE_REPORT_H

#include <stddef.h>
#include <stdio.h>

struct strbuf;

enum result_status { RESULT_PASS, RESULT_FAIL, RESULT_SKIP };

struct check_result {
	char *name;   /* "tcp 80" */
	int ran;      /* 0: not reported by the probe (the boot failed first) */
	int ok;
	char *detail;
	long ms;
};

struct target_result {
	char *target;     /* "qemu-bios" */
	char *artifact;   /* the file booted, e.g. "hello-1.0.0.qcow2" ("" if none) */
	char *format;     /* its format ("qcow2", "vmdk from ova", ...) */
	char *note;       /* e.g. "no OVA built yet: booted the qcow2 image"; may be NULL */
	enum result_status status;
	char *reason;     /* why it failed or was skipped; NULL when passed */
	double seconds;   /* wall time of the boot */
	struct check_result *checks;
	size_t n_checks;
	char *console;    /* the serial console log (ANSI escapes removed); may be NULL */
	char *console_tail; /* its last lines, for failure messages; may be NULL */
};

struct report {
	char *appliance;  /* "hello-1.0.0" */
	struct target_result *results;
	size_t n;
};

/* Adds an empty result and returns it (fields owned by the report). */
struct target_result *report_add(struct report *r, const char *target, const char *artifact);
void report_add_check(struct target_result *t, const char *name, int ran, int ok, const char *detail, long ms);
void report_free(struct report *r);
const char *result_status_name(enum result_status s);
/* Counts results by status. */
void report_count(const struct report *r, size_t *passed, size_t *failed, size_t *skipped);

/* "PASS  hello-1.0.0.qcow2 @ qemu-bios  12.3 s  3/3 checks" and, for a
 * failure, the reason and the failed checks, indented. `appliance` names
 * a result that has no artifact (a skipped target). */
void report_print_result(FILE *f, const struct target_result *t, const char *appliance, int color);
void report_print_summary(FILE *f, const struct report *r, int color);
/* The results as a JSON array (console logs left out unless with_console). */
void report_json_results(const struct report *r, struct strbuf *out, int with_console, int indent, int level);
/* {"appliance":..,"passed":..,"failed":..,"skipped":..,"results":[..]} */
void report_json(const struct report *r, struct strbuf *out);
void report_junit(const struct report *r, struct strbuf *out);
/* Writes the JUnit XML to path (temp-then-rename). */
int report_write_junit(const struct report *r, const char *path);

#endif
