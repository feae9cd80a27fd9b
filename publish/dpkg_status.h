/* publish/dpkg_status.h: the packages installed in a root filesystem, from
 * dpkg's status file, and busybox's version from its binary: the inputs of
 * the SBOM.
 *
 * Both read files from an image root, which for tarball bases is whatever
 * the user's tarball held, so they are parsers of hostile bytes: every read
 * is bounded by the given length, fields are capped (DPKG_FIELD_MAX), names
 * and versions must use the characters Debian allows, a stanza that breaks
 * these rules is skipped and counted (not trusted, not fatal), and a
 * package listed twice is kept once. Only packages whose Status ends in
 * "installed" are listed. The result is sorted by name and architecture.
 */
#ifndef APKG_PUBLISH_DPKG_STATUS_H
#define APKG_PUBLISH_DPKG_STATUS_H

#include <stddef.h>

#define DPKG_FIELD_MAX 1024
#define DPKG_MAX_PACKAGES 200000

struct dpkg_package {
	char *name, *version, *arch;
	char *source;  /* source package name, or NULL */
};

struct dpkg_packages {
	struct dpkg_package *v;
	size_t n;
	size_t skipped; /* malformed stanzas */
};

void dpkg_status_parse(const char *data, size_t len, struct dpkg_packages *out);
void dpkg_packages_free(struct dpkg_packages *p);

/* From "BusyBox v1.35.0 (Debian 1:1.35.0-4+b3)" anywhere in data (the
 * version starts with a digit): the
 * upstream version and, when present, the Debian package version (either
 * may come back NULL). Returns -1 when there is no such string. */
int busybox_version(const char *data, size_t len, char **upstream, char **debian);

#endif
