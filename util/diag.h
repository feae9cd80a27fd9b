/* util/diag.h: the one error vocabulary of apkg.
 *
 * die() prints and exits (only main and fatal VMM setup may call it);
 * error() and warning() print and return; diag_at() prints a message tied to
 * a position in a user file, as "file:line:col: message", which is the format
 * every recipe error uses. error() returns -1 so "return error(...)" reads well.
 */
#ifndef APKG_UTIL_DIAG_H
#define APKG_UTIL_DIAG_H

#include <stdarg.h>

/* Exit codes shared by every command. */
enum apkg_exit {
	EXIT_OK = 0,
	EXIT_FAILED = 1,      /* a build or a validation failed */
	EXIT_USAGE = 2,       /* bad usage or a recipe error */
	EXIT_MISSING_TOOL = 3 /* a required host tool or device is missing */
};

void diag_set_program(const char *name);
__attribute__((format(printf, 1, 2), noreturn)) void die(const char *fmt, ...);
__attribute__((format(printf, 2, 3), noreturn)) void die_code(int code, const char *fmt, ...);
/* Hidden: glibc has an error(3) of its own, and a library apkg loads must
 * never bind to this one instead (GNU ld would otherwise export it). */
__attribute__((format(printf, 1, 2), visibility("hidden"))) int error(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) int error_errno(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void warning(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void info(const char *fmt, ...);
/* "file:line:col: msg" on stderr. */
__attribute__((format(printf, 4, 5))) void diag_at(const char *file, int line, int col, const char *fmt, ...);

/* Quiet mode silences info() (used by --json). */
void diag_set_quiet(int quiet);
/* Colour is used only on a terminal and never when NO_COLOR is set. */
int diag_use_color(void);

#endif
