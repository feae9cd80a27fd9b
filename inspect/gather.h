/* inspect/gather.h: what the parts of an inspection share (internal to inspect/). */
#ifndef APKG_INSPECT_GATHER_H
#define APKG_INSPECT_GATHER_H

#include <guestfs.h>

struct inspect_result;

/* inspect/bootfiles.c: with the filesystem `dev` mounted read-only at /,
 * records its EFI binaries, loader entries (systemd-boot, syslinux, GRUB),
 * BIOS loader files, kernels and initrds, and apkg's recipe record and checks. */
void bootfiles_scan(guestfs_h *g, const char *dev, struct inspect_result *r);

#endif
