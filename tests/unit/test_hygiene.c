/* tests/unit/test_hygiene.c: each hygiene rule against small trees, waivers, the allow-list, and the tar source.
 *
 * Every rule fires on the smallest tree that breaks it and stays quiet on
 * the near miss (an empty machine-id, a locked root, a sticky /tmp, a key
 * string inside a binary, a setuid file that dpkg installed through the
 * merged-/usr /bin link). Waivers cover exactly their rule and paths and are
 * marked used; the per-rule cap still counts what it drops; a tar stream of
 * a tree (made by GNU tar, a real oracle) gives the same report as the walk.
 */
#include "builder/hygiene.h"
#include "util/io.h"
#include "util/run.h"
#include "util/strbuf.h"

#include "tests/unit/test.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[256];

static void fresh_root(void)
{
	if (root[0])
		rm_rf(root);
	snprintf(root, sizeof root, "/tmp/apkg-test-hygiene-XXXXXX");
	if (!mkdtemp(root))
		abort();
}

static void put(const char *rel, const char *content, mode_t mode)
{
	char *p = xasprintf("%s/%s", root, rel);
	char *dir = xstrdup(p);
	*strrchr(dir, '/') = 0;
	mkdir_p(dir, 0755);
	CHECK(write_file_atomic(p, content, strlen(content), mode) == 0);
	CHECK(chmod(p, mode) == 0); /* write_file_atomic's mode is masked by the umask */
	free(dir);
	free(p);
}

static void put_dir(const char *rel, mode_t mode)
{
	char *p = xasprintf("%s/%s", root, rel);
	mkdir_p(p, 0755);
	CHECK(chmod(p, mode) == 0);
	free(p);
}

static void put_link(const char *rel, const char *target)
{
	char *p = xasprintf("%s/%s", root, rel);
	CHECK(symlink(target, p) == 0);
	free(p);
}

static void scan(const struct hygiene_policy *p, struct hygiene_report *rep)
{
	struct hygiene_scan *s = hygiene_scan_new(p);
	CHECK(hygiene_scan_tree(s, root) == 0);
	hygiene_scan_finish(s, rep);
	hygiene_scan_free(s);
}

/* "rule path" lines of the report, in order ("(waived)" appended when waived). */
static char *summary(const struct hygiene_report *rep)
{
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < rep->n; i++)
		strbuf_addf(&sb, "%s %s%s\n", rep->items[i].rule->name, rep->items[i].path ? rep->items[i].path : "-",
			    rep->items[i].waiver_reason ? " (waived)" : "");
	return strbuf_detach(&sb);
}

static void expect(const struct hygiene_policy *p, const char *want, size_t errors, size_t warnings)
{
	struct hygiene_report rep;
	scan(p, &rep);
	char *got = summary(&rep);
	CHECK_STR(got, want);
	CHECK(rep.errors == errors);
	CHECK(rep.warnings == warnings);
	if (rep.errors != errors || rep.warnings != warnings)
		fprintf(stderr, "  errors %zu (want %zu), warnings %zu (want %zu)\n", rep.errors, errors, rep.warnings,
			warnings);
	free(got);
	hygiene_report_release(&rep);
}

static const char rsa_key[] = "-----BEGIN RSA PRIVATE KEY-----\n"
			      "MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n"
			      "-----END RSA PRIVATE KEY-----\n";

static void test_clean_tree(void)
{
	fresh_root();
	put_dir("tmp", 01777);
	put_dir("var/tmp", 01777);
	put_dir("run/lock", 01777);
	put("etc/machine-id", "", 0444);
	put("etc/shadow", "root:*:19675:0:99999:7:::\ndaemon:*:19675::::::\n", 0640);
	put("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", 0644);
	put("var/log/empty.log", "", 0640);
	put("var/lib/apt/lists/lock", "", 0640);
	put("root/.ash_history", "", 0600);
	expect(NULL, "", 0, 0);
}

static void test_ssh_host_keys(void)
{
	fresh_root();
	put("etc/ssh/ssh_host_ed25519_key", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n", 0600);
	put("etc/ssh/ssh_host_ed25519_key.pub", "ssh-ed25519 AAAA host", 0644);
	put("etc/ssh/sshd_config", "PermitRootLogin no\n", 0644);
	put("etc/dropbear/dropbear_rsa_host_key", "x", 0600);
	/* The host key is reported once, as a host key, not again as a private key. */
	expect(NULL,
	       "ssh-host-keys /etc/dropbear/dropbear_rsa_host_key\n"
	       "ssh-host-keys /etc/ssh/ssh_host_ed25519_key\n"
	       "ssh-host-keys /etc/ssh/ssh_host_ed25519_key.pub\n",
	       3, 0);
}

static void test_machine_id(void)
{
	fresh_root();
	put("etc/machine-id", "0123456789abcdef0123456789abcdef\n", 0444);
	put("var/lib/dbus/machine-id", "\n", 0444);
	expect(NULL, "machine-id /etc/machine-id\n", 1, 0);
	put("etc/machine-id", "uninitialized\n", 0444);
	put("var/lib/dbus/machine-id", "fedcba9876543210fedcba9876543210", 0444);
	expect(NULL, "machine-id /var/lib/dbus/machine-id\n", 1, 0);
}

static void test_root_password(void)
{
	struct hygiene_policy set = {.root_password_set = 1};
	fresh_root();
	put("etc/shadow", "daemon:*:1::::::\nroot:$6$salt$hash:19675:0:99999:7:::\n", 0640);
	put("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", 0644);
	expect(NULL, "root-password /etc/shadow\n", 1, 0);
	expect(&set, "", 0, 0);
	put("etc/shadow", "root:!$6$salt$hash:19675:0:99999:7:::\n", 0640);
	expect(NULL, "root-password /etc/shadow\n", 1, 0); /* locked, but the hash is still there */
	put("etc/shadow", "root::19675:0:99999:7:::\n", 0640);
	expect(NULL, "root-password /etc/shadow\n", 1, 0); /* no password at all */
	put("etc/shadow", "root:!*:19675:0:99999:7:::\n", 0640);
	expect(NULL, "", 0, 0);
	/* No shadow: a hash in passwd itself counts. */
	fresh_root();
	put("etc/passwd", "root:$1$abc$def:0:0:root:/root:/bin/sh\n", 0644);
	expect(NULL, "root-password /etc/passwd\n", 1, 0);
	put("etc/passwd", "root:x:0:0:root:/root:/bin/sh", 0644); /* no final newline */
	expect(NULL, "", 0, 0);
}

static void test_world_writable(void)
{
	fresh_root();
	put_dir("tmp/sub", 0777);
	put_dir("var/tmp", 01777);
	put_dir("run/lock", 01777);
	put("srv/drop", "x", 0666);
	put_dir("srv/spool", 01777);
	put("srv/fine", "x", 0664);
	put_link("srv/link", "/etc/passwd"); /* links are 0777 and do not count */
	expect(NULL, "world-writable /srv/drop\nworld-writable /srv/spool\n", 2, 0);
}

static void test_private_keys(void)
{
	fresh_root();
	put("etc/app/key.pem", rsa_key, 0600);
	put("etc/app/bundle.pem", "-----BEGIN CERTIFICATE-----\nMIIBxx\n-----END CERTIFICATE-----\n"
				  "-----BEGIN EC PRIVATE KEY-----\r\nMHcCAQEEIGx8xxxxxxxxxxxxxxxxxxxxxxx\r\n", 0600);
	put("etc/app/legacy.pem", "-----BEGIN DSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n", 0600);
	put("etc/app/putty.ppk", "PuTTY-User-Key-File-3: ssh-ed25519\n", 0600);
	/* Near misses: inside a binary (no line start), no base64 after it, a public key, a cut header. */
	put("usr/lib/libtls.so", "\x7f" "ELF\0\0-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcN\n", 0644);
	put("usr/share/doc.txt", "-----BEGIN PRIVATE KEY-----\n(the key goes here)\n", 0644);
	put("etc/app/pub.pem", "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n", 0644);
	put("etc/app/cut.pem", "-----BEGIN RSA PRIVATE KEY---", 0644);
	expect(NULL,
	       "private-keys /etc/app/bundle.pem\nprivate-keys /etc/app/key.pem\nprivate-keys /etc/app/legacy.pem\n"
	       "private-keys /etc/app/putty.ppk\n",
	       4, 0);
	const char *allowed[] = {"/etc/app/key.pem", "/etc/app/putty.ppk"};
	struct hygiene_policy p = {.allowed_keys = allowed, .n_allowed_keys = 2};
	expect(&p, "private-keys /etc/app/bundle.pem\nprivate-keys /etc/app/legacy.pem\n", 2, 0);
}

static void test_key_beyond_head_is_not_read(void)
{
	fresh_root();
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < HYGIENE_HEAD_MAX; i++)
		strbuf_addc(&sb, '\n');
	strbuf_adds(&sb, rsa_key);
	put("srv/big.txt", sb.buf, 0644);
	expect(NULL, "", 0, 0); /* documented limit: only the head of each file is scanned */
	strbuf_release(&sb);
}

static void test_leftovers(void)
{
	fresh_root();
	put("var/lib/apt/lists/deb.debian.org_dists_bookworm_InRelease", "x", 0644);
	put("var/lib/apt/lists/partial/half", "xy", 0644);
	put("var/lib/apt/lists/lock", "", 0640);
	put("var/cache/apt/pkgcache.bin", "cache", 0644);
	put("var/cache/apt/archives/nginx_1.0_amd64.deb", "deb", 0644);
	put("root/.bash_history", "ls\n", 0600);
	put("home/admin/.python_history", "1+1\n", 0600);
	put("home/admin/.bashrc", "# not a history\n", 0644);
	put("var/log/apt/history.log", "Start-Date: ...\n", 0644);
	put("var/log/empty", "", 0644);
	expect(NULL,
	       "apt-lists /var/cache/apt\napt-lists /var/cache/apt/archives\napt-lists /var/lib/apt/lists\n"
	       "shell-history /home/admin/.python_history\nshell-history /root/.bash_history\n"
	       "build-logs /var/log/apt/history.log\n",
	       0, 6);
}

static void test_suid(void)
{
	fresh_root();
	put_dir("usr/bin", 0755);
	put_link("bin", "usr/bin");
	put("usr/bin/su", "elf", 04755);
	put("usr/bin/chage", "elf", 02755);
	put("usr/local/bin/tool", "elf", 04755);
	put("usr/sbin/helper", "elf", 02711);
	put_dir("var/mail", 02775); /* setgid directories are not binaries */
	put("var/lib/dpkg/info/login.list", "/.\n/bin\n/bin/su\n", 0644);
	put("var/lib/dpkg/info/passwd.list", "/usr/bin/chage\n/usr/bin/passwd", 0644);
	expect(NULL, "suid-binaries /usr/local/bin/tool\nsuid-binaries /usr/sbin/helper\n", 0, 2);
}

static void test_waivers(void)
{
	fresh_root();
	put("srv/drop/a", "x", 0666);
	put("srv/other", "x", 0666);
	put("etc/machine-id", "0123456789abcdef0123456789abcdef\n", 0444);
	put("var/log/first-run.log", "hello\n", 0644);
	const char *drop[] = {"/srv/drop"};
	struct hygiene_waiver w[] = {
		{.rule = "world-writable", .reason = "drop box", .paths = drop, .n_paths = 1},
		{.rule = "build-logs", .reason = "part of the product"},
		{.rule = "ssh-host-keys", .reason = "never fires here"},
	};
	struct hygiene_policy p = {.waivers = w, .n_waivers = 3};
	expect(&p,
	       "machine-id /etc/machine-id\nworld-writable /srv/drop/a (waived)\nworld-writable /srv/other\n"
	       "build-logs /var/log/first-run.log (waived)\n",
	       2, 0);
	CHECK(w[0].used && w[1].used && !w[2].used);

	struct hygiene_report rep;
	scan(&p, &rep);
	CHECK(rep.waived == 2);
	struct strbuf js = STRBUF_INIT;
	hygiene_report_json(&rep, &p, &js, 2);
	CHECK(strstr(js.buf, "\"reason\": \"drop box\"") != NULL);
	CHECK(strstr(js.buf, "\"used\": false") != NULL);
	strbuf_release(&js);
	hygiene_report_release(&rep);
}

static void test_cap_counts_dropped(void)
{
	fresh_root();
	for (int i = 0; i < HYGIENE_MAX_FINDINGS_PER_RULE + 5; i++) {
		char rel[64];
		snprintf(rel, sizeof rel, "srv/f%03d", i);
		put(rel, "x", 0666);
	}
	struct hygiene_report rep;
	scan(NULL, &rep);
	CHECK(rep.n == HYGIENE_MAX_FINDINGS_PER_RULE);
	CHECK(rep.errors == HYGIENE_MAX_FINDINGS_PER_RULE + 5);
	size_t dropped = 0;
	for (size_t k = 0; k < 16; k++)
		dropped += rep.dropped[k];
	CHECK(dropped == 5);
	hygiene_report_release(&rep);
}

/* GNU tar of the tree, read back through the tar source, gives the same findings. */
static void test_tar_source_matches_walk(void)
{
	fresh_root();
	put("etc/shadow", "root:$6$x$y:1::::::\n", 0640);
	put("etc/app/key.pem", rsa_key, 0600);
	put("usr/local/bin/tool", "elf", 04755);
	put("srv/drop", "x", 0666);
	put("root/.ash_history", "ls\n", 0600);
	put_dir("usr/bin", 0755);
	put_link("bin", "usr/bin");
	put("usr/bin/su", "elf", 04755);
	put("var/lib/dpkg/info/login.list", "/bin/su\n", 0644);
	char *hard = xasprintf("%s/usr/bin/su2", root), *orig = xasprintf("%s/usr/bin/su", root);
	CHECK(link(orig, hard) == 0);
	char *tarfile = xasprintf("%s.tar", root);
	CHECK(run_checked("tar", "--numeric-owner", "-C", root, "-cf", tarfile, ".", NULL) == 0);
	struct hygiene_report walk, tar;
	scan(NULL, &walk);
	struct hygiene_scan *s = hygiene_scan_new(NULL);
	int fd = open(tarfile, O_RDONLY);
	CHECK(fd >= 0 && hygiene_scan_tar_fd(s, fd) == 0);
	close(fd);
	hygiene_scan_finish(s, &tar);
	hygiene_scan_free(s);
	char *a = summary(&walk), *b = summary(&tar);
	CHECK_STR(b, a);
	/* A second name for a setuid binary is not what dpkg installed: reported, by both sources. */
	CHECK(strstr(a, "suid-binaries /usr/bin/su2\n") != NULL);
	CHECK(strstr(a, "suid-binaries /usr/bin/su\n") == NULL);
	free(a);
	free(b);
	hygiene_report_release(&walk);
	hygiene_report_release(&tar);
	unlink(tarfile);
	free(tarfile);
	free(hard);
	free(orig);
}

static void test_rule_table(void)
{
	size_t n = 0;
	for (; hygiene_rules[n].name; n++) {
		CHECK_STR(hygiene_rule_names[n], hygiene_rules[n].name);
		CHECK(hygiene_rule_find(hygiene_rules[n].name) == &hygiene_rules[n]);
	}
	CHECK(hygiene_rule_names[n] == NULL);
	CHECK(n == 10 && n <= 16);
	CHECK(hygiene_rule_find("nope") == NULL);
}

int main(void)
{
	RUN(test_rule_table);
	RUN(test_clean_tree);
	RUN(test_ssh_host_keys);
	RUN(test_machine_id);
	RUN(test_root_password);
	RUN(test_world_writable);
	RUN(test_private_keys);
	RUN(test_key_beyond_head_is_not_read);
	RUN(test_leftovers);
	RUN(test_suid);
	RUN(test_waivers);
	RUN(test_cap_counts_dropped);
	RUN(test_tar_source_matches_walk);
	rm_rf(root);
	TEST_MAIN_END();
}
