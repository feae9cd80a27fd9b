/* inspect/bootfiles.c: boot loaders, loader entries, kernels and apkg's records on one mounted filesystem.
 *
 * Looked for where the loaders keep them: the .efi files in /EFI/<dir>/ on an ESP (FAT is
 * case-insensitive, so names are resolved as the filesystem spells them),
 * systemd-boot's /loader, syslinux's or extlinux's configuration next to
 * ldlinux.sys, GRUB's grub.cfg and its BIOS modules, kernels and initrds in
 * / and /boot, and /usr/lib/apkg. Every file is read up to a cap and parsed
 * by inspect/bootcfg.c or util/json.c, which take hostile bytes.
 */
#include "inspect/gather.h"

#include "builder/probe_install.h"
#include "inspect/guest.h"
#include "inspect/inspect.h"
#include "util/json.h"
#include "util/strbuf.h"
#include "validate/probe/checkfile.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CONFIG_MAX (1u << 20)
#define RECIPE_MAX (16u << 20) /* a recipe file is at most 16 MiB (builder/recipe_internal.h) */
#define MAX_EFI_BINARIES 64
#define MAX_FILES 64

static void add_entries(struct inspect_result *r, struct boot_entry *e, size_t n, const char *dev, const char *path)
{
	struct inspect_boot *b = &r->boot;
	for (size_t i = 0; i < n; i++) {
		if (b->n_entries >= BOOTCFG_MAX_ENTRIES) {
			boot_entry_release(&e[i]);
			continue;
		}
		e[i].config = xasprintf("%s:%s", dev, path);
		b->entries = xrealloc(b->entries, (b->n_entries + 1) * sizeof *b->entries);
		b->entries[b->n_entries++] = e[i];
	}
	free(e);
}

static int ends_with_ci(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcasecmp(s + n - m, suffix);
}

/* ---- UEFI ---- */

static void identify_uefi_loader(guestfs_h *g, struct inspect_result *r)
{
	struct inspect_boot *b = &r->boot;
	char *fallback = guest_find(g, "/EFI/BOOT/BOOTX64.EFI");
	b->removable_path |= fallback != NULL;
	size_t len = 0;
	char *head = fallback ? guest_read_head(g, fallback, 2u << 20, &len) : NULL;
	const char *tag = head ? memmem(head, len, "#### LoaderInfo: systemd-boot ", 30) : NULL;
	if (tag) {
		const char *v = tag + 30, *end = memmem(v, len - (size_t)(v - head), " ####", 5);
		size_t vl = end && end - v < 64 ? (size_t)(end - v) : 0;
		b->uefi_loader = "systemd-boot";
		free(b->uefi_loader_version);
		b->uefi_loader_version = vl ? strndup(v, vl) : NULL;
	}
	free(head);
	free(fallback);
	for (size_t i = 0; !b->uefi_loader && i < b->n_efi; i++) {
		const char *base = strrchr(b->efi_binaries[i], '/') + 1;
		if (!strcasecmp(base, "shimx64.efi"))
			b->uefi_loader = "shim";
	}
	for (size_t i = 0; !b->uefi_loader && i < b->n_efi; i++)
		if (!strcasecmp(strrchr(b->efi_binaries[i], '/') + 1, "grubx64.efi"))
			b->uefi_loader = "grub";
	if (!b->uefi_loader && b->n_efi)
		b->uefi_loader = "unknown";
}

static void scan_efi(guestfs_h *g, const char *dev, struct inspect_result *r)
{
	struct inspect_boot *b = &r->boot;
	char *efi = guest_find(g, "/EFI");
	char **dirs = efi ? guest_ls(g, efi) : NULL;
	size_t before = b->n_efi;
	for (size_t i = 0; dirs && dirs[i]; i++) {
		char *dir = xasprintf("%s/%s", efi, dirs[i]);
		char **files = guest_ls(g, dir);
		for (size_t j = 0; files && files[j] && b->n_efi < MAX_EFI_BINARIES; j++) {
			char *p = xasprintf("%s/%s", dir, files[j]);
			if (ends_with_ci(files[j], ".efi") && guest_is_regular(g, p)) {
				b->efi_binaries = xrealloc(b->efi_binaries, (b->n_efi + 1) * sizeof *b->efi_binaries);
				b->efi_binaries[b->n_efi++] = p;
			} else {
				free(p);
			}
		}
		guest_free_strings(files);
		free(dir);
	}
	guest_free_strings(dirs);
	free(efi);
	if (b->n_efi > before && !b->esp) {
		b->esp = xstrdup(dev);
		identify_uefi_loader(g, r);
	}
}

/* systemd-boot: the .conf files in /loader/entries/, the loader.conf default marked. */
static void scan_loader_entries(guestfs_h *g, const char *dev, struct inspect_result *r)
{
	size_t len;
	char *conf_path = guest_find(g, "/loader/loader.conf");
	char *conf = conf_path ? guest_read(g, conf_path, CONFIG_MAX, &len) : NULL;
	char *def = conf ? bootcfg_loader_default(conf, len) : NULL;
	char *dir = guest_find(g, "/loader/entries");
	char **names = dir ? guest_ls(g, dir) : NULL;
	int have_default = 0;
	for (size_t i = 0; names && names[i]; i++) {
		if (!ends_with_ci(names[i], ".conf"))
			continue;
		char *path = xasprintf("%s/%s", dir, names[i]);
		char *text = guest_read(g, path, CONFIG_MAX, &len);
		struct boot_entry *e = xcalloc(1, sizeof *e);
		if (text && bootcfg_loader_entry(text, len, e) == 0) {
			e->is_default = !have_default && (!def || !fnmatch(def, names[i], FNM_CASEFOLD));
			have_default |= e->is_default;
			add_entries(r, e, 1, dev, path);
		} else {
			free(e);
		}
		free(text);
		free(path);
	}
	guest_free_strings(names);
	free(dir);
	free(def);
	free(conf);
	free(conf_path);
}

/* ---- BIOS ---- */

static void scan_syslinux(guestfs_h *g, const char *dev, struct inspect_result *r)
{
	static const char *const configs[] = {"/syslinux/syslinux.cfg", "/boot/syslinux/syslinux.cfg", "/syslinux.cfg",
					      "/extlinux/extlinux.conf", "/boot/extlinux/extlinux.conf",
					      "/extlinux.conf", NULL};
	for (size_t i = 0; configs[i]; i++) {
		char *path = guest_find(g, configs[i]);
		size_t len;
		char *text = path ? guest_read(g, path, CONFIG_MAX, &len) : NULL;
		if (text) {
			struct boot_entry *e;
			size_t n = bootcfg_syslinux(text, len, &e);
			add_entries(r, e, n, dev, path);
			/* syslinux --install puts ldlinux.sys next to its configuration. */
			char *dir = xstrdup(path);
			*strrchr(dir, '/') = 0;
			char *ld = xasprintf("%s/ldlinux.sys", dir);
			char *found = guest_find(g, ld);
			if (found && !r->boot.bios_loader) {
				r->boot.bios_loader = "syslinux";
				r->boot.bios_config = xasprintf("%s:%s", dev, path);
			}
			free(found);
			free(ld);
			free(dir);
		}
		free(text);
		free(path);
	}
}

static void scan_grub(guestfs_h *g, const char *dev, struct inspect_result *r)
{
	static const char *const configs[] = {"/boot/grub/grub.cfg", "/grub/grub.cfg", NULL};
	for (size_t i = 0; configs[i]; i++) {
		size_t len;
		char *text = guest_read(g, configs[i], CONFIG_MAX, &len);
		if (!text)
			continue;
		struct boot_entry *e;
		size_t n = bootcfg_grub(text, len, &e);
		add_entries(r, e, n, dev, configs[i]);
		free(text);
		char *modules = xstrdup(configs[i]);
		strcpy(strrchr(modules, '/'), "/i386-pc");
		if (guest_is_dir(g, modules) && !r->boot.bios_loader) {
			r->boot.bios_loader = "grub";
			r->boot.bios_config = xasprintf("%s:%s", dev, configs[i]);
		}
		free(modules);
	}
}

/* ---- kernels and initrds ---- */

static void add_file(struct inspect_file **v, size_t *n, const char *dev, const char *path, long long size)
{
	if (*n >= MAX_FILES)
		return;
	*v = xrealloc(*v, (*n + 1) * sizeof **v);
	(*v)[(*n)++] = (struct inspect_file){.fs = xstrdup(dev), .path = xstrdup(path), .size = (uint64_t)size};
}

static void scan_kernels_in(guestfs_h *g, const char *dev, const char *dir, struct inspect_result *r)
{
	char **names = guest_ls(g, dir);
	for (size_t i = 0; names && names[i]; i++) {
		const char *n = names[i];
		int kernel = !strncmp(n, "vmlinuz", 7) || !strncmp(n, "vmlinux", 7) || !strncmp(n, "bzImage", 7);
		int initrd = !strncmp(n, "initrd", 6) || !strncmp(n, "initramfs", 9);
		if (!kernel && !initrd)
			continue;
		char *path = xasprintf("%s/%s", strcmp(dir, "/") ? dir : "", n);
		long long size = guest_size(g, path); /* -1 for symlinks such as Debian's /vmlinuz */
		if (size >= 0 && kernel) {
			add_file(&r->kernels, &r->n_kernels, dev, path, size);
			size_t len;
			char *head = guest_read_head(g, path, 65536, &len);
			char version[128];
			if (head && bzimage_version((const unsigned char *)head, len, version, sizeof version) == 0)
				r->kernels[r->n_kernels - 1].version = xstrdup(version);
			free(head);
		} else if (size >= 0) {
			add_file(&r->initrds, &r->n_initrds, dev, path, size);
		}
		free(path);
	}
	guest_free_strings(names);
}

/* ---- apkg ---- */

static void read_apkg_checks(guestfs_h *g, struct inspect_apkg *a)
{
	size_t len;
	char *text = guest_read(g, PROBE_CHECKS_PATH, CHECKFILE_MAX_SIZE, &len);
	struct probe_checks cs;
	char err[160], label[512];
	if (!text || checkfile_parse(text, len, &cs, err, sizeof err) < 0) {
		free(text);
		return;
	}
	a->checks = xcalloc(cs.n ? cs.n : 1, sizeof *a->checks);
	for (size_t i = 0; i < cs.n; i++) {
		checkfile_label(&cs.items[i], label, sizeof label);
		a->checks[a->n_checks++] = xstrdup(label);
	}
	a->check_deadline = cs.deadline_s;
	checkfile_free(&cs);
	free(text);
}

static int is_hash(const char *s)
{
	if (!s || strlen(s) != 64)
		return 0;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return 0;
	return 1;
}

static void scan_apkg(guestfs_h *g, const char *dev, struct inspect_result *r)
{
	size_t len;
	char *text = r->apkg ? NULL : guest_read(g, RECIPE_RECORD_PATH, RECIPE_MAX, &len);
	struct json_value *v = text ? json_parse(text, len, NULL) : NULL;
	const char *hash = json_get_str(v, "recipe_hash");
	if (is_hash(hash)) {
		const struct json_value *recipe = json_get_object(v, "recipe");
		const char *name = json_get_str(recipe, "name"), *version = json_get_str(recipe, "version");
		struct inspect_apkg *a = xcalloc(1, sizeof *a);
		a->fs = xstrdup(dev);
		a->recipe_hash = xstrdup(hash);
		a->name = name ? xstrdup(name) : NULL;
		a->version = version ? xstrdup(version) : NULL;
		read_apkg_checks(g, a);
		r->apkg = a;
	}
	json_free(v);
	free(text);
}

void bootfiles_scan(guestfs_h *g, const char *dev, struct inspect_result *r)
{
	scan_efi(g, dev, r);
	scan_loader_entries(g, dev, r);
	scan_syslinux(g, dev, r);
	scan_grub(g, dev, r);
	scan_kernels_in(g, dev, "/", r);
	scan_kernels_in(g, dev, "/boot", r);
	scan_apkg(g, dev, r);
}
