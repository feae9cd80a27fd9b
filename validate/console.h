/* validate/console.h: reads a booting guest's serial console.
 *
 * The console is hostile input: whatever the guest prints. This module
 * splits it into lines (capping each), strips terminal escapes and control
 * characters, keeps a capped log and the last CONSOLE_TAIL_LINES lines, and
 * recognises the lines that decide a boot's fate: the probe's APKG-PROBE,
 * APKG-CHECK and APKG-RESULT lines (whose JSON is parsed with util/json,
 * anywhere in a line, since other output may precede it), "Kernel panic",
 * and apkg's initramfs's "APKG-INITRAMFS-ERROR: reason". It has no clock and
 * no process: boot.c feeds it and decides.
 */
#ifndef APKG_VALIDATE_CONSOLE_H
#define APKG_VALIDATE_CONSOLE_H

#include "util/strbuf.h"

#include <stddef.h>

#define CONSOLE_TAIL_LINES 50
#define CONSOLE_MAX_LINE 4096
#define CONSOLE_MAX_LOG (8u << 20)
#define CONSOLE_MAX_CHECKS 1024

struct console_check {
	char *name;
	int ok;
	char *detail;
	long ms;
};

struct console {
	struct strbuf log;      /* cleaned lines, up to CONSOLE_MAX_LOG bytes */
	int log_truncated;
	struct strbuf partial;  /* bytes of the line being received */
	char *tail[CONSOLE_TAIL_LINES];
	size_t tail_next, tail_n;

	int probe_started;
	long expected_checks;   /* from APKG-PROBE; -1 unknown */
	struct console_check *checks;
	size_t n_checks;
	size_t garbled;         /* APKG-* lines whose JSON did not parse */
	int got_result;
	long passed, failed;
	char *panic;            /* the "Kernel panic ..." text */
	char *initramfs_error;  /* the reason after APKG-INITRAMFS-ERROR: */
};

void console_init(struct console *c);
void console_feed(struct console *c, const char *data, size_t len);
/* Treats a final unterminated line as complete. */
void console_finish(struct console *c);
/* The last lines, oldest first, each ending in '\n' (caller frees). */
char *console_tail_text(const struct console *c);
void console_free(struct console *c);

#endif
