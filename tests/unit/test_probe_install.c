/* tests/unit/test_probe_install.c: builder/probe_install.c puts the probe,
 * the checks file and the systemd unit where the image expects them, with
 * the recipe's epoch, and refuses to write through a symbolic link. */
#include "tests/unit/test.h"
#include "builder/probe_install.h"
#include "builder/recipe.h"
#include "util/io.h"
#include "util/strbuf.h"
#include "validate/probe/checkfile.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static struct recipe_check checks[] = {
	{.kind = CHECK_SERVICE, .target = "nginx", .timeout_s = 5},
	{.kind = CHECK_TCP, .port = 80, .timeout_s = 5},
	{.kind = CHECK_HTTP, .target = "http://127.0.0.1/", .status = 200, .contains = "hello world", .timeout_s = 7},
	{.kind = CHECK_COMMAND, .target = "test -s /etc/motd", .timeout_s = 5},
	{.kind = CHECK_FILE, .target = "/etc/motd", .timeout_s = 5},
};

static struct recipe make_recipe(void)
{
	return (struct recipe){.name = "web", .checks = checks, .n_checks = 5, .check_deadline_s = 150,
			       .epoch = 1700000000};
}

static char *scratch(void)
{
	char tmpl[] = "/tmp/apkg-test-probe-install-XXXXXX";
	return xstrdup(mkdtemp(tmpl));
}

static char *slurp(const char *dir, const char *rel)
{
	char *p = path_join(dir, rel);
	struct strbuf sb = STRBUF_INIT;
	int r = read_file(p, &sb, 1 << 26);
	free(p);
	if (r < 0) {
		strbuf_release(&sb);
		return NULL;
	}
	return strbuf_detach(&sb);
}

static void test_systemd_install(void)
{
	struct recipe r = make_recipe();
	char *root = scratch();
	CHECK(probe_install(&r, root, 1) == 0);
	char *probe = path_join(root, "usr/lib/apkg/apkg-probe");
	struct stat st;
	CHECK(stat(probe, &st) == 0 && (st.st_mode & 0777) == 0755 && st.st_size > 10000);
	CHECK(st.st_mtime == 1700000000);
	free(probe);

	char *text = slurp(root, "usr/lib/apkg/checks");
	struct probe_checks cs;
	char err[200];
	CHECK(text && checkfile_parse(text, strlen(text), &cs, err, sizeof err) == 0);
	if (text && cs.n == 5) {
		CHECK(cs.deadline_s == 150);
		CHECK(cs.items[0].kind == PROBE_SERVICE && !strcmp(cs.items[0].target, "nginx"));
		CHECK(cs.items[1].kind == PROBE_TCP && cs.items[1].port == 80);
		CHECK(cs.items[2].kind == PROBE_HTTP && cs.items[2].timeout_s == 7);
		CHECK_STR(cs.items[2].contains, "hello world");
		CHECK(cs.items[4].kind == PROBE_FILE);
		checkfile_free(&cs);
	}
	free(text);

	char *unit = slurp(root, "usr/lib/systemd/system/apkg-probe.service");
	CHECK(unit && strstr(unit, "ConditionPathExists=|/run/apkg/check\n"));
	CHECK(unit && strstr(unit, "ExecStart=/usr/lib/apkg/apkg-probe\n"));
	CHECK(unit && strstr(unit, "WantedBy=multi-user.target\n"));
	free(unit);
	char *link = path_join(root, "etc/systemd/system/multi-user.target.wants/apkg-probe.service");
	char target[PATH_MAX] = "";
	ssize_t n = readlink(link, target, sizeof target - 1);
	CHECK(n > 0);
	target[n > 0 ? n : 0] = 0;
	CHECK_STR(target, "/usr/lib/systemd/system/apkg-probe.service");
	free(link);
	/* installing twice replaces, it does not fail */
	CHECK(probe_install(&r, root, 1) == 0);
	rm_rf(root);
	free(root);
}

static void test_busybox_install(void)
{
	struct recipe r = make_recipe();
	r.n_checks = 0;
	char *root = scratch();
	CHECK(probe_install(&r, root, 0) == 0);
	char *text = slurp(root, "usr/lib/apkg/checks");
	CHECK(text && strstr(text, "apkg-checks 1\n") && strstr(text, "deadline 150\n"));
	free(text);
	char *unitdir = path_join(root, "usr/lib/systemd");
	CHECK(!path_exists(unitdir));
	free(unitdir);
	rm_rf(root);
	free(root);
}

static void test_refuses_symlinks(void)
{
	struct recipe r = make_recipe();
	char *root = scratch(), *outside = scratch();
	char *usr = path_join(root, "usr");
	CHECK(symlink(outside, usr) == 0);
	fprintf(stderr, "(an error about a symbolic link is expected next)\n");
	CHECK(probe_install(&r, root, 0) < 0);
	char *escaped = path_join(outside, "lib");
	CHECK(!path_exists(escaped));
	free(escaped);
	free(usr);
	rm_rf(root);
	rm_rf(outside);
	free(root);
	free(outside);
}

static void test_names_json(void)
{
	struct recipe r = make_recipe();
	struct strbuf sb = STRBUF_INIT;
	probe_check_names_json(&r, &sb);
	CHECK_STR(sb.buf, "[\"service nginx\",\"tcp 80\",\"http http://127.0.0.1/\",\"command test -s /etc/motd\","
			  "\"file /etc/motd\"]");
	strbuf_release(&sb);
}

int main(void)
{
	if (!getenv("APKG_LIBEXEC"))
		setenv("APKG_LIBEXEC", "bin", 1); /* tests run from the repository root */
	RUN(test_systemd_install);
	RUN(test_busybox_install);
	RUN(test_refuses_symlinks);
	RUN(test_names_json);
	TEST_MAIN_END();
}
