/* validate/boot.c: runs and watches one QEMU boot; judges its outcome. */
#include "validate/boot.h"

#include "util/diag.h"
#include "util/progress.h"
#include "util/strbuf.h"
#include "validate/report.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* After the probe's result, the guest powers itself off; this long at most. */
#define POWEROFF_GRACE_S 15
/* After a panic or an initramfs error, the rest of the message. */
#define MESSAGE_GRACE_S 3
#define MAX_STDERR (64u << 10)
#define MAX_RUNNING 256

/* Process groups of running boots, for the signal handler. */
static volatile pid_t running[MAX_RUNNING];
static pthread_mutex_t running_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sigaction previous[3];
static const int caught[3] = {SIGINT, SIGTERM, SIGHUP};

static void track(pid_t pgid, int add)
{
	pthread_mutex_lock(&running_lock);
	for (int i = 0; i < MAX_RUNNING; i++)
		if (add ? running[i] == 0 : running[i] == pgid) {
			running[i] = add ? pgid : 0;
			break;
		}
	pthread_mutex_unlock(&running_lock);
}

static void on_signal(int sig)
{
	for (int i = 0; i < MAX_RUNNING; i++)
		if (running[i] > 0)
			kill(-running[i], SIGKILL);
	for (int i = 0; i < 3; i++) {
		if (caught[i] != sig)
			continue;
		if (previous[i].sa_handler != SIG_DFL && previous[i].sa_handler != SIG_IGN) {
			previous[i].sa_handler(sig);
			return;
		}
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

void boot_install_signal_handlers(void)
{
	static int installed;
	if (installed++)
		return;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (int i = 0; i < 3; i++)
		sigaction(caught[i], &sa, &previous[i]);
}

/* In the child: only async-signal-safe calls until exec. */
static void exec_qemu(char *const argv[], char *const envp[], int outfd, int errfd)
{
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL); /* apkg killed outright: QEMU goes too */
	int in = open("/dev/null", O_RDONLY);
	if (in < 0 || dup2(in, 0) < 0 || dup2(outfd, 1) < 0 || dup2(errfd, 2) < 0)
		_exit(126);
	execve(argv[0], argv, envp);
	_exit(127);
}

extern char **environ;

/* environ plus TMPDIR=workdir (QEMU's snapshot=on overlay goes there). */
static char **child_env(const char *workdir)
{
	size_t n = 0;
	while (environ[n])
		n++;
	char **env = xcalloc(n + 2, sizeof *env);
	size_t o = 0;
	env[o++] = xasprintf("TMPDIR=%s", workdir); /* first: the one entry we own */
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "TMPDIR=", 7))
			env[o++] = environ[i];
	env[o] = NULL;
	return env;
}

struct watch {
	double start, stop_at, decided_at;
};

/* After each chunk of console: has the boot decided? Sets when to stop. */
static void update_deadline(const struct console *c, struct watch *w)
{
	double grace = 0;
	if (c->got_result)
		grace = POWEROFF_GRACE_S;
	else if (c->panic || c->initramfs_error)
		grace = MESSAGE_GRACE_S;
	if (grace && !w->decided_at) {
		w->decided_at = now_seconds();
		if (w->decided_at + grace < w->stop_at)
			w->stop_at = w->decided_at + grace;
	}
}

static void read_stderr(const char *path, struct boot_outcome *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct strbuf sb = STRBUF_INIT;
	if (fd >= 0) {
		char buf[4096];
		ssize_t n;
		while (sb.len < MAX_STDERR && (n = read(fd, buf, sizeof buf)) > 0)
			strbuf_add(&sb, buf, (size_t)n);
		close(fd);
	}
	out->qemu_stderr = strbuf_detach(&sb);
}

/* Reads the console until EOF or stop time; returns 1 if it hit the deadline. */
static int watch_console(int fd, struct watch *w, double deadline, struct boot_outcome *out)
{
	char buf[16384];
	for (;;) {
		double now = now_seconds();
		if (now >= w->stop_at)
			return w->stop_at >= deadline && !w->decided_at;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int ms = (int)((w->stop_at - now) * 1000) + 1;
		int r = poll(&p, 1, ms > 1000 ? 1000 : ms);
		if (r < 0 && errno != EINTR)
			return 0;
		if (r <= 0)
			continue;
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0; /* QEMU closed the console: it exited */
		console_feed(&out->console, buf, (size_t)n);
		update_deadline(&out->console, w);
	}
}

static void reap(pid_t pid, struct boot_outcome *out, int watched_to_eof)
{
	int status = 0;
	pid_t r = 0;
	if (watched_to_eof) /* it closed its console: give it a moment to exit */
		for (int i = 0; i < 50 && (r = waitpid(pid, &status, WNOHANG)) == 0; i++)
			usleep(100000);
	if (r == pid) {
		out->exited = 1;
		out->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 256 + WTERMSIG(status);
	}
	kill(-pid, SIGKILL); /* the whole group, whatever state it is in */
	if (r != pid)
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
}

int boot_run(char *const argv[], const char *workdir, int deadline_s, struct boot_outcome *out)
{
	memset(out, 0, sizeof *out);
	console_init(&out->console);
	char *errpath = xasprintf("%s/qemu-stderr.log", workdir);
	int pipefd[2] = {-1, -1};
	int errfd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	char **env = child_env(workdir);
	int ret = -1;
	if (errfd < 0 || pipe2(pipefd, O_CLOEXEC) < 0) {
		error_errno("cannot set up the console of %s", argv[0]);
		goto out;
	}
	struct watch w = {.start = now_seconds()};
	double deadline = w.start + deadline_s;
	w.stop_at = deadline;
	pid_t pid = fork();
	if (pid < 0) {
		error_errno("fork");
		goto out;
	}
	if (pid == 0)
		exec_qemu(argv, env, pipefd[1], errfd);
	setpgid(pid, pid);
	track(pid, 1);
	close(pipefd[1]);
	pipefd[1] = -1;
	out->timed_out = watch_console(pipefd[0], &w, deadline, out);
	int eof = !out->timed_out && now_seconds() < w.stop_at;
	console_finish(&out->console);
	update_deadline(&out->console, &w);
	out->seconds = (w.decided_at ? w.decided_at : now_seconds()) - w.start;
	reap(pid, out, eof);
	track(pid, 0);
	read_stderr(errpath, out);
	ret = 0;
out:
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (errfd >= 0)
		close(errfd);
	free(env[0]);
	free(env);
	free(errpath);
	return ret;
}

void boot_outcome_free(struct boot_outcome *o)
{
	console_free(&o->console);
	free(o->qemu_stderr);
	memset(o, 0, sizeof *o);
}

static void copy_checks(const struct console *c, const char *const *expected, size_t n_expected,
			struct target_result *t)
{
	char *used = xcalloc(c->n_checks ? c->n_checks : 1, 1);
	for (size_t i = 0; i < c->n_checks; i++)
		report_add_check(t, c->checks[i].name, 1, c->checks[i].ok, c->checks[i].detail, c->checks[i].ms);
	/* each expected name is matched by one reported line, in order */
	for (size_t e = 0; e < n_expected; e++) {
		size_t i = 0;
		while (i < c->n_checks && (used[i] || strcmp(c->checks[i].name, expected[e])))
			i++;
		if (i < c->n_checks)
			used[i] = 1;
		else
			report_add_check(t, expected[e], 0, 0, NULL, 0);
	}
	free(used);
}

/* "2 of 5 checks failed: tcp 80, http http://127.0.0.1/" */
static char *failed_checks_reason(const struct target_result *t)
{
	struct strbuf sb = STRBUF_INIT, names = STRBUF_INIT;
	size_t failed = 0, ran = 0;
	for (size_t i = 0; i < t->n_checks; i++) {
		if (!t->checks[i].ran)
			continue;
		ran++;
		if (t->checks[i].ok)
			continue;
		strbuf_addf(&names, "%s%s", failed++ ? ", " : "", t->checks[i].name);
	}
	strbuf_addf(&sb, "%zu of %zu check%s failed: %s", failed, ran, ran == 1 ? "" : "s", names.buf);
	strbuf_release(&names);
	return strbuf_detach(&sb);
}

static char *first_line(const char *s)
{
	size_t n = strcspn(s ? s : "", "\n");
	return n ? xasprintf(": %.*s", (int)(n > 300 ? 300 : n), s) : xstrdup("");
}

static char *judge_result(const struct console *c, const struct expected_checks *want, struct target_result *t)
{
	size_t ran = 0, failed = 0, missing = 0;
	for (size_t i = 0; i < t->n_checks; i++) {
		ran += t->checks[i].ran;
		failed += t->checks[i].ran && !t->checks[i].ok;
		missing += !t->checks[i].ran;
	}
	if (failed || c->failed)
		return failed ? failed_checks_reason(t)
			      : xasprintf("the probe reported %ld failed checks but printed none", c->failed);
	if ((size_t)c->passed != ran)
		return xasprintf("the probe reported %ld passed checks but printed %zu (console garbled?)", c->passed,
				 ran);
	if (missing)
		return xasprintf("%zu check%s of the recipe never reported by the probe (an old image?)", missing,
				 missing == 1 ? "" : "s");
	if (c->expected_checks >= 0 && (size_t)c->expected_checks != ran)
		return xasprintf("the probe announced %ld checks but reported %zu (console garbled?)",
				 c->expected_checks, ran);
	if (want->count >= 0 && (size_t)want->count != ran)
		return xasprintf("the image ran %zu checks but the recipe has %ld (an old image?)", ran, want->count);
	return NULL;
}

static char *judge_no_result(const struct boot_outcome *o, int deadline_s)
{
	const struct console *c = &o->console;
	if (c->panic)
		return xasprintf("kernel panic: %s", c->panic);
	if (c->initramfs_error)
		return xasprintf("initramfs error: %s", c->initramfs_error);
	if (o->timed_out)
		return xasprintf("no result within the %d s deadline: %s", deadline_s,
				 c->probe_started ? "the probe was still running its checks"
						  : "the boot never reached the probe (hung, or no apkg.check flag?)");
	if (o->exited && o->exit_status == 127)
		return xstrdup("QEMU could not be executed");
	char *why = first_line(o->qemu_stderr);
	char *r = o->exited && o->exit_status
			  ? xasprintf("QEMU failed (exit status %d)%s", o->exit_status, why)
			  : xasprintf("the machine stopped before the probe reported (powered off or rebooted)%s", why);
	free(why);
	return r;
}

void boot_judge(const struct boot_outcome *o, int deadline_s, const struct expected_checks *want,
		struct target_result *t)
{
	const struct console *c = &o->console;
	copy_checks(c, want->names, want->n_names, t);
	t->seconds = o->seconds;
	free(t->reason);
	t->reason = c->got_result ? judge_result(c, want, t) : judge_no_result(o, deadline_s);
	t->status = t->reason ? RESULT_FAIL : RESULT_PASS;
	free(t->console);
	free(t->console_tail);
	t->console = xstrdup(c->log.buf);
	t->console_tail = console_tail_text(c);
}
