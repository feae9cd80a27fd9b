/* tests/fuzz/fuzz_fat.c: libFuzzer harness for the read-only FAT reader (formats/fat/).
 *
 * The input is the beginning of a volume of 1 MiB (the rest reads as
 * zeros). The harness opens it and does what `apkg boot` does with an
 * ESP: lists the root and loader/entries, reads every .conf there, the
 * kernel and syslinux.cfg, then walks one level of subdirectories.
 */
#include "formats/fat/fat_reader.h"
#include "util/strbuf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VOLUME (1 << 20)

struct input {
	const uint8_t *data;
	size_t size;
};

static int read_input(void *ctx, void *buf, size_t len, uint64_t off)
{
	const struct input *in = ctx;
	memset(buf, 0, len);
	if (off < in->size)
		memcpy(buf, in->data + off, in->size - off < len ? in->size - off : len);
	return 0;
}

struct walk {
	struct fat_volume *v;
	const char *dir;
	int depth;
};

static int visit(const struct fat_dirent *e, void *arg)
{
	struct walk *w = arg;
	char path[600];
	snprintf(path, sizeof path, "%s/%s", w->dir, e->name);
	struct strbuf sb = STRBUF_INIT;
	if (!e->is_dir) {
		fat_read_file(w->v, path, &sb, 64 * 1024);
	} else if (w->depth < 1) {
		struct walk sub = {w->v, path, w->depth + 1};
		fat_list(w->v, path, visit, &sub);
	}
	strbuf_release(&sb);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size < VOLUME ? size : VOLUME};
	struct fat_volume *v = fat_open(read_input, &in, VOLUME);
	if (!v)
		return 0;
	struct walk root = {v, "", 0};
	fat_list(v, "/", visit, &root);
	struct walk entries = {v, "/loader/entries", 1};
	fat_list(v, "/loader/entries", visit, &entries);
	struct strbuf sb = STRBUF_INIT;
	fat_read_file(v, "/vmlinuz", &sb, 256 * 1024);
	strbuf_reset(&sb);
	fat_read_file(v, "/syslinux/syslinux.cfg", &sb, 64 * 1024);
	struct fat_dirent d;
	fat_stat(v, "/EFI/BOOT/BOOTX64.EFI", &d);
	strbuf_release(&sb);
	fat_close(v);
	return 0;
}
