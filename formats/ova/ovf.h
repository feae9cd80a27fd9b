/* formats/ova/ovf.h: OVA target profiles and the OVF 1.0 descriptor each one writes.
 *
 * A profile is what one family of products expects to import, modelled on
 * that product's own exporter (see ../shared/reference/formats.md, section 3,
 * and peers.md items 1-4):
 *   vmware      vmx-11 hardware family (the widest-accepted floor), LSI Logic
 *               SCSI, vmxnet3 or e1000, vmw:osType, vmw:Config firmware;
 *   virtualbox  virtualbox-2.2, SATA/AHCI and e1000 as VirtualBox exports
 *               them (rasd:Caption, MegaBytes), vbox:OSType, vbox:uuid, and a
 *               vbox:Machine section only to ask for EFI firmware;
 *   generic     what both families import: vmx-11, LSI Logic, e1000.
 * Internal to formats/ova/.
 */
#ifndef APKG_FORMATS_OVA_OVF_H
#define APKG_FORMATS_OVA_OVF_H

#include <stdint.h>

struct appliance_meta;
struct strbuf;

enum ova_profile_id { OVA_PROFILE_GENERIC, OVA_PROFILE_VMWARE, OVA_PROFILE_VIRTUALBOX };

struct ova_profile {
	enum ova_profile_id id;
	const char *name;
	const char *system_type;  /* vssd:VirtualSystemType */
	const char *vmdk_adapter; /* ddb.adapterType of the disk it carries */
	const char *disk_suffix;  /* appended to the appliance name for the disk's file name */
};

/* NULL name: generic. NULL if unknown. */
const struct ova_profile *ova_profile_find(const char *name);
/* "vmware, virtualbox, generic", for messages. */
const char *ova_profile_names(void);

/* The NIC model the profile writes for the requested one ("e1000", "vmxnet3",
 * "virtio", "none"; NULL = e1000): the rasd:ResourceSubType, or NULL for
 * no NIC. *substituted is set when the profile has no such model. */
const char *ovf_nic_subtype(const struct ova_profile *p, const char *requested, int *substituted);

struct ovf_disk {
	const char *href;      /* file name inside the OVA */
	uint64_t file_size;    /* bytes of that file: ovf:size */
	uint64_t capacity;     /* bytes of virtual disk: ovf:capacity */
};

/* Appends the whole descriptor for one appliance with one disk. seed
 * derives the VirtualBox UUIDs and MAC; epoch dates vbox:Machine. */
void ovf_build(const struct ova_profile *p, const struct appliance_meta *m, const char *name,
	       const struct ovf_disk *d, const char *seed, uint64_t epoch, struct strbuf *out);

#endif
