/* util/run.c: fork/exec of host tools with capture, timeout and clear errors. */
#include "util/run.h"

#include "util/diag.h"
#include "util/io.h"
#include "util/strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int tool_exists(const char *tool)
{
	if (strchr(tool, '/'))
		return access(tool, X_OK) == 0;
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/sbin:/usr/bin:/sbin:/bin";
	char *copy = xstrdup(path), *save = NULL;
	int found = 0;
	for (char *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
		char *p = xasprintf("%s/%s", d, tool);
		found = access(p, X_OK) == 0;
		free(p);
	}
	free(copy);
	return found;
}

int require_tool(const char *tool, const char *package)
{
	if (tool_exists(tool))
		return 0;
	die_code(EXIT_MISSING_TOOL, "required tool '%s' not found (install the Debian package '%s', or run 'make deps')",
		 tool, package);
}

static void child_exec(const char *const *argv, const struct run_opts *o, int outfd, pid_t parent)
{
	setpgid(0, 0);
	if (o && o->die_with_parent && (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent))
		_exit(126); /* apkg is already gone */
	if (o && o->cwd && chdir(o->cwd) < 0)
		_exit(126);
	int in = open(o && o->stdin_path ? o->stdin_path : "/dev/null", O_RDONLY);
	if (in >= 0) {
		dup2(in, 0);
		close(in);
	}
	if (outfd >= 0) {
		dup2(outfd, 1);
		dup2(outfd, 2);
		close(outfd);
	}
	if (o && o->env_add)
		for (char *const *e = o->env_add; *e; e++)
			putenv(*e);
	execvp(argv[0], (char *const *)argv);
	fprintf(stderr, "cannot execute %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

int run_argv(const char *const *argv, const struct run_opts *o)
{
	int pipefd[2] = {-1, -1};
	int capture = o && o->output;
	int discard = o && o->quiet && !capture;
	if (capture && pipe2(pipefd, O_CLOEXEC) < 0)
		return error_errno("pipe");
	int devnull = discard ? open("/dev/null", O_WRONLY | O_CLOEXEC) : -1;
	fflush(NULL);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0)
		return error_errno("fork");
	if (pid == 0)
		child_exec(argv, o, capture ? pipefd[1] : devnull, parent);
	setpgid(pid, pid); /* also here: the child may not have run yet when a signal comes */
	cleanup_child_begin(pid);
	if (devnull >= 0)
		close(devnull);
	time_t deadline = o && o->timeout_s ? time(NULL) + o->timeout_s : 0;
	int timed_out = 0;
	if (capture) {
		close(pipefd[1]);
		char buf[8192];
		for (;;) {
			struct pollfd p = {.fd = pipefd[0], .events = POLLIN};
			int wait_ms = deadline ? (int)((deadline - time(NULL)) * 1000) : -1;
			if (deadline && wait_ms <= 0) {
				timed_out = 1;
				break;
			}
			int pr = poll(&p, 1, wait_ms);
			if (pr < 0 && errno == EINTR)
				continue;
			if (pr == 0)
				continue;
			ssize_t n = read(pipefd[0], buf, sizeof buf);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			strbuf_add(o->output, buf, (size_t)n);
		}
		close(pipefd[0]);
	}
	int status;
	for (;;) {
		if (timed_out)
			kill(-pid, SIGKILL);
		pid_t w = deadline && !timed_out ? waitpid(pid, &status, WNOHANG) : waitpid(pid, &status, 0);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			cleanup_child_end(pid);
			return error_errno("waitpid");
		}
		if (w == 0) {
			if (time(NULL) >= deadline)
				timed_out = 1;
			else
				usleep(20000);
		}
	}
	cleanup_child_end(pid);
	if (timed_out)
		return error("%s: timed out after %u s", argv[0], o->timeout_s);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return error("%s: killed by signal %d", argv[0], WTERMSIG(status));
}

int run_checked_argv(const char *const *argv)
{
	struct strbuf out = STRBUF_INIT;
	struct run_opts o = {.output = &out};
	int rc = run_argv(argv, &o);
	if (rc != 0) {
		struct strbuf cmd = STRBUF_INIT;
		for (const char *const *a = argv; *a; a++)
			strbuf_addf(&cmd, "%s%s", a == argv ? "" : " ", *a);
		error("command failed (exit %d): %s", rc, cmd.buf);
		if (out.len)
			fprintf(stderr, "%s%s", out.buf, out.buf[out.len - 1] == '\n' ? "" : "\n");
		strbuf_release(&cmd);
		strbuf_release(&out);
		return -1;
	}
	strbuf_release(&out);
	return 0;
}

int run_checked(const char *tool, ...)
{
	const char *argv[64];
	int n = 0;
	va_list ap;
	va_start(ap, tool);
	argv[n++] = tool;
	const char *a;
	while ((a = va_arg(ap, const char *)) && n < 63)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	return run_checked_argv(argv);
}
