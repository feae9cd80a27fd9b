/* formats/ova/ova_writer.c: the "ova" image format: an appliance in one tar.
 *
 * The disk stream goes into a streamOptimized VMDK (formats/vmdk) in a
 * scratch directory beside the output; finish() then writes the OVF
 * descriptor for the chosen profile (ovf.c), the manifest, and the tar:
 * USTAR through libarchive (pax only when the disk exceeds USTAR's
 * 8 GiB), the .ovf first, then the .mf, then the disk; mtimes at the
 * epoch, owner 0:0, mode 0644, so the same input gives the same bytes.
 * Before the OVA appears at its path it is linted (formats/ova/lint.h)
 * for its own profile: an error fails the write and leaves nothing.
 *
 * What the OVF says about the machine comes from image_options.meta
 * (formats/meta.h); a writer never sees a recipe.
 */
#include "formats/meta.h"
#include "formats/ova/lint.h"
#include "formats/ova/ovf.h"
#include "formats/writer.h"
#include "util/diag.h"
#include "util/digest.h"
#include "util/io.h"
#include "util/strbuf.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define USTAR_MAX_SIZE 077777777777ull /* 11 octal digits: 8 GiB - 1 */
#define COPY_BLOCK (1u << 20)

extern const struct image_format image_format_vmdk;

struct ovaw {
	const struct ova_profile *profile;
	struct appliance_meta meta;
	enum digest_alg manifest_alg;
	char *name;       /* appliance name, safe as a file name */
	char *scratch;    /* directory beside the output */
	char *disk_name;  /* "<name>-disk1.vmdk" */
	char *disk_path;
	struct image_writer *disk;
};

static const struct appliance_meta default_meta;

/* ---- names ---- */

static char *safe_name(const char *s)
{
	char *n = xstrdup(*s ? s : "appliance");
	for (char *p = n; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
		      *p == '_' || *p == '-'))
			*p = '_';
	if (n[0] == '.')
		n[0] = '_';
	return n;
}

/* The appliance name: the meta's, else OUT's base name without ".ova". */
static char *appliance_name(const struct appliance_meta *m, const char *path)
{
	if (m->name)
		return safe_name(m->name);
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	char *n = xstrdup(base);
	size_t len = strlen(n);
	if (len > 4 && !strcasecmp(n + len - 4, ".ova"))
		n[len - 4] = 0;
	char *s = safe_name(n);
	free(n);
	return s;
}

static char *make_scratch(const char *path)
{
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	const char *base = slash ? slash + 1 : path;
	if (slash)
		*slash = 0;
	char *tmpl = xasprintf("%s/.%s.tmp-XXXXXX", slash ? dir : ".", base);
	free(dir);
	if (!mkdtemp(tmpl)) {
		error_errno("cannot create a scratch directory beside %s", path);
		free(tmpl);
		return NULL;
	}
	cleanup_register(tmpl);
	return tmpl;
}

/* ---- the writer ---- */

static void ova_abort(struct image_writer *w);

static int resolve_options(struct ovaw *o, const struct image_options *opt)
{
	o->meta = opt->meta ? *opt->meta : default_meta;
	o->profile = ova_profile_find(o->meta.ova_profile);
	if (!o->profile)
		return error("ova: unknown profile '%s' (%s)", o->meta.ova_profile, ova_profile_names());
	if (digest_from_name(o->meta.manifest ? o->meta.manifest : "sha256", &o->manifest_alg) < 0)
		return error("ova: unknown manifest algorithm '%s' (sha1, sha256, sha512)", o->meta.manifest);
	const char *nic = o->meta.nic ? o->meta.nic : "e1000";
	if (strcmp(nic, "e1000") && strcmp(nic, "vmxnet3") && strcmp(nic, "virtio") && strcmp(nic, "none"))
		return error("ova: unknown NIC model '%s' (e1000, vmxnet3, virtio, none)", nic);
	int substituted;
	ovf_nic_subtype(o->profile, nic, &substituted);
	if (substituted)
		warning("ova: the %s profile has no %s network adapter; the OVF asks for e1000", o->profile->name, nic);
	return 0;
}

static int ova_open(struct image_writer *w)
{
	struct ovaw *o = xcalloc(1, sizeof *o);
	w->priv = o;
	if (resolve_options(o, &w->opt) < 0)
		goto fail;
	o->name = appliance_name(&o->meta, w->path);
	o->scratch = make_scratch(w->path);
	if (!o->scratch)
		goto fail;
	o->disk_name = xasprintf("%s%s", o->name, o->profile->disk_suffix);
	o->disk_path = path_join(o->scratch, o->disk_name);
	struct image_options d = w->opt;
	d.subformat = "streamOptimized";
	d.adapter_type = o->profile->vmdk_adapter;
	d.meta = NULL;
	d.no_sync = 1; /* the tar is what must be durable */
	o->disk = image_writer_open(&image_format_vmdk, o->disk_path, &d);
	if (!o->disk)
		goto fail;
	return 0;
fail:
	ova_abort(w);
	return -1;
}

static int ova_data(struct image_writer *w, uint64_t off, const void *buf, size_t len)
{
	struct ovaw *o = w->priv;
	return image_writer_data(o->disk, off, buf, len);
}

static int ova_zero(struct image_writer *w, uint64_t off, uint64_t len)
{
	struct ovaw *o = w->priv;
	return image_writer_zero(o->disk, off, len);
}

/* ---- finishing: digests, descriptor, manifest, tar ---- */

static int digest_file(const char *path, enum digest_alg alg, char hex[DIGEST_MAX_HEX], uint64_t *size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_errno("cannot open %s", path);
	struct digest d;
	digest_init(&d, alg);
	char *buf = xmalloc(COPY_BLOCK);
	ssize_t n;
	*size = 0;
	while ((n = read(fd, buf, COPY_BLOCK)) > 0) {
		digest_update(&d, buf, (size_t)n);
		*size += (uint64_t)n;
	}
	free(buf);
	close(fd);
	if (n < 0)
		return error_errno("cannot read %s", path);
	digest_final(&d, NULL, hex);
	return 0;
}

static void manifest_line(struct strbuf *mf, enum digest_alg alg, const char *name, const char *hex)
{
	strbuf_addf(mf, "%s(%s)= %s\n", digest_name(alg), name, hex);
}

static int tar_header(struct archive *a, const char *name, uint64_t size, uint64_t epoch)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_size(e, (la_int64_t)size);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_mtime(e, (time_t)epoch, 0);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	int r = archive_write_header(a, e);
	archive_entry_free(e);
	if (r != ARCHIVE_OK)
		return error("ova: tar header for %s: %s", name, archive_error_string(a));
	return 0;
}

static int tar_buffer(struct archive *a, const char *name, const struct strbuf *sb, uint64_t epoch)
{
	if (tar_header(a, name, sb->len, epoch) < 0)
		return -1;
	if (archive_write_data(a, sb->buf, sb->len) != (la_ssize_t)sb->len)
		return error("ova: writing %s: %s", name, archive_error_string(a));
	return 0;
}

static int tar_file(struct archive *a, const char *name, const char *path, uint64_t size, uint64_t epoch)
{
	if (tar_header(a, name, size, epoch) < 0)
		return -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_errno("cannot open %s", path);
	char *buf = xmalloc(COPY_BLOCK);
	uint64_t done = 0;
	int rc = 0;
	while (done < size && rc == 0) {
		size_t want = size - done < COPY_BLOCK ? (size_t)(size - done) : COPY_BLOCK;
		if (pread_exact(fd, buf, want, done) < 0)
			rc = -1;
		else if (archive_write_data(a, buf, want) != (la_ssize_t)want)
			rc = error("ova: writing %s: %s", name, archive_error_string(a));
		done += want;
	}
	free(buf);
	close(fd);
	return rc;
}

/* Writes the three members to fd. */
static int write_tar(struct ovaw *o, int fd, const char *ovf_name, const struct strbuf *ovf, const char *mf_name,
		     const struct strbuf *mf, uint64_t disk_size, uint64_t epoch)
{
	struct archive *a = archive_write_new();
	/* USTAR's size field ends at 8 GiB - 1; beyond it only pax can say the size. */
	int r = disk_size > USTAR_MAX_SIZE ? archive_write_set_format_pax_restricted(a)
					   : archive_write_set_format_ustar(a);
	if (r == ARCHIVE_OK)
		r = archive_write_open_fd(a, fd);
	if (r != ARCHIVE_OK) {
		error("ova: %s", archive_error_string(a));
		archive_write_free(a);
		return -1;
	}
	int rc = tar_buffer(a, ovf_name, ovf, epoch);
	if (rc == 0)
		rc = tar_buffer(a, mf_name, mf, epoch);
	if (rc == 0)
		rc = tar_file(a, o->disk_name, o->disk_path, disk_size, epoch);
	if (archive_write_close(a) != ARCHIVE_OK && rc == 0)
		rc = error("ova: finishing the tar: %s", archive_error_string(a));
	archive_write_free(a);
	return rc;
}

/* Lints the finished tar for its own profile; errors fail the write. */
static int self_lint(struct ovaw *o, const char *tmp, const char *path)
{
	unsigned products;
	lint_profile_products(o->profile->name, &products);
	struct lint_report rep = {0};
	int rc = ova_lint_file(tmp, products, &rep);
	if (rc == 0 && (rep.errors || rep.warnings))
		lint_report_print(&rep, stderr, path, 0);
	if (rc == 0 && rep.errors)
		rc = error("ova: %s fails its own lint (%u error(s)); not written", path, rep.errors);
	lint_report_release(&rep);
	return rc;
}

static int ova_finish(struct image_writer *w)
{
	struct ovaw *o = w->priv;
	struct image_writer *disk = o->disk;
	o->disk = NULL;
	if (image_writer_finish(disk) < 0)
		return -1;
	char disk_hex[DIGEST_MAX_HEX], ovf_hex[DIGEST_MAX_HEX];
	uint64_t disk_size = 0;
	if (digest_file(o->disk_path, o->manifest_alg, disk_hex, &disk_size) < 0)
		return -1;
	struct ovf_disk d = {.href = o->disk_name, .file_size = disk_size,
			     .capacity = (w->opt.virtual_size + 511) / 512 * 512};
	struct strbuf ovf = STRBUF_INIT, mf = STRBUF_INIT;
	ovf_build(o->profile, &o->meta, o->name, &d, w->opt.seed, w->opt.epoch, &ovf);
	char *ovf_name = xasprintf("%s.ovf", o->name), *mf_name = xasprintf("%s.mf", o->name);
	struct digest dg;
	digest_init(&dg, o->manifest_alg);
	digest_update(&dg, ovf.buf, ovf.len);
	digest_final(&dg, NULL, ovf_hex);
	manifest_line(&mf, o->manifest_alg, ovf_name, ovf_hex);
	manifest_line(&mf, o->manifest_alg, o->disk_name, disk_hex);

	struct image_output out;
	int rc = image_output_open(w, &out);
	if (rc == 0)
		rc = write_tar(o, out.fd, ovf_name, &ovf, mf_name, &mf, disk_size, w->opt.epoch);
	off_t end = rc == 0 ? lseek(out.fd, 0, SEEK_END) : -1;
	if (rc == 0 && end < 0)
		rc = error_errno("ova: %s", out.tmp);
	if (rc == 0)
		rc = self_lint(o, out.tmp, w->path);
	if (rc == 0)
		rc = image_output_commit(w, &out, (uint64_t)end);
	else
		image_output_discard(&out);
	free(ovf_name);
	free(mf_name);
	strbuf_release(&ovf);
	strbuf_release(&mf);
	return rc;
}

static void ova_abort(struct image_writer *w)
{
	struct ovaw *o = w->priv;
	if (!o)
		return;
	image_writer_abort(o->disk);
	if (o->scratch) {
		rm_rf(o->scratch);
		cleanup_unregister(o->scratch);
	}
	free(o->scratch);
	free(o->name);
	free(o->disk_name);
	free(o->disk_path);
	free(o);
	w->priv = NULL;
}

const struct image_format image_format_ova = {
	.name = "ova",
	.extension = "ova",
	.open = ova_open,
	.write_data = ova_data,
	.write_zero = ova_zero,
	.finish = ova_finish,
	.abort = ova_abort,
};
