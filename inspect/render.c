/* inspect/render.c: an inspection for people (a summary) and for programs (JSON, schema "apkg_inspect": 1).
 *
 * The JSON's members are always present, in a fixed order, with null for
 * what the image does not have (no partition table, no OS recognised, not
 * an apkg image, no hygiene asked for), so scripts never have to guess. The
 * schema is documented in the README; new members may be added, existing
 * ones keep their names and types.
 */
#include "inspect/inspect.h"

#include "util/strbuf.h"

#include <stdlib.h>
#include <string.h>

/* ---- people ---- */

static void human_size(struct strbuf *out, uint64_t b)
{
	if (b >= (1ull << 30))
		strbuf_addf(out, "%.1f GiB", (double)b / (1ull << 30));
	else if (b >= (1ull << 20))
		strbuf_addf(out, "%.1f MiB", (double)b / (1ull << 20));
	else if (b >= 1024)
		strbuf_addf(out, "%.1f KiB", (double)b / 1024);
	else
		strbuf_addf(out, "%llu bytes", (unsigned long long)b);
}

static void print_image(const struct inspect_result *r, struct strbuf *out)
{
	const struct inspect_source *s = &r->src;
	strbuf_addf(out, "image       %s\n", s->path);
	for (size_t i = 0; i < s->n_disks; i++) {
		if (s->container)
			strbuf_addf(out, "            %s member %s: %s, read %s\n", s->container, s->disks[i].member,
				    s->disks[i].format, s->read_via);
		else
			strbuf_addf(out, "            format %s\n", s->disks[i].format);
	}
}

static void print_disks(const struct inspect_result *r, struct strbuf *out)
{
	for (size_t i = 0; i < r->n_disks; i++) {
		const struct inspect_disk *d = &r->disks[i];
		strbuf_addf(out, "disk        %s, ", d->device);
		human_size(out, d->size);
		strbuf_addf(out, ", %s partition table", d->table ? d->table : "no");
		if (d->disk_guid)
			strbuf_addf(out, " %s", d->disk_guid);
		strbuf_addf(out, ", MBR boot code: %s\n", d->mbr_code);
		for (size_t j = 0; j < d->n_parts; j++) {
			const struct inspect_partition *p = &d->parts[j];
			strbuf_addf(out, "  %-10s start ", p->device);
			human_size(out, p->start);
			strbuf_adds(out, ", size ");
			human_size(out, p->size);
			strbuf_addf(out, ", %s", p->type_name ? p->type_name : p->type ? p->type : "?");
			if (p->name)
				strbuf_addf(out, " \"%s\"", p->name);
			strbuf_addf(out, "%s\n", p->bootable ? (strcmp(d->table, "gpt") ? ", active" : ", legacy BIOS bootable")
							    : "");
		}
	}
}

static void print_filesystems(const struct inspect_result *r, struct strbuf *out)
{
	strbuf_adds(out, "filesystems\n");
	for (size_t i = 0; i < r->n_fss; i++) {
		const struct inspect_fs *f = &r->fss[i];
		strbuf_addf(out, "  %-10s %-5s", f->device, f->type);
		if (f->label)
			strbuf_addf(out, " label %s", f->label);
		if (f->uuid)
			strbuf_addf(out, " uuid %s", f->uuid);
		strbuf_adds(out, ", ");
		human_size(out, f->size);
		if (f->have_used) {
			strbuf_adds(out, ", ");
			human_size(out, f->used);
			strbuf_adds(out, " used");
		}
		strbuf_addc(out, '\n');
	}
}

static void print_oses(const struct inspect_result *r, struct strbuf *out)
{
	if (!r->n_oses)
		strbuf_adds(out, "os          none recognised\n");
	for (size_t i = 0; i < r->n_oses; i++) {
		const struct inspect_os *o = &r->oses[i];
		strbuf_addf(out, "os          %s %s", o->distro ? o->distro : o->type ? o->type : "unknown",
			    o->version ? o->version : "");
		if (o->product && (!o->version || strcmp(o->product, o->version)))
			strbuf_addf(out, " \"%s\"", o->product);
		strbuf_addf(out, ", %s %s, root %s", o->type ? o->type : "?", o->arch ? o->arch : "?", o->root);
		if (o->hostname)
			strbuf_addf(out, ", hostname %s", o->hostname);
		strbuf_addc(out, '\n');
		if (o->package_format)
			strbuf_addf(out, "  %zu packages (%s/%s)\n", o->n_apps, o->package_format,
				    o->package_management ? o->package_management : "?");
		else
			strbuf_adds(out, "  no package database\n");
		for (size_t j = 0; j < o->n_apps; j++)
			strbuf_addf(out, "    %-40s %s\n", o->apps[j].name, o->apps[j].version);
	}
}

static void print_files(const char *title, const struct inspect_file *f, size_t n, struct strbuf *out)
{
	if (n)
		strbuf_addf(out, "%s\n", title);
	else
		strbuf_addf(out, "%-12snone found\n", title);
	for (size_t i = 0; i < n; i++) {
		strbuf_addf(out, "  %s:%s  ", f[i].fs, f[i].path);
		human_size(out, f[i].size);
		if (f[i].version)
			strbuf_addf(out, "  %s", f[i].version);
		strbuf_addc(out, '\n');
	}
}

static void print_boot(const struct inspect_result *r, struct strbuf *out)
{
	const struct inspect_boot *b = &r->boot;
	strbuf_addf(out, "boot        %s\n", !strcmp(b->firmware, "both") ? "BIOS and UEFI"
					      : !strcmp(b->firmware, "bios") ? "BIOS only"
					      : !strcmp(b->firmware, "uefi") ? "UEFI only"
									    : "not bootable (no loader found)");
	if (b->bios_loader)
		strbuf_addf(out, "  BIOS: %s (%s), MBR boot code %s\n", b->bios_loader, b->bios_config,
			    r->n_disks ? r->disks[0].mbr_code : "none");
	if (b->esp) {
		strbuf_addf(out, "  UEFI: %s%s%s on the ESP %s%s\n", b->uefi_loader, b->uefi_loader_version ? " " : "",
			    b->uefi_loader_version ? b->uefi_loader_version : "", b->esp,
			    b->removable_path ? ", at the removable path /EFI/BOOT/BOOTX64.EFI" : "");
		for (size_t i = 0; i < b->n_efi; i++)
			strbuf_addf(out, "    %s\n", b->efi_binaries[i]);
	}
	for (size_t i = 0; i < b->n_entries; i++) {
		const struct boot_entry *e = &b->entries[i];
		strbuf_addf(out, "  entry %s %s%s%s%s\n", e->loader, e->config, e->title ? " \"" : "", e->title ? e->title : "",
			    e->title ? "\"" : "");
		strbuf_addf(out, "    kernel %s, initrd %s%s\n", e->kernel ? e->kernel : "-", e->n_initrds ? e->initrd[0] : "-",
			    e->is_default ? " (default)" : "");
		strbuf_addf(out, "    cmdline %s\n", e->cmdline ? e->cmdline : "");
	}
}

static void print_apkg(const struct inspect_result *r, struct strbuf *out)
{
	const struct inspect_apkg *a = r->apkg;
	if (!a) {
		strbuf_adds(out, "apkg        not an apkg appliance (no /usr/lib/apkg/recipe.json)\n");
		return;
	}
	strbuf_addf(out, "apkg        %s %s, recipe sha256 %s (on %s)\n", a->name ? a->name : "?",
		    a->version ? a->version : "?", a->recipe_hash, a->fs);
	strbuf_adds(out, "  checks:");
	for (size_t i = 0; i < a->n_checks; i++)
		strbuf_addf(out, "%s %s", i ? "," : "", a->checks[i]);
	strbuf_adds(out, a->n_checks ? "\n" : " none\n");
}

static void print_hygiene(const struct inspect_result *r, struct strbuf *out)
{
	const struct hygiene_report *h = &r->hygiene;
	strbuf_addf(out, "hygiene     %zu error%s, %zu warning%s", h->errors, h->errors == 1 ? "" : "s", h->warnings,
		    h->warnings == 1 ? "" : "s");
	if (r->hygiene_scanned)
		strbuf_addf(out, " (files of %s scanned)\n", r->hygiene_root);
	else
		strbuf_adds(out, " (no root filesystem scanned: image-wide rules only)\n");
	for (size_t i = 0; i < h->n; i++) {
		const struct hygiene_finding *f = &h->items[i];
		strbuf_addf(out, "  %-7s %s: %s: %s\n", f->rule->severity == HYGIENE_ERROR ? "error" : "warning",
			    f->rule->name, f->path ? f->path : "(image)", f->detail);
	}
	for (size_t k = 0; hygiene_rules[k].name; k++)
		if (h->dropped[k])
			strbuf_addf(out, "  ...     %s: %zu more\n", hygiene_rules[k].name, h->dropped[k]);
}

void inspect_print(const struct inspect_result *r, struct strbuf *out)
{
	print_image(r, out);
	print_disks(r, out);
	print_filesystems(r, out);
	print_oses(r, out);
	print_files("kernels", r->kernels, r->n_kernels, out);
	print_files("initrds", r->initrds, r->n_initrds, out);
	print_boot(r, out);
	print_apkg(r, out);
	if (r->have_hygiene)
		print_hygiene(r, out);
}

/* ---- programs ---- */

static void jstr(struct strbuf *out, const char *s)
{
	if (s)
		strbuf_add_json_str(out, s);
	else
		strbuf_adds(out, "null");
}

static void jkey(struct strbuf *out, int *first, const char *key)
{
	strbuf_addf(out, "%s\"%s\": ", *first ? "" : ", ", key);
	*first = 0;
}

static void jkv(struct strbuf *out, int *first, const char *key, const char *value)
{
	jkey(out, first, key);
	jstr(out, value);
}

static void json_image(const struct inspect_result *r, struct strbuf *out)
{
	const struct inspect_source *s = &r->src;
	int f = 1;
	strbuf_adds(out, "  \"image\": {");
	jkv(out, &f, "path", s->path);
	jkv(out, &f, "container", s->container);
	jkv(out, &f, "read_via", s->read_via);
	strbuf_adds(out, ", \"disks\": [");
	for (size_t i = 0; i < s->n_disks; i++) {
		int g = 1;
		strbuf_adds(out, i ? ", {" : "{");
		jkv(out, &g, "member", s->disks[i].member);
		jkv(out, &g, "format", s->disks[i].format);
		strbuf_addf(out, ", \"size\": %llu}", (unsigned long long)s->disks[i].size);
	}
	strbuf_adds(out, "]},\n");
}

static void json_partition(const struct inspect_partition *p, struct strbuf *out)
{
	int f = 1;
	strbuf_addf(out, "{\"number\": %d", p->number);
	f = 0;
	jkv(out, &f, "device", p->device);
	strbuf_addf(out, ", \"start\": %llu, \"size\": %llu", (unsigned long long)p->start, (unsigned long long)p->size);
	jkv(out, &f, "type", p->type);
	jkv(out, &f, "type_name", p->type_name);
	jkv(out, &f, "name", p->name);
	jkv(out, &f, "uuid", p->uuid);
	strbuf_addf(out, ", \"bootable\": %s}", p->bootable ? "true" : "false");
}

static void json_disks(const struct inspect_result *r, struct strbuf *out)
{
	strbuf_adds(out, "  \"disks\": [");
	for (size_t i = 0; i < r->n_disks; i++) {
		const struct inspect_disk *d = &r->disks[i];
		int f = 1;
		strbuf_adds(out, i ? ",\n    {" : "\n    {");
		jkv(out, &f, "device", d->device);
		strbuf_addf(out, ", \"size\": %llu", (unsigned long long)d->size);
		jkv(out, &f, "partition_table", d->table);
		jkv(out, &f, "disk_guid", d->disk_guid);
		jkv(out, &f, "mbr_boot_code", d->mbr_code);
		strbuf_adds(out, ", \"partitions\": [");
		for (size_t j = 0; j < d->n_parts; j++) {
			strbuf_adds(out, j ? ",\n      " : "\n      ");
			json_partition(&d->parts[j], out);
		}
		strbuf_adds(out, d->n_parts ? "\n    ]}" : "]}");
	}
	strbuf_adds(out, r->n_disks ? "\n  ],\n" : "],\n");
}

static void json_filesystems(const struct inspect_result *r, struct strbuf *out)
{
	strbuf_adds(out, "  \"filesystems\": [");
	for (size_t i = 0; i < r->n_fss; i++) {
		const struct inspect_fs *fs = &r->fss[i];
		int f = 1;
		strbuf_adds(out, i ? ",\n    {" : "\n    {");
		jkv(out, &f, "device", fs->device);
		jkv(out, &f, "type", fs->type);
		jkv(out, &f, "label", fs->label);
		jkv(out, &f, "uuid", fs->uuid);
		strbuf_addf(out, ", \"size\": %llu, \"used\": ", (unsigned long long)fs->size);
		if (fs->have_used)
			strbuf_addf(out, "%llu}", (unsigned long long)fs->used);
		else
			strbuf_adds(out, "null}");
	}
	strbuf_adds(out, r->n_fss ? "\n  ],\n" : "],\n");
}

static void json_oses(const struct inspect_result *r, struct strbuf *out)
{
	strbuf_adds(out, "  \"operating_systems\": [");
	for (size_t i = 0; i < r->n_oses; i++) {
		const struct inspect_os *o = &r->oses[i];
		int f = 1;
		strbuf_adds(out, i ? ",\n    {" : "\n    {");
		jkv(out, &f, "root", o->root);
		jkv(out, &f, "type", o->type);
		jkv(out, &f, "distro", o->distro);
		jkv(out, &f, "product_name", o->product);
		jkv(out, &f, "version", o->version);
		jkv(out, &f, "hostname", o->hostname);
		jkv(out, &f, "arch", o->arch);
		jkv(out, &f, "package_format", o->package_format);
		jkv(out, &f, "package_management", o->package_management);
		strbuf_adds(out, ",\n     \"applications\": [");
		for (size_t j = 0; j < o->n_apps; j++) {
			int g = 1;
			strbuf_adds(out, j ? ",\n       {" : "\n       {");
			jkv(out, &g, "name", o->apps[j].name);
			jkv(out, &g, "version", o->apps[j].version);
			strbuf_addc(out, '}');
		}
		strbuf_adds(out, o->n_apps ? "\n     ]}" : "]}");
	}
	strbuf_adds(out, r->n_oses ? "\n  ],\n" : "],\n");
}

static void json_files(const char *key, const struct inspect_file *v, size_t n, struct strbuf *out)
{
	strbuf_addf(out, "  \"%s\": [", key);
	for (size_t i = 0; i < n; i++) {
		int f = 1;
		strbuf_adds(out, i ? ", {" : "{");
		jkv(out, &f, "filesystem", v[i].fs);
		jkv(out, &f, "path", v[i].path);
		strbuf_addf(out, ", \"size\": %llu", (unsigned long long)v[i].size);
		if (!strcmp(key, "kernels"))
			jkv(out, &f, "version", v[i].version);
		strbuf_addc(out, '}');
	}
	strbuf_adds(out, "],\n");
}

static void json_entry(const struct boot_entry *e, struct strbuf *out)
{
	int f = 1;
	strbuf_adds(out, "{");
	jkv(out, &f, "loader", e->loader);
	jkv(out, &f, "config", e->config);
	jkv(out, &f, "title", e->title);
	jkv(out, &f, "kernel", e->kernel);
	jkv(out, &f, "initrd", e->n_initrds ? e->initrd[0] : NULL);
	jkv(out, &f, "cmdline", e->cmdline);
	strbuf_addf(out, ", \"default\": %s}", e->is_default ? "true" : "false");
}

static void json_boot(const struct inspect_result *r, struct strbuf *out)
{
	const struct inspect_boot *b = &r->boot;
	int f = 1;
	strbuf_adds(out, "  \"boot\": {");
	jkv(out, &f, "firmware", b->firmware);
	strbuf_adds(out, ",\n    \"bios\": ");
	if (b->bios_loader) {
		int g = 1;
		strbuf_adds(out, "{");
		jkv(out, &g, "mbr_boot_code", r->n_disks ? r->disks[0].mbr_code : "none");
		jkv(out, &g, "loader", b->bios_loader);
		jkv(out, &g, "config", b->bios_config);
		strbuf_adds(out, "}");
	} else {
		strbuf_adds(out, "null");
	}
	strbuf_adds(out, ",\n    \"uefi\": ");
	if (b->esp) {
		int g = 1;
		strbuf_adds(out, "{");
		jkv(out, &g, "esp", b->esp);
		jkv(out, &g, "loader", b->uefi_loader);
		jkv(out, &g, "loader_version", b->uefi_loader_version);
		strbuf_addf(out, ", \"removable_path\": %s, \"binaries\": [", b->removable_path ? "true" : "false");
		for (size_t i = 0; i < b->n_efi; i++) {
			strbuf_adds(out, i ? ", " : "");
			jstr(out, b->efi_binaries[i]);
		}
		strbuf_adds(out, "]}");
	} else {
		strbuf_adds(out, "null");
	}
	strbuf_adds(out, ",\n    \"entries\": [");
	for (size_t i = 0; i < b->n_entries; i++) {
		strbuf_adds(out, i ? ",\n      " : "\n      ");
		json_entry(&b->entries[i], out);
	}
	strbuf_adds(out, b->n_entries ? "\n    ]},\n" : "]},\n");
}

static void json_apkg(const struct inspect_result *r, struct strbuf *out)
{
	const struct inspect_apkg *a = r->apkg;
	strbuf_adds(out, "  \"apkg\": ");
	if (!a) {
		strbuf_adds(out, "null");
		return;
	}
	int f = 1;
	strbuf_adds(out, "{");
	jkv(out, &f, "filesystem", a->fs);
	jkv(out, &f, "recipe_hash", a->recipe_hash);
	jkv(out, &f, "name", a->name);
	jkv(out, &f, "version", a->version);
	strbuf_addf(out, ", \"check_deadline\": %d, \"checks\": [", a->check_deadline);
	for (size_t i = 0; i < a->n_checks; i++) {
		strbuf_adds(out, i ? ", " : "");
		jstr(out, a->checks[i]);
	}
	strbuf_adds(out, "]}");
}

void inspect_json(const struct inspect_result *r, struct strbuf *out)
{
	strbuf_adds(out, "{\n  \"apkg_inspect\": 1,\n");
	json_image(r, out);
	json_disks(r, out);
	json_filesystems(r, out);
	json_oses(r, out);
	json_files("kernels", r->kernels, r->n_kernels, out);
	json_files("initrds", r->initrds, r->n_initrds, out);
	json_boot(r, out);
	json_apkg(r, out);
	strbuf_adds(out, ",\n  \"hygiene\": ");
	if (!r->have_hygiene) {
		strbuf_adds(out, "null\n}\n");
		return;
	}
	strbuf_adds(out, "{\"root\": ");
	jstr(out, r->hygiene_scanned ? r->hygiene_root : NULL);
	strbuf_addf(out, ", \"allocated\": %llu, \"report\": ", (unsigned long long)r->allocated);
	hygiene_report_json(&r->hygiene, NULL, out, 4);
	strbuf_adds(out, "}\n}\n");
}
