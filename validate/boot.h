/* validate/boot.h: one emulator run, watched until it decides.
 *
 * boot_run() starts QEMU in its own process group with the serial console
 * on a pipe, feeds the console to validate/console.c and stops when the
 * probe has reported (allowing the guest a few seconds to power off), the
 * kernel panicked, the initramfs reported an error, QEMU exited, or the
 * deadline passed. Whatever happens, the whole process group is killed and
 * reaped before it returns: nothing is left running. A SIGINT, SIGTERM or
 * SIGHUP while boots are running kills every running group before apkg's
 * scratch cleanup runs (boot_install_signal_handlers()).
 * boot_judge() turns an outcome into a pass/fail with a reason.
 */
#ifndef APKG_VALIDATE_BOOT_H
#define APKG_VALIDATE_BOOT_H

#include "validate/console.h"

#include <stddef.h>

struct target_result;

struct boot_outcome {
	struct console console;
	double seconds;      /* until the decision (result, panic, error, exit or deadline) */
	int exited;          /* QEMU exited on its own */
	int exit_status;     /* its status when it did (256+signal if killed by one) */
	int timed_out;       /* the deadline passed */
	char *qemu_stderr;   /* what QEMU printed on stderr (capped) */
};

/* Runs argv (argv[0] an absolute path) with TMPDIR=workdir and returns 0,
 * or -1 if QEMU could not be started at all. */
int boot_run(char *const argv[], const char *workdir, int deadline_s, struct boot_outcome *out);
void boot_outcome_free(struct boot_outcome *o);
/* What the image should report: the names of the recipe's checks (each
 * gets a testcase, run or not) and how many there are (-1 unknown). */
struct expected_checks {
	const char *const *names;
	size_t n_names;
	long count;
};

/* Fills t's status, reason, checks and console from o. */
void boot_judge(const struct boot_outcome *o, int deadline_s, const struct expected_checks *want,
		struct target_result *t);
/* Installs the handlers that kill running boots on SIGINT/SIGTERM/SIGHUP
 * (chaining to the handlers installed before, such as the scratch cleanup). */
void boot_install_signal_handlers(void);

#endif
