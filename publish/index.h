/* publish/index.h: the mirror's catalogue, index.json, and the page made
 * from it, index.html.
 *
 * index.json lists every appliance on the mirror and every published
 * version of it (newest first, by version_compare), each version an object
 * that apkg publish writes (version, path, files with sizes and sha256,
 * validation results, signature, SBOM). The index is read back from the
 * mirror before each publish, so it is parsed as hostile input: it must be
 * {"apkg_index": 1, "appliances": [...]} with valid, unique appliance names
 * and versions, or it is refused with the reason (apkg never silently drops
 * a catalogue it cannot read). Version objects are kept as they are (unknown
 * fields survive), except "version", which must be there. Output is
 * deterministic: appliances sorted by name, versions newest first, and
 * index.html escapes every value and links only mirror-safe names.
 */
#ifndef APKG_PUBLISH_INDEX_H
#define APKG_PUBLISH_INDEX_H

#include <stddef.h>

struct json_value;
struct strbuf;

#define INDEX_MAX_BYTES (64u << 20)

struct index_version {
	const char *version;      /* points into entry */
	struct json_value *entry; /* owned by the index's trees */
};

struct index_appliance {
	char *name;
	struct index_version *versions; /* unsorted; writers sort */
	size_t n;
};

struct mirror_index {
	struct index_appliance *apps;
	size_t n;
	struct json_value **trees; /* parsed documents the entries point into */
	size_t n_trees;
};

/* Parses data[0..len); len 0 gives an empty index. Returns 0, or -1 with
 * the reason in err. */
int index_parse(const char *data, size_t len, struct mirror_index *ix, char err[200]);
void index_free(struct mirror_index *ix);
/* Adds or replaces name/version with the JSON object text entry_json (its
 * "version" member must equal version). Returns -1 if it does not parse. */
int index_put(struct mirror_index *ix, const char *name, const char *version, const char *entry_json);
const struct json_value *index_find(const struct mirror_index *ix, const char *name, const char *version);
void index_remove(struct mirror_index *ix, const char *name, const char *version);
/* The newest version of name, or NULL when it has none. */
const char *index_latest(const struct mirror_index *ix, const char *name);
/* The versions of name beyond the `keep` newest, except `spare`, oldest
 * last; *n_out of them (the array is malloc'd, the strings are the index's). */
const char **index_prune_list(const struct mirror_index *ix, const char *name, size_t keep, const char *spare,
			      size_t *n_out);
void index_write_json(const struct mirror_index *ix, struct strbuf *out);
void index_write_html(const struct mirror_index *ix, struct strbuf *out);

#endif
