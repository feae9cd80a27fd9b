/* validate/validate.h: `apkg test` as a function, for the CLI and for
 * `apkg build` (which calls it on the recipe's targets unless --no-test).
 *
 * validate_outdir() boots the artifacts of one output directory on each
 * target in parallel, with the in-guest probe asked to run through QEMU's
 * fw_cfg, then prints one line per artifact x target, writes the requested
 * reports and records the results in OUTDIR/manifest.json ("validation").
 * Before any boot it checks that every artifact still has the sha256 the
 * manifest recorded and that the kernel has each target's disk and console
 * drivers; after the boots it checks the artifacts again (the tests never
 * write to them). Nothing is left running or on disk afterwards, also on
 * SIGINT.
 */
#ifndef APKG_VALIDATE_VALIDATE_H
#define APKG_VALIDATE_VALIDATE_H

struct validate_opts {
	const char *targets;    /* comma-separated; NULL: the manifest's targets */
	const char *junit_path; /* write JUnit XML here; NULL: none */
	int json;               /* JSON on stdout; the per-target lines go to stderr */
	int jobs;               /* parallel boots; 0: the number of CPUs */
	int deadline_s;         /* per boot; 0: the manifest's check_deadline */
	int strict;             /* a skipped target counts as a failure */
	int require_kvm;        /* the vmm target fails, not skips, without hardware virtualization */
};

/* Returns the process exit code: 0 all passed (or skipped), 1 something
 * failed, 2 bad usage or a bad manifest, 3 QEMU or OVMF missing. */
int validate_outdir(const char *outdir, const struct validate_opts *opts);

#endif
