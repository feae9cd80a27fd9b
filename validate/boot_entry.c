/* validate/boot_entry.c: GPT -> ESP -> loader entry -> kernel, initrd, command line. */
#include "validate/boot_entry.h"

#include "formats/fat/fat_reader.h"
#include "formats/gpt/gpt_reader.h"
#include "inspect/bootcfg.h"
#include "util/diag.h"
#include "vmm/disk_backend.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_ENTRY_FILE (64 * 1024)
#define MAX_KERNEL (256u << 20)
#define MAX_INITRD (1024u << 20)

void boot_entry_spec_release(struct boot_entry_spec *s)
{
	free(s->title);
	free(s->linux_path);
	for (unsigned i = 0; i < s->n_initrds; i++)
		free(s->initrd_path[i]);
	free(s->options);
	memset(s, 0, sizeof *s);
}

/* The parsing is inspect/bootcfg.c's (one parser of boot loader
 * configurations in apkg, fuzzed by fuzz_inspect and fuzz_loader_entry);
 * here its entry becomes the paths to read off the ESP. */
static void take_entry(struct boot_entry *e, struct boot_entry_spec *out)
{
	memset(out, 0, sizeof *out);
	out->title = e->title;
	out->linux_path = e->kernel;
	out->options = e->cmdline;
	for (unsigned i = 0; i < e->n_initrds && i < BOOT_ENTRY_MAX_INITRDS; i++)
		out->initrd_path[out->n_initrds++] = e->initrd[i];
	for (unsigned i = out->n_initrds; i < e->n_initrds; i++)
		free(e->initrd[i]);
	e->title = e->kernel = e->cmdline = NULL;
	e->n_initrds = 0;
	boot_entry_release(e);
}

int boot_entry_parse_bls(const char *text, size_t len, struct boot_entry_spec *out)
{
	memset(out, 0, sizeof *out);
	struct boot_entry e;
	if (bootcfg_loader_entry(text, len, &e) < 0)
		return error("loader entry: no 'linux' line");
	take_entry(&e, out);
	return 0;
}

/* The entry syslinux boots: the DEFAULT label's, else the first. */
int boot_entry_parse_syslinux(const char *text, size_t len, struct boot_entry_spec *out)
{
	memset(out, 0, sizeof *out);
	struct boot_entry *v = NULL;
	size_t n = bootcfg_syslinux(text, len, &v), pick = n;
	for (size_t i = 0; i < n; i++)
		if (v[i].is_default)
			pick = i;
	if (pick < n && v[pick].kernel)
		take_entry(&v[pick], out);
	boot_entries_free(v, n);
	if (!out->linux_path)
		return error("syslinux.cfg: no LABEL with a LINUX or KERNEL line");
	return 0;
}

/* ---- reading the image ---- */

struct esp_reader {
	struct disk_backend *disk;
	uint64_t offset, size;
};

static int disk_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	return disk_backend_pread(ctx, buf, len, off);
}

static int esp_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct esp_reader *e = ctx;
	if (off > e->size || len > e->size - off)
		return error("ESP: read beyond the partition");
	return disk_backend_pread(e->disk, buf, len, e->offset + off);
}

struct entry_names {
	char *first;
};

static int conf_cb(const struct fat_dirent *e, void *arg)
{
	struct entry_names *n = arg;
	size_t len = strlen(e->name);
	if (e->is_dir || len < 6 || strcasecmp(e->name + len - 5, ".conf"))
		return 0;
	if (!n->first || strcmp(e->name, n->first) < 0) {
		free(n->first);
		n->first = xstrdup(e->name);
	}
	return 0;
}

/* loader.conf's `default` names an entry file (glob patterns are not followed). */
static char *default_entry(struct fat_volume *v)
{
	struct strbuf conf = STRBUF_INIT;
	char *name = NULL;
	struct fat_dirent d;
	if (fat_stat(v, "/loader/loader.conf", &d) == 0 && fat_read_file(v, "/loader/loader.conf", &conf, MAX_ENTRY_FILE) == 0)
		name = bootcfg_loader_default(conf.buf, conf.len);
	if (name && strpbrk(name, "* \t")) {
		free(name);
		name = NULL;
	}
	strbuf_release(&conf);
	return name;
}

static int read_spec(struct fat_volume *v, struct appliance_boot *out)
{
	struct strbuf text = STRBUF_INIT;
	struct entry_names names = {NULL};
	struct fat_dirent d;
	char *def = default_entry(v);
	if (def) {
		char *path = xasprintf("/loader/entries/%s", def);
		if (fat_stat(v, path, &d) == 0 && fat_read_file(v, path, &text, MAX_ENTRY_FILE) == 0)
			out->source = xasprintf("loader/entries/%s", def);
		free(path);
	}
	free(def);
	if (!out->source && fat_stat(v, "/loader/entries", &d) == 0 && fat_list(v, "/loader/entries", conf_cb, &names) == 0 &&
	    names.first) {
		char *path = xasprintf("/loader/entries/%s", names.first);
		if (fat_read_file(v, path, &text, MAX_ENTRY_FILE) == 0)
			out->source = xasprintf("loader/entries/%s", names.first);
		free(path);
	}
	free(names.first);
	int r;
	if (out->source) {
		r = boot_entry_parse_bls(text.buf, text.len, &out->spec);
	} else if (fat_stat(v, "/syslinux/syslinux.cfg", &d) == 0 &&
		   fat_read_file(v, "/syslinux/syslinux.cfg", &text, MAX_ENTRY_FILE) == 0) {
		out->source = xstrdup("syslinux/syslinux.cfg");
		r = boot_entry_parse_syslinux(text.buf, text.len, &out->spec);
	} else {
		r = error("the ESP has neither a loader entry (loader/entries/*.conf) nor syslinux/syslinux.cfg");
	}
	strbuf_release(&text);
	return r;
}

static int read_payloads(struct fat_volume *v, struct appliance_boot *out)
{
	if (fat_read_file(v, out->spec.linux_path, &out->kernel, MAX_KERNEL) < 0)
		return error("cannot read the kernel %s named by %s", out->spec.linux_path, out->source);
	for (unsigned i = 0; i < out->spec.n_initrds; i++)
		if (fat_read_file(v, out->spec.initrd_path[i], &out->initrd, MAX_INITRD) < 0)
			return error("cannot read the initrd %s named by %s", out->spec.initrd_path[i], out->source);
	out->cmdline = xstrdup(out->spec.options ? out->spec.options : "");
	return 0;
}

int appliance_boot_read(const char *image, struct appliance_boot *out)
{
	memset(out, 0, sizeof *out);
	strbuf_init(&out->kernel);
	strbuf_init(&out->initrd);
	struct disk_backend *disk = disk_backend_open(image);
	if (!disk)
		return -1;
	struct gpt_table *t = xmalloc(sizeof *t);
	int r = -1;
	struct fat_volume *v = NULL;
	if (gpt_read_table(disk_read, disk, disk->size, t) < 0) {
		error("%s: no usable GPT partition table", image);
		goto done;
	}
	const struct gpt_part_info *esp = gpt_find_esp(t);
	if (!esp) {
		error("%s: the GPT has no EFI system partition", image);
		goto done;
	}
	gpt_guid_to_text(esp->unique_guid, out->esp_partuuid);
	struct esp_reader er = {disk, esp->first_lba * 512, (esp->last_lba - esp->first_lba + 1) * 512};
	v = fat_open(esp_read, &er, er.size);
	if (!v) {
		error("%s: partition %u (the ESP) is not a readable FAT file system", image, esp->index);
		goto done;
	}
	r = read_spec(v, out) < 0 || read_payloads(v, out) < 0 ? -1 : 0;
done:
	if (v)
		fat_close(v);
	free(t);
	disk_backend_close(disk);
	if (r < 0)
		appliance_boot_release(out);
	return r;
}

void appliance_boot_release(struct appliance_boot *b)
{
	strbuf_release(&b->kernel);
	strbuf_release(&b->initrd);
	free(b->cmdline);
	free(b->source);
	boot_entry_spec_release(&b->spec);
	b->cmdline = b->source = NULL;
}

enum appliance_firmware appliance_firmware(const char *image)
{
	struct disk_backend *disk = disk_backend_open(image);
	if (!disk)
		return APPLIANCE_FIRMWARE_UNKNOWN;
	enum appliance_firmware fw = APPLIANCE_FIRMWARE_UNKNOWN;
	struct gpt_table *t = xmalloc(sizeof *t);
	const struct gpt_part_info *esp;
	if (gpt_read_table(disk_read, disk, disk->size, t) == 0 && (esp = gpt_find_esp(t))) {
		struct esp_reader er = {disk, esp->first_lba * 512, (esp->last_lba - esp->first_lba + 1) * 512};
		struct fat_volume *v = fat_open(esp_read, &er, er.size);
		struct fat_dirent d;
		if (v && fat_stat(v, "/syslinux/syslinux.cfg", &d) == 0)
			fw = APPLIANCE_BIOS;
		else if (v && fat_stat(v, "/EFI/BOOT/BOOTX64.EFI", &d) == 0)
			fw = APPLIANCE_UEFI_ONLY;
		if (v)
			fat_close(v);
	}
	free(t);
	disk_backend_close(disk);
	return fw;
}
