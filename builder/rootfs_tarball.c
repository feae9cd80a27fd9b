/* builder/rootfs_tarball.c: a root filesystem from a tar archive, treated as hostile.
 *
 * Two independent fences keep the archive inside the root directory:
 * libarchive's ARCHIVE_EXTRACT_SECURE_* checks refuse absolute paths, ".."
 * and writing through a symlink, which turns a hostile archive into a clear
 * error naming the entry; and the extraction runs in a child process that
 * is chrooted into the root, so even a check libarchive missed could not
 * reach the host's files. Owners are the archive's numeric ids (a root
 * filesystem's names mean nothing on the build host); modes, ACLs, xattrs
 * (file capabilities included) and times are kept.
 */
#include "builder/rootfs.h"

#include "builder/recipe.h"
#include "util/diag.h"
#include "util/io.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define EXTRACT_FLAGS                                                                                          \
	(ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS | \
	 ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_ACL |               \
	 ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_SPARSE)

static int copy_data(struct archive *in, struct archive *out)
{
	for (;;) {
		const void *buf;
		size_t size;
		la_int64_t offset;
		int r = archive_read_data_block(in, &buf, &size, &offset);
		if (r == ARCHIVE_EOF)
			return ARCHIVE_OK;
		if (r < ARCHIVE_OK)
			return r;
		if (archive_write_data_block(out, buf, size, offset) < ARCHIVE_OK)
			return ARCHIVE_FAILED;
	}
}

/* Runs in the chrooted child; prints its own errors. */
static int extract_all(int fd, const char *tarball)
{
	struct archive *in = archive_read_new(), *out = archive_write_disk_new();
	archive_read_support_filter_all(in);
	archive_read_support_format_tar(in);
	archive_write_disk_set_options(out, EXTRACT_FLAGS);
	int rc = 0;
	if (archive_read_open_fd(in, fd, 1 << 16) != ARCHIVE_OK)
		rc = error("tarball %s: %s", tarball, archive_error_string(in));
	struct archive_entry *e;
	while (rc == 0) {
		int r = archive_read_next_header(in, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			rc = error("tarball %s: %s", tarball, archive_error_string(in));
			break;
		}
		const char *name = archive_entry_pathname(e);
		r = archive_write_header(out, e);
		if (r < ARCHIVE_WARN) {
			rc = error("tarball %s: refusing entry '%s': %s", tarball, name ? name : "?",
				   archive_error_string(out));
			break;
		}
		if (r == ARCHIVE_WARN)
			warning("tarball %s: entry '%s': %s", tarball, name ? name : "?", archive_error_string(out));
		if (archive_entry_size(e) > 0 && copy_data(in, out) < ARCHIVE_OK) {
			rc = error("tarball %s: cannot extract '%s': %s", tarball, name ? name : "?",
				   archive_error_string(out) ? archive_error_string(out) : archive_error_string(in));
			break;
		}
		if (archive_write_finish_entry(out) < ARCHIVE_WARN)
			rc = error("tarball %s: cannot finish '%s': %s", tarball, name ? name : "?",
				   archive_error_string(out));
	}
	/* Directory modes and times are applied at close. */
	if (archive_write_close(out) < ARCHIVE_WARN && rc == 0)
		rc = error("tarball %s: %s", tarball, archive_error_string(out));
	archive_write_free(out);
	archive_read_free(in);
	return rc;
}

static int extract_chrooted(int fd, const char *tarball, const char *rootdir)
{
	if (chroot(rootdir) < 0 || chdir("/") < 0)
		return error_errno("cannot chroot into %s", rootdir);
	umask(022);
	return extract_all(fd, tarball);
}

int rootfs_tarball(const struct recipe *r, const char *rootdir)
{
	const char *tarball = r->base.tarball;
	if (!tarball || !*tarball)
		return error("base.tarball: no archive given");
	int fd = open(tarball, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_errno("cannot open the tarball %s", tarball);
	if (mkdir_p(rootdir, 0755) < 0) {
		close(fd);
		return -1;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(fd);
		return error_errno("fork");
	}
	if (pid == 0) {
		int rc = extract_chrooted(fd, tarball, rootdir);
		fflush(NULL);
		_exit(rc == 0 ? 0 : 1);
	}
	close(fd);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return error_errno("waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return error("the tarball base %s was not extracted", tarball);
	return rootfs_scrub(r, rootdir, rootfs_is_systemd(rootdir));
}
