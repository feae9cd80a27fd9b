/* builder/run_in_image.c: run a recipe command inside the image root.
 *
 * The command runs chrooted into the image, in new mount, PID, UTS and IPC
 * namespaces. Everything it needs is mounted inside the private mount
 * namespace only (propagation set to private first), so no mount ever
 * reaches the host and all of them vanish when the command ends; being
 * PID 1 of its own PID namespace, the command takes any daemon it started
 * down with it, so nothing keeps running or holds the image busy.
 * The network namespace is the host's, so `apt-get install` works.
 */
#include "builder/customize.h"

#include "builder/imgroot.h"
#include "util/diag.h"
#include "util/io.h"
#include "util/strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#define SETUP_FAILED 125

static int fail(const char *what, const char *where)
{
	fprintf(stderr, "apkg: run: %s %s: %s\n", what, where, strerror(errno));
	return -1;
}

/* The mount point must be a real directory of the image (created if
 * missing), never a symlink that could point the mount elsewhere. */
static char *mount_point(const char *rootdir, const char *name)
{
	char *p = xasprintf("%s/%s", rootdir, name);
	struct stat st;
	if (lstat(p, &st) < 0 && errno == ENOENT && mkdir(p, 0755) == 0)
		return p;
	if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
		return p;
	fprintf(stderr, "apkg: run: /%s in the image is not a directory\n", name);
	free(p);
	return NULL;
}

static int mount_at(const char *rootdir, const char *name, const char *type, unsigned long flags, const char *opts)
{
	char *p = mount_point(rootdir, name);
	if (!p)
		return -1;
	int r = mount(type, p, type, flags, opts) < 0 ? fail("cannot mount", p) : 0;
	free(p);
	return r;
}

static const struct {
	const char *name;
	unsigned major, minor;
} dev_nodes[] = {{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};

static const char *const dev_links[][2] = {
	{"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
	{"stderr", "/proc/self/fd/2"}, {"ptmx", "pts/ptmx"},
};

/* A minimal /dev on a tmpfs, as container managers provide: the host's
 * devices stay out of reach. */
static int populate_dev(const char *rootdir)
{
	if (mount_at(rootdir, "dev", "tmpfs", MS_NOSUID, "mode=0755,size=1m") < 0)
		return -1;
	for (size_t i = 0; i < sizeof dev_nodes / sizeof *dev_nodes; i++) {
		char *p = xasprintf("%s/dev/%s", rootdir, dev_nodes[i].name);
		int r = mknod(p, S_IFCHR | 0666, makedev(dev_nodes[i].major, dev_nodes[i].minor)) < 0 ||
				chmod(p, 0666) < 0
			    ? fail("cannot create", p)
			    : 0;
		free(p);
		if (r < 0)
			return -1;
	}
	for (size_t i = 0; i < sizeof dev_links / sizeof *dev_links; i++) {
		char *p = xasprintf("%s/dev/%s", rootdir, dev_links[i][0]);
		int r = symlink(dev_links[i][1], p) < 0 ? fail("cannot create", p) : 0;
		free(p);
		if (r < 0)
			return -1;
	}
	if (mount_at(rootdir, "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620") < 0 ||
	    mount_at(rootdir, "dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
		return -1;
	return 0;
}

/* Resolves "/etc/" + a relative link target lexically; NULL if it climbs out. */
static char *lexical_path(const char *base_dir, const char *target)
{
	struct strbuf in = STRBUF_INIT, out = STRBUF_INIT;
	if (target[0] == '/')
		strbuf_adds(&in, target);
	else
		strbuf_addf(&in, "%s/%s", base_dir, target);
	char *save = NULL;
	for (char *c = strtok_r(in.buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, "..")) {
			char *slash = strrchr(out.buf, '/');
			if (slash)
				out.len = (size_t)(slash - out.buf);
			out.buf[out.len] = 0;
			continue;
		}
		strbuf_addf(&out, "/%s", c);
	}
	strbuf_release(&in);
	return strbuf_detach(&out);
}

/* Gives the command the host's DNS configuration without changing the
 * image: bind-mounted over a regular /etc/resolv.conf, or written into the
 * (temporary) /run when the image's resolv.conf links there, as with
 * systemd-resolved. */
static void provide_resolv_conf(const char *rootdir)
{
	struct strbuf host = STRBUF_INIT, link = STRBUF_INIT;
	struct imgroot ir;
	if (read_file("/etc/resolv.conf", &host, 1 << 20) < 0 || imgroot_open(&ir, rootdir) < 0) {
		strbuf_release(&host);
		return;
	}
	struct stat st;
	if (imgroot_readlink(&ir, "/etc/resolv.conf", &link) == 0) {
		char *target = lexical_path("/etc", link.buf);
		if (!strncmp(target, "/run/", 5) && !imgroot_exists(&ir, target))
			imgroot_write(&ir, target, host.buf, host.len, 0644, 0, 0);
		free(target);
	} else if (imgroot_lstat(&ir, "/etc/resolv.conf", &st) == 0 && S_ISREG(st.st_mode)) {
		int fd = imgroot_openat(&ir, "/etc/resolv.conf", O_PATH, 0);
		if (fd >= 0) {
			char *proc_path = xasprintf("/proc/self/fd/%d", fd);
			if (mount("/etc/resolv.conf", proc_path, NULL, MS_BIND, NULL) < 0)
				fail("cannot bind-mount the host's resolv.conf on", "/etc/resolv.conf");
			free(proc_path);
			close(fd);
		}
	}
	imgroot_close(&ir);
	strbuf_release(&link);
	strbuf_release(&host);
}

/* PID 1 of the new PID namespace: mount, chroot, exec. */
static int enter_image(const char *rootdir, const char *cmd, const char *hostname, uint64_t epoch)
{
	if (hostname && sethostname(hostname, strlen(hostname)) < 0)
		fail("cannot set the hostname", hostname);
	if (mount_at(rootdir, "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 ||
	    mount_at(rootdir, "sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 ||
	    populate_dev(rootdir) < 0 || mount_at(rootdir, "run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
		return SETUP_FAILED;
	provide_resolv_conf(rootdir);
	if (chroot(rootdir) < 0 || chdir("/") < 0)
		return fail("cannot chroot into", rootdir), SETUP_FAILED;
	char epoch_env[64];
	snprintf(epoch_env, sizeof epoch_env, "SOURCE_DATE_EPOCH=%llu", (unsigned long long)epoch);
	char *const env[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root",
			     "LANG=C.UTF-8", "DEBIAN_FRONTEND=noninteractive", epoch_env, NULL};
	char *const argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
	execve("/bin/sh", argv, env);
	fail("cannot execute", "/bin/sh in the image");
	return 127;
}

static int exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

/* The first child: owns the new namespaces, waits for PID 1 in them. */
static int namespace_holder(const char *rootdir, const char *cmd, const char *hostname, uint64_t epoch)
{
	if (unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC) < 0)
		return fail("cannot create namespaces for", cmd), SETUP_FAILED;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return fail("cannot make mounts private for", cmd), SETUP_FAILED;
	pid_t pid = fork();
	if (pid < 0)
		return fail("cannot fork for", cmd), SETUP_FAILED;
	if (pid == 0)
		_exit(enter_image(rootdir, cmd, hostname, epoch));
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return SETUP_FAILED;
	return exit_code(status);
}

int run_in_image(const char *rootdir, const char *cmd, const char *hostname, uint64_t epoch, struct strbuf *output)
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return error_errno("pipe");
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return error_errno("fork");
	}
	if (pid == 0) {
		setpgid(0, 0);
		int in = open("/dev/null", O_RDONLY);
		if (in < 0 || dup2(in, 0) < 0 || dup2(pipefd[1], 1) < 0 || dup2(pipefd[1], 2) < 0)
			_exit(SETUP_FAILED);
		signal(SIGPIPE, SIG_DFL);
		_exit(namespace_holder(rootdir, cmd, hostname, epoch));
	}
	/* A group of its own, registered like util/run.c's tools, so that an
	 * interrupted build stops the command (and its PID namespace) before
	 * removing the image root it runs in. */
	setpgid(pid, pid);
	cleanup_child_begin(pid);
	close(pipefd[1]);
	char buf[8192];
	for (;;) {
		ssize_t n = read(pipefd[0], buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		strbuf_add(output, buf, (size_t)n);
	}
	close(pipefd[0]);
	int status;
	pid_t w;
	while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	cleanup_child_end(pid);
	if (w < 0)
		return error_errno("waitpid");
	return exit_code(status);
}
