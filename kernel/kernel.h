/* kernel/kernel.h: the appliance's kernel: where it comes from and which modules it needs.
 *
 * A kernel is a Debian kernel package, either downloaded and unpacked by apkg (busybox and
 * tarball bases) or already installed in the root filesystem (debian bases). Promises: the
 * package archive is treated as hostile (only the kernel image, its config and the modules tree
 * are unpacked; absolute paths, `..`, links and special files are refused); module questions
 * are answered from the kernel's own modules.dep, modules.builtin, modules.softdep and
 * modules.alias, never from a hard-coded list.
 */
#ifndef APKG_KERNEL_KERNEL_H
#define APKG_KERNEL_KERNEL_H

#include <stddef.h>

struct kernel {
	char *release;     /* e.g. "6.1.0-56-amd64" */
	char *vmlinuz;     /* host path of the kernel image */
	char *modules_dir; /* host path of lib/modules/<release> */
	char *config;      /* host path of config-<release>, or NULL */
};

/* busybox/tarball bases: `apt-get download` the Debian kernel package (a metapackage such as
 * linux-image-amd64 is resolved to linux-image-6.1.0-NN-amd64 via apt-cache) into cache_dir
 * (NULL: $XDG_CACHE_HOME/apkg/debs or ~/.cache/apkg/debs; a cached .deb is reused), unpack it
 * once into cache_dir/../kernels/<deb name>/ and make sure modules.dep exists (depmod -b when the
 * package has none). Later builds reuse the unpacked tree: `out` points into the cache, which
 * callers must treat as read-only. */
int kernel_fetch(const char *package, const char *cache_dir, struct kernel *out);
/* Unpacks one kernel .deb (an ar archive holding data.tar.*) into dest_dir: only the files
 * boot/vmlinuz-*, boot/config-* and the lib/modules tree (a usr/lib/modules tree lands in
 * lib/modules). Fails, naming the entry, on absolute paths and `..` anywhere, and on links or
 * device nodes among the entries it unpacks. */
int kernel_unpack_deb(const char *deb_path, const char *dest_dir, struct kernel *out);
/* debian bases: the kernel installed in a root filesystem (/boot/vmlinuz-*, /lib/modules/<release>).
 * With several, the highest version that has modules wins. */
int kernel_find_in_root(const char *rootdir, struct kernel *out);
/* The kernel <release> in a tree laid out like a root filesystem (boot/, lib/modules/). */
int kernel_describe(const char *root, const char *release, struct kernel *out);
void kernel_release(struct kernel *k);

/* Is a driver built in (modules.builtin), a module (modules.dep), or missing? '-' and '_' are
 * the same character in module names. */
enum driver_state { DRIVER_MISSING, DRIVER_BUILTIN, DRIVER_MODULE };
enum driver_state kernel_driver_state(const struct kernel *k, const char *name);
/* The module closure of `names` (missing or built-in names are skipped, not errors; a name may
 * also be a modules.alias alias) in load order: each module after its dependencies and its
 * softdep "pre:" modules. Each entry is a path relative to modules_dir; free with
 * kernel_free_list(). */
int kernel_module_closure(const struct kernel *k, const char *const *names, size_t n, char ***paths_out,
			  size_t *n_out);
void kernel_free_list(char **list, size_t n);
/* "kernel/fs/ext4/ext4.ko.xz" -> "ext4"; '-' becomes '_'. Caller frees. */
char *kernel_module_name(const char *path);

#endif
