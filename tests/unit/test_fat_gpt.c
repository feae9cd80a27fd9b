/* tests/unit/test_fat_gpt.c: the GPT and FAT readers and the appliance boot entry, against
 * images made by the real tools (sfdisk, mkfs.fat, mtools) as oracles.
 *
 * FAT12, FAT16 and FAT32 volumes with long names, lower-case 8.3 names,
 * nested directories, empty files and files over many clusters; a GPT
 * disk whose primary header is then damaged (the backup must be used);
 * and a whole appliance-like disk read through appliance_boot_read():
 * systemd-boot entry, loader.conf default, syslinux.cfg fallback.
 */
#include "formats/fat/fat_reader.h"
#include "formats/gpt/gpt_reader.h"
#include "tests/unit/test.h"
#include "util/io.h"
#include "util/run.h"
#include "util/strbuf.h"
#include "validate/boot_entry.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

static char tmp[] = "/tmp/apkg-fat-test-XXXXXX";

static char *tpath(const char *name)
{
	return path_join(tmp, name);
}

static void write_pattern(const char *path, size_t size, unsigned seed)
{
	uint8_t *d = malloc(size ? size : 1);
	for (size_t i = 0; i < size; i++)
		d[i] = (uint8_t)((i * 2654435761u) >> 13 ^ seed);
	write_file_atomic(path, d, size, 0644);
	free(d);
}

struct file_ctx {
	int fd;
	uint64_t base;
};

static int file_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct file_ctx *f = ctx;
	return pread_exact(f->fd, buf, len, f->base + off);
}

static int mcopy_to(const char *img, const char *src, const char *dst)
{
	return run_checked("mcopy", "-i", img, "-o", src, dst, NULL);
}

/* Builds a FAT volume of the given type and size (KiB) with known files. */
static int make_fat(const char *img, const char *fat_bits, const char *kib)
{
	unlink(img);
	if (run_checked("mkfs.fat", "-C", "-F", fat_bits, "-n", "TEST", "-i", "12345678", img, kib, NULL) < 0)
		return -1;
	char *big = tpath("big.bin"), *empty = tpath("empty"), *small = tpath("small.txt");
	write_pattern(big, 300 * 1024 + 17, 1);
	write_pattern(empty, 0, 0);
	write_file_atomic(small, "hello\n", 6, 0644);
	int r = run_checked("mmd", "-i", img, "::/loader", "::/loader/entries", "::/A Long Directory Name", NULL);
	r = r ? r : mcopy_to(img, big, "::/A Long Directory Name/a file with a long name.bin");
	r = r ? r : mcopy_to(img, small, "::/loader/entries/apkg.conf");
	r = r ? r : mcopy_to(img, small, "::/vmlinuz");
	r = r ? r : mcopy_to(img, empty, "::/EMPTY");
	free(big);
	free(empty);
	free(small);
	return r;
}

static int count_cb(const struct fat_dirent *e, void *arg)
{
	(void)e;
	(*(int *)arg)++;
	return 0;
}

static void check_fat(const char *fat_bits, const char *kib, int want_type)
{
	char *img = tpath("fat.img"), *big = tpath("big.bin");
	CHECK(make_fat(img, fat_bits, kib) == 0);
	struct file_ctx f = {open(img, O_RDONLY), 0};
	off_t size = lseek(f.fd, 0, SEEK_END);
	struct fat_volume *v = fat_open(file_read, &f, (uint64_t)size);
	CHECK(v && fat_type(v) == want_type);
	if (v) {
		struct strbuf got = STRBUF_INIT, want = STRBUF_INIT;
		CHECK(fat_read_file(v, "/a long directory name/A FILE WITH A LONG NAME.BIN", &got, 1 << 20) == 0);
		CHECK(read_file(big, &want, 1 << 20) == 0 && got.len == want.len && !memcmp(got.buf, want.buf, got.len));
		strbuf_reset(&got);
		CHECK(fat_read_file(v, "loader/entries/apkg.conf", &got, 100) == 0 && !strcmp(got.buf, "hello\n"));
		strbuf_reset(&got);
		CHECK(fat_read_file(v, "/VMLINUZ", &got, 100) == 0 && got.len == 6);
		strbuf_reset(&got);
		CHECK(fat_read_file(v, "/empty", &got, 100) == 0 && got.len == 0);
		CHECK(fat_read_file(v, "/A Long Directory Name/a file with a long name.bin", &got, 1000) < 0); /* limit */
		struct fat_dirent d;
		CHECK(fat_stat(v, "/nothing/here", &d) == 1 && fat_stat(v, "/loader", &d) == 0 && d.is_dir);
		CHECK(fat_stat(v, "/vmlinuz/x", &d) == 1);
		int n = 0;
		CHECK(fat_list(v, "/", count_cb, &n) == 0 && n == 4);
		strbuf_release(&got);
		strbuf_release(&want);
		fat_close(v);
	}
	close(f.fd);
	free(img);
	free(big);
}

static void test_fat12(void) { check_fat("12", "2048", 12); }
static void test_fat16(void) { check_fat("16", "32768", 16); }
static void test_fat32(void) { check_fat("32", "270000", 32); }

static void test_fat_damage(void)
{
	char *img = tpath("fat.img");
	CHECK(make_fat(img, "16", "32768") == 0);
	struct strbuf d = STRBUF_INIT;
	read_file(img, &d, 64 << 20);
	struct file_ctx f = {0, 0};
	/* A FAT whose chain loops: cluster 2 points to itself everywhere it appears. */
	struct strbuf bad = STRBUF_INIT;
	strbuf_add(&bad, d.buf, d.len);
	uint16_t reserved;
	memcpy(&reserved, bad.buf + 14, 2);
	uint8_t *fat = (uint8_t *)bad.buf + reserved * 512;
	for (int c = 2; c < 400; c++) {
		uint16_t self = (uint16_t)c;
		memcpy(fat + 2 * c, &self, 2);
	}
	char *bad_img = tpath("bad.img");
	write_file_atomic(bad_img, bad.buf, bad.len, 0644);
	f.fd = open(bad_img, O_RDONLY);
	struct fat_volume *v = fat_open(file_read, &f, bad.len);
	struct strbuf got = STRBUF_INIT;
	CHECK(v && fat_read_file(v, "/A Long Directory Name/a file with a long name.bin", &got, 1 << 20) < 0);
	if (v)
		fat_close(v);
	/* Geometry that claims more than the partition holds. */
	CHECK(fat_open(file_read, &f, 4096) == NULL);
	close(f.fd);
	bad.buf[13] = 3; /* sectors per cluster not a power of two */
	write_file_atomic(bad_img, bad.buf, bad.len, 0644);
	f.fd = open(bad_img, O_RDONLY);
	CHECK(fat_open(file_read, &f, bad.len) == NULL);
	close(f.fd);
	strbuf_release(&got);
	strbuf_release(&bad);
	strbuf_release(&d);
	free(img);
	free(bad_img);
}

/* An appliance-shaped disk: GPT by sfdisk, an ESP (FAT16) at 1 MiB, a second partition. */
static char *make_disk(const char *entry, const char *loader_conf, const char *syslinux_cfg)
{
	char *disk = tpath("disk.raw"), *esp = tpath("esp.img"), *script = tpath("sfdisk.txt");
	char *kernel = tpath("k"), *initrd = tpath("i"), *conf = tpath("e.conf");
	unlink(disk);
	int fd = open(disk, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	CHECK(fd >= 0 && ftruncate(fd, 48 << 20) == 0);
	close(fd);
	const char *s = "label: gpt\nlabel-id: 0F6B4E0A-1E43-4E5B-9E0C-3F2B8D0B2A11\n"
			"start=2048, size=65536, type=uefi, uuid=5A8E62D4-7D1B-4C43-A3F1-0123456789AB\n"
			"type=linux\n";
	write_file_atomic(script, s, strlen(s), 0644);
	struct run_opts o = {.stdin_path = script, .quiet = 1};
	const char *argv[] = {"sfdisk", "--no-reread", "--no-tell-kernel", disk, NULL};
	CHECK(run_argv(argv, &o) == 0);
	unlink(esp);
	CHECK(run_checked("mkfs.fat", "-C", "-F", "16", "-n", "ESP", esp, "32768", NULL) == 0);
	write_pattern(kernel, 70000, 3);
	write_pattern(initrd, 12345, 4);
	CHECK(run_checked("mmd", "-i", esp, "::/loader", "::/loader/entries", "::/syslinux", NULL) == 0);
	CHECK(mcopy_to(esp, kernel, "::/vmlinuz") == 0 && mcopy_to(esp, initrd, "::/initrd.img") == 0);
	CHECK(mcopy_to(esp, initrd, "::/second.img") == 0);
	if (entry) {
		CHECK(run_checked("mmd", "-i", esp, "::/EFI", "::/EFI/BOOT", NULL) == 0);
		CHECK(mcopy_to(esp, kernel, "::/EFI/BOOT/BOOTX64.EFI") == 0);
		write_file_atomic(conf, entry, strlen(entry), 0644);
		CHECK(mcopy_to(esp, conf, "::/loader/entries/apkg.conf") == 0);
		const char *other = "title other\nlinux /nothing\n";
		write_file_atomic(conf, other, strlen(other), 0644);
		CHECK(mcopy_to(esp, conf, "::/loader/entries/zz-other.conf") == 0);
	}
	if (loader_conf) {
		write_file_atomic(conf, loader_conf, strlen(loader_conf), 0644);
		CHECK(mcopy_to(esp, conf, "::/loader/loader.conf") == 0);
	}
	if (syslinux_cfg) {
		write_file_atomic(conf, syslinux_cfg, strlen(syslinux_cfg), 0644);
		CHECK(mcopy_to(esp, conf, "::/syslinux/syslinux.cfg") == 0);
	}
	struct strbuf e = STRBUF_INIT;
	read_file(esp, &e, 64 << 20);
	fd = open(disk, O_WRONLY);
	CHECK(pwrite_all(fd, e.buf, e.len, 2048 * 512) == 0);
	close(fd);
	strbuf_release(&e);
	free(esp);
	free(script);
	free(kernel);
	free(initrd);
	free(conf);
	return disk;
}

static void test_gpt_primary_and_backup(void)
{
	char *disk = make_disk(NULL, NULL, NULL);
	struct file_ctx f = {open(disk, O_RDWR), 0};
	struct gpt_table *t = malloc(sizeof *t);
	CHECK(gpt_read_table(file_read, &f, 48 << 20, t) == 0 && t->n_parts == 2 && !t->used_backup);
	const struct gpt_part_info *esp = gpt_find_esp(t);
	char text[37];
	CHECK(esp && esp->first_lba == 2048 && esp->last_lba == 2048 + 65535 && esp->index == 1);
	gpt_guid_to_text(esp->unique_guid, text);
	CHECK_STR(text, "5a8e62d4-7d1b-4c43-a3f1-0123456789ab");
	gpt_guid_to_text(t->disk_guid, text);
	CHECK_STR(text, "0f6b4e0a-1e43-4e5b-9e0c-3f2b8d0b2a11");
	uint8_t junk[16] = "not a GPT header";
	CHECK(pwrite_all(f.fd, junk, 16, 512) == 0);
	CHECK(gpt_read_table(file_read, &f, 48 << 20, t) == 0 && t->used_backup && gpt_find_esp(t));
	CHECK(pwrite_all(f.fd, junk, 16, (48 << 20) - 512) == 0);
	CHECK(gpt_read_table(file_read, &f, 48 << 20, t) < 0);
	close(f.fd);
	free(t);
	free(disk);
}

static void check_payloads(const struct appliance_boot *b, int initrds)
{
	struct strbuf k = STRBUF_INIT, i = STRBUF_INIT;
	char *kp = tpath("k"), *ip = tpath("i");
	read_file(kp, &k, 1 << 20);
	read_file(ip, &i, 1 << 20);
	CHECK(b->kernel.len == k.len && !memcmp(b->kernel.buf, k.buf, k.len));
	CHECK(b->initrd.len == i.len * (size_t)initrds && !memcmp(b->initrd.buf, i.buf, i.len));
	strbuf_release(&k);
	strbuf_release(&i);
	free(kp);
	free(ip);
}

static void test_appliance_boot_entry(void)
{
	char *disk = make_disk("title hello 1.0\nlinux /vmlinuz\ninitrd /initrd.img\ninitrd /second.img\n"
			       "options root=PARTUUID=x console=ttyS0\noptions quiet\n",
			       NULL, NULL);
	struct appliance_boot b;
	CHECK(appliance_boot_read(disk, &b) == 0);
	CHECK_STR(b.source, "loader/entries/apkg.conf");
	CHECK_STR(b.cmdline, "root=PARTUUID=x console=ttyS0 quiet");
	CHECK_STR(b.spec.title, "hello 1.0");
	CHECK_STR(b.esp_partuuid, "5a8e62d4-7d1b-4c43-a3f1-0123456789ab");
	check_payloads(&b, 2);
	appliance_boot_release(&b);
	CHECK(appliance_firmware(disk) == APPLIANCE_UEFI_ONLY);
	free(disk);
	/* loader.conf's default picks the entry. */
	disk = make_disk("linux /vmlinuz\n", "timeout 0\ndefault zz-other.conf\n", NULL);
	CHECK(appliance_boot_read(disk, &b) < 0); /* zz-other names a kernel that is not there */
	free(disk);
	/* BIOS-only images: syslinux.cfg. */
	disk = make_disk(NULL, NULL, "DEFAULT apkg\nLABEL apkg\n  LINUX /vmlinuz\n  INITRD /initrd.img\n"
				     "  APPEND console=ttyS0 apkg.check=1\nLABEL other\n  LINUX /x\n");
	CHECK(appliance_boot_read(disk, &b) == 0);
	CHECK_STR(b.source, "syslinux/syslinux.cfg");
	CHECK_STR(b.cmdline, "console=ttyS0 apkg.check=1");
	check_payloads(&b, 1);
	appliance_boot_release(&b);
	CHECK(appliance_firmware(disk) == APPLIANCE_BIOS);
	free(disk);
	disk = make_disk(NULL, NULL, NULL);
	CHECK(appliance_boot_read(disk, &b) < 0);
	free(disk);
}

static void test_entry_parsers(void)
{
	struct boot_entry_spec s;
	const char *bls = "# comment\n  title   A B  \nlinux\t/vmlinuz\r\ninitrd /a\ninitrd /b\noptions x=1\n";
	CHECK(boot_entry_parse_bls(bls, strlen(bls), &s) == 0);
	CHECK_STR(s.title, "A B");
	CHECK_STR(s.linux_path, "/vmlinuz");
	CHECK(s.n_initrds == 2);
	CHECK_STR(s.initrd_path[1], "/b");
	CHECK_STR(s.options, "x=1");
	boot_entry_spec_release(&s);
	CHECK(boot_entry_parse_bls("title x\n", 8, &s) < 0);
	const char *sys = "APPEND a b\nLABEL one\n  KERNEL /k\nLABEL two\n  LINUX /k2\n  INITRD /i2\n  APPEND c\n";
	CHECK(boot_entry_parse_syslinux(sys, strlen(sys), &s) == 0);
	CHECK_STR(s.linux_path, "/k");
	CHECK_STR(s.options, "a b"); /* the global APPEND */
	CHECK(s.n_initrds == 0);
	boot_entry_spec_release(&s);
	/* What syslinux boots: the DEFAULT label's entry. */
	const char *def = "DEFAULT two\nLABEL one\n  KERNEL /k\nLABEL two\n  LINUX /k2\n  INITRD /i2\n  APPEND c\n";
	CHECK(boot_entry_parse_syslinux(def, strlen(def), &s) == 0);
	CHECK_STR(s.linux_path, "/k2");
	CHECK(s.n_initrds == 1);
	CHECK_STR(s.initrd_path[0], "/i2");
	CHECK_STR(s.options, "c");
	boot_entry_spec_release(&s);
	CHECK(boot_entry_parse_syslinux("KERNEL /k\nAPPEND a b\n", 21, &s) < 0); /* no LABEL: nothing to boot */
	CHECK(boot_entry_parse_syslinux("DEFAULT x\nLABEL x\n  APPEND y\n", 29, &s) < 0);
}

int main(void)
{
	if (!tool_exists("mkfs.fat") || !tool_exists("mcopy") || !tool_exists("sfdisk")) {
		printf("SKIP: mkfs.fat, mtools and sfdisk are the oracles (packages dosfstools, mtools, fdisk)\n");
		return 77;
	}
	setenv("MTOOLS_SKIP_CHECK", "1", 1);
	if (!mkdtemp(tmp))
		return 1;
	RUN(test_fat12);
	RUN(test_fat16);
	RUN(test_fat32);
	RUN(test_fat_damage);
	RUN(test_gpt_primary_and_backup);
	RUN(test_appliance_boot_entry);
	RUN(test_entry_parsers);
	rm_rf(tmp);
	TEST_MAIN_END();
}
