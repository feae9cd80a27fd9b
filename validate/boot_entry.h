/* validate/boot_entry.h: what an appliance image boots, read straight from its ESP.
 *
 * Finds the EFI system partition through the GPT, opens it with the
 * read-only FAT reader and takes the boot loader's own entry: the first
 * systemd-boot entry (the .conf files in loader/entries, by name, or
 * loader.conf's `default`), else the entry syslinux/syslinux.cfg boots (its
 * DEFAULT label, else the first), parsed by inspect/bootcfg.c. Then
 * reads that kernel and initrd into memory. The image is hostile input:
 * everything goes through the bounds-checked GPT and FAT readers, with
 * size limits on the entry, the kernel and the initrd.
 */
#ifndef APKG_VALIDATE_BOOT_ENTRY_H
#define APKG_VALIDATE_BOOT_ENTRY_H

#include "util/strbuf.h"

#define BOOT_ENTRY_MAX_INITRDS 4

/* A parsed loader entry (paths on the ESP). */
struct boot_entry_spec {
	char *title;
	char *linux_path;
	char *initrd_path[BOOT_ENTRY_MAX_INITRDS];
	unsigned n_initrds;
	char *options;
};

struct appliance_boot {
	struct strbuf kernel, initrd; /* initrds concatenated, as systemd-boot does */
	char *cmdline;
	char *source;                 /* "loader/entries/apkg.conf" or "syslinux/syslinux.cfg" */
	struct boot_entry_spec spec;
	char esp_partuuid[37];
};

/* systemd-boot's Boot Loader Specification entry ("key value" lines). */
int boot_entry_parse_bls(const char *text, size_t len, struct boot_entry_spec *out);
/* syslinux.cfg: the DEFAULT (else the first) LABEL's LINUX or KERNEL,
 * INITRD and APPEND (its own, else the global one). */
int boot_entry_parse_syslinux(const char *text, size_t len, struct boot_entry_spec *out);
void boot_entry_spec_release(struct boot_entry_spec *s);

int appliance_boot_read(const char *image, struct appliance_boot *out);

/* Which firmware an image boots with: syslinux on the ESP means BIOS works
 * (hybrid images have both); only EFI/BOOT/BOOTX64.EFI means UEFI only. */
enum appliance_firmware { APPLIANCE_FIRMWARE_UNKNOWN, APPLIANCE_BIOS, APPLIANCE_UEFI_ONLY };
enum appliance_firmware appliance_firmware(const char *image);
void appliance_boot_release(struct appliance_boot *b);

#endif
