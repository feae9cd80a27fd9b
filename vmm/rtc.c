/* vmm/rtc.c: MC146818 time registers, read-only (Motorola MC146818A data sheet). */
#include "vmm/rtc.h"

static uint8_t bcd(int v) { return (uint8_t)((v / 10) << 4 | v % 10); }

static uint8_t read_register(uint8_t index, time_t now)
{
	struct tm tm;
	gmtime_r(&now, &tm);
	switch (index) {
	case 0x00: return bcd(tm.tm_sec);
	case 0x02: return bcd(tm.tm_min);
	case 0x04: return bcd(tm.tm_hour);
	case 0x06: return bcd(tm.tm_wday + 1);
	case 0x07: return bcd(tm.tm_mday);
	case 0x08: return bcd(tm.tm_mon + 1);
	case 0x09: return bcd(tm.tm_year % 100);
	case 0x32: return bcd(19 + tm.tm_year / 100); /* century (ACPI FADT CENTURY convention) */
	case 0x0a: return 0x26;                       /* 32.768 kHz divider, 1024 Hz rate, UIP clear */
	case 0x0b: return 0x02;                       /* 24-hour mode, BCD, no interrupts enabled */
	case 0x0d: return 0x80;                       /* valid RAM and time */
	default: return 0x00;
	}
}

void rtc_io(struct rtc *r, uint16_t port, uint8_t *data, int is_write, time_t now)
{
	if (port == RTC_PORT_INDEX) {
		if (is_write)
			r->index = *data & 0x7f; /* bit 7 is the NMI mask */
		else
			*data = 0xff;
		return;
	}
	if (!is_write)
		*data = read_register(r->index, now);
}
