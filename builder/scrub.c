/* builder/scrub.c: strip identity, caches and build noise from a root tree.
 *
 * Every copy of an appliance must get its own SSH host keys and machine-id
 * (see shared/reference/peers.md, item 10), and an image should not carry
 * the package lists, logs and histories of the machine that built it. The
 * same tree built twice from the same inputs should also be identical, so
 * stale backups of databases go and timestamps are clamped to the epoch.
 * Everything here goes through builder/imgroot.c: an image's symlinks can
 * never steer a removal outside the root.
 */
#include "builder/rootfs.h"

#include "builder/customize.h"
#include "builder/imgroot.h"
#include "builder/recipe.h"
#include "util/diag.h"
#include "util/strbuf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SSH_KEYGEN_UNIT "apkg-ssh-keygen.service"

static const char ssh_keygen_unit[] =
	"# Written by apkg: every copy of this appliance makes its own SSH host keys.\n"
	"[Unit]\n"
	"Description=Generate SSH host keys on first boot\n"
	"Documentation=man:ssh-keygen(1)\n"
	"Before=ssh.service sshd.service ssh.socket\n"
	"ConditionPathExists=|!/etc/ssh/ssh_host_ed25519_key\n"
	"ConditionPathExists=|!/etc/ssh/ssh_host_ecdsa_key\n"
	"ConditionPathExists=|!/etc/ssh/ssh_host_rsa_key\n"
	"\n"
	"[Service]\n"
	"Type=oneshot\n"
	"ExecStart=/usr/bin/ssh-keygen -A\n"
	"RemainAfterExit=yes\n"
	"\n"
	"[Install]\n"
	"WantedBy=multi-user.target ssh.service\n";

struct scrub {
	const struct recipe *r;
	const struct imgroot *ir;
};

/* True if the recipe's `files` put this path (or a directory above it) there. */
static int recipe_installs(const struct recipe *r, const char *path)
{
	for (size_t i = 0; r && i < r->n_files; i++) {
		const char *p = r->files[i].path;
		size_t n = p ? strlen(p) : 0;
		if (n && !strncmp(path, p, n) && (path[n] == 0 || path[n] == '/'))
			return 1;
	}
	return 0;
}

static int remove_path(const struct scrub *s, const char *path)
{
	if (recipe_installs(s->r, path))
		return 0;
	return imgroot_remove_tree(s->ir, path);
}

/* Removes the entries of dir matching pattern, except the names in keep. */
static int remove_matching(const struct scrub *s, const char *dir, const char *pattern, const char *const *keep)
{
	size_t n;
	char **names = imgroot_list_dir(s->ir, dir, &n);
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		int kept = 0;
		for (const char *const *k = keep; k && *k; k++)
			kept |= !strcmp(names[i], *k);
		if (kept || fnmatch(pattern, names[i], FNM_PERIOD))
			continue;
		char *p = xasprintf("%s/%s", dir, names[i]);
		r = remove_path(s, p);
		free(p);
	}
	imgroot_free_names(names, n);
	return r;
}

/* Non-empty regular files under /var/log go; empty ones are kept, as
 * packages create them with the owner and mode their daemons need. */
static int scrub_logs(const struct scrub *s, const char *dir, int depth)
{
	size_t n;
	char **names = imgroot_list_dir(s->ir, dir, &n);
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		char *p = xasprintf("%s/%s", dir, names[i]);
		struct stat st;
		if (imgroot_lstat(s->ir, p, &st) == 0) {
			if (S_ISDIR(st.st_mode) && depth < 16)
				r = scrub_logs(s, p, depth + 1);
			else if (S_ISREG(st.st_mode) && st.st_size > 0)
				r = remove_path(s, p);
		}
		free(p);
	}
	imgroot_free_names(names, n);
	return r;
}

static const char *const histories[] = {".bash_history", ".ash_history", ".sh_history", ".zsh_history",
					".python_history", ".lesshst", ".viminfo", ".wget-hsts", NULL};

static int scrub_histories(const struct scrub *s, const char *home)
{
	int r = 0;
	for (const char *const *h = histories; *h && r == 0; h++) {
		char *p = xasprintf("%s/%s", home, *h);
		struct stat st;
		if (imgroot_lstat(s->ir, p, &st) == 0 && !S_ISDIR(st.st_mode))
			r = remove_path(s, p);
		free(p);
	}
	return r;
}

static int scrub_all_histories(const struct scrub *s)
{
	int r = scrub_histories(s, "/root");
	size_t n;
	char **names = imgroot_list_dir(s->ir, "/home", &n);
	for (size_t i = 0; i < n && r == 0; i++) {
		char *home = xasprintf("/home/%s", names[i]);
		r = scrub_histories(s, home);
		free(home);
	}
	imgroot_free_names(names, n);
	return r;
}

/* Empties /etc/machine-id (keeping the file: systemd then treats the boot
 * as the first one and generates an id), or creates it empty for systemd. */
static int scrub_machine_id(const struct scrub *s, int systemd)
{
	struct stat st;
	if (recipe_installs(s->r, "/etc/machine-id"))
		return 0;
	if (imgroot_lstat(s->ir, "/etc/machine-id", &st) == 0) {
		if (!S_ISREG(st.st_mode) || st.st_size == 0)
			return 0;
		return imgroot_write(s->ir, "/etc/machine-id", "", 0, st.st_mode & 07777, st.st_uid, st.st_gid);
	}
	if (!systemd)
		return 0;
	return imgroot_write(s->ir, "/etc/machine-id", "", 0, 0444, 0, 0);
}

static int remove_if_regular(const struct scrub *s, const char *path)
{
	struct stat st;
	if (imgroot_lstat(s->ir, path, &st) == 0 && S_ISREG(st.st_mode))
		return remove_path(s, path);
	return 0;
}

/* Host keys go; with sshd under systemd a oneshot unit makes new ones on
 * the first boot, before sshd starts. */
static int scrub_ssh(const struct scrub *s, int systemd)
{
	if (remove_matching(s, "/etc/ssh", "ssh_host_*", NULL) < 0 ||
	    remove_matching(s, "/etc/dropbear", "dropbear_*_host_key", NULL) < 0)
		return -1;
	if (!systemd || !imgroot_exists(s->ir, "/usr/sbin/sshd"))
		return 0;
	if (imgroot_write(s->ir, "/etc/systemd/system/" SSH_KEYGEN_UNIT, ssh_keygen_unit, sizeof ssh_keygen_unit - 1,
			  0644, 0, 0) < 0)
		return -1;
	return systemd_enable(s->ir, SSH_KEYGEN_UNIT);
}

static int scrub_apt(const struct scrub *s)
{
	static const char *const keep_lists[] = {"lock", "partial", NULL};
	static const char *const keep_archives[] = {"lock", "partial", NULL};
	return remove_matching(s, "/var/lib/apt/lists", "*", keep_lists) |
	       remove_matching(s, "/var/lib/apt/lists/partial", "*", NULL) |
	       remove_matching(s, "/var/cache/apt", "*.bin", NULL) |
	       remove_matching(s, "/var/cache/apt/archives", "*", keep_archives) |
	       remove_matching(s, "/var/cache/apt/archives/partial", "*", NULL);
}

int rootfs_scrub(const struct recipe *r, const char *rootdir, int systemd)
{
	struct imgroot ir;
	if (imgroot_open(&ir, rootdir) < 0)
		return -1;
	struct scrub s = {.r = r, .ir = &ir};
	int rc = scrub_machine_id(&s, systemd) | remove_if_regular(&s, "/var/lib/dbus/machine-id") |
		 remove_if_regular(&s, "/var/lib/systemd/random-seed") |
		 remove_if_regular(&s, "/var/lib/systemd/credential.secret") | scrub_ssh(&s, systemd) | scrub_apt(&s) |
		 scrub_logs(&s, "/var/log", 0) | scrub_all_histories(&s) |
		 remove_if_regular(&s, "/var/cache/ldconfig/aux-cache") |
		 remove_matching(&s, "/var/cache/debconf", "*-old", NULL) |
		 remove_matching(&s, "/var/lib/dpkg", "*-old", NULL) | remove_matching(&s, "/tmp", "*", NULL) |
		 remove_matching(&s, "/var/tmp", "*", NULL);
	/* FNM_PERIOD above keeps dot files out of "*": catch them in the temporary directories too. */
	rc |= remove_matching(&s, "/tmp", ".*", NULL) | remove_matching(&s, "/var/tmp", ".*", NULL);
	imgroot_close(&ir);
	return rc ? -1 : 0;
}

/* Clamps times below dirfd/name; st is name's lstat. */
static int clamp_at(int parent, const char *name, const struct stat *st, dev_t dev, const struct timespec *epoch,
		    int depth)
{
	if (S_ISDIR(st->st_mode) && st->st_dev == dev && depth < 256) {
		int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
		if (!d) {
			if (fd >= 0)
				close(fd);
			return error_errno("cannot read %s", name);
		}
		int r = 0;
		struct dirent *de;
		while (r == 0 && (de = readdir(d))) {
			struct stat cst;
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			if (fstatat(dirfd(d), de->d_name, &cst, AT_SYMLINK_NOFOLLOW) == 0)
				r = clamp_at(dirfd(d), de->d_name, &cst, dev, epoch, depth + 1);
		}
		closedir(d);
		if (r < 0)
			return r;
	}
	/* Only a modification time past the epoch is touched: reading a file
	 * bumps its access time, and rewriting every access time would change
	 * every inode's ctime, which the stage cache takes as a change of the
	 * file (builder/ostree_tree.h). The image gets every access time set
	 * to the epoch anyway (builder/ext4.c). */
	if (st->st_mtim.tv_sec <= epoch->tv_sec)
		return 0;
	struct timespec times[2] = {*epoch, *epoch};
	if (utimensat(parent, name, times, AT_SYMLINK_NOFOLLOW) < 0)
		return error_errno("cannot set the times of %s", name);
	return 0;
}

int rootfs_clamp_mtimes(const char *rootdir, uint64_t epoch)
{
	struct stat st;
	if (lstat(rootdir, &st) < 0)
		return error_errno("cannot stat %s", rootdir);
	struct timespec e = {.tv_sec = (time_t)epoch, .tv_nsec = 0};
	return clamp_at(AT_FDCWD, rootdir, &st, st.st_dev, &e, 0);
}
