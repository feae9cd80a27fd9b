/* inspect/guestfs_dl.c: libguestfs, loaded when `apkg inspect` launches it (see util/dlopen.h).
 *
 * The functions apkg calls, forwarded to libguestfs.so.0. The variadic
 * *_opts ones are written out: libguestfs' own are va_start and a call to
 * their _va variant, which is what they do here.
 */
#include "inspect/guestfs_dl.h"

#include "util/dlopen.h"

#include <guestfs.h>

/* clang-format off */
#define GUESTFS_FUNCTIONS(FN, VOID, PTR) \
	FN(char **, guestfs_blkid, (guestfs_h *a, const char *b), (a, b)) \
	FN(int64_t, guestfs_blockdev_getsize64, (guestfs_h *a, const char *b), (a, b)) \
	FN(char *, guestfs_case_sensitive_path, (guestfs_h *a, const char *b), (a, b)) \
	VOID(guestfs_close, (guestfs_h *a), (a)) \
	FN(guestfs_h *, guestfs_create, (void), ()) \
	FN(int, guestfs_exists, (guestfs_h *a, const char *b), (a, b)) \
	FN(int64_t, guestfs_filesize, (guestfs_h *a, const char *b), (a, b)) \
	VOID(guestfs_free_application2_list, (struct guestfs_application2_list *a), (a)) \
	VOID(guestfs_free_statvfs, (struct guestfs_statvfs *a), (a)) \
	FN(char *, guestfs_inspect_get_arch, (guestfs_h *a, const char *b), (a, b)) \
	FN(char *, guestfs_inspect_get_distro, (guestfs_h *a, const char *b), (a, b)) \
	FN(char *, guestfs_inspect_get_hostname, (guestfs_h *a, const char *b), (a, b)) \
	FN(int, guestfs_inspect_get_major_version, (guestfs_h *a, const char *b), (a, b)) \
	FN(int, guestfs_inspect_get_minor_version, (guestfs_h *a, const char *b), (a, b)) \
	FN(char **, guestfs_inspect_get_mountpoints, (guestfs_h *a, const char *b), (a, b)) \
	FN(char *, guestfs_inspect_get_package_format, (guestfs_h *a, const char *b), (a, b)) \
	FN(char *, guestfs_inspect_get_package_management, (guestfs_h *a, const char *b), (a, b)) \
	FN(char *, guestfs_inspect_get_product_name, (guestfs_h *a, const char *b), (a, b)) \
	FN(char *, guestfs_inspect_get_type, (guestfs_h *a, const char *b), (a, b)) \
	FN(struct guestfs_application2_list *, guestfs_inspect_list_applications2, (guestfs_h *a, const char *b), (a, b)) \
	FN(char **, guestfs_inspect_os, (guestfs_h *a), (a)) \
	FN(const char *, guestfs_last_error, (guestfs_h *a), (a)) \
	FN(int, guestfs_launch, (guestfs_h *a), (a)) \
	FN(char **, guestfs_list_devices, (guestfs_h *a), (a)) \
	FN(char **, guestfs_list_filesystems, (guestfs_h *a), (a)) \
	FN(char **, guestfs_ls, (guestfs_h *a, const char *b), (a, b)) \
	FN(int, guestfs_mount_ro, (guestfs_h *a, const char *b, const char *c), (a, b, c)) \
	FN(char *, guestfs_pread, (guestfs_h *a, const char *b, int c, int64_t d, size_t *e), (a, b, c, d, e)) \
	FN(char *, guestfs_pread_device, (guestfs_h *a, const char *b, int c, int64_t d, size_t *e), (a, b, c, d, e)) \
	FN(int, guestfs_set_backend, (guestfs_h *a, const char *b), (a, b)) \
	FN(int, guestfs_set_backend_settings, (guestfs_h *a, char *const *b), (a, b)) \
	VOID(guestfs_set_error_handler, (guestfs_h *a, guestfs_error_handler_cb b, void *c), (a, b, c)) \
	FN(int, guestfs_shutdown, (guestfs_h *a), (a)) \
	FN(struct guestfs_statvfs *, guestfs_statvfs, (guestfs_h *a, const char *b), (a, b)) \
	FN(int, guestfs_umount_all, (guestfs_h *a), (a)) \
	FN(char *, guestfs_vfs_label, (guestfs_h *a, const char *b), (a, b)) \
	FN(char *, guestfs_vfs_uuid, (guestfs_h *a, const char *b), (a, b)) \
	PTR(guestfs_add_drive_opts_va) \
	PTR(guestfs_is_dir_opts_va) \
	PTR(guestfs_is_file_opts_va) \
	PTR(guestfs_tar_out_opts_va)
/* clang-format on */

DLIB_DEFINE(GUESTFS_FUNCTIONS, libguestfs, "libguestfs", "libguestfs.so.0", "libguestfs0")

const char *guestfs_dl_load(void)
{
	return dlib_load(&libguestfs);
}

DLIB_DEF_VA(int, guestfs_add_drive_opts, (guestfs_h *g, const char *filename, ...), filename, (g, filename, ap))
DLIB_DEF_VA(int, guestfs_is_dir_opts, (guestfs_h *g, const char *path, ...), path, (g, path, ap))
DLIB_DEF_VA(int, guestfs_is_file_opts, (guestfs_h *g, const char *path, ...), path, (g, path, ap))
DLIB_DEF_VA(int, guestfs_tar_out_opts, (guestfs_h *g, const char *directory, const char *tarfile, ...), tarfile,
	    (g, directory, tarfile, ap))
