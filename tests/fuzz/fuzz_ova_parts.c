/* tests/fuzz/fuzz_ova_parts.c: libFuzzer harness aimed at the linter's text parsers
 * (the OVF descriptor through libxml2 and lint_ovf.c, the manifest, the VMDK).
 *
 * Raw tar mutations rarely produce a valid tar, so this harness builds one:
 * the input is split at "\n@@@\n" into the descriptor, the manifest and the
 * disk, which are packed with libarchive as t.ovf, t.mf and t-disk1.vmdk
 * and linted. Seeds: apkg's own OVA members (tests/fuzz/make_formats_corpus.sh).
 */
#include "formats/ova/lint.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char SEP[] = "\n@@@\n";

static void add(struct archive *a, const char *name, const uint8_t *p, size_t n)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_size(e, (la_int64_t)n);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_write_header(a, e);
	archive_write_data(a, p, n);
	archive_entry_free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *part[3] = {data, NULL, NULL};
	size_t len[3] = {size, 0, 0};
	for (int i = 1; i < 3; i++) {
		const uint8_t *s = memmem(part[i - 1], len[i - 1], SEP, sizeof SEP - 1);
		if (!s)
			break;
		part[i] = s + sizeof SEP - 1;
		len[i] = len[i - 1] - (size_t)(part[i] - part[i - 1]);
		len[i - 1] = (size_t)(s - part[i - 1]);
	}
	size_t cap = size + 16384, used = 0;
	unsigned char *tar = malloc(cap);
	if (!tar)
		return 0;
	struct archive *a = archive_write_new();
	archive_write_set_format_ustar(a);
	archive_write_set_bytes_in_last_block(a, 1);
	archive_write_open_memory(a, tar, cap, &used);
	static const char *const names[3] = {"t.ovf", "t.mf", "t-disk1.vmdk"};
	for (int i = 0; i < 3; i++)
		if (part[i])
			add(a, names[i], part[i], len[i]);
	archive_write_close(a);
	archive_write_free(a);
	struct lint_report r = {0};
	ova_lint_memory(tar, used, PRODUCT_ALL, &r);
	lint_report_release(&r);
	free(tar);
	return 0;
}
