/* publish/index_html.c: index.html, the page people read, made from the
 * same data as index.json. Every value is escaped; a link is made only from
 * names that pass the mirror's name checks, so a hostile index.json cannot
 * inject markup or point links elsewhere. See index.h. */
#include "publish/index.h"

#include "publish/names.h"
#include "util/json.h"
#include "util/strbuf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void html_text(struct strbuf *out, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': strbuf_adds(out, "&amp;"); break;
		case '<': strbuf_adds(out, "&lt;"); break;
		case '>': strbuf_adds(out, "&gt;"); break;
		case '"': strbuf_adds(out, "&quot;"); break;
		case '\'': strbuf_adds(out, "&#39;"); break;
		default: strbuf_addc(out, *s);
		}
	}
}

/* <a href="dir/file">label</a>, or just the label when a name is unsafe. */
static void link(struct strbuf *out, const char *name, const char *version, const char *file, const char *label)
{
	int safe = appliance_name_ok(name) && version_ok(version) && (!file || mirror_file_name_ok(file));
	if (safe)
		strbuf_addf(out, "<a href=\"%s/%s/%s\">", name, version, file ? file : "");
	html_text(out, label);
	if (safe)
		strbuf_adds(out, "</a>");
}

static void human_size(struct strbuf *out, const struct json_value *artifact)
{
	uint64_t size;
	if (json_get_u64(artifact, "size", &size) < 0)
		return;
	if (size >= (1u << 20))
		strbuf_addf(out, "%.1f MiB", (double)size / (1u << 20));
	else
		strbuf_addf(out, "%llu bytes", (unsigned long long)size);
}

/* "pass: qemu-uefi; skip: vmm" from an artifact's "results". */
static void results_summary(struct strbuf *out, const struct json_value *artifact)
{
	const struct json_value *results = json_get_array(artifact, "results");
	for (size_t i = 0; results && i < results->n; i++) {
		if (i)
			strbuf_adds(out, "; ");
		html_text(out, json_get_str(results->items[i], "status"));
		strbuf_adds(out, ": ");
		html_text(out, json_get_str(results->items[i], "target"));
	}
}

static void artifact_row(struct strbuf *out, const char *name, const char *version, const struct json_value *a)
{
	const char *file = json_get_str(a, "file");
	strbuf_adds(out, "<tr><td>");
	link(out, name, version, file, file ? file : "?");
	strbuf_adds(out, "</td><td>");
	html_text(out, json_get_str(a, "format"));
	strbuf_adds(out, "</td><td>");
	human_size(out, a);
	strbuf_adds(out, "</td><td><code>");
	html_text(out, json_get_str(a, "sha256"));
	strbuf_adds(out, "</code></td><td>");
	html_text(out, json_get_str(a, "validation"));
	strbuf_adds(out, "<br><small>");
	results_summary(out, a);
	strbuf_adds(out, "</small></td></tr>\n");
}

static void version_section(struct strbuf *out, const char *name, const struct index_version *v, int latest)
{
	const struct json_value *e = v->entry;
	strbuf_adds(out, "<h3>");
	link(out, name, v->version, NULL, v->version);
	strbuf_adds(out, latest ? " (latest)</h3>\n<p>" : "</h3>\n<p>");
	if (json_get_str(e, "published")) {
		strbuf_adds(out, "Published ");
		html_text(out, json_get_str(e, "published"));
		strbuf_adds(out, ". ");
	}
	strbuf_adds(out, json_get_bool(e, "validated", 0) ? "Boot-validated. " : "<strong>Not boot-validated.</strong> ");
	link(out, name, v->version, "SHA256SUMS", "SHA256SUMS");
	if (json_get_bool(e, "signed", 0)) {
		strbuf_adds(out, " · ");
		link(out, name, v->version, "SHA256SUMS.asc", "signature");
	}
	const char *sbom = json_get_str(e, "sbom");
	if (sbom) {
		strbuf_adds(out, " · ");
		link(out, name, v->version, sbom, "SBOM (SPDX)");
	}
	strbuf_adds(out, "</p>\n<table>\n<tr><th>File</th><th>Format</th><th>Size</th><th>SHA-256</th>"
			 "<th>Boot validation</th></tr>\n");
	const struct json_value *artifacts = json_get_array(e, "artifacts");
	for (size_t i = 0; artifacts && i < artifacts->n; i++)
		artifact_row(out, name, v->version, artifacts->items[i]);
	strbuf_adds(out, "</table>\n");
}

static int newest_first(const void *a, const void *b)
{
	return version_compare(((const struct index_version *)b)->version, ((const struct index_version *)a)->version);
}

static int by_name(const void *a, const void *b)
{
	return strcmp((*(const struct index_appliance *const *)a)->name, (*(const struct index_appliance *const *)b)->name);
}

static void appliance_section(struct strbuf *out, const struct index_appliance *a)
{
	struct index_version *v = xmalloc(a->n * sizeof *v);
	memcpy(v, a->versions, a->n * sizeof *v);
	qsort(v, a->n, sizeof *v, newest_first);
	strbuf_adds(out, "<h2 id=\"");
	html_text(out, a->name);
	strbuf_adds(out, "\">");
	html_text(out, a->name);
	strbuf_adds(out, "</h2>\n");
	const char *description = json_get_str(v[0].entry, "description");
	if (description && *description) {
		strbuf_adds(out, "<p>");
		html_text(out, description);
		strbuf_adds(out, "</p>\n");
	}
	for (size_t i = 0; i < a->n; i++)
		version_section(out, a->name, &v[i], i == 0);
	free(v);
}

void index_write_html(const struct mirror_index *ix, struct strbuf *out)
{
	strbuf_adds(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
			 "<title>Appliances</title>\n<style>body{font-family:sans-serif;max-width:70em;margin:2em "
			 "auto;padding:0 1em}table{border-collapse:collapse}th,td{text-align:left;padding:.2em .6em;"
			 "border-bottom:1px solid #ddd;vertical-align:top}code{font-size:.8em}</style>\n</head>\n<body>\n"
			 "<h1>Appliances</h1>\n<p>Each version's SHA256SUMS lists every file's SHA-256; check a download "
			 "with <code>sha256sum -c --ignore-missing SHA256SUMS</code>, and the signature, where there is "
			 "one, with <code>gpg --verify SHA256SUMS.asc SHA256SUMS</code>. The same data, for machines: "
			 "<a href=\"index.json\">index.json</a>.</p>\n");
	const struct index_appliance **apps = xmalloc((ix->n ? ix->n : 1) * sizeof *apps);
	size_t n = 0;
	for (size_t i = 0; i < ix->n; i++)
		if (ix->apps[i].n)
			apps[n++] = &ix->apps[i];
	qsort(apps, n, sizeof *apps, by_name);
	if (!n)
		strbuf_adds(out, "<p>Nothing is published yet.</p>\n");
	for (size_t i = 0; i < n; i++)
		appliance_section(out, apps[i]);
	strbuf_adds(out, "</body>\n</html>\n");
	free(apps);
}
