/* initramfs/init_parse.h: the pure parsers of apkg-init: kernel command line and GPT.
 *
 * Header-only (static functions) so that the static init program, the unit tests and the fuzz
 * harness compile the very same code, without init linking libapkg. Everything here works on
 * caller-owned buffers with explicit lengths and never allocates: disk contents are hostile,
 * so every GPT field is range-checked against the buffer and the disk size, and both CRCs are
 * verified before an entry is trusted.
 */
#ifndef APKG_INITRAMFS_INIT_PARSE_H
#define APKG_INITRAMFS_INIT_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- command line ------------------------------------------------------------------------ */

struct boot_opts {
	char root[256];      /* root= value: "PARTUUID=..." or "/dev/..." */
	char fstype[32];     /* rootfstype=, default ext4 */
	char flags[256];     /* rootflags= */
	char init[256];      /* init=, default /sbin/init */
	int rw;              /* ro (default) / rw */
	unsigned timeout_s;  /* apkg.root_timeout=, default 30 */
	int check;           /* apkg.check=1 */
	int debug;           /* apkg.debug=1: one line per step */
	char bad[64];        /* the first option whose value is invalid or too long, or "" */
};

static void boot_opts_init(struct boot_opts *o)
{
	memset(o, 0, sizeof *o);
	strcpy(o->fstype, "ext4");
	strcpy(o->init, "/sbin/init");
	o->timeout_s = 30;
}

static void boot_opts_mark_bad(struct boot_opts *o, const char *key)
{
	if (!o->bad[0]) {
		size_t n = strlen(key) < sizeof o->bad - 1 ? strlen(key) : sizeof o->bad - 1;
		memcpy(o->bad, key, n);
		o->bad[n] = 0;
	}
}

static void boot_opts_set_str(struct boot_opts *o, const char *key, char *dst, size_t cap, const char *val)
{
	size_t n = strlen(val);
	if (n >= cap || n == 0) {
		boot_opts_mark_bad(o, key);
		return;
	}
	memcpy(dst, val, n + 1);
}

/* Decimal 0..3600, or -1. */
static long boot_parse_seconds(const char *s)
{
	long v = 0;
	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
		if (v > 3600)
			return -1;
	}
	return v;
}

static void boot_opts_apply(struct boot_opts *o, char *tok)
{
	char *eq = strchr(tok, '=');
	const char *val = eq ? eq + 1 : "";
	if (eq)
		*eq = 0;
	if (!strcmp(tok, "root") && eq) {
		boot_opts_set_str(o, tok, o->root, sizeof o->root, val);
	} else if (!strcmp(tok, "rootfstype") && eq) {
		boot_opts_set_str(o, tok, o->fstype, sizeof o->fstype, val);
	} else if (!strcmp(tok, "rootflags") && eq) {
		boot_opts_set_str(o, tok, o->flags, sizeof o->flags, val);
	} else if (!strcmp(tok, "init") && eq) {
		if (val[0] != '/')
			boot_opts_mark_bad(o, tok);
		else
			boot_opts_set_str(o, tok, o->init, sizeof o->init, val);
	} else if (!strcmp(tok, "ro") && !eq) {
		o->rw = 0;
	} else if (!strcmp(tok, "rw") && !eq) {
		o->rw = 1;
	} else if (!strcmp(tok, "apkg.root_timeout")) {
		long v = boot_parse_seconds(val);
		if (v < 0)
			boot_opts_mark_bad(o, tok);
		else
			o->timeout_s = (unsigned)v;
	} else if (!strcmp(tok, "apkg.check")) {
		o->check = !strcmp(val, "1");
	} else if (!strcmp(tok, "apkg.debug")) {
		o->debug = !strcmp(val, "1");
	}
	/* Everything else belongs to the kernel or to the appliance's own init. */
}

/* Applies every option of a command line (the kernel's rules: blank-separated, double quotes
 * group blanks and are removed); later options override earlier ones. */
static void boot_opts_parse(struct boot_opts *o, const char *line, size_t len)
{
	char tok[1024];
	size_t i = 0;
	while (i < len) {
		while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\n' || line[i] == '\0'))
			i++;
		if (i >= len)
			break;
		size_t n = 0;
		int quoted = 0, overlong = 0;
		for (; i < len && line[i] != '\0' && (quoted || (line[i] != ' ' && line[i] != '\t' && line[i] != '\n')); i++) {
			if (line[i] == '"')
				quoted = !quoted;
			else if (n < sizeof tok - 1)
				tok[n++] = line[i];
			else
				overlong = 1;
		}
		tok[n] = 0;
		if (overlong) {
			char *eq = strchr(tok, '=');
			if (eq)
				*eq = 0;
			boot_opts_mark_bad(o, tok);
			continue;
		}
		boot_opts_apply(o, tok);
	}
}

/* ---- GUIDs and GPT ----------------------------------------------------------------------- */

static int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (any case) to the on-disk GPT layout: the first three
 * groups are little-endian, the last two are bytes in order. Returns 0 or -1. */
static int guid_parse(const char *s, uint8_t out[16])
{
	static const uint8_t order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };
	uint8_t text_order[16];
	size_t k = 0;
	for (size_t i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -1;
			continue;
		}
		int hi = hex_nibble(s[i]);
		int lo = hi < 0 ? -1 : hex_nibble(s[i + 1]);
		if (lo < 0)
			return -1;
		text_order[k++] = (uint8_t)(hi << 4 | lo);
		i++;
	}
	if (s[36] != 0)
		return -1;
	for (size_t i = 0; i < 16; i++)
		out[i] = text_order[order[i]];
	return 0;
}

static uint32_t gpt_crc32(const uint8_t *p, size_t n)
{
	uint32_t crc = 0xffffffffu;
	while (n--) {
		crc ^= *p++;
		for (int b = 0; b < 8; b++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
	}
	return ~crc;
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

#define GPT_MAX_ENTRY_BYTES (1u << 20)

struct gpt_info {
	uint64_t entries_lba;
	uint32_t n_entries;
	uint32_t entry_size;
	uint32_t entries_crc;
};

/* Validates the GPT header in one logical block (sec, len = block size) read from LBA `lba` of
 * a disk of disk_lbas blocks. Returns 0 and fills g, or -1. */
static int gpt_parse_header(const uint8_t *sec, size_t len, uint64_t lba, uint64_t disk_lbas, struct gpt_info *g)
{
	if (len < 512 || memcmp(sec, "EFI PART", 8))
		return -1;
	uint32_t hsize = get_le32(sec + 12);
	uint8_t copy[512];
	if (hsize < 92 || hsize > sizeof copy)
		return -1;
	memcpy(copy, sec, hsize);
	memset(copy + 16, 0, 4); /* the CRC covers the header with its own CRC field zeroed */
	if (gpt_crc32(copy, hsize) != get_le32(sec + 16))
		return -1;
	if (get_le64(sec + 24) != lba)
		return -1;
	g->entries_lba = get_le64(sec + 72);
	g->n_entries = get_le32(sec + 80);
	g->entry_size = get_le32(sec + 84);
	g->entries_crc = get_le32(sec + 88);
	if (g->entry_size < 128 || g->entry_size % 8 || g->n_entries == 0 ||
	    (uint64_t)g->n_entries * g->entry_size > GPT_MAX_ENTRY_BYTES)
		return -1;
	uint64_t bytes = (uint64_t)g->n_entries * g->entry_size;
	uint64_t blocks = (bytes + len - 1) / len;
	if (g->entries_lba < 1 || g->entries_lba >= disk_lbas || blocks > disk_lbas - g->entries_lba)
		return -1;
	return 0;
}

static size_t gpt_entries_bytes(const struct gpt_info *g)
{
	return (size_t)g->n_entries * g->entry_size;
}

/* The 1-based number of the partition whose unique GUID is guid (on-disk layout), 0 if none,
 * -1 if the entry array (len must be gpt_entries_bytes(g)) fails its CRC. */
static int gpt_find_partition(const uint8_t *ents, size_t len, const struct gpt_info *g, const uint8_t guid[16])
{
	static const uint8_t zero[16];
	if (len != gpt_entries_bytes(g) || gpt_crc32(ents, len) != g->entries_crc)
		return -1;
	for (uint32_t i = 0; i < g->n_entries; i++) {
		const uint8_t *e = ents + (size_t)i * g->entry_size;
		if (memcmp(e, zero, 16) && !memcmp(e + 16, guid, 16))
			return i < 0x7fffffff ? (int)i + 1 : 0;
	}
	return 0;
}

#endif
