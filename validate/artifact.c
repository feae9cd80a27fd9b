/* validate/artifact.c: picks the artifact a target boots; unpacks the VMDK
 * from an OVA. See artifact.h. */
#include "validate/artifact.h"

#include "util/diag.h"
#include "util/io.h"
#include "util/strbuf.h"
#include "validate/manifest.h"
#include "validate/targets.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const struct manifest_artifact *find_format(const struct manifest *m, const char *format)
{
	for (size_t i = 0; i < m->n_artifacts; i++)
		if (!strcmp(m->artifacts[i].format, format))
			return &m->artifacts[i];
	return NULL;
}

static const char *qemu_format_of(const char *format)
{
	static const char *const known[] = {"raw", "qcow2", "vmdk", "vhdx", "vdi"};
	if (!strcmp(format, "ova"))
		return "vmdk";
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (!strcmp(format, known[i]))
			return known[i];
	return NULL;
}

static int ends_with_vmdk(const char *name)
{
	size_t n = strlen(name);
	return n > 5 && !strcasecmp(name + n - 5, ".vmdk");
}

/* Copies the current entry's data to fd, keeping holes. */
static int copy_entry(struct archive *a, int fd, const char *dest)
{
	const void *buf;
	size_t size;
	la_int64_t offset, end = 0;
	int r;
	while ((r = archive_read_data_block(a, &buf, &size, &offset)) == ARCHIVE_OK) {
		if (pwrite_all(fd, buf, size, (uint64_t)offset) < 0)
			return -1;
		end = offset + (la_int64_t)size;
	}
	if (r != ARCHIVE_EOF)
		return error("cannot read the OVA: %s", archive_error_string(a));
	if (ftruncate(fd, end) < 0)
		return error_errno("cannot write %s", dest);
	return 0;
}

/* Extracts the first *.vmdk member of ova to dest. */
static int extract_vmdk(const char *ova, const char *dest, char **why)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	int found = 0, ret = -1;
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, ova, 1 << 16) != ARCHIVE_OK) {
		*why = xasprintf("cannot open the OVA %s: %s", ova, archive_error_string(a));
		goto out;
	}
	while (!found && archive_read_next_header(a, &e) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		if (!name || archive_entry_filetype(e) != AE_IFREG || !ends_with_vmdk(name))
			continue;
		found = 1;
		int fd = open(dest, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0 || copy_entry(a, fd, dest) < 0) {
			*why = xasprintf("cannot unpack the VMDK from %s", ova);
			if (fd >= 0)
				close(fd);
			goto out;
		}
		close(fd);
	}
	if (!found)
		*why = xasprintf("the OVA %s holds no .vmdk disk", ova);
	else
		ret = 0;
out:
	archive_read_free(a);
	return ret;
}

/* The note for booting `got` when the target's first choice is missing. */
static char *fallback_note(const struct target *t, const char *got)
{
	const char *want = t->formats[0];
	if (!strcmp(want, got))
		return NULL;
	if (!strcmp(want, "ova") && !strcmp(got, "vmdk"))
		return xstrdup("no OVA was built: booted the VMDK");
	if (!strcmp(want, "ova"))
		return xasprintf("no OVA or VMDK was built: booted the %s image instead of the disk %s would import", got,
				 t->name);
	return xasprintf("no %s was built: booted the %s image", want, got);
}

int artifact_choose(const struct manifest *m, const struct target *t, const char *outdir, const char *scratch,
		    struct chosen_artifact *out, char **why)
{
	memset(out, 0, sizeof *out);
	*why = NULL;
	const struct manifest_artifact *a = NULL;
	for (size_t i = 0; i < 6 && t->formats[i] && !a; i++)
		a = find_format(m, t->formats[i]);
	if (!a) {
		struct strbuf built = STRBUF_INIT;
		for (size_t i = 0; i < m->n_artifacts; i++)
			strbuf_addf(&built, "%s%s", i ? ", " : "", m->artifacts[i].format);
		*why = xasprintf("no artifact %s can boot (built: %s)", t->name, built.len ? built.buf : "none");
		strbuf_release(&built);
		return -1;
	}
	out->shipped = a;
	out->qemu_format = qemu_format_of(a->format);
	char *path = path_join(outdir, a->file);
	if (strcmp(a->format, "ova")) {
		out->boot_path = path;
		out->format = xstrdup(a->format);
	} else {
		/* one extraction per run, shared by every target that boots it */
		out->boot_path = xasprintf("%s/%s.vmdk", scratch, a->file);
		out->format = xstrdup("vmdk (from the OVA)");
		if (!path_exists(out->boot_path) && extract_vmdk(path, out->boot_path, why) < 0) {
			free(path);
			chosen_artifact_free(out);
			return -1;
		}
		free(path);
	}
	out->note = fallback_note(t, a->format);
	return 0;
}

void chosen_artifact_free(struct chosen_artifact *c)
{
	free(c->boot_path);
	free(c->format);
	free(c->note);
	memset(c, 0, sizeof *c);
}
