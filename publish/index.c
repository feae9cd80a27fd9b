/* publish/index.c: read, change and write the mirror catalogue. See index.h. */
#include "publish/index.h"

#include "publish/names.h"
#include "util/json.h"
#include "util/strbuf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct index_appliance *find_app(const struct mirror_index *ix, const char *name)
{
	for (size_t i = 0; i < ix->n; i++)
		if (!strcmp(ix->apps[i].name, name))
			return &ix->apps[i];
	return NULL;
}

static struct index_appliance *add_app(struct mirror_index *ix, const char *name)
{
	ix->apps = xrealloc(ix->apps, (ix->n + 1) * sizeof *ix->apps);
	struct index_appliance *a = &ix->apps[ix->n++];
	memset(a, 0, sizeof *a);
	a->name = xstrdup(name);
	return a;
}

static struct index_version *find_version(const struct index_appliance *a, const char *version)
{
	for (size_t i = 0; i < a->n; i++)
		if (!strcmp(a->versions[i].version, version))
			return &a->versions[i];
	return NULL;
}

static void add_version(struct index_appliance *a, const char *version, struct json_value *entry)
{
	a->versions = xrealloc(a->versions, (a->n + 1) * sizeof *a->versions);
	a->versions[a->n++] = (struct index_version){version, entry};
}

static void keep_tree(struct mirror_index *ix, struct json_value *tree)
{
	ix->trees = xrealloc(ix->trees, (ix->n_trees + 1) * sizeof *ix->trees);
	ix->trees[ix->n_trees++] = tree;
}

static int parse_versions(struct index_appliance *a, const struct json_value *list, char err[200])
{
	if (!list) {
		snprintf(err, 200, "appliance \"%s\" has no \"versions\" list", a->name);
		return -1;
	}
	for (size_t k = 0; k < list->n; k++) {
		struct json_value *e = list->items[k];
		const char *version = json_get_str(e, "version");
		if (!version || !version_ok(version)) {
			snprintf(err, 200, "appliance \"%s\": version entry %zu has no valid \"version\"", a->name, k + 1);
			return -1;
		}
		if (find_version(a, version)) {
			snprintf(err, 200, "appliance \"%s\" lists version %s twice", a->name, version);
			return -1;
		}
		add_version(a, version, e);
	}
	return 0;
}

static int parse_appliances(struct mirror_index *ix, const struct json_value *root, char err[200])
{
	uint64_t format;
	const struct json_value *apps = json_get_array(root, "appliances");
	if (root->type != JSON_OBJECT || json_get_u64(root, "apkg_index", &format) < 0 || format != 1 || !apps) {
		snprintf(err, 200, "not an apkg index (expected {\"apkg_index\": 1, \"appliances\": [...]})");
		return -1;
	}
	for (size_t i = 0; i < apps->n; i++) {
		const char *name = json_get_str(apps->items[i], "name");
		if (!name || !appliance_name_ok(name)) {
			snprintf(err, 200, "appliance %zu has no valid \"name\"", i + 1);
			return -1;
		}
		if (find_app(ix, name)) {
			snprintf(err, 200, "appliance \"%s\" is listed twice", name);
			return -1;
		}
		if (parse_versions(add_app(ix, name), json_get_array(apps->items[i], "versions"), err) < 0)
			return -1;
	}
	return 0;
}

int index_parse(const char *data, size_t len, struct mirror_index *ix, char err[200])
{
	memset(ix, 0, sizeof *ix);
	err[0] = 0;
	if (!len)
		return 0;
	if (len > INDEX_MAX_BYTES) {
		snprintf(err, 200, "larger than %u bytes", INDEX_MAX_BYTES);
		return -1;
	}
	struct json_error jerr;
	struct json_value *root = json_parse(data, len, &jerr);
	if (!root) {
		snprintf(err, 200, "line %d, column %d: %s", jerr.line, jerr.col, jerr.message);
		return -1;
	}
	keep_tree(ix, root);
	if (parse_appliances(ix, root, err) < 0) {
		index_free(ix);
		return -1;
	}
	return 0;
}

void index_free(struct mirror_index *ix)
{
	for (size_t i = 0; i < ix->n; i++) {
		free(ix->apps[i].name);
		free(ix->apps[i].versions);
	}
	for (size_t i = 0; i < ix->n_trees; i++)
		json_free(ix->trees[i]);
	free(ix->apps);
	free(ix->trees);
	memset(ix, 0, sizeof *ix);
}

int index_put(struct mirror_index *ix, const char *name, const char *version, const char *entry_json)
{
	struct json_value *e = json_parse(entry_json, strlen(entry_json), NULL);
	const char *v = e ? json_get_str(e, "version") : NULL;
	if (!e || e->type != JSON_OBJECT || !v || strcmp(v, version) || !appliance_name_ok(name)) {
		json_free(e);
		return -1;
	}
	keep_tree(ix, e);
	struct index_appliance *a = find_app(ix, name);
	if (!a)
		a = add_app(ix, name);
	struct index_version *old = find_version(a, version);
	if (old)
		*old = (struct index_version){v, e};
	else
		add_version(a, v, e);
	return 0;
}

const struct json_value *index_find(const struct mirror_index *ix, const char *name, const char *version)
{
	const struct index_appliance *a = find_app(ix, name);
	const struct index_version *v = a ? find_version(a, version) : NULL;
	return v ? v->entry : NULL;
}

void index_remove(struct mirror_index *ix, const char *name, const char *version)
{
	struct index_appliance *a = find_app(ix, name);
	struct index_version *v = a ? find_version(a, version) : NULL;
	if (!v)
		return;
	size_t i = (size_t)(v - a->versions);
	memmove(&a->versions[i], &a->versions[i + 1], (a->n - i - 1) * sizeof *v);
	a->n--;
}

static int newest_first(const void *a, const void *b)
{
	return version_compare(((const struct index_version *)b)->version, ((const struct index_version *)a)->version);
}

/* A sorted malloc'd copy of n items. */
static void *sorted_copy(const void *items, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	void *copy = xmalloc(n ? n * size : 1);
	if (n) {
		memcpy(copy, items, n * size);
		qsort(copy, n, size, cmp);
	}
	return copy;
}

/* The versions of a, newest first. */
static struct index_version *sorted_versions(const struct index_appliance *a)
{
	return sorted_copy(a->versions, a->n, sizeof *a->versions, newest_first);
}

const char *index_latest(const struct mirror_index *ix, const char *name)
{
	const struct index_appliance *a = find_app(ix, name);
	const char *best = NULL;
	for (size_t i = 0; a && i < a->n; i++)
		if (!best || version_compare(a->versions[i].version, best) > 0)
			best = a->versions[i].version;
	return best;
}

const char **index_prune_list(const struct mirror_index *ix, const char *name, size_t keep, const char *spare,
			      size_t *n_out)
{
	const struct index_appliance *a = find_app(ix, name);
	*n_out = 0;
	if (!a || a->n <= keep)
		return NULL;
	struct index_version *v = sorted_versions(a);
	const char **out = xcalloc(a->n, sizeof *out);
	for (size_t i = keep; i < a->n; i++)
		if (!spare || strcmp(v[i].version, spare))
			out[(*n_out)++] = v[i].version;
	free(v);
	return out;
}

static int by_app_name(const void *a, const void *b)
{
	return strcmp(((const struct index_appliance *)a)->name, ((const struct index_appliance *)b)->name);
}

static struct index_appliance *sorted_apps(const struct mirror_index *ix)
{
	return sorted_copy(ix->apps, ix->n, sizeof *ix->apps, by_app_name);
}

static void write_app_json(const struct index_appliance *a, struct strbuf *out)
{
	struct index_version *v = sorted_versions(a);
	const char *description = a->n ? json_get_str(v[0].entry, "description") : NULL;
	strbuf_adds(out, "{\n      \"name\": ");
	json_add_str(out, a->name, strlen(a->name));
	if (a->n) {
		strbuf_adds(out, ",\n      \"latest\": ");
		json_add_str(out, v[0].version, strlen(v[0].version));
	}
	if (description) {
		strbuf_adds(out, ",\n      \"description\": ");
		json_add_str(out, description, strlen(description));
	}
	strbuf_adds(out, ",\n      \"versions\": [");
	for (size_t i = 0; i < a->n; i++) {
		strbuf_adds(out, i ? ",\n        " : "\n        ");
		json_write(v[i].entry, out, 2, 4);
	}
	strbuf_adds(out, a->n ? "\n      ]\n    }" : "]\n    }");
	free(v);
}

void index_write_json(const struct mirror_index *ix, struct strbuf *out)
{
	struct index_appliance *apps = sorted_apps(ix);
	strbuf_adds(out, "{\n  \"apkg_index\": 1,\n  \"appliances\": [");
	size_t written = 0;
	for (size_t i = 0; i < ix->n; i++) {
		if (!apps[i].n)
			continue; /* an appliance whose last version was pruned */
		strbuf_adds(out, written++ ? ",\n    " : "\n    ");
		write_app_json(&apps[i], out);
	}
	strbuf_adds(out, written ? "\n  ]\n}\n" : "]\n}\n");
	free(apps);
}
