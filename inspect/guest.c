/* inspect/guest.c: starting libguestfs for an inspection, and bounded reads from the guest (see guest.h). */
#include "inspect/guest.h"

#include "builder/hygiene.h"
#include "inspect/guestfs_dl.h"
#include "inspect/source.h"
#include "kernel/kernel.h"
#include "util/diag.h"
#include "vmm/vmm.h"
#include "util/io.h"
#include "util/strbuf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HEAD_MAX (16u << 20)
#define CHUNK (1u << 20) /* well below libguestfs' protocol message limit */

/* ---- the appliance kernel ---- */

static int host_has_kernel(void)
{
	const char *dirs[] = {"/boot", NULL};
	for (size_t i = 0; dirs[i]; i++) {
		DIR *d = opendir(dirs[i]);
		struct dirent *de;
		int found = 0;
		while (d && (de = readdir(d)))
			found |= !strncmp(de->d_name, "vmlinuz-", 8) || !strncmp(de->d_name, "vmlinux-", 8);
		if (d)
			closedir(d);
		if (found)
			return 1;
	}
	DIR *d = opendir("/lib/modules");
	struct dirent *de;
	int found = 0;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *p = xasprintf("/lib/modules/%s/vmlinuz", de->d_name);
		found |= path_exists(p);
		free(p);
	}
	if (d)
		closedir(d);
	return found;
}

/* libguestfs builds its appliance (supermin) from the host's kernel. A host
 * without one (a container, a CI runner) gets the Debian kernel that apkg
 * caches for busybox appliances, through supermin's own variables. */
static int provide_appliance_kernel(void)
{
	if (getenv("SUPERMIN_KERNEL") || host_has_kernel())
		return 0;
	struct kernel k;
	if (kernel_fetch("linux-image-amd64", NULL, &k) < 0)
		return error("this host has no kernel in /boot for libguestfs' appliance, and apkg could not "
			     "fetch linux-image-amd64 either (set SUPERMIN_KERNEL and SUPERMIN_MODULES, or "
			     "install a kernel package)");
	setenv("SUPERMIN_KERNEL", k.vmlinuz, 1);
	setenv("SUPERMIN_MODULES", k.modules_dir, 1);
	setenv("SUPERMIN_KERNEL_VERSION", k.release, 1);
	kernel_release(&k);
	return 0;
}

/* ---- launch ---- */

static void launch_failed(guestfs_h *g)
{
	const char *e = guestfs_last_error(g);
	error("libguestfs could not start: %s", e ? e : "unknown error");
	if (e && strstr(e, "supermin") && !is_dir("/lib/modules"))
		error("hint: supermin 5.2 needs the directory /lib/modules on the host even when "
		      "SUPERMIN_MODULES points elsewhere: `mkdir -p /lib/modules` (make deps does it)");
	else if (e && strstr(e, "supermin"))
		error("hint: run `LIBGUESTFS_DEBUG=1 libguestfs-test-tool` to see why its appliance cannot be built");
}

static int configure(guestfs_h *g)
{
	char why[160];
	guestfs_set_error_handler(g, NULL, NULL);
	if (!vmm_hw_virt_available(why, sizeof why)) {
		/* Without VMX/SVM (or on kvm-pvm) a KVM guest hangs; TCG is slow but finishes. */
		char *settings[] = {"force_tcg", NULL};
		if (!getenv("LIBGUESTFS_BACKEND") && guestfs_set_backend(g, "direct") < 0)
			return -1;
		if (guestfs_set_backend_settings(g, settings) < 0)
			return -1;
		info("    libguestfs on TCG: %s", why);
	}
	return 0;
}

guestfs_h *guest_launch(const struct inspect_source *src)
{
	const char *missing = guestfs_dl_load();
	if (missing) {
		error("apkg inspect needs %s", missing);
		return NULL;
	}
	if (provide_appliance_kernel() < 0)
		return NULL;
	guestfs_h *g = guestfs_create();
	if (!g) {
		error("cannot create a libguestfs handle");
		return NULL;
	}
	if (configure(g) < 0) {
		error("cannot configure libguestfs: %s", guestfs_last_error(g));
		guestfs_close(g);
		return NULL;
	}
	for (size_t i = 0; i < src->n_disks; i++) {
		const struct inspect_disk_source *d = &src->disks[i];
		if (guestfs_add_drive_opts(g, d->drive, GUESTFS_ADD_DRIVE_OPTS_READONLY, 1, GUESTFS_ADD_DRIVE_OPTS_FORMAT,
					   d->drive_format, -1) < 0) {
			error("libguestfs cannot add %s: %s", d->member ? d->member : src->path, guestfs_last_error(g));
			guestfs_close(g);
			return NULL;
		}
	}
	if (guestfs_launch(g) < 0) {
		launch_failed(g);
		guestfs_close(g);
		return NULL;
	}
	return g;
}

void guest_close(guestfs_h *g)
{
	if (!g)
		return;
	guestfs_shutdown(g);
	guestfs_close(g);
}

/* ---- bounded reads ---- */

int guest_is_regular(guestfs_h *g, const char *path)
{
	return guestfs_is_file_opts(g, path, GUESTFS_IS_FILE_OPTS_FOLLOWSYMLINKS, 0, -1) == 1;
}

int guest_is_dir(guestfs_h *g, const char *path)
{
	return guestfs_is_dir_opts(g, path, GUESTFS_IS_DIR_OPTS_FOLLOWSYMLINKS, 0, -1) == 1;
}

long long guest_size(guestfs_h *g, const char *path)
{
	if (!guest_is_regular(g, path))
		return -1;
	int64_t n = guestfs_filesize(g, path);
	return n < 0 ? -1 : (long long)n;
}

char *guest_read_head(guestfs_h *g, const char *path, size_t n, size_t *len)
{
	if (!guest_is_regular(g, path))
		return NULL;
	if (n > HEAD_MAX)
		n = HEAD_MAX;
	char *out = xmalloc(n + 1);
	size_t have = 0;
	while (have < n) {
		size_t got = 0, want = n - have < CHUNK ? n - have : CHUNK;
		char *d = guestfs_pread(g, path, (int)want, (int64_t)have, &got);
		if (!d) {
			free(out);
			return NULL;
		}
		memcpy(out + have, d, got <= want ? got : want);
		free(d);
		if (!got)
			break;
		have += got <= want ? got : want;
	}
	out[have] = 0;
	*len = have;
	return out;
}

char *guest_read(guestfs_h *g, const char *path, size_t max, size_t *len)
{
	long long size = guest_size(g, path);
	if (size < 0 || (unsigned long long)size > max)
		return NULL;
	return guest_read_head(g, path, (size_t)size ? (size_t)size : 1, len);
}

char *guest_find(guestfs_h *g, const char *path)
{
	char *p = guestfs_case_sensitive_path(g, path);
	if (!p)
		return NULL;
	if (guestfs_exists(g, p) != 1) {
		free(p);
		return NULL;
	}
	return p;
}

char **guest_ls(guestfs_h *g, const char *dir)
{
	return guest_is_dir(g, dir) ? guestfs_ls(g, dir) : NULL;
}

void guest_free_strings(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* ---- the hygiene stream ---- */

struct tar_reader {
	int fd;
	struct hygiene_scan *s;
	int rc;
};

static void *read_tar(void *arg)
{
	struct tar_reader *t = arg;
	t->rc = hygiene_scan_tar_fd(t->s, t->fd);
	char buf[65536]; /* drain, so that libguestfs never writes into a closed pipe */
	while (read(t->fd, buf, sizeof buf) > 0)
		;
	return NULL;
}

int guest_scan_hygiene(guestfs_h *g, const char *dir, struct hygiene_scan *s)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return error_errno("pipe");
	struct tar_reader t = {.fd = p[0], .s = s};
	pthread_t th;
	if (pthread_create(&th, NULL, read_tar, &t) != 0) {
		close(p[0]);
		close(p[1]);
		return error("cannot start a thread");
	}
	char out[32];
	snprintf(out, sizeof out, "/dev/fd/%d", p[1]);
	int rc = guestfs_tar_out_opts(g, dir, out, GUESTFS_TAR_OUT_OPTS_NUMERICOWNER, 1, -1);
	if (rc < 0)
		error("cannot read the files of the image: %s", guestfs_last_error(g));
	close(p[1]);
	pthread_join(th, NULL);
	close(p[0]);
	return rc < 0 || t.rc < 0 ? -1 : 0;
}
