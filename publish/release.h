/* publish/release.h: one built appliance version, read from an `apkg build`
 * output directory and checked before it may go to a mirror.
 *
 * release_load() treats the output directory as input that may have been
 * edited since the build: manifest.json's name and version must be
 * mirror-safe names, every file SHA256SUMS lists and every artifact
 * manifest.json lists is hashed again and must match both, and nothing but
 * plain regular files is published. The files published are: every file the
 * output directory's SHA256SUMS lists (artifacts, vmlinuz, initrd.img),
 * manifest.json (with its validation results) and the SBOM
 * <name>-<version>.spdx.json; release->sums is the SHA256SUMS the mirror
 * gets, covering all of them, so a signature over it covers the manifest and
 * the SBOM too.
 *
 * The gate (see validation_judge): an artifact is validated when manifest.json's
 * "validation" (written by `apkg test`) has at least one entry for that file
 * with status "pass", no entry for it with status "fail", and no "fail" entry
 * that names no artifact (a target that failed before booting anything, e.g.
 * a firmware the image cannot boot). Skips alone do not validate. An unknown
 * status or a malformed entry counts as a failure.
 */
#ifndef APKG_PUBLISH_RELEASE_H
#define APKG_PUBLISH_RELEASE_H

#include "publish/sums.h"
#include "util/strbuf.h"

#include <stddef.h>
#include <stdint.h>

struct json_value;

enum validation_state { VALIDATION_PASSED, VALIDATION_UNVALIDATED, VALIDATION_FAILED };

struct judgement {
	enum validation_state state;
	struct strbuf why;      /* one line for messages: "passed on qemu-uefi", "failed on ..." */
	struct strbuf results;  /* JSON array: [{"target":..,"status":..,"reason":..}, ...] for this file */
};

struct release_artifact {
	char *file, *format;
	uint64_t size;
	char sha256[65];
	struct judgement judged;
};

struct release_file {
	char *name;  /* name on the mirror */
	char *path;  /* where it is now */
	uint64_t size;
	char sha256[65];
};

struct release {
	char *outdir;
	struct json_value *manifest;
	const char *name, *version, *description; /* description may be "" */
	const char *recipe_hash, *base, *kernel_release; /* may be NULL */
	struct release_artifact *artifacts;
	size_t n_artifacts;
	struct release_file *files; /* everything published except SHA256SUMS(.asc), sorted by name */
	size_t n_files;
	char *sbom;                 /* the SBOM's file name */
	struct sums sums;           /* the mirror's SHA256SUMS */
	struct strbuf sums_text;
};

const char *validation_state_name(enum validation_state s); /* passed | unvalidated | failed */
/* Judges one artifact file against manifest.json's "validation" value
 * (NULL when absent). Fills j (release with judgement_release). */
void validation_judge(const struct json_value *validation, const char *file, struct judgement *j);
void judgement_release(struct judgement *j);

/* Returns 0, or -1 after printing what is wrong. */
int release_load(const char *outdir, struct release *rel);
/* Prints one line per artifact that is not validated. Returns 0 when every
 * artifact is validated or allow_unvalidated is set, else -1. */
int release_gate(const struct release *rel, int allow_unvalidated);
/* 1 when every artifact is validated. */
int release_validated(const struct release *rel);
void release_free(struct release *rel);

#endif
