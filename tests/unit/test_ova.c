/* tests/unit/test_ova.c: digests, the OVF builder, the OVA writer and the linter's rules.
 *
 * SHA-1/SHA-512 and CRC-32C against published vectors; every profile's
 * descriptor parsed back with libxml2, with hostile text escaped; the OVA
 * writer deterministic and lint-clean for its own profile; and OVAs built
 * here in memory with libarchive, one defect each, caught by the named
 * rule (tests/integration/ova_lint.sh does the same with GNU tar).
 */
#include "test.h"

#include "formats_testlib.h"

#include "formats/meta.h"
#include "formats/ova/lint.h"
#include "formats/ova/ovf.h"
#include "util/crc32c.h"
#include "util/digest.h"

#include <archive.h>
#include <archive_entry.h>
#include <libxml/parser.h>

/* ---- digests ---- */

static void hex_of(enum digest_alg alg, const void *data, size_t len, char out[DIGEST_MAX_HEX])
{
	struct digest d;
	digest_init(&d, alg);
	digest_update(&d, data, len);
	digest_final(&d, NULL, out);
}

static void test_digest_vectors(void)
{
	char h[DIGEST_MAX_HEX];
	hex_of(DIGEST_SHA1, "abc", 3, h);
	CHECK_STR(h, "a9993e364706816aba3e25717850c26c9cd0d89d");
	hex_of(DIGEST_SHA1, "", 0, h);
	CHECK_STR(h, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	hex_of(DIGEST_SHA1, two, strlen(two), h);
	CHECK_STR(h, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
	hex_of(DIGEST_SHA512, "abc", 3, h);
	CHECK_STR(h, "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
	hex_of(DIGEST_SHA512, "", 0, h);
	CHECK_STR(h, "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e");
	hex_of(DIGEST_SHA256, "abc", 3, h);
	CHECK_STR(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	/* A million 'a', fed in odd pieces. */
	struct digest d1, d5;
	digest_init(&d1, DIGEST_SHA1);
	digest_init(&d5, DIGEST_SHA512);
	char a[997];
	memset(a, 'a', sizeof a);
	for (size_t left = 1000000; left;) {
		size_t k = left < sizeof a ? left : 1 + rng() % sizeof a;
		digest_update(&d1, a, k);
		digest_update(&d5, a, k);
		left -= k;
	}
	digest_final(&d1, NULL, h);
	CHECK_STR(h, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
	digest_final(&d5, NULL, h);
	CHECK_STR(h, "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973ebde0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b");
	enum digest_alg alg;
	CHECK(digest_from_name("Sha256", &alg) == 0 && alg == DIGEST_SHA256);
	CHECK(digest_from_name("md5", &alg) < 0);
	CHECK(crc32c(0, "123456789", 9) == 0xe3069283u);
}

/* ---- the descriptor ---- */

static int well_formed(const struct strbuf *sb)
{
	xmlDoc *doc = xmlReadMemory(sb->buf, (int)sb->len, "t.ovf", NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	int ok = doc != NULL;
	xmlFreeDoc(doc);
	return ok;
}

static void test_ovf_profiles(void)
{
	struct appliance_meta m = {
		.name = "web", .version = "1.0 <beta> & \"rc\"", .description = "tab\there, nul-ish \x01 control",
		.vendor = "A & B", .eula = "You agree to <nothing>.", .cpus = 4, .memory = (1ull << 30) + 1,
		.nic = "vmxnet3", .firmware = FIRMWARE_EFI, .os = "debian",
	};
	struct ovf_disk d = {.href = "web-disk1.vmdk", .file_size = 1234, .capacity = 1u << 30};
	static const char *const names[] = {"vmware", "virtualbox", "generic"};
	for (int i = 0; i < 3; i++) {
		const struct ova_profile *p = ova_profile_find(names[i]);
		CHECK(p != NULL);
		if (!p)
			continue;
		struct strbuf sb = STRBUF_INIT, again = STRBUF_INIT;
		ovf_build(p, &m, "web", &d, "seed", 1700000000, &sb);
		ovf_build(p, &m, "web", &d, "seed", 1700000000, &again);
		CHECK(well_formed(&sb));
		CHECK(sb.len == again.len && !memcmp(sb.buf, again.buf, sb.len));
		CHECK(strstr(sb.buf, "&lt;beta&gt; &amp; &quot;rc&quot;") != NULL);
		CHECK(strstr(sb.buf, "ovf:size=\"1234\"") && strstr(sb.buf, "ovf:capacity=\"1073741824\""));
		CHECK(strstr(sb.buf, ">1025</rasd:VirtualQuantity>") != NULL); /* MiB, rounded up */
		CHECK(strstr(sb.buf, "<License>You agree to &lt;nothing&gt;.</License>") != NULL);
		if (i == 0) {
			CHECK(strstr(sb.buf, ">VmxNet3<") && strstr(sb.buf, ">vmx-11<") && strstr(sb.buf, "vmw:value=\"efi\""));
			CHECK(strstr(sb.buf, "vmw:osType=\"debian8_64Guest\"") != NULL);
		} else if (i == 1) {
			CHECK(strstr(sb.buf, ">E1000<") && strstr(sb.buf, ">AHCI<") && strstr(sb.buf, "<Firmware type=\"EFI\"/>"));
		} else {
			CHECK(strstr(sb.buf, ">E1000<") && strstr(sb.buf, ">lsilogic<") && !strstr(sb.buf, "VmxNet3"));
		}
		strbuf_release(&sb);
		strbuf_release(&again);
	}
	CHECK(ova_profile_find("esx") == NULL);
	CHECK(ova_profile_find(NULL) == ova_profile_find("generic"));
	int sub;
	CHECK(ovf_nic_subtype(ova_profile_find("virtualbox"), "vmxnet3", &sub) && sub == 1);
	CHECK(ovf_nic_subtype(ova_profile_find("vmware"), "none", &sub) == NULL && sub == 0);
}

/* ---- the writer ---- */

static void lint_path(const char *path, const char *profile, struct lint_report *r)
{
	unsigned products;
	CHECK(lint_profile_products(profile, &products) == 0);
	CHECK(ova_lint_file(path, products, r) == 0);
}

static void test_writer_deterministic_and_clean(void)
{
	struct disk d = random_disk(6u << 20, 100000);
	static const char *const profiles[] = {"vmware", "virtualbox", "generic"};
	mkdir_p(scratch("one"), 0755);
	mkdir_p(scratch("two"), 0755);
	for (int i = 0; i < 3; i++) {
		struct appliance_meta m = {.ova_profile = profiles[i], .name = "app", .firmware = FIRMWARE_BIOS};
		struct image_options o = {.meta = &m, .seed = "recipe", .epoch = 1700000000, .threads = 1};
		const char *a = scratch("one/app.ova"), *b = scratch("two/app.ova");
		CHECK(write_image("ova", &d, a, o) == 0);
		o.threads = 3;
		CHECK(write_image("ova", &d, b, o) == 0);
		CHECK(files_equal(a, b));
		struct lint_report r = {0};
		lint_path(a, profiles[i], &r);
		if (r.errors || r.warnings)
			lint_report_print(&r, stderr, profiles[i], 0);
		CHECK(r.errors == 0 && r.warnings == 0);
		lint_report_release(&r);
	}
	struct appliance_meta bad = {.ova_profile = "esx"};
	CHECK(write_image("ova", &d, scratch("bad.ova"), (struct image_options){.meta = &bad}) < 0);
	bad = (struct appliance_meta){.manifest = "md5"};
	CHECK(write_image("ova", &d, scratch("bad.ova"), (struct image_options){.meta = &bad}) < 0);
	CHECK(access(scratch("bad.ova"), F_OK) != 0);
	disk_free(&d);
}

/* ---- the linter on OVAs built here ---- */

struct member {
	const char *name;
	struct strbuf data;
};

/* A USTAR tar of the members, in order, into out. */
static void make_tar(const struct member *m, int n, struct strbuf *out)
{
	size_t cap = 64;
	for (int i = 0; i < n; i++)
		cap += m[i].data.len + 2048;
	strbuf_reset(out);
	strbuf_grow(out, cap);
	struct archive *a = archive_write_new();
	archive_write_set_format_ustar(a);
	archive_write_set_bytes_in_last_block(a, 1);
	size_t used = 0;
	archive_write_open_memory(a, out->buf, cap, &used);
	for (int i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, m[i].name);
		archive_entry_set_size(e, (la_int64_t)m[i].data.len);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_write_header(a, e);
		archive_write_data(a, m[i].data.buf, m[i].data.len);
		archive_entry_free(e);
	}
	archive_write_close(a);
	archive_write_free(a);
	out->len = used;
}

static int lint_has(const struct strbuf *tar, const char *profile, const char *rule)
{
	unsigned products;
	lint_profile_products(profile, &products);
	struct lint_report r = {0};
	ova_lint_memory(tar->buf, tar->len, products, &r);
	int found = 0;
	for (size_t i = 0; i < r.n; i++)
		found |= r.items[i].severity == LINT_ERROR && !strcmp(r.items[i].rule, rule);
	if (!found)
		lint_report_print(&r, stderr, rule, 1);
	lint_report_release(&r);
	return found;
}

static void manifest_for(struct member *mf, const struct member *ovf, const struct member *disk)
{
	char h[DIGEST_MAX_HEX];
	strbuf_reset(&mf->data);
	hex_of(DIGEST_SHA256, ovf->data.buf, ovf->data.len, h);
	strbuf_addf(&mf->data, "SHA256(%s)= %s\n", ovf->name, h);
	hex_of(DIGEST_SHA256, disk->data.buf, disk->data.len, h);
	strbuf_addf(&mf->data, "SHA256(%s)= %s\n", disk->name, h);
}

static void replace(struct strbuf *sb, const char *from, const char *to)
{
	char *p = strstr(sb->buf, from);
	CHECK(p != NULL);
	if (!p)
		return;
	struct strbuf out = STRBUF_INIT;
	strbuf_add(&out, sb->buf, (size_t)(p - sb->buf));
	strbuf_adds(&out, to);
	strbuf_adds(&out, p + strlen(from));
	strbuf_release(sb);
	*sb = out;
}

static void test_lint_rules(void)
{
	struct disk d = random_disk(2u << 20, 60000);
	struct appliance_meta m = {.ova_profile = "vmware", .name = "t"};
	const char *path = scratch("t.ova");
	CHECK(write_image("ova", &d, path, (struct image_options){.meta = &m, .seed = "x"}) == 0);
	struct strbuf good = STRBUF_INIT, tar = STRBUF_INIT;
	CHECK(load(path, &good) == 0);
	/* Take it apart with libarchive. */
	struct member ovf = {"t.ovf", STRBUF_INIT}, mf = {"t.mf", STRBUF_INIT}, disk = {"t-disk1.vmdk", STRBUF_INIT};
	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	struct archive_entry *e;
	CHECK(archive_read_open_memory(a, good.buf, good.len) == ARCHIVE_OK);
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		struct member *x = !strcmp(archive_entry_pathname(e), "t.ovf") ? &ovf : !strcmp(archive_entry_pathname(e), "t.mf") ? &mf : &disk;
		char buf[65536];
		la_ssize_t n;
		while ((n = archive_read_data(a, buf, sizeof buf)) > 0)
			strbuf_add(&x->data, buf, (size_t)n);
	}
	archive_read_free(a);
	CHECK(ovf.data.len && mf.data.len && disk.data.len);

	struct member order1[] = {ovf, mf, disk};
	make_tar(order1, 3, &tar);
	unsigned products;
	lint_profile_products(NULL, &products);
	struct lint_report r = {0};
	ova_lint_memory(tar.buf, tar.len, products, &r);
	CHECK(r.errors == 0);
	lint_report_release(&r);

	struct member order2[] = {disk, ovf, mf};
	make_tar(order2, 3, &tar);
	CHECK(lint_has(&tar, NULL, "ovf-first"));

	struct member bad_mf = {"t.mf", STRBUF_INIT};
	strbuf_adds(&bad_mf.data, mf.data.buf);
	replace(&bad_mf.data, "SHA256(t.ovf)= ", "SHA256 (t.ovf) = ");
	struct member spaced[] = {ovf, bad_mf, disk};
	make_tar(spaced, 3, &tar);
	CHECK(lint_has(&tar, "vmware", "manifest-syntax"));

	struct member odd_ovf = {"t.ovf", STRBUF_INIT};
	strbuf_adds(&odd_ovf.data, ovf.data.buf);
	replace(&odd_ovf.data, ">lsilogic<", ">pvscsi2<");
	manifest_for(&bad_mf, &odd_ovf, &disk);
	struct member subtype[] = {odd_ovf, bad_mf, disk};
	make_tar(subtype, 3, &tar);
	CHECK(lint_has(&tar, "vmware", "resource-subtype"));

	strbuf_reset(&odd_ovf.data);
	strbuf_adds(&odd_ovf.data, ovf.data.buf);
	replace(&odd_ovf.data, "<rasd:Parent>3</rasd:Parent>", "<rasd:Parent>5</rasd:Parent>");
	manifest_for(&bad_mf, &odd_ovf, &disk);
	struct member parent[] = {odd_ovf, bad_mf, disk};
	make_tar(parent, 3, &tar);
	CHECK(lint_has(&tar, NULL, "references"));

	struct member short_disk = {"t-disk1.vmdk", STRBUF_INIT};
	strbuf_add(&short_disk.data, disk.data.buf, disk.data.len - 512);
	manifest_for(&bad_mf, &ovf, &short_disk);
	struct member eos[] = {ovf, bad_mf, short_disk};
	make_tar(eos, 3, &tar);
	CHECK(lint_has(&tar, "vmware", "vmdk-eos"));
	CHECK(lint_has(&tar, "vmware", "file-size"));

	struct member extra = {"notes.txt", STRBUF_INIT};
	strbuf_adds(&extra.data, "hello");
	struct member uncovered[] = {ovf, mf, disk, extra};
	make_tar(uncovered, 4, &tar);
	CHECK(lint_has(&tar, NULL, "manifest-coverage"));

	strbuf_reset(&tar);
	strbuf_adds(&tar, "this is not a tar archive at all, just some text that is long enough to look like a block");
	CHECK(lint_has(&tar, NULL, "ova-tar"));

	strbuf_release(&odd_ovf.data);
	strbuf_release(&short_disk.data);
	strbuf_release(&extra.data);
	strbuf_release(&bad_mf.data);
	strbuf_release(&ovf.data);
	strbuf_release(&mf.data);
	strbuf_release(&disk.data);
	strbuf_release(&tar);
	strbuf_release(&good);
	disk_free(&d);
}

int main(void)
{
	RUN(test_digest_vectors);
	RUN(test_ovf_profiles);
	RUN(test_writer_deterministic_and_clean);
	RUN(test_lint_rules);
	scratch_cleanup();
	xmlCleanupParser();
	TEST_MAIN_END();
}
