/* tests/unit/test_customize.c: customisation of a small fake image root.
 *
 * Exact contents of passwd, group, shadow and gshadow after adding users;
 * modes and owners of homes and authorized_keys; files with owners resolved
 * against the image's (not the host's) accounts; confinement of every write
 * to the image root even through hostile symlinks; systemd wants-links,
 * aliases, templates, masks; busybox service lists; hostname, network; the
 * identity scrub and time clamping; run commands in a real busybox root.
 */
#include "builder/customize.h"
#include "builder/imgroot.h"
#include "builder/recipe.h"
#include "builder/rootfs.h"
#include "builder/rootfs_busybox.h"
#include "builder/users.h"
#include "util/io.h"
#include "util/strbuf.h"

#include "tests/unit/test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define EPOCH 1700000000ULL /* day 19675 */

static char root[256];

static void put(const char *rel, const char *content, mode_t mode)
{
	char *p = xasprintf("%s/%s", root, rel);
	char *dir = xstrdup(p);
	*strrchr(dir, '/') = 0;
	mkdir_p(dir, 0755);
	CHECK(write_file_atomic(p, content, strlen(content), mode) == 0);
	free(dir);
	free(p);
}

static void put_link(const char *rel, const char *target)
{
	char *p = xasprintf("%s/%s", root, rel);
	char *dir = xstrdup(p);
	*strrchr(dir, '/') = 0;
	mkdir_p(dir, 0755);
	unlink(p);
	CHECK(symlink(target, p) == 0);
	free(dir);
	free(p);
}

/* The file's content, or "(missing)". Caller frees. */
static char *get(const char *rel)
{
	char *p = xasprintf("%s/%s", root, rel);
	struct strbuf sb = STRBUF_INIT;
	int fd = open(p, O_RDONLY);
	if (fd < 0) {
		free(p);
		return xstrdup("(missing)");
	}
	close(fd);
	read_file(p, &sb, 1 << 20);
	free(p);
	return strbuf_detach(&sb);
}

#define CHECK_FILE(rel, expected)                \
	do {                                     \
		char *got_ = get(rel);           \
		CHECK_STR(got_, expected);       \
		free(got_);                      \
	} while (0)

/* "mode uid gid" of the entry itself, or "(missing)". */
static char *meta(const char *rel)
{
	char *p = xasprintf("%s/%s", root, rel);
	struct stat st;
	char *r = lstat(p, &st) < 0 ? xstrdup("(missing)")
				    : xasprintf("%o %u %u", (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid,
						(unsigned)st.st_gid);
	free(p);
	return r;
}

#define CHECK_META(rel, expected)               \
	do {                                    \
		char *got_ = meta(rel);         \
		CHECK_STR(got_, expected);      \
		free(got_);                     \
	} while (0)

static char *link_of(const char *rel)
{
	char *p = xasprintf("%s/%s", root, rel);
	char buf[4096];
	ssize_t n = readlink(p, buf, sizeof buf - 1);
	free(p);
	if (n < 0)
		return xstrdup("(not a link)");
	buf[n] = 0;
	return xstrdup(buf);
}

#define CHECK_LINK(rel, expected)               \
	do {                                    \
		char *got_ = link_of(rel);      \
		CHECK_STR(got_, expected);      \
		free(got_);                     \
	} while (0)

static void fresh_root(void)
{
	if (root[0])
		rm_rf(root);
	strcpy(root, "/tmp/apkg-test-customize.XXXXXX");
	if (!mkdtemp(root))
		abort();
	chmod(root, 0755);
}

static void list_add(struct string_list *l, const char *s)
{
	l->items = xrealloc(l->items, (l->n + 1) * sizeof *l->items);
	l->pos = xrealloc(l->pos, (l->n + 1) * sizeof *l->pos);
	l->items[l->n] = (char *)s;
	memset(&l->pos[l->n], 0, sizeof *l->pos);
	l->n++;
}

static void list_free(struct string_list *l)
{
	free(l->items);
	free(l->pos);
}

static struct recipe_user *add_user(struct recipe *r, const char *name)
{
	r->users = xrealloc(r->users, (r->n_users + 1) * sizeof *r->users);
	struct recipe_user *u = &r->users[r->n_users++];
	memset(u, 0, sizeof *u);
	u->name = (char *)name;
	u->uid = -1;
	u->shell = "/bin/sh";
	u->password = "!";
	return u;
}

static struct recipe_file *add_file(struct recipe *r, const char *path)
{
	r->files = xrealloc(r->files, (r->n_files + 1) * sizeof *r->files);
	struct recipe_file *f = &r->files[r->n_files++];
	memset(f, 0, sizeof *f);
	f->path = (char *)path;
	f->mode = 0644;
	f->owner = "root:root";
	return f;
}

static void recipe_init(struct recipe *r)
{
	memset(r, 0, sizeof *r);
	r->name = "test";
	r->version = "1";
	r->epoch = EPOCH;
}

static void recipe_release(struct recipe *r)
{
	for (size_t i = 0; i < r->n_users; i++) {
		list_free(&r->users[i].groups);
		list_free(&r->users[i].ssh_authorized_keys);
	}
	free(r->users);
	free(r->files);
	list_free(&r->packages);
	list_free(&r->services_enable);
	list_free(&r->services_disable);
	list_free(&r->run);
}

static void debian_like_accounts(void)
{
	put("etc/passwd",
	    "root:x:0:0:root:/root:/bin/bash\n"
	    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
	    "olduser:x:1000:1000::/home/olduser:/bin/sh\n",
	    0644);
	put("etc/group", "root:x:0:\nwheel:x:10:root\nshadow:x:42:\nolduser:x:1000:\n", 0644);
	put("etc/shadow", "root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\nolduser:!:19000:0:99999:7:::\n",
	    0640);
	put("etc/gshadow", "root:*::\nwheel:*::root\nshadow:*::\nolduser:!::\n", 0640);
	char *p = xasprintf("%s/etc/shadow", root);
	CHECK(chown(p, 0, 42) == 0);
	free(p);
	p = xasprintf("%s/etc/gshadow", root);
	CHECK(chown(p, 0, 42) == 0);
	free(p);
	put("etc/skel/.profile", "# skel profile\n", 0644);
	put("root/.bashrc", "# root\n", 0644);
	char *rp = xasprintf("%s/root", root);
	chmod(rp, 0700);
	free(rp);
}

static int apply_users(struct recipe *r)
{
	struct imgroot ir;
	if (imgroot_open(&ir, root) < 0)
		return -1;
	struct userdb *db = userdb_load(&ir);
	int rc = db ? users_apply(r, &ir, db) : -1;
	userdb_free(db);
	imgroot_close(&ir);
	return rc;
}

static void test_users_written_exactly(void)
{
	fresh_root();
	debian_like_accounts();
	struct recipe r;
	recipe_init(&r);
	struct recipe_user *alice = add_user(&r, "alice");
	list_add(&alice->groups, "wheel");
	list_add(&alice->groups, "docker");
	list_add(&alice->ssh_authorized_keys, "ssh-ed25519 AAAAC3Nza alice@laptop");
	list_add(&alice->ssh_authorized_keys, "ssh-ed25519 AAAAC3Nza alice@laptop"); /* duplicates collapse */
	struct recipe_user *bob = add_user(&r, "bob");
	bob->uid = 1500;
	bob->shell = "/bin/bash";
	bob->password = "$6$salt$hash";
	bob->password_set = 1;
	CHECK(apply_users(&r) == 0);

	CHECK_FILE("etc/passwd", "root:x:0:0:root:/root:/bin/bash\n"
				 "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
				 "olduser:x:1000:1000::/home/olduser:/bin/sh\n"
				 "alice:x:1001:1001::/home/alice:/bin/sh\n"
				 "bob:x:1500:1500::/home/bob:/bin/bash\n");
	CHECK_FILE("etc/group", "root:x:0:\n"
				"wheel:x:10:root,alice\n"
				"shadow:x:42:\n"
				"olduser:x:1000:\n"
				"alice:x:1001:\n"
				"docker:x:1002:alice\n"
				"bob:x:1500:\n");
	CHECK_FILE("etc/shadow", "root:*:19000:0:99999:7:::\n"
				 "daemon:*:19000:0:99999:7:::\n"
				 "olduser:!:19000:0:99999:7:::\n"
				 "alice:!:19675:0:99999:7:::\n"
				 "bob:$6$salt$hash:19675:0:99999:7:::\n");
	CHECK_FILE("etc/gshadow", "root:*::\nwheel:*::root,alice\nshadow:*::\nolduser:!::\nalice:!::\n"
				  "docker:!::alice\nbob:!::\n");
	/* Rewritten files keep their mode and owner. */
	CHECK_META("etc/shadow", "640 0 42");
	CHECK_META("etc/gshadow", "640 0 42");
	CHECK_META("etc/passwd", "644 0 0");

	CHECK_META("home", "755 0 0");
	CHECK_META("home/alice", "700 1001 1001");
	CHECK_META("home/alice/.profile", "644 1001 1001");
	CHECK_FILE("home/alice/.profile", "# skel profile\n");
	CHECK_META("home/alice/.ssh", "700 1001 1001");
	CHECK_META("home/alice/.ssh/authorized_keys", "600 1001 1001");
	CHECK_FILE("home/alice/.ssh/authorized_keys", "ssh-ed25519 AAAAC3Nza alice@laptop\n");
	CHECK_META("home/bob", "700 1500 1500");
	CHECK_META("home/bob/.ssh", "(missing)");

	/* Applying the same recipe again changes nothing. */
	CHECK(apply_users(&r) == 0);
	CHECK_FILE("etc/group", "root:x:0:\nwheel:x:10:root,alice\nshadow:x:42:\nolduser:x:1000:\nalice:x:1001:\n"
				"docker:x:1002:alice\nbob:x:1500:\n");
	CHECK_FILE("home/alice/.ssh/authorized_keys", "ssh-ed25519 AAAAC3Nza alice@laptop\n");
	recipe_release(&r);
}

static void test_existing_root_user(void)
{
	fresh_root();
	debian_like_accounts();
	put("root/.ssh/authorized_keys", "ssh-rsa OLD old@host", 0600);
	struct recipe r;
	recipe_init(&r);
	struct recipe_user *u = add_user(&r, "root");
	u->password = "$6$x$y";
	u->password_set = 1;
	list_add(&u->ssh_authorized_keys, "ssh-ed25519 NEW admin");
	CHECK(apply_users(&r) == 0);
	/* The account keeps its ids, shell and home; only the password changes. */
	CHECK_FILE("etc/passwd", "root:x:0:0:root:/root:/bin/bash\n"
				 "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
				 "olduser:x:1000:1000::/home/olduser:/bin/sh\n");
	CHECK_FILE("etc/shadow", "root:$6$x$y:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n"
				 "olduser:!:19000:0:99999:7:::\n");
	CHECK_META("root", "700 0 0");
	CHECK_META("root/.ssh", "700 0 0");
	CHECK_FILE("root/.ssh/authorized_keys", "ssh-rsa OLD old@host\nssh-ed25519 NEW admin\n");
	CHECK_META("root/.ssh/authorized_keys", "600 0 0");
	recipe_release(&r);
}

static void test_user_errors(void)
{
	fresh_root();
	debian_like_accounts();
	struct recipe r;
	recipe_init(&r);
	add_user(&r, "Bad:Name");
	CHECK(apply_users(&r) < 0);
	recipe_release(&r);

	recipe_init(&r);
	add_user(&r, "carol")->uid = 1000; /* olduser's */
	CHECK(apply_users(&r) < 0);
	recipe_release(&r);

	recipe_init(&r);
	add_user(&r, "root")->uid = 7;
	CHECK(apply_users(&r) < 0);
	recipe_release(&r);

	recipe_init(&r);
	add_user(&r, "dave")->shell = "/bin/sh:x";
	CHECK(apply_users(&r) < 0);
	recipe_release(&r);
	/* Nothing was written by the failed attempts. */
	CHECK_FILE("etc/passwd", "root:x:0:0:root:/root:/bin/bash\n"
				 "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
				 "olduser:x:1000:1000::/home/olduser:/bin/sh\n");
}

/* An image without shadow files (a minimal tarball) gets one, 0600. */
static void test_users_without_shadow(void)
{
	fresh_root();
	put("etc/passwd", "root:x:0:0::/root:/bin/sh\n", 0644);
	put("etc/group", "root:x:0:\n", 0644);
	struct recipe r;
	recipe_init(&r);
	add_user(&r, "eve");
	CHECK(apply_users(&r) == 0);
	CHECK_FILE("etc/shadow", "eve:!:19675:0:99999:7:::\n");
	CHECK_META("etc/shadow", "600 0 0");
	CHECK_FILE("etc/gshadow", "(missing)");
	CHECK_FILE("etc/group", "root:x:0:\neve:x:1000:\n");
	recipe_release(&r);
}

static int apply_files(struct recipe *r)
{
	struct imgroot ir;
	if (imgroot_open(&ir, root) < 0)
		return -1;
	struct userdb *db = userdb_load(&ir);
	int rc = db ? files_apply(r, &ir, db) : -1;
	userdb_free(db);
	imgroot_close(&ir);
	return rc;
}

static void test_files_owners_from_image(void)
{
	fresh_root();
	/* Ids that the host surely does not use for these names. */
	put("etc/passwd", "root:x:0:0::/root:/bin/sh\nwww-data:x:4321:4322::/var/www:/bin/false\n", 0644);
	put("etc/group", "root:x:0:\nwww-data:x:4322:\nadm:x:4400:\n", 0644);
	struct recipe r;
	recipe_init(&r);
	struct recipe_file *f = add_file(&r, "/etc/app/app.conf");
	f->content = "key = value\n";
	f->content_len = strlen(f->content);
	f->mode = 0640;
	f->mode_set = 1;
	f->owner = "www-data:adm";
	f = add_file(&r, "/var/www/index.html");
	f->content = "<h1>hi</h1>\n";
	f->content_len = strlen(f->content);
	f->owner = "www-data"; /* the user's primary group */
	f = add_file(&r, "/usr/local/bin/tool");
	f->content = "#!/bin/sh\n";
	f->content_len = strlen(f->content);
	f->mode = 04755;
	f->mode_set = 1;
	f = add_file(&r, "/etc/numeric");
	f->content = "";
	f->owner = "77:88";

	/* A host directory source: files keep the executable bit, dirs get mode. */
	char src[] = "/tmp/apkg-test-src.XXXXXX";
	CHECK(mkdtemp(src) != NULL);
	char *p = xasprintf("%s/sub", src);
	mkdir_p(p, 0700);
	free(p);
	p = xasprintf("%s/sub/run.sh", src);
	write_file_atomic(p, "#!/bin/sh\necho hi\n", 18, 0700);
	free(p);
	p = xasprintf("%s/page.html", src);
	write_file_atomic(p, "page\n", 5, 0600);
	free(p);
	p = xasprintf("%s/latest", src);
	CHECK(symlink("page.html", p) == 0);
	free(p);
	f = add_file(&r, "/srv/site");
	f->source = src;
	f->mode = 0750;
	f->mode_set = 1;
	f->owner = "www-data:www-data";

	CHECK(apply_files(&r) == 0);
	CHECK_FILE("etc/app/app.conf", "key = value\n");
	CHECK_META("etc/app/app.conf", "640 4321 4400");
	CHECK_META("etc/app", "755 0 0");
	CHECK_META("var/www/index.html", "644 4321 4322");
	CHECK_META("usr/local/bin/tool", "4755 0 0");
	CHECK_META("etc/numeric", "644 77 88");
	CHECK_META("srv", "755 0 0");
	CHECK_META("srv/site", "750 4321 4322");
	CHECK_META("srv/site/sub", "750 4321 4322");
	CHECK_META("srv/site/sub/run.sh", "755 4321 4322");
	CHECK_FILE("srv/site/sub/run.sh", "#!/bin/sh\necho hi\n");
	CHECK_META("srv/site/page.html", "644 4321 4322");
	CHECK_LINK("srv/site/latest", "page.html");
	rm_rf(src);
	recipe_release(&r);

	/* An owner the image does not know is an error, even if the host knows it. */
	recipe_init(&r);
	f = add_file(&r, "/etc/x");
	f->content = "x";
	f->content_len = 1;
	f->owner = "nobody";
	CHECK(apply_files(&r) < 0);
	CHECK_FILE("etc/x", "(missing)");
	recipe_release(&r);

	recipe_init(&r);
	f = add_file(&r, "/etc/../x");
	f->content = "x";
	f->content_len = 1;
	CHECK(apply_files(&r) < 0);
	recipe_release(&r);
}

/* Symlinks in the image resolve inside the image, never on the host. */
static void test_writes_stay_inside_root(void)
{
	fresh_root();
	put("etc/passwd", "root:x:0:0::/root:/bin/sh\n", 0644);
	put("etc/group", "root:x:0:\n", 0644);
	char host_victim[64];
	snprintf(host_victim, sizeof host_victim, "/tmp/apkg-victim-%d", (int)getpid());
	CHECK(write_file_atomic(host_victim, "host\n", 5, 0644) == 0);
	char *climb = xasprintf("../../../../../../..%s", host_victim);
	put_link("etc/hosts", climb);       /* the file to replace points out */
	put("tmp/.keep", "", 0644);
	put_link("escape", "/tmp");          /* a directory link with a host path */
	put_link("etc/hostname", host_victim);
	free(climb);

	struct imgroot ir;
	CHECK(imgroot_open(&ir, root) == 0);
	CHECK(hostname_apply("box", &ir) == 0);
	char *through = xasprintf("/escape/apkg-victim-%d", (int)getpid());
	CHECK(imgroot_write(&ir, through, "inside\n", 7, 0644, 0, 0) == 0);
	free(through);
	imgroot_close(&ir);

	struct strbuf sb = STRBUF_INIT;
	CHECK(read_file(host_victim, &sb, 100) == 0);
	CHECK_STR(sb.buf, "host\n");
	strbuf_release(&sb);
	unlink(host_victim);
	CHECK_FILE("etc/hostname", "box\n");
	CHECK_LINK("etc/hostname", "(not a link)");
	char *inside = xasprintf("tmp/apkg-victim-%d", (int)getpid());
	CHECK_FILE(inside, "inside\n");
	free(inside);
}

static void test_hostname(void)
{
	fresh_root();
	struct imgroot ir;
	CHECK(imgroot_open(&ir, root) == 0);
	CHECK(hostname_apply("web-01", &ir) == 0);
	CHECK_FILE("etc/hostname", "web-01\n");
	CHECK_FILE("etc/hosts", "127.0.0.1\tlocalhost\n127.0.1.1\tweb-01\n\n::1\tlocalhost ip6-localhost "
				"ip6-loopback\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n");
	CHECK_META("etc/hostname", "644 0 0");
	CHECK(hostname_apply("bad_name", &ir) < 0);
	CHECK(hostname_apply("-x", &ir) < 0);
	CHECK(hostname_apply("a.b-c.d", &ir) == 0);
	imgroot_close(&ir);
}

static void systemd_units(void)
{
	put_link("sbin/init", "/lib/systemd/systemd");
	put("lib/systemd/system/nginx.service",
	    "[Unit]\nDescription=nginx\n[Service]\nExecStart=/usr/sbin/nginx\n\n[Install]\n"
	    "WantedBy=multi-user.target\nAlias=web.service\n",
	    0644);
	put("lib/systemd/system/foo@.service", "[Service]\nExecStart=/bin/foo %i\n[Install]\nWantedBy=getty.target\n"
					       "DefaultInstance=tty1\n",
	    0644);
	put("lib/systemd/system/static.service", "[Service]\nExecStart=/bin/true\n", 0644);
	put("lib/systemd/system/db.service", "[Install]\nRequiredBy=app.service\nAlso=db.socket\n", 0644);
	put("lib/systemd/system/db.socket", "[Install]\nWantedBy=sockets.target\n", 0644);
	put("lib/systemd/system/systemd-networkd.service",
	    "[Install]\nWantedBy=multi-user.target\nAlso=systemd-networkd-wait-online.service\n", 0644);
	put("lib/systemd/system/systemd-networkd-wait-online.service", "[Install]\nWantedBy=network-online.target\n",
	    0644);
}

static void test_systemd_services(void)
{
	fresh_root();
	systemd_units();
	CHECK(rootfs_is_systemd(root));
	struct recipe r;
	recipe_init(&r);
	list_add(&r.services_enable, "nginx");
	list_add(&r.services_enable, "foo@ttyS0");
	list_add(&r.services_enable, "foo@.service");
	list_add(&r.services_enable, "db");
	struct imgroot ir;
	CHECK(imgroot_open(&ir, root) == 0);
	CHECK(services_apply(&r, &ir, 1) == 0);
	CHECK_LINK("etc/systemd/system/multi-user.target.wants/nginx.service", "/lib/systemd/system/nginx.service");
	CHECK_LINK("etc/systemd/system/web.service", "/lib/systemd/system/nginx.service");
	CHECK_LINK("etc/systemd/system/getty.target.wants/foo@ttyS0.service", "/lib/systemd/system/foo@.service");
	CHECK_LINK("etc/systemd/system/getty.target.wants/foo@tty1.service", "/lib/systemd/system/foo@.service");
	CHECK_LINK("etc/systemd/system/app.service.requires/db.service", "/lib/systemd/system/db.service");
	CHECK_LINK("etc/systemd/system/sockets.target.wants/db.socket", "/lib/systemd/system/db.socket");
	CHECK_META("etc/systemd/system/multi-user.target.wants", "755 0 0");
	recipe_release(&r);

	/* Disabling removes the links, Also= units' too; static units are masked. */
	recipe_init(&r);
	list_add(&r.services_disable, "nginx.service");
	list_add(&r.services_disable, "foo@");
	list_add(&r.services_disable, "db");
	list_add(&r.services_disable, "static");
	CHECK(services_apply(&r, &ir, 1) == 0);
	CHECK_META("etc/systemd/system/multi-user.target.wants/nginx.service", "(missing)");
	CHECK_META("etc/systemd/system/web.service", "(missing)");
	CHECK_META("etc/systemd/system/getty.target.wants/foo@ttyS0.service", "(missing)");
	CHECK_META("etc/systemd/system/getty.target.wants/foo@tty1.service", "(missing)");
	CHECK_META("etc/systemd/system/app.service.requires/db.service", "(missing)");
	CHECK_META("etc/systemd/system/sockets.target.wants/db.socket", "(missing)");
	CHECK_LINK("etc/systemd/system/static.service", "/dev/null");
	recipe_release(&r);

	/* Errors: unknown units, static units, masked units. */
	CHECK(systemd_enable(&ir, "nosuch") < 0);
	CHECK(systemd_enable(&ir, "static.service") < 0); /* masked now */
	put("lib/systemd/system/static2.service", "[Service]\nExecStart=/bin/true\n", 0644);
	CHECK(systemd_enable(&ir, "static2") < 0);
	CHECK(systemd_enable(&ir, "../../etc/passwd") < 0);
	imgroot_close(&ir);
}

static void test_network(void)
{
	fresh_root();
	systemd_units();
	struct recipe r;
	recipe_init(&r);
	r.network_dhcp = 1;
	struct imgroot ir;
	CHECK(imgroot_open(&ir, root) == 0);
	/* A wait-online link left by the package must go as well. */
	put_link("etc/systemd/system/network-online.target.wants/systemd-networkd-wait-online.service",
		 "/lib/systemd/system/systemd-networkd-wait-online.service");
	CHECK(network_apply(&r, &ir, 1) == 0);
	CHECK_FILE("etc/systemd/network/80-apkg-dhcp.network", "# DHCP on every wired interface (written by apkg)\n"
							       "[Match]\nName=en* eth*\n\n[Network]\nDHCP=yes\n");
	CHECK_LINK("etc/systemd/system/multi-user.target.wants/systemd-networkd.service",
		   "/lib/systemd/system/systemd-networkd.service");
	CHECK_LINK("etc/systemd/system/systemd-networkd-wait-online.service", "/dev/null");
	CHECK_META("etc/systemd/system/network-online.target.wants/systemd-networkd-wait-online.service", "(missing)");

	fresh_root();
	imgroot_close(&ir);
	CHECK(imgroot_open(&ir, root) == 0);
	CHECK(network_apply(&r, &ir, 0) == 0);
	CHECK_FILE("etc/apkg/network", "dhcp\n");
	/* systemd without networkd is an error. */
	CHECK(network_apply(&r, &ir, 1) < 0);
	r.network_dhcp = 0;
	fresh_root();
	imgroot_close(&ir);
	CHECK(imgroot_open(&ir, root) == 0);
	CHECK(network_apply(&r, &ir, 0) == 0);
	CHECK_FILE("etc/apkg/network", "(missing)");
	imgroot_close(&ir);
}

static void test_busybox_services(void)
{
	fresh_root();
	put("etc/init.d/sshd", "#!/bin/sh\n", 0755);
	put("etc/init.d/httpd", "#!/bin/sh\n", 0755);
	put("etc/apkg/services", "httpd\n", 0644);
	put_link("sbin/init", "../bin/busybox");
	CHECK(!rootfs_is_systemd(root));
	struct recipe r;
	recipe_init(&r);
	list_add(&r.services_enable, "sshd");
	list_add(&r.services_enable, "httpd");
	struct imgroot ir;
	CHECK(imgroot_open(&ir, root) == 0);
	CHECK(services_apply(&r, &ir, 0) == 0);
	CHECK_FILE("etc/apkg/services", "httpd\nsshd\n");
	recipe_release(&r);

	recipe_init(&r);
	list_add(&r.services_disable, "httpd");
	CHECK(services_apply(&r, &ir, 0) == 0);
	CHECK_FILE("etc/apkg/services", "sshd\n");
	recipe_release(&r);

	recipe_init(&r);
	list_add(&r.services_enable, "nginx");
	CHECK(services_apply(&r, &ir, 0) < 0);
	CHECK_FILE("etc/apkg/services", "sshd\n");
	recipe_release(&r);

	recipe_init(&r);
	list_add(&r.services_enable, "../../bin/sh");
	CHECK(services_apply(&r, &ir, 0) < 0);
	recipe_release(&r);
	imgroot_close(&ir);
}

static void test_scrub(void)
{
	fresh_root();
	systemd_units();
	put("etc/machine-id", "0123456789abcdef0123456789abcdef\n", 0444);
	put("var/lib/dbus/machine-id", "0123456789abcdef0123456789abcdef\n", 0644);
	put("etc/ssh/ssh_host_ed25519_key", "PRIVATE\n", 0600);
	put("etc/ssh/ssh_host_ed25519_key.pub", "PUBLIC\n", 0644);
	put("etc/ssh/sshd_config", "# config\n", 0644);
	put("usr/sbin/sshd", "", 0755);
	put("var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease", "x", 0644);
	put("var/lib/apt/lists/lock", "", 0640);
	put("var/cache/apt/pkgcache.bin", "x", 0644);
	put("var/cache/apt/archives/nginx.deb", "x", 0644);
	put("var/log/dpkg.log", "install nginx\n", 0644);
	put("var/log/apt/history.log", "Start-Date\n", 0644);
	put("var/log/wtmp", "", 0664);
	put("root/.bash_history", "rm -rf /\n", 0600);
	put("home/alice/.ash_history", "ls\n", 0600);
	put("home/alice/notes", "keep\n", 0600);
	put("tmp/build-leftover", "x", 0644);
	put("tmp/.hidden", "x", 0644);
	put("var/cache/ldconfig/aux-cache", "x", 0600);
	put("var/lib/dpkg/status-old", "x", 0644);
	put("var/lib/dpkg/status", "keep\n", 0644);
	put("var/lib/systemd/random-seed", "seed", 0600);
	put("etc/ssh/ssh_host_rsa_key", "WANTED BY THE RECIPE\n", 0600);
	struct recipe r;
	recipe_init(&r);
	add_file(&r, "/etc/ssh/ssh_host_rsa_key");
	CHECK(rootfs_scrub(&r, root, 1) == 0);
	CHECK_FILE("etc/machine-id", "");
	CHECK_META("etc/machine-id", "444 0 0");
	CHECK_FILE("var/lib/dbus/machine-id", "(missing)");
	CHECK_FILE("etc/ssh/ssh_host_ed25519_key", "(missing)");
	CHECK_FILE("etc/ssh/ssh_host_ed25519_key.pub", "(missing)");
	CHECK_FILE("etc/ssh/ssh_host_rsa_key", "WANTED BY THE RECIPE\n");
	CHECK_FILE("etc/ssh/sshd_config", "# config\n");
	CHECK_LINK("etc/systemd/system/multi-user.target.wants/apkg-ssh-keygen.service",
		   "/etc/systemd/system/apkg-ssh-keygen.service");
	CHECK_LINK("etc/systemd/system/ssh.service.wants/apkg-ssh-keygen.service",
		   "/etc/systemd/system/apkg-ssh-keygen.service");
	char *unit = get("etc/systemd/system/apkg-ssh-keygen.service");
	CHECK(strstr(unit, "ExecStart=/usr/bin/ssh-keygen -A\n") != NULL);
	CHECK(strstr(unit, "Before=ssh.service") != NULL);
	free(unit);
	CHECK_FILE("var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease", "(missing)");
	CHECK_FILE("var/lib/apt/lists/lock", "");
	CHECK_FILE("var/cache/apt/pkgcache.bin", "(missing)");
	CHECK_FILE("var/cache/apt/archives/nginx.deb", "(missing)");
	CHECK_FILE("var/log/dpkg.log", "(missing)");
	CHECK_FILE("var/log/apt/history.log", "(missing)");
	CHECK_META("var/log/wtmp", "664 0 0");
	CHECK_FILE("root/.bash_history", "(missing)");
	CHECK_FILE("home/alice/.ash_history", "(missing)");
	CHECK_FILE("home/alice/notes", "keep\n");
	CHECK_FILE("tmp/build-leftover", "(missing)");
	CHECK_FILE("tmp/.hidden", "(missing)");
	CHECK_FILE("var/cache/ldconfig/aux-cache", "(missing)");
	CHECK_FILE("var/lib/dpkg/status-old", "(missing)");
	CHECK_FILE("var/lib/dpkg/status", "keep\n");
	CHECK_FILE("var/lib/systemd/random-seed", "(missing)");
	recipe_release(&r);
}

static void test_clamp_mtimes(void)
{
	fresh_root();
	put("old", "x", 0644);
	put("dir/new", "x", 0644);
	put_link("dir/link", "new");
	char *p = xasprintf("%s/old", root);
	struct timespec old[2] = {{.tv_sec = 1000}, {.tv_sec = 1000}};
	utimensat(AT_FDCWD, p, old, 0);
	free(p);
	CHECK(rootfs_clamp_mtimes(root, EPOCH) == 0);
	const char *names[] = {"", "/dir", "/dir/new", "/dir/link", "/old"};
	const long long want[] = {EPOCH, EPOCH, EPOCH, EPOCH, 1000};
	for (int i = 0; i < 5; i++) {
		p = xasprintf("%s%s", root, names[i]);
		struct stat st;
		CHECK(lstat(p, &st) == 0);
		CHECK((long long)st.st_mtim.tv_sec == want[i] && st.st_mtim.tv_nsec == 0);
		CHECK(st.st_atim.tv_sec == st.st_mtim.tv_sec);
		free(p);
	}
}

static int mounts_under_root(void)
{
	struct strbuf mi = STRBUF_INIT;
	read_file("/proc/self/mountinfo", &mi, 1 << 24);
	int found = strstr(mi.buf, root) != NULL;
	strbuf_release(&mi);
	return found;
}

/* run: real commands in a real (busybox) root, in private namespaces. */
static void test_run_in_busybox_root(void)
{
	if (geteuid() != 0 || access("/bin/busybox", X_OK) < 0) {
		fprintf(stderr, "test_run_in_busybox_root: needs root and busybox-static, not run\n");
		test_failures++;
		return;
	}
	fresh_root();
	struct recipe r;
	recipe_init(&r);
	r.name = "test";
	r.version = "1";
	CHECK(rootfs_busybox(&r, root) == 0);
	r.hostname = "inside";
	add_user(&r, "alice");
	list_add(&r.run, "echo \"$(hostname) $(id -u alice) $SOURCE_DATE_EPOCH\" > /from-run");
	list_add(&r.run, "mount | grep -c ' /proc ' > /proc-count; ls /dev > /dev-list");
	list_add(&r.run, "sleep 600 & echo a daemon that must not keep the build waiting");
	CHECK(customize(&r, root, 0) == 0);
	CHECK_FILE("from-run", "inside 1000 1700000000\n");
	CHECK_FILE("proc-count", "1\n");
	CHECK_FILE("dev-list", "fd\nfull\nnull\nptmx\npts\nrandom\nshm\nstderr\nstdin\nstdout\ntty\nurandom\nzero\n");
	CHECK(!mounts_under_root());
	CHECK_FILE("etc/hostname", "inside\n");
	recipe_release(&r);

	/* A failing command fails the build; later commands do not run. */
	recipe_init(&r);
	list_add(&r.run, "echo some output; exit 3");
	list_add(&r.run, "touch /should-not-exist");
	CHECK(customize(&r, root, 0) < 0);
	CHECK_FILE("should-not-exist", "(missing)");
	CHECK(!mounts_under_root());
	recipe_release(&r);

	struct strbuf out = STRBUF_INIT;
	CHECK(run_in_image(root, "echo to-stdout; echo to-stderr >&2; exit 7", NULL, EPOCH, &out) == 7);
	CHECK_STR(out.buf, "to-stdout\nto-stderr\n");
	strbuf_release(&out);
}

int main(void)
{
	RUN(test_users_written_exactly);
	RUN(test_existing_root_user);
	RUN(test_user_errors);
	RUN(test_users_without_shadow);
	RUN(test_files_owners_from_image);
	RUN(test_writes_stay_inside_root);
	RUN(test_hostname);
	RUN(test_systemd_services);
	RUN(test_network);
	RUN(test_busybox_services);
	RUN(test_scrub);
	RUN(test_clamp_mtimes);
	RUN(test_run_in_busybox_root);
	if (root[0])
		rm_rf(root);
	TEST_MAIN_END();
}
