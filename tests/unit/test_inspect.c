/* tests/unit/test_inspect.c: what `apkg inspect` reads from image bytes, against real tools.
 *
 * Partition tables written by sfdisk (GPT with names and attributes, MBR
 * with an extended chain) read back exactly; a damaged primary GPT falls back
 * to the backup, two damaged ones are refused. Tar members listed from archives GNU tar writes (long names,
 * pax headers) sit at the offsets tar itself put them; truncation and a
 * bad checksum are refused. Loader configurations as apkg, syslinux and
 * GRUB write them; a real Debian kernel's version; MBR code from syslinux; an OVA
 * made with qemu-img and tar, read in place (and copied out when it cannot be); the
 * data an image holds counted alike in every format qemu-img writes; images with a
 * backing file refused.
 */
#include "inspect/bootcfg.h"
#include "inspect/ptable.h"
#include "inspect/source.h"
#include "inspect/tar.h"
#include "util/io.h"
#include "util/run.h"
#include "util/strbuf.h"

#include "tests/unit/test.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static int fd_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	return pread(*(int *)ctx, buf, len, (off_t)off) == (ssize_t)len ? 0 : -1;
}

static int sfdisk_image(const char *path, const char *script, const char *size)
{
	unlink(path);
	if (run_checked("truncate", "-s", size, path, NULL) < 0)
		return -1;
	char *script_path = xasprintf("%s.sfdisk", path);
	write_file_atomic(script_path, script, strlen(script), 0644);
	const char *argv[] = {"sfdisk", "-q", path, NULL};
	struct strbuf out = STRBUF_INIT;
	struct run_opts o = {.output = &out, .stdin_path = script_path};
	int rc = run_argv(argv, &o);
	if (rc != 0)
		fprintf(stderr, "sfdisk: %s\n", out.buf);
	strbuf_release(&out);
	free(script_path);
	return rc == 0 ? 0 : -1;
}

static int read_table(const char *path, struct ptable *pt, char *why)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	fstat(fd, &st);
	int rc = ptable_read(fd_read, &fd, (uint64_t)st.st_size, pt, why, 160);
	close(fd);
	return rc;
}

static void test_gpt_from_sfdisk(void)
{
	char *img = xasprintf("%s/gpt.img", dir);
	CHECK(sfdisk_image(img,
			   "label: gpt\nlabel-id: 01234567-89AB-CDEF-0123-456789ABCDEF\n"
			   "start=2048, size=4096, type=uefi, name=\"ESP\", attrs=\"LegacyBIOSBootable\", "
			   "uuid=11111111-2222-3333-4444-555555555555\n"
			   "start=6144, size=8192, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name=\"r\xc3\xb6ot\"\n",
			   "16M") == 0);
	struct ptable *pt = xcalloc(1, sizeof *pt);
	char why[160] = "";
	CHECK(read_table(img, pt, why) == 0);
	CHECK_STR(pt->kind, "gpt");
	CHECK_STR(pt->disk_guid, "01234567-89AB-CDEF-0123-456789ABCDEF");
	CHECK(pt->n == 2);
	CHECK(pt->parts[0].number == 1 && pt->parts[0].start == 2048 * 512ull && pt->parts[0].size == 4096 * 512ull);
	CHECK_STR(pt->parts[0].type, "C12A7328-F81F-11D2-BA4B-00A0C93EC93B");
	CHECK_STR(pt->parts[0].uuid, "11111111-2222-3333-4444-555555555555");
	CHECK_STR(pt->parts[0].name, "ESP");
	CHECK(pt->parts[0].bootable && pt->parts[0].attributes == 4);
	CHECK(pt->parts[1].number == 2 && pt->parts[1].start == 6144 * 512ull && !pt->parts[1].bootable);
	CHECK_STR(pt->parts[1].name, "r?ot"); /* formats/gpt/gpt_reader keeps names ASCII */

	/* A flipped byte in the primary entry array... */
	int fd = open(img, O_RDWR);
	unsigned char b;
	CHECK(pread(fd, &b, 1, 1024 + 130) == 1);
	b ^= 0xff;
	CHECK(pwrite(fd, &b, 1, 1024 + 130) == 1);
	close(fd);
	/* ...the backup table at the end of the disk still describes it. */
	CHECK(read_table(img, pt, why) == 0 && pt->n == 2 && pt->parts[1].start == 6144 * 512ull);
	/* Both damaged: refused, with a reason. */
	fd = open(img, O_RDWR);
	CHECK(pwrite(fd, "X", 1, 16 * 1024 * 1024 - 512 + 60) == 1);
	close(fd);
	CHECK(read_table(img, pt, why) == -1);
	CHECK(strstr(why, "cannot be read") != NULL);
	free(pt);
	free(img);
}

static void test_mbr_from_sfdisk(void)
{
	char *img = xasprintf("%s/mbr.img", dir);
	CHECK(sfdisk_image(img,
			   "label: dos\nlabel-id: 0x12345678\n"
			   "start=2048, size=2048, type=83, bootable\n"
			   "start=4096, size=16384, type=5\n"
			   "start=6144, size=2048, type=82\n"
			   "start=10240, size=4096, type=83\n",
			   "16M") == 0);
	struct ptable *pt = xcalloc(1, sizeof *pt);
	char why[160];
	CHECK(read_table(img, pt, why) == 0);
	CHECK_STR(pt->kind, "msdos");
	CHECK(pt->n == 4);
	CHECK(pt->parts[0].number == 1 && pt->parts[0].bootable && pt->parts[0].start == 2048 * 512ull);
	CHECK_STR(pt->parts[0].type, "0x83");
	CHECK(pt->parts[1].number == 2);
	CHECK_STR(pt->parts[1].type, "0x05");
	CHECK(pt->parts[2].number == 5 && pt->parts[2].start == 6144 * 512ull && pt->parts[2].size == 2048 * 512ull);
	CHECK_STR(pt->parts[2].type, "0x82");
	CHECK(pt->parts[3].number == 6 && pt->parts[3].start == 10240 * 512ull);
	/* No table at all: a filesystem on the whole disk. */
	unlink(img);
	CHECK(run_checked("truncate", "-s", "8M", img, NULL) == 0);
	CHECK(run_checked("mkfs.fat", img, NULL) == 0);
	CHECK(read_table(img, pt, why) == 0 && pt->kind == NULL);
	free(pt);
	free(img);
}

/* ---- tar ---- */

struct mem {
	const unsigned char *d;
	size_t n;
};

static int mem_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct mem *m = ctx;
	if (off > m->n || len > m->n - off)
		return -1;
	memcpy(buf, m->d + off, len);
	return 0;
}

static void test_tar_members_at_gnu_tar_offsets(void)
{
	char *src = xasprintf("%s/ova", dir), *ova = xasprintf("%s/x.ova", dir);
	mkdir(src, 0755);
	char longname[200];
	memset(longname, 'n', 150);
	strcpy(longname + 150, ".vmdk");
	char *f1 = xasprintf("%s/a.ovf", src), *f2 = xasprintf("%s/%s", src, longname);
	write_file_atomic(f1, "<Envelope/>", 11, 0644);
	char big[3000];
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (char)('a' + i % 26);
	write_file_atomic(f2, big, sizeof big, 0644);
	for (int pass = 0; pass < 2; pass++) {
		const char *fmt = pass ? "--format=pax" : "--format=gnu";
		CHECK(run_checked("tar", fmt, "-C", src, "-cf", ova, "a.ovf", longname, NULL) == 0);
		struct strbuf sb = STRBUF_INIT;
		CHECK(read_file(ova, &sb, 1 << 20) == 0);
		struct mem m = {(const unsigned char *)sb.buf, sb.len};
		struct tar_member *mem;
		size_t n;
		struct strbuf err = STRBUF_INIT;
		CHECK(tar_list(mem_read, &m, m.n, &mem, &n, &err) == 0);
		CHECK(n == 2);
		uint64_t second = n == 2 ? mem[1].offset : 0;
		if (n == 2) {
			CHECK_STR(mem[0].name, "a.ovf");
			CHECK(mem[0].size == 11 && !memcmp(sb.buf + mem[0].offset, "<Envelope/>", 11));
			CHECK_STR(mem[1].name, longname);
			CHECK(mem[1].size == sizeof big && !memcmp(sb.buf + mem[1].offset, big, sizeof big));
		}
		tar_members_free(mem, n);
		/* Truncated in the middle of the second member: refused. */
		m.n = second + 100;
		CHECK(tar_list(mem_read, &m, m.n, &mem, &n, &err) == -1);
		CHECK(strstr(err.buf, "past the end") != NULL);
		/* A header with a wrong checksum: refused. */
		sb.buf[100] ^= 1;
		m.n = sb.len;
		strbuf_reset(&err);
		CHECK(tar_list(mem_read, &m, m.n, &mem, &n, &err) == -1);
		CHECK(strstr(err.buf, "checksum") != NULL);
		strbuf_release(&err);
		strbuf_release(&sb);
	}
	free(f1);
	free(f2);
	free(src);
	free(ova);
}

static int identical(const char *a, const char *fmt_a, const char *b)
{
	const char *argv[] = {"qemu-img", "compare", "-q", "-f", fmt_a, "-F", "raw", a, b, NULL};
	struct run_opts o = {.quiet = 1};
	return run_argv(argv, &o) == 0;
}

/* An OVA made with qemu-img and GNU tar: its VMDK is read in place through
 * a qcow2 overlay (qemu-img compare is the oracle), or copied out when
 * qemu-img cannot make the overlay (a qemu-img that fails `create`). */
static void test_ova_source(void)
{
	char *raw = xasprintf("%s/disk.raw", dir), *src = xasprintf("%s/ovasrc", dir);
	char *vmdk = xasprintf("%s/x-disk1.vmdk", src), *ova = xasprintf("%s/x.ova", dir);
	mkdir(src, 0755);
	CHECK(run_checked("truncate", "-s", "8M", raw, NULL) == 0);
	int fd = open(raw, O_WRONLY);
	for (int i = 0; i < 8; i++)
		CHECK(pwrite(fd, "apkg inspect test data", 22, (off_t)i * 1000003) == 22);
	close(fd);
	CHECK(run_checked("qemu-img", "convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", raw,
			  vmdk, NULL) == 0);
	char *ovf = xasprintf("%s/x.ovf", src);
	write_file_atomic(ovf, "<Envelope/>", 11, 0644);
	CHECK(run_checked("tar", "--format=ustar", "-C", src, "-cf", ova, "x.ovf", "x-disk1.vmdk", NULL) == 0);

	struct inspect_source s;
	CHECK(inspect_source_open(ova, &s) == 0);
	CHECK_STR(s.container, "ova");
	CHECK_STR(s.read_via, "in place");
	CHECK(s.n_disks == 1);
	if (s.n_disks == 1) {
		CHECK_STR(s.disks[0].member, "x-disk1.vmdk");
		CHECK_STR(s.disks[0].format, "vmdk");
		CHECK_STR(s.disks[0].drive_format, "qcow2");
		CHECK(identical(s.disks[0].drive, "qcow2", raw));
		uint64_t bytes = 0;
		CHECK(inspect_source_allocated(&s, &bytes) == 0);
		CHECK(bytes > 0 && bytes <= 8 * 65536); /* eight small writes, one grain each at most */
	}
	char *tmp = s.tmpdir ? xstrdup(s.tmpdir) : NULL;
	inspect_source_release(&s);
	CHECK(tmp && !path_exists(tmp)); /* the overlay goes with the inspection */
	free(tmp);

	/* A qemu-img that cannot create overlays: the member is copied out. */
	char *bindir = xasprintf("%s/bin", dir), *wrapper = xasprintf("%s/bin/qemu-img", dir);
	mkdir(bindir, 0755);
	const char script[] = "#!/bin/sh\n[ \"$1\" = create ] && { echo 'no overlays here' >&2; exit 1; }\n"
			      "exec /usr/bin/qemu-img \"$@\"\n";
	write_file_atomic(wrapper, script, sizeof script - 1, 0755);
	chmod(wrapper, 0755);
	char *old = xstrdup(getenv("PATH"));
	char *path = xasprintf("%s:%s", bindir, old);
	setenv("PATH", path, 1);
	CHECK(inspect_source_open(ova, &s) == 0);
	setenv("PATH", old, 1);
	CHECK_STR(s.read_via, "extracted");
	if (s.n_disks == 1) {
		CHECK_STR(s.disks[0].drive_format, "vmdk");
		CHECK(identical(s.disks[0].drive, "vmdk", raw));
	}
	inspect_source_release(&s);

	/* Not an OVA after all: a truncated tar. */
	CHECK(run_checked("truncate", "-s", "2048", ova, NULL) == 0);
	CHECK(inspect_source_open(ova, &s) == -1);
	inspect_source_release(&s);
	free(old);
	free(path);
	free(bindir);
	free(wrapper);
	free(ovf);
	free(raw);
	free(src);
	free(vmdk);
	free(ova);
}

/* Data counted the same whatever the container: VHDX, VHD and VDI (whose QEMU
 * drivers cannot tell data from holes finely) are counted through a copy. */
static void test_allocated_across_formats(void)
{
	char *raw = xasprintf("%s/alloc.raw", dir);
	CHECK(run_checked("truncate", "-s", "16M", raw, NULL) == 0);
	int fd = open(raw, O_WRONLY);
	for (int i = 0; i < 5; i++)
		CHECK(pwrite(fd, "data", 4, (off_t)i * 3 * 1048576 + 12345) == 4);
	close(fd);
	static const char *const fmts[] = {"qcow2", "vhdx", "vdi", "vpc", "vmdk"};
	uint64_t want = 0;
	for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
		char *img = xasprintf("%s/alloc.%s", dir, fmts[i]);
		CHECK(run_checked("qemu-img", "convert", "-f", "raw", "-O", fmts[i], raw, img, NULL) == 0);
		struct inspect_source s;
		uint64_t bytes = 0;
		CHECK(inspect_source_open(img, &s) == 0);
		CHECK_STR(s.disks[0].format, fmts[i]);
		CHECK(inspect_source_allocated(&s, &bytes) == 0);
		inspect_source_release(&s);
		if (!want)
			want = bytes;
		CHECK(bytes == want && bytes >= 5 * 4 && bytes <= 5 * 65536);
		if (bytes != want)
			fprintf(stderr, "  %s: %llu bytes, qcow2: %llu\n", fmts[i], (unsigned long long)bytes,
				(unsigned long long)want);
		free(img);
	}
	free(raw);
}

/* A qcow2 whose backing file is a host file (here a harmless one) is refused. */
static void test_backing_file_refused(void)
{
	char *host = xasprintf("%s/host-secret", dir), *img = xasprintf("%s/evil.qcow2", dir);
	write_file_atomic(host, "secret", 6, 0600);
	CHECK(run_checked("qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", host, img, "1M", NULL) == 0);
	struct inspect_source s;
	CHECK(inspect_source_open(img, &s) == -1);
	inspect_source_release(&s);
	free(host);
	free(img);
}

static void test_sniff(void)
{
	unsigned char b[1024] = {0};
	CHECK_STR(inspect_sniff_format(b, sizeof b), "raw");
	memcpy(b, "QFI\xfb", 4);
	CHECK_STR(inspect_sniff_format(b, sizeof b), "qcow2");
	memcpy(b, "KDMV", 4);
	CHECK_STR(inspect_sniff_format(b, sizeof b), "vmdk");
	memcpy(b, "vhdxfile", 8);
	CHECK_STR(inspect_sniff_format(b, sizeof b), "vhdx");
	memcpy(b, "conectix", 8);
	CHECK_STR(inspect_sniff_format(b, sizeof b), "vpc");
	memset(b, 0, 16);
	memcpy(b + 0x40, "\x7f\x10\xda\xbe", 4);
	CHECK_STR(inspect_sniff_format(b, sizeof b), "vdi");
	CHECK_STR(inspect_sniff_format(b, 3), "raw");
}

/* ---- boot configurations ---- */

static void test_syslinux(void)
{
	const char cfg[] = "# apkg\nDEFAULT apkg\nTIMEOUT 0\nAPPEND console=ttyS0\n"
			   "LABEL rescue\n  LINUX /rescue\n"
			   "LABEL apkg\n  MENU LABEL hello 1.0.0\n  linux /vmlinuz\n  INITRD /initrd.img\n"
			   "  APPEND root=PARTUUID=x rw\r\n";
	struct boot_entry *e;
	size_t n = bootcfg_syslinux(cfg, sizeof cfg - 1, &e);
	CHECK(n == 2);
	if (n == 2) {
		CHECK_STR(e[0].title, "rescue");
		CHECK_STR(e[0].cmdline, "console=ttyS0"); /* the global APPEND */
		CHECK(!e[0].is_default && e[1].is_default);
		CHECK_STR(e[1].title, "hello 1.0.0");
		CHECK_STR(e[1].kernel, "/vmlinuz");
		CHECK_STR(e[1].initrd[0], "/initrd.img");
		CHECK_STR(e[1].cmdline, "root=PARTUUID=x rw");
	}
	boot_entries_free(e, n);
	CHECK(bootcfg_syslinux("", 0, &e) == 0);
	free(e);
}

static void test_loader_entries(void)
{
	const char entry[] = "title debian-web 1.0.0\nlinux /vmlinuz\ninitrd /initrd.img\noptions root=PARTUUID=y\n"
			     "options quiet\n";
	struct boot_entry e;
	CHECK(bootcfg_loader_entry(entry, sizeof entry - 1, &e) == 0);
	CHECK_STR(e.title, "debian-web 1.0.0");
	CHECK_STR(e.cmdline, "root=PARTUUID=y quiet");
	boot_entry_release(&e);
	CHECK(bootcfg_loader_entry("title nothing\n", 14, &e) == -1);
	char *def = bootcfg_loader_default("timeout 0\ndefault apkg.conf\n", 28);
	CHECK_STR(def, "apkg.conf");
	free(def);
}

static void test_grub(void)
{
	const char cfg[] = "set default=0\nmenuentry 'Debian GNU/Linux' --class debian {\n"
			   "\tlinux\t/boot/vmlinuz-6.1.0-28-amd64 root=UUID=abc ro quiet\n"
			   "\tinitrd\t/boot/initrd.img-6.1.0-28-amd64\n}\n"
			   "submenu 'Advanced' {\nmenuentry \"rescue\" {\n linux16 /vmlinuz single\n}\n}\n"
			   "menuentry 'UEFI Firmware Settings' {\n fwsetup\n}\n";
	struct boot_entry *e;
	size_t n = bootcfg_grub(cfg, sizeof cfg - 1, &e);
	CHECK(n == 2);
	if (n == 2) {
		CHECK_STR(e[0].title, "Debian GNU/Linux");
		CHECK_STR(e[0].kernel, "/boot/vmlinuz-6.1.0-28-amd64");
		CHECK_STR(e[0].cmdline, "root=UUID=abc ro quiet");
		CHECK_STR(e[0].initrd[0], "/boot/initrd.img-6.1.0-28-amd64");
		CHECK(e[0].is_default && !e[1].is_default);
		CHECK_STR(e[1].cmdline, "single");
	}
	boot_entries_free(e, n);
}

/* The cached Debian kernel, when a build has downloaded one. */
static char *cached_vmlinuz(void)
{
	const char *home = getenv("HOME");
	char *kdir = xasprintf("%s/.cache/apkg/kernels", home ? home : "/root");
	DIR *d = opendir(kdir);
	struct dirent *de;
	char *found = NULL;
	while (d && !found && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *boot = xasprintf("%s/%s/boot", kdir, de->d_name);
		DIR *b = opendir(boot);
		struct dirent *be;
		while (b && !found && (be = readdir(b)))
			if (!strncmp(be->d_name, "vmlinuz-", 8))
				found = xasprintf("%s/%s", boot, be->d_name);
		if (b)
			closedir(b);
		free(boot);
	}
	if (d)
		closedir(d);
	free(kdir);
	return found;
}

static void test_bzimage_version(void)
{
	unsigned char fake[0x400] = {0};
	memcpy(fake + 0x202, "HdrS", 4);
	fake[0x20e] = 0x00;
	fake[0x20f] = 0x01; /* kernel_version at 0x100 + 0x200 */
	memcpy(fake + 0x300, "6.1.0-99-amd64 (x@y) #1", 23);
	char v[64];
	CHECK(bzimage_version(fake, sizeof fake, v, sizeof v) == 0);
	CHECK_STR(v, "6.1.0-99-amd64");
	CHECK(bzimage_version(fake, 0x300, v, sizeof v) == -1); /* points past the end */
	fake[0x202] = 'X';
	CHECK(bzimage_version(fake, sizeof fake, v, sizeof v) == -1);

	char *real = cached_vmlinuz();
	if (!real) {
		printf("SKIP part of test_bzimage_version: no cached Debian kernel\n");
		return;
	}
	struct strbuf sb = STRBUF_INIT;
	CHECK(read_file(real, &sb, 64 << 20) == 0);
	CHECK(bzimage_version((unsigned char *)sb.buf, sb.len, v, sizeof v) == 0);
	CHECK(strstr(real, v) != NULL); /* boot/vmlinuz-<release> */
	strbuf_release(&sb);
	free(real);
}

static void test_mbr_code(void)
{
	unsigned char s[512] = {0};
	CHECK_STR(mbr_boot_code(s, sizeof s), "none");
	struct strbuf sb = STRBUF_INIT;
	if (read_file("/usr/lib/syslinux/mbr/gptmbr.bin", &sb, 4096) == 0) {
		memcpy(s, sb.buf, sb.len < 440 ? sb.len : 440);
		CHECK_STR(mbr_boot_code(s, sizeof s), "syslinux-gptmbr");
	}
	strbuf_reset(&sb);
	if (read_file("/usr/lib/syslinux/mbr/mbr.bin", &sb, 4096) == 0) {
		memset(s, 0, sizeof s);
		memcpy(s, sb.buf, sb.len < 440 ? sb.len : 440);
		CHECK_STR(mbr_boot_code(s, sizeof s), "syslinux-mbr");
	}
	strbuf_release(&sb);
	memset(s, 0x90, 440);
	CHECK_STR(mbr_boot_code(s, sizeof s), "unknown");
}

int main(void)
{
	snprintf(dir, sizeof dir, "/tmp/apkg-test-inspect-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	RUN(test_gpt_from_sfdisk);
	RUN(test_mbr_from_sfdisk);
	RUN(test_tar_members_at_gnu_tar_offsets);
	RUN(test_sniff);
	RUN(test_ova_source);
	RUN(test_allocated_across_formats);
	RUN(test_backing_file_refused);
	RUN(test_syslinux);
	RUN(test_loader_entries);
	RUN(test_grub);
	RUN(test_bzimage_version);
	RUN(test_mbr_code);
	rm_rf(dir);
	TEST_MAIN_END();
}
