/* builder/probe_install.c: installs apkg-probe, the checks file and (on
 * systemd bases) its unit into an image root, never following a symlink. */
#include "builder/probe_install.h"

#include "builder/recipe.h"
#include "util/diag.h"
#include "util/io.h"
#include "util/json.h"
#include "util/strbuf.h"
#include "validate/probe/checkfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char probe_unit[] =
	"# Installed by apkg. Runs the appliance's boot checks only when `apkg test`\n"
	"# boots the image: apkg's initramfs creates /run/apkg/check when QEMU's fw_cfg\n"
	"# item opt/org.apkg/cmdline (or the kernel command line) says apkg.check=1.\n"
	"[Unit]\n"
	"Description=apkg boot validation probe\n"
	"ConditionPathExists=|/run/apkg/check\n"
	"ConditionKernelCommandLine=|apkg.check=1\n"
	"After=multi-user.target\n"
	"\n"
	"[Service]\n"
	"Type=oneshot\n"
	"ExecStart=" PROBE_INSTALL_PATH "\n"
	"StandardOutput=journal\n"
	"StandardError=journal+console\n"
	"\n"
	"[Install]\n"
	"WantedBy=multi-user.target\n";

static enum probe_kind probe_kind_of(enum check_kind k)
{
	switch (k) {
	case CHECK_SERVICE: return PROBE_SERVICE;
	case CHECK_TCP: return PROBE_TCP;
	case CHECK_HTTP: return PROBE_HTTP;
	case CHECK_COMMAND: return PROBE_COMMAND;
	case CHECK_FILE: break;
	}
	return PROBE_FILE;
}

static struct probe_check probe_check_of(const struct recipe_check *c)
{
	return (struct probe_check){
		.kind = probe_kind_of(c->kind),
		.target = c->kind == CHECK_TCP ? NULL : c->target,
		.port = c->port,
		.status = c->status ? c->status : 200,
		.contains = c->contains,
		.timeout_s = c->timeout_s > 0 ? c->timeout_s : CHECKFILE_DEFAULT_TIMEOUT,
	};
}

char *probe_checks_text(const struct recipe *r)
{
	struct probe_checks cs = {
		.deadline_s = r->check_deadline_s > 0 ? r->check_deadline_s : CHECKFILE_DEFAULT_DEADLINE,
		.items = xcalloc(r->n_checks ? r->n_checks : 1, sizeof *cs.items),
		.n = r->n_checks,
	};
	for (size_t i = 0; i < r->n_checks; i++)
		cs.items[i] = probe_check_of(&r->checks[i]);
	char *text = checkfile_encode(&cs);
	free(cs.items);
	if (!text)
		error("cannot encode the recipe's checks (a check without its target?)");
	return text;
}

void probe_check_names_json(const struct recipe *r, struct strbuf *out)
{
	char label[512];
	strbuf_addc(out, '[');
	for (size_t i = 0; i < r->n_checks; i++) {
		struct probe_check c = probe_check_of(&r->checks[i]);
		checkfile_label(&c, label, sizeof label);
		if (i)
			strbuf_addc(out, ',');
		json_add_str(out, label, strlen(label));
	}
	strbuf_addc(out, ']');
}

/* Opens root/rel as a directory, creating missing components, refusing to
 * follow any symbolic link. Returns an fd or -1. */
static int open_dir_in_root(int rootfd, const char *root, const char *rel)
{
	char *copy = xstrdup(rel), *save = NULL;
	int fd = dup(rootfd);
	for (char *c = strtok_r(copy, "/", &save); c && fd >= 0; c = strtok_r(NULL, "/", &save)) {
		if (mkdirat(fd, c, 0755) < 0 && errno != EEXIST) {
			error_errno("cannot create %s/%s (at '%s')", root, rel, c);
			close(fd);
			fd = -1;
			break;
		}
		int next = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0)
			error_errno("refusing %s/%s: '%s' is not a plain directory (a symbolic link?)", root, rel, c);
		close(fd);
		fd = next;
	}
	free(copy);
	return fd;
}

static int set_epoch(int dirfd, const char *name, uint64_t epoch)
{
	struct timespec ts[2] = {{.tv_sec = (time_t)epoch}, {.tv_sec = (time_t)epoch}};
	if (epoch && utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return error_errno("cannot set the time of %s", name);
	return 0;
}

static int write_in_dir(int dirfd, const char *dir, const char *name, const void *data, size_t len, mode_t mode,
			uint64_t epoch)
{
	if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
		return error_errno("cannot replace %s/%s", dir, name);
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return error_errno("cannot create %s/%s", dir, name);
	int r = write_all(fd, data, len);
	if (r == 0 && fchmod(fd, mode) < 0)
		r = error_errno("chmod %s/%s", dir, name);
	if (close(fd) < 0 && r == 0)
		r = error_errno("cannot write %s/%s", dir, name);
	return r < 0 ? r : set_epoch(dirfd, name, epoch);
}

static int install_file(int rootfd, const char *root, const char *dir, const char *name, const void *data,
			size_t len, mode_t mode, uint64_t epoch)
{
	int dfd = open_dir_in_root(rootfd, root, dir);
	if (dfd < 0)
		return -1;
	int r = write_in_dir(dfd, dir, name, data, len, mode, epoch);
	close(dfd);
	return r;
}

/* systemd's wants-link, as `systemctl enable` would make it. */
static int enable_unit(int rootfd, const char *root, uint64_t epoch)
{
	const char *dir = "etc/systemd/system/multi-user.target.wants";
	int dfd = open_dir_in_root(rootfd, root, dir);
	if (dfd < 0)
		return -1;
	int r = 0;
	if (unlinkat(dfd, PROBE_UNIT_NAME, 0) < 0 && errno != ENOENT)
		r = error_errno("cannot replace %s/%s", dir, PROBE_UNIT_NAME);
	if (r == 0 && symlinkat("/usr/lib/systemd/system/" PROBE_UNIT_NAME, dfd, PROBE_UNIT_NAME) < 0)
		r = error_errno("cannot enable %s", PROBE_UNIT_NAME);
	if (r == 0)
		r = set_epoch(dfd, PROBE_UNIT_NAME, epoch);
	close(dfd);
	return r;
}

/* {"apkg_recipe": 1, "recipe_hash": ..., "recipe": {the resolved recipe}}: what
 * `apkg inspect` reports as the image's recipe. */
static char *recipe_record(const struct recipe *r)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "{\"apkg_recipe\": 1, \"recipe_hash\": \"%s\", \"recipe\": ", r->hash);
	recipe_to_json(r, &sb);
	while (sb.len && sb.buf[sb.len - 1] == '\n')
		sb.buf[--sb.len] = 0;
	strbuf_adds(&sb, "}\n");
	return strbuf_detach(&sb);
}

static int install_into(int rootfd, const struct recipe *r, const char *root, int systemd, const struct strbuf *bin,
			const char *checks)
{
	char *record = recipe_record(r);
	/* 0600: the recipe may hold password hashes and the contents of private files. */
	int rc = install_file(rootfd, root, "usr/lib/apkg", "recipe.json", record, strlen(record), 0600, r->epoch);
	free(record);
	if (rc < 0 ||
	    install_file(rootfd, root, "usr/lib/apkg", "apkg-probe", bin->buf, bin->len, 0755, r->epoch) < 0 ||
	    install_file(rootfd, root, "usr/lib/apkg", "checks", checks, strlen(checks), 0644, r->epoch) < 0)
		return -1;
	if (!systemd)
		return 0;
	if (install_file(rootfd, root, "usr/lib/systemd/system", PROBE_UNIT_NAME, probe_unit, sizeof probe_unit - 1,
			 0644, r->epoch) < 0)
		return -1;
	return enable_unit(rootfd, root, r->epoch);
}

int probe_install(const struct recipe *r, const char *rootdir, int systemd)
{
	char *probe = find_libexec("apkg-probe");
	if (!probe)
		return error("apkg-probe not found next to apkg or in $APKG_LIBEXEC (run 'make')");
	struct strbuf bin = STRBUF_INIT;
	char *checks = NULL;
	int rootfd = -1, ret = -1;
	if (read_file(probe, &bin, 64 << 20) < 0)
		goto out;
	checks = probe_checks_text(r);
	if (!checks)
		goto out;
	rootfd = open(rootdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		error_errno("cannot open the image root %s", rootdir);
		goto out;
	}
	ret = install_into(rootfd, r, rootdir, systemd, &bin, checks);
out:
	if (rootfd >= 0)
		close(rootfd);
	free(probe);
	free(checks);
	strbuf_release(&bin);
	return ret;
}
