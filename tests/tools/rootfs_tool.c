/* tests/tools/rootfs_tool.c: drives the root filesystem stages from shell tests.
 *
 * Builds a struct recipe from command-line options (so the integration
 * tests do not depend on the recipe parser) and calls one stage:
 *   rootfs_tool tarball TARBALL ROOTDIR
 *   rootfs_tool debian ROOTDIR SCRATCH [recipe options]
 *   rootfs_tool customize ROOTDIR [--systemd|--busybox] [recipe options]
 *   rootfs_tool is-systemd ROOTDIR           (exit 0 if systemd, 1 if not)
 * Recipe options: --suite S --variant V --mirror URL --package P --kernel P
 *   --epoch N --hostname H --dhcp --no-dhcp --enable S --disable S --run CMD
 *   --user NAME [--uid N --group G --key KEY --password HASH --shell SH --home DIR]
 *   --file PATH [--content TEXT | --source HOSTPATH] [--mode OCTAL] [--owner U:G]
 * (--uid ... and --content ... apply to the last --user / --file).
 */
#include "builder/recipe.h"
#include "builder/rootfs.h"
#include "util/diag.h"
#include "util/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void list_add(struct string_list *l, const char *s)
{
	l->items = xrealloc(l->items, (l->n + 1) * sizeof *l->items);
	l->pos = xrealloc(l->pos, (l->n + 1) * sizeof *l->pos);
	l->items[l->n] = xstrdup(s);
	memset(&l->pos[l->n], 0, sizeof *l->pos);
	l->n++;
}

static void init_recipe(struct recipe *r)
{
	memset(r, 0, sizeof *r);
	r->name = "test";
	r->version = "1";
	r->epoch = 1700000000;
	r->base.suite = "bookworm";
	r->base.variant = "minbase";
	r->kernel.package = "";
	r->network_dhcp = 0;
}

static struct recipe_user *last_user(struct recipe *r)
{
	if (!r->n_users)
		die("--user must come first");
	return &r->users[r->n_users - 1];
}

static struct recipe_file *last_file(struct recipe *r)
{
	if (!r->n_files)
		die("--file must come first");
	return &r->files[r->n_files - 1];
}

/* Parses options from argv[i...]. */
static void parse_options(struct recipe *r, int argc, char **argv, int i, int *systemd)
{
	for (; i < argc; i++) {
		const char *o = argv[i];
		if (!strcmp(o, "--systemd") || !strcmp(o, "--busybox")) {
			*systemd = !strcmp(o, "--systemd");
			continue;
		}
		if (!strcmp(o, "--dhcp") || !strcmp(o, "--no-dhcp")) {
			r->network_dhcp = !strcmp(o, "--dhcp");
			continue;
		}
		if (i + 1 >= argc)
			die("%s needs a value", o);
		char *v = argv[++i];
		if (!strcmp(o, "--suite"))
			r->base.suite = v;
		else if (!strcmp(o, "--variant"))
			r->base.variant = v;
		else if (!strcmp(o, "--mirror"))
			r->base.mirror = v;
		else if (!strcmp(o, "--package"))
			list_add(&r->packages, v);
		else if (!strcmp(o, "--kernel"))
			r->kernel.package = v;
		else if (!strcmp(o, "--epoch"))
			r->epoch = strtoull(v, NULL, 10);
		else if (!strcmp(o, "--hostname"))
			r->hostname = v;
		else if (!strcmp(o, "--enable"))
			list_add(&r->services_enable, v);
		else if (!strcmp(o, "--disable"))
			list_add(&r->services_disable, v);
		else if (!strcmp(o, "--run"))
			list_add(&r->run, v);
		else if (!strcmp(o, "--user")) {
			r->users = xrealloc(r->users, (r->n_users + 1) * sizeof *r->users);
			struct recipe_user *u = &r->users[r->n_users++];
			memset(u, 0, sizeof *u);
			u->name = v;
			u->uid = -1;
			u->shell = "/bin/sh";
			u->password = "!";
		} else if (!strcmp(o, "--uid"))
			last_user(r)->uid = strtol(v, NULL, 10);
		else if (!strcmp(o, "--group"))
			list_add(&last_user(r)->groups, v);
		else if (!strcmp(o, "--key"))
			list_add(&last_user(r)->ssh_authorized_keys, v);
		else if (!strcmp(o, "--password")) {
			last_user(r)->password = v;
			last_user(r)->password_set = 1;
		} else if (!strcmp(o, "--shell"))
			last_user(r)->shell = v;
		else if (!strcmp(o, "--home"))
			last_user(r)->home = v;
		else if (!strcmp(o, "--file")) {
			r->files = xrealloc(r->files, (r->n_files + 1) * sizeof *r->files);
			struct recipe_file *f = &r->files[r->n_files++];
			memset(f, 0, sizeof *f);
			f->path = v;
			f->mode = 0644;
			f->owner = "root:root";
		} else if (!strcmp(o, "--content")) {
			last_file(r)->content = v;
			last_file(r)->content_len = strlen(v);
		} else if (!strcmp(o, "--source"))
			last_file(r)->source = v;
		else if (!strcmp(o, "--mode")) {
			last_file(r)->mode = (unsigned)strtoul(v, NULL, 8);
			last_file(r)->mode_set = 1;
		} else if (!strcmp(o, "--owner"))
			last_file(r)->owner = v;
		else
			die("unknown option %s", o);
	}
}

int main(int argc, char **argv)
{
	diag_set_program("rootfs_tool");
	if (argc < 3)
		die("usage: rootfs_tool tarball|debian|customize|is-systemd ARGS (see the source)");
	struct recipe r;
	init_recipe(&r);
	int systemd = -1;
	const char *cmd = argv[1];
	if (!strcmp(cmd, "tarball")) {
		if (argc < 4)
			die("usage: rootfs_tool tarball TARBALL ROOTDIR");
		r.base.kind = BASE_TARBALL;
		r.base.tarball = argv[2];
		parse_options(&r, argc, argv, 4, &systemd);
		return rootfs_tarball(&r, argv[3]) == 0 ? 0 : 1;
	}
	if (!strcmp(cmd, "debian")) {
		if (argc < 4)
			die("usage: rootfs_tool debian ROOTDIR SCRATCH [options]");
		r.base.kind = BASE_DEBIAN;
		parse_options(&r, argc, argv, 4, &systemd);
		return rootfs_debian(&r, argv[2], argv[3]) == 0 ? 0 : 1;
	}
	if (!strcmp(cmd, "customize")) {
		parse_options(&r, argc, argv, 3, &systemd);
		if (systemd < 0)
			systemd = rootfs_is_systemd(argv[2]);
		return customize(&r, argv[2], systemd) == 0 ? 0 : 1;
	}
	if (!strcmp(cmd, "is-systemd"))
		return rootfs_is_systemd(argv[2]) ? 0 : 1;
	die("unknown command %s", cmd);
}
