/* kernel/kernel.c: locating a kernel (in a root filesystem or a downloaded package) and
 * answering module questions about it from its depmod files. */
#include "kernel/kernel.h"

#include "kernel/moddb.h"
#include "util/diag.h"
#include "util/io.h"
#include "util/strbuf.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void kernel_release(struct kernel *k)
{
	free(k->release);
	free(k->vmlinuz);
	free(k->modules_dir);
	free(k->config);
	memset(k, 0, sizeof *k);
}

static int is_regular_file(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* lib/modules/<release> under root: usr/lib first, so that a root whose /lib is a symlink
 * (merged /usr) is never followed out of the tree. */
static char *modules_dir_in(const char *root, const char *release)
{
	static const char *const bases[] = { "usr/lib/modules", "lib/modules" };
	for (size_t i = 0; i < 2; i++) {
		char *p = xasprintf("%s/%s/%s", root, bases[i], release);
		struct stat st;
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			return p;
		free(p);
	}
	return NULL;
}

int kernel_describe(const char *root, const char *release, struct kernel *out)
{
	memset(out, 0, sizeof *out);
	char *vmlinuz = xasprintf("%s/boot/vmlinuz-%s", root, release);
	char *modules = modules_dir_in(root, release);
	if (!is_regular_file(vmlinuz) || !modules) {
		error("%s: no kernel %s (need boot/vmlinuz-%s and lib/modules/%s)", root, release, release,
		      release);
		free(vmlinuz);
		free(modules);
		return -1;
	}
	out->release = xstrdup(release);
	out->vmlinuz = vmlinuz;
	out->modules_dir = modules;
	out->config = xasprintf("%s/boot/config-%s", root, release);
	if (!is_regular_file(out->config)) {
		free(out->config);
		out->config = NULL;
	}
	return 0;
}

int kernel_find_in_root(const char *rootdir, struct kernel *out)
{
	char *boot = path_join(rootdir, "boot");
	DIR *d = opendir(boot);
	char *best = NULL;
	struct dirent *de;
	while (d && (de = readdir(d))) {
		const char *rel = de->d_name + strlen("vmlinuz-");
		if (strncmp(de->d_name, "vmlinuz-", 8) || !*rel || strchr(rel, '/'))
			continue;
		char *path = xasprintf("%s/%s", boot, de->d_name);
		char *mods = modules_dir_in(rootdir, rel);
		if (is_regular_file(path) && mods && (!best || strverscmp(rel, best) > 0)) {
			free(best);
			best = xstrdup(rel);
		}
		free(path);
		free(mods);
	}
	if (d)
		closedir(d);
	free(boot);
	if (!best)
		return error("%s: no installed kernel (boot/vmlinuz-* with lib/modules/<release>); "
			     "add a linux-image package", rootdir);
	int r = kernel_describe(rootdir, best, out);
	free(best);
	return r;
}

enum driver_state kernel_driver_state(const struct kernel *k, const char *name)
{
	struct module_db db;
	if (module_db_load(&db, k->modules_dir) < 0)
		return DRIVER_MISSING;
	enum driver_state s = module_db_find(&db, name) ? DRIVER_MODULE
			      : module_db_is_builtin(&db, name) ? DRIVER_BUILTIN
								 : DRIVER_MISSING;
	module_db_release(&db);
	return s;
}

int kernel_module_closure(const struct kernel *k, const char *const *names, size_t n, char ***paths_out,
			  size_t *n_out)
{
	struct module_db db;
	if (module_db_load(&db, k->modules_dir) < 0)
		return -1;
	int r = module_db_closure(&db, names, n, paths_out, n_out);
	module_db_release(&db);
	return r;
}
