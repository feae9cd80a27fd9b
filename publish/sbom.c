/* publish/sbom.c: SPDX 2.3 JSON from an image root. See sbom.h. */
#include "publish/sbom.h"

#include "builder/imgroot.h"
#include "builder/recipe.h"
#include "publish/dpkg_status.h"
#include "util/diag.h"
#include "util/ident.h"
#include "util/io.h"
#include "util/json.h"
#include "util/sha256.h"
#include "util/strbuf.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STATUS_MAX (256u << 20)
#define BUSYBOX_MAX (64u << 20)

#ifndef APKG_VERSION
#define APKG_VERSION "0.0.0"
#endif

struct sbom {
	struct strbuf packages;       /* the "packages" array's items */
	struct strbuf relationships;  /* the "relationships" array's items */
	struct strbuf identity;       /* what the namespace UUID is derived from */
	size_t count;
	const char *distro;           /* purl distro qualifier, or NULL */
};

static void add_str(struct strbuf *sb, const char *key, const char *val)
{
	strbuf_addf(sb, ",\n      \"%s\": ", key);
	json_add_str(sb, val, strlen(val));
}

/* purl: version characters other than [A-Za-z0-9.-_~] are percent-encoded. */
static void add_purl(struct sbom *s, const char *name, const char *version, const char *arch)
{
	struct strbuf purl = STRBUF_INIT;
	strbuf_addf(&purl, "pkg:deb/debian/%s@", name);
	for (const char *p = version; *p; p++) {
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_~", *p))
			strbuf_addc(&purl, *p);
		else
			strbuf_addf(&purl, "%%%02X", (unsigned char)*p);
	}
	strbuf_addf(&purl, "?arch=%s", arch);
	if (s->distro)
		strbuf_addf(&purl, "&distro=%s", s->distro);
	strbuf_adds(&s->packages, ",\n      \"externalRefs\": [{\"referenceCategory\": \"PACKAGE-MANAGER\", "
				  "\"referenceType\": \"purl\", \"referenceLocator\": ");
	json_add_str(&s->packages, purl.buf, purl.len);
	strbuf_adds(&s->packages, "}]");
	strbuf_release(&purl);
}

/* SPDXRef-Package-<n>-<name with other characters as '-'>. */
static char *spdx_id(size_t n, const char *name)
{
	char *id = xasprintf("SPDXRef-Package-%zu-%s", n, name);
	for (char *p = id + strlen("SPDXRef-Package-"); *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-", *p))
			*p = '-';
	return id;
}

static void add_relationship(struct sbom *s, const char *from, const char *type, const char *to)
{
	strbuf_addf(&s->relationships, "%s\n    {\"spdxElementId\": \"%s\", \"relationshipType\": \"%s\", "
				       "\"relatedSpdxElement\": \"%s\"}",
		    s->relationships.len ? "," : "", from, type, to);
}

/* One contained package; version and arch may be NULL. */
static void add_package(struct sbom *s, const char *name, const char *version, const char *arch, const char *source,
			const char *comment)
{
	char *id = spdx_id(++s->count, name);
	strbuf_addf(&s->packages, ",\n    {\n      \"SPDXID\": \"%s\"", id);
	add_str(&s->packages, "name", name);
	add_str(&s->packages, "versionInfo", version ? version : "NOASSERTION");
	if (arch)
		add_str(&s->packages, "supplier", "Organization: Debian");
	add_str(&s->packages, "downloadLocation", "NOASSERTION");
	strbuf_adds(&s->packages, ",\n      \"filesAnalyzed\": false");
	add_str(&s->packages, "licenseConcluded", "NOASSERTION");
	add_str(&s->packages, "licenseDeclared", "NOASSERTION");
	add_str(&s->packages, "copyrightText", "NOASSERTION");
	if (source) {
		char *info = xasprintf("built from the Debian source package %s", source);
		add_str(&s->packages, "sourceInfo", info);
		free(info);
	}
	if (comment)
		add_str(&s->packages, "comment", comment);
	if (version && arch)
		add_purl(s, name, version, arch);
	strbuf_adds(&s->packages, "\n    }");
	add_relationship(s, "SPDXRef-Appliance", "CONTAINS", id);
	strbuf_addf(&s->identity, "%s %s %s\n", name, version ? version : "-", arch ? arch : "-");
	free(id);
}

/* Reads an image file with symlinks resolved inside the root (imgroot.h);
 * *present = 0 when it is absent. */
static int read_root_file(const struct imgroot *root, const char *path, size_t max, struct strbuf *out, int *present)
{
	int r = imgroot_read(root, path, out, max, 1);
	*present = r == 0;
	return r < 0 ? -1 : 0;
}

static int add_dpkg_packages(struct sbom *s, const struct imgroot *root, struct dpkg_packages *pkgs)
{
	struct strbuf text = STRBUF_INIT;
	int present, ret = read_root_file(root, "/var/lib/dpkg/status", STATUS_MAX, &text, &present);
	memset(pkgs, 0, sizeof *pkgs);
	if (ret == 0 && present) {
		dpkg_status_parse(text.buf, text.len, pkgs);
		if (pkgs->skipped)
			warning("SBOM: %zu entries of the image's dpkg status could not be read and are not listed", pkgs->skipped);
		for (size_t i = 0; i < pkgs->n; i++)
			add_package(s, pkgs->v[i].name, pkgs->v[i].version, pkgs->v[i].arch, pkgs->v[i].source, NULL);
	}
	strbuf_release(&text);
	return ret;
}

static int listed(const struct dpkg_packages *pkgs, const char *name)
{
	for (size_t i = 0; i < pkgs->n; i++)
		if (!strcmp(pkgs->v[i].name, name))
			return 1;
	return 0;
}

/* busybox as its binary reports itself, unless dpkg already lists it. */
static int add_busybox(struct sbom *s, const struct imgroot *root, const struct dpkg_packages *pkgs)
{
	if (listed(pkgs, "busybox") || listed(pkgs, "busybox-static"))
		return 0;
	struct strbuf bin = STRBUF_INIT;
	int present, ret = read_root_file(root, "/bin/busybox", BUSYBOX_MAX, &bin, &present);
	char *upstream = NULL, *debian = NULL;
	if (ret == 0 && present && busybox_version(bin.buf, bin.len, &upstream, &debian) == 0) {
		if (debian)
			add_package(s, "busybox-static", debian, "amd64", "busybox",
				    "the BusyBox binary /bin/busybox, copied from the build host's busybox-static package");
		else
			add_package(s, "busybox", upstream, NULL, NULL, "the BusyBox binary /bin/busybox");
	} else if (ret == 0 && present) {
		add_package(s, "busybox", NULL, NULL, NULL, "the BusyBox binary /bin/busybox (its version string was not found)");
	}
	free(upstream);
	free(debian);
	strbuf_release(&bin);
	return ret;
}

static void add_kernel(struct sbom *s, const struct recipe *r, const struct sbom_kernel *k, const struct dpkg_packages *pkgs)
{
	const char *package = k && k->package ? k->package : r->kernel.package;
	if (!package || listed(pkgs, package))
		return;
	char *comment = k && k->release ? xasprintf("the appliance's Linux kernel, release %s", k->release)
				      : xstrdup("the appliance's Linux kernel");
	add_package(s, package, k ? k->version : NULL, k && k->version ? "amd64" : NULL, NULL, comment);
	free(comment);
}

static void appliance_package(struct strbuf *out, const struct recipe *r)
{
	strbuf_adds(out, "\n    {\n      \"SPDXID\": \"SPDXRef-Appliance\"");
	add_str(out, "name", r->name);
	add_str(out, "versionInfo", r->version);
	add_str(out, "downloadLocation", "NOASSERTION");
	strbuf_adds(out, ",\n      \"filesAnalyzed\": false");
	add_str(out, "licenseConcluded", "NOASSERTION");
	add_str(out, "licenseDeclared", "NOASSERTION");
	add_str(out, "copyrightText", "NOASSERTION");
	add_str(out, "primaryPackagePurpose", "OPERATING-SYSTEM");
	if (r->description && *r->description)
		add_str(out, "description", r->description);
	strbuf_adds(out, "\n    }");
}

static void document(struct strbuf *out, const struct recipe *r, const struct sbom *s)
{
	char created[32], uuid_text[37], digest[65];
	time_t epoch = (time_t)r->epoch;
	struct tm tm;
	strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&epoch, &tm));
	uint8_t uuid[16];
	sha256_buf_hex(s->identity.buf, s->identity.len, digest);
	char *label = xasprintf("spdx-namespace %s", digest);
	ident_uuid(r->hash, label, uuid);
	ident_uuid_str(uuid, uuid_text);
	free(label);
	strbuf_adds(out, "{\n  \"spdxVersion\": \"SPDX-2.3\",\n  \"dataLicense\": \"CC0-1.0\",\n"
			 "  \"SPDXID\": \"SPDXRef-DOCUMENT\",\n  \"name\": ");
	char *name = xasprintf("%s-%s", r->name, r->version);
	json_add_str(out, name, strlen(name));
	strbuf_addf(out, ",\n  \"documentNamespace\": \"https://spdx.org/spdxdocs/%s-%s\",\n", name, uuid_text);
	strbuf_addf(out, "  \"creationInfo\": {\n    \"created\": \"%s\",\n    \"creators\": [\"Tool: apkg-%s\"]\n  },\n",
		    created, APKG_VERSION);
	strbuf_adds(out, "  \"packages\": [");
	appliance_package(out, r);
	strbuf_add(out, s->packages.buf, s->packages.len);
	strbuf_adds(out, "\n  ],\n  \"relationships\": [\n    {\"spdxElementId\": \"SPDXRef-DOCUMENT\", "
			 "\"relationshipType\": \"DESCRIBES\", \"relatedSpdxElement\": \"SPDXRef-Appliance\"}");
	if (s->relationships.len)
		strbuf_addc(out, ',');
	strbuf_add(out, s->relationships.buf, s->relationships.len);
	strbuf_adds(out, "\n  ]\n}\n");
	free(name);
}

int sbom_spdx_json(const char *rootdir, const struct recipe *r, const struct sbom_kernel *kernel, struct strbuf *out)
{
	struct sbom s = {STRBUF_INIT, STRBUF_INIT, STRBUF_INIT, 0, NULL};
	struct dpkg_packages pkgs = {0};
	struct imgroot root;
	if (r->base.kind == BASE_DEBIAN && r->base.suite)
		s.distro = r->base.suite;
	if (imgroot_open(&root, rootdir) < 0)
		return -1;
	int ret = add_dpkg_packages(&s, &root, &pkgs);
	if (ret == 0)
		ret = add_busybox(&s, &root, &pkgs);
	imgroot_close(&root);
	if (ret == 0) {
		add_kernel(&s, r, kernel, &pkgs);
		document(out, r, &s);
	}
	dpkg_packages_free(&pkgs);
	strbuf_release(&s.packages);
	strbuf_release(&s.relationships);
	strbuf_release(&s.identity);
	return ret;
}

int sbom_write_spdx(const char *rootdir, const struct recipe *r, const struct sbom_kernel *kernel,
		    const char *out_path)
{
	struct strbuf doc = STRBUF_INIT;
	int ret = sbom_spdx_json(rootdir, r, kernel, &doc);
	if (ret == 0)
		ret = write_file_atomic(out_path, doc.buf, doc.len, 0644);
	if (ret < 0)
		error("cannot write the SBOM %s", out_path);
	strbuf_release(&doc);
	return ret;
}
