/* vmm/serial.c: 16550A UART emulation (PC16550D data sheet; cf. kvmtool hw/serial.c). */
#include "vmm/serial.h"

#include <string.h>

/* Registers (offset from the base port) and their bits. */
enum { RBR_THR = 0, IER = 1, IIR_FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };
#define IER_RDI 0x01
#define IER_THRI 0x02
#define IIR_NO_INT 0x01
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_FIFO_ENABLED 0xc0
#define FCR_ENABLE_FIFO 0x01
#define FCR_CLEAR_RCVR 0x02
#define LCR_DLAB 0x80
#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

void serial_init(struct serial *s, unsigned irq, void (*output)(void *opaque, uint8_t byte),
		 void (*set_irq)(void *opaque, unsigned irq, int level), void *opaque)
{
	memset(s, 0, sizeof *s);
	s->irq = irq;
	s->output = output;
	s->set_irq = set_irq;
	s->opaque = opaque;
	s->dll = 12; /* 9600 baud, as after a BIOS */
}

static uint8_t pending_interrupt(const struct serial *s)
{
	if ((s->ier & IER_RDI) && s->rx_count)
		return IIR_RDI;
	if ((s->ier & IER_THRI) && s->thr_interrupt)
		return IIR_THRI;
	return IIR_NO_INT;
}

/* The line follows "an interrupt is pending"; the IOAPIC sees the rising edge.
 * OUT2 gates the interrupt to the PC's interrupt controller. */
static void update_irq(struct serial *s)
{
	int level = pending_interrupt(s) != IIR_NO_INT && (s->mcr & MCR_OUT2);
	if (level != s->irq_level) {
		s->irq_level = level;
		if (s->set_irq)
			s->set_irq(s->opaque, s->irq, level);
	}
}

static void rx_push(struct serial *s, uint8_t byte)
{
	if (s->rx_count == SERIAL_RX_FIFO)
		return; /* overrun: the byte is lost, as on the wire */
	s->rx[(s->rx_head + s->rx_count) % SERIAL_RX_FIFO] = byte;
	s->rx_count++;
}

static uint8_t rx_pop(struct serial *s)
{
	if (!s->rx_count)
		return 0;
	uint8_t b = s->rx[s->rx_head];
	s->rx_head = (s->rx_head + 1) % SERIAL_RX_FIFO;
	s->rx_count--;
	return b;
}

static uint8_t modem_status(const struct serial *s)
{
	if (!(s->mcr & MCR_LOOP))
		return MSR_DCD | MSR_DSR | MSR_CTS; /* a terminal is always connected */
	uint8_t m = 0; /* loopback: the modem outputs come back as inputs */
	if (s->mcr & MCR_RTS) m |= MSR_CTS;
	if (s->mcr & MCR_DTR) m |= MSR_DSR;
	if (s->mcr & MCR_OUT1) m |= MSR_RI;
	if (s->mcr & MCR_OUT2) m |= MSR_DCD;
	return m;
}

static void write_register(struct serial *s, unsigned off, uint8_t v)
{
	int dlab = s->lcr & LCR_DLAB;
	switch (off) {
	case RBR_THR:
		if (dlab) {
			s->dll = v;
		} else {
			if (s->mcr & MCR_LOOP)
				rx_push(s, v);
			else if (s->output)
				s->output(s->opaque, v);
			s->thr_interrupt = true; /* transmitted at once: THR is empty again */
		}
		break;
	case IER:
		if (dlab) {
			s->dlm = v;
		} else {
			if ((v & IER_THRI) && !(s->ier & IER_THRI))
				s->thr_interrupt = true;
			s->ier = v & 0x0f;
		}
		break;
	case IIR_FCR:
		s->fcr = v & 0xc9;
		if (v & FCR_CLEAR_RCVR)
			s->rx_head = s->rx_count = 0;
		break;
	case LCR: s->lcr = v; break;
	case MCR: s->mcr = v & 0x1f; break;
	case SCR: s->scr = v; break;
	default: break; /* LSR and MSR are read-only */
	}
}

static uint8_t read_register(struct serial *s, unsigned off)
{
	int dlab = s->lcr & LCR_DLAB;
	switch (off) {
	case RBR_THR: return dlab ? s->dll : rx_pop(s);
	case IER: return dlab ? s->dlm : s->ier;
	case IIR_FCR: {
		uint8_t iir = pending_interrupt(s);
		if (iir == IIR_THRI)
			s->thr_interrupt = false; /* reading IIR acknowledges THRE */
		return iir | ((s->fcr & FCR_ENABLE_FIFO) ? IIR_FIFO_ENABLED : 0);
	}
	case LCR: return s->lcr;
	case MCR: return s->mcr;
	case LSR: return LSR_THRE | LSR_TEMT | (s->rx_count ? LSR_DR : 0);
	case MSR: return modem_status(s);
	case SCR: return s->scr;
	default: return 0xff;
	}
}

void serial_io(struct serial *s, unsigned off, uint8_t *data, int is_write)
{
	if (is_write)
		write_register(s, off & 7, *data);
	else
		*data = read_register(s, off & 7);
	update_irq(s);
}

size_t serial_rx_room(const struct serial *s)
{
	return SERIAL_RX_FIFO - s->rx_count;
}

size_t serial_receive(struct serial *s, const uint8_t *buf, size_t len)
{
	size_t n = 0;
	while (n < len && s->rx_count < SERIAL_RX_FIFO)
		rx_push(s, buf[n++]);
	update_irq(s);
	return n;
}
