/* tests/vmm/guests/lib.c: UART output and input, CRC-32, the command line, and the ways out. */
#include "guest.h"

#define COM1 0x3f8

struct acpi_found g_acpi;

void *memset(void *d, int c, size_t n)
{
	uint8_t *p = d;
	while (n--)
		*p++ = (uint8_t)c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	uint8_t *a = d;
	const uint8_t *b = s;
	while (n--)
		*a++ = *b++;
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;
	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

void uart_init(void)
{
	outb(COM1 + 1, 0x00); /* no interrupts */
	outb(COM1 + 3, 0x80); /* DLAB */
	outb(COM1 + 0, 0x01); /* 115200 */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03); /* 8N1 */
	outb(COM1 + 2, 0x01); /* FIFO on (not cleared: the host may have typed ahead) */
}

void putc_(char c)
{
	while (!(inb(COM1 + 5) & 0x20))
		;
	outb(COM1, (uint8_t)c);
}

void puts_(const char *s)
{
	while (*s)
		putc_(*s++);
}

void puthex(uint64_t v)
{
	char b[17];
	int i = 16;
	b[16] = 0;
	do {
		b[--i] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	puts_("0x");
	puts_(b + i);
}

void putdec(uint64_t v)
{
	char b[21];
	int i = 20;
	b[20] = 0;
	do {
		b[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	puts_(b + i);
}

void print(const char *key, const char *s)
{
	puts_(key);
	putc_(' ');
	puts_(s);
	putc_('\n');
}

int uart_getc(void)
{
	while (!(inb(COM1 + 5) & 0x01))
		;
	return inb(COM1);
}

static uint32_t crc_table[256];

uint32_t crc32(uint32_t crc, const void *p, size_t n)
{
	if (!crc_table[1])
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
			crc_table[i] = c;
		}
	const uint8_t *b = p;
	crc = ~crc;
	while (n--)
		crc = crc_table[(crc ^ *b++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

int cmdline_get(const char *cl, const char *key, char *out, size_t n)
{
	size_t kl = strlen(key);
	for (const char *p = cl; *p; p++) {
		if ((p == cl || p[-1] == ' ') && !memcmp(p, key, kl) && p[kl] == '=') {
			const char *v = p + kl + 1;
			size_t i = 0;
			while (v[i] && v[i] != ' ' && i + 1 < n) {
				out[i] = v[i];
				i++;
			}
			out[i] = 0;
			return 1;
		}
	}
	return 0;
}

uint64_t parse_u64(const char **s)
{
	uint64_t v = 0;
	while (**s >= '0' && **s <= '9')
		v = v * 10 + (uint64_t)(*(*s)++ - '0');
	return v;
}

static void __attribute__((noreturn)) hang(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

void guest_exit(enum guest_exit how)
{
	switch (how) {
	case EXIT_ACPI:
		/* ACPI 6.5, 4.8.3.7: SLP_TYP of \_S5 in bits 2-4, SLP_EN (bit 5). */
		outb(g_acpi.sleep_control_port, (uint8_t)(5 << 2 | 0x20));
		break;
	case EXIT_RESET_REG:
		outb(g_acpi.reset_port, g_acpi.reset_value);
		break;
	case EXIT_I8042:
		while (inb(0x64) & 0x02)
			;
		outb(0x64, 0xfe);
		break;
	case EXIT_TRIPLE: {
		struct __attribute__((packed)) { uint16_t limit; uint64_t base; } idt = {0, 0};
		__asm__ volatile("lidt %0; ud2" ::"m"(idt));
		break;
	}
	case EXIT_HANG:
		break;
	}
	hang();
}
