/* tests/vmm/guests/guest.h: the freestanding library of apkg's VMM test guest.
 *
 * The guest runs in long mode on the VMM's identity-mapped boot page
 * tables, single-threaded, without SSE (it must stay clear of cmpxchg16b,
 * xsave/xrstor and int3, which kvm-pvm's emulator cannot run). It reports
 * on COM1 in lines the host test parses: "KEY field=value ...".
 */
#ifndef GUEST_H
#define GUEST_H

#include <stddef.h>
#include <stdint.h>

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint32_t mmio_read32(uint64_t a) { return *(volatile uint32_t *)a; }
static inline void mmio_write32(uint64_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline void barrier(void) { __asm__ volatile("" ::: "memory"); }

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

void uart_init(void);
void putc_(char c);
void puts_(const char *s);
void puthex(uint64_t v);
void putdec(uint64_t v);
void print(const char *key, const char *s);         /* "key s\n" */
int uart_getc(void);                                  /* polls; -1 never */

uint32_t crc32(uint32_t crc, const void *p, size_t n); /* zlib's CRC-32 */

/* Finds "key=" on the command line; copies the value (up to a space) to out. 0 if absent. */
int cmdline_get(const char *cmdline, const char *key, char *out, size_t n);
uint64_t parse_u64(const char **s);

enum guest_exit { EXIT_ACPI, EXIT_I8042, EXIT_TRIPLE, EXIT_HANG, EXIT_RESET_REG };
void guest_exit(enum guest_exit how) __attribute__((noreturn));
void guest_main(const uint8_t *zp);

/* acpi.c */
struct acpi_found {
	uint64_t rsdp, xsdt, fadt, madt, dsdt;
	unsigned n_lapic;
	uint16_t sleep_control_port, reset_port;
	uint8_t reset_value;
	int hw_reduced;
};
int acpi_check(uint64_t rsdp_from_zero_page, struct acpi_found *out);

/* virtio.c */
int virtio_tests(const char *cmdline);
/* irq.c */
void irq_setup(void);
void irq_route(unsigned gsi, uint8_t vector);
void irq_handler(unsigned vector);
extern volatile unsigned irq_count[2];
void irq_wait(volatile unsigned *counter, unsigned target);
int serial_irq_test(void);

#endif
