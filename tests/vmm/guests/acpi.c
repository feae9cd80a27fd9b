/* tests/vmm/guests/acpi.c: find the RSDP both ways and check every table the VMM built. */
#include "guest.h"

static int sum_ok(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *b++);
	return s == 0;
}

static uint32_t rd32(uint64_t a) { return *(const uint32_t *)a; }
static uint64_t rd64(uint64_t a) { uint64_t v; memcpy(&v, (const void *)a, 8); return v; }

/* The BIOS way (ACPI 6.5, 5.2.5.1): on a 16-byte boundary in 0xE0000-0xFFFFF. */
static uint64_t scan_rsdp(void)
{
	for (uint64_t a = 0xe0000; a < 0x100000; a += 16)
		if (!memcmp((const void *)a, "RSD PTR ", 8) && sum_ok((const void *)a, 20))
			return a;
	return 0;
}

static int table_ok(const char *what, uint64_t a, const char *sig)
{
	uint32_t len = rd32(a + 4);
	int ok = !memcmp((const void *)a, sig, 4) && len >= 36 && len < 65536 && sum_ok((const void *)a, len);
	puts_("ACPI table=");
	puts_(what);
	puts_(" addr=");
	puthex(a);
	puts_(" len=");
	putdec(len);
	puts_(ok ? " checksum=ok\n" : " checksum=BAD\n");
	return ok;
}

static void check_fadt(uint64_t f, struct acpi_found *out)
{
	out->dsdt = rd64(f + 140);
	out->hw_reduced = (rd32(f + 112) >> 20) & 1;
	out->reset_port = (uint16_t)rd64(f + 116 + 4);
	out->reset_value = *(const uint8_t *)(f + 128);
	out->sleep_control_port = (uint16_t)rd64(f + 244 + 4);
}

static void count_lapics(uint64_t m, struct acpi_found *out)
{
	uint32_t len = rd32(m + 4);
	for (uint64_t e = m + 44; e + 2 <= m + len && *(const uint8_t *)(e + 1); e += *(const uint8_t *)(e + 1))
		if (*(const uint8_t *)e == 0)
			out->n_lapic++;
}

/* Does the DSDT mention s? (a byte search: the AML string "LNRO0005" is stored verbatim) */
static int dsdt_has(uint64_t d, const char *s)
{
	uint32_t len = rd32(d + 4);
	size_t n = strlen(s);
	for (uint64_t a = d + 36; a + n <= d + len; a++)
		if (!memcmp((const void *)a, s, n))
			return 1;
	return 0;
}

int acpi_check(uint64_t zp_rsdp, struct acpi_found *out)
{
	memset(out, 0, sizeof *out);
	uint64_t scanned = scan_rsdp();
	puts_("ACPI rsdp_zero_page=");
	puthex(zp_rsdp);
	puts_(" rsdp_scanned=");
	puthex(scanned);
	putc_('\n');
	if (!zp_rsdp || zp_rsdp != scanned)
		return -1;
	const uint8_t *r = (const uint8_t *)zp_rsdp;
	if (r[15] < 2 || !sum_ok(r, 36))
		return -1;
	out->rsdp = zp_rsdp;
	out->xsdt = rd64(zp_rsdp + 24);
	int ok = table_ok("XSDT", out->xsdt, "XSDT");
	uint32_t n = (rd32(out->xsdt + 4) - 36) / 8;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t t = rd64(out->xsdt + 36 + 8 * i);
		if (!memcmp((const void *)t, "FACP", 4)) {
			out->fadt = t;
			ok &= table_ok("FACP", t, "FACP");
			check_fadt(t, out);
		} else if (!memcmp((const void *)t, "APIC", 4)) {
			out->madt = t;
			ok &= table_ok("APIC", t, "APIC");
			count_lapics(t, out);
		} else {
			ok &= table_ok("other", t, (const char *)t);
		}
	}
	if (!out->fadt || !out->madt || !out->dsdt)
		return -1;
	ok &= table_ok("DSDT", out->dsdt, "DSDT");
	int virtio = dsdt_has(out->dsdt, "LNRO0005"), com1 = dsdt_has(out->dsdt, "COM1"), s5 = dsdt_has(out->dsdt, "_S5_");
	puts_("ACPI hw_reduced=");
	putdec((uint64_t)out->hw_reduced);
	puts_(" lapics=");
	putdec(out->n_lapic);
	puts_(" sleep_control=");
	puthex(out->sleep_control_port);
	puts_(" reset=");
	puthex(out->reset_port);
	puts_(" dsdt_virtio=");
	putdec((uint64_t)virtio);
	puts_(" dsdt_com1=");
	putdec((uint64_t)com1);
	puts_(" dsdt_s5=");
	putdec((uint64_t)s5);
	putc_('\n');
	return ok && out->hw_reduced && out->sleep_control_port && com1 && s5 ? 0 : -1;
}
