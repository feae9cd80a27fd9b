/* inspect/gather.c: one libguestfs launch, everything `apkg inspect` reports (see inspect.h).
 *
 * Order inside the launch: the disks and their partition tables; each
 * filesystem, mounted read-only at / in turn, for its size, its used space
 * and the boot files, kernels and apkg records it holds (inspect/bootfiles.c);
 * then libguestfs' OS inspection with the guest's filesystems mounted where
 * its fstab says, for the installed packages, and, while they are mounted,
 * the hygiene stream. Nothing is written to the image: every drive is
 * attached read-only.
 */
#include "inspect/inspect.h"

#include "inspect/gather.h"
#include "inspect/guest.h"
#include "inspect/ptable.h"
#include "util/diag.h"
#include "util/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dup_or_null(char *s)
{
	if (s && !*s) {
		free(s);
		return NULL;
	}
	return s;
}

/* ---- partitions ---- */

static const struct {
	const char *type, *name;
} part_types[] = {
	{"C12A7328-F81F-11D2-BA4B-00A0C93EC93B", "EFI System"},
	{"21686148-6449-6E6F-744E-656564454649", "BIOS boot"},
	{"0FC63DAF-8483-4772-8E79-3D69D8477DE4", "Linux filesystem"},
	{"4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709", "Linux root (x86-64)"},
	{"0657FD6D-A4AB-43C4-84E5-0933C84B4F4F", "Linux swap"},
	{"E6D6D379-F507-44C2-A23C-238F2A3DF928", "Linux LVM"},
	{"BC13C2FF-59E6-4262-A352-B275FD6F7172", "Linux extended boot"},
	{"EBD0A0A2-B9E5-4433-87C0-68B6B72699C7", "Microsoft basic data"},
	{"0x83", "Linux"}, {"0x82", "Linux swap"}, {"0x8e", "Linux LVM"}, {"0xef", "EFI System"},
	{"0x0c", "FAT32 (LBA)"}, {"0x0b", "FAT32"}, {"0x06", "FAT16"}, {"0x07", "NTFS/exFAT"},
	{"0x05", "Extended"}, {"0x0f", "Extended (LBA)"}, {"0xee", "GPT protective"},
};

static const char *part_type_name(const char *type)
{
	for (size_t i = 0; type && i < sizeof part_types / sizeof part_types[0]; i++)
		if (!strcasecmp(part_types[i].type, type))
			return part_types[i].name;
	return NULL;
}

/* Reads through one cached block at the start of the disk: the MBR, the GPT
 * header and a standard entry array are one libguestfs call. */
struct disk_reader {
	guestfs_h *g;
	const char *dev;
	char *head;
	size_t head_len;
};

#define DISK_HEAD (64u << 10)

static int disk_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct disk_reader *d = ctx;
	if (!d->head)
		d->head = guestfs_pread_device(d->g, d->dev, DISK_HEAD, 0, &d->head_len);
	if (d->head && off + len <= d->head_len) {
		memcpy(buf, d->head + off, len);
		return 0;
	}
	if (len > (1u << 20))
		return -1;
	size_t got = 0;
	char *data = guestfs_pread_device(d->g, d->dev, (int)len, (int64_t)off, &got);
	int ok = data && got == len;
	if (ok)
		memcpy(buf, data, len);
	free(data);
	return ok ? 0 : -1;
}

static void copy_partition(const struct ptable_part *p, const char *dev, struct inspect_partition *out)
{
	out->number = p->number;
	out->device = xasprintf("%s%d", dev, p->number);
	out->start = p->start;
	out->size = p->size;
	out->type = xstrdup(p->type);
	out->uuid = p->uuid[0] ? xstrdup(p->uuid) : NULL;
	out->name = p->name[0] ? xstrdup(p->name) : NULL;
	out->bootable = p->bootable;
	const char *name = part_type_name(out->type);
	out->type_name = name ? xstrdup(name) : NULL;
}

static void read_disk(guestfs_h *g, const char *dev, struct inspect_disk *d)
{
	d->device = xstrdup(dev);
	int64_t size = guestfs_blockdev_getsize64(g, dev);
	d->size = size > 0 ? (uint64_t)size : 0;
	struct disk_reader rd = {.g = g, .dev = dev};
	struct ptable *pt = xcalloc(1, sizeof *pt);
	char why[160];
	if (ptable_read(disk_read, &rd, d->size, pt, why, sizeof why) < 0)
		warning("%s: %s", dev, why);
	d->mbr_code = mbr_boot_code((const unsigned char *)(rd.head ? rd.head : ""), rd.head ? rd.head_len : 0);
	if (pt->kind) {
		d->table = xstrdup(pt->kind);
		d->disk_guid = pt->disk_guid[0] ? xstrdup(pt->disk_guid) : NULL;
		d->parts = xcalloc(pt->n ? pt->n : 1, sizeof *d->parts);
		for (size_t i = 0; i < pt->n; i++)
			copy_partition(&pt->parts[i], dev, &d->parts[d->n_parts++]);
	}
	free(pt);
	free(rd.head);
}

static void gather_disks(guestfs_h *g, struct inspect_result *r)
{
	char **devs = guestfs_list_devices(g);
	size_t n = 0;
	while (devs && devs[n])
		n++;
	r->disks = xcalloc(n ? n : 1, sizeof *r->disks);
	for (size_t i = 0; i < n; i++)
		read_disk(g, devs[i], &r->disks[r->n_disks++]);
	guest_free_strings(devs);
}

/* ---- filesystems ---- */

static int mountable(const char *type)
{
	return strcmp(type, "swap") && strcmp(type, "unknown") && strcmp(type, "crypto_LUKS") &&
	       strcmp(type, "LVM2_member");
}

/* The value of a blkid tag in libguestfs' [key, value, ...] list, or NULL. */
static const char *tag(char **kv, const char *key)
{
	for (size_t i = 0; kv && kv[i] && kv[i + 1]; i += 2)
		if (!strcmp(kv[i], key))
			return kv[i + 1];
	return NULL;
}

static void read_fs(guestfs_h *g, const char *dev, const char *type, char **tags, struct inspect_result *r)
{
	struct inspect_fs *f = &r->fss[r->n_fss++];
	f->device = xstrdup(dev);
	f->type = xstrdup(type);
	const char *label = tag(tags, "LABEL"), *uuid = tag(tags, "UUID");
	f->label = tags ? (label && *label ? xstrdup(label) : NULL) : dup_or_null(guestfs_vfs_label(g, dev));
	f->uuid = tags ? (uuid && *uuid ? xstrdup(uuid) : NULL) : dup_or_null(guestfs_vfs_uuid(g, dev));
	int64_t size = guestfs_blockdev_getsize64(g, dev);
	f->size = size > 0 ? (uint64_t)size : 0;
	if (!mountable(type) || guestfs_mount_ro(g, dev, "/") < 0)
		return;
	struct guestfs_statvfs *st = guestfs_statvfs(g, "/");
	if (st) {
		f->used = (uint64_t)(st->blocks - st->bfree) * (uint64_t)st->frsize;
		f->have_used = 1;
		guestfs_free_statvfs(st);
	}
	bootfiles_scan(g, dev, r);
	guestfs_umount_all(g);
}

/* The candidates for filesystems: each partition, or the disk itself when it has none. */
static char **fs_candidates(const struct inspect_result *r, size_t *n)
{
	char **v = NULL;
	*n = 0;
	for (size_t i = 0; i < r->n_disks; i++) {
		const struct inspect_disk *d = &r->disks[i];
		size_t k = d->n_parts ? d->n_parts : 1;
		v = xrealloc(v, (*n + k) * sizeof *v);
		for (size_t j = 0; j < d->n_parts; j++)
			if (strcmp(d->parts[j].type, "0x05") && strcmp(d->parts[j].type, "0x0f") &&
			    strcmp(d->parts[j].type, "0x85"))
				v[(*n)++] = d->parts[j].device;
		if (!d->n_parts)
			v[(*n)++] = d->device;
	}
	return v;
}

/* One blkid per partition (libguestfs' list_filesystems probes far more, and
 * takes seconds under TCG); LVM, RAID and encrypted volumes need that
 * probing, so their presence sends us the slow way. Returns -1 for that. */
static int fast_filesystems(guestfs_h *g, struct inspect_result *r)
{
	size_t n;
	char **devs = fs_candidates(r, &n);
	char ***tags = xcalloc(n ? n : 1, sizeof *tags);
	int slow = 0;
	for (size_t i = 0; i < n && !slow; i++) {
		tags[i] = guestfs_blkid(g, devs[i]);
		const char *type = tag(tags[i], "TYPE");
		slow = type && (!strcmp(type, "LVM2_member") || !strcmp(type, "linux_raid_member") ||
				!strcmp(type, "crypto_LUKS") || !strcmp(type, "zfs_member"));
	}
	if (!slow) {
		r->fss = xcalloc(n ? n : 1, sizeof *r->fss);
		for (size_t i = 0; i < n; i++) {
			const char *type = tag(tags[i], "TYPE");
			if (type)
				read_fs(g, devs[i], type, tags[i], r);
		}
	}
	for (size_t i = 0; i < n; i++)
		guest_free_strings(tags[i]);
	free(tags);
	free(devs);
	return slow ? -1 : 0;
}

static void gather_filesystems(guestfs_h *g, struct inspect_result *r)
{
	if (fast_filesystems(g, r) == 0)
		return;
	char **fs = guestfs_list_filesystems(g);
	size_t n = 0;
	while (fs && fs[n] && fs[n + 1])
		n += 2;
	r->fss = xcalloc(n ? n / 2 : 1, sizeof *r->fss);
	for (size_t i = 0; i < n; i += 2)
		read_fs(g, fs[i], fs[i + 1], NULL, r);
	guest_free_strings(fs);
}

/* ---- operating systems ---- */

static char *os_string(char *s)
{
	if (s && (!*s || !strcmp(s, "unknown"))) {
		free(s);
		return NULL;
	}
	return s;
}

static int cmp_mountpoint(const void *a, const void *b)
{
	return (int)strlen(*(char *const *)a) - (int)strlen(*(char *const *)b);
}

/* Mounts the root's filesystems where its fstab puts them, shortest mountpoint first. */
static void mount_os(guestfs_h *g, const char *root)
{
	char **mp = guestfs_inspect_get_mountpoints(g, root);
	size_t n = 0;
	while (mp && mp[n] && mp[n + 1])
		n += 2;
	char **points = xcalloc(n / 2 + 1, sizeof *points);
	for (size_t i = 0; i < n; i += 2)
		points[i / 2] = mp[i];
	qsort(points, n / 2, sizeof *points, cmp_mountpoint);
	for (size_t i = 0; i < n / 2; i++)
		for (size_t j = 0; j < n; j += 2)
			if (mp[j] == points[i])
				guestfs_mount_ro(g, mp[j + 1], mp[j]); /* a missing /boot should not hide the rest */
	free(points);
	guest_free_strings(mp);
}

static char *app_version(const struct guestfs_application2 *a)
{
	struct strbuf sb = STRBUF_INIT;
	if (a->app2_epoch > 0)
		strbuf_addf(&sb, "%d:", a->app2_epoch);
	strbuf_adds(&sb, a->app2_version ? a->app2_version : "");
	if (a->app2_release && *a->app2_release)
		strbuf_addf(&sb, "-%s", a->app2_release);
	return strbuf_detach(&sb);
}

static void read_apps(guestfs_h *g, const char *root, struct inspect_os *os)
{
	struct guestfs_application2_list *apps = guestfs_inspect_list_applications2(g, root);
	if (!apps)
		return;
	os->apps = xcalloc(apps->len ? apps->len : 1, sizeof *os->apps);
	for (uint32_t i = 0; i < apps->len; i++) {
		os->apps[os->n_apps].name = xstrdup(apps->val[i].app2_name ? apps->val[i].app2_name : "");
		os->apps[os->n_apps++].version = app_version(&apps->val[i]);
	}
	guestfs_free_application2_list(apps);
}

static void read_os(guestfs_h *g, const char *root, struct inspect_os *os)
{
	os->root = xstrdup(root);
	os->type = os_string(guestfs_inspect_get_type(g, root));
	os->distro = os_string(guestfs_inspect_get_distro(g, root));
	os->product = os_string(guestfs_inspect_get_product_name(g, root));
	os->hostname = os_string(guestfs_inspect_get_hostname(g, root));
	os->arch = os_string(guestfs_inspect_get_arch(g, root));
	os->package_format = os_string(guestfs_inspect_get_package_format(g, root));
	os->package_management = os_string(guestfs_inspect_get_package_management(g, root));
	int major = guestfs_inspect_get_major_version(g, root), minor = guestfs_inspect_get_minor_version(g, root);
	if (major > 0 || minor > 0)
		os->version = xasprintf("%d.%d", major, minor);
}

/* The filesystem to scan when libguestfs recognised no OS: the one apkg's
 * records are on, else the first with /etc/passwd. */
static char *fallback_root(guestfs_h *g, const struct inspect_result *r)
{
	if (r->apkg && r->apkg->fs)
		return xstrdup(r->apkg->fs);
	for (size_t i = 0; i < r->n_fss; i++) {
		if (!mountable(r->fss[i].type) || guestfs_mount_ro(g, r->fss[i].device, "/") < 0)
			continue;
		int yes = guest_is_regular(g, "/etc/passwd");
		guestfs_umount_all(g);
		if (yes)
			return xstrdup(r->fss[i].device);
	}
	return NULL;
}

static void gather_oses(guestfs_h *g, struct inspect_result *r, struct hygiene_scan *hs)
{
	char **roots = guestfs_inspect_os(g);
	size_t n = 0;
	while (roots && roots[n])
		n++;
	r->oses = xcalloc(n ? n : 1, sizeof *r->oses);
	for (size_t i = 0; i < n; i++) {
		struct inspect_os *os = &r->oses[r->n_oses++];
		read_os(g, roots[i], os);
		mount_os(g, roots[i]);
		read_apps(g, roots[i], os);
		if (hs && i == 0) {
			r->hygiene_root = xstrdup(roots[i]);
			r->hygiene_scanned = guest_scan_hygiene(g, "/", hs) == 0;
		}
		guestfs_umount_all(g);
	}
	guest_free_strings(roots);
	if (hs && !r->hygiene_root && (r->hygiene_root = fallback_root(g, r))) {
		if (guestfs_mount_ro(g, r->hygiene_root, "/") == 0)
			r->hygiene_scanned = guest_scan_hygiene(g, "/", hs) == 0;
		guestfs_umount_all(g);
	}
}

/* ---- the whole inspection ---- */

/* Data in the image that no filesystem accounts for: deleted files whose
 * blocks were never discarded (apkg's writers never store them). */
static void check_trim(struct inspect_result *r, struct hygiene_scan *hs)
{
	uint64_t used = 0;
	for (size_t i = 0; i < r->n_fss; i++)
		used += r->fss[i].have_used ? r->fss[i].used : 0;
	if (inspect_source_allocated(&r->src, &r->allocated) < 0)
		return;
	/* Metadata and partition gaps differ from one filesystem to the next: only
	 * more than 32 MiB, and more than a tenth of what is used, counts. */
	uint64_t slack = used / 10 > (32ull << 20) ? used / 10 : 32ull << 20;
	if (r->allocated <= used + slack)
		return;
	char *detail = xasprintf("the image stores %llu MiB of data but its filesystems use %llu MiB: about %llu MiB "
				 "of deleted data was never trimmed (fstrim in the guest, or virt-sparsify)",
				 (unsigned long long)(r->allocated >> 20), (unsigned long long)(used >> 20),
				 (unsigned long long)((r->allocated - used) >> 20));
	hygiene_scan_add(hs, "untrimmed-free-space", NULL, detail);
	free(detail);
}

static void finish_boot(struct inspect_result *r)
{
	struct inspect_boot *b = &r->boot;
	const char *code = r->n_disks ? r->disks[0].mbr_code : "none";
	int bios = b->bios_loader && strcmp(code, "none");
	int uefi = b->esp && b->n_efi;
	b->firmware = bios && uefi ? "both" : bios ? "bios" : uefi ? "uefi" : "none";
}

int inspect_image(const char *path, const struct inspect_opts *o, struct inspect_result *r)
{
	memset(r, 0, sizeof *r);
	if (inspect_source_open(path, &r->src) < 0)
		return INSPECT_BAD_IMAGE;
	info("==> inspecting %s (%s%s%s, read %s)", path, r->src.container ? "ova: " : "", r->src.disks[0].format,
	     r->src.n_disks > 1 ? ", ..." : "", r->src.read_via);
	guestfs_h *g = guest_launch(&r->src);
	if (!g)
		return INSPECT_NO_GUESTFS;
	struct hygiene_scan *hs = o->hygiene ? hygiene_scan_new(NULL) : NULL;
	gather_disks(g, r);
	gather_filesystems(g, r);
	gather_oses(g, r, hs);
	guest_close(g);
	finish_boot(r);
	if (hs) {
		check_trim(r, hs);
		hygiene_scan_finish(hs, &r->hygiene);
		hygiene_scan_free(hs);
		if (!r->hygiene_scanned)
			warning("no root filesystem could be scanned: only the image-wide hygiene rules ran");
		r->have_hygiene = 1;
	}
	return 0;
}

static void free_disks(struct inspect_disk *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < d[i].n_parts; j++) {
			struct inspect_partition *p = &d[i].parts[j];
			free(p->device);
			free(p->type);
			free(p->type_name);
			free(p->name);
			free(p->uuid);
		}
		free(d[i].parts);
		free(d[i].device);
		free(d[i].table);
		free(d[i].disk_guid);
	}
	free(d);
}

static void free_oses(struct inspect_os *o, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(o[i].root);
		free(o[i].type);
		free(o[i].distro);
		free(o[i].product);
		free(o[i].version);
		free(o[i].hostname);
		free(o[i].arch);
		free(o[i].package_format);
		free(o[i].package_management);
		for (size_t j = 0; j < o[i].n_apps; j++) {
			free(o[i].apps[j].name);
			free(o[i].apps[j].version);
		}
		free(o[i].apps);
	}
	free(o);
}

static void free_files(struct inspect_file *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(f[i].fs);
		free(f[i].path);
		free(f[i].version);
	}
	free(f);
}

void inspect_result_release(struct inspect_result *r)
{
	free_disks(r->disks, r->n_disks);
	for (size_t i = 0; i < r->n_fss; i++) {
		free(r->fss[i].device);
		free(r->fss[i].type);
		free(r->fss[i].label);
		free(r->fss[i].uuid);
	}
	free(r->fss);
	free_oses(r->oses, r->n_oses);
	free_files(r->kernels, r->n_kernels);
	free_files(r->initrds, r->n_initrds);
	free(r->boot.bios_config);
	free(r->boot.esp);
	free(r->boot.uefi_loader_version);
	for (size_t i = 0; i < r->boot.n_efi; i++)
		free(r->boot.efi_binaries[i]);
	free(r->boot.efi_binaries);
	boot_entries_free(r->boot.entries, r->boot.n_entries);
	if (r->apkg) {
		free(r->apkg->fs);
		free(r->apkg->recipe_hash);
		free(r->apkg->name);
		free(r->apkg->version);
		for (size_t i = 0; i < r->apkg->n_checks; i++)
			free(r->apkg->checks[i]);
		free(r->apkg->checks);
		free(r->apkg);
	}
	hygiene_report_release(&r->hygiene);
	free(r->hygiene_root);
	inspect_source_release(&r->src);
	memset(r, 0, sizeof *r);
}
