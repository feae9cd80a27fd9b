/* vmm/host_console.h: the host side of COM1: a terminal or pipes.
 *
 * Output from the guest is written to the output descriptor, at once on a
 * terminal and line by line otherwise (flushed at the end). Input is read
 * by a thread of its own and handed to the UART as fast as the guest
 * drains its FIFO. On a terminal, input is made raw (no echo, no line
 * editing, no signals: Ctrl-C goes to the guest) and restored at the end,
 * and Ctrl-A x stops the VM, as in QEMU; Ctrl-A Ctrl-A sends one Ctrl-A.
 */
#ifndef APKG_VMM_HOST_CONSOLE_H
#define APKG_VMM_HOST_CONSOLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <termios.h>

#define HOST_CONSOLE_ESCAPE 0x01 /* Ctrl-A */

struct host_console {
	int in_fd, out_fd;
	bool out_is_tty, in_is_tty, termios_saved;
	struct termios saved;
	uint8_t out_buf[4096];
	size_t out_len;
	int stop_fd;          /* eventfd: wakes the input thread at the end */
	pthread_t thread;
	bool thread_started;
	bool escape_pending;
	/* Where input goes: called with the bytes, returns how many were taken. */
	size_t (*deliver)(void *opaque, const uint8_t *buf, size_t len);
	void (*user_stop)(void *opaque);
	void *opaque;
};

int host_console_init(struct host_console *c, int in_fd, int out_fd, size_t (*deliver)(void *, const uint8_t *, size_t),
		 void (*user_stop)(void *), void *opaque);
/* Starts the input thread (if there is input). */
int host_console_start(struct host_console *c);
/* One byte from the guest. */
void host_console_output(struct host_console *c, uint8_t byte);
/* Stops the input thread, flushes the output, restores the terminal. */
void host_console_finish(struct host_console *c);

/* Exposed for the tests: copies in to out (room for len + 1 bytes) without
 * the escapes, returns the bytes for the guest; *stop on Ctrl-A x. */
size_t host_console_filter_escapes(struct host_console *c, const uint8_t *in, size_t len, uint8_t *out, bool *stop);

#endif
