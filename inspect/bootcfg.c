/* inspect/bootcfg.c: boot loader configurations, bzImage versions and MBR code (see bootcfg.h). */
#include "inspect/bootcfg.h"

#include "util/strbuf.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- lines and words ---- */

struct lines {
	const char *p, *end;
};

/* The next line, without its newline and surrounding blanks; NUL bytes end it. */
static int next_line(struct lines *l, char *buf, size_t size)
{
	if (l->p >= l->end)
		return 0;
	const char *nl = memchr(l->p, '\n', (size_t)(l->end - l->p));
	const char *e = nl ? nl : l->end;
	const char *s = l->p;
	l->p = nl ? nl + 1 : l->end;
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		e--;
	size_t n = (size_t)(e - s);
	if (n >= size)
		n = size - 1;
	memcpy(buf, s, n);
	buf[n] = 0; /* an embedded NUL ends the line early: nothing reads past it */
	return 1;
}

/* Splits "KEYWORD rest": *rest points past the blanks after the keyword. */
static const char *keyword(char *line, char **rest)
{
	size_t k = strcspn(line, " \t=");
	char *r = line + k;
	if (*r)
		*r++ = 0;
	while (*r == ' ' || *r == '\t' || *r == '=')
		r++;
	*rest = r;
	return line;
}

static void set(char **slot, const char *value)
{
	free(*slot);
	*slot = *value ? xstrdup(value) : NULL;
}

/* The one initrd of a syslinux or GRUB entry; a later line replaces it. */
static void set_initrd(struct boot_entry *e, const char *value)
{
	for (unsigned i = 0; i < e->n_initrds; i++)
		free(e->initrd[i]);
	e->n_initrds = 0;
	if (*value)
		e->initrd[e->n_initrds++] = xstrdup(value);
}

/* One more initrd of a systemd-boot entry; past the cap, ignored. */
static void add_initrd(struct boot_entry *e, const char *value)
{
	if (*value && e->n_initrds < BOOTCFG_MAX_INITRDS)
		e->initrd[e->n_initrds++] = xstrdup(value);
}

void boot_entry_release(struct boot_entry *e)
{
	free(e->config);
	free(e->title);
	free(e->kernel);
	for (unsigned i = 0; i < e->n_initrds; i++)
		free(e->initrd[i]);
	free(e->cmdline);
	memset(e, 0, sizeof *e);
}

void boot_entries_free(struct boot_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		boot_entry_release(&e[i]);
	free(e);
}

static struct boot_entry *add_entry(struct boot_entry **v, size_t *n, const char *loader)
{
	if (*n >= BOOTCFG_MAX_ENTRIES)
		return NULL;
	*v = xrealloc(*v, (*n + 1) * sizeof **v);
	struct boot_entry *e = &(*v)[(*n)++];
	memset(e, 0, sizeof *e);
	e->loader = loader;
	return e;
}

/* ---- syslinux ---- */

struct syslinux_state {
	struct boot_entry *v;
	size_t n;
	char *global_append, *def;
	char **labels; /* the LABEL name of each entry */
};

static void syslinux_keyword(struct syslinux_state *s, const char *kw, char *rest)
{
	struct boot_entry *cur = s->n ? &s->v[s->n - 1] : NULL;
	char *sub;
	if (!strcasecmp(kw, "label")) {
		size_t before = s->n;
		if (add_entry(&s->v, &s->n, "syslinux") && s->n > before) {
			s->labels = xrealloc(s->labels, s->n * sizeof *s->labels);
			s->labels[s->n - 1] = xstrdup(rest);
		}
	} else if (!strcasecmp(kw, "default")) {
		set(&s->def, rest);
	} else if (!strcasecmp(kw, "append")) {
		if (cur)
			set(&cur->cmdline, rest);
		else
			set(&s->global_append, rest);
	} else if (cur && (!strcasecmp(kw, "linux") || !strcasecmp(kw, "kernel"))) {
		set(&cur->kernel, rest);
	} else if (cur && !strcasecmp(kw, "initrd")) {
		set_initrd(cur, rest);
	} else if (cur && !strcasecmp(kw, "menu") && !strcasecmp(keyword(rest, &sub), "label")) {
		set(&cur->title, sub);
	}
}

size_t bootcfg_syslinux(const char *text, size_t len, struct boot_entry **out)
{
	struct syslinux_state s = {0};
	struct lines l = {text, text + len};
	char line[BOOTCFG_MAX_LINE], *rest;
	while (next_line(&l, line, sizeof line)) {
		if (!line[0] || line[0] == '#')
			continue;
		const char *kw = keyword(line, &rest);
		syslinux_keyword(&s, kw, rest);
	}
	size_t def = 0;
	for (size_t i = 0; i < s.n; i++) {
		if (!s.v[i].cmdline && s.global_append)
			s.v[i].cmdline = xstrdup(s.global_append);
		if (!s.v[i].title && s.labels[i][0])
			s.v[i].title = xstrdup(s.labels[i]);
		if (s.def && !strcmp(s.labels[i], s.def))
			def = i;
		free(s.labels[i]);
	}
	if (s.n)
		s.v[def].is_default = 1;
	free(s.labels);
	free(s.global_append);
	free(s.def);
	*out = s.v;
	return s.n;
}

/* ---- systemd-boot ---- */

int bootcfg_loader_entry(const char *text, size_t len, struct boot_entry *out)
{
	memset(out, 0, sizeof *out);
	out->loader = "systemd-boot";
	struct lines l = {text, text + len};
	char line[BOOTCFG_MAX_LINE], *rest;
	while (next_line(&l, line, sizeof line)) {
		if (!line[0] || line[0] == '#')
			continue;
		const char *kw = keyword(line, &rest);
		if (!strcmp(kw, "title"))
			set(&out->title, rest);
		else if (!strcmp(kw, "linux") || !strcmp(kw, "efi"))
			set(&out->kernel, rest);
		else if (!strcmp(kw, "initrd"))
			add_initrd(out, rest);
		else if (!strcmp(kw, "options")) {
			if (!out->cmdline)
				set(&out->cmdline, rest);
			else if (*rest) { /* several options lines are joined */
				char *joined = xasprintf("%s %s", out->cmdline, rest);
				free(out->cmdline);
				out->cmdline = joined;
			}
		}
	}
	if (out->kernel)
		return 0;
	boot_entry_release(out);
	return -1;
}

char *bootcfg_loader_default(const char *text, size_t len)
{
	struct lines l = {text, text + len};
	char line[BOOTCFG_MAX_LINE], *rest, *def = NULL;
	while (next_line(&l, line, sizeof line))
		if (line[0] != '#' && !strcmp(keyword(line, &rest), "default") && *rest)
			set(&def, rest);
	return def;
}

/* ---- GRUB ---- */

/* The first quoted (or bare) word of a menuentry line, as its title. */
static char *grub_title(const char *rest)
{
	char q = *rest;
	if (q == '\'' || q == '"') {
		const char *end = strchr(rest + 1, q);
		size_t n = end ? (size_t)(end - rest - 1) : strlen(rest + 1);
		char *t = xmalloc(n + 1);
		memcpy(t, rest + 1, n);
		t[n] = 0;
		return t;
	}
	size_t n = strcspn(rest, " \t{");
	char *t = xmalloc(n + 1);
	memcpy(t, rest, n);
	t[n] = 0;
	return t;
}

size_t bootcfg_grub(const char *text, size_t len, struct boot_entry **out)
{
	struct boot_entry *v = NULL, *cur = NULL;
	size_t n = 0;
	struct lines l = {text, text + len};
	char line[BOOTCFG_MAX_LINE], *rest;
	while (next_line(&l, line, sizeof line)) {
		if (!line[0] || line[0] == '#')
			continue;
		const char *kw = keyword(line, &rest);
		if (!strcmp(kw, "menuentry")) {
			cur = add_entry(&v, &n, "grub");
			if (cur)
				cur->title = grub_title(rest);
		} else if (cur && (!strcmp(kw, "linux") || !strcmp(kw, "linuxefi") || !strcmp(kw, "linux16"))) {
			size_t k = strcspn(rest, " \t");
			char *args = rest + k + strspn(rest + k, " \t");
			rest[k] = 0;
			set(&cur->kernel, rest);
			set(&cur->cmdline, args);
		} else if (cur && (!strcmp(kw, "initrd") || !strcmp(kw, "initrdefi") || !strcmp(kw, "initrd16"))) {
			rest[strcspn(rest, " \t")] = 0;
			set_initrd(cur, rest);
		} else if (!strcmp(kw, "}")) {
			cur = NULL;
		}
	}
	/* Entries without a kernel (chainloaders, submenu headers) are dropped. */
	size_t kept = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i].kernel)
			v[kept++] = v[i];
		else
			boot_entry_release(&v[i]);
	}
	if (kept)
		v[0].is_default = 1;
	*out = v;
	return kept;
}

/* ---- kernels and boot code ---- */

int bzimage_version(const unsigned char *d, size_t n, char *out, size_t size)
{
	/* Documentation/x86/boot.rst: "HdrS" at 0x202, kernel_version (a pointer
	 * less 0x200) at 0x20e, protocol 2.00 or later. */
	if (n < 0x210 || memcmp(d + 0x202, "HdrS", 4) || !size)
		return -1;
	size_t ptr = (size_t)d[0x20e] | (size_t)d[0x20f] << 8;
	if (!ptr || ptr + 0x200 >= n)
		return -1;
	const unsigned char *v = d + ptr + 0x200;
	size_t max = n - (ptr + 0x200), i = 0;
	while (i < max && i + 1 < size && v[i] > ' ' && v[i] < 0x7f)
		i++;
	if (!i)
		return -1;
	memcpy(out, v, i);
	out[i] = 0;
	return 0;
}

static int has(const unsigned char *d, size_t n, const char *s)
{
	return memmem(d, n, s, strlen(s)) != NULL;
}

const char *mbr_boot_code(const unsigned char *sector, size_t n)
{
	size_t code = n < 440 ? n : 440;
	size_t i = 0;
	while (i < code && !sector[i])
		i++;
	if (i == code)
		return "none";
	if (has(sector, code, "Missing OS") && has(sector, code, "!GPT"))
		return "syslinux-gptmbr";
	if (has(sector, code, "Multiple active partitions.") && has(sector, code, "Operating system load error"))
		return "syslinux-mbr";
	if (has(sector, code, "GRUB ") && has(sector, code, "Geom"))
		return "grub";
	if (has(sector, code, "Invalid partition table"))
		return "windows";
	return "unknown";
}
