/* tests/vmm/guests/irq.c: interrupts through the IOAPIC and the local APIC.
 *
 * Proves the VMM's interrupt lines reach a guest the way they reach Linux:
 * an IDT with two vectors, the local APIC software-enabled, and IOAPIC
 * redirection entries (edge, active high, fixed, to APIC 0) for the GSIs
 * the DSDT gives: 5 for the first virtio-mmio device, 4 for COM1.
 */
#include "guest.h"

#define LAPIC 0xfee00000ull
#define LAPIC_TPR 0x80
#define LAPIC_EOI 0xb0
#define LAPIC_SVR 0xf0
#define IOAPIC 0xfec00000ull
#define VEC_VIRTIO 0x30
#define VEC_SERIAL 0x31
#define COM1 0x3f8
#define VIRTIO_BASE 0xd0000000ull

struct __attribute__((packed)) idt_gate {
	uint16_t off0, sel;
	uint8_t ist, type;
	uint16_t off1;
	uint32_t off2, zero;
};

static struct idt_gate idt[256] __attribute__((aligned(16)));
extern char irq_stub_0x30[], irq_stub_0x31[];
volatile unsigned irq_count[2];
static volatile char serial_line[64];
static volatile unsigned serial_len;

static void set_gate(unsigned v, void *handler)
{
	uint64_t a = (uint64_t)handler;
	idt[v] = (struct idt_gate){(uint16_t)a, 0x10, 0, 0x8e, (uint16_t)(a >> 16), (uint32_t)(a >> 32), 0};
}

static void ioapic_write(uint32_t reg, uint32_t v)
{
	mmio_write32(IOAPIC, reg);
	mmio_write32(IOAPIC + 0x10, v);
}

void irq_setup(void)
{
	set_gate(VEC_VIRTIO, irq_stub_0x30);
	set_gate(VEC_SERIAL, irq_stub_0x31);
	struct __attribute__((packed)) { uint16_t limit; uint64_t base; } d = {sizeof idt - 1, (uint64_t)idt};
	__asm__ volatile("lidt %0" ::"m"(d));
	mmio_write32(LAPIC + LAPIC_TPR, 0);
	mmio_write32(LAPIC + LAPIC_SVR, 0x1ff); /* enabled, spurious vector 0xff */
}

void irq_route(unsigned gsi, uint8_t vector)
{
	ioapic_write(0x10 + 2 * gsi + 1, 0);      /* destination: APIC ID 0 */
	ioapic_write(0x10 + 2 * gsi, vector);     /* fixed, physical, active high, edge, unmasked */
}

void irq_handler(unsigned vector)
{
	if (vector == VEC_VIRTIO) {
		uint32_t st = mmio_read32(VIRTIO_BASE + 0x60);
		mmio_write32(VIRTIO_BASE + 0x64, st);
		irq_count[0]++;
	} else {
		(void)inb(COM1 + 2); /* IIR */
		while (inb(COM1 + 5) & 1) {
			char c = (char)inb(COM1);
			if (serial_len < sizeof serial_line - 1)
				serial_line[serial_len++] = c;
		}
		irq_count[1]++;
	}
	mmio_write32(LAPIC + LAPIC_EOI, 0);
}

void irq_wait(volatile unsigned *counter, unsigned target)
{
	__asm__ volatile("cli");
	while (*counter < target)
		__asm__ volatile("sti; hlt; cli" ::: "memory");
}

static int line_done(void)
{
	for (unsigned i = 0; i < serial_len; i++)
		if (serial_line[i] == '\n' || serial_line[i] == '\r')
			return 1;
	return 0;
}

/* Receives one line by interrupt: IER.RDI with MCR.OUT2 (the PC's interrupt gate). */
int serial_irq_test(void)
{
	irq_setup();
	irq_route(4, VEC_SERIAL);
	outb(COM1 + 4, 0x0b); /* DTR, RTS, OUT2 */
	outb(COM1 + 1, 0x01); /* IER: received data available */
	print("UART", "irq-ready");
	__asm__ volatile("cli");
	while (!line_done())
		__asm__ volatile("sti; hlt; cli" ::: "memory");
	outb(COM1 + 1, 0);
	char buf[64];
	unsigned n = 0;
	for (; n < serial_len && serial_line[n] != '\n' && serial_line[n] != '\r'; n++)
		buf[n] = serial_line[n];
	buf[n] = 0;
	puts_("UART irq line=");
	puts_(buf);
	puts_(" interrupts=");
	putdec(irq_count[1]);
	putc_('\n');
	return irq_count[1] ? 0 : -1;
}
