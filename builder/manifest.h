/* builder/manifest.h: manifest.json and SHA256SUMS of an output directory.
 *
 * manifest.json lists every artifact with its size and sha256, the recipe's
 * hash, the tool versions, the kernel (release, command line, and the state
 * of each disk/console driver the boot targets need: builtin, initramfs or
 * missing), the hygiene gates' findings and waivers, and the validation
 * results (filled in by `apkg test`). It holds
 * no wall-clock time, so the same recipe gives the same manifest.
 */
#ifndef APKG_BUILDER_MANIFEST_H
#define APKG_BUILDER_MANIFEST_H

#include "builder/recipe.h"
#include "util/strbuf.h"

struct kernel;
struct disk_image;

struct manifest {
	const struct recipe *r;
	struct strbuf artifacts;   /* JSON array items */
	struct strbuf sums;        /* SHA256SUMS lines */
	struct strbuf kernel;      /* JSON object */
	struct strbuf disk;        /* JSON object */
	struct strbuf ostree;      /* JSON object, when outputs has ostree */
	struct strbuf hygiene;     /* JSON object: the hygiene gates' report (builder/hygiene.h) */
	char **initramfs_modules;  /* names, filled by the initramfs stage */
	size_t n_initramfs_modules;
};

void manifest_init(struct manifest *m, const struct recipe *r);
void manifest_release(struct manifest *m);
void manifest_set_kernel(struct manifest *m, const struct recipe *r, const struct kernel *k);
void manifest_set_disk(struct manifest *m, const struct disk_image *img);
/* Hashes the file and records it. */
int manifest_add_artifact(struct manifest *m, const char *name, const char *format, const char *path);
/* Records the ostree output: repository (relative to the output), ref, commit, parent, delta. */
void manifest_set_ostree(struct manifest *m, const char *ref, const char *commit, const char *parent, int delta);
/* Writes manifest.json and SHA256SUMS (artifacts, vmlinuz, initrd.img, the SPDX SBOM) into dir. */
int manifest_write(struct manifest *m, const char *dir);

/* Drivers whose state the manifest records, for the boot targets' checks:
 * {key in manifest.json, kernel module name}, ending with {NULL, NULL}. */
extern const char *const manifest_drivers[][2];

#endif
