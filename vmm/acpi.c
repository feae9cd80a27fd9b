/* vmm/acpi.c: RSDP, XSDT, FADT, MADT and DSDT builders (ACPI 6.5, 5.2). */
#include "vmm/acpi.h"

#include "util/diag.h"
#include "util/io.h"
#include "util/strbuf.h"
#include "vmm/aml.h"
#include "vmm/layout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_LEN 36
#define FADT_LEN 276 /* ACPI 6.5 FADT, revision 6 */

/* FADT flags (5.2.9, table "Fixed ACPI Description Table Fixed Feature Flags"). */
#define FADT_F_WBINVD (1u << 0)
#define FADT_F_PWR_BUTTON (1u << 4)
#define FADT_F_SLP_BUTTON (1u << 5)
#define FADT_F_RESET_REG_SUP (1u << 10)
#define FADT_F_HW_REDUCED_ACPI (1u << 20)
/* IA-PC boot architecture flags (5.2.9.3). */
#define IAPC_VGA_NOT_PRESENT (1u << 2)
#define IAPC_MSI_NOT_SUPPORTED (1u << 3)
#define IAPC_CMOS_RTC_NOT_PRESENT (1u << 5)
#define GAS_SYSTEM_IO 1
#define GAS_ACCESS_BYTE 1

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

uint8_t acpi_checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;
	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	return (uint8_t)-sum;
}

/* 5.2.6 System Description Table Header; length and checksum are set when the table is finished. */
static void header(uint8_t *h, const char *sig, uint8_t revision)
{
	memcpy(h, sig, 4);
	h[8] = revision;
	memcpy(h + 10, "APKG  ", 6);
	memcpy(h + 16, "APKGVMM ", 8);
	put32(h + 24, 1);
	memcpy(h + 28, "APKG", 4);
	put32(h + 32, 1);
}

static void finish(uint8_t *t, size_t len)
{
	put32(t + 4, (uint32_t)len);
	t[9] = 0;
	t[9] = acpi_checksum(t, len);
}

/* 5.2.3.2 Generic Address Structure: one byte in I/O space. */
static void gas_io_byte(uint8_t *g, uint16_t port)
{
	g[0] = GAS_SYSTEM_IO;
	g[1] = 8;
	g[2] = 0;
	g[3] = GAS_ACCESS_BYTE;
	put64(g + 4, port);
}

static size_t build_fadt(uint8_t *t, uint64_t dsdt_gpa)
{
	memset(t, 0, FADT_LEN);
	header(t, "FACP", 6);
	put32(t + 40, (uint32_t)dsdt_gpa);
	put16(t + 109, IAPC_VGA_NOT_PRESENT | IAPC_MSI_NOT_SUPPORTED | IAPC_CMOS_RTC_NOT_PRESENT);
	put32(t + 112, FADT_F_WBINVD | FADT_F_PWR_BUTTON | FADT_F_SLP_BUTTON | FADT_F_RESET_REG_SUP |
			       FADT_F_HW_REDUCED_ACPI);
	gas_io_byte(t + 116, VMM_PORT_RESET);
	t[128] = VMM_RESET_VALUE;
	t[131] = 5; /* FADT minor version: ACPI 6.5 */
	put64(t + 140, dsdt_gpa);
	gas_io_byte(t + 244, VMM_PORT_SLEEP_CONTROL);
	gas_io_byte(t + 256, VMM_PORT_SLEEP_STATUS);
	memcpy(t + 268, "APKGVMM", 8); /* hypervisor vendor identity */
	finish(t, FADT_LEN);
	return FADT_LEN;
}

/* 5.2.12 MADT: a local APIC per vCPU (5.2.12.2) and the IOAPIC (5.2.12.3). */
static size_t build_madt(uint8_t *t, unsigned n_cpus)
{
	size_t len = HEADER_LEN + 8 + 8 * n_cpus + 12;
	memset(t, 0, len);
	header(t, "APIC", 5);
	put32(t + 36, (uint32_t)VMM_LAPIC_ADDR);
	put32(t + 40, 0); /* no PC-AT 8259s: a hardware-reduced guest ignores them */
	uint8_t *e = t + 44;
	for (unsigned i = 0; i < n_cpus; i++, e += 8) {
		e[0] = 0;
		e[1] = 8;
		e[2] = (uint8_t)i; /* ACPI processor UID */
		e[3] = (uint8_t)i; /* APIC ID */
		put32(e + 4, 1);   /* enabled */
	}
	e[0] = 1;
	e[1] = 12;
	e[2] = (uint8_t)n_cpus; /* IOAPIC ID, after the local APICs */
	put32(e + 4, (uint32_t)VMM_IOAPIC_ADDR);
	put32(e + 8, 0); /* GSI base */
	finish(t, len);
	return len;
}

static void dsdt_body(const struct acpi_machine *m, struct strbuf *aml)
{
	struct strbuf sb = STRBUF_INIT, dev = STRBUF_INIT, res = STRBUF_INIT;
	aml_name_eisaid(&dev, "_HID", "PNP0501");
	aml_name_integer(&dev, "_UID", 0);
	aml_res_io(&res, VMM_PORT_COM1, 8);
	aml_res_irq_noflags(&res, VMM_IRQ_COM1);
	aml_name_resources(&dev, "_CRS", &res);
	aml_device(&sb, "COM1", &dev);
	for (unsigned i = 0; i < m->n_virtio; i++) {
		char name[5];
		snprintf(name, sizeof name, "VR%02u", i % 100);
		strbuf_reset(&dev);
		strbuf_reset(&res);
		aml_name_string(&dev, "_HID", "LNRO0005"); /* matched by Linux's virtio_mmio driver */
		aml_name_integer(&dev, "_UID", i);
		aml_name_integer(&dev, "_CCA", 1); /* cache-coherent DMA */
		aml_res_memory32_fixed(&res, m->virtio[i].base, m->virtio[i].size);
		aml_res_interrupt(&res, m->virtio[i].gsi, 1, 0);
		aml_name_resources(&dev, "_CRS", &res);
		aml_device(&sb, name, &dev);
	}
	aml_scope(aml, "\\_SB", &sb);
	/* 7.4.2: \_S5 gives SLP_TYP for the soft-off state. */
	uint64_t s5[] = {VMM_SLEEP_TYPE_S5, VMM_SLEEP_TYPE_S5, 0, 0};
	aml_name_package(aml, "\\_S5", s5, 4);
	strbuf_release(&sb);
	strbuf_release(&dev);
	strbuf_release(&res);
}

static size_t build_dsdt(uint8_t *t, size_t cap, const struct acpi_machine *m)
{
	struct strbuf aml = STRBUF_INIT;
	dsdt_body(m, &aml);
	size_t len = HEADER_LEN + aml.len;
	if (len <= cap) {
		memset(t, 0, HEADER_LEN);
		header(t, "DSDT", 2);
		memcpy(t + HEADER_LEN, aml.buf, aml.len);
		finish(t, len);
	}
	strbuf_release(&aml);
	return len;
}

static size_t build_xsdt(uint8_t *t, const uint64_t *entries, unsigned n)
{
	size_t len = HEADER_LEN + 8 * n;
	memset(t, 0, len);
	header(t, "XSDT", 1);
	for (unsigned i = 0; i < n; i++)
		put64(t + HEADER_LEN + 8 * i, entries[i]);
	finish(t, len);
	return len;
}

/* 5.2.5.3 RSDP, revision 2 (ACPI 2.0+), with the XSDT only. */
static size_t build_rsdp(uint8_t *t, uint64_t xsdt_gpa)
{
	memset(t, 0, 36);
	memcpy(t, "RSD PTR ", 8);
	memcpy(t + 9, "APKG  ", 6);
	t[15] = 2;
	put32(t + 20, 36);
	put64(t + 24, xsdt_gpa);
	t[8] = acpi_checksum(t, 20);
	t[32] = acpi_checksum(t, 36);
	return 36;
}

static size_t align16(size_t v) { return (v + 15) & ~(size_t)15; }

static void record(struct acpi_tables *out, const char *name, size_t off, size_t len)
{
	unsigned i = out->n_tables++;
	memcpy(out->table[i].name, name, 5);
	out->table[i].offset = off;
	out->table[i].len = len;
}

int acpi_build(const struct acpi_machine *m, uint8_t *dst, size_t cap, uint64_t gpa, struct acpi_tables *out)
{
	/* Fixed-size tables first, so each offset is known before it is pointed at. */
	size_t rsdp = 0, xsdt = 64, fadt = xsdt + align16(HEADER_LEN + 16);
	size_t madt = fadt + align16(FADT_LEN);
	size_t madt_len = HEADER_LEN + 8 + 8 * m->n_cpus + 12;
	size_t dsdt = madt + align16(madt_len);
	if (dsdt >= cap)
		return error("ACPI tables: too many vCPUs for the table area");
	memset(out, 0, sizeof *out);
	out->base = dst;
	out->gpa = gpa;
	size_t dsdt_len = build_dsdt(dst + dsdt, cap - dsdt, m);
	if (dsdt_len > cap - dsdt)
		return error("ACPI tables: the DSDT does not fit");
	build_madt(dst + madt, m->n_cpus);
	build_fadt(dst + fadt, gpa + dsdt);
	uint64_t entries[] = {gpa + fadt, gpa + madt};
	size_t xsdt_len = build_xsdt(dst + xsdt, entries, 2);
	build_rsdp(dst + rsdp, gpa + xsdt);
	record(out, "rsdp", rsdp, 36);
	record(out, "xsdt", xsdt, xsdt_len);
	record(out, "facp", fadt, FADT_LEN);
	record(out, "apic", madt, madt_len);
	record(out, "dsdt", dsdt, dsdt_len);
	out->size = dsdt + dsdt_len;
	return 0;
}

int acpi_dump(const struct acpi_tables *t, const char *dir)
{
	if (mkdir_p(dir, 0755) < 0)
		return -1;
	for (unsigned i = 0; i < t->n_tables; i++) {
		char *path = xasprintf("%s/%s.dat", dir, t->table[i].name);
		int r = write_file_atomic(path, t->base + t->table[i].offset, t->table[i].len, 0644);
		free(path);
		if (r < 0)
			return -1;
	}
	return 0;
}
