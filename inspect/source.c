/* inspect/source.c: image files and OVAs, made ready for libguestfs (see source.h). */
#include "inspect/source.h"

#include "formats/extents.h"
#include "formats/reader.h"
#include "inspect/tar.h"
#include "util/diag.h"
#include "util/io.h"
#include "util/json.h"
#include "util/run.h"
#include "util/strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAP_OUTPUT_MAX (64u << 20)

const char *inspect_sniff_format(const unsigned char *b, size_t n)
{
	const char *f = image_format_sniff(b, n);
	if (!strcmp(f, "raw") && n >= 512 && tar_is_header(b))
		return "ova";
	return f;
}

static int fd_read_at(void *ctx, void *buf, size_t len, uint64_t off)
{
	int fd = *(int *)ctx;
	size_t got = 0;
	while (got < len) {
		ssize_t r = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static int is_descriptor_member(const char *name)
{
	size_t n = strlen(name);
	return (n > 4 && (!strcasecmp(name + n - 4, ".ovf") || !strcasecmp(name + n - 3, ".mf") ||
			  !strcasecmp(name + n - 5, ".cert")));
}

/* The drive for a member: a qcow2 overlay backed by json:{FORMAT over a raw byte range of the OVA}. */
static int overlay_in_place(struct inspect_source *s, struct inspect_disk_source *d, size_t i)
{
	struct strbuf json = STRBUF_INIT, out = STRBUF_INIT;
	strbuf_addf(&json, "json:{\"driver\": \"%s\", \"file\": {\"driver\": \"raw\", \"offset\": %llu, \"size\": %llu, "
			   "\"file\": {\"driver\": \"file\", \"filename\": ",
		    d->format, (unsigned long long)d->offset, (unsigned long long)d->size);
	json_add_str(&json, s->path, strlen(s->path));
	strbuf_adds(&json, "}}}");
	char *overlay = xasprintf("%s/disk%zu.qcow2", s->tmpdir, i);
	const char *argv[] = {"qemu-img", "create", "-q", "-f", "qcow2", "-F", d->format, "-b", json.buf, overlay, NULL};
	struct run_opts o = {.output = &out};
	int rc = run_argv(argv, &o);
	strbuf_release(&json);
	if (rc != 0) {
		warning("QEMU cannot read %s inside %s in place (%s); copying it out", d->member, s->path,
			out.len ? strtok(out.buf, "\n") : "qemu-img failed");
		free(overlay);
		strbuf_release(&out);
		return -1;
	}
	strbuf_release(&out);
	d->drive = overlay;
	d->drive_format = "qcow2";
	return 0;
}

/* Copies the member's bytes to a sparse temporary file. */
static int extract_member(struct inspect_source *s, int fd, struct inspect_disk_source *d, size_t i)
{
	char *path = xasprintf("%s/disk%zu.%s", s->tmpdir, i, d->format);
	int out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		error_errno("cannot create %s", path);
		free(path);
		return -1;
	}
	size_t bufsize = 1 << 20;
	char *buf = xmalloc(bufsize);
	int rc = 0;
	for (uint64_t done = 0; rc == 0 && done < d->size;) {
		size_t n = d->size - done < bufsize ? (size_t)(d->size - done) : bufsize;
		if (fd_read_at(&fd, buf, n, d->offset + done) < 0)
			rc = error("%s: %s is truncated", s->path, d->member);
		else if (!buffer_is_zero(buf, n))
			rc = pwrite_all(out, buf, n, done);
		done += n;
	}
	if (rc == 0 && ftruncate(out, (off_t)d->size) < 0)
		rc = error_errno("cannot size %s", path);
	close(out);
	free(buf);
	if (rc < 0) {
		free(path);
		return -1;
	}
	d->drive = path;
	d->drive_format = d->format;
	return 0;
}

static int add_ova_disk(struct inspect_source *s, int fd, const struct tar_member *m)
{
	unsigned char head[512] = {0};
	if (m->type != '0' || is_descriptor_member(m->name) || m->size < 512 ||
	    fd_read_at(&fd, head, sizeof head, m->offset) < 0)
		return 0;
	const char *fmt = inspect_sniff_format(head, sizeof head);
	if (!strcmp(fmt, "ova") || !strcmp(fmt, "vmdk-descriptor"))
		return 0;
	size_t n = strlen(m->name);
	if (!strcmp(fmt, "raw") && !(n > 4 && (!strcasecmp(m->name + n - 4, ".img") || !strcasecmp(m->name + n - 4, ".raw"))))
		return 0; /* not a disk image: a manifest, a certificate, a README */
	s->disks = xrealloc(s->disks, (s->n_disks + 1) * sizeof *s->disks);
	struct inspect_disk_source *d = &s->disks[s->n_disks++];
	*d = (struct inspect_disk_source){.member = xstrdup(m->name), .format = fmt, .offset = m->offset, .size = m->size};
	if (overlay_in_place(s, d, s->n_disks - 1) == 0)
		return 0;
	s->read_via = "extracted";
	return extract_member(s, fd, d, s->n_disks - 1);
}

static int open_ova(struct inspect_source *s, int fd, uint64_t size)
{
	struct tar_member *m;
	size_t n;
	struct strbuf err = STRBUF_INIT;
	if (tar_list(fd_read_at, &fd, size, &m, &n, &err) < 0) {
		error("%s: not a readable OVA: %s", s->path, err.buf);
		strbuf_release(&err);
		return -1;
	}
	strbuf_release(&err);
	s->container = "ova";
	s->read_via = "in place";
	s->tmpdir = xstrdup("/tmp/apkg-inspect-XXXXXX");
	int rc = 0;
	if (!mkdtemp(s->tmpdir)) {
		rc = error_errno("cannot create a temporary directory");
		free(s->tmpdir);
		s->tmpdir = NULL;
	} else {
		cleanup_register(s->tmpdir);
	}
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = add_ova_disk(s, fd, &m[i]);
	tar_members_free(m, n);
	if (rc == 0 && !s->n_disks)
		rc = error("%s: the OVA holds no disk image", s->path);
	return rc;
}

int inspect_source_open(const char *path, struct inspect_source *s)
{
	memset(s, 0, sizeof *s);
	s->path = realpath(path, NULL);
	if (!s->path)
		return error_errno("%s", path);
	int fd = open(s->path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		error_errno("cannot open %s", path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	unsigned char head[512] = {0};
	ssize_t got = pread(fd, head, sizeof head, 0);
	const char *fmt = inspect_sniff_format(head, got > 0 ? (size_t)got : 0);
	int rc = 0;
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		rc = error("%s is not a regular file or a block device", path);
	else if (!strcmp(fmt, "ova"))
		rc = open_ova(s, fd, (uint64_t)st.st_size);
	else if (!strcmp(fmt, "vmdk-descriptor"))
		rc = error("%s is a VMDK descriptor: give apkg inspect the disk it describes, or an OVA", path);
	else {
		s->read_via = "file";
		s->disks = xcalloc(1, sizeof *s->disks);
		s->n_disks = 1;
		s->disks[0] = (struct inspect_disk_source){.format = fmt, .size = (uint64_t)st.st_size,
							   .drive = xstrdup(s->path), .drive_format = fmt};
	}
	close(fd);
	return rc;
}

void inspect_source_release(struct inspect_source *s)
{
	for (size_t i = 0; i < s->n_disks; i++) {
		free(s->disks[i].member);
		free(s->disks[i].drive);
	}
	free(s->disks);
	if (s->tmpdir) {
		rm_rf(s->tmpdir);
		cleanup_unregister(s->tmpdir);
		free(s->tmpdir);
	}
	free(s->path);
	memset(s, 0, sizeof *s);
}

/* Sums "length" over qemu-img map entries with data and not zero. */
static int sum_map(const char *text, size_t len, uint64_t *bytes)
{
	struct json_error err;
	struct json_value *v = json_parse(text, len, &err);
	if (!v || v->type != JSON_ARRAY) {
		json_free(v);
		return error("cannot read qemu-img map's output: %s", v ? "not a list" : err.message);
	}
	for (size_t i = 0; i < v->n; i++) {
		uint64_t l;
		const struct json_value *e = v->items[i];
		if (json_get_bool(e, "data", 0) && !json_get_bool(e, "zero", 0) && json_get_u64(e, "length", &l) == 0)
			*bytes += l;
	}
	json_free(v);
	return 0;
}

int inspect_source_allocated(const struct inspect_source *s, uint64_t *bytes)
{
	*bytes = 0;
	for (size_t i = 0; i < s->n_disks; i++) {
		const struct inspect_disk_source *d = &s->disks[i];
		struct strbuf out = STRBUF_INIT;
		const char *argv[] = {"qemu-img", "map", "--output=json", "-f", d->drive_format, d->drive, NULL};
		struct run_opts o = {.output = &out};
		int rc = run_argv(argv, &o);
		if (rc != 0 || out.len > MAP_OUTPUT_MAX)
			rc = error("qemu-img map %s failed: %s", d->drive, out.len ? strtok(out.buf, "\n") : "no output");
		else
			rc = sum_map(out.buf, out.len, bytes);
		strbuf_release(&out);
		if (rc < 0)
			return -1;
	}
	return 0;
}
