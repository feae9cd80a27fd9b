/* util/run.h: run host tools (mke2fs, mtools, qemu, ...) without a shell.
 *
 * Promises: argv is passed as-is (no shell quoting problems); output can be
 * captured into a strbuf; a missing tool is reported with the Debian package
 * that provides it; the return value is the tool's exit status, or -1 if it
 * could not be started or was killed.
 */
#ifndef APKG_UTIL_RUN_H
#define APKG_UTIL_RUN_H

#include <stdint.h>

struct strbuf;

struct run_opts {
	const char *cwd;          /* NULL: inherit */
	struct strbuf *output;    /* if set, stdout+stderr are captured here */
	int quiet;                /* discard output when not captured */
	char *const *env_add;     /* extra NAME=value entries, NULL-terminated */
	const char *stdin_path;   /* NULL: /dev/null */
	unsigned timeout_s;       /* 0: none; on expiry the process group is killed */
	int die_with_parent;      /* the tool gets SIGKILL when apkg dies (PR_SET_PDEATHSIG) */
};

/* Runs argv[0] (searched in PATH) and returns its exit status (0..255),
 * or -1 if it could not run. On non-zero exit with captured output, the
 * caller decides what to show. */
int run_argv(const char *const *argv, const struct run_opts *opts);
/* Convenience: NULL-terminated varargs, quiet unless it fails, in which case
 * its output is printed. Returns 0 on success, -1 on failure. */
int run_checked(const char *tool, ...) __attribute__((sentinel));
/* Like run_checked but with an argv array. */
int run_checked_argv(const char *const *argv);
/* Exits with code 3 naming the package if tool is not in PATH. */
int require_tool(const char *tool, const char *package);
int tool_exists(const char *tool);

#endif
