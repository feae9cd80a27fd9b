/* tests/unit/test_util.c: strbuf, sha256 (FIPS 180-2 vectors), derived ids, atomic files, rm_rf. */
#include "tests/unit/test.h"
#include "util/ident.h"
#include "util/io.h"
#include "util/sha256.h"
#include "util/strbuf.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_strbuf(void)
{
	struct strbuf sb = STRBUF_INIT;
	CHECK_STR(sb.buf, "");
	strbuf_addf(&sb, "%d-%s", 42, "x");
	strbuf_addc(&sb, '!');
	CHECK_STR(sb.buf, "42-x!");
	strbuf_reset(&sb);
	strbuf_add_json_str(&sb, "a\"b\\c\n\x01");
	CHECK_STR(sb.buf, "\"a\\\"b\\\\c\\n\\u0001\"");
	for (int i = 0; i < 10000; i++)
		strbuf_addc(&sb, 'y');
	CHECK(sb.len == 17 + 10000);
	strbuf_release(&sb);
}

static void test_sha256(void)
{
	char hex[65];
	sha256_buf_hex("abc", 3, hex);
	CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha256_buf_hex("", 0, hex);
	CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	sha256_buf_hex(two, strlen(two), hex);
	CHECK_STR(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	/* Streaming in odd pieces gives the same digest. */
	struct sha256 s;
	uint8_t d[32];
	sha256_init(&s);
	for (size_t i = 0; i < strlen(two); i += 7)
		sha256_update(&s, two + i, strlen(two) - i < 7 ? strlen(two) - i : 7);
	sha256_final(&s, d);
	sha256_hex(d, hex);
	CHECK_STR(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_ident(void)
{
	uint8_t a[16], b[16], c[16];
	ident_uuid("seed", "root", a);
	ident_uuid("seed", "root", b);
	ident_uuid("seed", "esp", c);
	CHECK(!memcmp(a, b, 16));
	CHECK(memcmp(a, c, 16));
	CHECK((a[6] >> 4) == 4);
	CHECK((a[8] & 0xc0) == 0x80);
	char s[37];
	ident_uuid_str(a, s);
	CHECK(strlen(s) == 36 && s[8] == '-' && s[14] == '4');
	uint8_t g[16];
	ident_uuid_to_guid(a, g);
	CHECK(g[0] == a[3] && g[3] == a[0] && g[4] == a[5] && g[6] == a[7] && g[8] == a[8]);
}

static void test_atomic_and_rm(void)
{
	char dir[] = "/tmp/apkg-test-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char *f = path_join(dir, "a/b/c");
	char *d = path_join(dir, "a/b");
	CHECK(mkdir_p(d, 0755) == 0);
	CHECK(write_file_atomic(f, "hello", 5, 0640) == 0);
	struct strbuf sb = STRBUF_INIT;
	CHECK(read_file(f, &sb, 100) == 0);
	CHECK_STR(sb.buf, "hello");
	struct stat st;
	CHECK(stat(f, &st) == 0 && (st.st_mode & 0777) == 0640);
	strbuf_reset(&sb);
	CHECK(read_file(f, &sb, 3) < 0); /* over the cap */
	char *link = path_join(dir, "a/escape");
	CHECK(symlink("/etc", link) == 0);
	CHECK(rm_rf(dir) == 0);
	CHECK(access("/etc/passwd", F_OK) == 0); /* rm_rf never follows links */
	CHECK(!path_exists(dir));
	strbuf_release(&sb);
	free(f);
	free(d);
	free(link);
}

int main(void)
{
	RUN(test_strbuf);
	RUN(test_sha256);
	RUN(test_ident);
	RUN(test_atomic_and_rm);
	TEST_MAIN_END();
}
