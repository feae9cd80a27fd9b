/* builder/rootfs_debian.c: a Debian root filesystem from one mmdebstrap run.
 *
 * mmdebstrap runs in unshare mode: as root it keeps the real user ids but
 * still puts every mount it makes (proc, sys, dev for the maintainer
 * scripts) in a private mount namespace, so nothing is mounted on the host,
 * even when it is killed. Afterwards apkg checks that nothing under the root
 * is mounted. The package set is decided here, once, so that the whole
 * appliance is one apt solution: the recipe's packages, the kernel, systemd
 * as init, udev (loads the NIC drivers and lets networkd see links), and
 * systemd-resolved for DNS from DHCP. apkg boots with its own initramfs, so
 * tiny-initramfs stands in for initramfs-tools (which the kernel package
 * would otherwise pull in and run for tens of seconds).
 */
#include "builder/rootfs.h"

#include "builder/imgroot.h"
#include "builder/recipe.h"
#include "util/diag.h"
#include "util/io.h"
#include "util/run.h"
#include "util/strbuf.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define MMDEBSTRAP_TIMEOUT_S 3600

/* Appliances ship no documentation: dpkg skips these paths, now and for
 * every later install in the image (mmdebstrap keeps the setting there). */
static const char *const dpkg_filters[] = {
	"path-exclude=/usr/share/man/*",         "path-exclude=/usr/share/info/*",
	"path-exclude=/usr/share/doc/*",         "path-include=/usr/share/doc/*/copyright",
	"path-exclude=/usr/share/locale/*",      "path-include=/usr/share/locale/locale.alias",
	"path-exclude=/usr/share/lintian/*",     "path-exclude=/usr/share/linda/*",
};

/* Suites where networkd and resolved are still part of the systemd package. */
static const char *const suites_with_bundled_resolved[] = {"stretch", "buster", "bullseye", NULL};

static int name_listed(const struct string_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->items[i], name))
			return 1;
	return 0;
}

static int suite_in(const char *suite, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(suite, *list))
			return 1;
	return 0;
}

/* Package names go into one comma-separated mmdebstrap argument. */
static int valid_package(const char *p)
{
	if (!*p || !isalnum((unsigned char)*p))
		return 0;
	for (; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("+-.:=~", *p))
			return 0;
	return 1;
}

static int apkg_chose_initramfs_tool(const struct recipe *r)
{
	return !name_listed(&r->packages, "initramfs-tools") && !name_listed(&r->packages, "dracut") &&
	       !name_listed(&r->packages, "tiny-initramfs");
}

static int include_list(const struct recipe *r, struct strbuf *out)
{
	for (size_t i = 0; i < r->packages.n; i++) {
		if (!valid_package(r->packages.items[i]))
			return error("invalid package name '%s'", r->packages.items[i]);
		strbuf_addf(out, "%s%s", out->len ? "," : "", r->packages.items[i]);
	}
	if (r->kernel.package && *r->kernel.package) {
		if (!valid_package(r->kernel.package))
			return error("invalid kernel package name '%s'", r->kernel.package);
		strbuf_addf(out, "%s%s", out->len ? "," : "", r->kernel.package);
	}
	strbuf_addf(out, "%ssystemd-sysv,udev", out->len ? "," : "");
	if (r->network_dhcp && !suite_in(r->base.suite, suites_with_bundled_resolved))
		strbuf_adds(out, ",systemd-resolved");
	if (apkg_chose_initramfs_tool(r))
		strbuf_adds(out, ",tiny-initramfs");
	return 0;
}

/* The first Debian archive in one-line sources.list syntax:
 * "deb [options] URI suite components...". */
static int source_from_list_line(char *line, char **uri, char **components)
{
	line += strspn(line, " \t");
	if (strncmp(line, "deb", 3) || (line[3] != ' ' && line[3] != '\t'))
		return -1;
	char *rest = line + 3;
	rest[strcspn(rest, "#")] = 0;
	rest += strspn(rest, " \t");
	if (*rest == '[') {
		char *close = strchr(rest, ']');
		if (!close)
			return -1;
		rest = close + 1;
	}
	char *save = NULL, *u = strtok_r(rest, " \t", &save), *suite = strtok_r(NULL, " \t", &save);
	if (!u || !suite || strstr(suite, "security") || strstr(u, "security"))
		return -1;
	*uri = xstrdup(u);
	struct strbuf comps = STRBUF_INIT;
	for (char *c = strtok_r(NULL, " \t", &save); c; c = strtok_r(NULL, " \t", &save))
		strbuf_addf(&comps, "%s%s", comps.len ? " " : "", c);
	*components = comps.len ? strbuf_detach(&comps) : xstrdup("main");
	strbuf_release(&comps);
	return 0;
}

/* The value of a deb822 field in one paragraph (NULL if absent). */
static char *deb822_field(const char *para, const char *key)
{
	size_t n = strlen(key);
	for (const char *l = para; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (!strncasecmp(l, key, n) && l[n] == ':') {
			const char *v = l + n + 1;
			v += strspn(v, " \t");
			return strndup(v, strcspn(v, "\n"));
		}
	}
	return NULL;
}

static int source_from_deb822(const char *para, char **uri, char **components)
{
	char *types = deb822_field(para, "Types"), *uris = deb822_field(para, "URIs");
	char *suites = deb822_field(para, "Suites"), *comps = deb822_field(para, "Components");
	char *enabled = deb822_field(para, "Enabled");
	int r = -1;
	int is_deb = 0;
	char *save = NULL;
	for (char *t = types ? strtok_r(types, " \t", &save) : NULL; t; t = strtok_r(NULL, " \t", &save))
		is_deb |= !strcmp(t, "deb");
	if (is_deb && uris && suites && !strstr(suites, "security") && !strstr(uris, "security") &&
	    !(enabled && !strcasecmp(enabled, "no"))) {
		*uri = strndup(uris, strcspn(uris, " \t"));
		*components = comps && *comps ? xstrdup(comps) : xstrdup("main");
		r = 0;
	}
	free(types);
	free(uris);
	free(suites);
	free(comps);
	free(enabled);
	return r;
}

static int source_from_file(const char *path, char **uri, char **components)
{
	struct strbuf sb = STRBUF_INIT;
	if (read_file(path, &sb, 1 << 20) < 0) {
		strbuf_release(&sb);
		return -1;
	}
	size_t n = strlen(path);
	int deb822 = n > 8 && !strcmp(path + n - 8, ".sources");
	int r = -1;
	if (deb822) {
		/* Drop comment lines, then split paragraphs at blank lines. */
		struct strbuf clean = STRBUF_INIT;
		char *save = NULL;
		for (char *l = strtok_r(sb.buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
			if (l[0] != '#')
				strbuf_addf(&clean, "%s\n", l[strspn(l, " \t")] ? l : "");
		for (char *p = clean.buf; r < 0 && p && *p;) {
			char *end = strstr(p, "\n\n");
			if (end)
				*end = 0;
			r = source_from_deb822(p, uri, components);
			p = end ? end + 2 : NULL;
		}
		strbuf_release(&clean);
	} else {
		char *save = NULL;
		for (char *l = strtok_r(sb.buf, "\n", &save); r < 0 && l; l = strtok_r(NULL, "\n", &save))
			r = source_from_list_line(l, uri, components);
	}
	strbuf_release(&sb);
	return r;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The host's first Debian archive: sources.list, then sources.list.d/ in
 * name order (*.list and deb822 *.sources), as apt reads them. */
static int host_source(char **uri, char **components)
{
	if (path_exists("/etc/apt/sources.list") && source_from_file("/etc/apt/sources.list", uri, components) == 0)
		return 0;
	DIR *d = opendir("/etc/apt/sources.list.d");
	if (!d)
		return -1;
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if ((l > 5 && !strcmp(de->d_name + l - 5, ".list")) || (l > 8 && !strcmp(de->d_name + l - 8, ".sources"))) {
			names = xrealloc(names, (n + 1) * sizeof *names);
			names[n++] = xasprintf("/etc/apt/sources.list.d/%s", de->d_name);
		}
	}
	closedir(d);
	qsort(names, n, sizeof *names, cmp_str);
	int r = -1;
	for (size_t i = 0; i < n; i++) {
		if (r < 0)
			r = source_from_file(names[i], uri, components);
		free(names[i]);
	}
	free(names);
	return r;
}

char *debian_mirror_line(const struct recipe *r)
{
	char *uri = NULL, *components = NULL;
	if (r->base.mirror && *r->base.mirror) {
		uri = xstrdup(r->base.mirror);
		components = xstrdup("main");
	} else if (host_source(&uri, &components) < 0) {
		error("no Debian mirror: the recipe sets no base.mirror and the host has no 'deb' source in "
		      "/etc/apt/sources.list or /etc/apt/sources.list.d/");
		return NULL;
	}
	char *line = xasprintf("deb %s %s %s", uri, r->base.suite, components);
	free(uri);
	free(components);
	return line;
}

static int valid_variant(const char *v)
{
	return !strcmp(v, "minbase") || !strcmp(v, "essential") || !strcmp(v, "standard");
}

/* A mount left under the root would end up in the image, or leak on the host. */
static int check_no_mounts_under(const char *rootdir)
{
	char real[PATH_MAX];
	if (!realpath(rootdir, real))
		return error_errno("cannot resolve %s", rootdir);
	struct strbuf mi = STRBUF_INIT;
	if (read_file("/proc/self/mountinfo", &mi, 16 << 20) < 0)
		return -1;
	size_t n = strlen(real);
	int r = 0;
	char *save = NULL;
	for (char *l = strtok_r(mi.buf, "\n", &save); l && r == 0; l = strtok_r(NULL, "\n", &save)) {
		/* field 5 is the mount point */
		char *p = l;
		for (int f = 0; f < 4 && p; f++)
			p = strchr(p, ' ') ? strchr(p, ' ') + 1 : NULL;
		if (p && !strncmp(p, real, n) && (p[n] == ' ' || p[n] == '/'))
			r = error("%.*s is still mounted after mmdebstrap", (int)strcspn(p, " "), p);
	}
	strbuf_release(&mi);
	return r;
}

/* mmdebstrap copies the build host's resolv.conf and hostname into the
 * tree: neither belongs in an appliance. */
static int drop_host_identity(const char *rootdir)
{
	struct imgroot ir;
	if (imgroot_open(&ir, rootdir) < 0)
		return -1;
	static const char *const files[] = {"/etc/resolv.conf", "/etc/hostname"};
	int r = 0;
	for (size_t i = 0; i < 2 && r == 0; i++) {
		struct strbuf host = STRBUF_INIT, img = STRBUF_INIT;
		struct stat st;
		if (imgroot_lstat(&ir, files[i], &st) == 0 && S_ISREG(st.st_mode) &&
		    read_file(files[i], &host, 1 << 20) == 0 && imgroot_read(&ir, files[i], &img, 1 << 20, 1) == 0 &&
		    host.len == img.len && !memcmp(host.buf, img.buf, host.len))
			r = i == 0 ? imgroot_unlink(&ir, files[i]) : imgroot_write(&ir, files[i], "localhost\n", 10, 0644, 0, 0);
		strbuf_release(&host);
		strbuf_release(&img);
	}
	imgroot_close(&ir);
	return r;
}

/* tiny-initramfs's initrd is never booted (apkg brings its own) and embeds
 * the build time: drop it and the links to it. */
static int drop_unused_initrd(const char *rootdir)
{
	struct imgroot ir;
	if (imgroot_open(&ir, rootdir) < 0)
		return -1;
	int r = imgroot_unlink(&ir, "/initrd.img") | imgroot_unlink(&ir, "/initrd.img.old");
	size_t n;
	char **names = imgroot_list_dir(&ir, "/boot", &n);
	for (size_t i = 0; i < n; i++) {
		if (strncmp(names[i], "initrd.img-", 11))
			continue;
		char *p = xasprintf("/boot/%s", names[i]);
		r |= imgroot_unlink(&ir, p);
		free(p);
	}
	imgroot_free_names(names, n);
	imgroot_close(&ir);
	return r ? -1 : 0;
}

static int run_mmdebstrap(const struct recipe *r, const char *rootdir, const char *scratch, const char *includes,
			  const char *mirror)
{
	const char *argv[64];
	size_t n = 0;
	char *variant = xasprintf("--variant=%s", r->base.variant);
	char *include = xasprintf("--include=%s", includes);
	argv[n++] = "mmdebstrap";
	argv[n++] = "--mode=unshare";
	argv[n++] = "--format=directory";
	argv[n++] = variant;
	argv[n++] = include;
	char *filters[sizeof dpkg_filters / sizeof *dpkg_filters];
	for (size_t i = 0; i < sizeof dpkg_filters / sizeof *dpkg_filters; i++)
		argv[n++] = filters[i] = xasprintf("--dpkgopt=%s", dpkg_filters[i]);
	argv[n++] = r->base.suite;
	argv[n++] = rootdir;
	argv[n++] = mirror;
	argv[n] = NULL;

	char *epoch = xasprintf("SOURCE_DATE_EPOCH=%llu", (unsigned long long)r->epoch);
	char *tmpdir = xasprintf("TMPDIR=%s", scratch);
	char *env[] = {epoch, tmpdir, "LC_ALL=C.UTF-8", NULL};
	struct strbuf out = STRBUF_INIT;
	struct run_opts o = {.output = &out, .env_add = env, .timeout_s = MMDEBSTRAP_TIMEOUT_S};
	int rc = run_argv(argv, &o);
	if (rc != 0) {
		if (out.len)
			fprintf(stderr, "%s%s", out.buf, out.buf[out.len - 1] == '\n' ? "" : "\n");
		error("mmdebstrap failed (exit %d) building %s %s with %s", rc, r->base.suite, r->base.variant, includes);
	}
	strbuf_release(&out);
	for (size_t i = 0; i < sizeof dpkg_filters / sizeof *dpkg_filters; i++)
		free(filters[i]);
	free(variant);
	free(include);
	free(epoch);
	free(tmpdir);
	return rc == 0 ? 0 : -1;
}

int rootfs_debian(const struct recipe *r, const char *rootdir, const char *scratch)
{
	require_tool("mmdebstrap", "mmdebstrap");
	if (!r->base.suite || !*r->base.suite || strpbrk(r->base.suite, " \t\n/"))
		return error("base.suite: invalid Debian suite '%s'", r->base.suite ? r->base.suite : "");
	if (!r->base.variant || !valid_variant(r->base.variant))
		return error("base.variant must be minbase, essential or standard, not '%s'",
			     r->base.variant ? r->base.variant : "");
	struct strbuf includes = STRBUF_INIT;
	char *mirror = NULL;
	int rc = include_list(r, &includes);
	if (rc == 0 && !(mirror = debian_mirror_line(r)))
		rc = -1;
	if (rc == 0 && mkdir_p(scratch, 0700) < 0)
		rc = -1;
	if (rc == 0) {
		info("mmdebstrap: %s %s from %s with %s", r->base.suite, r->base.variant, mirror, includes.buf);
		rc = run_mmdebstrap(r, rootdir, scratch, includes.buf, mirror);
		/* Whatever happened, no mount may survive it. */
		if (path_exists(rootdir) && check_no_mounts_under(rootdir) < 0)
			rc = -1;
	}
	if (rc == 0 && !rootfs_is_systemd(rootdir))
		rc = error("the Debian root has no systemd as /sbin/init after mmdebstrap");
	if (rc == 0)
		rc = drop_host_identity(rootdir);
	if (rc == 0 && apkg_chose_initramfs_tool(r))
		rc = drop_unused_initrd(rootdir);
	if (rc == 0)
		rc = rootfs_scrub(r, rootdir, 1);
	free(mirror);
	strbuf_release(&includes);
	return rc;
}
