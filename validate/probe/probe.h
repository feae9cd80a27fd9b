/* validate/probe/probe.h: the in-guest probe's internal interface.
 *
 * apkg-probe is a static program that runs inside a booted appliance when
 * `apkg test` asked for it. Each check kind is one function that makes a
 * single attempt, bounded by the check's timeout, and describes what it saw
 * in `detail` (one line, truncated to fit). The main loop (probe.c) retries
 * the failing ones until the overall deadline.
 */
#ifndef APKG_VALIDATE_PROBE_PROBE_H
#define APKG_VALIDATE_PROBE_PROBE_H

#include "validate/probe/checkfile.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROBE_DETAIL_MAX 400

/* One attempt at a check. Returns 1 if it passed, 0 if not; detail is
 * always filled. timeout_s bounds the attempt. */
int probe_check_tcp(const struct probe_check *c, int timeout_s, char *detail, size_t size);
int probe_check_http(const struct probe_check *c, int timeout_s, char *detail, size_t size);
int probe_check_service(const struct probe_check *c, int timeout_s, char *detail, size_t size);
int probe_check_command(const struct probe_check *c, int timeout_s, char *detail, size_t size);
int probe_check_file(const struct probe_check *c, int timeout_s, char *detail, size_t size);

/* Runs argv (no shell) in its own process group with stdin from /dev/null,
 * capturing stdout+stderr into out (truncated, NUL-terminated; "[...]" marks
 * a cut). Returns the exit status 0..255, 256+signal if it was killed, or -1
 * if it timed out (its process group is killed) or could not start (out
 * says why). */
int probe_run(const char *const argv[], int timeout_s, char *out, size_t size);

/* Reads up to size-1 bytes of a small file (procfs, flags) and
 * NUL-terminates them. Returns the length, or -1 if it cannot be opened. */
ssize_t probe_read_file(const char *path, char *buf, size_t size);

/* Milliseconds on the monotonic clock. */
int64_t probe_now_ms(void);

#endif
