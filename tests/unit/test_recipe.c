/* tests/unit/test_recipe.c: the recipe reader's parts: sizes, hints, extends,
 * aliases, positions, the canonical JSON and the hash's sensitivity to sources.
 * The whole-language behaviour (every message) is in tests/integration/recipe_corpus.sh.
 */
#include "builder/recipe.h"
#include "builder/recipe_internal.h"
#include "tests/unit/test.h"
#include "util/io.h"
#include "util/strbuf.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEAD "apkg: 1\nname: t\nversion: 1.0.0\n"

static char scratch[] = "/tmp/apkg-test-recipe-XXXXXX";

static void put(const char *rel, const char *text)
{
	char *p = path_join(scratch, rel);
	char *dir = xstrdup(p);
	*strrchr(dir, '/') = 0;
	mkdir_p(dir, 0755);
	CHECK(write_file_atomic(p, text, strlen(text), 0644) == 0);
	free(dir);
	free(p);
}

static struct recipe *load_file(const char *rel, struct strbuf *diags)
{
	char *p = path_join(scratch, rel);
	struct recipe *r = recipe_load_diag(p, NULL, 0, diags);
	free(p);
	return r;
}

static struct recipe *load_text(const char *text, struct strbuf *diags)
{
	return recipe_load_diag("/nonexistent-apkg-test/recipe.yaml", text, strlen(text), diags);
}

static void test_parse_size(void)
{
	uint64_t v = 0;
	CHECK(parse_size("512M", &v) == 0 && v == 512ull << 20);
	CHECK(parse_size("2G", &v) == 0 && v == 2ull << 30);
	CHECK(parse_size("2g", &v) == 0 && v == 2ull << 30);
	CHECK(parse_size("1KiB", &v) == 0 && v == 1024);
	CHECK(parse_size("3T", &v) == 0 && v == 3ull << 40);
	CHECK(parse_size("1048576", &v) == 0 && v == 1048576);
	CHECK(parse_size("0", &v) == 0 && v == 0);
	CHECK(parse_size("18446744073709551615", &v) == 0 && v == UINT64_MAX);
	CHECK(parse_size("18446744073709551616", &v) < 0);
	CHECK(parse_size("16777216T", &v) < 0);
	CHECK(parse_size("", &v) < 0);
	CHECK(parse_size("G", &v) < 0);
	CHECK(parse_size("1.5G", &v) < 0);
	CHECK(parse_size("-1", &v) < 0);
	CHECK(parse_size("1GB", &v) < 0);
	CHECK(parse_size("1 G", &v) < 0);
	CHECK(parse_size("auto", &v) < 0);
	CHECK(parse_size(NULL, &v) < 0);
}

static void test_hints(void)
{
	static const char *const keys[] = {"apkg", "name", "version", "packages", "files", "users", "content", NULL};
	CHECK_STR(closest_word("pakages", keys), "packages");
	CHECK_STR(closest_word("pakcages", keys), "packages"); /* a swap is one edit */
	CHECK_STR(closest_word("contnt", keys), "content");
	CHECK_STR(closest_word("Name", keys), "name");
	CHECK_STR(closest_word("user", keys), "users");
	CHECK(closest_word("xyz", keys) == NULL);
	CHECK(closest_word("hardware", keys) == NULL);
	CHECK(closest_word("a", keys) == NULL);

	struct strbuf d = STRBUF_INIT;
	CHECK(load_text(HEAD "base: {distro: busybox}\npakages: [x]\n", &d) == NULL);
	CHECK_STR(d.buf, "/nonexistent-apkg-test/recipe.yaml:5:1: unknown key \"pakages\" (did you mean \"packages\"?)\n");
	strbuf_release(&d);
}

static void test_every_error_reported(void)
{
	struct strbuf d = STRBUF_INIT;
	CHECK(load_text("apkg: 3\nname: Bad\nbase: {distro: busybox, suite: x}\noutputs: [qcow]\n", &d) == NULL);
	CHECK(strstr(d.buf, ":1:7: apkg: unsupported recipe version 3") != NULL);
	CHECK(strstr(d.buf, ":2:7: name: \"Bad\" is not a valid name") != NULL);
	CHECK(strstr(d.buf, ":1:1: missing required key \"version\"") != NULL);
	CHECK(strstr(d.buf, ":3:32: base.suite: only for distro debian") != NULL);
	CHECK(strstr(d.buf, ":4:11: outputs[0]: unknown output \"qcow\" (did you mean \"qcow2\"?)") != NULL);
	/* sorted by position */
	CHECK(strstr(d.buf, ":1:1:") < strstr(d.buf, ":1:7:"));
	CHECK(strstr(d.buf, ":2:7:") < strstr(d.buf, ":4:11:"));
	strbuf_release(&d);
}

static void test_defaults_and_positions(void)
{
	struct strbuf d = STRBUF_INIT;
	struct recipe *r = load_text(HEAD "base:\n  distro: debian\nfiles:\n  - path: /etc/motd\n    content: hi\n"
					   "users:\n  - name: admin\nchecks:\n  - http: {url: \"http://127.0.0.1/\"}\n",
				     &d);
	CHECK(r != NULL);
	if (!r)
		return;
	CHECK_STR(d.buf, "");
	CHECK(r->base.kind == BASE_DEBIAN);
	CHECK_STR(r->base.suite, "bookworm");
	CHECK_STR(r->base.variant, "minbase");
	CHECK(r->base.mirror == NULL);
	CHECK_STR(r->kernel.package, "linux-image-amd64");
	CHECK_STR(r->hostname, "t");
	CHECK(r->network_dhcp == 1);
	CHECK(r->disk.size == 0 && r->disk.boot == BOOT_HYBRID);
	CHECK_STR(r->disk.filesystem, "ext4");
	CHECK(r->hardware.cpus == 1 && r->hardware.memory == 512ull << 20);
	CHECK_STR(r->hardware.nic, "e1000");
	CHECK(r->outputs.n == 1 && !strcmp(r->outputs.items[0], "qcow2"));
	CHECK(r->targets.n == 2 && !strcmp(r->targets.items[0], "vmm") && !strcmp(r->targets.items[1], "qemu-uefi"));
	CHECK(r->targets.pos[0].line == 0); /* a default has no position */
	CHECK(r->check_deadline_s == 120);
	CHECK(r->epoch == 1700000000 || getenv("SOURCE_DATE_EPOCH"));
	CHECK(r->n_files == 1 && r->files[0].mode == 0644 && !r->files[0].mode_set);
	CHECK_STR(r->files[0].owner, "root:root");
	CHECK(r->files[0].content_len == 2);
	CHECK(r->files[0].pos.line == 7 && r->files[0].pos.col == 5);
	CHECK_STR(r->files[0].pos.file, "/nonexistent-apkg-test/recipe.yaml");
	CHECK(r->n_users == 1 && r->users[0].uid == -1);
	CHECK_STR(r->users[0].shell, "/bin/sh");
	CHECK_STR(r->users[0].password, "!");
	CHECK_STR(r->users[0].home, "/home/admin");
	CHECK(r->n_checks == 1 && r->checks[0].kind == CHECK_HTTP && r->checks[0].status == 200);
	CHECK(r->checks[0].timeout_s == 5 && r->checks[0].contains == NULL);
	recipe_free(r);
	strbuf_release(&d);
}

static void test_aliases(void)
{
	struct strbuf d = STRBUF_INIT;
	struct recipe *r = load_text(HEAD "base: {distro: busybox}\n"
					   "x-defaults: &u {shell: /bin/ash, groups: [wheel]}\n"
					   "users:\n  - {<<: *u, name: a}\n  - {<<: *u, name: b, shell: /bin/sh}\n"
					   "run: &cmds [\"echo one\"]\nx-more: *cmds\n",
				     &d);
	CHECK(r != NULL);
	if (r) {
		CHECK_STR(r->users[0].shell, "/bin/ash");
		CHECK_STR(r->users[1].shell, "/bin/sh");
		CHECK(r->users[1].groups.n == 1 && !strcmp(r->users[1].groups.items[0], "wheel"));
		recipe_free(r);
	}
	strbuf_reset(&d);

	/* Billion laughs: the expansion is bounded, not performed. */
	struct strbuf bomb = STRBUF_INIT;
	strbuf_adds(&bomb, HEAD "base: {distro: busybox}\nx0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
	for (int i = 1; i < 10; i++)
		strbuf_addf(&bomb, "x%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i, i - 1,
			    i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
	CHECK(load_text(bomb.buf, &d) == NULL);
	CHECK(strstr(d.buf, "recipe too large") != NULL);
	strbuf_release(&bomb);
	strbuf_reset(&d);

	CHECK(load_text(HEAD "base: {distro: busybox}\nrun: &r [a, *r]\n", &d) == NULL);
	CHECK(strstr(d.buf, ":5:13: alias \"*r\" is used inside its own anchor") != NULL);
	strbuf_reset(&d);
	CHECK(load_text(HEAD "base: {distro: busybox}\nrun: *nothing\n", &d) == NULL);
	CHECK(strstr(d.buf, "unknown alias \"*nothing\"") != NULL);
	strbuf_release(&d);
}

static void test_extends(void)
{
	struct strbuf d = STRBUF_INIT;
	put("parent.yaml", "apkg: 1\nname: parent\nversion: 1.0.0\nbase: {distro: debian, suite: bookworm}\n"
			   "packages: [curl]\nhardware: {cpus: 2, memory: 1G}\nfiles:\n  - {path: /a, content: a}\n");
	put("sub/child.yaml", "extends: ../parent.yaml\nname: child\nbase: {variant: essential}\n"
			      "packages: [nginx-light]\nhardware: {memory: 2G}\nfiles:\n  - {path: /b, content: b}\n");
	struct recipe *r = load_file("sub/child.yaml", &d);
	CHECK(r != NULL);
	CHECK_STR(d.buf, "");
	if (r) {
		CHECK_STR(r->name, "child");
		CHECK_STR(r->version, "1.0.0");
		CHECK_STR(r->base.suite, "bookworm");      /* from the parent's map */
		CHECK_STR(r->base.variant, "essential");   /* added by the child */
		CHECK(r->hardware.cpus == 2);              /* the parent's */
		CHECK(r->hardware.memory == 2ull << 30);   /* the child wins */
		CHECK(r->packages.n == 2 && !strcmp(r->packages.items[0], "curl") &&
		      !strcmp(r->packages.items[1], "nginx-light")); /* lists append */
		CHECK(r->n_files == 2 && !strcmp(r->files[0].path, "/a") && !strcmp(r->files[1].path, "/b"));
		CHECK(r->files[0].pos.file && strstr(r->files[0].pos.file, "sub/../parent.yaml"));
		CHECK(r->files[1].pos.file && strstr(r->files[1].pos.file, "sub/child.yaml"));
		recipe_free(r);
	}
	strbuf_reset(&d);

	put("a.yaml", "extends: b.yaml\n" HEAD "base: {distro: busybox}\n");
	put("b.yaml", "extends: a.yaml\n");
	CHECK(load_file("a.yaml", &d) == NULL);
	CHECK(strstr(d.buf, "b.yaml:1:10: extends: cycle: ") != NULL);
	strbuf_reset(&d);
	put("self.yaml", "extends: self.yaml\n" HEAD "base: {distro: busybox}\n");
	CHECK(load_file("self.yaml", &d) == NULL);
	CHECK(strstr(d.buf, "self.yaml:1:10: extends: cycle: ") != NULL);
	strbuf_release(&d);
}

static char *hash_of(const char *rel)
{
	struct strbuf d = STRBUF_INIT;
	struct recipe *r = load_file(rel, &d);
	CHECK(r != NULL);
	if (!r)
		fprintf(stderr, "%s", d.buf);
	char *h = xstrdup(r ? r->hash : "");
	recipe_free(r);
	strbuf_release(&d);
	return h;
}

static void test_hash_follows_sources(void)
{
	put("h/recipe.yaml", HEAD "base: {distro: busybox}\nfiles:\n  - {path: /srv, source: site/}\n");
	put("h/site/index.html", "hello\n");
	put("h/site/sub/a.txt", "a\n");
	char *h1 = hash_of("h/recipe.yaml"), *again = hash_of("h/recipe.yaml");
	CHECK(strlen(h1) == 64);
	CHECK_STR(again, h1); /* stable */
	put("h/site/index.html", "hello!\n");
	char *h2 = hash_of("h/recipe.yaml");
	CHECK(strcmp(h1, h2) != 0); /* a changed byte in a source file changes the hash */
	put("h/site/index.html", "hello\n");
	char *h3 = hash_of("h/recipe.yaml");
	CHECK_STR(h3, h1); /* contents, not timestamps */
	put("h/site/sub/b.txt", "");
	char *h4 = hash_of("h/recipe.yaml");
	CHECK(strcmp(h1, h4) != 0); /* a new (even empty) file changes it */
	char *p = path_join(scratch, "h/site/sub/b.txt");
	unlink(p);
	free(p);
	p = path_join(scratch, "h/site/sub/a.txt");
	chmod(p, 0600);
	char *h5 = hash_of("h/recipe.yaml");
	CHECK(strcmp(h1, h5) != 0); /* so does a mode */
	chmod(p, 0644);
	free(p);
	/* The same recipe elsewhere has the same hash: no absolute paths in it. */
	put("elsewhere/deeper/recipe.yaml", HEAD "base: {distro: busybox}\nfiles:\n  - {path: /srv, source: site/}\n");
	put("elsewhere/deeper/site/index.html", "hello\n");
	put("elsewhere/deeper/site/sub/a.txt", "a\n");
	char *h6 = hash_of("elsewhere/deeper/recipe.yaml");
	CHECK_STR(h6, h1);
	char *all[] = {h1, again, h2, h3, h4, h5, h6};
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		free(all[i]);
}

static void test_json(void)
{
	struct strbuf d = STRBUF_INIT, j = STRBUF_INIT, j2 = STRBUF_INIT;
	struct recipe *r = load_text(HEAD "base: {distro: busybox}\nfiles:\n  - {path: /x, content: \"a\\0b\\u2028\"}\n",
				     &d);
	CHECK(r != NULL);
	if (!r)
		return;
	recipe_to_json(r, &j);
	CHECK(!strncmp(j.buf, "{\n  \"apkg\": 1,\n  \"name\": \"t\",\n", 30));
	CHECK(strstr(j.buf, "\"content\": \"a\\u0000b\\u2028\"") != NULL);
	CHECK(strstr(j.buf, "  \"outputs\": [\n    \"qcow2\"\n  ],\n") != NULL);
	CHECK(strstr(j.buf, "  \"packages\": [],\n") != NULL);
	CHECK(j.buf[j.len - 1] == '\n');
	struct recipe *r2 = load_text(j.buf, &d);
	CHECK(r2 != NULL);
	if (r2) {
		recipe_to_json(r2, &j2);
		CHECK_STR(j2.buf, j.buf);
		CHECK_STR(r2->hash, r->hash);
		CHECK(r2->files[0].content_len == 6);
	}
	recipe_free(r2);
	recipe_free(r);
	strbuf_release(&d);
	strbuf_release(&j);
	strbuf_release(&j2);
}

static void check_relative(const char *from, const char *to, const char *want)
{
	char *p = relative_path(from, to);
	CHECK_STR(p, want);
	free(p);
}

static void test_relative_path(void)
{
	check_relative("/a/b", "/a/b/c/d", "c/d");
	check_relative("/a/b", "/a/b", ".");
	check_relative("/a/b", "/a/c", "../c");
	check_relative("/a/bc", "/a/b/x", "../b/x");
	check_relative("/", "/etc/x", "etc/x");
	check_relative("/a/b", "/", "../..");
}

int main(void)
{
	if (!mkdtemp(scratch)) {
		perror("mkdtemp");
		return 1;
	}
	unsetenv("SOURCE_DATE_EPOCH");
	RUN(test_parse_size);
	RUN(test_hints);
	RUN(test_every_error_reported);
	RUN(test_defaults_and_positions);
	RUN(test_aliases);
	RUN(test_extends);
	RUN(test_hash_follows_sources);
	RUN(test_json);
	RUN(test_relative_path);
	rm_rf(scratch);
	TEST_MAIN_END();
}
