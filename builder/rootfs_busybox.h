/* builder/rootfs_busybox.h: the busybox base, a complete appliance root in a few MB. */
#ifndef APKG_BUILDER_ROOTFS_BUSYBOX_H
#define APKG_BUILDER_ROOTFS_BUSYBOX_H

struct recipe;

/* Populates rootdir with the host's static busybox (busybox-static) and its
 * applet links, /etc/inittab, an rcS that mounts the API filesystems, sets
 * the hostname, starts DHCP when /etc/apkg/network says so, starts the
 * services listed in /etc/apkg/services, prints the ready line and runs the
 * in-guest probe when /run/apkg/check exists; plus passwd, group, shadow. */
int rootfs_busybox(const struct recipe *r, const char *rootdir);

/* The line rcS prints on the serial console when the appliance is up. */
#define APKG_READY_MARKER "APKG-READY"

#endif
