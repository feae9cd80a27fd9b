/* formats/meta.h: what an appliance image says about the machine it wants.
 *
 * Plain data, filled by whoever knows the appliance (the builder from the
 * recipe, `apkg convert` from its options) and read by formats that carry
 * more than a disk: today the OVA writer (its OVF descriptor and
 * manifest). A format never learns what a recipe is; it only sees this.
 * Every pointer may be NULL and every number 0: each field says what that
 * means.
 */
#ifndef APKG_FORMATS_META_H
#define APKG_FORMATS_META_H

#include <stdint.h>

enum appliance_firmware {
	FIRMWARE_ANY,  /* the disk boots either way (apkg's hybrid disks): no hint is written */
	FIRMWARE_BIOS,
	FIRMWARE_EFI,
};

struct appliance_meta {
	const char *name;        /* VirtualSystem id, file names inside the OVA; NULL: OUT's base name.
				    Characters outside [A-Za-z0-9._-] become '_' in file names */
	const char *version;     /* ProductSection <Version>; NULL: no version */
	const char *description; /* AnnotationSection; NULL: none */
	const char *product;     /* ProductSection <Product>; NULL: the name */
	const char *vendor;      /* ProductSection <Vendor>; NULL: none */
	const char *product_url, *vendor_url; /* NULL: none */
	const char *eula;        /* EulaSection <License> text; NULL: no EULA section */
	unsigned cpus;           /* 0: 1 */
	uint64_t memory;         /* bytes, rounded up to MiB; 0: 512 MiB */
	const char *nic;         /* "e1000" | "vmxnet3" | "virtio" | "none"; NULL: e1000.
				    A profile that lacks the model uses its nearest and warns */
	enum appliance_firmware firmware;
	const char *os;          /* guest OS for OperatingSystemSection: "debian" (Debian 64-bit)
				    or NULL / "linux" (other Linux 64-bit) */
	const char *ova_profile; /* "vmware" | "virtualbox" | "generic"; NULL: generic */
	const char *manifest;    /* "sha1" | "sha256" | "sha512"; NULL: sha256 */
};

#endif
