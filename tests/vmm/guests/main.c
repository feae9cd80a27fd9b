/* tests/vmm/guests/main.c: the test guest's scenarios, chosen on the kernel command line.
 *
 *   test=zeropage   the boot protocol: header fields, command line, e820, initrd (CRC-32)
 *   test=uart       reads a line by polling and echoes it
 *   test=uart-irq   reads a line by interrupt (IOAPIC GSI 4)
 *   test=acpi       (always run) RSDP both ways, every table's checksum, the DSDT's devices
 *   test=virtio     virtio-blk: features, GET_ID, read=S:C,..., write=S, irq=1, malformed=1
 *   test=seccomp    asks the VMM (test build) for a forbidden syscall
 *   exit=acpi|reset|i8042|triple|hang   how it ends (default acpi)
 * Every scenario ends with "RESULT ok" or "RESULT fail", then exits. With
 * apkg.check=1 it also reports like apkg's in-guest probe (APKG-PROBE,
 * APKG-CHECK, APKG-RESULT lines), so `apkg test --target vmm` can judge it.
 */
#include "guest.h"

extern struct acpi_found g_acpi;

static uint16_t zp16(const uint8_t *zp, unsigned off) { uint16_t v; memcpy(&v, zp + off, 2); return v; }
static uint32_t zp32(const uint8_t *zp, unsigned off) { uint32_t v; memcpy(&v, zp + off, 4); return v; }
static uint64_t zp64(const uint8_t *zp, unsigned off) { uint64_t v; memcpy(&v, zp + off, 8); return v; }

/* Documentation/arch/x86/zero-page.rst and boot.rst offsets. */
static int zeropage_test(const uint8_t *zp)
{
	puts_("ZP version=");
	puthex(zp16(zp, 0x206));
	puts_(" loader=");
	puthex(zp[0x210]);
	puts_(" cmd_line_ptr=");
	puthex(zp32(zp, 0x228));
	puts_(" header=");
	puts_(!memcmp(zp + 0x202, "HdrS", 4) ? "HdrS" : "missing");
	putc_('\n');
	unsigned n = zp[0x1e8];
	for (unsigned i = 0; i < n && i < 128; i++) {
		const uint8_t *e = zp + 0x2d0 + 20 * i;
		puts_("E820 addr=");
		puthex(zp64(e, 0));
		puts_(" size=");
		puthex(zp64(e, 8));
		puts_(" type=");
		putdec(zp32(e, 16));
		putc_('\n');
	}
	uint64_t initrd = zp32(zp, 0x218), size = zp32(zp, 0x21c);
	puts_("INITRD addr=");
	puthex(initrd);
	puts_(" size=");
	putdec(size);
	puts_(" crc=");
	puthex(size ? crc32(0, (const void *)initrd, size) : 0);
	putc_('\n');
	return n ? 0 : -1;
}

static int uart_test(void)
{
	char line[80];
	unsigned n = 0;
	print("UART", "ready");
	for (;;) {
		int c = uart_getc();
		if (c == '\n' || c == '\r' || n == sizeof line - 1)
			break;
		line[n++] = (char)c;
	}
	line[n] = 0;
	print("UART echo", line);
	return 0;
}

static enum guest_exit exit_method(const char *cmdline)
{
	char how[16];
	if (!cmdline_get(cmdline, "exit", how, sizeof how) || !memcmp(how, "acpi", 5))
		return EXIT_ACPI;
	if (!memcmp(how, "reset", 6))
		return EXIT_RESET_REG;
	if (!memcmp(how, "i8042", 6))
		return EXIT_I8042;
	if (!memcmp(how, "triple", 7))
		return EXIT_TRIPLE;
	return EXIT_HANG;
}

static int run_test(const char *test, const uint8_t *zp, const char *cmdline)
{
	if (!memcmp(test, "zeropage", 9))
		return zeropage_test(zp);
	if (!memcmp(test, "uart", 5))
		return uart_test();
	if (!memcmp(test, "uart-irq", 9))
		return serial_irq_test();
	if (!memcmp(test, "virtio", 7))
		return virtio_tests(cmdline);
	if (!memcmp(test, "seccomp", 8)) {
		outb(0x611, 1);
		return -1; /* still alive: the VMM did not die */
	}
	return 0; /* test=none: ACPI only */
}

void guest_main(const uint8_t *zp)
{
	uart_init();
	const char *cmdline = (const char *)(uint64_t)zp32(zp, 0x228);
	print("GUEST cmdline", cmdline);
	int ok = acpi_check(zp64(zp, 0x070), &g_acpi) == 0;
	char test[32];
	if (cmdline_get(cmdline, "test", test, sizeof test))
		ok &= run_test(test, zp, cmdline) == 0;
	print("RESULT", ok ? "ok" : "fail");
	char check[8];
	if (cmdline_get(cmdline, "apkg.check", check, sizeof check) && check[0] == '1') {
		puts_("APKG-PROBE {\"checks\":1}\n");
		puts_(ok ? "APKG-CHECK {\"check\":\"vmm guest\",\"ok\":true,\"detail\":\"scenario passed\",\"ms\":0}\n"
			 : "APKG-CHECK {\"check\":\"vmm guest\",\"ok\":false,\"detail\":\"scenario failed\",\"ms\":0}\n");
		puts_(ok ? "APKG-RESULT {\"passed\":1,\"failed\":0}\n" : "APKG-RESULT {\"passed\":0,\"failed\":1}\n");
	}
	guest_exit(exit_method(cmdline));
}
