/* builder/customize.h: the parts of customisation, each callable and testable alone.
 *
 * customize() (declared in rootfs.h) runs them in this order: users,
 * hostname, network, files, run, services. Users come first so files can be
 * owned by them; files come after hostname and network so a recipe can
 * override what apkg writes; services come last so units installed by `run`
 * commands can be enabled.
 */
#ifndef APKG_BUILDER_CUSTOMIZE_H
#define APKG_BUILDER_CUSTOMIZE_H

#include <stdint.h>

struct imgroot;
struct recipe;
struct recipe_pos;
struct strbuf;
struct string_list;
struct userdb;

/* Prints "file:line:col: message" for a recipe position (or a plain error
 * when the value has no position). Returns -1. */
__attribute__((format(printf, 2, 3))) int recipe_error(const struct recipe_pos *pos, const char *fmt, ...);

/* builder/files.c: installs r->files (inline content or a host file or
 * directory), owners resolved against the image's accounts in db. */
int files_apply(const struct recipe *r, const struct imgroot *ir, const struct userdb *db);

/* builder/services.c */
/* Enables a systemd unit the way `systemctl enable` does: symlinks in
 * /etc/systemd/system/<target>.wants/ (WantedBy=), .requires/ (RequiredBy=),
 * Alias= links, and the units named by Also=. A name without a unit suffix
 * means NAME.service. */
int systemd_enable(const struct imgroot *ir, const char *name);
/* Removes those links again (and Also= units'); a unit with no [Install]
 * section is masked instead, since disabling would not stop it. */
int systemd_disable(const struct imgroot *ir, const char *name);
/* Links /etc/systemd/system/<unit> to /dev/null. */
int systemd_mask(const struct imgroot *ir, const char *name);
/* services.enable / services.disable: systemd units, or busybox init scripts
 * listed one per line in /etc/apkg/services (started by the base's rcS). */
int services_apply(const struct recipe *r, const struct imgroot *ir, int systemd);

/* builder/customize.c */
/* /etc/hostname and /etc/hosts. */
int hostname_apply(const char *hostname, const struct imgroot *ir);
/* DHCP on every wired interface: a systemd-networkd .network file (with
 * networkd enabled and systemd-networkd-wait-online masked, so nothing ever
 * waits for a network), or /etc/apkg/network = "dhcp" for busybox. */
int network_apply(const struct recipe *r, const struct imgroot *ir, int systemd);

/* builder/run_in_image.c: runs `/bin/sh -c cmd` chrooted into rootdir in
 * private mount, PID, UTS and IPC namespaces, with /proc, a read-only /sys, a
 * minimal /dev and a tmpfs /run mounted there only. stdout and stderr are
 * captured in output. Returns the command's exit status, or -1. */
int run_in_image(const char *rootdir, const char *cmd, const char *hostname, uint64_t epoch, struct strbuf *output);

#endif
