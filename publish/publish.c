/* publish/publish.c: the publish protocol. See publish.h. */
#include "publish/publish.h"

#include "publish/index.h"
#include "publish/release.h"
#include "publish/sign.h"
#include "publish/sums.h"
#include "util/diag.h"
#include "util/io.h"
#include "util/json.h"
#include "util/run.h"
#include "util/sha256.h"
#include "util/strbuf.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

struct job {
	const struct publish_opts *o;
	struct release rel;
	struct mirror *m;
	struct mirror_file *files;   /* what NAME/VERSION holds */
	size_t n_files;
	char *sums_path, *sig_path;  /* local SHA256SUMS and its signature */
	char sums_hex[65], sig_hex[65];
	char fpr[FPR_MAX];
	char *vdir, *staging;        /* "NAME/VERSION", ".tmp-VERSION" */
	int already;                 /* already on the mirror with the same content */
	struct mirror_index ix;
	const char **pruned;
	size_t n_pruned;
	const char *latest;
};

static void add_mirror_file(struct job *j, const char *name, const char *path)
{
	j->files = xrealloc(j->files, (j->n_files + 1) * sizeof *j->files);
	j->files[j->n_files++] = (struct mirror_file){name, path};
}

/* The mirror's SHA256SUMS (and signature) in scratch, and the file list. */
static int prepare_files(struct job *j)
{
	char *dir = mirror_scratch_dir(j->m, "release");
	if (!dir)
		return -1;
	j->sums_path = path_join(dir, "SHA256SUMS");
	int ret = write_file_atomic(j->sums_path, j->rel.sums_text.buf, j->rel.sums_text.len, 0644);
	sha256_buf_hex(j->rel.sums_text.buf, j->rel.sums_text.len, j->sums_hex);
	for (size_t i = 0; i < j->rel.n_files; i++)
		add_mirror_file(j, j->rel.files[i].name, j->rel.files[i].path);
	add_mirror_file(j, "SHA256SUMS", j->sums_path);
	if (ret == 0 && j->o->sign_key) {
		j->sig_path = path_join(dir, "SHA256SUMS.asc");
		ret = sign_detached(j->o->sign_key, j->sums_path, j->sig_path, j->fpr);
		if (ret == 0)
			ret = sha256_file_hex(j->sig_path, j->sig_hex);
		add_mirror_file(j, "SHA256SUMS.asc", j->sig_path);
	}
	free(dir);
	return ret;
}

static int read_index(struct job *j)
{
	struct strbuf text = STRBUF_INIT;
	int missing;
	char why[200];
	int ret = j->m->ops->read(j->m, "index.json", &text, INDEX_MAX_BYTES, &missing);
	if (ret == 0 && index_parse(missing ? "" : text.buf, missing ? 0 : text.len, &j->ix, why) < 0)
		ret = error("the mirror's index.json cannot be read (%s); apkg will not replace a catalogue it cannot "
			    "read: repair or remove it",
			    why);
	strbuf_release(&text);
	return ret;
}

static int has_name(char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return 1;
	return 0;
}

/* Names the files whose sha256 differs between the mirror's SHA256SUMS and ours. */
static void explain_difference(const struct job *j, const struct strbuf *theirs)
{
	struct sums old;
	char why[160];
	if (sums_parse(theirs->buf, theirs->len, &old, why) < 0) {
		error("%s/SHA256SUMS on the mirror is unreadable: %s", j->vdir, why);
		return;
	}
	for (size_t i = 0; i < j->rel.sums.n; i++) {
		const struct sums_entry *mine = &j->rel.sums.v[i], *e = sums_find(&old, mine->file);
		if (!e)
			error("%s is new in this build", mine->file);
		else if (strcmp(e->sha256, mine->sha256))
			error("%s differs from the published one", mine->file);
	}
	for (size_t i = 0; i < old.n; i++)
		if (!sums_find(&j->rel.sums, old.v[i].file))
			error("%s is published but not in this build", old.v[i].file);
	sums_free(&old);
}

/* Step 3 of the protocol; names: what NAME/ holds. Returns 0 to go on, -1 to stop. */
static int check_existing(struct job *j, char *const *names, size_t n)
{
	int missing;
	if (!has_name(names, n, j->rel.version))
		return 0;
	struct strbuf theirs = STRBUF_INIT;
	char *path = xasprintf("%s/SHA256SUMS", j->vdir);
	int ret = j->m->ops->read(j->m, path, &theirs, SUMS_MAX_BYTES, &missing);
	if (ret == 0 && missing) {
		info("removing an unfinished publish of %s (it has no SHA256SUMS)", j->vdir);
		ret = j->m->ops->remove(j->m, j->rel.name, j->rel.version);
	} else if (ret == 0 && theirs.len == j->rel.sums_text.len && !memcmp(theirs.buf, j->rel.sums_text.buf, theirs.len)) {
		j->already = 1;
		info("%s is already on the mirror with the same content", j->vdir);
	} else if (ret == 0) {
		error("refusing to publish %s %s: the mirror already has this version with different content "
		      "(published versions never change: give the new build a new version)",
		      j->rel.name, j->rel.version);
		explain_difference(j, &theirs);
		ret = -1;
	}
	strbuf_release(&theirs);
	free(path);
	return ret;
}

static int remove_leftover_staging(struct job *j, char *const *names, size_t n)
{
	int ret = 0;
	for (size_t i = 0; ret == 0 && i < n; i++)
		if (!strncmp(names[i], ".tmp-", 5))
			ret = j->m->ops->remove(j->m, j->rel.name, names[i]);
	return ret;
}

static const char *expected_hash(const struct job *j, const char *name)
{
	if (!strcmp(name, "SHA256SUMS"))
		return j->sums_hex;
	if (!strcmp(name, "SHA256SUMS.asc"))
		return j->sig_path ? j->sig_hex : NULL;
	const struct sums_entry *e = sums_find(&j->rel.sums, name);
	return e ? e->sha256 : NULL;
}

/* The read-back copy must hold exactly our files, each with its sha256. */
static int verify_readback(const struct job *j, const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return error_errno("cannot read back %s", dir);
	size_t seen = 0;
	int ret = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		const char *want = expected_hash(j, de->d_name);
		char *path = path_join(dir, de->d_name), hex[65];
		struct stat st;
		if (!want)
			ret = error("the upload holds %s, which was not sent", de->d_name);
		else if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode) || sha256_file_hex(path, hex) < 0)
			ret = error("%s did not arrive as a regular file", de->d_name);
		else if (strcmp(hex, want))
			ret = error("%s on the mirror has sha256 %.16s..., expected %.16s...: the upload is corrupt",
				    de->d_name, hex, want);
		else
			seen++;
		free(path);
	}
	closedir(d);
	if (ret == 0 && seen != j->n_files)
		ret = error("only %zu of %zu files arrived on the mirror", seen, j->n_files);
	return ret;
}

/* Step 4 of the protocol; names: what NAME/ holds. */
static int upload(struct job *j, char *const *names, size_t n)
{
	char *staged = xasprintf("%s/%s", j->rel.name, j->staging), *local = NULL;
	int ret = remove_leftover_staging(j, names, n);
	if (ret == 0)
		ret = j->m->ops->stage(j->m, staged, j->files, j->n_files);
	if (ret == 0)
		publish_pause_point("staged");
	if (ret == 0)
		ret = j->m->ops->readback(j->m, staged, &local);
	if (ret == 0)
		ret = verify_readback(j, local);
	if (ret == 0)
		publish_pause_point("verified");
	if (ret == 0)
		ret = j->m->ops->promote(j->m, j->rel.name, j->staging, j->rel.version, j->files, j->n_files);
	if (ret < 0) {
		error("%s %s was not published", j->rel.name, j->rel.version);
		j->m->ops->remove(j->m, j->rel.name, j->staging); /* best effort: the next publish would too */
	}
	free(staged);
	free(local);
	return ret;
}

static void key_str(struct strbuf *sb, const char *key, const char *val)
{
	strbuf_addf(sb, ",\"%s\":", key);
	json_add_str(sb, val, strlen(val));
}

static void artifacts_json(const struct release *rel, struct strbuf *sb)
{
	strbuf_adds(sb, ",\"artifacts\":[");
	for (size_t i = 0; i < rel->n_artifacts; i++) {
		const struct release_artifact *a = &rel->artifacts[i];
		strbuf_adds(sb, i ? ",{\"file\":" : "{\"file\":");
		json_add_str(sb, a->file, strlen(a->file));
		key_str(sb, "format", a->format);
		strbuf_addf(sb, ",\"size\":%llu", (unsigned long long)a->size);
		key_str(sb, "sha256", a->sha256);
		key_str(sb, "validation", validation_state_name(a->judged.state));
		strbuf_addf(sb, ",\"results\":%s}", a->judged.results.buf);
	}
	strbuf_addc(sb, ']');
}

static void files_json(const struct job *j, struct strbuf *sb)
{
	strbuf_adds(sb, ",\"files\":[");
	for (size_t i = 0; i < j->rel.n_files; i++) {
		const struct release_file *f = &j->rel.files[i];
		strbuf_adds(sb, i ? ",{\"file\":" : "{\"file\":");
		json_add_str(sb, f->name, strlen(f->name));
		strbuf_addf(sb, ",\"size\":%llu", (unsigned long long)f->size);
		key_str(sb, "sha256", f->sha256);
		strbuf_addc(sb, '}');
	}
	strbuf_addc(sb, ']');
}

/* The index entry of the version being published. */
static char *entry_json(const struct job *j)
{
	const struct release *rel = &j->rel;
	struct strbuf sb = STRBUF_INIT;
	char published[32];
	time_t now = time(NULL);
	strftime(published, sizeof published, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	strbuf_adds(&sb, "{\"version\":");
	json_add_str(&sb, rel->version, strlen(rel->version));
	strbuf_addf(&sb, ",\"path\":\"%s/\"", j->vdir);
	key_str(&sb, "published", published);
	key_str(&sb, "description", rel->description);
	if (rel->recipe_hash)
		key_str(&sb, "recipe_hash", rel->recipe_hash);
	if (rel->base)
		key_str(&sb, "base", rel->base);
	if (rel->kernel_release)
		key_str(&sb, "kernel_release", rel->kernel_release);
	strbuf_addf(&sb, ",\"validated\":%s", release_validated(rel) ? "true" : "false");
	strbuf_addf(&sb, ",\"signed\":%s", j->sig_path ? "true" : "false");
	if (j->sig_path)
		key_str(&sb, "signing_key", j->fpr);
	key_str(&sb, "sbom", rel->sbom);
	key_str(&sb, "sha256sums", j->sums_hex);
	artifacts_json(rel, &sb);
	files_json(j, &sb);
	strbuf_addc(&sb, '}');
	return strbuf_detach(&sb);
}

static int put_text(struct job *j, const char *rel, const struct strbuf *sb, const char *pause_after)
{
	int ret = j->m->ops->put(j->m, rel, sb->buf, sb->len);
	if (ret == 0)
		publish_pause_point(pause_after);
	return ret;
}

/* Step 5, and the index half of step 6. */
static int update_index(struct job *j)
{
	const char *name = j->rel.name;
	if (!j->already || !index_find(&j->ix, name, j->rel.version)) {
		char *entry = entry_json(j);
		int ok = index_put(&j->ix, name, j->rel.version, entry) == 0;
		free(entry);
		if (!ok)
			return error("internal: the index entry does not parse");
	}
	if (j->o->keep)
		j->pruned = index_prune_list(&j->ix, name, j->o->keep, j->rel.version, &j->n_pruned);
	for (size_t i = 0; i < j->n_pruned; i++)
		index_remove(&j->ix, name, j->pruned[i]);
	j->latest = index_latest(&j->ix, name);
	struct strbuf sb = STRBUF_INIT;
	index_write_json(&j->ix, &sb);
	int ret = put_text(j, "index.json", &sb, "indexed");
	strbuf_reset(&sb);
	index_write_html(&j->ix, &sb);
	if (ret == 0)
		ret = put_text(j, "index.html", &sb, "html");
	strbuf_reset(&sb);
	strbuf_addf(&sb, "%s\n", j->latest);
	char *latest_file = xasprintf("%s/LATEST", name), *latest_link = xasprintf("%s/latest", name);
	if (ret == 0)
		ret = put_text(j, latest_file, &sb, "latest");
	if (ret == 0)
		ret = j->m->ops->symlink(j->m, latest_link, j->latest);
	free(latest_file);
	free(latest_link);
	strbuf_release(&sb);
	return ret;
}

static int prune(struct job *j)
{
	int ret = 0;
	for (size_t i = 0; i < j->n_pruned; i++) {
		info("pruning %s %s (--keep %u)", j->rel.name, j->pruned[i], j->o->keep);
		if (j->m->ops->remove(j->m, j->rel.name, j->pruned[i]) < 0)
			ret = -1;
	}
	return ret;
}

static void print_summary(const struct job *j)
{
	const struct release *rel = &j->rel;
	if (!j->o->json) {
		printf("%s %s %s %s (%s/): %zu files%s%s; LATEST is %s\n", j->already ? "already published" : "published",
		       rel->name, rel->version, j->o->dest, j->vdir, j->n_files, j->sig_path ? ", signed by " : "",
		       j->sig_path ? j->fpr : "", j->latest);
		return;
	}
	struct strbuf sb = STRBUF_INIT;
	strbuf_adds(&sb, "{\"name\":");
	json_add_str(&sb, rel->name, strlen(rel->name));
	key_str(&sb, "version", rel->version);
	key_str(&sb, "mirror", j->o->dest);
	strbuf_addf(&sb, ",\"path\":\"%s/\",\"already_published\":%s,\"validated\":%s,\"signed\":%s", j->vdir,
		    j->already ? "true" : "false", release_validated(rel) ? "true" : "false", j->sig_path ? "true" : "false");
	if (j->sig_path)
		key_str(&sb, "signing_key", j->fpr);
	key_str(&sb, "latest", j->latest);
	strbuf_adds(&sb, ",\"files\":[");
	for (size_t i = 0; i < j->n_files; i++) {
		strbuf_adds(&sb, i ? "," : "");
		json_add_str(&sb, j->files[i].name, strlen(j->files[i].name));
	}
	strbuf_adds(&sb, "],\"pruned\":[");
	for (size_t i = 0; i < j->n_pruned; i++) {
		strbuf_adds(&sb, i ? "," : "");
		json_add_str(&sb, j->pruned[i], strlen(j->pruned[i]));
	}
	strbuf_adds(&sb, "]}\n");
	fputs(sb.buf, stdout);
	strbuf_release(&sb);
}

static int locked_publish(struct job *j)
{
	char **names = NULL;
	size_t n = 0;
	publish_pause_point("locked");
	int ok = read_index(j) == 0 && j->m->ops->list(j->m, j->rel.name, &names, &n) == 0 &&
		 check_existing(j, names, n) == 0 && (j->already || upload(j, names, n) == 0);
	mirror_free_names(names, n);
	if (!ok)
		return EXIT_FAILED;
	if (j->already && j->sig_path)
		info("the published copy keeps the signature it was published with");
	publish_pause_point("renamed");
	if (update_index(j) < 0 || prune(j) < 0)
		return EXIT_FAILED;
	print_summary(j);
	return EXIT_OK;
}

static int missing_tools(const struct publish_opts *o)
{
	if (mirror_is_rsync(o->dest) && !tool_exists("rsync"))
		return error("required tool 'rsync' not found (install the Debian package 'rsync', or run 'make deps')");
	if (o->sign_key && !tool_exists("gpg"))
		return error("required tool 'gpg' not found (install the Debian package 'gnupg', or run 'make deps')");
	return 0;
}

int publish_release(const struct publish_opts *o)
{
	if (missing_tools(o) < 0)
		return EXIT_MISSING_TOOL;
	struct job j = {.o = o};
	int code = EXIT_FAILED;
	if (release_load(o->outdir, &j.rel) < 0 || release_gate(&j.rel, o->allow_unvalidated) < 0) {
		release_free(&j.rel);
		return EXIT_FAILED;
	}
	j.vdir = xasprintf("%s/%s", j.rel.name, j.rel.version);
	j.staging = xasprintf(".tmp-%s", j.rel.version);
	j.m = mirror_open(o->dest, &o->mirror);
	if (j.m && prepare_files(&j) == 0 && j.m->ops->lock(j.m) == 0)
		code = locked_publish(&j);
	mirror_close(j.m); /* unlocks */
	index_free(&j.ix);
	free(j.pruned);
	free(j.files);
	free(j.sums_path);
	free(j.sig_path);
	free(j.vdir);
	free(j.staging);
	release_free(&j.rel);
	return code;
}
