/* validate/probe/checkfile.h: the checks file that `apkg build` writes into
 * an image (/usr/lib/apkg/checks) and that apkg-probe reads at boot.
 *
 * One definition of the format for both sides: this module is compiled into
 * the static probe and into libapkg, and depends on nothing but libc. The
 * format is line-based text, readable with `cat` inside the guest:
 *
 *   apkg-checks 1
 *   deadline 120
 *   service timeout=5 name=nginx
 *   tcp timeout=5 port=80
 *   http timeout=5 status=200 url=http://127.0.0.1/ contains=Welcome%20to
 *   command timeout=5 run=test%20-s%20/etc/motd
 *   file timeout=5 path=/etc/motd
 *
 * Values are percent-encoded: '%', bytes up to 0x20 and 0x7f are written as
 * %XX. Blank lines and lines starting with '#' are ignored. Unknown kinds or
 * keys, missing required keys, out-of-range numbers and decoded NUL bytes
 * are errors, so a file that parses means exactly what the recipe said.
 */
#ifndef APKG_VALIDATE_PROBE_CHECKFILE_H
#define APKG_VALIDATE_PROBE_CHECKFILE_H

#include <stddef.h>

#define CHECKFILE_PATH "/usr/lib/apkg/checks"
#define CHECKFILE_MAX_SIZE (1 << 20)
#define CHECKFILE_MAX_CHECKS 256
#define CHECKFILE_DEFAULT_TIMEOUT 5
#define CHECKFILE_DEFAULT_DEADLINE 120

enum probe_kind { PROBE_SERVICE, PROBE_TCP, PROBE_HTTP, PROBE_COMMAND, PROBE_FILE };

struct probe_check {
	enum probe_kind kind;
	char *target;   /* service name, URL, command or path; NULL for tcp */
	int port;       /* tcp */
	int status;     /* http: the expected status */
	char *contains; /* http: an optional substring of the body */
	int timeout_s;  /* per attempt */
};

struct probe_checks {
	int deadline_s; /* the boot deadline the checks were built for */
	struct probe_check *items;
	size_t n;
};

/* Parses data[0..len). On error returns -1 with "line N: why" in err. */
int checkfile_parse(const char *data, size_t len, struct probe_checks *out, char *err, size_t errlen);
void checkfile_free(struct probe_checks *c);
/* Returns the file's text (malloc'd, NUL-terminated), or NULL when out of
 * memory or when a check is incomplete (a kind without its target). */
char *checkfile_encode(const struct probe_checks *c);
/* The name a check is reported under, e.g. "tcp 80" or "http http://127.0.0.1/";
 * the probe prints it and the host matches on it. Truncated to size-1 bytes. */
void checkfile_label(const struct probe_check *c, char *buf, size_t size);
const char *probe_kind_name(enum probe_kind k);

#endif
