/* util/io.h: safe file I/O helpers.
 *
 * Promises: full reads and writes (retrying on EINTR and short transfers),
 * whole-file reads with a size cap, files that appear complete or not at all
 * (temp-then-rename), recursive mkdir and removal that never follows symlinks.
 * Functions return 0 on success and -1 after printing an error.
 */
#ifndef APKG_UTIL_IO_H
#define APKG_UTIL_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct strbuf;

int write_all(int fd, const void *buf, size_t len);
int pwrite_all(int fd, const void *buf, size_t len, uint64_t off);
/* Reads exactly len bytes at off; a short file is an error ("truncated"). */
int pread_exact(int fd, void *buf, size_t len, uint64_t off);
/* Reads a whole file into sb (appending). Files over max_size are refused. */
int read_file(const char *path, struct strbuf *sb, size_t max_size);
/* Writes data to path via path.tmp-XXXXXX + fsync + rename. */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);
/* Creates a temporary file beside final_path; returns its fd and the name in *tmp_out. */
int create_temp_beside(const char *final_path, char **tmp_out);
/* fsyncs fd, closes it and renames tmp to final; on failure unlinks tmp. */
int commit_temp(int fd, const char *tmp, const char *final_path);
/* The same, with the fsync optional (sync = 0 skips it: the rename still
 * hides partial output from other processes, but not from a power loss). */
int commit_temp_ex(int fd, const char *tmp, const char *final_path, int sync);
int mkdir_p(const char *path, mode_t mode);
/* Removes a tree without following symlinks (rm -rf). Missing is fine. */
int rm_rf(const char *path);
/* rm_rf of name relative to the directory fd dirfd (which may be O_PATH). */
int rm_rf_at(int dirfd, const char *name);
/* Copies a regular file, preserving holes. */
int copy_file_sparse(const char *src, const char *dst, mode_t mode);
/* The entry names of the open directory dirfd (which it does not close or
 * move), "." and ".." left out, sorted with strcmp (the same order on any
 * file system and in any locale). NULL with errno set on errors; free with
 * free_names(). */
char **dir_names_at(int dirfd, size_t *n);
void free_names(char **names, size_t n);
int path_exists(const char *path);
int is_dir(const char *path);
/* Joins a and b with one '/'. Caller frees. */
char *path_join(const char *a, const char *b);
/* The directory that holds the running apkg binary (for apkg-init, apkg-probe). */
const char *self_dir(void);
/* Finds a helper binary shipped with apkg: $APKG_LIBEXEC, self_dir(), ../lib/apkg. */
char *find_libexec(const char *name);

/* Paths registered here are removed (rm -rf) if the process dies on SIGINT,
 * SIGTERM or SIGHUP, so that a failed build leaves no scratch behind; on
 * SIGBUS (a mapped input file truncated under apkg) they are removed too and
 * apkg exits 1 with an error message. */
void cleanup_register(const char *path);
void cleanup_unregister(const char *path);
void cleanup_install_signal_handlers(void);
/* Child process groups to stop (SIGTERM, then SIGKILL after 2 s) on those signals,
 * before the scratch is removed. util/run.c registers every tool it runs. */
void cleanup_child_begin(pid_t pgid);
void cleanup_child_end(pid_t pgid);

#endif
