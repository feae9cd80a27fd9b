/* vmm/boot.c: the Linux x86 boot protocol, 64-bit entry (Documentation/arch/x86/boot.rst). */
#include "vmm/boot.h"

#include "util/diag.h"
#include "vmm/layout.h"

#include <string.h>

static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* The real-mode setup (boot sector + setup_sects sectors) precedes the protected-mode kernel. */
static size_t setup_size(const uint8_t *k)
{
	unsigned sects = k[BOOT_SETUP_SECTS] ? k[BOOT_SETUP_SECTS] : 4; /* 0 means 4 (boot.rst) */
	return (sects + 1) * 512u;
}

int boot_check_kernel(const uint8_t *k, size_t size, uint16_t *version)
{
	if (size < BOOT_HEADER_END)
		return error("kernel: too small to be a bzImage (%zu bytes)", size);
	if (get16(k + BOOT_FLAG) != 0xaa55 || memcmp(k + BOOT_HEADER, "HdrS", 4))
		return error("kernel: not a bzImage (no boot sector signature or no \"HdrS\" setup header)");
	uint16_t v = get16(k + BOOT_VERSION);
	if (v < BOOT_MIN_VERSION)
		return error("kernel: boot protocol %u.%02u is too old (2.12 or later needed for the 64-bit entry)",
			     v >> 8, v & 0xff);
	if (!(k[BOOT_XLOADFLAGS] & BOOT_XLF_KERNEL_64))
		return error("kernel: has no 64-bit entry point (XLF_KERNEL_64 is clear)");
	if (!(k[BOOT_LOADFLAGS] & BOOT_LOADED_HIGH))
		return error("kernel: is a zImage (not loaded high); only bzImage is supported");
	if (setup_size(k) >= size)
		return error("kernel: setup_sects (%u) runs past the end of the file", k[BOOT_SETUP_SECTS]);
	if (version)
		*version = v;
	return 0;
}

/* e820 map: low RAM, the reserved BIOS area (ACPI tables), RAM from 1 MiB, RAM above 4 GiB. */
static unsigned fill_e820(const struct guest_mem *mem, uint8_t *zp)
{
	struct e820_entry { uint64_t addr, size; uint32_t type; } e[4] = {
		{0, VMM_LOW_RAM_END, E820_RAM},
		{VMM_LOW_RAM_END, VMM_KERNEL_ADDR - VMM_LOW_RAM_END, E820_RESERVED},
		{VMM_KERNEL_ADDR, guest_mem_low_end(mem) - VMM_KERNEL_ADDR, E820_RAM},
		{0, 0, 0},
	};
	unsigned n = 3;
	if (mem->n_regions > 1)
		e[n++] = (struct e820_entry){mem->region[1].gpa, mem->region[1].size, E820_RAM};
	for (unsigned i = 0; i < n; i++) {
		uint8_t *p = zp + BP_E820_TABLE + 20 * i;
		put64(p, e[i].addr);
		put64(p + 8, e[i].size);
		put32(p + 16, e[i].type);
	}
	zp[BP_E820_ENTRIES] = (uint8_t)n;
	return n;
}

/* The initrd's place: as high as possible below RAM's top and initrd_addr_max, above the kernel. */
static int place_initrd(const struct guest_mem *mem, const uint8_t *k, size_t size, uint64_t kernel_end,
			uint64_t *addr)
{
	uint64_t top = guest_mem_low_end(mem);
	uint64_t max = get32(k + BOOT_INITRD_ADDR_MAX); /* highest address the initrd's last byte may have */
	if (max && max + 1 < top)
		top = max + 1;
	if (size > top || ((top - size) & ~0xfffull) < kernel_end)
		return error("initrd: %zu bytes do not fit in guest memory above the kernel (give more --mem)", size);
	*addr = (top - size) & ~0xfffull;
	return 0;
}

static int check_cmdline(const uint8_t *k, const char *cmdline)
{
	size_t len = cmdline ? strlen(cmdline) : 0;
	uint32_t max = get32(k + BOOT_CMDLINE_SIZE); /* boot.rst: excluding the terminating zero */
	if (max > VMM_CMDLINE_MAX - 1)
		max = VMM_CMDLINE_MAX - 1;
	if (len > max)
		return error("kernel command line: %zu bytes, the kernel takes at most %u", len, max);
	return 0;
}

int boot_load(struct guest_mem *mem, const struct boot_image *img, uint64_t rsdp_gpa, struct boot_layout *out)
{
	const uint8_t *k = img->kernel;
	uint16_t version;
	if (boot_check_kernel(k, img->kernel_size, &version) < 0 || check_cmdline(k, img->cmdline) < 0)
		return -1;
	size_t pm_offset = setup_size(k), pm_size = img->kernel_size - pm_offset;
	uint64_t need = get32(k + BOOT_INIT_SIZE) > pm_size ? get32(k + BOOT_INIT_SIZE) : pm_size;
	uint8_t *dst = guest_mem_ptr(mem, VMM_KERNEL_ADDR, need);
	if (!dst || VMM_KERNEL_ADDR + need > guest_mem_low_end(mem))
		return error("kernel: needs %llu MiB from 1 MiB up; give the guest more --mem",
			     (unsigned long long)(need >> 20) + 1);
	uint64_t initrd = 0;
	if (img->initrd_size && place_initrd(mem, k, img->initrd_size, VMM_KERNEL_ADDR + need, &initrd) < 0)
		return -1;

	memcpy(dst, k + pm_offset, pm_size);
	if (initrd)
		memcpy(guest_mem_ptr(mem, initrd, img->initrd_size), img->initrd, img->initrd_size);
	char *cl = guest_mem_ptr(mem, VMM_CMDLINE_ADDR, VMM_CMDLINE_MAX);
	memset(cl, 0, VMM_CMDLINE_MAX);
	if (img->cmdline)
		memcpy(cl, img->cmdline, strlen(img->cmdline));

	uint8_t *zp = guest_mem_ptr(mem, VMM_ZERO_PAGE_ADDR, 4096);
	memset(zp, 0, 4096);
	/* boot.rst: copy the setup header, from 0x1f1 to 0x202 + the byte at 0x201. */
	size_t hdr_end = BOOT_HEADER + k[BOOT_JUMP + 1];
	if (hdr_end > BOOT_HEADER_END)
		hdr_end = BOOT_HEADER_END;
	memcpy(zp + BOOT_SETUP_SECTS, k + BOOT_SETUP_SECTS, hdr_end - BOOT_SETUP_SECTS);
	put16(zp + BOOT_VID_MODE, 0xffff); /* "normal" */
	zp[BOOT_TYPE_OF_LOADER] = 0xff;    /* undefined boot loader */
	put32(zp + BOOT_CMD_LINE_PTR, (uint32_t)VMM_CMDLINE_ADDR);
	put32(zp + BOOT_RAMDISK_IMAGE, (uint32_t)initrd);
	put32(zp + BOOT_RAMDISK_SIZE, (uint32_t)img->initrd_size);
	put64(zp + BP_ACPI_RSDP_ADDR, rsdp_gpa);
	fill_e820(mem, zp);

	out->entry = VMM_KERNEL_ADDR + VMM_KERNEL_ENTRY_OFFSET;
	out->zero_page = VMM_ZERO_PAGE_ADDR;
	out->kernel_end = VMM_KERNEL_ADDR + need;
	out->initrd_addr = initrd;
	out->version = version;
	return 0;
}
