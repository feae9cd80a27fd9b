/* validate/manifest.c: reads manifest.json for apkg test and splices the
 * validation results back into it. See manifest.h. */
#include "validate/manifest.h"

#include "util/diag.h"
#include "util/io.h"
#include "util/json.h"
#include "util/strbuf.h"

#include <stdlib.h>
#include <string.h>

#define MANIFEST_MAX_SIZE (16u << 20)

static int load_json(const char *path, struct strbuf *text, struct json_value **out)
{
	if (read_file(path, text, MANIFEST_MAX_SIZE) < 0)
		return -1;
	struct json_error err;
	*out = json_parse(text->buf, text->len, &err);
	if (!*out)
		return error("%s:%d:%d: %s", path, err.line, err.col, err.message);
	if ((*out)->type != JSON_OBJECT) {
		json_free(*out);
		return error("%s: not a JSON object", path);
	}
	return 0;
}

static int plain_file_name(const char *s)
{
	return s[0] && strcmp(s, ".") && strcmp(s, "..") && !strchr(s, '/');
}

static int load_artifacts(const char *path, struct manifest *m)
{
	const struct json_value *arts = json_get_array(m->root, "artifacts");
	if (!arts)
		return error("%s: no \"artifacts\" array", path);
	m->artifacts = xcalloc(arts->n ? arts->n : 1, sizeof *m->artifacts);
	for (size_t i = 0; i < arts->n; i++) {
		const struct json_value *a = arts->items[i];
		struct manifest_artifact *ma = &m->artifacts[m->n_artifacts];
		ma->file = json_get_str(a, "file");
		ma->format = json_get_str(a, "format");
		ma->sha256 = json_get_str(a, "sha256");
		if (!ma->file || !ma->format || !plain_file_name(ma->file))
			return error("%s: artifact %zu needs a plain \"file\" name and a \"format\"", path, i + 1);
		json_get_u64(a, "size", &ma->size);
		m->n_artifacts++;
	}
	return 0;
}

/* Reads an array of strings; non-strings are an error. */
static int load_strings(const char *path, const struct json_value *arr, const char *what, const char ***out,
			size_t *n)
{
	*n = 0;
	if (!arr)
		return 0;
	*out = xcalloc(arr->n ? arr->n : 1, sizeof **out);
	for (size_t i = 0; i < arr->n; i++) {
		if (arr->items[i]->type != JSON_STRING)
			return error("%s: \"%s\" must be a list of strings", path, what);
		(*out)[(*n)++] = arr->items[i]->text;
	}
	return 0;
}

static void load_hardware(struct manifest *m)
{
	const struct json_value *hw = json_get_object(m->root, "hardware");
	uint64_t u;
	m->cpus = json_get_u64(hw, "cpus", &u) == 0 && u >= 1 && u <= 64 ? (int)u : 1;
	m->memory = json_get_u64(hw, "memory", &u) == 0 && u >= (64u << 20) ? u : (512u << 20);
	m->nic = json_get_str(hw, "nic") ? json_get_str(hw, "nic") : "e1000";
	m->boot = json_get_str(json_get_object(m->root, "disk"), "boot");
	if (!m->boot)
		m->boot = "hybrid";
	m->check_deadline_s = json_get_u64(m->root, "check_deadline", &u) == 0 && u >= 1 && u <= 86400 ? (int)u : 120;
}

int manifest_load(const char *path, struct manifest *m)
{
	memset(m, 0, sizeof *m);
	struct strbuf text = STRBUF_INIT;
	int r = load_json(path, &text, &m->root);
	strbuf_release(&text);
	if (r < 0)
		return -1;
	m->name = json_get_str(m->root, "name");
	m->version = json_get_str(m->root, "version");
	m->recipe = json_get_str(m->root, "recipe");
	if (!m->name || !m->version) {
		error("%s: \"name\" and \"version\" are required", path);
		goto fail;
	}
	load_hardware(m);
	const struct json_value *kernel = json_get_object(m->root, "kernel");
	m->kernel_package = json_get_str(kernel, "package") ? json_get_str(kernel, "package") : "linux-image-amd64";
	m->drivers = json_get_object(kernel, "drivers");
	if (load_artifacts(path, m) < 0 ||
	    load_strings(path, json_get_array(m->root, "targets"), "targets", &m->targets, &m->n_targets) < 0 ||
	    load_strings(path, json_get_array(m->root, "checks"), "checks", &m->checks, &m->n_checks) < 0)
		goto fail;
	/* "checks" lists the names, or (older manifests) just counts them */
	uint64_t count;
	m->checks_count = json_get_array(m->root, "checks") ? (long)m->n_checks
			  : json_get_u64(m->root, "checks", &count) == 0 && count <= 100000 ? (long)count : -1;
	return 0;
fail:
	manifest_free(m);
	return -1;
}

void manifest_free(struct manifest *m)
{
	json_free(m->root);
	free(m->artifacts);
	free(m->targets);
	free(m->checks);
	memset(m, 0, sizeof *m);
}

const char *manifest_driver_state(const struct manifest *m, const char *driver)
{
	return json_get_str(m->drivers, driver);
}

int manifest_set_validation(const char *path, const char *validation)
{
	struct strbuf text = STRBUF_INIT, out = STRBUF_INIT;
	struct json_value *root = NULL;
	struct json_value *check = json_parse(validation, strlen(validation), NULL);
	int ret = -1;
	if (!check) {
		error("internal: the validation results are not valid JSON");
		goto out;
	}
	if (load_json(path, &text, &root) < 0)
		goto out;
	const struct json_value *old = json_get(root, "validation");
	if (old) { /* splice: everything else stays byte for byte */
		strbuf_add(&out, text.buf, old->start);
		strbuf_adds(&out, validation);
		strbuf_add(&out, text.buf + old->end, text.len - old->end);
	} else { /* insert before the closing brace of the top-level object */
		size_t close = root->end - 1;
		size_t body_end = close;
		while (body_end > root->start + 1 && strchr(" \t\r\n", text.buf[body_end - 1]))
			body_end--;
		strbuf_add(&out, text.buf, body_end);
		strbuf_addf(&out, "%s\n  \"validation\": %s\n", root->n ? "," : "", validation);
		strbuf_add(&out, text.buf + close, text.len - close);
	}
	ret = write_file_atomic(path, out.buf, out.len, 0644);
out:
	json_free(check);
	json_free(root);
	strbuf_release(&text);
	strbuf_release(&out);
	return ret;
}
