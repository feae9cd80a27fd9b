/* validate/manifest.h: what `apkg test` needs from an output directory's
 * manifest.json, and the one thing it writes back ("validation").
 *
 * manifest.json is written by `apkg build`; apkg test treats it as input
 * that may have been edited or damaged: every field is type-checked and a
 * missing required field is an error naming it. Artifact file names must be
 * plain names inside the output directory (no '/', no "..").
 * manifest_set_validation() replaces only the "validation" value, keeping
 * the rest of the file byte for byte, and writes temp-then-rename.
 */
#ifndef APKG_VALIDATE_MANIFEST_H
#define APKG_VALIDATE_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

struct json_value;

struct manifest_artifact {
	const char *file;    /* name inside the output directory */
	const char *format;  /* raw | qcow2 | vmdk | ova | vhdx | vdi */
	uint64_t size;
	const char *sha256;  /* lowercase hex, or NULL if absent */
};

struct manifest {
	struct json_value *root;
	const char *name, *version, *recipe;
	int check_deadline_s;           /* default 120 */
	int cpus;                       /* default 1 */
	uint64_t memory;                /* bytes, default 512 MiB */
	const char *nic;                /* default e1000 */
	const char *boot;               /* hybrid | bios | uefi; default hybrid */
	const char *kernel_package;     /* default linux-image-amd64 */
	const struct json_value *drivers; /* kernel.drivers object, or NULL */
	struct manifest_artifact *artifacts;
	size_t n_artifacts;
	const char **targets;           /* the recipe's targets */
	size_t n_targets;
	const char **checks;            /* names of the recipe's checks, if listed */
	size_t n_checks;
	long checks_count;              /* how many checks the recipe has; -1 unknown */
};

/* Loads and checks path. Returns 0, or -1 after printing what is wrong. */
int manifest_load(const char *path, struct manifest *m);
void manifest_free(struct manifest *m);
/* "builtin" | "initramfs" | "missing", or NULL when the manifest does not
 * list the driver. */
const char *manifest_driver_state(const struct manifest *m, const char *driver);
/* Replaces (or adds) the top-level "validation" member with the JSON text
 * `validation`, which must be a valid JSON value. */
int manifest_set_validation(const char *path, const char *validation);

#endif
