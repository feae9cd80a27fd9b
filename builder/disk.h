/* builder/disk.h: lay a root filesystem, a kernel and an initramfs out as a bootable GPT disk.
 *
 * Promises: no mounts and no loop devices. The ESP (FAT16, via mkfs.fat,
 * mtools and syslinux on an image file) carries the kernel, the initramfs,
 * syslinux for BIOS (with gptmbr.bin in the MBR and the LegacyBIOSBootable
 * attribute) and systemd-boot at the removable path for UEFI. The root is
 * ext4 made by `mke2fs -d`. The result is a disk_layout of pieces that any
 * image writer consumes directly: no full-size raw intermediate exists.
 * Every UUID, serial and timestamp derives from `seed` and `epoch`.
 */
#ifndef APKG_BUILDER_DISK_H
#define APKG_BUILDER_DISK_H

#include "builder/recipe.h"
#include "formats/extents.h"

#include <stdint.h>

struct disk_inputs {
	const char *rootdir;
	const char *vmlinuz;
	const char *initrd;
	const char *extra_cmdline;   /* the recipe's kernel.cmdline */
	enum boot_mode boot;
	uint64_t requested_size;     /* 0: auto */
	const char *title;           /* boot menu title, e.g. "hello 1.0.0" */
	const char *seed;            /* the recipe hash */
	uint64_t epoch;
	const char *scratch;         /* where esp.img and root.ext4 are made */
};

struct disk_image {
	struct disk_layout layout;
	uint64_t size;
	uint64_t esp_offset, esp_size, root_offset, root_size;
	char disk_guid[37], esp_partuuid[37], root_partuuid[37], root_fs_uuid[37];
	char *cmdline;               /* the full kernel command line the loaders use */
	uint8_t *head, *tail;        /* GPT bytes referenced by layout */
	int esp_fd, root_fd;
};

/* The kernel command line an appliance boots with (also written to the manifest). */
char *disk_kernel_cmdline(const char *seed, const char *extra);
/* Builds the ESP and root filesystem images and the GPT; fills img. If the
 * requested size is too small, the error names the size needed. */
int disk_build(const struct disk_inputs *in, struct disk_image *img);
void disk_image_release(struct disk_image *img);

#endif
