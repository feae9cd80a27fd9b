/* tests/unit/test_init_parse.c: apkg-init's command-line and GPT parsers.
 *
 * The GPT cases use a real partition table written by sfdisk, so the mixed-endian GUID layout
 * and both CRCs are checked against an independent implementation, not against our own idea.
 */
#include "test.h"

#include "initramfs/init_parse.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

static void test_cmdline(void)
{
	struct boot_opts o;
	boot_opts_init(&o);
	CHECK_STR(o.fstype, "ext4");
	CHECK_STR(o.init, "/sbin/init");
	CHECK(o.timeout_s == 30 && !o.rw && !o.check);
	const char *line = "console=ttyS0 root=PARTUUID=7d3b0f8e-5c2a-4e61-9a0b-2f4c6d8e1a35 ro rw "
			   "init=\"/sbin/my init\" apkg.root_timeout=5 apkg.check=1 rootflags=data=journal quiet\n";
	boot_opts_parse(&o, line, strlen(line));
	CHECK_STR(o.root, "PARTUUID=7d3b0f8e-5c2a-4e61-9a0b-2f4c6d8e1a35");
	CHECK_STR(o.init, "/sbin/my init");
	CHECK_STR(o.flags, "data=journal");
	CHECK(o.rw == 1 && o.timeout_s == 5 && o.check == 1 && !o.bad[0]);
	/* Later options override earlier ones (the fw_cfg extras come last). */
	const char *extra = "apkg.check=0 ro rootfstype=xfs";
	boot_opts_parse(&o, extra, strlen(extra));
	CHECK(o.check == 0 && o.rw == 0);
	CHECK_STR(o.fstype, "xfs");
}

static void test_cmdline_bad(void)
{
	static const struct { const char *line, *bad; } cases[] = {
		{ "apkg.root_timeout=abc", "apkg.root_timeout" },
		{ "apkg.root_timeout=99999", "apkg.root_timeout" },
		{ "apkg.root_timeout=", "apkg.root_timeout" },
		{ "init=sbin/init", "init" },
		{ "root=", "root" },
		{ "rootfstype=averyveryveryverylongfilesystemtypename", "rootfstype" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct boot_opts o;
		boot_opts_init(&o);
		boot_opts_parse(&o, cases[i].line, strlen(cases[i].line));
		CHECK_STR(o.bad, cases[i].bad);
	}
	char longroot[2000] = "root=PARTUUID=";
	memset(longroot + 14, 'a', 1900);
	longroot[1914] = 0;
	struct boot_opts o;
	boot_opts_init(&o);
	boot_opts_parse(&o, longroot, strlen(longroot));
	CHECK_STR(o.bad, "root");
	/* NUL bytes end a token instead of reading past it. */
	boot_opts_init(&o);
	boot_opts_parse(&o, "rw\0init=/x", 10);
	CHECK(o.rw == 1);
	CHECK_STR(o.init, "/x");
}

static void test_guid(void)
{
	uint8_t g[16];
	static const uint8_t want[16] = { 0x67, 0x45, 0x23, 0x01, 0xab, 0x89, 0xef, 0xcd,
					  0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };
	CHECK(guid_parse("01234567-89ab-cdef-0123-456789abcdef", g) == 0 && !memcmp(g, want, 16));
	CHECK(guid_parse("01234567-89AB-CDEF-0123-456789ABCDEF", g) == 0 && !memcmp(g, want, 16));
	CHECK(guid_parse("01234567-89ab-cdef-0123-456789abcde", g) < 0);
	CHECK(guid_parse("01234567-89ab-cdef-0123-456789abcdef0", g) < 0);
	CHECK(guid_parse("0123456789ab-cdef-0123-456789abcdef", g) < 0);
	CHECK(guid_parse("01234567-89ab-cdef-0123-456789abcdeg", g) < 0);
	CHECK(guid_parse("", g) < 0);
}

#define DISK_SECTORS 16384u

/* An 8 MiB disk image with a GPT written by sfdisk; returns an open fd. */
static int make_disk(char *path)
{
	int fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, (off_t)DISK_SECTORS * 512) < 0)
		return -1;
	char cmd[512];
	snprintf(cmd, sizeof cmd, "sfdisk -q %s >/dev/null", path);
	FILE *p = popen(cmd, "w");
	if (!p)
		return -1;
	fputs("label: gpt\n"
	      "start=2048, size=2048, type=uefi, uuid=11111111-2222-4333-8444-555555555555\n"
	      "start=4096, size=8192, type=linux, uuid=7d3b0f8e-5c2a-4e61-9a0b-2f4c6d8e1a35\n",
	      p);
	return pclose(p) == 0 ? fd : -1;
}

static void test_gpt_from_sfdisk(void)
{
	char path[] = "/tmp/apkg-test-gpt.XXXXXX";
	int fd = make_disk(path);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	uint8_t sec[512];
	struct gpt_info g;
	CHECK(pread(fd, sec, 512, 512) == 512);
	CHECK(gpt_parse_header(sec, 512, 1, DISK_SECTORS, &g) == 0);
	CHECK(g.n_entries == 128 && g.entry_size == 128 && g.entries_lba == 2);
	size_t len = gpt_entries_bytes(&g);
	uint8_t *ents = malloc(len);
	CHECK(pread(fd, ents, len, (off_t)g.entries_lba * 512) == (ssize_t)len);
	uint8_t root[16], esp[16], other[16];
	guid_parse("7d3b0f8e-5c2a-4e61-9a0b-2f4c6d8e1a35", root);
	guid_parse("11111111-2222-4333-8444-555555555555", esp);
	guid_parse("00000000-0000-4000-8000-000000000000", other);
	CHECK(gpt_find_partition(ents, len, &g, root) == 2);
	CHECK(gpt_find_partition(ents, len, &g, esp) == 1);
	CHECK(gpt_find_partition(ents, len, &g, other) == 0);
	CHECK(gpt_find_partition(ents, len - 1, &g, root) < 0);
	ents[200] ^= 1; /* a flipped bit in the entry array fails its CRC */
	CHECK(gpt_find_partition(ents, len, &g, root) < 0);

	/* The backup header at the last LBA describes the same partitions. */
	struct gpt_info b;
	CHECK(pread(fd, sec, 512, (off_t)(DISK_SECTORS - 1) * 512) == 512);
	CHECK(gpt_parse_header(sec, 512, DISK_SECTORS - 1, DISK_SECTORS, &b) == 0);
	CHECK(pread(fd, ents, len, (off_t)b.entries_lba * 512) == (ssize_t)len);
	CHECK(gpt_find_partition(ents, len, &b, root) == 2);

	/* Headers that lie. */
	CHECK(pread(fd, sec, 512, 512) == 512);
	CHECK(gpt_parse_header(sec, 512, 2, DISK_SECTORS, &g) < 0);  /* not where it says it is */
	CHECK(gpt_parse_header(sec, 512, 1, 20, &g) < 0);            /* entries past the end of the disk */
	CHECK(gpt_parse_header(sec, 256, 1, DISK_SECTORS, &g) < 0);  /* short block */
	sec[100] ^= 1;                                               /* the header's CRC covers 92 bytes only */
	CHECK(gpt_parse_header(sec, 512, 1, DISK_SECTORS, &g) == 0);
	sec[20] ^= 1;                                                /* a flipped bit fails the CRC */
	CHECK(gpt_parse_header(sec, 512, 1, DISK_SECTORS, &g) < 0);
	sec[20] ^= 1;
	/* Fields out of range with a correct CRC. */
	static const struct { size_t off; uint32_t value; } lies[] = {
		{ 80, 0x10000 },     /* 64 Ki entries: 8 MiB of entry array */
		{ 80, 0 },           /* no entries */
		{ 84, 100 },         /* entry size below 128 */
		{ 84, 130 },         /* entry size not a multiple of 8 */
		{ 72, DISK_SECTORS }, /* entry array starts past the end */
		{ 12, 600 },         /* header larger than a sector buffer */
	};
	for (size_t i = 0; i < sizeof lies / sizeof *lies; i++) {
		uint8_t bad[512];
		memcpy(bad, sec, 512);
		for (int k = 0; k < 4; k++)
			bad[lies[i].off + (size_t)k] = (uint8_t)(lies[i].value >> (8 * k));
		memset(bad + 16, 0, 4);
		uint32_t crc = gpt_crc32(bad, 92);
		for (int k = 0; k < 4; k++)
			bad[16 + k] = (uint8_t)(crc >> (8 * k));
		CHECK(gpt_parse_header(bad, 512, 1, DISK_SECTORS, &g) < 0);
	}
	free(ents);
	close(fd);
	unlink(path);
}

static void test_crc32(void)
{
	CHECK(gpt_crc32((const uint8_t *)"123456789", 9) == 0xcbf43926u);
}

int main(void)
{
	RUN(test_cmdline);
	RUN(test_cmdline_bad);
	RUN(test_guid);
	RUN(test_crc32);
	RUN(test_gpt_from_sfdisk);
	TEST_MAIN_END();
}
