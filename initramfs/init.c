/* initramfs/init.c: apkg-init, the static /init of apkg's initramfs.
 *
 * It mounts devtmpfs, proc and sysfs; loads the modules listed in /lib/modules/load.order
 * (dependency order, written by the builder) with finit_module; reads the kernel command line
 * plus the extra options QEMU may pass in fw_cfg (opt/org.apkg/cmdline); finds the root
 * partition by its GPT unique GUID (root=PARTUUID=...) or device path (root=/dev/...), waiting
 * up to apkg.root_timeout seconds; mounts it on /newroot; with apkg.check=1 leaves the flag file
 * /run/apkg/check on a fresh tmpfs /run; then frees the initramfs, moves /newroot to / and
 * execs the real init (init=, default /sbin/init).
 *
 * Promises: on any failure it prints exactly one line, "APKG-INITRAMFS-ERROR: <reason>", on
 * /dev/console and powers the machine off, so that an unattended boot never hangs. It uses
 * only libc and system calls (see Documentation/filesystems/ramfs-rootfs-initramfs.rst for
 * the switch_root rules it follows).
 */
#include "init_parse.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#define LOAD_ORDER "/lib/modules/load.order"
#define FW_CFG_CMDLINE "/sys/firmware/qemu_fw_cfg/by_name/opt/org.apkg/cmdline/raw"
#define NEWROOT "/newroot"
#define POLL_NS 50000000L

static int console_fd = 2;

/* ---- reporting --------------------------------------------------------------------------- */

static void say_line(const char *prefix, const char *fmt, va_list ap)
{
	char line[3072];
	size_t len = (size_t)snprintf(line, sizeof line - 1, "%s", prefix);
	vsnprintf(line + len, sizeof line - 1 - len, fmt, ap);
	len = strlen(line);
	line[len++] = '\n'; /* one write of one whole line */
	if (write(console_fd, line, len) < 0) {
		/* Nowhere else to report to. */
	}
}

__attribute__((format(printf, 1, 2))) static void note(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	say_line("apkg-init: ", fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 1, 2), noreturn)) static void fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	say_line("APKG-INITRAMFS-ERROR: ", fmt, ap);
	va_end(ap);
	sync();
	reboot(RB_POWER_OFF);
	/* No power-off support: exiting makes the kernel panic, and panic= reboots or stops. */
	_exit(1);
}

/* A bounded, always NUL-terminated text accumulator for the error report. */
struct text {
	char buf[1536];
	size_t len;
};

__attribute__((format(printf, 2, 3))) static void text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t->buf + t->len, sizeof t->buf - t->len, fmt, ap);
	va_end(ap);
	t->len = strlen(t->buf);
}

static double uptime_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- small file helpers ------------------------------------------------------------------ */

/* Reads up to cap-1 bytes of a (small, virtual) file; returns the length or -1. */
static ssize_t read_small(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t len = 0;
	while (len < cap - 1) {
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = 0;
	return (ssize_t)len;
}

static int read_u64(const char *path, unsigned long long *out)
{
	char buf[64];
	char *end;
	if (read_small(path, buf, sizeof buf) <= 0)
		return -1;
	errno = 0;
	*out = strtoull(buf, &end, 10);
	return errno || end == buf ? -1 : 0;
}

static int pread_full(int fd, void *buf, size_t len, off_t off)
{
	char *p = buf;
	while (len) {
		ssize_t n = pread(fd, p, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/* ---- early mounts and modules ------------------------------------------------------------ */

static void mount_api_filesystems(void)
{
	static const struct { const char *src, *dir, *type; } fs[] = {
		{ "devtmpfs", "/dev", "devtmpfs" },
		{ "proc", "/proc", "proc" },
		{ "sysfs", "/sys", "sysfs" },
	};
	for (size_t i = 0; i < sizeof fs / sizeof *fs; i++) {
		mkdir(fs[i].dir, 0755);
		if (mount(fs[i].src, fs[i].dir, fs[i].type, MS_NOSUID | MS_NOEXEC, NULL) < 0 && errno != EBUSY)
			fail("cannot mount %s on %s: %s", fs[i].type, fs[i].dir, strerror(errno));
	}
	int fd = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (fd >= 0)
		console_fd = fd;
}

struct module_report {
	unsigned loaded, skipped;
	struct text loaded_names, skipped_names;
};

static void module_base_name(const char *path, char *out, size_t cap)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	size_t n = strcspn(b, ".");
	if (n >= cap)
		n = cap - 1;
	memcpy(out, b, n);
	out[n] = 0;
}

static void load_module(const char *path, struct module_report *r, int debug)
{
	char name[64];
	module_base_name(path, name, sizeof name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int err = 0;
	if (fd < 0)
		err = errno;
	else if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST)
		err = errno;
	if (fd >= 0)
		close(fd);
	if (err) {
		/* Expected for hardware this machine lacks (hv_vmbus, xen): reported only on failure. */
		r->skipped++;
		text_add(&r->skipped_names, "%s%s (%s)", r->skipped_names.len ? ", " : "", name, strerror(err));
	} else {
		r->loaded++;
		text_add(&r->loaded_names, "%s%s", r->loaded_names.len ? " " : "", name);
	}
	if (debug)
		note("module %s: %s", name, err ? strerror(err) : "loaded");
}

static void load_modules(struct module_report *r, int debug)
{
	static char list[65536];
	ssize_t len = read_small(LOAD_ORDER, list, sizeof list);
	if (len < 0)
		return; /* a kernel with every driver built in needs no list */
	if ((size_t)len == sizeof list - 1)
		fail("%s is larger than %zu bytes", LOAD_ORDER, sizeof list - 1);
	char *save = NULL;
	for (char *line = strtok_r(list, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (line[0] == '/')
			load_module(line, r, debug);
}

/* The extra options QEMU passes with -fw_cfg name=opt/org.apkg/cmdline,string=... */
static size_t read_fw_cfg_options(char *buf, size_t cap)
{
	ssize_t n = read_small(FW_CFG_CMDLINE, buf, cap);
	if (n <= 0) {
		buf[0] = 0;
		return 0;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\0' || buf[n - 1] == ' '))
		buf[--n] = 0;
	return (size_t)n;
}

/* ---- finding the root device ------------------------------------------------------------- */

/* The partition device (e.g. "vda2", "nvme0n1p2") numbered partno on disk, in name, or -1. */
static int partition_name(const char *disk, int partno, char *name, size_t cap)
{
	char dir[300];
	snprintf(dir, sizeof dir, "/sys/block/%s", disk);
	DIR *d = opendir(dir);
	struct dirent *de;
	int found = -1;
	while (d && found < 0 && (de = readdir(d))) {
		char path[600];
		unsigned long long n;
		if (de->d_name[0] == '.' || strlen(de->d_name) >= cap)
			continue;
		snprintf(path, sizeof path, "%s/%s/partition", dir, de->d_name);
		if (read_u64(path, &n) == 0 && n == (unsigned long long)partno) {
			strcpy(name, de->d_name);
			found = 0;
		}
	}
	if (d)
		closedir(d);
	return found;
}

/* Reads and validates the GPT at header_lba; returns the partition number of guid, 0 if
 * absent, -1 if there is no valid GPT there. */
static int gpt_lookup(int fd, size_t bs, uint64_t disk_lbas, uint64_t header_lba, const uint8_t guid[16])
{
	static uint8_t sector[4096];
	static uint8_t entries[GPT_MAX_ENTRY_BYTES];
	struct gpt_info g;
	if (bs > sizeof sector || pread_full(fd, sector, bs, (off_t)(header_lba * bs)) < 0 ||
	    gpt_parse_header(sector, bs, header_lba, disk_lbas, &g) < 0)
		return -1;
	size_t len = gpt_entries_bytes(&g);
	if (pread_full(fd, entries, len, (off_t)(g.entries_lba * bs)) < 0)
		return -1;
	return gpt_find_partition(entries, len, &g, guid);
}

/* Looks for guid on one whole disk; fills dev ("/dev/vda2") and returns 1 when found. */
static int scan_disk(const char *disk, const uint8_t guid[16], char *dev, size_t cap, struct text *seen)
{
	char path[300];
	unsigned long long sectors, bs;
	snprintf(path, sizeof path, "/sys/block/%s/size", disk);
	if (read_u64(path, &sectors) < 0 || sectors == 0)
		return 0;
	snprintf(path, sizeof path, "/sys/block/%s/queue/logical_block_size", disk);
	if (read_u64(path, &bs) < 0 || bs < 512 || bs > 4096 || (bs & (bs - 1)))
		bs = 512;
	snprintf(path, sizeof path, "/dev/%s", disk);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		text_add(seen, " %s(%s)", disk, strerror(errno));
		return 0;
	}
	uint64_t lbas = sectors * 512 / bs;
	int part = gpt_lookup(fd, bs, lbas, 1, guid);
	if (part < 0 && lbas > 1)
		part = gpt_lookup(fd, bs, lbas, lbas - 1, guid); /* the backup header */
	close(fd);
	char name[128];
	if (part <= 0) {
		text_add(seen, " %s(%s)", disk, part < 0 ? "no GPT" : "GPT");
		return 0;
	}
	if (partition_name(disk, part, name, sizeof name) < 0) {
		text_add(seen, " %s(partition %d not yet known to the kernel)", disk, part);
		return 0;
	}
	snprintf(dev, cap, "/dev/%s", name);
	struct stat st;
	return stat(dev, &st) == 0 && S_ISBLK(st.st_mode);
}

static int find_by_partuuid(const uint8_t guid[16], char *dev, size_t cap, struct text *seen)
{
	DIR *d = opendir("/sys/block");
	struct dirent *de;
	int found = 0;
	seen->len = 0;
	seen->buf[0] = 0;
	while (d && !found && (de = readdir(d)))
		if (de->d_name[0] != '.' && strlen(de->d_name) < 100)
			found = scan_disk(de->d_name, guid, dev, cap, seen);
	if (d)
		closedir(d);
	return found;
}

static int find_by_path(const char *path, char *dev, size_t cap)
{
	struct stat st;
	if (stat(path, &st) < 0 || !S_ISBLK(st.st_mode))
		return 0;
	snprintf(dev, cap, "%s", path);
	return 1;
}

static void wait_for_root(const struct boot_opts *o, char *dev, size_t cap, const struct module_report *mods)
{
	uint8_t guid[16];
	int by_uuid = !strncmp(o->root, "PARTUUID=", 9);
	if (!o->root[0])
		fail("no root= on the kernel command line");
	if (by_uuid && guid_parse(o->root + 9, guid) < 0)
		fail("root=%s: PARTUUID must be a GUID like 01234567-89ab-cdef-0123-456789abcdef", o->root);
	if (!by_uuid && strncmp(o->root, "/dev/", 5))
		fail("root=%s is not supported (use root=PARTUUID=<guid> or root=/dev/<name>)", o->root);
	struct text seen = { .len = 0 };
	double deadline = uptime_s() + o->timeout_s;
	for (;;) {
		if (by_uuid ? find_by_partuuid(guid, dev, cap, &seen) : find_by_path(o->root, dev, cap))
			return;
		if (uptime_s() >= deadline)
			fail("root device %s not found after %u s (disks:%s; loaded modules: %s; not loaded: %s)",
			     o->root, o->timeout_s, seen.len ? seen.buf : " none", mods->loaded_names.buf,
			     mods->skipped ? mods->skipped_names.buf : "none");
		struct timespec ts = { 0, POLL_NS };
		nanosleep(&ts, NULL);
	}
}

/* ---- switching to the root file system --------------------------------------------------- */

static void leave_check_flag(const char *extra)
{
	mkdir(NEWROOT "/run", 0755);
	if (mount("tmpfs", NEWROOT "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
		fail("apkg.check: cannot mount a tmpfs on /run of the root file system: %s", strerror(errno));
	if (mkdir(NEWROOT "/run/apkg", 0755) < 0 && errno != EEXIST)
		fail("apkg.check: cannot create /run/apkg: %s", strerror(errno));
	int fd = open(NEWROOT "/run/apkg/check", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	const char *text = extra[0] ? extra : "apkg.check=1";
	if (fd < 0 || write(fd, text, strlen(text)) < 0 || write(fd, "\n", 1) < 0 || close(fd) < 0)
		fail("apkg.check: cannot write /run/apkg/check: %s", strerror(errno));
}

static void move_api_filesystems(void)
{
	static const char *const dirs[] = { "/dev", "/proc", "/sys" };
	for (size_t i = 0; i < 3; i++) {
		char target[64];
		snprintf(target, sizeof target, NEWROOT "%s", dirs[i]);
		mkdir(target, 0755);
		if (mount(dirs[i], target, NULL, MS_MOVE, NULL) < 0)
			umount2(dirs[i], MNT_DETACH); /* the root's own init mounts it again */
	}
}

/* Removes the initramfs contents (they would otherwise stay in RAM for good), staying on the
 * initramfs itself: the mounted root is on another device and is skipped. */
static void delete_tree(int dirfd, dev_t rootdev)
{
	DIR *d = fdopendir(dirfd);
	if (!d) {
		close(dirfd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		struct stat st;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != rootdev)
			continue;
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0)
				delete_tree(sub, rootdev);
			unlinkat(dirfd, de->d_name, AT_REMOVEDIR);
		} else {
			unlinkat(dirfd, de->d_name, 0);
		}
	}
	closedir(d);
}

static void free_initramfs(void)
{
	struct statfs sfs;
	struct stat st;
	if (getpid() != 1 || statfs("/", &sfs) < 0 || stat("/", &st) < 0)
		return;
	unsigned long type = (unsigned long)sfs.f_type;
	if (type != 0x858458f6ul /* RAMFS_MAGIC */ && type != 0x01021994ul /* TMPFS_MAGIC */)
		return;
	int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0)
		delete_tree(fd, st.st_dev);
}

static void switch_root(const struct boot_opts *o, char **argv)
{
	if (chdir(NEWROOT) < 0)
		fail("cannot enter %s: %s", NEWROOT, strerror(errno));
	free_initramfs();
	if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
		fail("cannot move the root file system to /: %s", strerror(errno));
	if (chroot(".") < 0 || chdir("/") < 0)
		fail("cannot chroot into the root file system: %s", strerror(errno));
	if (access(o->init, X_OK) < 0)
		fail("init %s: %s in the root file system", o->init, strerror(errno));
	argv[0] = (char *)o->init;
	extern char **environ;
	execve(o->init, argv, environ);
	fail("cannot run init %s: %s", o->init, strerror(errno));
}

int main(int argc, char **argv)
{
	(void)argc;
	mount_api_filesystems();
	static char cmdline[8192], extra[4096];
	struct boot_opts opts;
	boot_opts_init(&opts);
	ssize_t n = read_small("/proc/cmdline", cmdline, sizeof cmdline);
	boot_opts_parse(&opts, cmdline, n > 0 ? (size_t)n : 0);

	struct module_report mods = { 0 };
	load_modules(&mods, opts.debug);
	size_t extra_len = read_fw_cfg_options(extra, sizeof extra);
	boot_opts_parse(&opts, extra, extra_len);
	if (opts.bad[0])
		fail("invalid or overlong value for %s on the kernel command line", opts.bad);

	char dev[300];
	wait_for_root(&opts, dev, sizeof dev, &mods);
	mkdir(NEWROOT, 0755);
	unsigned long flags = opts.rw ? 0 : MS_RDONLY;
	if (mount(dev, NEWROOT, opts.fstype, flags, opts.flags[0] ? opts.flags : NULL) < 0)
		fail("cannot mount root %s (%s) as %s: %s", dev, opts.root, opts.fstype, strerror(errno));
	if (opts.check)
		leave_check_flag(extra);
	note("root %s (%s) mounted %s at %.2f s; %u modules loaded, %u not for this machine%s", dev, opts.root,
	     opts.rw ? "rw" : "ro", uptime_s(), mods.loaded, mods.skipped, opts.check ? "; boot check flag set" : "");
	move_api_filesystems();
	switch_root(&opts, argv);
	return 1;
}
