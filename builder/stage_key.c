/* builder/stage_key.c: hashing every input of the base and customize stages.
 *
 * The mirror's InRelease is fetched with curl (a few hundred KB, once per
 * build); the file itself is signed, and mmdebstrap verifies it when it
 * bootstraps, so here only its bytes matter: a new package version on the
 * mirror changes them.
 */
#include "builder/stage_key.h"

#include "builder/recipe.h"
#include "builder/rootfs.h"
#include "util/diag.h"
#include "util/io.h"
#include "util/run.h"
#include "util/sha256.h"
#include "util/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef APKG_VERSION
#define APKG_VERSION "0.0.0"
#endif

#define HOST_BUSYBOX "/bin/busybox"
#define RELEASE_MAX_BYTES (64u << 20)

const char *apkg_build_id(void)
{
	static char id[96];
	if (!id[0]) {
		char hex[65];
		if (sha256_file_hex("/proc/self/exe", hex) < 0)
			strcpy(hex, "unknown-executable");
		snprintf(id, sizeof id, "%s+%.16s", APKG_VERSION, hex);
	}
	return id;
}

static void add_field(struct sha256 *s, const char *name, const char *value)
{
	sha256_update(s, name, strlen(name));
	sha256_update(s, "=", 1);
	sha256_update(s, value, strlen(value) + 1);
}

/* "deb URI SUITE COMPONENTS" -> the URL of the suite's InRelease or Release. */
static char *release_url(const char *line, const char *suite, const char *file)
{
	const char *uri = line + 4;
	size_t n = strcspn(uri, " ");
	while (n && uri[n - 1] == '/')
		n--;
	return xasprintf("%.*s/dists/%s/%s", (int)n, uri, suite, file);
}

static int fetch(const char *url, struct strbuf *body)
{
	const char *argv[] = {"curl", "-fsSL", "--max-time", "60", "--", url, NULL};
	struct run_opts o = {.output = body, .timeout_s = 90};
	return run_argv(argv, &o) == 0 ? 0 : -1;
}

/* sha256 of the mirror's InRelease (or Release when there is none). */
static int mirror_release_hash(const char *line, const char *suite, char hex[65], char **why)
{
	static const char *const files[] = {"InRelease", "Release"};
	if (!tool_exists("curl")) {
		*why = xstrdup("curl is not installed (Debian package 'curl'), so the mirror's Release file cannot be read");
		return 0;
	}
	for (size_t i = 0; i < 2; i++) {
		char *url = release_url(line, suite, files[i]);
		struct strbuf body = STRBUF_INIT;
		int ok = fetch(url, &body) == 0 && body.len > 0 && body.len < RELEASE_MAX_BYTES;
		if (ok)
			sha256_buf_hex(body.buf, body.len, hex);
		else if (i == 1)
			*why = xasprintf("cannot fetch %s (nor InRelease): the mirror's state is unknown", url);
		strbuf_release(&body);
		free(url);
		if (ok)
			return 1;
	}
	return 0;
}

static int add_host_inputs(const struct recipe *r, struct sha256 *s, char **why)
{
	char hex[65];
	if (r->base.kind == BASE_BUSYBOX) {
		if (sha256_file_hex(HOST_BUSYBOX, hex) < 0) {
			*why = xasprintf("%s cannot be read", HOST_BUSYBOX);
			return 0;
		}
		add_field(s, "busybox", hex);
	} else if (r->base.kind == BASE_DEBIAN) {
		char *line = debian_mirror_line(r);
		if (!line)
			return -1;
		int rc = mirror_release_hash(line, r->base.suite, hex, why);
		if (rc == 1) {
			add_field(s, "apt-source", line);
			add_field(s, "release", hex);
		}
		free(line);
		return rc;
	} else if (r->base.kind == BASE_OSTREE) {
		add_field(s, "ostree-commit", r->base.ostree_commit);
	}
	return 1;
}

/* Starts a key: the stage, what it builds on, and the recipe's part for it. */
static int key_start(struct sha256 *s, const struct recipe *r, enum recipe_part part, const char *stage,
		     const char *on_name, const char *on_value)
{
	uint8_t digest[32];
	char hex[65];
	if (recipe_part_digest(r, part, digest) < 0)
		return -1;
	sha256_hex(digest, hex);
	sha256_init(s);
	add_field(s, "stage", stage);
	add_field(s, on_name, on_value);
	add_field(s, "recipe", hex);
	return 0;
}

static void key_finish(struct sha256 *s, char key[65])
{
	uint8_t digest[32];
	sha256_final(s, digest);
	sha256_hex(digest, key);
}

int stage_key_base(const struct recipe *r, char key[65], char **why)
{
	struct sha256 s;
	*why = NULL;
	if (key_start(&s, r, RECIPE_PART_BASE, "base", "apkg", apkg_build_id()) < 0)
		return -1;
	int rc = add_host_inputs(r, &s, why);
	if (rc == 1)
		key_finish(&s, key);
	return rc;
}

int stage_key_customize(const struct recipe *r, const char *base_key, char key[65])
{
	struct sha256 s;
	if (key_start(&s, r, RECIPE_PART_CUSTOMIZE, "customize", "base", base_key) < 0)
		return -1;
	key_finish(&s, key);
	return 0;
}
