/* tests/unit/test_sbom.c: the SBOM: dpkg status parsing (installed packages
 * only, hostile stanzas skipped), busybox's version string, and the SPDX
 * document from an image root (deterministic, confined to the root). */
#include "builder/recipe.h"
#include "publish/dpkg_status.h"
#include "publish/sbom.h"
#include "tests/unit/test.h"
#include "util/io.h"
#include "util/json.h"
#include "util/strbuf.h"

#include <stdlib.h>
#include <unistd.h>

static const char STATUS[] = "Package: zlib1g\n"
			     "Status: install ok installed\n"
			     "Architecture: amd64\n"
			     "Source: zlib\n"
			     "Version: 1:1.2.13.dfsg-1\n"
			     "Description: compression library\n"
			     " continuation: Package: fake\n"
			     "\n"
			     "Package: removed-pkg\n"
			     "Status: deinstall ok config-files\n"
			     "Version: 1.0\n"
			     "\n"
			     "Package: Bad Name\n"
			     "Status: install ok installed\n"
			     "Version: 1\n"
			     "\n"
			     "Package: libstdc++6\n"
			     "Status: install ok installed\n"
			     "Architecture: amd64\n"
			     "Source: gcc-12 (12.2.0-14)\n"
			     "Version: 12.2.0-14\n"
			     "\n"
			     "Package: base-files\n"
			     "Status: install ok installed\n"
			     "Architecture: amd64\n"
			     "Version: 12.4+deb12u5";

static void test_dpkg_status(void)
{
	struct dpkg_packages p;
	dpkg_status_parse(STATUS, sizeof STATUS - 1, &p);
	CHECK(p.n == 3);
	CHECK(p.skipped == 1);
	if (p.n == 3) {
		CHECK_STR(p.v[0].name, "base-files"); /* sorted; the last stanza has no blank line after it */
		CHECK_STR(p.v[1].name, "libstdc++6");
		CHECK_STR(p.v[1].source, "gcc-12");
		CHECK_STR(p.v[2].name, "zlib1g");
		CHECK_STR(p.v[2].version, "1:1.2.13.dfsg-1");
		CHECK_STR(p.v[2].source, "zlib");
	}
	dpkg_packages_free(&p);
	dpkg_status_parse("", 0, &p);
	CHECK(p.n == 0 && p.skipped == 0);
	dpkg_packages_free(&p);
}

static void test_busybox_version(void)
{
	char *up, *deb;
	const char bin[] = "\x7f" "ELF junk BusyBox vX BusyBox v1.35.0 (Debian 1:1.35.0-4+b3) multi-call binary";
	CHECK(busybox_version(bin, sizeof bin - 1, &up, &deb) == 0);
	CHECK_STR(up, "1.35.0");
	CHECK_STR(deb, "1:1.35.0-4+b3");
	free(up);
	free(deb);
	const char plain[] = "BusyBox v1.36.1";
	CHECK(busybox_version(plain, sizeof plain - 1, &up, &deb) == 0 && !deb);
	CHECK_STR(up, "1.36.1");
	free(up);
	CHECK(busybox_version("BusyBox v", 9, &up, &deb) < 0);
	CHECK(busybox_version("nothing here", 12, &up, &deb) < 0);
}

static struct recipe *recipe(const char *name)
{
	char *yaml = xasprintf("apkg: 1\nname: %s\nversion: 2.0\nepoch: 1700000000\nbase: {distro: debian, suite: bookworm}\n",
			       name);
	struct recipe *r = recipe_load_buffer("test.yaml", yaml, strlen(yaml));
	free(yaml);
	CHECK(r != NULL);
	return r;
}

static char *make_root(const char *status)
{
	char *root = xstrdup("/tmp/apkg-sbom-test.XXXXXX");
	CHECK(mkdtemp(root) != NULL);
	char *dir = path_join(root, "var/lib/dpkg"), *file = path_join(dir, "status");
	CHECK(mkdir_p(dir, 0755) == 0);
	CHECK(write_file_atomic(file, status, strlen(status), 0644) == 0);
	free(dir);
	free(file);
	return root;
}

static void test_spdx_document(void)
{
	struct recipe *r = recipe("web");
	char *root = make_root(STATUS);
	struct sbom_kernel k = {"linux-image-6.1.0-28-amd64", "6.1.119-1", "6.1.0-28-amd64"};
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
	CHECK(r && sbom_spdx_json(root, r, &k, &a) == 0);
	CHECK(r && sbom_spdx_json(root, r, &k, &b) == 0);
	CHECK_STR(a.buf, b.buf); /* deterministic */
	struct json_value *doc = json_parse(a.buf, a.len, NULL);
	CHECK(doc != NULL);
	CHECK_STR(json_get_str(doc, "spdxVersion"), "SPDX-2.3");
	CHECK_STR(json_get_str(json_get_object(doc, "creationInfo"), "created"), "2023-11-14T22:13:20Z");
	const struct json_value *pkgs = json_get_array(doc, "packages");
	CHECK(pkgs && pkgs->n == 5); /* appliance, 3 dpkg packages, the kernel */
	int found_zlib = 0;
	for (size_t i = 0; pkgs && i < pkgs->n; i++) {
		const char *id = json_get_str(pkgs->items[i], "SPDXID");
		CHECK(id && strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") == strlen(id));
		CHECK(json_get_str(pkgs->items[i], "downloadLocation") != NULL);
		if (!strcmp(json_get_str(pkgs->items[i], "name"), "zlib1g")) {
			found_zlib = 1;
			const struct json_value *refs = json_get_array(pkgs->items[i], "externalRefs");
			CHECK(refs && refs->n == 1);
			CHECK_STR(json_get_str(refs->items[0], "referenceLocator"),
				  "pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1?arch=amd64&distro=bookworm");
		}
	}
	CHECK(found_zlib);
	const struct json_value *rel = json_get_array(doc, "relationships");
	CHECK(rel && rel->n == 5); /* DESCRIBES + 4 CONTAINS */
	/* other contents, other namespace */
	char *root2 = make_root("Package: only\nStatus: install ok installed\nVersion: 1\n");
	struct strbuf c = STRBUF_INIT;
	CHECK(r && sbom_spdx_json(root2, r, &k, &c) == 0);
	struct json_value *doc2 = json_parse(c.buf, c.len, NULL);
	CHECK(doc2 && strcmp(json_get_str(doc, "documentNamespace"), json_get_str(doc2, "documentNamespace")));
	json_free(doc);
	json_free(doc2);
	rm_rf(root);
	rm_rf(root2);
	free(root);
	free(root2);
	strbuf_release(&a);
	strbuf_release(&b);
	strbuf_release(&c);
	recipe_free(r);
}

/* /var pointing out of the image must not make the SBOM read the host's files. */
static void test_confined_to_root(void)
{
	struct recipe *r = recipe("escape");
	char *outside = make_root("Package: host-secret\nStatus: install ok installed\nVersion: 1\n");
	char *root = xstrdup("/tmp/apkg-sbom-test.XXXXXX");
	CHECK(mkdtemp(root) != NULL);
	char *var = path_join(root, "var"), *target = path_join(outside, "var");
	CHECK(symlink(target, var) == 0);
	struct strbuf out = STRBUF_INIT;
	CHECK(r && sbom_spdx_json(root, r, NULL, &out) == 0);
	CHECK(!strstr(out.buf, "host-secret"));
	rm_rf(root);
	rm_rf(outside);
	free(root);
	free(outside);
	free(var);
	free(target);
	strbuf_release(&out);
	recipe_free(r);
}

int main(void)
{
	RUN(test_dpkg_status);
	RUN(test_busybox_version);
	RUN(test_spdx_document);
	RUN(test_confined_to_root);
	TEST_MAIN_END();
}
