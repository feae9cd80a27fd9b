/* validate/probe/probe.c: apkg-probe, the in-guest half of `apkg test`.
 *
 * Installed in every image as /usr/lib/apkg/apkg-probe. It does nothing
 * unless the boot was asked to be checked: /run/apkg/check exists (apkg's
 * initramfs creates it when QEMU's fw_cfg item opt/org.apkg/cmdline or the
 * kernel command line says apkg.check=1) or /proc/cmdline has apkg.check=1.
 * Then it runs the checks in /usr/lib/apkg/checks, retrying the failing
 * ones until the deadline, and prints on the console:
 *
 *   APKG-PROBE {"checks":3,"deadline_s":120}
 *   APKG-CHECK {"check":"tcp 80","ok":true,"detail":"...","ms":12}   (one per check)
 *   APKG-RESULT {"passed":3,"failed":0}
 *
 * then syncs and powers the machine off. A passing check is printed as soon
 * as it passes; "ms" is the time from the probe's start until it passed or
 * was given up. Output is pure ASCII, so no console can mangle it.
 *
 * Deadline: the boot deadline D (apkg.deadline=N from the check flag or the
 * command line, else the checks file's) covers the whole boot, firmware
 * included. apkg test also passes apkg.deadline_at=EPOCH, the wall-clock time
 * by which the probe must have reported (the guest's RTC runs on the host's
 * time), and the probe gives up then. Without it, or when the guest clock is
 * clearly off, it gives up at 3/4 of D after the kernel started (but never
 * less than 10 s after its own start). Every check is tried at least once.
 */
#include "validate/probe/probe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CHECK_FLAG_PATH "/run/apkg/check"
#define MIN_BUDGET_MS 10000

struct options {
	const char *checks_path;
	const char *console_path; /* "-" = stdout */
	int deadline_s;           /* 0: derive from the boot deadline */
	int force, poweroff;
};

static int console_fd = 1, also_stdout;

static void emit(const char *line, size_t len)
{
	if (write(console_fd, line, len) < 0 && console_fd != 1)
		console_fd = 1;
	if (also_stdout && console_fd != 1 && write(1, line, len) < 0)
		also_stdout = 0;
}

/* Appends s as a JSON string, in ASCII (bytes >= 0x80 as \u00XX). */
static size_t json_ascii(char *out, size_t size, const char *s)
{
	size_t o = 0;
	if (size < 3)
		return 0;
	out[o++] = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p && o + 8 < size; p++) {
		if (*p == '"' || *p == '\\') {
			out[o++] = '\\';
			out[o++] = (char)*p;
		} else if (*p < 0x20 || *p >= 0x7f) {
			o += (size_t)snprintf(out + o, size - o, "\\u%04x", *p);
		} else {
			out[o++] = (char)*p;
		}
	}
	out[o++] = '"';
	out[o] = 0;
	return o;
}

static void emit_check(const char *label, int ok, const char *detail, int64_t ms)
{
	char line[1600], lj[600], dj[700];
	json_ascii(lj, sizeof lj, label);
	json_ascii(dj, sizeof dj, detail);
	int n = snprintf(line, sizeof line, "APKG-CHECK {\"check\":%s,\"ok\":%s,\"detail\":%s,\"ms\":%lld}\n", lj,
			 ok ? "true" : "false", dj, (long long)ms);
	if (n > 0)
		emit(line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

static void emit_simple(const char *tag, const char *fmt, long a, long b)
{
	char line[200];
	int n = snprintf(line, sizeof line, "%s ", tag);
	n += snprintf(line + n, sizeof line - (size_t)n, fmt, a, b);
	line[n++] = '\n';
	emit(line, (size_t)n);
}

/* Finds a whitespace-separated "key=value" token; copies the value. */
static int find_option(const char *text, const char *key, char *val, size_t size)
{
	size_t klen = strlen(key);
	for (const char *p = text; *p;) {
		p += strspn(p, " \t\n");
		size_t t = strcspn(p, " \t\n");
		if (t > klen && !strncmp(p, key, klen) && p[klen] == '=') {
			size_t v = t - klen - 1 < size - 1 ? t - klen - 1 : size - 1;
			memcpy(val, p + klen + 1, v);
			val[v] = 0;
			return 1;
		}
		p += t;
	}
	return 0;
}

/* The options the check flag carries plus the kernel command line. */
static void boot_options(char *buf, size_t size)
{
	char cmdline[4096] = "";
	ssize_t n = probe_read_file(CHECK_FLAG_PATH, buf, size / 2);
	if (n < 0)
		n = 0;
	probe_read_file("/proc/cmdline", cmdline, sizeof cmdline);
	snprintf(buf + n, size - (size_t)n, " %s", cmdline);
}

static int check_requested(const char *options)
{
	char v[8];
	return access(CHECK_FLAG_PATH, F_OK) == 0 || (find_option(options, "apkg.check", v, sizeof v) && !strcmp(v, "1"));
}

static int64_t uptime_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* When to give up, on the monotonic clock. */
static int64_t give_up_at(const struct options *o, const char *options, int file_deadline_s)
{
	int64_t now = probe_now_ms();
	if (o->deadline_s)
		return now + o->deadline_s * 1000LL;
	char v[24];
	long d = file_deadline_s;
	if (find_option(options, "apkg.deadline", v, sizeof v) && atol(v) > 0 && atol(v) <= 86400)
		d = atol(v);
	/* apkg test's own clock: QEMU's RTC gives the guest the host's time */
	if (find_option(options, "apkg.deadline_at", v, sizeof v)) {
		long long left = atoll(v) - (long long)time(NULL);
		if (left >= 0 && left <= d)
			return now + left * 1000;
	}
	int64_t budget = d * 750 - uptime_ms();
	return now + (budget > MIN_BUDGET_MS ? budget : MIN_BUDGET_MS);
}

static int attempt(const struct probe_check *c, int timeout_s, char *detail, size_t size)
{
	switch (c->kind) {
	case PROBE_SERVICE: return probe_check_service(c, timeout_s, detail, size);
	case PROBE_TCP: return probe_check_tcp(c, timeout_s, detail, size);
	case PROBE_HTTP: return probe_check_http(c, timeout_s, detail, size);
	case PROBE_COMMAND: return probe_check_command(c, timeout_s, detail, size);
	case PROBE_FILE: return probe_check_file(c, timeout_s, detail, size);
	}
	snprintf(detail, size, "unknown check kind");
	return 0;
}

/* Runs every check until it passes or the deadline; returns the failures. */
static int run_checks(const struct probe_checks *cs, int64_t start, int64_t deadline)
{
	char(*detail)[PROBE_DETAIL_MAX] = calloc(cs->n ? cs->n : 1, sizeof *detail);
	char *passed = calloc(cs->n ? cs->n : 1, 1);
	char label[512];
	size_t left = cs->n;
	for (;;) {
		for (size_t i = 0; i < cs->n; i++) {
			if (passed[i])
				continue;
			int64_t remain_s = (deadline - probe_now_ms()) / 1000;
			int t = cs->items[i].timeout_s < remain_s ? cs->items[i].timeout_s : (int)(remain_s > 1 ? remain_s : 1);
			if (attempt(&cs->items[i], t, detail[i], PROBE_DETAIL_MAX)) {
				passed[i] = 1;
				left--;
				checkfile_label(&cs->items[i], label, sizeof label);
				emit_check(label, 1, detail[i], probe_now_ms() - start);
			}
		}
		if (!left || probe_now_ms() >= deadline)
			break;
		usleep(1000000);
	}
	for (size_t i = 0; i < cs->n; i++) {
		if (passed[i])
			continue;
		checkfile_label(&cs->items[i], label, sizeof label);
		emit_check(label, 0, detail[i], probe_now_ms() - start);
	}
	free(detail);
	free(passed);
	return (int)left;
}

static int load_checks(const char *path, struct probe_checks *cs, char *why, size_t size)
{
	static char buf[CHECKFILE_MAX_SIZE + 2]; /* one more than allowed: too large is seen */
	ssize_t n = probe_read_file(path, buf, sizeof buf);
	if (n < 0) {
		snprintf(why, size, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	char err[200];
	if (checkfile_parse(buf, (size_t)n, cs, err, sizeof err) < 0) {
		snprintf(why, size, "%s: %s", path, err);
		return -1;
	}
	return 0;
}

static void open_console(const char *path)
{
	if (!strcmp(path, "-"))
		return;
	int fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		fd = open("/dev/ttyS0", O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return;
	console_fd = fd;
	also_stdout = !isatty(1); /* e.g. systemd's journal */
	/* Keep kernel messages from interleaving with our lines. */
	int pk = open("/proc/sys/kernel/printk", O_WRONLY | O_CLOEXEC);
	if (pk >= 0) {
		if (write(pk, "1", 1) < 0) {
			/* not fatal: lines may just share the console */
		}
		close(pk);
	}
}

static int parse_args(int argc, char **argv, struct options *o)
{
	*o = (struct options){.checks_path = CHECKFILE_PATH, .console_path = "/dev/console", .poweroff = 1};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--checks") && i + 1 < argc)
			o->checks_path = argv[++i];
		else if (!strcmp(a, "--console") && i + 1 < argc)
			o->console_path = argv[++i];
		else if (!strcmp(a, "--deadline") && i + 1 < argc && atoi(argv[i + 1]) > 0)
			o->deadline_s = atoi(argv[++i]);
		else if (!strcmp(a, "--force"))
			o->force = 1;
		else if (!strcmp(a, "--no-poweroff"))
			o->poweroff = 0;
		else {
			fprintf(stderr, "usage: apkg-probe [--checks FILE] [--console PATH|-] [--deadline S] [--force] "
					"[--no-poweroff]\n"
					"Runs the appliance's boot checks when the boot asked for them (apkg.check=1).\n");
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct options o;
	char options[8192];
	if (parse_args(argc, argv, &o) < 0)
		return 2;
	boot_options(options, sizeof options);
	if (!o.force && !check_requested(options))
		return 0; /* a normal boot: nothing to do */
	if (!getenv("PATH"))
		setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
	open_console(o.console_path);
	int64_t start = probe_now_ms();
	struct probe_checks cs;
	char why[PROBE_DETAIL_MAX];
	int failed;
	if (load_checks(o.checks_path, &cs, why, sizeof why) < 0) {
		emit_simple("APKG-PROBE", "{\"checks\":%ld,\"deadline_s\":%ld}", 0, 0);
		emit_check("checks file", 0, why, 0);
		emit_simple("APKG-RESULT", "{\"passed\":%ld,\"failed\":%ld}", 0, 1);
		failed = 1;
	} else {
		int64_t deadline = give_up_at(&o, options, cs.deadline_s);
		emit_simple("APKG-PROBE", "{\"checks\":%ld,\"deadline_s\":%ld}", (long)cs.n,
			    (long)((deadline - start + 999) / 1000));
		failed = run_checks(&cs, start, deadline);
		emit_simple("APKG-RESULT", "{\"passed\":%ld,\"failed\":%ld}", (long)cs.n - failed, failed);
		checkfile_free(&cs);
	}
	sync();
	if (o.poweroff && reboot(RB_POWER_OFF) < 0)
		fprintf(stderr, "apkg-probe: power off: %s\n", strerror(errno));
	return failed ? 1 : 0;
}
