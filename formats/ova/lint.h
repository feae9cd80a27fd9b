/* formats/ova/lint.h: an offline OVA linter: what ESXi, vCenter, Workstation and
 * VirtualBox check when they import an OVA, checked before anyone tries.
 *
 * One pass over the tar: member order and names, the manifest's syntax,
 * algorithm and digests, the OVF descriptor (well-formed, OVF 1.0, the
 * required sections, references that resolve, ovf:size and capacity, the
 * hardware family and the ResourceType/SubType pairs each product
 * accepts) and each streamOptimized disk (formats/vmdk/vmdk_check.h:
 * version 3, complete, with EOS). Every finding names its rule and the
 * products it matters to. The input is hostile: sizes are bounded, names
 * are never used as paths, the XML parser loads no DTD and no network.
 */
#ifndef APKG_FORMATS_OVA_LINT_H
#define APKG_FORMATS_OVA_LINT_H

#include <stddef.h>
#include <stdio.h>

enum lint_severity { LINT_NOTE, LINT_WARNING, LINT_ERROR };

/* The products a finding comes from (a bit set). */
enum {
	PRODUCT_ESXI = 1 << 0,        /* ESXi host client and ovftool */
	PRODUCT_VCENTER = 1 << 1,     /* vCenter / vSphere Client */
	PRODUCT_WORKSTATION = 1 << 2, /* Workstation, Player, Fusion */
	PRODUCT_VIRTUALBOX = 1 << 3,
	PRODUCT_OVF = 1 << 4,         /* the OVF specification itself (DSP0243) */
	PRODUCT_VMWARE = PRODUCT_ESXI | PRODUCT_VCENTER | PRODUCT_WORKSTATION,
	PRODUCT_ALL = PRODUCT_VMWARE | PRODUCT_VIRTUALBOX | PRODUCT_OVF,
};

struct lint_finding {
	enum lint_severity severity;
	const char *rule;   /* static: "ovf-first", "manifest-syntax", ... */
	unsigned products;  /* PRODUCT_* bits */
	char *message;
};

struct lint_report {
	unsigned products;  /* the profile's products: findings for others are dropped */
	struct lint_finding *items;
	size_t n, alloc;
	unsigned errors, warnings, notes;
};

/* The products a profile targets: "vmware", "virtualbox", "generic" or
 * NULL (every product). -1 if the name is unknown. */
int lint_profile_products(const char *profile, unsigned *products);

/* Lints the OVA at path for the given products (a file that starts with a
 * sparse VMDK header gets the disk checks only). Returns 0 when the file
 * was read (look at report->errors), -1 if it could not be opened at all. */
int ova_lint_file(const char *path, unsigned products, struct lint_report *report);
/* The same on an OVA in memory (tests, fuzzing). */
int ova_lint_memory(const void *data, size_t len, unsigned products, struct lint_report *report);

/* "error [ovf-first] (ESXi, vCenter, Workstation): message", one per line,
 * errors first; notes only when with_notes. */
void lint_report_print(const struct lint_report *r, FILE *f, const char *label, int with_notes);
/* Space-separated product names of a bit set, e.g. "ESXi, VirtualBox". */
void lint_products_string(unsigned products, char *out, size_t cap);
void lint_report_release(struct lint_report *r);

#endif
