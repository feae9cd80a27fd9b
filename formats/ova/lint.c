/* formats/ova/lint.c: the OVA linter (see lint.h).
 *
 * The tar is read once with libarchive (tar formats only; a compression
 * filter is detected and reported, since importers take plain tar). The
 * descriptor and manifest are kept in memory (bounded); every other member
 * is streamed through the digests the manifest asks for and, for VMDKs,
 * through formats/vmdk/vmdk_check.h. The descriptor is parsed with
 * libxml2 without DTDs, entities or network, then checked as a tree
 * (lint_ovf.c). Each rule's products and sources are in the table below.
 */
#include "formats/ova/lint.h"
#include "formats/ova/lint_internal.h"

#include "formats/vmdk/vmdk_check.h"
#include "util/diag.h"
#include "util/digest.h"
#include "util/strbuf.h"

#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MAX_OVF_BYTES (16u << 20)
#define MAX_MF_BYTES (1u << 20)
#define MAX_MEMBERS 4096
#define READ_BLOCK (1u << 20)

/* ---- findings ---- */

void lint_add(struct lint_report *r, enum lint_severity sev, const char *rule, unsigned products, const char *fmt, ...)
{
	unsigned p = products & r->products;
	if (!p)
		return;
	if (r->n == r->alloc) {
		r->alloc = r->alloc ? 2 * r->alloc : 16;
		r->items = xrealloc(r->items, r->alloc * sizeof *r->items);
	}
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	/* Messages quote names and text from the OVA: no control characters
	 * (terminal escapes) get through to the output. */
	for (size_t i = 0; i < sb.len; i++)
		if ((unsigned char)sb.buf[i] < 0x20 || sb.buf[i] == 0x7f)
			sb.buf[i] = '?';
	r->items[r->n++] = (struct lint_finding){sev, rule, p, strbuf_detach(&sb)};
	if (sev == LINT_ERROR)
		r->errors++;
	else if (sev == LINT_WARNING)
		r->warnings++;
	else
		r->notes++;
}

int lint_profile_products(const char *profile, unsigned *products)
{
	if (!profile || !strcmp(profile, "generic"))
		*products = PRODUCT_ALL;
	else if (!strcmp(profile, "vmware"))
		*products = PRODUCT_VMWARE | PRODUCT_OVF;
	else if (!strcmp(profile, "virtualbox"))
		*products = PRODUCT_VIRTUALBOX | PRODUCT_OVF;
	else
		return -1;
	return 0;
}

void lint_products_string(unsigned p, char *out, size_t cap)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {{PRODUCT_ESXI, "ESXi"}, {PRODUCT_VCENTER, "vCenter"}, {PRODUCT_WORKSTATION, "Workstation"},
		     {PRODUCT_VIRTUALBOX, "VirtualBox"}, {PRODUCT_OVF, "OVF spec"}};
	size_t n = 0;
	out[0] = 0;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (p & names[i].bit)
			n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s%s", n ? ", " : "", names[i].name);
}

void lint_report_print(const struct lint_report *r, FILE *f, const char *label, int with_notes)
{
	static const char *sev_name[] = {"note", "warning", "error"};
	for (int sev = LINT_ERROR; sev >= LINT_NOTE; sev--) {
		if (sev == LINT_NOTE && !with_notes)
			continue;
		for (size_t i = 0; i < r->n; i++) {
			const struct lint_finding *x = &r->items[i];
			if ((int)x->severity != sev)
				continue;
			char prod[96];
			lint_products_string(x->products, prod, sizeof prod);
			fprintf(f, "%s%s%s [%s] (%s): %s\n", label ? label : "", label ? ": " : "", sev_name[sev], x->rule, prod,
				x->message);
		}
	}
}

void lint_report_release(struct lint_report *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->items[i].message);
	free(r->items);
	r->items = NULL;
	r->n = r->alloc = 0;
}

/* ---- members ---- */

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && !strcasecmp(s + n - k, suffix);
}

enum member_kind lint_member_kind(const char *name)
{
	if (ends_with(name, ".ovf"))
		return MEMBER_OVF;
	if (ends_with(name, ".mf"))
		return MEMBER_MF;
	if (ends_with(name, ".cert"))
		return MEMBER_CERT;
	return MEMBER_FILE;
}

const struct lint_member *lint_find_member(const struct lint_ctx *c, const char *name)
{
	for (size_t i = 0; i < c->n_members; i++)
		if (!strcmp(c->members[i].name, name))
			return &c->members[i];
	return NULL;
}

/* ---- the manifest ---- */

static const struct manifest_entry *manifest_find(const struct lint_ctx *c, const char *name)
{
	for (size_t i = 0; i < c->n_mf; i++)
		if (!strcmp(c->mf[i].name, name))
			return &c->mf[i];
	return NULL;
}

static int is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

/* One line: exactly "ALG(name)= hex", as ovftool writes it. */
static void manifest_line(struct lint_ctx *c, const char *line, size_t len, int lineno)
{
	struct lint_report *r = c->report;
	char text[1024];
	snprintf(text, sizeof text, "%.*s", (int)(len > 200 ? 200 : len), line);
	const char *open = memchr(line, '(', len);
	const char *close = NULL;
	for (size_t i = len; i-- > 0;)
		if (line[i] == ')') {
			close = line + i;
			break;
		}
	if (!open || !close || close < open) {
		lint_add(r, LINT_ERROR, "manifest-syntax", PRODUCT_ALL, "line %d \"%s\" is not ALG(file)= digest", lineno, text);
		return;
	}
	size_t alg_len = (size_t)(open - line);
	if (alg_len && line[alg_len - 1] == ' ') {
		lint_add(r, LINT_ERROR, "manifest-syntax", PRODUCT_VMWARE,
			 "line %d \"%s\": a space before '(' (sha256sum --tag style); VMware reads the algorithm as \"%.*s\" "
			 "and rejects it (home-assistant/operating-system#826, PR #1674)",
			 lineno, text, (int)alg_len, line);
		while (alg_len && line[alg_len - 1] == ' ')
			alg_len--;
	}
	const char *after = close + 1;
	size_t rest = len - (size_t)(after - line);
	if (rest < 3 || after[0] != '=' || after[1] != ' ' || after[2] == ' ') {
		lint_add(r, LINT_ERROR, "manifest-syntax", PRODUCT_VMWARE,
			 "line %d \"%s\": the name must be followed by exactly \")= \" and the digest", lineno, text);
		while (rest && (*after == ' ' || *after == '='))
			after++, rest--;
	} else {
		after += 2, rest -= 2;
	}
	char alg_name[32];
	snprintf(alg_name, sizeof alg_name, "%.*s", (int)(alg_len < 31 ? alg_len : 31), line);
	enum digest_alg alg;
	if (digest_from_name(alg_name, &alg) < 0 || strcmp(alg_name, digest_name(alg))) {
		lint_add(r, LINT_ERROR, "manifest-algorithm", PRODUCT_ALL,
			 "line %d: unknown digest algorithm \"%s\" (SHA1, SHA256 or SHA512; vCenter 8 rejects e.g. "
			 "\"SHA2-256\": home-assistant/operating-system#3654)", lineno, alg_name);
		return;
	}
	if (rest != 2 * digest_size(alg) || !is_hex(after, rest)) {
		lint_add(r, LINT_ERROR, "manifest-syntax", PRODUCT_ALL, "line %d: the %s digest must be %zu hex digits",
			 lineno, alg_name, 2 * digest_size(alg));
		return;
	}
	if (c->n_mf == MAX_MEMBERS)
		return;
	struct manifest_entry *e = &c->mf[c->n_mf++];
	size_t name_len = (size_t)(close - open - 1);
	e->name = xmalloc(name_len + 1);
	memcpy(e->name, open + 1, name_len);
	e->name[name_len] = 0;
	e->alg = alg;
	for (size_t i = 0; i < rest; i++)
		e->hex[i] = (char)tolower((unsigned char)after[i]);
	e->hex[rest] = 0;
	e->line = lineno;
}

static void manifest_parse(struct lint_ctx *c)
{
	const char *p = c->mf_text.buf, *end = p + c->mf_text.len;
	int lineno = 0, crlf = 0;
	c->mf = xcalloc(MAX_MEMBERS, sizeof *c->mf);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		lineno++;
		if (len && p[len - 1] == '\r')
			len--, crlf = 1;
		if (len)
			manifest_line(c, p, len, lineno);
		p += (nl ? len + 1 + (p[len] == '\r') : len);
	}
	if (crlf)
		lint_add(c->report, LINT_WARNING, "manifest-syntax", PRODUCT_VMWARE, "the manifest has CRLF line ends; ovftool writes LF");
	unsigned algs = 0;
	for (size_t i = 0; i < c->n_mf; i++)
		algs |= 1u << c->mf[i].alg;
	if (algs & (algs - 1))
		lint_add(c->report, LINT_WARNING, "manifest-algorithm", PRODUCT_VMWARE, "the manifest mixes digest algorithms");
	if (algs & (1u << DIGEST_SHA1))
		lint_add(c->report, LINT_WARNING, "manifest-algorithm", PRODUCT_VCENTER,
			 "SHA1 manifest: vSphere 8 refuses it (\"Invalid OVF checksum algorithm: SHA1\", nextcloud/vm#2607)");
	if (algs & ((1u << DIGEST_SHA256) | (1u << DIGEST_SHA512)))
		lint_add(c->report, LINT_NOTE, "manifest-algorithm", PRODUCT_ESXI,
			 "%s manifest: ESXi 6.0 and older, the vSphere C# client and PowerCLI before 10.1 accept only SHA1 "
			 "(turnkeylinux/tracker#851, vmware/vic#5443)",
			 algs & (1u << DIGEST_SHA256) ? "SHA256" : "SHA512");
	c->mf_parsed = 1;
}

static void manifest_verify(struct lint_ctx *c)
{
	struct lint_report *r = c->report;
	for (size_t i = 0; i < c->n_mf; i++) {
		const struct manifest_entry *e = &c->mf[i];
		const struct lint_member *m = lint_find_member(c, e->name);
		if (!m) {
			lint_add(r, LINT_ERROR, "manifest-coverage", PRODUCT_ALL, "the manifest lists \"%s\", which is not in the OVA",
				 e->name);
			continue;
		}
		if (!m->have_digest[e->alg])
			continue; /* not computed: the member could not be read */
		if (strcmp(m->digest[e->alg], e->hex))
			lint_add(r, LINT_ERROR, "manifest-digest", PRODUCT_ALL,
				 "%s(%s) is %s in the manifest but %s in the OVA (VMware: \"digest of file does not match manifest\")",
				 digest_name(e->alg), e->name, e->hex, m->digest[e->alg]);
	}
	for (size_t i = 0; i < c->n_members; i++) {
		const struct lint_member *m = &c->members[i];
		if (m->kind != MEMBER_MF && m->kind != MEMBER_CERT && !manifest_find(c, m->name))
			lint_add(r, LINT_ERROR, "manifest-coverage", PRODUCT_ALL, "\"%s\" is not in the manifest", m->name);
	}
}

/* ---- reading the tar ---- */

static void vmdk_report(void *arg, const char *rule, const char *message)
{
	struct lint_ctx *c = arg;
	/* ESXi reads the disk as a stream on deploy; VirtualBox and Workstation
	 * convert it on import; all of them fail on a broken stream. */
	unsigned products = PRODUCT_ALL;
	enum lint_severity sev = LINT_ERROR;
	if (!strcmp(rule, VMDK_RULE_VERSION) || !strcmp(rule, VMDK_RULE_EOS))
		products = PRODUCT_ESXI | PRODUCT_VCENTER;
	else if (!strcmp(rule, VMDK_RULE_TRAILING))
		sev = LINT_NOTE;
	lint_add(c->report, sev, rule, products, "%s: %s", c->current, message);
}

/* Which digests to compute for a member: those the manifest names for it,
 * or all of them while the manifest has not been seen. */
static void member_digests(const struct lint_ctx *c, const char *name, int want[3])
{
	for (int a = 0; a < 3; a++)
		want[a] = !c->mf_parsed;
	for (size_t i = 0; c->mf_parsed && i < c->n_mf; i++)
		if (!strcmp(c->mf[i].name, name))
			want[c->mf[i].alg] = 1;
}

static int read_member(struct lint_ctx *c, struct archive *a, struct lint_member *m)
{
	struct digest d[3];
	int want[3];
	member_digests(c, m->name, want);
	for (int i = 0; i < 3; i++)
		if (want[i])
			digest_init(&d[i], (enum digest_alg)i);
	struct vmdk_check *vc = ends_with(m->name, ".vmdk") ? vmdk_check_new(vmdk_report, c) : NULL;
	/* Only the first descriptor and manifest count (a second one is reported as out of order). */
	struct strbuf *keep = m->kind == MEMBER_OVF && !c->seen_ovf ? &c->ovf_text
			      : m->kind == MEMBER_MF && !c->seen_mf ? &c->mf_text
								    : NULL;
	c->seen_ovf |= m->kind == MEMBER_OVF;
	c->seen_mf |= m->kind == MEMBER_MF;
	size_t keep_max = m->kind == MEMBER_OVF ? MAX_OVF_BYTES : MAX_MF_BYTES;
	int too_big = 0, rc = 0;
	c->current = m->name;
	for (;;) {
		const void *buf;
		size_t len;
		la_int64_t off;
		int r = archive_read_data_block(a, &buf, &len, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK) {
			lint_add(c->report, LINT_ERROR, "ova-tar", PRODUCT_ALL, "reading \"%s\": %s", m->name, archive_error_string(a));
			rc = -1;
			break;
		}
		for (int i = 0; i < 3; i++)
			if (want[i])
				digest_update(&d[i], buf, len);
		if (vc)
			vmdk_check_feed(vc, buf, len);
		if (keep && !too_big) {
			if (keep->len + len > keep_max)
				too_big = 1;
			else
				strbuf_add(keep, buf, len);
		}
	}
	if (vc) {
		if (rc == 0)
			vmdk_check_end(vc);
		if (vmdk_check_have_header(vc)) {
			m->is_vmdk = 1;
			m->vmdk_capacity = vmdk_check_capacity_bytes(vc);
		}
		vmdk_check_free(vc);
	}
	for (int i = 0; i < 3 && rc == 0; i++)
		if (want[i]) {
			digest_final(&d[i], NULL, m->digest[i]);
			m->have_digest[i] = 1;
		}
	if (too_big)
		lint_add(c->report, LINT_ERROR, m->kind == MEMBER_OVF ? "ovf-xml" : "manifest-syntax", PRODUCT_ALL,
			 "\"%s\" is over %zu bytes", m->name, keep_max);
	if (keep && too_big)
		strbuf_release(keep);
	return rc;
}

static void check_member_name(struct lint_ctx *c, const char *name, int regular)
{
	struct lint_report *r = c->report;
	if (!regular)
		lint_add(r, LINT_ERROR, "member-name", PRODUCT_ALL, "\"%s\" is not a regular file", name);
	if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		lint_add(r, LINT_ERROR, "member-name", PRODUCT_ALL,
			 "\"%s\": an OVA holds plain file names, no directories (DSP0243 5.3)", name);
	if (lint_find_member(c, name))
		lint_add(r, LINT_ERROR, "member-name", PRODUCT_ALL, "\"%s\" appears twice", name);
}

static void check_tar_format(struct lint_ctx *c, struct archive *a)
{
	int f = archive_format(a);
	if (archive_filter_count(a) > 1 && archive_filter_code(a, 0) != ARCHIVE_FILTER_NONE)
		lint_add(c->report, LINT_ERROR, "ova-tar", PRODUCT_ALL,
			 "the OVA is compressed (%s); importers read a plain tar", archive_filter_name(a, 0));
	if (f == ARCHIVE_FORMAT_TAR_GNUTAR)
		lint_add(c->report, LINT_WARNING, "ova-tar", PRODUCT_OVF | PRODUCT_VMWARE,
			 "GNU tar extensions: DSP0243 asks for USTAR (pax where a member exceeds 8 GiB)");
	else if (f == ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE || f == ARCHIVE_FORMAT_TAR_PAX_RESTRICTED)
		lint_add(c->report, LINT_NOTE, "ova-tar", PRODUCT_ALL,
			 "pax extended headers: needed for members over 8 GiB, but older importers read USTAR only");
}

static void read_archive(struct lint_ctx *c, struct archive *a)
{
	struct archive_entry *e;
	int first = 1;
	for (;;) {
		int r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			lint_add(c->report, LINT_ERROR, "ova-tar", PRODUCT_ALL, "%s%s",
				 first ? "not a tar archive: " : "", archive_error_string(a) ? archive_error_string(a) : "read error");
			break;
		}
		if (first)
			check_tar_format(c, a);
		first = 0;
		const char *name = archive_entry_pathname(e);
		if (!name)
			name = "";
		check_member_name(c, name, archive_entry_filetype(e) == AE_IFREG);
		if (c->n_members == MAX_MEMBERS) {
			lint_add(c->report, LINT_ERROR, "ova-tar", PRODUCT_ALL, "more than %d members", MAX_MEMBERS);
			break;
		}
		struct lint_member *m = &c->members[c->n_members++];
		m->name = xstrdup(name);
		m->size = archive_entry_size_is_set(e) && archive_entry_size(e) > 0 ? (uint64_t)archive_entry_size(e) : 0;
		m->kind = lint_member_kind(name);
		if (read_member(c, a, m) < 0)
			break;
		if (m->kind == MEMBER_MF && !c->mf_parsed)
			manifest_parse(c);
	}
	if (first && c->report->errors == 0)
		lint_add(c->report, LINT_ERROR, "ova-tar", PRODUCT_ALL, "the archive is empty");
}

/* ---- order ---- */

static void check_order(struct lint_ctx *c)
{
	struct lint_report *r = c->report;
	if (!c->n_members)
		return;
	if (c->members[0].kind != MEMBER_OVF)
		lint_add(r, LINT_ERROR, "ovf-first", PRODUCT_VMWARE | PRODUCT_OVF,
			 "the first member is \"%s\", not the .ovf descriptor (ovftool: \"Did not find an .ovf file at the "
			 "beginning of the OVA package\")", c->members[0].name);
	/* DSP0243: descriptor, manifest, certificate, then the files in
	 * References order; or the manifest and certificate last. */
	size_t last_file = 0, files = 0;
	for (size_t i = 0; i < c->n_members; i++)
		if (c->members[i].kind == MEMBER_FILE)
			last_file = i, files++;
	for (size_t i = 1; i < c->n_members; i++) {
		const struct lint_member *m = &c->members[i];
		if (m->kind == MEMBER_OVF)
			lint_add(r, LINT_ERROR, "member-order", PRODUCT_ALL, "a second descriptor \"%s\"", m->name);
		if ((m->kind == MEMBER_MF || m->kind == MEMBER_CERT) && files && i < last_file) {
			int right_after = m->kind == MEMBER_MF ? i == 1 : (i == 2 && c->members[1].kind == MEMBER_MF) || i == 1;
			if (!right_after)
				lint_add(r, LINT_ERROR, "member-order", PRODUCT_OVF | PRODUCT_VMWARE,
					 "\"%s\" is between the files: it must follow the descriptor or come last (DSP0243)", m->name);
		}
	}
	lint_check_reference_order(c);
}

/* ---- entry points ---- */

static void lint_archive(struct archive *a, int opened, unsigned products, struct lint_report *report)
{
	struct lint_ctx c = {.report = report};
	report->products = products;
	if (!opened) {
		lint_add(report, LINT_ERROR, "ova-tar", PRODUCT_ALL, "not a tar archive: %s",
			 archive_error_string(a) ? archive_error_string(a) : "unreadable");
		return;
	}
	c.members = xcalloc(MAX_MEMBERS, sizeof *c.members);
	strbuf_init(&c.ovf_text);
	strbuf_init(&c.mf_text);
	read_archive(&c, a);
	int have_ovf = 0, have_mf = 0;
	for (size_t i = 0; i < c.n_members; i++)
		have_ovf |= c.members[i].kind == MEMBER_OVF, have_mf |= c.members[i].kind == MEMBER_MF;
	if (c.n_members && !have_ovf)
		lint_add(report, LINT_ERROR, "required-sections", PRODUCT_ALL, "the OVA holds no .ovf descriptor");
	if (have_ovf && c.ovf_text.len)
		lint_check_ovf(&c);
	check_order(&c);
	if (have_mf)
		manifest_verify(&c);
	else if (c.n_members)
		lint_add(report, LINT_NOTE, "manifest-coverage", PRODUCT_ALL, "no manifest: nothing protects the files' integrity");
	for (size_t i = 0; i < c.n_members; i++)
		free(c.members[i].name);
	for (size_t i = 0; i < c.n_mf; i++)
		free(c.mf[i].name);
	free(c.mf);
	free(c.members);
	lint_ovf_release(&c);
	strbuf_release(&c.ovf_text);
	strbuf_release(&c.mf_text);
}

static struct archive *new_reader(void)
{
	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	archive_read_support_filter_all(a);
	return a;
}

/* A lone sparse VMDK (not in an OVA): only the disk checks apply. */
static int lint_vmdk_fd(int fd, const char *path, struct lint_report *report)
{
	const char *base = strrchr(path, '/');
	struct lint_ctx c = {.report = report, .current = base ? base + 1 : path};
	struct vmdk_check *vc = vmdk_check_new(vmdk_report, &c);
	char *buf = xmalloc(READ_BLOCK);
	ssize_t n;
	while ((n = read(fd, buf, READ_BLOCK)) > 0)
		vmdk_check_feed(vc, buf, (size_t)n);
	free(buf);
	if (n == 0)
		vmdk_check_end(vc);
	vmdk_check_free(vc);
	return n < 0 ? error_errno("cannot read %s", path) : 0;
}

static int starts_with_vmdk_magic(int fd)
{
	char m[4];
	return pread(fd, m, 4, 0) == 4 && !memcmp(m, "KDMV", 4);
}

int ova_lint_file(const char *path, unsigned products, struct lint_report *report)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_errno("cannot open %s", path);
	if (starts_with_vmdk_magic(fd)) {
		report->products = products;
		int rc = lint_vmdk_fd(fd, path, report);
		close(fd);
		return rc;
	}
	struct archive *a = new_reader();
	int r = archive_read_open_fd(a, fd, READ_BLOCK);
	lint_archive(a, r == ARCHIVE_OK, products, report);
	archive_read_free(a);
	close(fd);
	return 0;
}

int ova_lint_memory(const void *data, size_t len, unsigned products, struct lint_report *report)
{
	struct archive *a = new_reader();
	int r = archive_read_open_memory(a, data, len);
	lint_archive(a, r == ARCHIVE_OK, products, report);
	archive_read_free(a);
	return 0;
}
