/* inspect/bootcfg.h: what the boot files of an image say, read from their bytes.
 *
 * Boot loader configurations (syslinux.cfg/extlinux.conf, systemd-boot's
 * loader.conf and entries, GRUB's grub.cfg) become entries with a title,
 * kernel, initrd and kernel command line; a Linux bzImage yields its version
 * string; a master boot record's code is named (syslinux, GRUB, ...). All of
 * it comes from the image, so all of it is hostile: inputs are bounded by
 * their length (no NUL needed), lines and entries are capped, and nothing
 * here ever fails on odd input: it just finds less.
 */
#ifndef APKG_INSPECT_BOOTCFG_H
#define APKG_INSPECT_BOOTCFG_H

#include <stddef.h>

#define BOOTCFG_MAX_ENTRIES 64
#define BOOTCFG_MAX_LINE 4096
#define BOOTCFG_MAX_INITRDS 4

struct boot_entry {
	const char *loader;  /* "syslinux", "systemd-boot", "grub" (static) */
	char *config;        /* where it was read, e.g. "/dev/sda1:/syslinux/syslinux.cfg" (set by the caller) */
	char *title;         /* NULL when there is none */
	char *kernel, *cmdline;
	/* systemd-boot loads every initrd line's file, in order (the Boot
	 * Loader Specification); syslinux and GRUB entries have one here. */
	char *initrd[BOOTCFG_MAX_INITRDS];
	unsigned n_initrds;
	int is_default;
};

/* syslinux.cfg or extlinux.conf: one entry per LABEL; the DEFAULT label's
 * (or else the first) is marked default. A global APPEND applies to labels
 * without their own. Returns the number of entries in *out. */
size_t bootcfg_syslinux(const char *text, size_t len, struct boot_entry **out);
/* One systemd-boot entry file (title, linux or efi, initrd lines, options
 * lines joined). Keys are lowercase, as the specification writes them.
 * Returns 0, or -1 when it names no kernel. */
int bootcfg_loader_entry(const char *text, size_t len, struct boot_entry *out);
/* The `default` of loader.conf (a glob over entry file names), or NULL. */
char *bootcfg_loader_default(const char *text, size_t len);
/* grub.cfg: one entry per menuentry with a linux line; the first is default. */
size_t bootcfg_grub(const char *text, size_t len, struct boot_entry **out);
void boot_entry_release(struct boot_entry *e);
void boot_entries_free(struct boot_entry *e, size_t n);

/* The version of a Linux bzImage (the first word of its kernel_version
 * string, Documentation/x86/boot.rst), into out. Returns 0, or -1 when d is
 * not a bzImage with a version. */
int bzimage_version(const unsigned char *d, size_t n, char *out, size_t size);

/* Names the boot code in a master boot record: "none" (all zero),
 * "syslinux-gptmbr", "syslinux-mbr", "grub", "windows" or "unknown". */
const char *mbr_boot_code(const unsigned char *sector, size_t n);

#endif
