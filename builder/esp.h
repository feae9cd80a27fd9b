/* builder/esp.h: the EFI system partition image, made without mounting.
 *
 * FAT16 (mkfs.fat on an image file; mtools refuses small FAT32 images),
 * holding /vmlinuz and /initrd.img, syslinux (BIOS) and systemd-boot at
 * EFI/BOOT/BOOTX64.EFI (UEFI; the removable path, which fresh NVRAM and
 * VirtualBox look at) with one loader entry. Timestamps are the epoch.
 */
#ifndef APKG_BUILDER_ESP_H
#define APKG_BUILDER_ESP_H

#include "builder/recipe.h"

#include <stdint.h>

struct esp_inputs {
	const char *vmlinuz, *initrd, *cmdline, *title;
	enum boot_mode boot;
	uint32_t serial;
	uint64_t epoch;
	const char *scratch;
};

/* Size in bytes the ESP needs for these inputs (a MiB multiple). */
int esp_size_needed(const struct esp_inputs *in, uint64_t *size);
int esp_build(const struct esp_inputs *in, const char *path, uint64_t size);

#define SYSLINUX_GPTMBR "/usr/lib/syslinux/mbr/gptmbr.bin"
#define SYSTEMD_BOOT_EFI "/usr/lib/systemd/boot/efi/systemd-bootx64.efi"

#endif
