/* vmm/acpi.h: the ACPI tables of the micro-VMM's machine (ACPI 6.5, chapter 5).
 *
 * RSDP (revision 2), XSDT, a hardware-reduced FADT, a MADT and a DSDT. The
 * FADT's sleep control, sleep status and reset registers are the I/O
 * ports of vmm/pm.h, so a guest `poweroff` or `reboot` ends the VM. The
 * MADT lists one local APIC per vCPU and the IOAPIC. The DSDT (AML from
 * vmm/aml.c) lists COM1 (PNP0501) and each virtio-mmio device as
 * "LNRO0005" with its Memory32Fixed window and edge-triggered interrupt,
 * which is how stock Debian kernels find virtio-mmio devices, and _S5_.
 * Promises: every table's checksum is right and every pointer lies inside
 * the area given; the bytes depend only on the machine description.
 */
#ifndef APKG_VMM_ACPI_H
#define APKG_VMM_ACPI_H

#include <stddef.h>
#include <stdint.h>

struct acpi_virtio_device {
	uint32_t base, size, gsi;
};

struct acpi_machine {
	unsigned n_cpus;
	const struct acpi_virtio_device *virtio;
	unsigned n_virtio;
};

#define ACPI_MAX_TABLES 6

struct acpi_tables {
	uint8_t *base;        /* host address of the area */
	uint64_t gpa;         /* its guest-physical address; the RSDP is at offset 0 */
	size_t size;          /* bytes used */
	struct {
		char name[5]; /* "rsdp", "xsdt", "facp", "apic", "dsdt": iasl's file names */
		size_t offset, len;
	} table[ACPI_MAX_TABLES];
	unsigned n_tables;
};

/* Lays the tables out in [dst, dst + cap), which the guest sees at gpa. -1 if they do not fit. */
int acpi_build(const struct acpi_machine *m, uint8_t *dst, size_t cap, uint64_t gpa, struct acpi_tables *out);
/* Writes each table to DIR/NAME.dat (the form `iasl -d` takes). */
int acpi_dump(const struct acpi_tables *t, const char *dir);
/* The 8-bit sum that makes the bytes sum to zero. */
uint8_t acpi_checksum(const uint8_t *p, size_t len);

#endif
