/* util/progress.c: terminal-aware progress output. */
#include "util/progress.h"

#include "util/diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static int enabled = 1;
static int bar_active;
static double last_draw;

void progress_set_enabled(int e) { enabled = e; }

double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int bars_on(void) { return enabled && isatty(STDERR_FILENO); }

void progress_stage(const char *fmt, ...)
{
	if (!enabled)
		return;
	progress_done();
	int c = diag_use_color();
	fprintf(stderr, "%s==>%s ", c ? "\033[1;34m" : "", c ? "\033[0m" : "");
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void progress_update(const char *label, uint64_t done, uint64_t total)
{
	if (!bars_on())
		return;
	double t = now_seconds();
	if (bar_active && t - last_draw < 0.1 && done != total)
		return;
	last_draw = t;
	bar_active = 1;
	if (total) {
		int pct = (int)(done * 100 / total);
		int fill = pct * 30 / 100;
		char bar[31];
		for (int i = 0; i < 30; i++)
			bar[i] = i < fill ? '#' : ' ';
		bar[30] = 0;
		fprintf(stderr, "\r    %s [%s] %3d%% %.1f/%.1f MiB\033[K", label, bar, pct, (double)done / 1048576.0,
			(double)total / 1048576.0);
	} else {
		fprintf(stderr, "\r    %s %.1f MiB\033[K", label, (double)done / 1048576.0);
	}
}

void progress_done(void)
{
	if (bar_active) {
		fputc('\n', stderr);
		bar_active = 0;
	}
}
