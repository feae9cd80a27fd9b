/* tests/unit/test_stage_key.c: every input of a stage changes its key, and nothing else does.
 *
 * Recipes are written to a temporary directory and loaded with the real
 * parser; one field at a time is changed from a reference recipe and both
 * keys are compared with the reference's.
 */
#include "builder/recipe.h"
#include "builder/stage_key.h"
#include "util/io.h"
#include "util/strbuf.h"

#include "test.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

static const char reference[] = "apkg: 1\n"
				"name: keyed\n"
				"version: 1.0.0\n"
				"description: reference\n"
				"base: {tarball: base.tar}\n"
				"kernel: {package: linux-image-amd64}\n"
				"hostname: keyed\n"
				"files:\n"
				"  - {path: /etc/motd, content: \"hi\\n\"}\n"
				"  - {path: /srv/site/, source: site/}\n"
				"users: [{name: ops, uid: 1001}]\n"
				"services: {enable: [nginx]}\n"
				"run: [\"true\"]\n"
				"outputs: [qcow2]\n"
				"checks: [{tcp: 80}]\n";

struct keys {
	char base[65], custom[65];
};

static int keys_of(const char *text, struct keys *k)
{
	char *path = xasprintf("%s/recipe.yaml", dir);
	int rc = -1;
	if (write_file_atomic(path, text, strlen(text), 0644) == 0) {
		struct recipe *r = recipe_load(path);
		char *why = NULL;
		if (r && stage_key_base(r, k->base, &why) == 1 && stage_key_customize(r, k->base, k->custom) == 0)
			rc = 0;
		free(why);
		recipe_free(r);
	}
	free(path);
	return rc;
}

/* The reference with `from` replaced by `to`. */
static char *variant(const char *from, const char *to)
{
	const char *at = strstr(reference, from);
	if (!at)
		abort();
	return xasprintf("%.*s%s%s", (int)(at - reference), reference, to, at + strlen(from));
}

static void put(const char *rel, const char *content)
{
	char *p = xasprintf("%s/%s", dir, rel);
	CHECK(write_file_atomic(p, content, strlen(content), 0644) == 0);
	free(p);
}

static void expect(const char *from, const char *to, int base_changes, int custom_changes)
{
	struct keys ref, k;
	char *text = variant(from, to);
	CHECK(keys_of(reference, &ref) == 0);
	CHECK(keys_of(text, &k) == 0);
	if ((strcmp(ref.base, k.base) != 0) != base_changes || (strcmp(ref.custom, k.custom) != 0) != custom_changes)
		fprintf(stderr, "  %s -> %s: base %s, customize %s\n", from, to, strcmp(ref.base, k.base) ? "changed" : "same",
			strcmp(ref.custom, k.custom) ? "changed" : "same");
	CHECK((strcmp(ref.base, k.base) != 0) == base_changes);
	CHECK((strcmp(ref.custom, k.custom) != 0) == custom_changes);
	free(text);
}

static void test_recipe_fields(void)
{
	/* Inputs of the base change both keys (customize builds on the base). */
	expect("version: 1.0.0\n", "version: 1.0.0\nepoch: 1600000000\n", 1, 1);
	expect("linux-image-amd64", "linux-image-cloud-amd64", 1, 1);
	/* Inputs of customize change only its key. */
	expect("content: \"hi\\n\"", "content: \"hello\\n\"", 0, 1);
	expect("hostname: keyed", "hostname: other", 0, 1);
	expect("uid: 1001", "uid: 1002", 0, 1);
	expect("enable: [nginx]", "enable: [ssh]", 0, 1);
	expect("run: [\"true\"]", "run: [\"true\", \"true\"]", 0, 1);
	expect("outputs: [qcow2]", "outputs: [qcow2]\nnetwork: {dhcp: false}", 1, 1);
	/* What does not shape the tree changes neither. */
	expect("outputs: [qcow2]", "outputs: [raw, vmdk]", 0, 0);
	expect("checks: [{tcp: 80}]", "checks: [{tcp: 22}]", 0, 0);
	expect("description: reference", "description: changed", 0, 0);
	expect("outputs: [qcow2]", "outputs: [qcow2]\nhardware: {cpus: 2}\ndisk: {size: 2G}", 0, 0);
}

static void test_source_contents(void)
{
	struct keys a, b;
	put("site/index.html", "<h1>one</h1>\n");
	CHECK(keys_of(reference, &a) == 0);
	put("site/index.html", "<h1>two</h1>\n");
	CHECK(keys_of(reference, &b) == 0);
	CHECK_STR(a.base, b.base);
	CHECK(strcmp(a.custom, b.custom) != 0);
	put("base.tar", "another tarball");
	CHECK(keys_of(reference, &a) == 0);
	CHECK(strcmp(a.base, b.base) != 0);
	CHECK(strcmp(a.custom, b.custom) != 0);
	put("base.tar", "a tarball");
	CHECK(keys_of(reference, &a) == 0);
	CHECK_STR(a.base, b.base); /* the same bytes again: the same key */
}

static void test_build_id(void)
{
	const char *id = apkg_build_id();
	CHECK(id && strchr(id, '+') && strlen(strchr(id, '+') + 1) == 16);
	CHECK(!strncmp(id, APKG_VERSION "+", strlen(APKG_VERSION) + 1));
}

int main(void)
{
	strcpy(dir, "/tmp/apkg-test-keys.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	char *site = xasprintf("%s/site", dir);
	mkdir_p(site, 0755);
	free(site);
	put("site/index.html", "<h1>two</h1>\n");
	put("base.tar", "a tarball");
	unsetenv("SOURCE_DATE_EPOCH");
	RUN(test_recipe_fields);
	RUN(test_source_contents);
	RUN(test_build_id);
	rm_rf(dir);
	TEST_MAIN_END();
}
