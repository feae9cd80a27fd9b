/* publish/release.c: read and check an output directory for publishing;
 * the validation gate. See release.h. */
#include "publish/release.h"

#include "publish/names.h"
#include "util/diag.h"
#include "util/io.h"
#include "util/json.h"
#include "util/sha256.h"
#include "validate/targets.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MANIFEST_MAX (16u << 20)

const char *validation_state_name(enum validation_state s)
{
	return s == VALIDATION_PASSED ? "passed" : s == VALIDATION_FAILED ? "failed" : "unvalidated";
}

void judgement_release(struct judgement *j)
{
	strbuf_release(&j->why);
	strbuf_release(&j->results);
}

static void add_result(struct judgement *j, const char *target, const char *status, const char *reason)
{
	strbuf_adds(&j->results, j->results.len > 1 ? ",{\"target\":" : "{\"target\":");
	json_add_str(&j->results, target, strlen(target));
	strbuf_adds(&j->results, ",\"status\":");
	json_add_str(&j->results, status, strlen(status));
	if (reason) {
		strbuf_adds(&j->results, ",\"reason\":");
		json_add_str(&j->results, reason, strlen(reason));
	}
	strbuf_addc(&j->results, '}');
}

/* Adds "<verb> on <target>[: reason]" to the list of reasons of one kind. */
static void note(struct strbuf *sb, const char *verb, const char *target, const char *reason)
{
	strbuf_addf(sb, "%s%s on %s", sb->len ? "; " : "", verb, target);
	if (reason && *reason)
		strbuf_addf(sb, ": %s", reason);
}

struct tally {
	size_t pass, fail, skip;
	struct strbuf passed, failed, skipped;
};

static void judge_entry(const struct json_value *e, size_t index, const char *file, struct tally *t,
			struct judgement *j)
{
	const char *artifact = json_get_str(e, "artifact");
	const char *status = json_get_str(e, "status");
	const char *target = json_get_str(e, "target");
	const char *reason = json_get_str(e, "reason");
	if (!target)
		target = "(no target)";
	if (e->type != JSON_OBJECT || !status) {
		char *what = xasprintf("validation entry %zu", index + 1);
		note(&t->failed, "malformed", what, NULL);
		free(what);
		t->fail++;
		return;
	}
	int mine = artifact && !strcmp(artifact, file);
	int appliance_wide = !artifact || !*artifact;
	if (!mine && !appliance_wide)
		return;
	int pass = !strcmp(status, "pass"), skip = !strcmp(status, "skip"), fail = !strcmp(status, "fail");
	if (!mine && (pass || skip))
		return; /* a pass or skip that names no artifact says nothing about this file */
	if (pass) {
		t->pass++;
		note(&t->passed, "passed", target, NULL);
	} else if (skip) {
		t->skip++;
		note(&t->skipped, "skipped", target, reason);
	} else {
		t->fail++;
		note(&t->failed, fail ? (mine ? "failed" : "failed before booting") : "unknown status", target,
		     fail ? reason : status);
	}
	add_result(j, target, status, reason);
}

void validation_judge(const struct json_value *validation, const char *file, struct judgement *j)
{
	struct tally t = {0, 0, 0, STRBUF_INIT, STRBUF_INIT, STRBUF_INIT};
	strbuf_init(&j->why);
	strbuf_init(&j->results);
	strbuf_addc(&j->results, '[');
	if (validation && validation->type == JSON_ARRAY) {
		for (size_t i = 0; i < validation->n; i++)
			judge_entry(validation->items[i], i, file, &t, j);
	}
	strbuf_addc(&j->results, ']');
	if (t.fail) {
		j->state = VALIDATION_FAILED;
		strbuf_add(&j->why, t.failed.buf, t.failed.len);
	} else if (t.pass) {
		j->state = VALIDATION_PASSED;
		strbuf_add(&j->why, t.passed.buf, t.passed.len);
	} else {
		j->state = VALIDATION_UNVALIDATED;
		if (!validation)
			strbuf_adds(&j->why, "never boot-tested (run 'apkg test')");
		else if (validation->type != JSON_ARRAY)
			strbuf_adds(&j->why, "manifest.json's \"validation\" is not a list");
		else if (t.skip)
			strbuf_addf(&j->why, "no boot passed (%s)", t.skipped.buf);
		else
			strbuf_adds(&j->why, "no target booted this file (choose targets that boot its format)");
	}
	strbuf_release(&t.passed);
	strbuf_release(&t.failed);
	strbuf_release(&t.skipped);
}

static int hex64_ok(const char *s)
{
	if (!s || strlen(s) != 64)
		return 0;
	for (int i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static const char *optional_str(const struct json_value *v, const char *key)
{
	const char *s = json_get_str(v, key);
	return s && *s ? s : NULL;
}

static int load_manifest(struct release *rel, const char *path)
{
	struct strbuf text = STRBUF_INIT;
	struct json_error err;
	if (read_file(path, &text, MANIFEST_MAX) < 0) {
		strbuf_release(&text);
		return -1;
	}
	rel->manifest = json_parse(text.buf, text.len, &err);
	strbuf_release(&text);
	if (!rel->manifest)
		return error("%s: line %d, column %d: %s", path, err.line, err.col, err.message);
	const struct json_value *m = rel->manifest;
	if (m->type != JSON_OBJECT || !json_get(m, "apkg_manifest"))
		return error("%s is not an apkg manifest (no \"apkg_manifest\")", path);
	rel->name = json_get_str(m, "name");
	rel->version = json_get_str(m, "version");
	if (!rel->name || !appliance_name_ok(rel->name))
		return error("%s: \"name\" is missing or not an appliance name ([a-z0-9-], at most 63)", path);
	if (!rel->version || !version_ok(rel->version))
		return error("%s: \"version\" is missing or not a version (letters, digits and . + ~ _ -)", path);
	rel->description = json_get_str(m, "description");
	if (!rel->description)
		rel->description = "";
	rel->recipe_hash = optional_str(m, "recipe_hash");
	rel->base = optional_str(m, "base");
	rel->kernel_release = optional_str(json_get_object(m, "kernel"), "release");
	return 0;
}

static int load_artifacts(struct release *rel, const char *path)
{
	const struct json_value *list = json_get_array(rel->manifest, "artifacts");
	if (!list || !list->n)
		return error("%s lists no artifacts", path);
	rel->artifacts = xcalloc(list->n, sizeof *rel->artifacts);
	const struct json_value *validation = json_get(rel->manifest, "validation");
	for (size_t i = 0; i < list->n; i++) {
		const struct json_value *a = list->items[i];
		const char *file = json_get_str(a, "file"), *format = json_get_str(a, "format");
		const char *hex = json_get_str(a, "sha256");
		struct release_artifact *ra = &rel->artifacts[rel->n_artifacts];
		if (!file || !mirror_file_name_ok(file) || !format || !hex64_ok(hex) || json_get_u64(a, "size", &ra->size) < 0)
			return error("%s: artifact %zu needs a plain \"file\" name, \"format\", \"size\" and a lowercase "
				     "\"sha256\"",
				     path, i + 1);
		for (size_t k = 0; k < rel->n_artifacts; k++)
			if (!strcmp(rel->artifacts[k].file, file))
				return error("%s: artifact %s is listed twice", path, file);
		ra->file = xstrdup(file);
		ra->format = xstrdup(format);
		memcpy(ra->sha256, hex, 65);
		validation_judge(validation, file, &ra->judged);
		rel->n_artifacts++;
	}
	return 0;
}

static int is_reserved(const char *name)
{
	return !strcmp(name, "SHA256SUMS") || !strcmp(name, "SHA256SUMS.asc") || !strcmp(name, "manifest.json");
}

/* Hashes outdir/name (a regular file) into f. */
static int hash_file(const char *outdir, const char *name, struct release_file *f)
{
	struct stat st;
	f->name = xstrdup(name);
	f->path = path_join(outdir, name);
	if (stat(f->path, &st) < 0)
		return error_errno("cannot publish %s", f->path);
	if (!S_ISREG(st.st_mode))
		return error("cannot publish %s: not a regular file", f->path);
	f->size = (uint64_t)st.st_size;
	return sha256_file_hex(f->path, f->sha256) < 0 ? error("cannot read %s", f->path) : 0;
}

static struct release_file *add_file(struct release *rel)
{
	rel->files = xrealloc(rel->files, (rel->n_files + 1) * sizeof *rel->files);
	struct release_file *f = &rel->files[rel->n_files++];
	memset(f, 0, sizeof *f);
	return f;
}

/* Every file the build's SHA256SUMS lists, hashed again. */
static int load_built_files(struct release *rel, struct sums *built)
{
	char *path = path_join(rel->outdir, "SHA256SUMS");
	struct strbuf text = STRBUF_INIT;
	char why[160];
	int ret = read_file(path, &text, SUMS_MAX_BYTES);
	if (ret == 0 && sums_parse(text.buf, text.len, built, why) < 0)
		ret = error("%s: %s", path, why);
	for (size_t i = 0; ret == 0 && i < built->n; i++) {
		const struct sums_entry *e = &built->v[i];
		if (is_reserved(e->file)) {
			ret = error("%s lists %s, which publishing writes itself", path, e->file);
			break;
		}
		struct release_file *f = add_file(rel);
		if (hash_file(rel->outdir, e->file, f) < 0)
			ret = -1;
		else if (strcmp(f->sha256, e->sha256))
			ret = error("%s changed since it was built: its sha256 is %.16s..., SHA256SUMS says %.16s...",
				    f->path, f->sha256, e->sha256);
	}
	free(path);
	strbuf_release(&text);
	return ret;
}

static int check_artifacts_built(const struct release *rel, const struct sums *built)
{
	for (size_t i = 0; i < rel->n_artifacts; i++) {
		const struct release_artifact *a = &rel->artifacts[i];
		const struct sums_entry *e = sums_find(built, a->file);
		if (!e)
			return error("%s is in manifest.json but not in %s/SHA256SUMS", a->file, rel->outdir);
		if (strcmp(e->sha256, a->sha256))
			return error("%s: manifest.json and SHA256SUMS disagree on its sha256", a->file);
		for (size_t k = 0; k < rel->n_files; k++)
			if (!strcmp(rel->files[k].name, a->file) && rel->files[k].size != a->size)
				return error("%s: manifest.json says %llu bytes, the file has %llu", a->file,
					     (unsigned long long)a->size, (unsigned long long)rel->files[k].size);
	}
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct release_file *)a)->name, ((const struct release_file *)b)->name);
}

/* manifest.json and the SBOM join the built files; then the mirror's SHA256SUMS. */
static int add_metadata_files(struct release *rel, const struct sums *built)
{
	rel->sbom = xasprintf("%s-%s.spdx.json", rel->name, rel->version);
	if (hash_file(rel->outdir, "manifest.json", add_file(rel)) < 0)
		return -1;
	if (!sums_find(built, rel->sbom)) {
		char *sbom_path = path_join(rel->outdir, rel->sbom);
		int present = path_exists(sbom_path);
		free(sbom_path);
		if (!present)
			return error("%s has no SBOM (%s): it is written by 'apkg build'; rebuild with this apkg", rel->outdir,
				     rel->sbom);
		if (hash_file(rel->outdir, rel->sbom, add_file(rel)) < 0)
			return -1;
	}
	qsort(rel->files, rel->n_files, sizeof *rel->files, by_name);
	for (size_t i = 0; i < rel->n_files; i++)
		if (sums_add(&rel->sums, rel->files[i].name, rel->files[i].sha256) < 0)
			return error("%s cannot be published under that name", rel->files[i].name);
	sums_format(&rel->sums, &rel->sums_text);
	return 0;
}

int release_load(const char *outdir, struct release *rel)
{
	memset(rel, 0, sizeof *rel);
	strbuf_init(&rel->sums_text);
	rel->outdir = xstrdup(outdir);
	char *manifest = path_join(outdir, "manifest.json");
	struct sums built = {0};
	int ret = -1;
	if (!is_dir(outdir))
		error("%s is not a directory (give the output directory of 'apkg build')", outdir);
	else if (load_manifest(rel, manifest) == 0 && load_artifacts(rel, manifest) == 0 &&
		 load_built_files(rel, &built) == 0 && check_artifacts_built(rel, &built) == 0 &&
		 add_metadata_files(rel, &built) == 0)
		ret = 0;
	sums_free(&built);
	free(manifest);
	return ret;
}

int release_validated(const struct release *rel)
{
	for (size_t i = 0; i < rel->n_artifacts; i++)
		if (rel->artifacts[i].judged.state != VALIDATION_PASSED)
			return 0;
	return 1;
}

static const struct release_artifact *find_format(const struct release *rel, const char *format)
{
	for (size_t i = 0; i < rel->n_artifacts; i++)
		if (!strcmp(rel->artifacts[i].format, format))
			return &rel->artifacts[i];
	return NULL;
}

/* Targets that would boot `a` (their first format this release has is a's),
 * as "hyperv, vmware" in sb. */
static void targets_booting(const struct release *rel, const struct release_artifact *a, struct strbuf *sb)
{
	for (size_t i = 0; i < target_count(); i++) {
		const struct target *t = target_at(i);
		const struct release_artifact *booted = NULL;
		for (size_t k = 0; k < sizeof t->formats / sizeof t->formats[0] && t->formats[k] && !booted; k++)
			booted = find_format(rel, t->formats[k]);
		if (!t->skip && booted == a)
			strbuf_addf(sb, "%s%s", sb->len ? "," : "", t->name);
	}
}

/* How to validate the unvalidated artifacts: `apkg test` records one run,
 * so the hint names the recipe's targets plus one that boots each. */
static void hint_targets(const struct release *rel)
{
	struct strbuf add = STRBUF_INIT, all = STRBUF_INIT;
	for (size_t i = 0; i < rel->n_artifacts; i++) {
		const struct release_artifact *a = &rel->artifacts[i];
		struct strbuf t = STRBUF_INIT;
		if (a->judged.state == VALIDATION_UNVALIDATED)
			targets_booting(rel, a, &t);
		if (t.len) {
			info("%s is booted by the targets %s", a->file, t.buf);
			strbuf_addf(&add, "%s%.*s", add.len ? "," : "", (int)strcspn(t.buf, ","), t.buf);
		}
		strbuf_release(&t);
	}
	const struct json_value *targets = json_get_array(rel->manifest, "targets");
	for (size_t i = 0; targets && i < targets->n; i++)
		if (targets->items[i]->type == JSON_STRING)
			strbuf_addf(&all, "%s%s", all.len ? "," : "", targets->items[i]->text);
	if (add.len)
		info("validate them in one run (it replaces earlier results): apkg test %s --target %s%s%s", rel->outdir,
		     all.buf, all.len ? "," : "", add.buf);
	strbuf_release(&add);
	strbuf_release(&all);
}

int release_gate(const struct release *rel, int allow_unvalidated)
{
	int refused = 0;
	for (size_t i = 0; i < rel->n_artifacts; i++) {
		const struct release_artifact *a = &rel->artifacts[i];
		if (a->judged.state == VALIDATION_PASSED)
			continue;
		const char *state = validation_state_name(a->judged.state);
		if (allow_unvalidated) {
			warning("publishing %s although it is %s (--allow-unvalidated): %s", a->file, state, a->judged.why.buf);
		} else {
			error("refusing to publish %s: it is %s: %s", a->file, state, a->judged.why.buf);
			refused = 1;
		}
	}
	if (refused) {
		hint_targets(rel);
		info("only boot-validated artifacts are published; --allow-unvalidated publishes anyway and marks "
		     "them in the index");
	}
	return refused ? -1 : 0;
}

void release_free(struct release *rel)
{
	for (size_t i = 0; i < rel->n_artifacts; i++) {
		free(rel->artifacts[i].file);
		free(rel->artifacts[i].format);
		judgement_release(&rel->artifacts[i].judged);
	}
	for (size_t i = 0; i < rel->n_files; i++) {
		free(rel->files[i].name);
		free(rel->files[i].path);
	}
	free(rel->artifacts);
	free(rel->files);
	free(rel->sbom);
	free(rel->outdir);
	json_free(rel->manifest);
	sums_free(&rel->sums);
	strbuf_release(&rel->sums_text);
	memset(rel, 0, sizeof *rel);
}
