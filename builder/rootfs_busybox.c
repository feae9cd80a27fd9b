/* builder/rootfs_busybox.c: build a busybox root filesystem without chroot tools.
 *
 * Everything is written from the host side: the static busybox binary is
 * copied from busybox-static, its applet links come from `busybox
 * --list-full`, and the init scripts are plain files. Nothing is executed
 * inside the image.
 */
#include "builder/rootfs_busybox.h"

#include "builder/recipe.h"
#include "util/diag.h"
#include "util/io.h"
#include "util/run.h"
#include "util/strbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HOST_BUSYBOX "/bin/busybox"

static const char *const dirs[] = {
	"bin", "sbin", "usr", "usr/bin", "usr/sbin", "usr/lib", "usr/share", "usr/share/udhcpc",
	"etc", "etc/init.d", "etc/apkg", "etc/network", "dev", "proc", "sys", "run", "tmp",
	"var", "var/log", "var/run", "var/tmp", "root", "home", "lib", "mnt", "www",
};

static const char inittab[] =
	"# /etc/inittab: busybox init (written by apkg)\n"
	"::sysinit:/etc/init.d/rcS\n"
	"ttyS0::respawn:/sbin/getty -L 115200 ttyS0 vt100\n"
	"tty1::respawn:/sbin/getty 38400 tty1\n"
	"::ctrlaltdel:/sbin/reboot\n"
	"::shutdown:/etc/init.d/rcK\n";

/* rcS: the API filesystems may already be mounted (apkg's initramfs moves
 * /dev, /proc and /sys into the new root, and mounts /run when a boot check
 * was requested), so mount only what is missing and never hide /run.
 * Debian's busybox-static has no `mountpoint` applet: /proc/mounts tells. */
static const char rcS[] =
	"#!/bin/sh\n"
	"# /etc/init.d/rcS: busybox appliance start-up (written by apkg)\n"
	"PATH=/sbin:/bin:/usr/sbin:/usr/bin\n"
	"export PATH\n"
	"[ -e /proc/mounts ] || mount -t proc proc /proc\n"
	"mounted() { grep -q \" $1 \" /proc/mounts; }\n"
	"mounted /sys || mount -t sysfs sysfs /sys\n"
	"mounted /dev || mount -t devtmpfs devtmpfs /dev\n"
	"mkdir -p /dev/pts && (mounted /dev/pts || mount -t devpts devpts /dev/pts)\n"
	"mounted /run || mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run\n"
	"mounted /tmp || mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp\n"
	"mount -o remount,rw / 2>/dev/null\n"
	"[ -s /etc/hostname ] && hostname -F /etc/hostname\n"
	"ifconfig lo 127.0.0.1 up\n"
	"if grep -qx dhcp /etc/apkg/network 2>/dev/null; then\n"
	"\tfor i in /sys/class/net/*; do\n"
	"\t\tn=${i##*/}; [ \"$n\" = lo ] && continue\n"
	"\t\tudhcpc -b -q -t 3 -i \"$n\" -s /usr/share/udhcpc/default.script >/dev/null 2>&1\n"
	"\tdone\n"
	"fi\n"
	"if [ -f /etc/apkg/services ]; then\n"
	"\twhile read -r s; do\n"
	"\t\t[ -n \"$s\" ] || continue\n"
	"\t\tif [ -x \"/etc/init.d/$s\" ]; then \"/etc/init.d/$s\" start; else echo \"apkg: service $s has no /etc/init.d/$s\"; fi\n"
	"\tdone < /etc/apkg/services\n"
	"fi\n"
	"echo \"" APKG_READY_MARKER " $(hostname) $(cat /etc/apkg/release 2>/dev/null)\" > /dev/console\n"
	"if [ -e /run/apkg/check ] && [ -x /usr/lib/apkg/apkg-probe ]; then\n"
	"\t/usr/lib/apkg/apkg-probe\n"
	"fi\n";

static const char rcK[] =
	"#!/bin/sh\n"
	"# /etc/init.d/rcK: stop services in reverse order (written by apkg)\n"
	"[ -f /etc/apkg/services ] || exit 0\n"
	"for s in $(sed '1!G;h;$!d' /etc/apkg/services); do\n"
	"\t[ -x \"/etc/init.d/$s\" ] && \"/etc/init.d/$s\" stop\n"
	"done\n"
	"exit 0\n";

/* udhcpc hands its results to a script; busybox ships none. */
static const char udhcpc_script[] =
	"#!/bin/sh\n"
	"# udhcpc event script (written by apkg)\n"
	"case \"$1\" in\n"
	"deconfig) ifconfig \"$interface\" 0.0.0.0 ;;\n"
	"bound|renew)\n"
	"\tifconfig \"$interface\" \"$ip\" netmask \"${subnet:-255.255.255.0}\"\n"
	"\tif [ -n \"$router\" ]; then\n"
	"\t\twhile route del default gw 0.0.0.0 dev \"$interface\" 2>/dev/null; do :; done\n"
	"\t\tfor r in $router; do route add default gw \"$r\" dev \"$interface\"; done\n"
	"\tfi\n"
	"\t: > /etc/resolv.conf\n"
	"\tfor d in $dns; do echo \"nameserver $d\" >> /etc/resolv.conf; done\n"
	"\t;;\n"
	"esac\n"
	"exit 0\n";

static int write_text(const char *rootdir, const char *rel, const char *text, mode_t mode)
{
	char *p = path_join(rootdir, rel);
	int r = write_file_atomic(p, text, strlen(text), mode);
	free(p);
	return r;
}

static int install_applets(const char *rootdir)
{
	struct strbuf list = STRBUF_INIT;
	const char *argv[] = {HOST_BUSYBOX, "--list-full", NULL};
	struct run_opts o = {.output = &list};
	if (run_argv(argv, &o) != 0) {
		strbuf_release(&list);
		return error("cannot list busybox applets (%s --list-full)", HOST_BUSYBOX);
	}
	int r = 0;
	char *save = NULL;
	for (char *line = strtok_r(list.buf, "\n", &save); line && r == 0; line = strtok_r(NULL, "\n", &save)) {
		if (!*line || strstr(line, "..") || line[0] == '/' || !strcmp(line, "linuxrc"))
			continue;
		/* A relative target keeps the links valid wherever the root is mounted. */
		int depth = 0;
		for (const char *c = line; *c; c++)
			depth += *c == '/';
		struct strbuf target = STRBUF_INIT;
		for (int i = 0; i < depth; i++)
			strbuf_adds(&target, "../");
		strbuf_adds(&target, "bin/busybox");
		if (!strcmp(line, "bin/busybox")) {
			strbuf_release(&target);
			continue;
		}
		char *link = path_join(rootdir, line);
		if (symlink(target.buf, link) < 0 && errno != EEXIST)
			r = error_errno("cannot create applet link %s", link);
		free(link);
		strbuf_release(&target);
	}
	strbuf_release(&list);
	return r;
}

int rootfs_busybox(const struct recipe *r, const char *rootdir)
{
	if (!path_exists(HOST_BUSYBOX))
		die_code(EXIT_MISSING_TOOL, "%s not found (install the Debian package 'busybox-static')", HOST_BUSYBOX);
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		char *p = path_join(rootdir, dirs[i]);
		int rc = mkdir_p(p, 0755);
		free(p);
		if (rc < 0)
			return -1;
	}
	char *p = path_join(rootdir, "tmp");
	chmod(p, 01777);
	free(p);
	p = path_join(rootdir, "var/tmp");
	chmod(p, 01777);
	free(p);
	p = path_join(rootdir, "root");
	chmod(p, 0700);
	free(p);

	char *bb = path_join(rootdir, "bin/busybox");
	int rc = copy_file_sparse(HOST_BUSYBOX, bb, 0755);
	free(bb);
	if (rc < 0 || install_applets(rootdir) < 0)
		return -1;

	char *release = xasprintf("%s %s\n", r->name, r->version);
	char *os_release = xasprintf("NAME=\"%s\"\nID=apkg-busybox\nVERSION_ID=\"%s\"\nPRETTY_NAME=\"%s %s (apkg busybox appliance)\"\n",
				     r->name, r->version, r->name, r->version);
	rc = write_text(rootdir, "etc/inittab", inittab, 0644) | write_text(rootdir, "etc/init.d/rcS", rcS, 0755) |
	     write_text(rootdir, "etc/init.d/rcK", rcK, 0755) |
	     write_text(rootdir, "usr/share/udhcpc/default.script", udhcpc_script, 0755) |
	     write_text(rootdir, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", 0644) |
	     write_text(rootdir, "etc/group", "root:x:0:\nadm:x:4:\ntty:x:5:\nwheel:x:10:\nusers:x:100:\n", 0644) |
	     /* "*": no password can match; apkg never ships a root password hash unless the recipe sets one. */
	     write_text(rootdir, "etc/shadow", "root:*:0:0:99999:7:::\n", 0600) |
	     write_text(rootdir, "etc/shells", "/bin/sh\n/bin/ash\n", 0644) |
	     write_text(rootdir, "etc/fstab", "# apkg: the root filesystem is mounted by the initramfs\n", 0644) |
	     write_text(rootdir, "etc/apkg/release", release, 0644) |
	     write_text(rootdir, "etc/os-release", os_release, 0644) |
	     write_text(rootdir, "etc/hosts", "127.0.0.1\tlocalhost\n", 0644);
	free(release);
	free(os_release);
	return rc ? -1 : 0;
}
