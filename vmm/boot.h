/* vmm/boot.h: loading a bzImage through the 64-bit Linux boot protocol.
 *
 * Documentation/arch/x86/boot.rst ("THE LINUX/x86 BOOT PROTOCOL" and
 * "64-bit BOOT PROTOCOL"). The kernel file is hostile input. Promises:
 * the setup header is checked ("HdrS", version >= 2.12, XLF_KERNEL_64,
 * LOADED_HIGH, setup_sects inside the file); the protected-mode kernel is
 * loaded at 1 MiB only if it and its init_size fit in RAM; the command line
 * must fit cmdline_size; the initrd goes as high as RAM and
 * initrd_addr_max allow, above the kernel, page-aligned; the zero page gets
 * the copied setup header, an e820 map, the command line, the initrd and
 * the RSDP address. Nothing is written to guest memory before the checks pass.
 */
#ifndef APKG_VMM_BOOT_H
#define APKG_VMM_BOOT_H

#include "vmm/guest_mem.h"

#include <stddef.h>
#include <stdint.h>

/* Offsets in the bzImage's setup and in struct boot_params (boot.rst, zero-page.rst). */
#define BOOT_SETUP_SECTS 0x1f1
#define BOOT_SYSSIZE 0x1f4
#define BOOT_VID_MODE 0x1fa
#define BOOT_FLAG 0x1fe
#define BOOT_JUMP 0x200
#define BOOT_HEADER 0x202
#define BOOT_VERSION 0x206
#define BOOT_TYPE_OF_LOADER 0x210
#define BOOT_LOADFLAGS 0x211
#define BOOT_RAMDISK_IMAGE 0x218
#define BOOT_RAMDISK_SIZE 0x21c
#define BOOT_CMD_LINE_PTR 0x228
#define BOOT_INITRD_ADDR_MAX 0x22c
#define BOOT_XLOADFLAGS 0x236
#define BOOT_CMDLINE_SIZE 0x238
#define BOOT_INIT_SIZE 0x260
#define BOOT_HEADER_END 0x290       /* end of the setup header area in boot_params */
#define BP_ACPI_RSDP_ADDR 0x070
#define BP_E820_ENTRIES 0x1e8
#define BP_E820_TABLE 0x2d0
#define BP_E820_MAX 128

#define BOOT_LOADED_HIGH 0x01
#define BOOT_XLF_KERNEL_64 0x01
#define BOOT_MIN_VERSION 0x020c

#define E820_RAM 1
#define E820_RESERVED 2

struct boot_image {
	const uint8_t *kernel;
	size_t kernel_size;
	const uint8_t *initrd;
	size_t initrd_size;
	const char *cmdline;
};

struct boot_layout {
	uint64_t entry;        /* guest-physical 64-bit entry point */
	uint64_t zero_page;
	uint64_t kernel_end;   /* 1 MiB + max(protected-mode size, init_size) */
	uint64_t initrd_addr;  /* 0 without an initrd */
	uint16_t version;
};

/* Checks the bzImage header alone (for error messages before anything is set up). */
int boot_check_kernel(const uint8_t *kernel, size_t size, uint16_t *version);
/* Loads everything into guest memory and fills the zero page. */
int boot_load(struct guest_mem *mem, const struct boot_image *img, uint64_t rsdp_gpa, struct boot_layout *out);

#endif
