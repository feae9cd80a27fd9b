/* publish/sbom.h: the appliance's software bill of materials, SPDX 2.3 JSON.
 *
 * Written by `apkg build` while the root filesystem still exists, as
 * OUTDIR/<name>-<version>.spdx.json, and published beside the images. It
 * lists the appliance itself (a package that CONTAINS the others), every
 * package dpkg records as installed in ROOT/var/lib/dpkg/status (name,
 * version, architecture, source package, purl), busybox with the version
 * its binary ROOT/bin/busybox reports (busybox bases have no dpkg
 * database), and the kernel package. Deterministic: packages sorted, the
 * creation time is the recipe's epoch, the document namespace is a UUID
 * derived from the recipe hash and the package list, so the same inputs
 * give the same bytes and different contents never share a namespace.
 */
#ifndef APKG_PUBLISH_SBOM_H
#define APKG_PUBLISH_SBOM_H

struct recipe;
struct strbuf;

/* The kernel as the build resolved it; any field may be NULL. */
struct sbom_kernel {
	const char *package;  /* "linux-image-6.1.0-28-amd64" (default: the recipe's kernel.package) */
	const char *version;  /* the package's Debian version, "6.1.119-1" */
	const char *release;  /* "6.1.0-28-amd64" */
};

/* Writes out_path atomically. Returns 0, or -1 after printing why. */
int sbom_write_spdx(const char *rootdir, const struct recipe *r, const struct sbom_kernel *kernel,
		    const char *out_path);
/* The document itself (for tests). */
int sbom_spdx_json(const char *rootdir, const struct recipe *r, const struct sbom_kernel *kernel,
		   struct strbuf *out);

#endif
