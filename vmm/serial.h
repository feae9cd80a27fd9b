/* vmm/serial.h: a 16550A-compatible UART (COM1), both directions.
 *
 * Register behaviour follows the National Semiconductor PC16550D data
 * sheet closely enough for Linux's 8250 driver to detect a 16550A (scratch
 * register, loopback through MCR/MSR, FIFO bits in IIR) and to drive it by
 * interrupt. Transmission is instant. Received bytes wait in a FIFO of
 * SERIAL_RX_FIFO bytes that the host console fills. The caller serialises
 * all calls (the VMM's device lock).
 */
#ifndef APKG_VMM_SERIAL_H
#define APKG_VMM_SERIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SERIAL_RX_FIFO 256

struct serial {
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	bool thr_interrupt; /* THR empty and not yet acknowledged by reading IIR */
	uint8_t rx[SERIAL_RX_FIFO];
	unsigned rx_head, rx_count;
	int irq_level;
	unsigned irq;
	void (*output)(void *opaque, uint8_t byte);
	void (*set_irq)(void *opaque, unsigned irq, int level);
	void *opaque;
};

void serial_init(struct serial *s, unsigned irq, void (*output)(void *opaque, uint8_t byte),
		 void (*set_irq)(void *opaque, unsigned irq, int level), void *opaque);
/* An access to register off (0..7) of the UART. */
void serial_io(struct serial *s, unsigned off, uint8_t *data, int is_write);
/* Free room in the receive FIFO. */
size_t serial_rx_room(const struct serial *s);
/* Queues host input for the guest; returns how many bytes fit. */
size_t serial_receive(struct serial *s, const uint8_t *buf, size_t len);

#endif
