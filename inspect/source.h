/* inspect/source.h: what `apkg inspect` hands to libguestfs for an image file.
 *
 * An image is a disk in any format QEMU reads (raw, qcow2, VMDK, VHDX, VHD,
 * VDI), told apart by its content, never by its name (a raw image is never
 * probed by QEMU). An OVA is a tar holding one or more disks: each disk is
 * read in place, through a tiny qcow2 overlay whose backing file is QEMU's
 * json: pseudo-protocol over the member's byte range in the tar
 * ({"driver": "vmdk", "file": {"driver": "raw", "offset": N, "size": M, ...}}).
 * When QEMU cannot do that, the member is copied out (sparsely) to a
 * temporary file instead, and read_via says so. Temporary files live in one
 * directory that inspect_source_release() removes (and a signal cleans up).
 */
#ifndef APKG_INSPECT_SOURCE_H
#define APKG_INSPECT_SOURCE_H

#include <stddef.h>
#include <stdint.h>

struct inspect_disk_source {
	char *member;        /* the tar member, for OVAs; else NULL */
	const char *format;  /* QEMU's name for it: raw, qcow2, vmdk, vhdx, vpc, vdi */
	uint64_t offset;     /* of the member's data in the OVA */
	uint64_t size;       /* bytes of the file or member */
	char *drive;         /* what libguestfs opens */
	const char *drive_format;
};

struct inspect_source {
	char *path;          /* absolute path of the image */
	const char *container; /* "ova", or NULL for a plain disk image */
	const char *read_via;  /* "file", "in place" (json: over the OVA) or "extracted" */
	struct inspect_disk_source *disks;
	size_t n_disks;
	char *tmpdir;
};

/* The QEMU format name of a disk image from its first bytes (at least 512
 * given), or "raw"; "ova" for a tar; "vmdk-descriptor" for a VMDK text
 * descriptor, whose extents are separate files. */
const char *inspect_sniff_format(const unsigned char *head, size_t n);
/* Opens path. Returns 0, or -1 after printing why. */
int inspect_source_open(const char *path, struct inspect_source *s);
void inspect_source_release(struct inspect_source *s);
/* Bytes that hold data (not holes, not zero clusters) across the disks,
 * from `qemu-img map`. Returns 0, or -1 after printing why. */
int inspect_source_allocated(const struct inspect_source *s, uint64_t *bytes);

#endif
