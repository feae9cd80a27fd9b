/* validate/vmm_target.c: one artifact on the micro-VMM, watched like a QEMU boot. */
#include "validate/vmm_target.h"

#include "util/diag.h"
#include "util/strbuf.h"
#include "validate/boot_entry.h"
#include "vmm/vmm.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* APKG_VMM_FORCE=1 boots on any /dev/kvm, kvm-pvm included: only tiny test
 * guests finish there, which is what apkg's own tests use it for. */
int vmm_target_usable(char *why, size_t n)
{
	const char *force = getenv("APKG_VMM_FORCE");
	if (force && !strcmp(force, "1") && vmm_kvm_available(why, n))
		return 1;
	return vmm_hw_virt_available(why, n);
}

struct reader {
	int fd;
	struct console *console;
};

/* Feeds the console as the guest writes it (the log is capped there). */
static void *read_console(void *arg)
{
	struct reader *r = arg;
	char buf[4096];
	for (;;) {
		ssize_t n = read(r->fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		console_feed(r->console, buf, (size_t)n);
	}
	return NULL;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static enum vmm_end run_with_console(const struct vmm_config *c, struct console *console, int out_fd, int in_fd)
{
	struct reader r = {in_fd, console};
	pthread_t t;
	int reading = pthread_create(&t, NULL, read_console, &r) == 0;
	struct vmm_config cc = *c;
	cc.console_out = out_fd;
	enum vmm_end end = vmm_run(&cc, NULL);
	close(out_fd); /* the reader sees the end of the console */
	if (reading)
		pthread_join(t, NULL);
	else
		read_console(&r);
	return end;
}

int vmm_target_boot(const struct vmm_target_run *r, struct boot_outcome *out, char **why)
{
	memset(out, 0, sizeof *out);
	console_init(&out->console);
	struct appliance_boot ab;
	if (appliance_boot_read(r->image, &ab) < 0) {
		*why = xasprintf("cannot find what %s boots (see the error above)", r->image);
		return -1;
	}
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		appliance_boot_release(&ab);
		*why = xasprintf("pipe: %s", strerror(errno));
		return -1;
	}
	char *cmdline = *ab.cmdline ? xasprintf("%s %s", ab.cmdline, r->check_cmdline) : xstrdup(r->check_cmdline);
	const char *disks[] = {r->image};
	struct vmm_config c = {
		.kernel = ab.kernel.buf, .kernel_size = ab.kernel.len,
		.initrd = ab.initrd.len ? ab.initrd.buf : NULL, .initrd_size = ab.initrd.len,
		.cmdline = cmdline, .disks = disks, .n_disks = 1, .cpus = r->cpus > 0 ? (unsigned)r->cpus : 1,
		.mem_bytes = r->memory, .timeout_ms = (unsigned)r->deadline_s * 1000u, .console_in = -1, .quiet = 1,
	};
	double t0 = now_s();
	enum vmm_end end = run_with_console(&c, &out->console, pipefd[1], pipefd[0]);
	close(pipefd[0]);
	console_finish(&out->console);
	out->seconds = now_s() - t0;
	out->timed_out = end == VMM_END_TIMEOUT;
	out->exited = !out->timed_out;
	out->exit_status = vmm_end_is_clean(end) ? 0 : 1;
	if (end == VMM_END_ERROR)
		out->qemu_stderr = xstrdup("the micro-VMM stopped with an error (see apkg's stderr)");
	free(cmdline);
	appliance_boot_release(&ab);
	return 0;
}
