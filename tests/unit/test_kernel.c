/* tests/unit/test_kernel.c: module closure, driver state and hostile kernel packages.
 *
 * A synthetic kernel tree (modules.dep, modules.builtin, modules.softdep, modules.alias) checks
 * load order and name handling; .deb files written here with libarchive check that unpacking
 * takes only the kernel files and refuses `..`, absolute paths, links and non-packages without
 * writing anything outside the destination.
 */
#include "test.h"

#include "kernel/kernel.h"
#include "kernel/moddb.h"
#include "util/io.h"
#include "util/strbuf.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/apkg-test-kernel.XXXXXX";

static void put(const char *dir, const char *name, const char *text)
{
	char *p = path_join(dir, name);
	CHECK(write_file_atomic(p, text, strlen(text), 0644) == 0);
	free(p);
}

/* A kernel tree shaped like an unpacked linux-image package. */
static void make_kernel(const char *root, struct kernel *k)
{
	char *mods = xasprintf("%s/lib/modules/1.0-test", root);
	char *boot = xasprintf("%s/boot", root);
	CHECK(mkdir_p(mods, 0755) == 0 && mkdir_p(boot, 0755) == 0);
	put(boot, "vmlinuz-1.0-test", "kernel");
	put(mods, "modules.dep",
	    "kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/mbcache.ko kernel/fs/jbd2/jbd2.ko\n"
	    "kernel/fs/jbd2/jbd2.ko:\n"
	    "kernel/fs/mbcache.ko:\n"
	    "kernel/lib/crc16.ko:\n"
	    "kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko\n"
	    "kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko\n"
	    "kernel/drivers/virtio/virtio_ring.ko:\n"
	    "kernel/crypto/crc32c_generic.ko:\n"
	    "kernel/drivers/block/xen-blkfront.ko.xz:\n"
	    "kernel/a.ko: kernel/b.ko\n"
	    "kernel/b.ko: kernel/a.ko\n");
	put(mods, "modules.builtin", "kernel/drivers/ata/ahci.ko\nkernel/drivers/scsi/sd_mod.ko\n");
	put(mods, "modules.softdep", "# comment\nsoftdep ext4 pre: crypto-crc32c\n");
	put(mods, "modules.alias", "alias crypto-crc32c crc32c_generic\nalias pci:v00001AF4d* virtio_blk\n");
	CHECK(kernel_describe(root, "1.0-test", k) == 0);
	free(mods);
	free(boot);
}

static void check_list(char **got, size_t n, const char *const *want, size_t n_want)
{
	CHECK(n == n_want);
	for (size_t i = 0; i < n && i < n_want; i++)
		CHECK_STR(got[i], want[i]);
}

static void test_closure_order(void)
{
	struct kernel k;
	char *root = path_join(tmpdir, "k1");
	make_kernel(root, &k);
	const char *names[] = { "virtio-blk", "ahci", "no_such_driver", "ext4", "xen_blkfront", "virtio_ring" };
	static const char *const want[] = {
		"kernel/drivers/virtio/virtio_ring.ko", "kernel/drivers/virtio/virtio.ko",
		"kernel/drivers/block/virtio_blk.ko",   "kernel/crypto/crc32c_generic.ko", /* softdep via alias */
		"kernel/fs/jbd2/jbd2.ko",               "kernel/fs/mbcache.ko",
		"kernel/lib/crc16.ko",                  "kernel/fs/ext4/ext4.ko",
		"kernel/drivers/block/xen-blkfront.ko.xz",
	};
	char **paths;
	size_t n;
	CHECK(kernel_module_closure(&k, names, 6, &paths, &n) == 0);
	check_list(paths, n, want, sizeof want / sizeof *want);
	kernel_free_list(paths, n);

	/* A dependency cycle ends the walk instead of looping. */
	const char *cyc[] = { "a" };
	CHECK(kernel_module_closure(&k, cyc, 1, &paths, &n) == 0);
	CHECK(n == 2);
	kernel_free_list(paths, n);

	/* An alias pattern names a module too. */
	const char *alias[] = { "pci:v00001AF4d00001001" };
	CHECK(kernel_module_closure(&k, alias, 1, &paths, &n) == 0);
	CHECK(n == 3 && !strcmp(paths[2], "kernel/drivers/block/virtio_blk.ko"));
	kernel_free_list(paths, n);
	kernel_release(&k);
	free(root);
}

static void test_driver_state(void)
{
	struct kernel k;
	char *root = path_join(tmpdir, "k2");
	make_kernel(root, &k);
	CHECK(kernel_driver_state(&k, "virtio_blk") == DRIVER_MODULE);
	CHECK(kernel_driver_state(&k, "virtio-blk") == DRIVER_MODULE);
	CHECK(kernel_driver_state(&k, "xen-blkfront") == DRIVER_MODULE);
	CHECK(kernel_driver_state(&k, "xen_blkfront") == DRIVER_MODULE);
	CHECK(kernel_driver_state(&k, "ahci") == DRIVER_BUILTIN);
	CHECK(kernel_driver_state(&k, "sd-mod") == DRIVER_BUILTIN);
	CHECK(kernel_driver_state(&k, "nvme") == DRIVER_MISSING);
	kernel_release(&k);
	free(root);
	char *name = kernel_module_name("kernel/drivers/block/xen-blkfront.ko.zst");
	CHECK_STR(name, "xen_blkfront");
	free(name);
}

static void test_hostile_modules_dep(void)
{
	static const char *const bad[] = {
		"../../../etc/shadow.ko:\n",
		"/abs/path.ko:\n",
		"kernel/a.ko: kernel/../../x.ko\n",
		"kernel/a.ko kernel/b.ko\n",
		"kernel/a.ko:\nkernel/sub/a.ko:\n", /* the same module twice */
		"kernel/a.ko: kernel/missing.ko\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct module_db db = { 0 };
		int r = module_db_parse_dep(&db, bad[i], strlen(bad[i]));
		if (r == 0) {
			const char *names[] = { "a" };
			char **paths;
			size_t n;
			r = module_db_closure(&db, names, 1, &paths, &n);
			if (r == 0)
				kernel_free_list(paths, n);
		}
		CHECK(r < 0);
		module_db_release(&db);
	}
	/* A missing modules.dep is an error, not an empty kernel. */
	struct kernel k = { .modules_dir = path_join(tmpdir, "nonexistent") };
	const char *names[] = { "ext4" };
	char **paths;
	size_t n;
	CHECK(kernel_module_closure(&k, names, 1, &paths, &n) < 0);
	free(k.modules_dir);
}

/* ---- .deb packages --------------------------------------------------------------------------- */

struct tar_entry {
	const char *path;
	mode_t type;
	const char *content; /* file contents, or the link target */
};

static void tar_into(struct strbuf *out, const struct tar_entry *e, size_t n, int filter)
{
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	if (filter)
		archive_write_add_filter(a, filter);
	size_t cap = 1 << 20, used = 0;
	char *buf = xmalloc(cap);
	archive_write_set_bytes_in_last_block(a, 1);
	CHECK(archive_write_open_memory(a, buf, cap, &used) == ARCHIVE_OK);
	struct archive_entry *ae = archive_entry_new();
	for (size_t i = 0; i < n; i++) {
		archive_entry_clear(ae);
		archive_entry_set_pathname(ae, e[i].path);
		archive_entry_set_perm(ae, 0644);
		if (e[i].type == 0) { /* hard link */
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_hardlink(ae, e[i].content);
		} else {
			archive_entry_set_filetype(ae, e[i].type);
		}
		if (e[i].type == AE_IFLNK)
			archive_entry_set_symlink(ae, e[i].content);
		size_t len = e[i].type == AE_IFREG ? strlen(e[i].content) : 0;
		archive_entry_set_size(ae, (la_int64_t)len);
		CHECK(archive_write_header(a, ae) == ARCHIVE_OK);
		if (len)
			CHECK(archive_write_data(a, e[i].content, len) == (la_ssize_t)len);
	}
	archive_entry_free(ae);
	CHECK(archive_write_close(a) == ARCHIVE_OK);
	archive_write_free(a);
	strbuf_add(out, buf, used);
	free(buf);
}

static void ar_member(struct archive *a, const char *name, const void *data, size_t len)
{
	struct archive_entry *ae = archive_entry_new();
	archive_entry_set_pathname(ae, name);
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_entry_set_perm(ae, 0644);
	archive_entry_set_size(ae, (la_int64_t)len);
	CHECK(archive_write_header(a, ae) == ARCHIVE_OK);
	CHECK(archive_write_data(a, data, len) == (la_ssize_t)len);
	archive_entry_free(ae);
}

/* Writes a .deb (ar: debian-binary, control.tar, data.tar[.xz|.zst]) holding entries. */
static char *write_deb(const char *name, const struct tar_entry *e, size_t n, int filter, int with_data)
{
	char *path = path_join(tmpdir, name);
	struct strbuf data = STRBUF_INIT, control = STRBUF_INIT;
	struct tar_entry ctl = { "./control", AE_IFREG, "Package: linux-image-test\n" };
	tar_into(&control, &ctl, 1, 0);
	tar_into(&data, e, n, filter);
	struct archive *a = archive_write_new();
	archive_write_set_format_ar_svr4(a);
	CHECK(archive_write_open_filename(a, path) == ARCHIVE_OK);
	ar_member(a, "debian-binary", "2.0\n", 4);
	ar_member(a, "control.tar", control.buf, control.len);
	if (with_data)
		ar_member(a, filter == ARCHIVE_FILTER_XZ ? "data.tar.xz" : filter ? "data.tar.zst" : "data.tar", data.buf,
			  data.len);
	CHECK(archive_write_close(a) == ARCHIVE_OK);
	archive_write_free(a);
	strbuf_release(&data);
	strbuf_release(&control);
	return path;
}

static int exists_under(const char *rel)
{
	char *p = path_join(tmpdir, rel);
	struct stat st;
	int r = lstat(p, &st) == 0;
	free(p);
	return r;
}

static void test_deb_good(void)
{
	static const struct tar_entry good[] = {
		{ "./", AE_IFDIR, NULL },
		{ "./boot/", AE_IFDIR, NULL },
		{ "./boot/vmlinuz-1.0-test", AE_IFREG, "bzImage" },
		{ "./boot/config-1.0-test", AE_IFREG, "CONFIG_EXT4_FS=m\n" },
		{ "./boot/System.map-1.0-test", AE_IFREG, "map" },
		{ "./usr/lib/modules/1.0-test/kernel/fs/ext4/ext4.ko", AE_IFREG, "ELF ext4" },
		{ "./lib/modules/1.0-test/modules.order", AE_IFREG, "kernel/fs/ext4/ext4.ko\n" },
		{ "./usr/share/doc/linux-image-test/copyright", AE_IFREG, "GPL" },
	};
	int filters[] = { 0, ARCHIVE_FILTER_XZ, ARCHIVE_FILTER_ZSTD };
	for (size_t f = 0; f < 3; f++) {
		char *deb = write_deb("good.deb", good, sizeof good / sizeof *good, filters[f], 1);
		char *dest = path_join(tmpdir, "good");
		struct kernel k;
		CHECK(kernel_unpack_deb(deb, dest, &k) == 0);
		CHECK_STR(k.release, "1.0-test");
		CHECK(k.config != NULL);
		struct strbuf sb = STRBUF_INIT;
		char *ko = path_join(k.modules_dir, "kernel/fs/ext4/ext4.ko");
		CHECK(read_file(ko, &sb, 100) == 0);
		CHECK_STR(sb.buf, "ELF ext4");
		CHECK(exists_under("good/lib/modules/1.0-test/modules.order"));
		CHECK(!exists_under("good/usr"));
		CHECK(!exists_under("good/boot/System.map-1.0-test"));
		strbuf_release(&sb);
		free(ko);
		kernel_release(&k);
		rm_rf(dest);
		free(dest);
		free(deb);
	}
}

static void expect_refused(const char *name, const struct tar_entry *e, size_t n, int with_data)
{
	char *deb = write_deb(name, e, n, 0, with_data);
	char *dest = path_join(tmpdir, "dest");
	struct kernel k;
	CHECK(kernel_unpack_deb(deb, dest, &k) < 0);
	CHECK(!exists_under("escape"));
	CHECK(!exists_under("dest/lib/modules/1.0-test/kernel/passwd"));
	rm_rf(dest);
	free(dest);
	free(deb);
}

static void test_deb_hostile(void)
{
	static const struct tar_entry dotdot[] = {
		{ "./boot/vmlinuz-1.0-test", AE_IFREG, "bzImage" },
		{ "./lib/modules/1.0-test/../../../../escape", AE_IFREG, "owned" },
	};
	static const struct tar_entry absolute[] = {
		{ "/boot/vmlinuz-1.0-test", AE_IFREG, "bzImage" },
	};
	static const struct tar_entry symlink[] = {
		{ "./boot/vmlinuz-1.0-test", AE_IFREG, "bzImage" },
		{ "./lib/modules/1.0-test/kernel", AE_IFLNK, "../../../../escape" },
		{ "./lib/modules/1.0-test/kernel/passwd", AE_IFREG, "owned" },
	};
	static const struct tar_entry hardlink[] = {
		{ "./boot/vmlinuz-1.0-test", AE_IFREG, "bzImage" },
		{ "./lib/modules/1.0-test/kernel/passwd", 0, "/etc/passwd" },
	};
	static const struct tar_entry device[] = {
		{ "./boot/vmlinuz-1.0-test", AE_IFREG, "bzImage" },
		{ "./lib/modules/1.0-test/kernel/passwd", AE_IFCHR, NULL },
	};
	static const struct tar_entry no_kernel[] = {
		{ "./lib/modules/1.0-test/kernel/a.ko", AE_IFREG, "ELF" },
	};
	static const struct tar_entry odd_release[] = {
		{ "./boot/vmlinuz-..", AE_IFREG, "bzImage" },
	};
	expect_refused("dotdot.deb", dotdot, 2, 1);
	expect_refused("absolute.deb", absolute, 1, 1);
	expect_refused("symlink.deb", symlink, 3, 1);
	expect_refused("hardlink.deb", hardlink, 2, 1);
	expect_refused("device.deb", device, 2, 1);
	expect_refused("nokernel.deb", no_kernel, 1, 1);
	expect_refused("oddrelease.deb", odd_release, 1, 1);
	expect_refused("nodata.deb", no_kernel, 1, 0);

	char *junk = path_join(tmpdir, "junk.deb");
	CHECK(write_file_atomic(junk, "!<arch>\nnot really", 18, 0644) == 0);
	char *dest = path_join(tmpdir, "dest");
	struct kernel k;
	CHECK(kernel_unpack_deb(junk, dest, &k) < 0);
	rm_rf(dest);
	free(dest);
	free(junk);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_closure_order);
	RUN(test_driver_state);
	RUN(test_hostile_modules_dep);
	RUN(test_deb_good);
	RUN(test_deb_hostile);
	rm_rf(tmpdir);
	TEST_MAIN_END();
}
