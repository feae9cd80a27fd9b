/* builder/imgroot.h: file operations confined to an image's root directory.
 *
 * An image root is hostile territory: a tarball base or a package can plant
 * symlinks such as /etc -> /host-etc or /etc/passwd -> ../../../etc/shadow.
 * Every path given here is an absolute path *inside the image* and is
 * resolved with openat2(RESOLVE_IN_ROOT), exactly as if the process were
 * chrooted there, so no operation ever reads or writes outside the root.
 * The last component is never followed when it is replaced or removed:
 * writing /etc/hosts replaces a symlink there rather than writing through it.
 * Writes are atomic (temp file in the same directory, then rename).
 * Functions return 0 on success and -1 after printing an error that names
 * the image path.
 */
#ifndef APKG_BUILDER_IMGROOT_H
#define APKG_BUILDER_IMGROOT_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

struct strbuf;

struct imgroot {
	int fd;     /* O_PATH directory fd of the root */
	char *path; /* the host path, for messages */
};

int imgroot_open(struct imgroot *ir, const char *rootdir);
void imgroot_close(struct imgroot *ir);

/* openat2 of an image path with symlinks resolved inside the root.
 * Returns the fd, or -1 with errno set (nothing printed). */
int imgroot_openat(const struct imgroot *ir, const char *path, int flags, mode_t mode);
/* Opens the directory that holds path's last component (O_PATH) and points
 * *base at that component. Returns the fd or -1 with errno set. */
int imgroot_open_parent(const struct imgroot *ir, const char *path, const char **base);

/* stat of the image path, following symlinks inside the root (stat) or not
 * following the last component (lstat). Returns 0, or -1 with errno set. */
int imgroot_stat(const struct imgroot *ir, const char *path, struct stat *st);
int imgroot_lstat(const struct imgroot *ir, const char *path, struct stat *st);
int imgroot_exists(const struct imgroot *ir, const char *path);

/* The entry names of an image directory, sorted, "." and ".." left out;
 * NULL with *n = 0 when it is missing or not a directory. */
char **imgroot_list_dir(const struct imgroot *ir, const char *dir, size_t *n);
void imgroot_free_names(char **names, size_t n);

/* Appends the file's content to sb. Returns 0; 1 if it does not exist and
 * missing_ok; -1 after printing an error. */
int imgroot_read(const struct imgroot *ir, const char *path, struct strbuf *sb, size_t max, int missing_ok);
/* Creates path and any missing parents. Directories it creates get mode and
 * uid:gid; existing ones are left alone. A non-directory in the way is an error. */
int imgroot_mkdirs(const struct imgroot *ir, const char *path, mode_t mode, uid_t uid, gid_t gid);
/* Atomically replaces path with data (mode and owner exactly as given).
 * Missing parent directories are created (0755 root:root). */
int imgroot_write(const struct imgroot *ir, const char *path, const void *data, size_t len, mode_t mode, uid_t uid,
		  gid_t gid);
/* Replaces whatever is at path with a symlink to target (created as root). */
int imgroot_symlink(const struct imgroot *ir, const char *target, const char *path);
/* Reads the symlink at path (its last component not followed) into sb.
 * Returns 0; 1 if path is not a symlink or missing; -1 on error. */
int imgroot_readlink(const struct imgroot *ir, const char *path, struct strbuf *sb);
/* Removes a file or symlink (never a directory). Missing is fine. */
int imgroot_unlink(const struct imgroot *ir, const char *path);
/* Removes a whole tree or file without following symlinks. Missing is fine. */
int imgroot_remove_tree(const struct imgroot *ir, const char *path);
/* Sets owner and mode of path itself (a symlink's own owner; mode ignored for symlinks). */
int imgroot_chown_chmod(const struct imgroot *ir, const char *path, mode_t mode, uid_t uid, gid_t gid);

#endif
