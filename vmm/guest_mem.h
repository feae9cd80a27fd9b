/* vmm/guest_mem.h: the guest's RAM, and the only way the VMM touches it.
 *
 * Promises: guest_mem_ptr() returns a host pointer for a guest-physical
 * range only if the whole range lies inside one RAM region (overflow-safe);
 * anything else is NULL. Device models never compute host addresses
 * themselves, so nothing a guest writes into a descriptor can make the VMM
 * read or write outside guest RAM. RAM above 3 GiB continues at 4 GiB,
 * leaving the hole for MMIO devices, the IOAPIC and the local APIC.
 */
#ifndef APKG_VMM_GUEST_MEM_H
#define APKG_VMM_GUEST_MEM_H

#include <stddef.h>
#include <stdint.h>

struct guest_region {
	uint64_t gpa, size;
	uint8_t *host;
};

struct guest_mem {
	struct guest_region region[2];
	unsigned n_regions;
	uint64_t ram_size;
	void *mapping;      /* NULL when the memory is borrowed (tests, fuzzing) */
	size_t mapping_size;
};

/* Reserves ram_size bytes (MAP_NORESERVE: untouched pages cost nothing). */
int guest_mem_alloc(struct guest_mem *m, uint64_t ram_size);
/* One region at guest-physical 0 over the caller's buffer (tests and fuzz harnesses). */
void guest_mem_borrow(struct guest_mem *m, void *buf, uint64_t size);
void guest_mem_free(struct guest_mem *m);

/* Host pointer for [gpa, gpa + len), or NULL unless it lies in one region. */
void *guest_mem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len);
/* The end of the RAM below the MMIO hole. */
uint64_t guest_mem_low_end(const struct guest_mem *m);

#endif
