/* publish/verify.c: check a published version. See verify.h. */
#include "publish/verify.h"

#include "publish/fetch.h"
#include "publish/names.h"
#include "publish/sign.h"
#include "publish/sums.h"
#include "util/diag.h"
#include "util/io.h"
#include "util/json.h"
#include "util/run.h"
#include "util/strbuf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MANIFEST_MAX (16u << 20)

/* s becomes the version directory that parent/LATEST names. */
static int follow_latest(struct source *s)
{
	struct strbuf text = STRBUF_INIT;
	int missing, ret = fetch_small(s, "LATEST", &text, 256, &missing);
	while (text.len && (text.buf[text.len - 1] == '\n' || text.buf[text.len - 1] == '\r'))
		text.buf[--text.len] = 0;
	if (ret == 0 && missing)
		ret = error("%s/LATEST does not exist: is this an apkg mirror?", s->base);
	else if (ret == 0 && !version_ok(text.buf))
		ret = error("%s/LATEST does not name a version", s->base);
	if (ret == 0) {
		struct source child;
		source_child(s, text.buf, &child);
		info("latest is %s", text.buf);
		source_release(s);
		*s = child;
	}
	strbuf_release(&text);
	return ret;
}

static int write_temp(const char *dir, const char *name, const struct strbuf *sb, char **path)
{
	*path = path_join(dir, name);
	return write_file_atomic(*path, sb->buf, sb->len, 0600);
}

static int check_signature(const struct source *s, const struct strbuf *sums, const char *keyring, char fpr[FPR_MAX])
{
	struct strbuf sig = STRBUF_INIT;
	int missing, ret = fetch_small(s, "SHA256SUMS.asc", &sig, 1u << 20, &missing);
	if (ret == 0 && missing)
		ret = error("SHA256SUMS.asc: missing: this version is not signed");
	char dir[] = "/tmp/apkg-verify.XXXXXX";
	if (ret == 0 && !mkdtemp(dir))
		ret = error_errno("cannot create a temporary directory");
	if (ret == 0) {
		char *sums_path = NULL, *sig_path = NULL;
		cleanup_register(dir);
		ret = write_temp(dir, "SHA256SUMS", sums, &sums_path) == 0 && write_temp(dir, "SHA256SUMS.asc", &sig, &sig_path) == 0
			      ? verify_detached(keyring, sig_path, sums_path, fpr)
			      : -1;
		rm_rf(dir);
		cleanup_unregister(dir);
		free(sums_path);
		free(sig_path);
	}
	strbuf_release(&sig);
	return ret;
}

/* "NAME: OK" like sha256sum -c; returns 1 when the file is good. */
static int check_file(const struct source *s, const struct sums_entry *e)
{
	char hex[65];
	uint64_t size;
	if (fetch_hash(s, e->file, hex, &size) < 0) {
		printf("%s: FAILED (cannot read it)\n", e->file);
		return 0;
	}
	if (strcmp(hex, e->sha256)) {
		printf("%s: FAILED\n", e->file);
		error("%s: sha256 mismatch: SHA256SUMS says %s, the file has %s", e->file, e->sha256, hex);
		return 0;
	}
	printf("%s: OK\n", e->file);
	return 1;
}

/* Every artifact manifest.json lists must be covered by SHA256SUMS. */
static int check_manifest_covered(const struct source *s, const struct sums *sums)
{
	struct strbuf text = STRBUF_INIT;
	int missing, ret = fetch_small(s, "manifest.json", &text, MANIFEST_MAX, &missing);
	struct json_value *m = ret == 0 && !missing ? json_parse(text.buf, text.len, NULL) : NULL;
	const struct json_value *arts = json_get_array(m, "artifacts");
	if (ret == 0 && !arts)
		ret = error("manifest.json: no artifact list");
	for (size_t i = 0; ret == 0 && i < arts->n; i++) {
		const char *file = json_get_str(arts->items[i], "file"), *hex = json_get_str(arts->items[i], "sha256");
		const struct sums_entry *e = file ? sums_find(sums, file) : NULL;
		if (!e)
			ret = error("manifest.json lists %s, which SHA256SUMS does not cover", file ? file : "an artifact");
		else if (!hex || strcmp(hex, e->sha256))
			ret = error("%s: manifest.json and SHA256SUMS disagree on its sha256", file);
	}
	json_free(m);
	strbuf_release(&text);
	return ret;
}

static int verify_version(const struct source *s, const struct verify_opts *o)
{
	struct strbuf text = STRBUF_INIT;
	struct sums sums = {0};
	char why[160], fpr[FPR_MAX] = "";
	int missing, ret = fetch_small(s, "SHA256SUMS", &text, SUMS_MAX_BYTES, &missing);
	if (ret == 0 && missing)
		ret = error("no SHA256SUMS at %s: give a version directory (.../NAME/VERSION) or .../NAME/latest", s->base);
	if (ret == 0 && sums_parse(text.buf, text.len, &sums, why) < 0)
		ret = error("SHA256SUMS: %s", why);
	if (ret == 0 && !sums.n)
		ret = error("SHA256SUMS lists no files");
	if (ret == 0 && o->keyring && check_signature(s, &text, o->keyring, fpr) < 0)
		ret = -1;
	size_t good = 0;
	for (size_t i = 0; ret == 0 && i < sums.n; i++)
		good += check_file(s, &sums.v[i]);
	if (ret == 0 && good == sums.n && sums_find(&sums, "manifest.json"))
		ret = check_manifest_covered(s, &sums);
	if (ret == 0 && good != sums.n)
		ret = error("%zu of %zu files failed verification", sums.n - good, sums.n);
	if (ret == 0)
		printf("verified %s: %zu files%s%s\n", s->base, sums.n, fpr[0] ? ", signature good, key " : ", signature not checked (no --keyring)", fpr);
	sums_free(&sums);
	strbuf_release(&text);
	return ret;
}

int verify_release(const struct verify_opts *o)
{
	struct source s;
	if (source_init(&s, o->where) < 0)
		return EXIT_USAGE;
	const char *missing = s.is_url && !tool_exists("curl") ? "curl" : o->keyring && !tool_exists("gpgv") ? "gpgv" : NULL;
	if (missing) {
		source_release(&s);
		error("required tool '%s' not found (install the Debian package '%s', or run 'make deps')", missing, missing);
		return EXIT_MISSING_TOOL;
	}
	int ret = source_strip_latest(&s) ? follow_latest(&s) : 0;
	if (ret == 0)
		ret = verify_version(&s, o);
	source_release(&s);
	return ret == 0 ? EXIT_OK : EXIT_FAILED;
}
