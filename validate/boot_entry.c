/* validate/boot_entry.c: GPT -> ESP -> loader entry -> kernel, initrd, command line. */
#include "validate/boot_entry.h"

#include "formats/fat/fat_reader.h"
#include "formats/gpt/gpt_reader.h"
#include "util/diag.h"
#include "vmm/disk_backend.h"

#include <ctype.h>
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

/* Calls fn(key, value) for each "key value" line; keys are case-folded by the callers. */
static void for_each_line(const char *text, size_t len, void (*fn)(const char *key, size_t klen, const char *val,
								    size_t vlen, void *arg), void *arg)
{
	const char *end = text + len;
	for (const char *p = text; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		while (p < le && isspace((unsigned char)*p))
			p++;
		const char *k = p;
		while (p < le && !isspace((unsigned char)*p))
			p++;
		size_t klen = (size_t)(p - k);
		while (p < le && isspace((unsigned char)*p))
			p++;
		const char *v = p, *ve = le;
		while (ve > v && isspace((unsigned char)ve[-1]))
			ve--;
		if (klen && *k != '#')
			fn(k, klen, v, (size_t)(ve - v), arg);
		p = nl ? nl + 1 : end;
	}
}

static char *dup_n(const char *s, size_t n)
{
	char *d = xmalloc(n + 1);
	memcpy(d, s, n);
	d[n] = 0;
	/* A NUL inside a value would cut it silently; refuse such values by emptying them. */
	if (memchr(s, 0, n))
		d[0] = 0;
	return d;
}

static int key_is(const char *k, size_t klen, const char *want)
{
	return klen == strlen(want) && !strncasecmp(k, want, klen);
}

static void add_initrd(struct boot_entry_spec *s, const char *v, size_t vlen)
{
	if (s->n_initrds < BOOT_ENTRY_MAX_INITRDS && vlen)
		s->initrd_path[s->n_initrds++] = dup_n(v, vlen);
}

static void append_options(struct boot_entry_spec *s, const char *v, size_t vlen)
{
	struct strbuf sb = STRBUF_INIT;
	if (s->options && *s->options) {
		strbuf_adds(&sb, s->options);
		strbuf_addc(&sb, ' ');
	}
	strbuf_add(&sb, v, vlen);
	free(s->options);
	s->options = strbuf_detach(&sb);
}

static void bls_line(const char *k, size_t klen, const char *v, size_t vlen, void *arg)
{
	struct boot_entry_spec *s = arg;
	if (key_is(k, klen, "title") && !s->title)
		s->title = dup_n(v, vlen);
	else if (key_is(k, klen, "linux") && !s->linux_path)
		s->linux_path = dup_n(v, vlen);
	else if (key_is(k, klen, "initrd"))
		add_initrd(s, v, vlen);
	else if (key_is(k, klen, "options"))
		append_options(s, v, vlen);
}

int boot_entry_parse_bls(const char *text, size_t len, struct boot_entry_spec *out)
{
	memset(out, 0, sizeof *out);
	for_each_line(text, len, bls_line, out);
	if (!out->linux_path || !*out->linux_path) {
		boot_entry_spec_release(out);
		return error("loader entry: no 'linux' line");
	}
	return 0;
}

struct syslinux_state {
	struct boot_entry_spec *s;
	int labels; /* only the first LABEL's lines count */
};

static void syslinux_line(const char *k, size_t klen, const char *v, size_t vlen, void *arg)
{
	struct syslinux_state *st = arg;
	struct boot_entry_spec *s = st->s;
	if (key_is(k, klen, "label"))
		st->labels++;
	if (st->labels > 1)
		return;
	if ((key_is(k, klen, "linux") || key_is(k, klen, "kernel")) && !s->linux_path)
		s->linux_path = dup_n(v, vlen);
	else if (key_is(k, klen, "initrd"))
		add_initrd(s, v, vlen);
	else if (key_is(k, klen, "append") && !s->options)
		s->options = dup_n(v, vlen);
}

int boot_entry_parse_syslinux(const char *text, size_t len, struct boot_entry_spec *out)
{
	memset(out, 0, sizeof *out);
	struct syslinux_state st = {out, 0};
	for_each_line(text, len, syslinux_line, &st);
	if (!out->linux_path || !*out->linux_path) {
		boot_entry_spec_release(out);
		return error("syslinux.cfg: no LINUX or KERNEL line");
	}
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
	if (fat_stat(v, "/loader/loader.conf", &d) == 0 && fat_read_file(v, "/loader/loader.conf", &conf, MAX_ENTRY_FILE) == 0) {
		const char *p = strstr(conf.buf, "default");
		if (p && (p == conf.buf || p[-1] == '\n')) {
			p += 7;
			while (*p == ' ' || *p == '\t')
				p++;
			size_t n = strcspn(p, " \t\r\n");
			if (n && !memchr(p, '*', n))
				name = dup_n(p, n);
		}
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
