/* builder/services.c: enable and disable services in an image without running it.
 *
 * systemd: the same symlinks `systemctl enable` makes, computed from the
 * unit's [Install] section (systemd.unit(5), "[Install] Section Options"),
 * written under /etc/systemd/system. busybox: /etc/apkg/services, one init
 * script name per line, which the busybox base's rcS starts in order.
 */
#include "builder/customize.h"

#include "builder/imgroot.h"
#include "builder/recipe.h"
#include "util/diag.h"
#include "util/strbuf.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ETC_UNITS "/etc/systemd/system"
#define UNIT_MAX_SIZE (1u << 20)
#define ALSO_DEPTH_MAX 8

static const char *const unit_dirs[] = {ETC_UNITS, "/usr/local/lib/systemd/system", "/lib/systemd/system",
					"/usr/lib/systemd/system"};
static const char *const unit_suffixes[] = {".service", ".socket", ".timer", ".target", ".path", ".mount",
					    ".automount", ".swap", ".slice"};

struct names {
	char **v;
	size_t n;
};

struct install_info {
	struct names wanted_by, required_by, alias, also;
	char *default_instance;
};

/* A unit as found in the image. */
struct unit {
	char *name;      /* the name to enable: foo.service, getty@tty1.service */
	char *file_name; /* the unit file's name: getty@.service */
	char *path;      /* image path of the unit file, the target of the links */
	int masked;
	struct install_info install;
};

static void names_add(struct names *n, const char *s)
{
	n->v = xrealloc(n->v, (n->n + 1) * sizeof *n->v);
	n->v[n->n++] = xstrdup(s);
}

static void names_clear(struct names *n)
{
	for (size_t i = 0; i < n->n; i++)
		free(n->v[i]);
	free(n->v);
	n->v = NULL;
	n->n = 0;
}

static void unit_release(struct unit *u)
{
	free(u->name);
	free(u->file_name);
	free(u->path);
	names_clear(&u->install.wanted_by);
	names_clear(&u->install.required_by);
	names_clear(&u->install.alias);
	names_clear(&u->install.also);
	free(u->install.default_instance);
}

static int has_unit_suffix(const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < sizeof unit_suffixes / sizeof *unit_suffixes; i++) {
		size_t s = strlen(unit_suffixes[i]);
		if (n > s && !strcmp(name + n - s, unit_suffixes[i]))
			return 1;
	}
	return 0;
}

/* Unit names end up as file names in the image: keep them to the
 * characters systemd allows (unit_name_is_valid), with no path parts. */
static int valid_unit_name(const char *name)
{
	if (!*name || name[0] == '.' || strlen(name) > 255)
		return 0;
	for (const char *c = name; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr(":-_.\\@", *c))
			return 0;
	return 1;
}

static void parse_install(const char *text, struct install_info *in)
{
	int in_install = 0;
	char *copy = xstrdup(text), *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		line += strspn(line, " \t");
		if (*line == '[') {
			in_install = !strncmp(line, "[Install]", 9);
			continue;
		}
		char *eq = strchr(line, '=');
		if (!in_install || !eq || *line == '#' || *line == ';')
			continue;
		char *key_end = eq;
		while (key_end > line && isspace((unsigned char)key_end[-1]))
			key_end--;
		*key_end = 0;
		struct names *list = !strcmp(line, "WantedBy")     ? &in->wanted_by
				     : !strcmp(line, "RequiredBy") ? &in->required_by
				     : !strcmp(line, "Alias")      ? &in->alias
				     : !strcmp(line, "Also")       ? &in->also
								   : NULL;
		char *value = eq + 1, *wsave = NULL;
		if (!strcmp(line, "DefaultInstance")) {
			value += strspn(value, " \t");
			value[strcspn(value, " \t\r")] = 0;
			free(in->default_instance);
			in->default_instance = *value ? xstrdup(value) : NULL;
		}
		if (!list)
			continue;
		if (!value[strspn(value, " \t\r")]) /* an empty assignment resets the list */
			names_clear(list);
		for (char *w = strtok_r(value, " \t\r", &wsave); w; w = strtok_r(NULL, " \t\r", &wsave))
			names_add(list, w);
	}
	free(copy);
}

/* Splits "foo@bar.service" into the file name "foo@.service" and sets
 * *instance to "bar" (NULL when not a template instance). */
static char *template_file_name(const char *name, char **instance)
{
	*instance = NULL;
	const char *at = strchr(name, '@');
	const char *dot = strrchr(name, '.');
	if (!at || !dot || dot < at)
		return xstrdup(name);
	if (dot > at + 1)
		*instance = strndup(at + 1, (size_t)(dot - at - 1));
	return xasprintf("%.*s%s", (int)(at - name + 1), name, dot);
}

/* Finds name's unit file in the unit search path. A bare template name
 * becomes its DefaultInstance= when default_instance is set. Returns 0, or -1
 * after printing an error. */
static int find_unit(const struct imgroot *ir, const char *name, int default_instance, struct unit *u)
{
	memset(u, 0, sizeof *u);
	if (!valid_unit_name(name))
		return error("invalid service name '%s'", name);
	char *full = has_unit_suffix(name) ? xstrdup(name) : xasprintf("%s.service", name);
	char *instance;
	u->file_name = template_file_name(full, &instance);
	for (size_t i = 0; i < sizeof unit_dirs / sizeof *unit_dirs && !u->path; i++) {
		char *p = xasprintf("%s/%s", unit_dirs[i], u->file_name);
		struct strbuf link = STRBUF_INIT, text = STRBUF_INIT;
		if (i == 0 && imgroot_readlink(ir, p, &link) == 0 && !strcmp(link.buf, "/dev/null")) {
			u->masked = 1;
			u->path = p;
		} else if (imgroot_exists(ir, p) && imgroot_read(ir, p, &text, UNIT_MAX_SIZE, 0) == 0) {
			parse_install(text.buf, &u->install);
			u->path = p;
		} else {
			free(p);
		}
		strbuf_release(&link);
		strbuf_release(&text);
	}
	if (!instance && default_instance && strchr(u->file_name, '@') && u->install.default_instance)
		instance = xstrdup(u->install.default_instance);
	if (instance) {
		const char *at = strchr(full, '@'), *dot = strrchr(full, '.');
		u->name = xasprintf("%.*s%s%s", (int)(at - full + 1), full, instance, dot);
	} else {
		u->name = xstrdup(full);
	}
	free(instance);
	free(full);
	if (!u->path) {
		error("service '%s': no unit file %s in the image (looked in " ETC_UNITS ", /lib/systemd/system, "
		      "/usr/lib/systemd/system, /usr/local/lib/systemd/system)", name, u->file_name);
		unit_release(u);
		return -1;
	}
	return 0;
}

static int has_install_info(const struct unit *u)
{
	return u->install.wanted_by.n || u->install.required_by.n || u->install.alias.n || u->install.also.n;
}

static int valid_link_name(const char *s)
{
	return valid_unit_name(s) && !strchr(s, '%');
}

static int link_into(const struct imgroot *ir, const char *dep, const char *kind, const struct unit *u)
{
	if (!valid_link_name(dep))
		return error("unit %s: unsupported [Install] target '%s'", u->path, dep);
	char *dir = xasprintf(ETC_UNITS "/%s.%s", dep, kind);
	char *link = xasprintf("%s/%s", dir, u->name);
	int r = imgroot_mkdirs(ir, dir, 0755, 0, 0);
	if (r == 0)
		r = imgroot_symlink(ir, u->path, link);
	free(dir);
	free(link);
	return r;
}

static int enable_unit(const struct imgroot *ir, const char *name, int depth)
{
	struct unit u;
	if (find_unit(ir, name, 1, &u) < 0)
		return -1;
	int r = 0;
	if (u.masked)
		r = error("service '%s' is masked in the image (" ETC_UNITS "/%s -> /dev/null)", name, u.file_name);
	else if (!has_install_info(&u))
		r = error("service '%s' cannot be enabled: %s has no [Install] section with WantedBy=, RequiredBy=, "
			  "Alias= or Also= (it is static, started only by other units)", name, u.path);
	else if (strstr(u.name, "@."))
		r = error("service '%s' is a template: name an instance, like %.*s@NAME%s", name,
			  (int)(strchr(u.name, '@') - u.name), u.name, strrchr(u.name, '.'));
	for (size_t i = 0; r == 0 && i < u.install.wanted_by.n; i++)
		r = link_into(ir, u.install.wanted_by.v[i], "wants", &u);
	for (size_t i = 0; r == 0 && i < u.install.required_by.n; i++)
		r = link_into(ir, u.install.required_by.v[i], "requires", &u);
	for (size_t i = 0; r == 0 && i < u.install.alias.n; i++) {
		if (!valid_link_name(u.install.alias.v[i])) {
			r = error("unit %s: unsupported Alias= '%s'", u.path, u.install.alias.v[i]);
			break;
		}
		char *link = xasprintf(ETC_UNITS "/%s", u.install.alias.v[i]);
		r = imgroot_symlink(ir, u.path, link);
		free(link);
	}
	for (size_t i = 0; r == 0 && depth < ALSO_DEPTH_MAX && i < u.install.also.n; i++)
		r = enable_unit(ir, u.install.also.v[i], depth + 1);
	unit_release(&u);
	return r;
}

int systemd_enable(const struct imgroot *ir, const char *name)
{
	return enable_unit(ir, name, 0);
}

/* Removes symlinks matching pattern from every *.wants/ and *.requires/
 * directory under /etc/systemd/system. */
static int remove_dependency_links(const struct imgroot *ir, const char *pattern)
{
	int fd = imgroot_openat(ir, ETC_UNITS, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0)
		return errno == ENOENT ? 0 : error_errno("cannot open " ETC_UNITS " in the image");
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return error_errno("cannot read " ETC_UNITS " in the image");
	}
	int r = 0;
	struct dirent *de;
	while (r == 0 && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (!(n > 6 && !strcmp(de->d_name + n - 6, ".wants")) &&
		    !(n > 9 && !strcmp(de->d_name + n - 9, ".requires")))
			continue;
		int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		DIR *sd = sub >= 0 ? fdopendir(sub) : NULL;
		if (!sd) {
			if (sub >= 0)
				close(sub);
			continue;
		}
		struct dirent *le;
		struct stat st;
		while (r == 0 && (le = readdir(sd)))
			if (!fnmatch(pattern, le->d_name, 0) &&
			    fstatat(dirfd(sd), le->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode) &&
			    unlinkat(dirfd(sd), le->d_name, 0) < 0)
				r = error_errno("cannot remove " ETC_UNITS "/%s/%s in the image", de->d_name, le->d_name);
		closedir(sd);
	}
	closedir(d);
	return r;
}

static int disable_unit(const struct imgroot *ir, const char *name, int depth)
{
	struct unit u;
	if (find_unit(ir, name, 0, &u) < 0)
		return -1;
	int r = 0;
	if (u.masked) {
		unit_release(&u);
		return 0;
	}
	/* A bare template name disables every instance. */
	char *pattern = strstr(u.name, "@.") ? xasprintf("%.*s@*%s", (int)(strchr(u.name, '@') - u.name), u.name,
							 strrchr(u.name, '.'))
					     : xstrdup(u.name);
	r = remove_dependency_links(ir, pattern);
	free(pattern);
	for (size_t i = 0; r == 0 && i < u.install.alias.n; i++) {
		if (!valid_link_name(u.install.alias.v[i]))
			continue;
		char *link = xasprintf(ETC_UNITS "/%s", u.install.alias.v[i]);
		struct stat st;
		if (imgroot_lstat(ir, link, &st) == 0 && S_ISLNK(st.st_mode))
			r = imgroot_unlink(ir, link);
		free(link);
	}
	if (r == 0 && !has_install_info(&u)) {
		info("service %s has no [Install] section: masking it so that it does not start", u.name);
		r = systemd_mask(ir, u.name);
	}
	for (size_t i = 0; r == 0 && depth < ALSO_DEPTH_MAX && i < u.install.also.n; i++)
		r = disable_unit(ir, u.install.also.v[i], depth + 1);
	unit_release(&u);
	return r;
}

int systemd_disable(const struct imgroot *ir, const char *name)
{
	return disable_unit(ir, name, 0);
}

int systemd_mask(const struct imgroot *ir, const char *name)
{
	if (!valid_unit_name(name))
		return error("invalid service name '%s'", name);
	char *full = has_unit_suffix(name) ? xasprintf(ETC_UNITS "/%s", name) : xasprintf(ETC_UNITS "/%s.service", name);
	struct stat st;
	int r = 0;
	if (imgroot_lstat(ir, full, &st) == 0 && !S_ISLNK(st.st_mode))
		r = error("cannot mask %s: a unit file of that name is in " ETC_UNITS, name);
	else
		r = imgroot_symlink(ir, "/dev/null", full);
	free(full);
	return r;
}

/* busybox: /etc/apkg/services lists init scripts, one per line. */
#define BUSYBOX_SERVICES "/etc/apkg/services"

static int init_script_exists(const struct imgroot *ir, const char *name)
{
	char *p = xasprintf("/etc/init.d/%s", name);
	struct stat st;
	int ok = imgroot_stat(ir, p, &st) == 0 && S_ISREG(st.st_mode);
	free(p);
	return ok;
}

static int valid_script_name(const char *s)
{
	return *s && s[0] != '.' && !strpbrk(s, "/\n \t");
}

static void list_remove(struct names *l, const char *name)
{
	size_t k = 0;
	for (size_t i = 0; i < l->n; i++) {
		if (!strcmp(l->v[i], name))
			free(l->v[i]);
		else
			l->v[k++] = l->v[i];
	}
	l->n = k;
}

static int list_has(const struct names *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], name))
			return 1;
	return 0;
}

static int busybox_services(const struct recipe *r, const struct imgroot *ir)
{
	struct strbuf text = STRBUF_INIT;
	struct names list = {0};
	int rc = imgroot_read(ir, BUSYBOX_SERVICES, &text, UNIT_MAX_SIZE, 1) < 0 ? -1 : 0;
	char *save = NULL;
	for (char *l = strtok_r(text.buf, "\n", &save); rc == 0 && l; l = strtok_r(NULL, "\n", &save))
		if (*l)
			names_add(&list, l);
	for (size_t i = 0; rc == 0 && i < r->services_enable.n; i++) {
		const char *s = r->services_enable.items[i];
		if (!valid_script_name(s) || !init_script_exists(ir, s))
			rc = recipe_error(&r->services_enable.pos[i],
					  "services.enable: '%s': there is no init script /etc/init.d/%s in the image", s, s);
		else if (!list_has(&list, s))
			names_add(&list, s);
	}
	for (size_t i = 0; rc == 0 && i < r->services_disable.n; i++) {
		const char *s = r->services_disable.items[i];
		if (!list_has(&list, s) && (!valid_script_name(s) || !init_script_exists(ir, s)))
			rc = recipe_error(&r->services_disable.pos[i],
					  "services.disable: '%s': there is no init script /etc/init.d/%s in the image", s, s);
		list_remove(&list, s);
	}
	struct strbuf out = STRBUF_INIT;
	for (size_t i = 0; i < list.n; i++)
		strbuf_addf(&out, "%s\n", list.v[i]);
	if (rc == 0 && (list.n || text.len))
		rc = imgroot_write(ir, BUSYBOX_SERVICES, out.buf, out.len, 0644, 0, 0);
	strbuf_release(&out);
	strbuf_release(&text);
	names_clear(&list);
	return rc;
}

int services_apply(const struct recipe *r, const struct imgroot *ir, int systemd)
{
	if (!systemd)
		return busybox_services(r, ir);
	for (size_t i = 0; i < r->services_enable.n; i++)
		if (systemd_enable(ir, r->services_enable.items[i]) < 0)
			return recipe_error(&r->services_enable.pos[i], "services.enable: cannot enable '%s'",
					    r->services_enable.items[i]);
	for (size_t i = 0; i < r->services_disable.n; i++)
		if (systemd_disable(ir, r->services_disable.items[i]) < 0)
			return recipe_error(&r->services_disable.pos[i], "services.disable: cannot disable '%s'",
					    r->services_disable.items[i]);
	return 0;
}
