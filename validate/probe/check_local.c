/* validate/probe/check_local.c: the service, command and file checks, and
 * the bounded way the probe runs a program.
 *
 * Only `command` checks use the guest's shell (/bin/sh -c, as the recipe
 * asked). A `service` check asks systemd (`systemctl is-active`) on systemd
 * bases; elsewhere it looks for /run/NAME.pid (or /var/run/NAME.pid) naming
 * a live process, or any process whose name is NAME, reading /proc directly.
 */
#include "validate/probe/probe.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int64_t probe_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Appends up to n bytes to out[*len], keeping room for the cut marker. */
static void keep_output(char *out, size_t size, size_t *len, const char *buf, size_t n, int *cut)
{
	size_t room = size > 6 ? size - 6 - *len : 0;
	if (n > room) {
		n = room;
		*cut = 1;
	}
	memcpy(out + *len, buf, n);
	*len += n;
}

static void child_exec(const char *const argv[], int outfd)
{
	setpgid(0, 0);
	int in = open("/dev/null", O_RDONLY);
	if (in >= 0)
		dup2(in, 0);
	dup2(outfd, 1);
	dup2(outfd, 2);
	execv(argv[0], (char *const *)argv);
	dprintf(2, "cannot run %s: %s", argv[0], strerror(errno));
	_exit(127);
}

/* Waits for pid, reading its output, until it exits or the deadline. */
static int collect(pid_t pid, int fd, int64_t deadline, char *out, size_t size)
{
	size_t len = 0;
	int cut = 0, status = 0, exited = 0, open_pipe = 1;
	while (!exited) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int64_t left = deadline - probe_now_ms();
		if (left <= 0)
			break;
		if (open_pipe && poll(&p, 1, left > 100 ? 100 : (int)left) > 0) {
			char buf[512];
			ssize_t n = read(fd, buf, sizeof buf);
			if (n > 0)
				keep_output(out, size, &len, buf, (size_t)n, &cut);
			else if (n == 0)
				open_pipe = 0;
		} else if (!open_pipe) {
			usleep(20000);
		}
		exited = waitpid(pid, &status, WNOHANG) == pid;
	}
	if (!exited) {
		kill(-pid, SIGKILL);
		waitpid(pid, &status, 0);
	} else if (open_pipe) { /* what it wrote just before exiting */
		char buf[512];
		ssize_t n;
		fcntl(fd, F_SETFL, O_NONBLOCK);
		while ((n = read(fd, buf, sizeof buf)) > 0 && !cut)
			keep_output(out, size, &len, buf, (size_t)n, &cut);
	}
	kill(-pid, SIGKILL); /* anything it left behind in its group */
	memcpy(out + len, cut ? "[...]" : "", cut ? 6 : 1);
	if (!exited)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 256 + WTERMSIG(status);
}

int probe_run(const char *const argv[], int timeout_s, char *out, size_t size)
{
	int pipefd[2];
	out[0] = 0;
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		snprintf(out, size, "pipe: %s", strerror(errno));
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(out, size, "fork: %s", strerror(errno));
		close(pipefd[0]);
		close(pipefd[1]);
		return -1;
	}
	if (pid == 0)
		child_exec(argv, pipefd[1]);
	setpgid(pid, pid);
	close(pipefd[1]);
	int r = collect(pid, pipefd[0], probe_now_ms() + timeout_s * 1000LL, out, size);
	close(pipefd[0]);
	return r;
}

/* Output of a program as one line of a detail: newlines become " | ". */
static void one_line(char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		s[--n] = 0;
	for (char *p = s; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ';';
}

int probe_check_command(const struct probe_check *c, int timeout_s, char *detail, size_t size)
{
	char out[PROBE_DETAIL_MAX - 40];
	const char *argv[] = {"/bin/sh", "-c", c->target, NULL};
	int r = probe_run(argv, timeout_s, out, sizeof out);
	one_line(out);
	if (r < 0 && !out[0])
		snprintf(detail, size, "timed out after %d s", timeout_s);
	else if (r < 0)
		snprintf(detail, size, "timed out after %d s: %s", timeout_s, out);
	else if (r >= 256)
		snprintf(detail, size, "killed by signal %d%s%s", r - 256, out[0] ? ": " : "", out);
	else
		snprintf(detail, size, "exit %d%s%s", r, out[0] ? ": " : "", out);
	return r == 0;
}

static int valid_service_name(const char *name)
{
	return name[0] && name[0] != '.' && !strchr(name, '/') && strlen(name) < 200;
}

static int service_systemd(const char *name, int timeout_s, char *detail, size_t size)
{
	const char *systemctl = access("/usr/bin/systemctl", X_OK) == 0 ? "/usr/bin/systemctl" : "/bin/systemctl";
	const char *argv[] = {systemctl, "is-active", name, NULL};
	char out[128];
	int r = probe_run(argv, timeout_s, out, sizeof out);
	one_line(out);
	if (r < 0)
		snprintf(detail, size, "systemctl is-active %s: %s", name, out[0] ? out : "timed out");
	else
		snprintf(detail, size, "unit %s is %s", name, out[0] ? out : "in an unknown state");
	return r == 0;
}

ssize_t probe_read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t len = 0;
	ssize_t n;
	while (len + 1 < size && (n = read(fd, buf + len, size - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = 0;
	return (ssize_t)len;
}

/* A pid is alive if /proc/PID exists and is not a zombie. */
static int pid_alive(long pid)
{
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	if (probe_read_file(path, buf, sizeof buf) <= 0)
		return 0;
	const char *rp = strrchr(buf, ')');
	return rp && rp[1] == ' ' && rp[2] != 'Z' && rp[2] != 'X';
}

static int service_pidfile(const char *name, char *detail, size_t size)
{
	static const char *const dirs[] = {"/run", "/var/run"};
	for (size_t i = 0; i < 2; i++) {
		char path[256], buf[32];
		snprintf(path, sizeof path, "%s/%s.pid", dirs[i], name);
		if (probe_read_file(path, buf, sizeof buf) < 0)
			continue;
		long pid = strtol(buf, NULL, 10);
		if (pid > 0 && pid_alive(pid)) {
			snprintf(detail, size, "pid %ld from %s is running", pid, path);
			return 1;
		}
	}
	return 0;
}

/* Compares NAME with a process's comm (cut to 15 bytes by the kernel) and
 * with the base name of its argv[0] (or argv[1] after "busybox"). */
static int process_named(const char *pid, const char *name)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%s/comm", pid);
	ssize_t n = probe_read_file(path, buf, 17);
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	if (n > 0 && (size_t)n == (strlen(name) < 15 ? strlen(name) : 15) && !strncmp(buf, name, (size_t)n))
		return 1;
	snprintf(path, sizeof path, "/proc/%s/cmdline", pid);
	n = probe_read_file(path, buf, sizeof buf);
	if (n <= 0)
		return 0;
	/* argv[0] ends at the first NUL */
	const char *base = strrchr(buf, '/');
	base = base ? base + 1 : buf;
	if (!strcmp(base, "busybox") && strlen(buf) + 1 < (size_t)n)
		base = buf + strlen(buf) + 1; /* "busybox httpd": the applet is argv[1] */
	return !strcmp(base, name);
}

static int service_process(const char *name, char *detail, size_t size)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int found = 0;
	while (d && !found && (de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9' || (long)getpid() == atol(de->d_name))
			continue;
		if (process_named(de->d_name, name) && pid_alive(atol(de->d_name))) {
			snprintf(detail, size, "process %s is running (pid %s)", name, de->d_name);
			found = 1;
		}
	}
	if (d)
		closedir(d);
	return found;
}

int probe_check_service(const struct probe_check *c, int timeout_s, char *detail, size_t size)
{
	if (!valid_service_name(c->target)) {
		snprintf(detail, size, "invalid service name");
		return 0;
	}
	int systemd = access("/run/systemd/system", F_OK) == 0;
	if (systemd && (access("/usr/bin/systemctl", X_OK) == 0 || access("/bin/systemctl", X_OK) == 0))
		return service_systemd(c->target, timeout_s, detail, size);
	if (service_pidfile(c->target, detail, size) || service_process(c->target, detail, size))
		return 1;
	snprintf(detail, size, "no live pid in /run/%s.pid and no process named %s", c->target, c->target);
	return 0;
}

int probe_check_file(const struct probe_check *c, int timeout_s, char *detail, size_t size)
{
	(void)timeout_s;
	struct stat st;
	if (stat(c->target, &st) == 0) {
		if (S_ISREG(st.st_mode))
			snprintf(detail, size, "regular file, %lld bytes", (long long)st.st_size);
		else if (S_ISDIR(st.st_mode))
			snprintf(detail, size, "directory");
		else
			snprintf(detail, size, "exists (mode %o)", (unsigned)st.st_mode);
		return 1;
	}
	int e = errno;
	if (lstat(c->target, &st) == 0)
		snprintf(detail, size, "dangling symbolic link");
	else
		snprintf(detail, size, "%s", strerror(e));
	return 0;
}
