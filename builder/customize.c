/* builder/customize.c: apply the recipe's customisation to any base's root.
 *
 * The order is fixed (see customize.h). Everything is written from the host
 * through builder/imgroot.c, confined to the image root; only `run` commands
 * execute inside the image, in private namespaces (run_in_image.c). A
 * failing step stops the build with a message that names the recipe entry.
 */
#include "builder/customize.h"

#include "builder/imgroot.h"
#include "builder/recipe.h"
#include "builder/rootfs.h"
#include "builder/users.h"
#include "util/diag.h"
#include "util/strbuf.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define NETWORKD_FILE "/etc/systemd/network/80-apkg-dhcp.network"
#define BUSYBOX_NETWORK "/etc/apkg/network"

int recipe_error(const struct recipe_pos *pos, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (pos && pos->file && pos->line > 0)
		diag_at(pos->file, pos->line, pos->col, "%s", buf);
	else
		error("%s", buf);
	return -1;
}

/* RFC 1123 host names: dot-separated labels of letters, digits and '-'. */
static int valid_hostname(const char *h)
{
	size_t n = strlen(h);
	if (n == 0 || n > 253)
		return 0;
	size_t label = 0;
	for (size_t i = 0; i < n; i++) {
		if (h[i] == '.') {
			if (label == 0 || h[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)h[i]) && !(h[i] == '-' && label > 0))
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0 && h[n - 1] != '-';
}

int hostname_apply(const char *hostname, const struct imgroot *ir)
{
	if (!valid_hostname(hostname))
		return error("invalid hostname '%s' (letters, digits, '-' and '.', at most 63 per label)", hostname);
	char *name = xasprintf("%s\n", hostname);
	/* The short name resolves locally, as Debian's installer sets it up. */
	char *hosts = xasprintf("127.0.0.1\tlocalhost\n"
				"127.0.1.1\t%s\n"
				"\n"
				"::1\tlocalhost ip6-localhost ip6-loopback\n"
				"ff02::1\tip6-allnodes\n"
				"ff02::2\tip6-allrouters\n",
				hostname);
	int r = imgroot_write(ir, "/etc/hostname", name, strlen(name), 0644, 0, 0);
	if (r == 0)
		r = imgroot_write(ir, "/etc/hosts", hosts, strlen(hosts), 0644, 0, 0);
	free(name);
	free(hosts);
	return r;
}

static const char networkd_dhcp[] = "# DHCP on every wired interface (written by apkg)\n"
				    "[Match]\n"
				    "Name=en* eth*\n"
				    "\n"
				    "[Network]\n"
				    "DHCP=yes\n";

int network_apply(const struct recipe *r, const struct imgroot *ir, int systemd)
{
	if (!r->network_dhcp)
		return 0;
	if (!systemd)
		return imgroot_write(ir, BUSYBOX_NETWORK, "dhcp\n", 5, 0644, 0, 0);
	if (imgroot_write(ir, NETWORKD_FILE, networkd_dhcp, sizeof networkd_dhcp - 1, 0644, 0, 0) < 0 ||
	    systemd_enable(ir, "systemd-networkd.service") < 0)
		return error("network.dhcp needs systemd-networkd in the image");
	/* An appliance must never hold its boot for a network that may not
	 * exist: nothing may wait for network-online.target to be reached. */
	if (systemd_disable(ir, "systemd-networkd-wait-online.service") < 0 ||
	    systemd_mask(ir, "systemd-networkd-wait-online.service") < 0)
		return -1;
	return 0;
}

static int run_commands(const struct recipe *r, const char *rootdir)
{
	for (size_t i = 0; i < r->run.n; i++) {
		const char *cmd = r->run.items[i];
		struct strbuf out = STRBUF_INIT;
		info("run [%zu/%zu]: %s", i + 1, r->run.n, cmd);
		int rc = run_in_image(rootdir, cmd, r->hostname, r->epoch, &out);
		if (rc != 0) {
			if (out.len)
				fprintf(stderr, "%s%s", out.buf, out.buf[out.len - 1] == '\n' ? "" : "\n");
			strbuf_release(&out);
			return recipe_error(&r->run.pos[i], "run: command %zu failed (exit %d): %s", i + 1, rc, cmd);
		}
		strbuf_release(&out);
	}
	return 0;
}

int rootfs_is_systemd(const char *rootdir)
{
	struct imgroot ir;
	if (imgroot_open(&ir, rootdir) < 0)
		return 0;
	struct strbuf target = STRBUF_INIT;
	int yes = imgroot_readlink(&ir, "/sbin/init", &target) == 0 &&
		  (!strcmp(target.buf, "systemd") ||
		   (target.len > 8 && !strcmp(target.buf + target.len - 8, "/systemd")));
	strbuf_release(&target);
	imgroot_close(&ir);
	return yes;
}

int customize(const struct recipe *r, const char *rootdir, int systemd)
{
	struct imgroot ir;
	if (imgroot_open(&ir, rootdir) < 0)
		return -1;
	struct userdb *db = userdb_load(&ir);
	int rc = db ? 0 : -1;
	if (rc == 0)
		rc = users_apply(r, &ir, db);
	if (rc == 0 && r->hostname)
		rc = hostname_apply(r->hostname, &ir);
	if (rc == 0)
		rc = network_apply(r, &ir, systemd);
	if (rc == 0)
		rc = files_apply(r, &ir, db);
	if (rc == 0 && r->run.n) {
		rc = run_commands(r, rootdir);
		/* Commands may install packages: keys, logs and caches again. */
		if (rc == 0)
			rc = rootfs_scrub(r, rootdir, systemd);
	}
	if (rc == 0)
		rc = services_apply(r, &ir, systemd);
	if (rc == 0)
		rc = rootfs_clamp_mtimes(rootdir, r->epoch);
	userdb_free(db);
	imgroot_close(&ir);
	return rc;
}
