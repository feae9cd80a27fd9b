/* tests/unit/test_publish.c: the pure parts of publishing: names and version
 * order, SHA256SUMS, the validation gate, the mirror index (merge, prune,
 * latest, escaping) and the rsync lock's staleness rule. */
#include "publish/index.h"
#include "publish/lock_token.h"
#include "publish/names.h"
#include "publish/release.h"
#include "publish/sums.h"
#include "tests/unit/test.h"
#include "util/json.h"
#include "util/strbuf.h"

#include <stdlib.h>
#include <unistd.h>

#define HEX_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HEX_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static void test_names(void)
{
	CHECK(appliance_name_ok("hello"));
	CHECK(appliance_name_ok("debian-web2"));
	CHECK(!appliance_name_ok("Hello"));
	CHECK(!appliance_name_ok("-x"));
	CHECK(!appliance_name_ok(""));
	CHECK(!appliance_name_ok("a/b"));
	CHECK(version_ok("1.0.0"));
	CHECK(version_ok("2.0~rc1+build_3-1"));
	CHECK(!version_ok(".."));
	CHECK(!version_ok(".hidden"));
	CHECK(!version_ok("1.0/2"));
	CHECK(!version_ok("1 0"));
	CHECK(mirror_file_name_ok("hello-1.0.0.qcow2"));
	CHECK(mirror_file_name_ok("SHA256SUMS.asc"));
	CHECK(!mirror_file_name_ok("../etc/passwd"));
	CHECK(!mirror_file_name_ok(".."));
	CHECK(!mirror_file_name_ok("a*b"));
	CHECK(!mirror_file_name_ok("a?b"));
}

static void test_version_order(void)
{
	CHECK(version_compare("1.10", "1.9") > 0);
	CHECK(version_compare("1.0.0", "1.1.0") < 0);
	CHECK(version_compare("2.0~rc1", "2.0") < 0);
	CHECK(version_compare("2.0", "2.0+1") < 0);
	CHECK(version_compare("1.0a", "1.0") > 0);
	CHECK(version_compare("1.0", "1.0") == 0);
	CHECK(version_compare("1.0", "1.00") != 0); /* equal to Debian, still a total order */
	CHECK((version_compare("1.0", "1.00") > 0) == (version_compare("1.00", "1.0") < 0));
}

static void test_sums(void)
{
	struct sums s;
	char err[160];
	const char *good = HEX_A "  b.qcow2\n" HEX_B " *a.raw\n";
	CHECK(sums_parse(good, strlen(good), &s, err) == 0);
	CHECK(s.n == 2);
	CHECK(sums_find(&s, "a.raw") && !strcmp(sums_find(&s, "a.raw")->sha256, HEX_B));
	struct strbuf out = STRBUF_INIT;
	sums_format(&s, &out);
	CHECK_STR(out.buf, HEX_B "  a.raw\n" HEX_A "  b.qcow2\n");
	sums_free(&s);
	strbuf_release(&out);
	const char *upper = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA  x";
	CHECK(sums_parse(upper, strlen(upper), &s, err) == 0 && !strcmp(s.v[0].sha256, HEX_A));
	sums_free(&s);
	const char *bad[] = {
		HEX_A "  ../x\n", HEX_A "  a\n" HEX_A "  a\n", HEX_A " a\n", "zz  a\n", HEX_A "  a/b\n",
		HEX_A "  .x\n",   HEX_A "  \n",                "\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK(sums_parse(bad[i], strlen(bad[i]), &s, err) < 0);
		CHECK(err[0] != 0);
	}
	CHECK(sums_parse(HEX_A "  a\n" HEX_A "  a\n", 2 * (64 + 4), &s, err) < 0 && strstr(err, "line 2"));
}

static struct json_value *parse(const char *text)
{
	struct json_value *v = json_parse(text, strlen(text), NULL);
	CHECK(v != NULL);
	return v;
}

static enum validation_state judge(const char *validation, const char *file)
{
	struct json_value *v = validation ? parse(validation) : NULL;
	struct judgement j;
	validation_judge(v, file, &j);
	enum validation_state s = j.state;
	struct json_value *results = json_parse(j.results.buf, j.results.len, NULL);
	CHECK(results && results->type == JSON_ARRAY);
	json_free(results);
	CHECK(j.why.len > 0);
	judgement_release(&j);
	json_free(v);
	return s;
}

static void test_gate(void)
{
	CHECK(judge(NULL, "a.qcow2") == VALIDATION_UNVALIDATED);
	CHECK(judge("[]", "a.qcow2") == VALIDATION_UNVALIDATED);
	CHECK(judge("{}", "a.qcow2") == VALIDATION_UNVALIDATED);
	CHECK(judge("[{\"target\":\"q\",\"artifact\":\"a.qcow2\",\"status\":\"pass\"}]", "a.qcow2") == VALIDATION_PASSED);
	/* a pass for another file validates nothing here */
	CHECK(judge("[{\"target\":\"q\",\"artifact\":\"b.raw\",\"status\":\"pass\"}]", "a.qcow2") == VALIDATION_UNVALIDATED);
	/* skips alone do not validate */
	CHECK(judge("[{\"target\":\"vmm\",\"artifact\":\"a.qcow2\",\"status\":\"skip\"}]", "a.qcow2") ==
	      VALIDATION_UNVALIDATED);
	/* one failure outweighs passes */
	CHECK(judge("[{\"target\":\"q\",\"artifact\":\"a.qcow2\",\"status\":\"pass\"},"
		    "{\"target\":\"r\",\"artifact\":\"a.qcow2\",\"status\":\"fail\",\"reason\":\"x\"}]",
		    "a.qcow2") == VALIDATION_FAILED);
	/* a target that failed before booting anything fails every artifact */
	CHECK(judge("[{\"target\":\"q\",\"artifact\":\"a.qcow2\",\"status\":\"pass\"},"
		    "{\"target\":\"qemu-bios\",\"artifact\":\"\",\"status\":\"fail\"}]",
		    "a.qcow2") == VALIDATION_FAILED);
	/* but an appliance-wide skip does not */
	CHECK(judge("[{\"target\":\"q\",\"artifact\":\"a.qcow2\",\"status\":\"pass\"},"
		    "{\"target\":\"vmm\",\"artifact\":\"\",\"status\":\"skip\"}]",
		    "a.qcow2") == VALIDATION_PASSED);
	/* unknown statuses and malformed entries count as failures */
	CHECK(judge("[{\"target\":\"q\",\"artifact\":\"a.qcow2\",\"status\":\"pass\"},"
		    "{\"target\":\"q\",\"artifact\":\"a.qcow2\",\"status\":\"maybe\"}]",
		    "a.qcow2") == VALIDATION_FAILED);
	CHECK(judge("[{\"target\":\"q\",\"artifact\":\"a.qcow2\",\"status\":\"pass\"}, 7]", "a.qcow2") ==
	      VALIDATION_FAILED);
}

static char *entry(const char *version, const char *extra)
{
	return xasprintf("{\"version\":\"%s\",\"description\":\"d %s\"%s}", version, version, extra ? extra : "");
}

static void put(struct mirror_index *ix, const char *name, const char *version, const char *extra)
{
	char *e = entry(version, extra);
	CHECK(index_put(ix, name, version, e) == 0);
	free(e);
}

static void test_index_roundtrip(void)
{
	struct mirror_index ix;
	char err[200];
	CHECK(index_parse("", 0, &ix, err) == 0 && ix.n == 0);
	put(&ix, "hello", "1.9", NULL);
	put(&ix, "hello", "1.10", NULL);
	put(&ix, "abc", "1", NULL);
	CHECK_STR(index_latest(&ix, "hello"), "1.10");
	CHECK(index_latest(&ix, "nope") == NULL);
	put(&ix, "hello", "1.9", ",\"x\":1"); /* replaces */
	CHECK(json_get(index_find(&ix, "hello", "1.9"), "x") != NULL);
	struct strbuf out = STRBUF_INIT;
	index_write_json(&ix, &out);
	struct mirror_index again;
	CHECK(index_parse(out.buf, out.len, &again, err) == 0);
	CHECK(again.n == 2);
	struct strbuf out2 = STRBUF_INIT;
	index_write_json(&again, &out2);
	CHECK_STR(out2.buf, out.buf); /* a fixed point: reading and writing changes nothing */
	struct json_value *root = parse(out.buf);
	const struct json_value *apps = json_get_array(root, "appliances");
	CHECK(apps && apps->n == 2);
	CHECK_STR(json_get_str(apps->items[0], "name"), "abc"); /* sorted */
	CHECK_STR(json_get_str(apps->items[1], "latest"), "1.10");
	const struct json_value *versions = json_get_array(apps->items[1], "versions");
	CHECK(versions && versions->n == 2 && !strcmp(json_get_str(versions->items[0], "version"), "1.10"));
	json_free(root);
	strbuf_release(&out);
	strbuf_release(&out2);
	index_free(&again);
	index_free(&ix);
}

static void test_index_prune(void)
{
	struct mirror_index ix;
	char err[200];
	index_parse("", 0, &ix, err);
	const char *versions[] = {"1.0", "1.1", "1.2", "2.0~rc1", "2.0"};
	for (size_t i = 0; i < 5; i++)
		put(&ix, "app", versions[i], NULL);
	size_t n;
	const char **pruned = index_prune_list(&ix, "app", 2, "2.0", &n);
	CHECK(n == 3);
	CHECK(n == 3 && !strcmp(pruned[0], "1.2") && !strcmp(pruned[1], "1.1") && !strcmp(pruned[2], "1.0"));
	free(pruned);
	/* the version just published survives even when it is old */
	pruned = index_prune_list(&ix, "app", 1, "1.0", &n);
	CHECK(n == 3);
	for (size_t i = 0; i < n; i++)
		CHECK(strcmp(pruned[i], "1.0") && strcmp(pruned[i], "2.0"));
	free(pruned);
	CHECK(index_prune_list(&ix, "app", 5, NULL, &n) == NULL && n == 0);
	index_remove(&ix, "app", "2.0");
	CHECK_STR(index_latest(&ix, "app"), "2.0~rc1");
	index_free(&ix);
}

static void test_index_refusals(void)
{
	const char *bad[] = {
		"[]",
		"{\"apkg_index\":2,\"appliances\":[]}",
		"{\"apkg_index\":1}",
		"{\"apkg_index\":1,\"appliances\":[{\"name\":\"../x\",\"versions\":[]}]}",
		"{\"apkg_index\":1,\"appliances\":[{\"name\":\"a\",\"versions\":[{\"version\":\"../1\"}]}]}",
		"{\"apkg_index\":1,\"appliances\":[{\"name\":\"a\",\"versions\":[{\"version\":\"1\"},{\"version\":\"1\"}]}]}",
		"{\"apkg_index\":1,\"appliances\":[{\"name\":\"a\",\"versions\":[]},{\"name\":\"a\",\"versions\":[]}]}",
		"{\"apkg_index\":1,\"appliances\":[{\"name\":\"a\"}]}",
		"{\"apkg_index\":1,",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct mirror_index ix;
		char err[200];
		CHECK(index_parse(bad[i], strlen(bad[i]), &ix, err) < 0);
		CHECK(err[0] != 0);
	}
}

static void test_index_html_escapes(void)
{
	const char *text = "{\"apkg_index\":1,\"appliances\":[{\"name\":\"a\",\"versions\":[{\"version\":\"1\","
			   "\"description\":\"<script>alert(1)</script>\",\"published\":\"\\\"><b>\","
			   "\"artifacts\":[{\"file\":\"javascript:x\",\"format\":\"<i>\",\"sha256\":\"&\"},"
			   "{\"file\":\"a-1.qcow2\",\"size\":2097152}]}]}]}";
	struct mirror_index ix;
	char err[200];
	CHECK(index_parse(text, strlen(text), &ix, err) == 0);
	struct strbuf html = STRBUF_INIT;
	index_write_html(&ix, &html);
	CHECK(!strstr(html.buf, "<script>"));
	CHECK(!strstr(html.buf, "<b>"));
	CHECK(!strstr(html.buf, "<i>"));
	CHECK(strstr(html.buf, "&lt;script&gt;") != NULL);
	CHECK(!strstr(html.buf, "href=\"a/1/javascript:x\"")); /* "javascript:x" is no mirror file name */
	CHECK(strstr(html.buf, "href=\"a/1/a-1.qcow2\"") != NULL);
	CHECK(strstr(html.buf, "2.0 MiB") != NULL);
	strbuf_release(&html);
	index_free(&ix);
}

static void test_lock_tokens(void)
{
	struct lock_holder me, parsed;
	lock_self(&me);
	CHECK(me.pid == (long)getpid() && me.start > 0);
	struct strbuf t = STRBUF_INIT;
	lock_token_format(&me, 3, &t);
	CHECK(lock_token_parse(t.buf, t.len, &parsed) == 0);
	CHECK(parsed.pid == me.pid && parsed.start == me.start && !strcmp(parsed.host, me.host));
	/* our own live token is never stale, however old */
	CHECK(!lock_token_stale(t.buf, t.len, 100000, &me));
	/* same boot, a process that is gone: stale at once */
	struct lock_holder dead = me;
	dead.pid = 0x7ffffffe;
	struct strbuf d = STRBUF_INIT;
	lock_token_format(&dead, 0, &d);
	CHECK(lock_token_stale(d.buf, d.len, 0, &me));
	/* same boot, live pid but another start time (the pid was reused): stale */
	struct lock_holder reused = me;
	reused.start = me.start + 1;
	struct strbuf r = STRBUF_INIT;
	lock_token_format(&reused, 0, &r);
	CHECK(lock_token_stale(r.buf, r.len, 0, &me));
	/* another machine: only age counts */
	struct lock_holder other = me;
	strcpy(other.boot, "another-boot");
	struct strbuf o = STRBUF_INIT;
	lock_token_format(&other, 0, &o);
	CHECK(!lock_token_stale(o.buf, o.len, LOCK_STALE_S - 1, &me));
	CHECK(lock_token_stale(o.buf, o.len, LOCK_STALE_S + 1, &me));
	/* garbage is judged by age alone */
	CHECK(!lock_token_stale("junk", 4, 10, &me));
	CHECK(lock_token_stale("junk", 4, LOCK_STALE_S + 1, &me));
	CHECK(lock_token_parse("apkg-lock 1\nhost a\nboot b\npid -1\nstart 1\n", 40, &parsed) < 0);
	strbuf_release(&t);
	strbuf_release(&d);
	strbuf_release(&r);
	strbuf_release(&o);
}

int main(void)
{
	RUN(test_names);
	RUN(test_version_order);
	RUN(test_sums);
	RUN(test_gate);
	RUN(test_index_roundtrip);
	RUN(test_index_prune);
	RUN(test_index_refusals);
	RUN(test_index_html_escapes);
	RUN(test_lock_tokens);
	TEST_MAIN_END();
}
