/* tests/fuzz/fuzz_inspect.c: every parser `apkg inspect` runs on image bytes, on hostile input.
 *
 * The same input is read as a disk's first sectors (GPT/MBR partition
 * tables, the MBR's boot code), as an OVA (tar member listing), as a
 * syslinux.cfg, a systemd-boot entry and loader.conf, a grub.cfg, and as a
 * bzImage header; the format sniffer sees its head. Nothing may crash or
 * read out of bounds, and what comes out must stay within the caps.
 */
#include "inspect/bootcfg.h"
#include "inspect/ptable.h"
#include "inspect/source.h"
#include "inspect/tar.h"
#include "util/strbuf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct mem {
	const uint8_t *d;
	size_t n;
};

static int mem_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	const struct mem *m = ctx;
	if (off > m->n || len > m->n - off)
		return -1;
	memcpy(buf, m->d + off, len);
	return 0;
}

static void partition_table(const uint8_t *data, size_t size)
{
	struct mem m = {data, size};
	struct ptable *pt = calloc(1, sizeof *pt);
	char why[160];
	/* The disk is claimed larger than the input: reads past it must fail cleanly. */
	ptable_read(mem_read, &m, (uint64_t)size * 4 + 1024, pt, why, sizeof why);
	if (pt->n > PTABLE_MAX_PARTS)
		abort();
	free(pt);
	mbr_boot_code(data, size);
	inspect_sniff_format(data, size);
}

static void tar(const uint8_t *data, size_t size)
{
	struct mem m = {data, size};
	struct tar_member *mem;
	size_t n;
	struct strbuf err = STRBUF_INIT;
	if (tar_list(mem_read, &m, size, &mem, &n, &err) == 0) {
		for (size_t i = 0; i < n; i++)
			if (mem[i].offset > size || mem[i].size > size - mem[i].offset)
				abort();
		tar_members_free(mem, n);
	}
	strbuf_release(&err);
}

static void configs(const char *text, size_t len)
{
	struct boot_entry *e, one;
	size_t n = bootcfg_syslinux(text, len, &e);
	if (n > BOOTCFG_MAX_ENTRIES)
		abort();
	boot_entries_free(e, n);
	n = bootcfg_grub(text, len, &e);
	if (n > BOOTCFG_MAX_ENTRIES)
		abort();
	boot_entries_free(e, n);
	if (bootcfg_loader_entry(text, len, &one) == 0)
		boot_entry_release(&one);
	free(bootcfg_loader_default(text, len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1); /* exact size: ASan sees every overread */
	memcpy(copy, data, size);
	partition_table(copy, size);
	tar(copy, size);
	configs((const char *)copy, size);
	char v[128];
	bzimage_version(copy, size, v, sizeof v);
	free(copy);
	return 0;
}
