/* inspect/tar.c: tar member listing for OVAs (POSIX ustar, GNU and pax headers; see tar.h). */
#include "inspect/tar.h"

#include "util/strbuf.h"

#include <stdlib.h>
#include <string.h>

/* Field offsets in a ustar header block (POSIX.1-2001, pax "ustar Interchange Format"). */
enum { NAME = 0, SIZE = 124, CHKSUM = 148, TYPEFLAG = 156, MAGIC = 257, PREFIX = 345 };

static int parse_octal(const unsigned char *p, size_t len, uint64_t *out)
{
	size_t i = 0;
	uint64_t v = 0;
	if (len && (p[0] & 0x80)) { /* GNU base-256 */
		if (p[0] != 0x80)
			return -1; /* negative or too large */
		for (i = 1; i < len; i++) {
			if (v >> 56)
				return -1;
			v = (v << 8) | p[i];
		}
		*out = v;
		return 0;
	}
	while (i < len && p[i] == ' ')
		i++;
	size_t digits = 0;
	for (; i < len && p[i] >= '0' && p[i] <= '7'; i++, digits++) {
		if (v >> 60)
			return -1;
		v = v * 8 + (uint64_t)(p[i] - '0');
	}
	if (!digits || (i < len && p[i] != ' ' && p[i] != 0))
		return -1;
	*out = v;
	return 0;
}

int tar_is_header(const unsigned char b[512])
{
	if (memcmp(b + MAGIC, "ustar", 5))
		return 0;
	uint64_t want;
	if (parse_octal(b + CHKSUM, 8, &want) < 0)
		return 0;
	uint64_t sum = 0;
	for (size_t i = 0; i < 512; i++)
		sum += (i >= CHKSUM && i < CHKSUM + 8) ? ' ' : b[i];
	return sum == want;
}

static int all_zero(const unsigned char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

static char *header_name(const unsigned char *b)
{
	struct strbuf sb = STRBUF_INIT;
	size_t pl = strnlen((const char *)b + PREFIX, 155), nl = strnlen((const char *)b + NAME, 100);
	if (pl && !memcmp(b + MAGIC, "ustar\0", 6)) { /* POSIX prefix; GNU uses those bytes otherwise */
		strbuf_add(&sb, b + PREFIX, pl);
		strbuf_addc(&sb, '/');
	}
	strbuf_add(&sb, b + NAME, nl);
	return strbuf_detach(&sb);
}

/* The "path" and "size" records of a pax extended header ("LEN key=value\n" each). */
static int parse_pax(const char *d, size_t n, char **path, uint64_t *size, int *have_size)
{
	for (size_t i = 0; i < n;) {
		size_t j = i, len = 0;
		while (j < n && d[j] >= '0' && d[j] <= '9' && len < 1000000)
			len = len * 10 + (size_t)(d[j++] - '0');
		if (j >= n || d[j] != ' ' || len <= j - i + 1 || len > n - i || d[i + len - 1] != '\n')
			return -1;
		const char *kv = d + j + 1, *end = d + i + len - 1;
		const char *eq = memchr(kv, '=', (size_t)(end - kv));
		if (!eq)
			return -1;
		size_t kl = (size_t)(eq - kv), vl = (size_t)(end - eq - 1);
		if (kl == 4 && !memcmp(kv, "path", 4) && vl && vl <= TAR_MAX_NAME && !memchr(eq + 1, 0, vl)) {
			free(*path);
			*path = xmalloc(vl + 1);
			memcpy(*path, eq + 1, vl);
			(*path)[vl] = 0;
		} else if (kl == 4 && !memcmp(kv, "size", 4)) {
			uint64_t v = 0;
			if (!vl)
				return -1;
			for (size_t k = 1; k <= vl; k++) {
				char c = eq[k];
				if (c < '0' || c > '9' || v > (UINT64_MAX - 9) / 10)
					return -1;
				v = v * 10 + (uint64_t)(c - '0');
			}
			*size = v;
			*have_size = 1;
		}
		i += len;
	}
	return 0;
}

struct tar_state {
	tar_read_fn read;
	void *ctx;
	uint64_t total;
	char *next_name;          /* from a GNU 'L' or pax 'x' header */
	uint64_t next_size;
	int have_next_size;
	struct strbuf *err;
};

/* Reads a special member's data (long name, pax header) into a NUL-terminated buffer. */
static char *read_meta(struct tar_state *t, uint64_t off, uint64_t size, size_t cap)
{
	if (size > cap) {
		strbuf_addf(t->err, "a tar extension header at offset %llu is too large (%llu bytes)",
			    (unsigned long long)off, (unsigned long long)size);
		return NULL;
	}
	char *d = xmalloc((size_t)size + 1);
	if (t->read(t->ctx, d, (size_t)size, off) < 0) {
		strbuf_addf(t->err, "the tar archive is truncated at offset %llu", (unsigned long long)off);
		free(d);
		return NULL;
	}
	d[size] = 0;
	return d;
}

/* Handles one header at off; returns the offset of the next, or 0 at the end, or -1. */
static int64_t one_header(struct tar_state *t, uint64_t off, struct tar_member **m, size_t *n)
{
	unsigned char b[512];
	if (off + 512 > t->total || t->read(t->ctx, b, 512, off) < 0)
		return 0; /* a missing end-of-archive marker is tolerated, as GNU tar does */
	if (all_zero(b, 512))
		return 0;
	if (!tar_is_header(b)) {
		strbuf_addf(t->err, "not a tar header at offset %llu (bad magic or checksum)", (unsigned long long)off);
		return -1;
	}
	uint64_t size;
	if (parse_octal(b + SIZE, 12, &size) < 0) {
		strbuf_addf(t->err, "bad size in the tar header at offset %llu", (unsigned long long)off);
		return -1;
	}
	if (t->have_next_size)
		size = t->next_size;
	uint64_t data = off + 512;
	if (size > t->total - data) {
		strbuf_addf(t->err, "tar member at offset %llu claims %llu bytes, past the end of the archive",
			    (unsigned long long)off, (unsigned long long)size);
		return -1;
	}
	char type = (char)b[TYPEFLAG];
	if (type == 'L' || type == 'x') {
		char *d = read_meta(t, data, size, type == 'L' ? TAR_MAX_NAME : TAR_MAX_PAX);
		if (!d)
			return -1;
		if (type == 'L') {
			free(t->next_name);
			t->next_name = d;
		} else {
			int bad = parse_pax(d, (size_t)size, &t->next_name, &t->next_size, &t->have_next_size);
			free(d);
			if (bad) {
				strbuf_addf(t->err, "malformed pax header at offset %llu", (unsigned long long)off);
				return -1;
			}
		}
	} else if (type != 'g') {
		if (*n >= TAR_MAX_MEMBERS) {
			strbuf_addf(t->err, "more than %d members in the tar archive", TAR_MAX_MEMBERS);
			return -1;
		}
		*m = xrealloc(*m, (*n + 1) * sizeof **m);
		(*m)[*n] = (struct tar_member){.name = t->next_name ? t->next_name : header_name(b),
					       .type = type ? type : '0', .offset = data, .size = size};
		(*n)++;
		t->next_name = NULL;
		t->have_next_size = 0;
	}
	uint64_t next = data + ((size + 511) & ~(uint64_t)511);
	return next > INT64_MAX ? -1 : (int64_t)next;
}

int tar_list(tar_read_fn read, void *ctx, uint64_t total, struct tar_member **members, size_t *n,
	     struct strbuf *err)
{
	struct tar_state t = {.read = read, .ctx = ctx, .total = total, .err = err};
	*members = NULL;
	*n = 0;
	int64_t off = 0;
	size_t headers = 0;
	while ((off = one_header(&t, (uint64_t)off, members, n)) > 0) {
		if (++headers > 4 * TAR_MAX_MEMBERS) {
			strbuf_addf(err, "too many tar headers");
			off = -1;
			break;
		}
	}
	free(t.next_name);
	if (off < 0) {
		tar_members_free(*members, *n);
		*members = NULL;
		*n = 0;
		return -1;
	}
	return 0;
}

void tar_members_free(struct tar_member *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(m[i].name);
	free(m);
}
