/* vmm/rtc.h: a read-only MC146818 CMOS clock at ports 0x70/0x71.
 *
 * The FADT tells the guest there is no CMOS RTC, and Linux takes the wall
 * clock from kvmclock; but code that reads the CMOS anyway (a BIOS-style
 * `hwclock`, an old kernel path) must not spin on an update-in-progress bit
 * that reads as 1 forever from an empty port. So the registers read the
 * host's UTC time in BCD, 24-hour mode, never updating (UIP clear), and
 * writes are ignored. No alarm, no periodic interrupt, no NVRAM.
 */
#ifndef APKG_VMM_RTC_H
#define APKG_VMM_RTC_H

#include <stdint.h>
#include <time.h>

#define RTC_PORT_INDEX 0x70
#define RTC_PORT_DATA 0x71

struct rtc {
	uint8_t index;
};

/* An access to port 0x70 or 0x71; now is the host's time. */
void rtc_io(struct rtc *r, uint16_t port, uint8_t *data, int is_write, time_t now);

#endif
