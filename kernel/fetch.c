/* kernel/fetch.c: downloading a Debian kernel package into a cache and unpacking it.
 *
 * Promises: the cache only ever holds complete .deb files (downloads land in a scratch
 * directory and are renamed in); the package is read with libarchive and treated as hostile:
 * every entry path is checked (no absolute paths, no `..`), only the kernel image, its config
 * and its modules are written, and links or device nodes among those are refused, so nothing
 * is ever written outside dest_dir.
 */
#include "kernel/kernel.h"

#include "util/diag.h"
#include "util/io.h"
#include "util/run.h"
#include "util/strbuf.h"

#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define UNPACK_MAX_BYTES (4ull << 30)
#define UNPACK_MAX_ENTRIES 200000

/* ---- unpacking -------------------------------------------------------------------------- */

struct unpack {
	const char *deb;
	const char *dest;
	char *release;      /* from boot/vmlinuz-<release> */
	uint64_t bytes;
	unsigned entries;
};

/* Checks an archive path and strips "./" prefixes and trailing slashes. Returns NULL and the
 * cleaned path in *out (caller frees), or why the path is hostile. */
static const char *clean_entry_path(const char *raw, char **out)
{
	if (!raw)
		return "an entry without a path";
	while (raw[0] == '.' && raw[1] == '/')
		raw += 2;
	if (raw[0] == '/')
		return "an absolute path";
	char *p = xstrdup(raw);
	size_t len = strlen(p);
	while (len && p[len - 1] == '/')
		p[--len] = 0;
	for (char *c = p; *c;) {
		size_t n = strcspn(c, "/");
		if (n == 2 && c[0] == '.' && c[1] == '.') {
			free(p);
			return "a '..' path component";
		}
		c += n;
		c += strspn(c, "/");
	}
	*out = p;
	return NULL;
}

/* Where an entry goes under dest ("lib/modules/...", "boot/vmlinuz-..."), or NULL to skip it. */
static const char *wanted_dest(const char *path)
{
	if (!strncmp(path, "usr/lib/modules/", 16))
		return path + 4;
	if (!strncmp(path, "lib/modules/", 12))
		return path;
	if ((!strncmp(path, "boot/vmlinuz-", 13) && path[13]) || (!strncmp(path, "boot/config-", 12) && path[12]))
		return strchr(path + 5, '/') ? NULL : path;
	return NULL;
}

static int release_name_ok(const char *r)
{
	if (!*r || !strcmp(r, ".") || !strcmp(r, ".."))
		return 0;
	for (; *r; r++)
		if (!isalnum((unsigned char)*r) && !strchr("._+-~", *r))
			return 0;
	return 1;
}

static int note_release(struct unpack *u, const char *rel)
{
	if (strncmp(rel, "boot/vmlinuz-", 13))
		return 0;
	const char *release = rel + 13;
	if (!release_name_ok(release))
		return error("%s: odd kernel release name '%s'", u->deb, release);
	if (u->release)
		return error("%s: more than one kernel image (%s and %s)", u->deb, u->release, release);
	u->release = xstrdup(release);
	return 0;
}

static int write_regular(struct unpack *u, struct archive *a, const char *target)
{
	int fd = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return error_errno("cannot create %s", target);
	const void *buf;
	size_t size;
	la_int64_t off;
	int r;
	while ((r = archive_read_data_block(a, &buf, &size, &off)) == ARCHIVE_OK) {
		u->bytes += size;
		if (u->bytes > UNPACK_MAX_BYTES) {
			close(fd);
			return error("%s: unpacks to more than %llu bytes", u->deb, UNPACK_MAX_BYTES);
		}
		if (off < 0 || pwrite_all(fd, buf, size, (uint64_t)off) < 0) {
			close(fd);
			return -1;
		}
	}
	if (r != ARCHIVE_EOF) {
		close(fd);
		return error("%s: %s", u->deb, archive_error_string(a));
	}
	if (close(fd) < 0)
		return error_errno("close %s", target);
	return 0;
}

static int unpack_entry(struct unpack *u, struct archive *a, struct archive_entry *e)
{
	char *path = NULL;
	if (++u->entries > UNPACK_MAX_ENTRIES)
		return error("%s: too many entries", u->deb);
	const char *why = clean_entry_path(archive_entry_pathname(e), &path);
	if (why)
		return error("%s: refusing a hostile package: %s in %s", u->deb, why,
			     archive_entry_pathname(e) ? archive_entry_pathname(e) : "data.tar");
	const char *rel = wanted_dest(path);
	int r = 0;
	if (rel) {
		mode_t type = archive_entry_filetype(e);
		char *target = path_join(u->dest, rel);
		char *slash = strrchr(target, '/');
		if (archive_entry_hardlink(e) || (type != AE_IFREG && type != AE_IFDIR)) {
			r = error("%s: refusing %s: only plain files and directories are unpacked", u->deb, path);
		} else if (type == AE_IFDIR) {
			r = mkdir_p(target, 0755);
		} else {
			*slash = 0;
			r = mkdir_p(target, 0755);
			*slash = '/';
			if (r == 0)
				r = note_release(u, rel);
			if (r == 0)
				r = write_regular(u, a, target);
		}
		free(target);
	}
	free(path);
	return r;
}

struct inner_source {
	struct archive *outer;
	char buf[65536];
};

static la_ssize_t read_from_outer(struct archive *a, void *data, const void **buf)
{
	struct inner_source *s = data;
	*buf = s->buf;
	la_ssize_t n = archive_read_data(s->outer, s->buf, sizeof s->buf);
	if (n < 0)
		archive_set_error(a, EIO, "%s", archive_error_string(s->outer));
	return n;
}

/* Reads the data.tar.* member the outer (ar) archive is positioned on. */
static int unpack_data_tar(struct unpack *u, struct archive *outer)
{
	struct inner_source *src = xcalloc(1, sizeof *src);
	src->outer = outer;
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	int r = 0;
	if (archive_read_open(a, src, NULL, read_from_outer, NULL) != ARCHIVE_OK) {
		r = error("%s: data.tar: %s", u->deb, archive_error_string(a));
	} else {
		struct archive_entry *e;
		int h;
		while (!r && (h = archive_read_next_header(a, &e)) == ARCHIVE_OK)
			r = unpack_entry(u, a, e);
		if (!r && h != ARCHIVE_EOF)
			r = error("%s: data.tar: %s", u->deb, archive_error_string(a));
	}
	archive_read_free(a);
	free(src);
	return r;
}

int kernel_unpack_deb(const char *deb_path, const char *dest_dir, struct kernel *out)
{
	struct unpack u = { .deb = deb_path, .dest = dest_dir };
	memset(out, 0, sizeof *out);
	if (mkdir_p(dest_dir, 0755) < 0)
		return -1;
	struct archive *a = archive_read_new();
	archive_read_support_format_ar(a);
	int r = -1, found = 0;
	if (archive_read_open_filename(a, deb_path, 65536) != ARCHIVE_OK) {
		error("%s: %s", deb_path, archive_error_string(a));
	} else {
		struct archive_entry *e;
		int h;
		while ((h = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
			const char *name = archive_entry_pathname(e);
			if (name && !strncmp(name, "data.tar", 8)) {
				found = 1;
				r = unpack_data_tar(&u, a);
				break;
			}
		}
		if (!found)
			error("%s: not a Debian package (no data.tar member)%s%s", deb_path,
			      h == ARCHIVE_OK || h == ARCHIVE_EOF ? "" : ": ",
			      h == ARCHIVE_OK || h == ARCHIVE_EOF ? "" : archive_error_string(a));
	}
	archive_read_free(a);
	if (r == 0 && !u.release)
		r = error("%s: no boot/vmlinuz-* in the package (is it a kernel image package?)", deb_path);
	if (r == 0)
		r = kernel_describe(dest_dir, u.release, out);
	free(u.release);
	return r;
}

/* ---- the package cache ------------------------------------------------------------------ */

static int package_name_ok(const char *p)
{
	if (!isalnum((unsigned char)p[0]) || strlen(p) > 200)
		return 0;
	for (; *p; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && !strchr("+-.", *p))
			return 0;
	return 1;
}

static char *default_cache_dir(void)
{
	const char *xdg = getenv("XDG_CACHE_HOME");
	if (xdg && *xdg == '/')
		return xasprintf("%s/apkg/debs", xdg);
	const char *home = getenv("HOME");
	return xasprintf("%s/.cache/apkg/debs", home && *home ? home : "/tmp");
}

/* A metapackage (linux-image-amd64) names no kernel release; the concrete package it depends
 * on does (linux-image-6.1.0-56-amd64). */
static int is_concrete_kernel(const char *pkg)
{
	return !strncmp(pkg, "linux-image-", 12) && isdigit((unsigned char)pkg[12]);
}

/* The first "Depends: linux-image-..." of pkg, or NULL. */
static char *kernel_dependency(const char *pkg)
{
	struct strbuf outb = STRBUF_INIT;
	const char *argv[] = { "apt-cache", "depends", "--no-recommends", "--no-suggests", "--no-conflicts",
			       "--no-breaks", "--no-replaces", "--no-enhances", pkg, NULL };
	struct run_opts o = { .output = &outb, .timeout_s = 120 };
	char *dep = NULL;
	if (run_argv(argv, &o) != 0) {
		error("cannot resolve kernel package %s: apt-cache depends failed:\n%s", pkg, outb.buf);
		strbuf_release(&outb);
		return NULL;
	}
	char *save = NULL;
	for (char *line = strtok_r(outb.buf, "\n", &save); line && !dep; line = strtok_r(NULL, "\n", &save)) {
		line += strspn(line, " |");
		if (strncmp(line, "Depends: linux-image-", 21))
			continue;
		char *name = line + 9;
		name[strcspn(name, " \t")] = 0;
		if (package_name_ok(name))
			dep = xstrdup(name);
	}
	strbuf_release(&outb);
	return dep ? dep : xstrdup(pkg);
}

static char *resolve_kernel_package(const char *package)
{
	char *pkg = xstrdup(package);
	for (int depth = 0; depth < 4 && !is_concrete_kernel(pkg); depth++) {
		if (require_tool("apt-cache", "apt") < 0) {
			free(pkg);
			return NULL;
		}
		char *dep = kernel_dependency(pkg);
		if (!dep || !strcmp(dep, pkg)) {
			free(pkg);
			return dep;
		}
		free(pkg);
		pkg = dep;
	}
	return pkg;
}

/* The newest cached <pkg>_<version>_<arch>.deb, or NULL. */
static char *find_cached_deb(const char *cache, const char *pkg)
{
	DIR *d = opendir(cache);
	if (!d)
		return NULL;
	size_t plen = strlen(pkg);
	char *best = NULL;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (strncmp(de->d_name, pkg, plen) || de->d_name[plen] != '_' || n < 4 ||
		    strcmp(de->d_name + n - 4, ".deb"))
			continue;
		if (!best || strverscmp(de->d_name, best) > 0) {
			free(best);
			best = xstrdup(de->d_name);
		}
	}
	closedir(d);
	char *path = best ? path_join(cache, best) : NULL;
	free(best);
	return path;
}

/* The one .deb apt-get left in dir, moved into cache. */
static char *adopt_download(const char *dir, const char *cache, const char *pkg)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char *final = NULL;
	while (d && (de = readdir(d)) && !final) {
		size_t n = strlen(de->d_name);
		if (n < 5 || strcmp(de->d_name + n - 4, ".deb"))
			continue;
		char *src = path_join(dir, de->d_name);
		final = path_join(cache, de->d_name);
		if (rename(src, final) < 0) {
			error_errno("cannot move %s into the cache", src);
			free(final);
			final = NULL;
		}
		free(src);
	}
	if (d)
		closedir(d);
	if (!final)
		error("apt-get download %s left no .deb file", pkg);
	return final;
}

static char *download_deb(const char *cache, const char *pkg)
{
	if (require_tool("apt-get", "apt") < 0)
		return NULL;
	char *dir = xasprintf("%s/.download-XXXXXX", cache);
	if (!mkdtemp(dir)) {
		error_errno("cannot create a download directory in %s", cache);
		free(dir);
		return NULL;
	}
	cleanup_register(dir);
	info("downloading kernel package %s", pkg);
	struct strbuf outb = STRBUF_INIT;
	const char *argv[] = { "apt-get", "download", "-q", pkg, NULL };
	struct run_opts o = { .cwd = dir, .output = &outb, .timeout_s = 1800 };
	char *deb = NULL;
	if (run_argv(argv, &o) != 0)
		error("apt-get download %s failed:\n%s", pkg, outb.buf);
	else
		deb = adopt_download(dir, cache, pkg);
	strbuf_release(&outb);
	rm_rf(dir);
	cleanup_unregister(dir);
	free(dir);
	return deb;
}

/* depmod writes modules.dep in the package's postinst; an unpacked package has none yet. */
static int ensure_modules_dep(const char *dest_dir, const struct kernel *k)
{
	char *dep = path_join(k->modules_dir, "modules.dep");
	int have = path_exists(dep);
	free(dep);
	if (have)
		return 0;
	const char *depmod = tool_exists("depmod")		? "depmod"
			     : access("/usr/sbin/depmod", X_OK) == 0 ? "/usr/sbin/depmod"
			     : access("/sbin/depmod", X_OK) == 0     ? "/sbin/depmod"
								     : NULL;
	if (!depmod)
		return require_tool("depmod", "kmod");
	return run_checked(depmod, "-b", dest_dir, k->release, NULL);
}

/* The unpacked tree of one .deb, kept beside the .deb cache (debs/../kernels/<deb name>/):
 * unpacking 70 MB of xz takes several seconds, and a kernel package never changes under the
 * same file name. A tree is used only once its ".complete" marker exists; it is made in a
 * temporary sibling and renamed into place, so concurrent builds never see half a tree. */
static int unpacked_tree(const char *cache, const char *deb, struct kernel *out)
{
	const char *base = strrchr(deb, '/') ? strrchr(deb, '/') + 1 : deb;
	size_t blen = strlen(base);
	char *name = xstrdup(base);
	if (blen > 4 && !strcmp(name + blen - 4, ".deb"))
		name[blen - 4] = 0;
	char *kernels = xasprintf("%s/../kernels", cache);
	char *tree = path_join(kernels, name);
	char *marker = path_join(tree, ".complete");
	int r = -1;
	if (path_exists(marker)) {
		r = kernel_find_in_root(tree, out);
		goto done;
	}
	char *tmp = xasprintf("%s/.tmp-%s-XXXXXX", kernels, name);
	if (mkdir_p(kernels, 0755) < 0 || !mkdtemp(tmp)) {
		error_errno("cannot create a kernel cache directory in %s", kernels);
		free(tmp);
		goto done;
	}
	struct kernel k;
	r = kernel_unpack_deb(deb, tmp, &k);
	if (r == 0) {
		r = ensure_modules_dep(tmp, &k);
		kernel_release(&k);
	}
	char *tmp_marker = path_join(tmp, ".complete");
	if (r == 0)
		r = write_file_atomic(tmp_marker, "", 0, 0644);
	free(tmp_marker);
	if (r == 0 && rename(tmp, tree) < 0 && !path_exists(marker))
		r = error_errno("cannot move the unpacked kernel into %s", tree);
	rm_rf(tmp); /* nothing left if the rename happened; a loser's copy otherwise */
	free(tmp);
	if (r == 0)
		r = kernel_find_in_root(tree, out);
done:
	free(name);
	free(kernels);
	free(tree);
	free(marker);
	return r;
}

int kernel_fetch(const char *package, const char *cache_dir, struct kernel *out)
{
	memset(out, 0, sizeof *out);
	if (!package_name_ok(package))
		return error("'%s' is not a Debian package name", package);
	char *cache = cache_dir ? xstrdup(cache_dir) : default_cache_dir();
	char *pkg = NULL, *deb = NULL;
	int r = -1;
	if (mkdir_p(cache, 0755) == 0 && (pkg = resolve_kernel_package(package)) &&
	    ((deb = find_cached_deb(cache, pkg)) || (deb = download_deb(cache, pkg))))
		r = unpacked_tree(cache, deb, out);
	free(cache);
	free(pkg);
	free(deb);
	return r;
}
