/* vmm/host_console.c: COM1's host side: terminal mode, input thread, output buffering. */
#include "vmm/host_console.h"

#include "util/diag.h"
#include "util/io.h"
#include "vmm/seccomp.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

int host_console_init(struct host_console *c, int in_fd, int out_fd, size_t (*deliver)(void *, const uint8_t *, size_t),
		 void (*user_stop)(void *), void *opaque)
{
	memset(c, 0, sizeof *c);
	c->in_fd = in_fd;
	c->out_fd = out_fd;
	c->deliver = deliver;
	c->user_stop = user_stop;
	c->opaque = opaque;
	c->out_is_tty = out_fd >= 0 && isatty(out_fd);
	c->in_is_tty = in_fd >= 0 && isatty(in_fd);
	c->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (c->stop_fd < 0)
		return error_errno("eventfd");
	return 0;
}

/* A terminal left raw by a killed apkg is unusable: SIGTERM, SIGHUP and
 * SIGINT first restore it, then go on to the handlers installed before
 * (apkg's scratch cleanup). They run on the caller's thread: the VMM's own
 * threads block them (vmm_thread_lockdown), so tcsetattr is allowed. */
static const int restore_signals[] = {SIGTERM, SIGHUP, SIGINT};
static struct sigaction previous[3];
static struct termios signal_saved;
static int signal_fd = -1;

static void restore_then_chain(int sig)
{
	if (signal_fd >= 0)
		tcsetattr(signal_fd, TCSANOW, &signal_saved);
	for (int i = 0; i < 3; i++)
		if (restore_signals[i] == sig)
			sigaction(sig, &previous[i], NULL);
	raise(sig); /* delivered once this handler returns, to the previous one */
}

static void restore_on_signals(struct host_console *c, int install)
{
	if (install) {
		signal_saved = c->saved;
		signal_fd = c->in_fd;
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = restore_then_chain;
		sigemptyset(&sa.sa_mask);
		for (int i = 0; i < 3; i++)
			sigaction(restore_signals[i], &sa, &previous[i]);
	} else {
		for (int i = 0; i < 3; i++)
			sigaction(restore_signals[i], &previous[i], NULL);
		signal_fd = -1;
	}
}

/* Raw input as QEMU's stdio backend makes it, but output processing stays on. */
static void make_raw(struct host_console *c)
{
	if (!c->in_is_tty || tcgetattr(c->in_fd, &c->saved) < 0)
		return;
	struct termios t = c->saved;
	t.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
	t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(c->in_fd, TCSANOW, &t) == 0) {
		c->termios_saved = true;
		restore_on_signals(c, 1);
	}
}

size_t host_console_filter_escapes(struct host_console *c, const uint8_t *in, size_t len, uint8_t *buf, bool *stop)
{
	size_t out = 0;
	*stop = false;
	for (size_t i = 0; i < len; i++) {
		uint8_t b = in[i];
		if (c->escape_pending) {
			c->escape_pending = false;
			if (b == 'x' || b == 'X') {
				*stop = true;
				return out;
			}
			buf[out++] = HOST_CONSOLE_ESCAPE; /* Ctrl-A then anything else: both go through */
			if (b == HOST_CONSOLE_ESCAPE)
				continue;
		} else if (b == HOST_CONSOLE_ESCAPE) {
			c->escape_pending = true;
			continue;
		}
		buf[out++] = b;
	}
	return out;
}

static void wait_a_little(void)
{
	struct timespec ts = {0, 2 * 1000 * 1000};
	nanosleep(&ts, NULL);
}

/* Hands all of buf to the guest, waiting while its FIFO is full; false once stopping. */
static bool deliver_all(struct host_console *c, const uint8_t *buf, size_t len)
{
	while (len) {
		size_t n = c->deliver(c->opaque, buf, len);
		buf += n;
		len -= n;
		if (len) {
			struct pollfd p = {.fd = c->stop_fd, .events = POLLIN};
			if (poll(&p, 1, 0) > 0)
				return false;
			wait_a_little();
		}
	}
	return true;
}

static void *input_thread(void *arg)
{
	struct host_console *c = arg;
	if (vmm_thread_lockdown(SIGRTMIN) < 0)
		return NULL;
	uint8_t in[512], buf[sizeof in + 1];
	for (;;) {
		struct pollfd p[2] = {{.fd = c->stop_fd, .events = POLLIN}, {.fd = c->in_fd, .events = POLLIN}};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents)
			break;
		ssize_t n = read(c->in_fd, in, sizeof in);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break; /* end of input: the guest just sees no more */
		size_t len = (size_t)n;
		bool stop = false;
		if (c->in_is_tty)
			len = host_console_filter_escapes(c, in, len, buf, &stop);
		else
			memcpy(buf, in, len);
		if (!deliver_all(c, buf, len))
			break;
		if (stop) {
			c->user_stop(c->opaque);
			break;
		}
	}
	return NULL;
}

int host_console_start(struct host_console *c)
{
	if (c->in_fd < 0)
		return 0;
	make_raw(c);
	if (pthread_create(&c->thread, NULL, input_thread, c) != 0)
		return error("cannot start the console input thread");
	c->thread_started = true;
	return 0;
}

static void flush_output(struct host_console *c)
{
	if (c->out_len && c->out_fd >= 0)
		write_all(c->out_fd, c->out_buf, c->out_len);
	c->out_len = 0;
}

void host_console_output(struct host_console *c, uint8_t byte)
{
	c->out_buf[c->out_len++] = byte;
	if (c->out_is_tty || byte == '\n' || c->out_len == sizeof c->out_buf)
		flush_output(c);
}

void host_console_finish(struct host_console *c)
{
	if (c->thread_started) {
		uint64_t one = 1;
		if (write(c->stop_fd, &one, sizeof one) < 0)
			warning("console: cannot wake the input thread");
		pthread_join(c->thread, NULL);
		c->thread_started = false;
	}
	flush_output(c);
	if (c->termios_saved) {
		tcsetattr(c->in_fd, TCSANOW, &c->saved);
		restore_on_signals(c, 0);
	}
	c->termios_saved = false;
	if (c->stop_fd >= 0)
		close(c->stop_fd);
	c->stop_fd = -1;
}
