/* repro/compare.c: artifact-by-artifact comparison of two output directories. */
#include "repro/compare.h"

#include "repro/container_map.h"
#include "repro/disk_map.h"
#include "util/diag.h"
#include "util/io.h"
#include "util/run.h"
#include "util/strbuf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK (1u << 20)
#define BLOCK 4096u

/* The next offset at or after pos where either file may hold data. */
static uint64_t next_data(int fa, int fb, uint64_t pos, uint64_t end)
{
	off_t da = lseek(fa, (off_t)pos, SEEK_DATA), db = lseek(fb, (off_t)pos, SEEK_DATA);
	uint64_t a = da < 0 ? end : (uint64_t)da, b = db < 0 ? end : (uint64_t)db;
	if (da < 0 && errno != ENXIO)
		return pos; /* no SEEK_DATA: read everything */
	return a < b ? a : b;
}

static void count_blocks(const uint8_t *x, const uint8_t *y, size_t n, uint64_t pos, uint64_t *at, uint64_t *blocks)
{
	for (size_t i = 0; i < n; i += BLOCK) {
		size_t len = n - i < BLOCK ? n - i : BLOCK;
		if (!memcmp(x + i, y + i, len))
			continue;
		if (*at == UINT64_MAX)
			for (size_t j = 0; j < len; j++)
				if (x[i + j] != y[i + j]) {
					*at = pos + i + j;
					break;
				}
		(*blocks)++;
	}
}

int repro_file_difference(const char *a, const char *b, uint64_t *at, uint64_t *blocks)
{
	int fa = open(a, O_RDONLY | O_CLOEXEC), fb = open(b, O_RDONLY | O_CLOEXEC);
	struct stat sa, sb;
	int rc = -1;
	if (fa < 0 || fb < 0 || fstat(fa, &sa) < 0 || fstat(fb, &sb) < 0) {
		error_errno("cannot read %s", fa < 0 ? a : b);
		goto out;
	}
	uint64_t end = (uint64_t)(sa.st_size < sb.st_size ? sa.st_size : sb.st_size);
	uint8_t *x = xmalloc(CHUNK), *y = xmalloc(CHUNK);
	*at = UINT64_MAX;
	*blocks = 0;
	rc = 0;
	for (uint64_t pos = 0; pos < end && rc == 0;) {
		pos = next_data(fa, fb, pos, end);
		if (pos >= end)
			break;
		size_t n = end - pos < CHUNK ? (size_t)(end - pos) : CHUNK;
		if (pread_exact(fa, x, n, pos) < 0 || pread_exact(fb, y, n, pos) < 0)
			rc = -1;
		else
			count_blocks(x, y, n, pos, at, blocks);
		pos += n;
	}
	free(x);
	free(y);
	if (rc == 0 && sa.st_size != sb.st_size) {
		if (*at == UINT64_MAX)
			*at = end;
		(*blocks)++;
	}
	if (rc == 0)
		rc = *at != UINT64_MAX;
out:
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	return rc;
}

static int has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcmp(s + n - m, suffix);
}

static const char *image_format_of(const char *name)
{
	static const char *const fmts[] = {".qcow2", ".vmdk", ".vhdx", ".vdi", NULL};
	for (size_t i = 0; fmts[i]; i++)
		if (has_suffix(name, fmts[i]))
			return fmts[i] + 1;
	return NULL;
}

static int is_text(const char *name)
{
	static const char *const texts[] = {".json", ".ovf", ".mf", ".txt", ".cfg", ".conf", "SHA256SUMS", NULL};
	for (size_t i = 0; texts[i]; i++)
		if (has_suffix(name, texts[i]))
			return 1;
	return 0;
}

/* "line N: <first build> | <second build>" */
static int text_difference(const char *a, const char *b, struct strbuf *out)
{
	struct strbuf x = STRBUF_INIT, y = STRBUF_INIT;
	int rc = read_file(a, &x, 256u << 20) < 0 || read_file(b, &y, 256u << 20) < 0 ? -1 : 0;
	if (rc == 0) {
		size_t i = 0, line = 1, start = 0;
		while (i < x.len && i < y.len && x.buf[i] == y.buf[i]) {
			if (x.buf[i] == '\n') {
				line++;
				start = i + 1;
			}
			i++;
		}
		int la = (int)strcspn(x.buf + start, "\n"), lb = (int)strcspn(y.buf + start, "\n");
		strbuf_addf(out, "line %zu:\n        first:  %.*s\n        second: %.*s", line, la > 160 ? 160 : la,
			    x.buf + start, lb > 160 ? 160 : lb, y.buf + start);
	}
	strbuf_release(&x);
	strbuf_release(&y);
	return rc;
}

static int to_raw(const char *image, const char *format, const char *raw)
{
	const char *argv[] = {"qemu-img", "convert", "-f", format, "-O", "raw", image, raw, NULL};
	struct strbuf out = STRBUF_INIT;
	struct run_opts o = {.output = &out};
	int rc = run_argv(argv, &o);
	if (rc != 0)
		error("qemu-img cannot read %s: %s", image, out.buf);
	strbuf_release(&out);
	return rc ? -1 : 0;
}

static void describe_disk_difference(const char *a, const char *b, const char *tmpdir, struct strbuf *out)
{
	uint64_t at, blocks;
	if (repro_file_difference(a, b, &at, &blocks) != 1)
		return;
	strbuf_addf(out, "\n      the disk differs in %" PRIu64 " block%s of 4 KiB; the first difference, at byte %" PRIu64
			 ", is in ", blocks, blocks == 1 ? "" : "s", at);
	disk_describe(a, at, tmpdir, out);
}

/* An image in any format: its disk first, then its own structures. */
static int image_difference(const char *a, const char *b, const char *format, const char *tmpdir, struct strbuf *out)
{
	uint64_t at, blocks;
	if (!strcmp(format, "raw")) {
		describe_disk_difference(a, b, tmpdir, out);
		return 0;
	}
	char *ra = path_join(tmpdir, "a.raw"), *rb = path_join(tmpdir, "b.raw");
	int rc = to_raw(a, format, ra) < 0 || to_raw(b, format, rb) < 0 ? -1 : 0;
	int disks_differ = rc == 0 && repro_file_difference(ra, rb, &at, &blocks) == 1;
	if (disks_differ)
		describe_disk_difference(ra, rb, tmpdir, out);
	else if (rc == 0)
		strbuf_adds(out, "\n      the disks they hold are identical");
	unlink(ra);
	unlink(rb);
	free(ra);
	free(rb);
	if (rc == 0 && repro_file_difference(a, b, &at, &blocks) == 1) {
		strbuf_addf(out, "\n      the %s file first differs at byte %" PRIu64 ": ", format, at);
		image_container_describe(format, a, at, out);
	}
	return rc;
}

/* An archive: its first differing member, and a closer look at that member. */
static int archive_difference(const char *a, const char *b, const char *tmpdir, struct strbuf *out)
{
	static const char *const look_into[] = {".vmdk", ".ovf", ".mf", ".img", NULL};
	char *member = NULL;
	strbuf_adds(out, "\n      ");
	int rc = archive_first_difference(a, b, tmpdir, look_into, out, &member);
	if (rc == 0)
		strbuf_adds(out, "every member is the same: only the archive's own bytes differ");
	if (member) {
		char *na = xasprintf("a.%s", member), *nb = xasprintf("b.%s", member);
		char *pa = path_join(tmpdir, na), *pb = path_join(tmpdir, nb);
		const char *fmt = image_format_of(member);
		if (fmt) {
			image_difference(pa, pb, fmt, tmpdir, out);
		} else if (is_text(member)) {
			strbuf_adds(out, "\n      ");
			text_difference(pa, pb, out);
		}
		unlink(pa);
		unlink(pb);
		free(na);
		free(nb);
		free(pa);
		free(pb);
		free(member);
	}
	return rc < 0 ? -1 : 0;
}

static void describe(const char *name, const char *a, const char *b, const char *tmpdir, struct strbuf *out)
{
	uint64_t at, blocks;
	const char *fmt = image_format_of(name);
	if (has_suffix(name, ".raw"))
		image_difference(a, b, "raw", tmpdir, out);
	else if (fmt)
		image_difference(a, b, fmt, tmpdir, out);
	else if (has_suffix(name, ".ova") || !strcmp(name, "initrd.img") || has_suffix(name, "/initrd.img"))
		archive_difference(a, b, tmpdir, out);
	else if (is_text(name))
		(strbuf_adds(out, "\n      "), text_difference(a, b, out));
	else if (repro_file_difference(a, b, &at, &blocks) == 1)
		strbuf_addf(out, "\n      from byte %" PRIu64 " (%" PRIu64 " differing blocks of 4 KiB)", at, blocks);
}

/* ---- walking the output directories ---- */

static int cmp_names(const void *x, const void *y) { return strcmp(*(char *const *)x, *(char *const *)y); }

/* Relative paths of the regular files under dir, sorted. */
static void list_files(const char *dir, const char *rel, char ***v, size_t *n, int depth)
{
	char *path = *rel ? path_join(dir, rel) : xstrdup(dir);
	DIR *d = opendir(path);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *child = *rel ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
		char *full = path_join(dir, child);
		struct stat st;
		if (lstat(full, &st) == 0 && S_ISDIR(st.st_mode) && depth < 32) {
			list_files(dir, child, v, n, depth + 1);
			free(child);
		} else {
			*v = xrealloc(*v, (*n + 1) * sizeof **v);
			(*v)[(*n)++] = child;
		}
		free(full);
	}
	if (d)
		closedir(d);
	free(path);
	if (!depth && *n)
		qsort(*v, *n, sizeof **v, cmp_names);
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int repro_compare_outputs(const char *a, const char *b, const char *tmpdir, struct strbuf *report, size_t *compared)
{
	char **va = NULL, **vb = NULL;
	size_t na = 0, nb = 0, i = 0, j = 0;
	int differ = 0;
	list_files(a, "", &va, &na, 0);
	list_files(b, "", &vb, &nb, 0);
	*compared = 0;
	while (i < na || j < nb) {
		int c = i >= na ? 1 : j >= nb ? -1 : strcmp(va[i], vb[j]);
		if (c) {
			strbuf_addf(report, "  %s: only in the %s build\n", c < 0 ? va[i] : vb[j], c < 0 ? "first" : "second");
			differ++;
			c < 0 ? i++ : j++;
			continue;
		}
		char *pa = path_join(a, va[i]), *pb = path_join(b, vb[j]);
		uint64_t at, blocks;
		int d = repro_file_difference(pa, pb, &at, &blocks);
		(*compared)++;
		if (d != 0) {
			strbuf_addf(report, "  %s: differs", va[i]);
			if (d > 0)
				describe(va[i], pa, pb, tmpdir, report);
			strbuf_addc(report, '\n');
			differ++;
		}
		free(pa);
		free(pb);
		i++;
		j++;
	}
	free_list(va, na);
	free_list(vb, nb);
	return differ;
}
