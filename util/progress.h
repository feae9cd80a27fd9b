/* util/progress.h: stage lines and progress bars for long work.
 *
 * Bars appear only on a terminal, never with --json (progress_set_enabled(0))
 * and never when stderr is not a tty; stage lines always go to stderr unless
 * quiet. Colour follows diag_use_color() (NO_COLOR respected).
 */
#ifndef APKG_UTIL_PROGRESS_H
#define APKG_UTIL_PROGRESS_H

#include <stdint.h>

void progress_set_enabled(int enabled);
/* "==> building root filesystem" */
__attribute__((format(printf, 1, 2))) void progress_stage(const char *fmt, ...);
/* Redraws a bar "label [#####     ] 45% 12.3/27.0 MiB"; total 0 = unknown. */
void progress_update(const char *label, uint64_t done, uint64_t total);
/* Ends the bar line. */
void progress_done(void);
/* Monotonic seconds, for timings in reports. */
double now_seconds(void);

#endif
