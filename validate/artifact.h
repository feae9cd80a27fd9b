/* validate/artifact.h: which shipped file a target boots.
 *
 * Each target boots the file its hypervisor would be given: the qcow2 for
 * QEMU, the VMDK inside the OVA for VirtualBox and VMware, the VHDX for
 * Hyper-V. When that format was not built, it boots the best one that was,
 * and says so in a note. The VMDK is extracted from the OVA (a tar) into the
 * run's scratch directory with libarchive; only the member's base name is
 * used, so a hostile OVA cannot write elsewhere.
 */
#ifndef APKG_VALIDATE_ARTIFACT_H
#define APKG_VALIDATE_ARTIFACT_H

struct manifest;
struct manifest_artifact;
struct target;

struct chosen_artifact {
	const struct manifest_artifact *shipped; /* the file in the output directory */
	char *boot_path;     /* what QEMU opens: that file, or the VMDK taken from the OVA */
	const char *qemu_format;
	char *format;        /* "qcow2", "vmdk (from the OVA)", ... */
	char *note;          /* why this is not the target's first choice, or NULL */
};

/* Returns 0, or -1 with the reason in *why (malloc'd). */
int artifact_choose(const struct manifest *m, const struct target *t, const char *outdir, const char *scratch,
		    struct chosen_artifact *out, char **why);
void chosen_artifact_free(struct chosen_artifact *c);

#endif
