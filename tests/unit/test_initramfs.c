/* tests/unit/test_initramfs.c: the initramfs archive: contents, load order, determinism.
 *
 * Builds an initramfs from a synthetic kernel tree (one module stored .ko.xz) and reads it
 * back with libarchive as the kernel would see it: newc entries, sorted, owned by root, every
 * mtime equal to the epoch, /dev/console a character device, modules decompressed, and
 * load.order listing the closure dependencies first. Two builds must give identical bytes, and a
 * failed build must leave nothing behind.
 */
#include "test.h"

#include "initramfs/initramfs.h"
#include "kernel/kernel.h"
#include "util/io.h"
#include "util/strbuf.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>

static char tmpdir[] = "/tmp/apkg-test-initramfs.XXXXXX";

static void put(const char *dir, const char *name, const char *text)
{
	char *p = path_join(dir, name);
	char *slash = strrchr(p, '/');
	*slash = 0;
	CHECK(mkdir_p(p, 0755) == 0);
	*slash = '/';
	CHECK(write_file_atomic(p, text, strlen(text), 0644) == 0);
	free(p);
}

static void put_xz(const char *dir, const char *name, const char *text)
{
	char *p = path_join(dir, name);
	struct archive *a = archive_write_new();
	archive_write_set_format_raw(a);
	archive_write_add_filter_xz(a);
	CHECK(archive_write_open_filename(a, p) == ARCHIVE_OK);
	struct archive_entry *ae = archive_entry_new();
	archive_entry_set_pathname(ae, "x");
	archive_entry_set_filetype(ae, AE_IFREG);
	CHECK(archive_write_header(a, ae) == ARCHIVE_OK);
	CHECK(archive_write_data(a, text, strlen(text)) == (la_ssize_t)strlen(text));
	archive_entry_free(ae);
	CHECK(archive_write_close(a) == ARCHIVE_OK);
	archive_write_free(a);
	free(p);
}

static void make_kernel(struct kernel *k)
{
	char *root = path_join(tmpdir, "kernel");
	char *mods = xasprintf("%s/lib/modules/1.0-test", root);
	put(root, "boot/vmlinuz-1.0-test", "bzImage");
	put(mods, "modules.dep",
	    "kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko\n"
	    "kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko\n"
	    "kernel/drivers/virtio/virtio_ring.ko:\n"
	    "kernel/fs/ext4/ext4.ko.xz: kernel/fs/jbd2/jbd2.ko\n"
	    "kernel/fs/jbd2/jbd2.ko:\n"
	    "kernel/drivers/net/e1000.ko:\n"
	    "kernel/sound/unrelated.ko:\n");
	put(mods, "modules.builtin", "kernel/drivers/ata/ahci.ko\n");
	put(mods, "kernel/drivers/block/virtio_blk.ko", "ELF virtio_blk");
	put(mods, "kernel/drivers/virtio/virtio.ko", "ELF virtio");
	put(mods, "kernel/drivers/virtio/virtio_ring.ko", "ELF virtio_ring");
	put(mods, "kernel/fs/jbd2/jbd2.ko", "ELF jbd2");
	put(mods, "kernel/drivers/net/e1000.ko", "ELF e1000");
	put(mods, "kernel/sound/unrelated.ko", "ELF unrelated");
	put(mods, "kernel/fs/ext4/placeholder", "");
	put_xz(mods, "kernel/fs/ext4/ext4.ko.xz", "ELF ext4, decompressed");
	put(tmpdir, "apkg-init", "#!static init");
	CHECK(kernel_describe(root, "1.0-test", k) == 0);
	free(root);
	free(mods);
}

struct seen {
	struct strbuf paths;  /* "path\n" for each entry, in archive order */
	struct strbuf order;  /* lib/modules/load.order */
	struct strbuf ext4;   /* the ext4 module's contents */
	struct strbuf init;
	int console_ok, times_ok, owners_ok;
};

static void read_back(const char *path, struct seen *s)
{
	struct archive *a = archive_read_new();
	archive_read_support_filter_zstd(a);
	archive_read_support_format_cpio(a);
	CHECK(archive_read_open_filename(a, path, 65536) == ARCHIVE_OK);
	struct archive_entry *e;
	s->times_ok = s->owners_ok = 1;
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		const char *p = archive_entry_pathname(e);
		strbuf_addf(&s->paths, "%s\n", p);
		s->times_ok &= archive_entry_mtime(e) == 1700000000 && archive_entry_mtime_nsec(e) == 0;
		s->owners_ok &= archive_entry_uid(e) == 0 && archive_entry_gid(e) == 0;
		if (!strcmp(p, "dev/console"))
			s->console_ok = archive_entry_filetype(e) == AE_IFCHR && archive_entry_rdevmajor(e) == 5 &&
					archive_entry_rdevminor(e) == 1;
		struct strbuf *dst = !strcmp(p, "lib/modules/load.order")			   ? &s->order
				     : !strcmp(p, "lib/modules/1.0-test/kernel/fs/ext4/ext4.ko") ? &s->ext4
				     : !strcmp(p, "init")					   ? &s->init
												   : NULL;
		if (!strcmp(p, "init"))
			CHECK((archive_entry_perm(e) & 0777) == 0755);
		char buf[4096];
		la_ssize_t n;
		while (dst && (n = archive_read_data(a, buf, sizeof buf)) > 0)
			strbuf_add(dst, buf, (size_t)n);
	}
	CHECK(archive_filter_code(a, 0) == ARCHIVE_FILTER_ZSTD);
	CHECK(archive_format(a) == ARCHIVE_FORMAT_CPIO_SVR4_NOCRC);
	archive_read_free(a);
}

static int sorted(const char *lines)
{
	const char *prev = NULL;
	size_t prev_len = 0;
	for (const char *l = lines; *l;) {
		size_t n = strcspn(l, "\n");
		if (prev) {
			int c = strncmp(prev, l, prev_len < n ? prev_len : n);
			if (c > 0 || (c == 0 && prev_len > n))
				return 0;
		}
		prev = l;
		prev_len = n;
		l += n + (l[n] == '\n');
	}
	return 1;
}

static void test_contents(void)
{
	struct kernel k;
	make_kernel(&k);
	const char *extra[] = { "e1000", "no_such_module" };
	char *init = path_join(tmpdir, "apkg-init");
	struct initramfs_opts o = { .kernel = &k, .extra_modules = extra, .n_extra = 2, .init_binary = init,
				    .epoch = 1700000000 };
	char *out = path_join(tmpdir, "initrd.img");
	CHECK(initramfs_build(&o, out) == 0);
	struct seen s = { STRBUF_INIT, STRBUF_INIT, STRBUF_INIT, STRBUF_INIT, 0, 0, 0 };
	read_back(out, &s);
	CHECK_STR(s.order.buf, "/lib/modules/1.0-test/kernel/drivers/virtio/virtio_ring.ko\n"
			       "/lib/modules/1.0-test/kernel/drivers/virtio/virtio.ko\n"
			       "/lib/modules/1.0-test/kernel/drivers/block/virtio_blk.ko\n"
			       "/lib/modules/1.0-test/kernel/fs/jbd2/jbd2.ko\n"
			       "/lib/modules/1.0-test/kernel/fs/ext4/ext4.ko\n"
			       "/lib/modules/1.0-test/kernel/drivers/net/e1000.ko\n");
	CHECK_STR(s.ext4.buf, "ELF ext4, decompressed");
	CHECK_STR(s.init.buf, "#!static init");
	CHECK(s.console_ok && s.times_ok && s.owners_ok);
	CHECK(sorted(s.paths.buf));
	CHECK(strstr(s.paths.buf, "\nnewroot\n") && strstr(s.paths.buf, "\nproc\n") && strstr(s.paths.buf, "\nsys\n"));
	CHECK(!strstr(s.paths.buf, "unrelated") && !strstr(s.paths.buf, "placeholder"));

	char **names;
	size_t n;
	CHECK(initramfs_module_names(&o, &names, &n) == 0);
	CHECK(n == 6 && !strcmp(names[2], "virtio_blk") && !strcmp(names[5], "e1000"));
	kernel_free_list(names, n);

	/* Same inputs, same bytes; another epoch, other bytes. */
	char *again = path_join(tmpdir, "initrd2.img");
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
	CHECK(initramfs_build(&o, again) == 0);
	CHECK(read_file(out, &a, 1 << 20) == 0 && read_file(again, &b, 1 << 20) == 0);
	CHECK(a.len == b.len && !memcmp(a.buf, b.buf, a.len));
	o.epoch = 1;
	strbuf_reset(&b);
	CHECK(initramfs_build(&o, again) == 0 && read_file(again, &b, 1 << 20) == 0);
	CHECK(a.len != b.len || memcmp(a.buf, b.buf, a.len));

	strbuf_release(&a);
	strbuf_release(&b);
	strbuf_release(&s.paths);
	strbuf_release(&s.order);
	strbuf_release(&s.ext4);
	strbuf_release(&s.init);
	free(again);
	free(out);
	free(init);
	kernel_release(&k);
}

static void test_failure_leaves_nothing(void)
{
	struct kernel k;
	make_kernel(&k);
	char *dir = path_join(tmpdir, "out");
	CHECK(mkdir_p(dir, 0755) == 0);
	char *out = path_join(dir, "initrd.img");
	char *missing = path_join(tmpdir, "no-such-init");
	struct initramfs_opts o = { .kernel = &k, .init_binary = missing, .epoch = 0 };
	CHECK(initramfs_build(&o, out) < 0);
	/* A module that vanished after depmod ran. */
	char *ko = path_join(k.modules_dir, "kernel/fs/jbd2/jbd2.ko");
	unlink(ko);
	o.init_binary = path_join(tmpdir, "apkg-init");
	CHECK(initramfs_build(&o, out) < 0);
	DIR *d = opendir(dir);
	int entries = 0;
	struct dirent *de;
	while (d && (de = readdir(d)))
		entries += de->d_name[0] != '.';
	if (d)
		closedir(d);
	CHECK(entries == 0);
	free((char *)o.init_binary);
	free(ko);
	free(missing);
	free(out);
	free(dir);
	kernel_release(&k);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_contents);
	RUN(test_failure_leaves_nothing);
	rm_rf(tmpdir);
	TEST_MAIN_END();
}
