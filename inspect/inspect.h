/* inspect/inspect.h: `apkg inspect`: what is inside a disk image, apkg's or anyone's.
 *
 * One libguestfs launch per inspection (about 13 s under TCG, so everything
 * is gathered in it): partition tables and partitions, filesystems (label,
 * UUID, size, used), the operating systems libguestfs recognises with their
 * installed packages, kernels and initrds, the boot setup (BIOS boot code
 * and loader, UEFI loaders on the ESP, every loader entry with its kernel
 * command line), the recipe hash and checks apkg embeds, and on request the
 * hygiene rules of builder/hygiene.h applied to the image. libguestfs is
 * forced onto TCG when the host has no usable hardware virtualization
 * (util/hwvirt.h), and is given apkg's cached Debian kernel for its
 * appliance when the host has none of its own. Everything read from the
 * image is bounded (files are read up to a cap) and treated as hostile.
 */
#ifndef APKG_INSPECT_INSPECT_H
#define APKG_INSPECT_INSPECT_H

#include "builder/hygiene.h"
#include "inspect/bootcfg.h"
#include "inspect/source.h"

#include <stddef.h>
#include <stdint.h>

struct strbuf;

struct inspect_partition {
	int number;
	char *device;               /* /dev/sda1 */
	uint64_t start, size;       /* bytes */
	char *type;                 /* GPT type GUID, or the MBR id as "0x83" */
	char *type_name;            /* "EFI System", "Linux filesystem", ... or NULL */
	char *name;                 /* GPT partition name, or NULL */
	char *uuid;                 /* GPT unique partition GUID, or NULL */
	int bootable;               /* MBR active flag, or GPT LegacyBIOSBootable (attribute bit 2) */
};

struct inspect_disk {
	char *device;               /* /dev/sda */
	uint64_t size;
	char *table;                /* "gpt", "msdos", or NULL (no partition table) */
	char *disk_guid;            /* GPT only */
	const char *mbr_code;       /* bootcfg.h: mbr_boot_code() */
	struct inspect_partition *parts;
	size_t n_parts;
};

struct inspect_fs {
	char *device, *type, *label, *uuid;
	uint64_t size, used;
	int have_used;              /* it could be mounted read-only */
};

struct inspect_app {
	char *name, *version;       /* version as the package manager writes it, e.g. "1.22.1-9+deb12u1" */
};

struct inspect_os {
	char *root, *type, *distro, *product, *version, *hostname, *arch, *package_format, *package_management;
	struct inspect_app *apps;
	size_t n_apps;
};

struct inspect_file {
	char *fs;                   /* the filesystem's device */
	char *path;
	uint64_t size;
	char *version;              /* kernels: from the bzImage header, or NULL */
};

struct inspect_boot {
	const char *firmware;       /* "both", "bios", "uefi" or "none" */
	const char *bios_loader;    /* "syslinux", "grub" or NULL */
	char *bios_config;          /* where its configuration is, or NULL */
	char *esp;                  /* the ESP's device, or NULL */
	const char *uefi_loader;    /* "systemd-boot", "grub", "shim", "unknown" or NULL */
	char *uefi_loader_version;  /* systemd-boot's, from its LoaderInfo, or NULL */
	char **efi_binaries;        /* "/EFI/BOOT/BOOTX64.EFI", ... as found on the ESP */
	size_t n_efi;
	int removable_path;         /* EFI/BOOT/BOOTX64.EFI exists */
	struct boot_entry *entries; /* every loader entry found */
	size_t n_entries;
};

struct inspect_apkg {
	char *fs;                   /* the filesystem that holds /usr/lib/apkg */
	char *recipe_hash, *name, *version;
	char **checks;              /* labels, as apkg test reports them ("tcp 80") */
	size_t n_checks;
	int check_deadline;         /* seconds, or 0 when unknown */
};

struct inspect_result {
	struct inspect_source src;
	struct inspect_disk *disks;
	size_t n_disks;
	struct inspect_fs *fss;
	size_t n_fss;
	struct inspect_os *oses;
	size_t n_oses;
	struct inspect_file *kernels, *initrds;
	size_t n_kernels, n_initrds;
	struct inspect_boot boot;
	struct inspect_apkg *apkg;  /* NULL for images apkg did not build */
	int have_hygiene;           /* --hygiene was asked for */
	int hygiene_scanned;        /* the file rules ran over hygiene_root (else only the image rules did) */
	struct hygiene_report hygiene;
	char *hygiene_root;         /* the root filesystem the hygiene rules scanned, or NULL */
	uint64_t allocated;         /* bytes of the image that hold data (with --hygiene) */
};

struct inspect_opts {
	int hygiene;                /* also run the hygiene rules (one tar stream of the root) */
};

/* Inspects the image at path. Returns 0, or after printing why
 * INSPECT_BAD_IMAGE (it cannot be opened or read) or INSPECT_NO_GUESTFS
 * (libguestfs cannot start). */
#define INSPECT_BAD_IMAGE (-1)
#define INSPECT_NO_GUESTFS (-2)
int inspect_image(const char *path, const struct inspect_opts *o, struct inspect_result *out);
void inspect_result_release(struct inspect_result *r);

/* inspect/render.c */
void inspect_print(const struct inspect_result *r, struct strbuf *out);
/* The JSON document (schema "apkg_inspect": 1, see README). */
void inspect_json(const struct inspect_result *r, struct strbuf *out);

#endif
