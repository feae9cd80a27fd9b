/* builder/rootfs.h: the appliance's root filesystem, as a directory tree.
 *
 * A base (debian via mmdebstrap, a tarball, busybox) populates an empty
 * root directory; customize() then applies the recipe's files, users,
 * services, hostname, network and run commands to it. None of this mounts
 * anything where the host can see it or runs any tool that reads the host's
 * accounts; the resulting tree carries no identity (empty machine-id, no SSH
 * host keys), no caches and no timestamps later than the recipe's epoch.
 */
#ifndef APKG_BUILDER_ROOTFS_H
#define APKG_BUILDER_ROOTFS_H

#include <stdint.h>

struct recipe;

/* Debian base: one mmdebstrap run (unshare mode: its mounts live in a
 * private mount namespace) with the recipe's suite, variant, mirror
 * (default: the host's first Debian apt source), packages and kernel
 * package. systemd-sysv and udev are added so every variant boots systemd
 * to multi-user.target; systemd-resolved when network.dhcp is on (DNS from
 * DHCP); tiny-initramfs instead of initramfs-tools, since apkg brings its
 * own initramfs (its unused initrd is removed). Documentation, man pages and
 * locales are not installed.
 * SOURCE_DATE_EPOCH is r->epoch. Then rootfs_scrub(). scratch holds
 * temporary files (TMPDIR). Returns 0, or -1 after printing mmdebstrap's
 * output. */
int rootfs_debian(const struct recipe *r, const char *rootdir, const char *scratch);

/* The apt source line a debian base is bootstrapped from, "deb URI SUITE
 * COMPONENTS": the recipe's base.mirror, else the host's first Debian
 * source. NULL after printing an error. Caller frees. */
char *debian_mirror_line(const struct recipe *r);

/* Tarball base: extracts r->base.tarball (any format and compression
 * libarchive reads) into rootdir, keeping numeric owners, modes, xattrs,
 * ACLs and times. Absolute paths, ".." and writes through symlinks are
 * refused with the offending entry named; the extraction runs chrooted into
 * rootdir, so nothing outside it can be touched. Then rootfs_scrub(). */
int rootfs_tarball(const struct recipe *r, const char *rootdir);

/* Applies the recipe's users, hostname, network, files, run commands and
 * services (in that order) to rootdir. systemd selects systemd units and
 * systemd-networkd; otherwise the busybox conventions (/etc/init.d scripts
 * listed in /etc/apkg/services, "dhcp" in /etc/apkg/network). Ends with
 * rootfs_clamp_mtimes(). */
int customize(const struct recipe *r, const char *rootdir, int systemd);

/* True if rootdir's /sbin/init is systemd. */
int rootfs_is_systemd(const char *rootdir);

/* Removes what must not ship in every copy of an appliance: SSH host keys
 * (with a first-boot unit running `ssh-keygen -A` when sshd is installed
 * and systemd is the init), the machine-id's content (the file stays,
 * empty), D-Bus's copy of it, systemd's random seed, apt lists and caches,
 * non-empty files under /var/log, shell histories of root and /home users,
 * /tmp and /var/tmp contents, and stale *-old copies of the dpkg and
 * debconf databases. Paths the recipe's `files` install are left alone. */
int rootfs_scrub(const struct recipe *r, const char *rootdir, int systemd);

/* Sets the modification and access time of every entry modified after epoch
 * to epoch (symlinks themselves, never followed), for reproducible file
 * systems. Entries modified before it keep both times. */
int rootfs_clamp_mtimes(const char *rootdir, uint64_t epoch);

#endif
