/* vmm/guest_mem.c: guest RAM allocation and bounds-checked translation. */
#include "vmm/guest_mem.h"

#include "util/diag.h"
#include "vmm/layout.h"

#include <string.h>
#include <sys/mman.h>

int guest_mem_alloc(struct guest_mem *m, uint64_t ram_size)
{
	memset(m, 0, sizeof *m);
	void *p = mmap(NULL, ram_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return error_errno("cannot reserve %llu MiB of guest memory", (unsigned long long)(ram_size >> 20));
	m->mapping = p;
	m->mapping_size = ram_size;
	m->ram_size = ram_size;
	uint64_t low = ram_size < VMM_MMIO_HOLE_START ? ram_size : VMM_MMIO_HOLE_START;
	m->region[0] = (struct guest_region){.gpa = 0, .size = low, .host = p};
	m->n_regions = 1;
	if (ram_size > low) {
		m->region[1] = (struct guest_region){.gpa = VMM_HIGH_RAM_START, .size = ram_size - low,
						     .host = (uint8_t *)p + low};
		m->n_regions = 2;
	}
	return 0;
}

void guest_mem_borrow(struct guest_mem *m, void *buf, uint64_t size)
{
	memset(m, 0, sizeof *m);
	m->region[0] = (struct guest_region){.gpa = 0, .size = size, .host = buf};
	m->n_regions = 1;
	m->ram_size = size;
}

void guest_mem_free(struct guest_mem *m)
{
	if (m->mapping)
		munmap(m->mapping, m->mapping_size);
	memset(m, 0, sizeof *m);
}

void *guest_mem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < m->n_regions; i++) {
		const struct guest_region *r = &m->region[i];
		if (gpa < r->gpa)
			continue;
		uint64_t off = gpa - r->gpa;
		if (off > r->size || len > r->size - off)
			continue;
		return r->host + off;
	}
	return NULL;
}

uint64_t guest_mem_low_end(const struct guest_mem *m)
{
	return m->region[0].size;
}
