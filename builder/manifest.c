/* builder/manifest.c: manifest.json and SHA256SUMS writers. */
#include "builder/manifest.h"

#include "builder/disk.h"
#include "builder/probe_install.h"
#include "kernel/kernel.h"
#include "util/diag.h"
#include "util/io.h"
#include "util/run.h"
#include "util/sha256.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef APKG_VERSION
#define APKG_VERSION "0.0.0"
#endif

/* Key in manifest.json, then the kernel's module name. */
const char *const manifest_drivers[][2] = {
	{"virtio_pci", "virtio_pci"}, {"virtio_blk", "virtio_blk"}, {"virtio_scsi", "virtio_scsi"},
	{"virtio_mmio", "virtio_mmio"}, {"ata_piix", "ata_piix"}, {"ahci", "ahci"}, {"sd_mod", "sd_mod"},
	{"mptspi", "mptspi"}, {"mptsas", "mptsas"}, {"vmw_pvscsi", "vmw_pvscsi"}, {"hv_storvsc", "hv_storvsc"},
	{"xen_blkfront", "xen_blkfront"}, {"nvme", "nvme"}, {"serial_8250", "8250"}, {"ext4", "ext4"},
	{NULL, NULL},
};

void manifest_init(struct manifest *m, const struct recipe *r)
{
	memset(m, 0, sizeof *m);
	m->r = r;
	strbuf_init(&m->artifacts);
	strbuf_init(&m->sums);
	strbuf_init(&m->kernel);
	strbuf_init(&m->disk);
	strbuf_init(&m->ostree);
	strbuf_init(&m->hygiene);
}

void manifest_release(struct manifest *m)
{
	strbuf_release(&m->artifacts);
	strbuf_release(&m->sums);
	strbuf_release(&m->kernel);
	strbuf_release(&m->disk);
	strbuf_release(&m->ostree);
	strbuf_release(&m->hygiene);
	for (size_t i = 0; i < m->n_initramfs_modules; i++)
		free(m->initramfs_modules[i]);
	free(m->initramfs_modules);
	memset(m, 0, sizeof *m);
}

static int same_module(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (*a != *b && !((*a == '-' || *a == '_') && (*b == '-' || *b == '_')))
			return 0;
	return *a == *b;
}

static const char *driver_state(const struct manifest *m, const struct kernel *k, const char *name)
{
	switch (kernel_driver_state(k, name)) {
	case DRIVER_BUILTIN:
		return "builtin";
	case DRIVER_MODULE:
		for (size_t i = 0; i < m->n_initramfs_modules; i++)
			if (same_module(m->initramfs_modules[i], name))
				return "initramfs";
		return "not-in-initramfs";
	default:
		return "missing";
	}
}

void manifest_set_kernel(struct manifest *m, const struct recipe *r, const struct kernel *k)
{
	char *cmdline = disk_kernel_cmdline(r->hash, r->kernel.cmdline);
	strbuf_reset(&m->kernel);
	strbuf_adds(&m->kernel, "{\n    \"package\": ");
	strbuf_add_json_str(&m->kernel, r->kernel.package);
	strbuf_adds(&m->kernel, ",\n    \"release\": ");
	strbuf_add_json_str(&m->kernel, k->release);
	strbuf_adds(&m->kernel, ",\n    \"cmdline\": ");
	strbuf_add_json_str(&m->kernel, cmdline);
	strbuf_adds(&m->kernel, ",\n    \"initramfs_modules\": [");
	for (size_t i = 0; i < m->n_initramfs_modules; i++) {
		strbuf_adds(&m->kernel, i ? ", " : "");
		strbuf_add_json_str(&m->kernel, m->initramfs_modules[i]);
	}
	strbuf_adds(&m->kernel, "],\n    \"drivers\": {");
	for (size_t i = 0; manifest_drivers[i][0]; i++) {
		strbuf_addf(&m->kernel, "%s\n      ", i ? "," : "");
		strbuf_add_json_str(&m->kernel, manifest_drivers[i][0]);
		strbuf_adds(&m->kernel, ": ");
		strbuf_add_json_str(&m->kernel, driver_state(m, k, manifest_drivers[i][1]));
	}
	strbuf_adds(&m->kernel, "\n    }\n  }");
	free(cmdline);
}

void manifest_set_disk(struct manifest *m, const struct disk_image *img)
{
	static const char *const boots[] = {"hybrid", "bios", "uefi"};
	strbuf_reset(&m->disk);
	strbuf_addf(&m->disk,
		    "{\n    \"size\": %llu,\n    \"boot\": \"%s\",\n    \"partition_table\": \"gpt\",\n"
		    "    \"disk_guid\": \"%s\",\n    \"esp\": {\"offset\": %llu, \"size\": %llu, \"partuuid\": \"%s\"},\n"
		    "    \"root\": {\"offset\": %llu, \"size\": %llu, \"partuuid\": \"%s\", \"fs_uuid\": \"%s\", "
		    "\"filesystem\": \"ext4\"}\n  }",
		    (unsigned long long)img->size, boots[m->r->disk.boot], img->disk_guid,
		    (unsigned long long)img->esp_offset, (unsigned long long)img->esp_size, img->esp_partuuid,
		    (unsigned long long)img->root_offset, (unsigned long long)img->root_size, img->root_partuuid,
		    img->root_fs_uuid);
}

static int add_sum(struct manifest *m, const char *name, const char *path, char hex[65], unsigned long long *size)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return error_errno("cannot stat %s", path);
	if (sha256_file_hex(path, hex) < 0)
		return -1;
	*size = (unsigned long long)st.st_size;
	strbuf_addf(&m->sums, "%s  %s\n", hex, name);
	return 0;
}

void manifest_set_ostree(struct manifest *m, const char *ref, const char *commit, const char *parent, int delta)
{
	strbuf_reset(&m->ostree);
	strbuf_adds(&m->ostree, "{\"repo\": \"ostree\", \"ref\": ");
	strbuf_add_json_str(&m->ostree, ref);
	strbuf_addf(&m->ostree, ", \"commit\": \"%s\", \"parent\": ", commit);
	if (parent && *parent)
		strbuf_addf(&m->ostree, "\"%s\"", parent);
	else
		strbuf_adds(&m->ostree, "null");
	strbuf_addf(&m->ostree, ", \"static_delta\": %s}", delta ? "true" : "false");
}

int manifest_add_artifact(struct manifest *m, const char *name, const char *format, const char *path)
{
	char hex[65];
	unsigned long long size;
	if (add_sum(m, name, path, hex, &size) < 0)
		return -1;
	strbuf_addf(&m->artifacts, "%s\n    {\"file\": ", m->artifacts.len ? "," : "");
	strbuf_add_json_str(&m->artifacts, name);
	strbuf_adds(&m->artifacts, ", \"format\": ");
	strbuf_add_json_str(&m->artifacts, format);
	strbuf_addf(&m->artifacts, ", \"size\": %llu, \"sha256\": \"%s\"}", size, hex);
	return 0;
}

/* First line of `tool --version`-like output, for the record. */
static void tool_version(struct strbuf *out, const char *key, const char *const *argv, int first)
{
	struct strbuf v = STRBUF_INIT;
	struct run_opts o = {.output = &v};
	if (!tool_exists(argv[0]) || run_argv(argv, &o) < 0)
		strbuf_adds(&v, "unavailable");
	char *nl = strchr(v.buf, '\n');
	if (nl)
		*nl = 0;
	strbuf_addf(out, "%s\n    ", first ? "" : ",");
	strbuf_add_json_str(out, key);
	strbuf_adds(out, ": ");
	strbuf_add_json_str(out, v.buf);
	strbuf_release(&v);
}

static void tools_json(struct strbuf *out, const struct recipe *r)
{
	strbuf_adds(out, "{");
	const char *mke2fs[] = {"mke2fs", "-V", NULL};
	const char *mkfs_fat[] = {"mkfs.fat", "--help", NULL};
	const char *mtools[] = {"mtools", "--version", NULL};
	const char *syslinux[] = {"syslinux", "--version", NULL};
	strbuf_adds(out, "\n    \"apkg\": \"" APKG_VERSION "\"");
	tool_version(out, "mke2fs", mke2fs, 0);
	tool_version(out, "mkfs.fat", mkfs_fat, 0);
	tool_version(out, "mtools", mtools, 0);
	tool_version(out, "syslinux", syslinux, 0);
	if (r->base.kind == BASE_DEBIAN) {
		const char *mmdebstrap[] = {"mmdebstrap", "--version", NULL};
		tool_version(out, "mmdebstrap", mmdebstrap, 0);
	}
	if (r->base.kind == BASE_BUSYBOX) {
		const char *bb[] = {"/bin/busybox", NULL};
		tool_version(out, "busybox", bb, 0);
	}
	strbuf_adds(out, "\n  }");
}

int manifest_write(struct manifest *m, const char *dir)
{
	const struct recipe *r = m->r;
	char *sbom = xasprintf("%s-%s.spdx.json", r->name, r->version);
	const char *extra[] = {"vmlinuz", "initrd.img", sbom};
	for (size_t i = 0; i < 3; i++) {
		char *p = path_join(dir, extra[i]);
		char hex[65];
		unsigned long long size;
		int rc = add_sum(m, extra[i], p, hex, &size);
		free(p);
		if (rc < 0) {
			free(sbom);
			return -1;
		}
	}
	free(sbom);
	struct strbuf j = STRBUF_INIT;
	strbuf_adds(&j, "{\n  \"apkg_manifest\": 1,\n  \"name\": ");
	strbuf_add_json_str(&j, r->name);
	strbuf_adds(&j, ",\n  \"version\": ");
	strbuf_add_json_str(&j, r->version);
	strbuf_adds(&j, ",\n  \"description\": ");
	strbuf_add_json_str(&j, r->description ? r->description : "");
	strbuf_adds(&j, ",\n  \"recipe\": ");
	/* Its name only: where the checkout lives must not change the bytes. */
	const char *slash = strrchr(r->path, '/');
	strbuf_add_json_str(&j, slash ? slash + 1 : r->path);
	strbuf_addf(&j, ",\n  \"recipe_hash\": \"%s\",\n  \"epoch\": %llu,\n  \"base\": ", r->hash,
		    (unsigned long long)r->epoch);
	static const char *const base_names[] = {"debian", "busybox", "tarball", "ostree"}; /* enum base_kind */
	strbuf_add_json_str(&j, base_names[r->base.kind]);
	strbuf_adds(&j, ",\n  \"tools\": ");
	tools_json(&j, r);
	strbuf_adds(&j, ",\n  \"kernel\": ");
	strbuf_adds(&j, m->kernel.len ? m->kernel.buf : "null");
	strbuf_adds(&j, ",\n  \"disk\": ");
	strbuf_adds(&j, m->disk.len ? m->disk.buf : "null");
	strbuf_adds(&j, ",\n  \"hygiene\": ");
	strbuf_adds(&j, m->hygiene.len ? m->hygiene.buf : "null");
	strbuf_addf(&j, ",\n  \"hardware\": {\"cpus\": %d, \"memory\": %llu, \"nic\": ", r->hardware.cpus,
		    (unsigned long long)r->hardware.memory);
	strbuf_add_json_str(&j, r->hardware.nic);
	strbuf_adds(&j, "},\n  \"targets\": [");
	for (size_t i = 0; i < r->targets.n; i++) {
		strbuf_adds(&j, i ? ", " : "");
		strbuf_add_json_str(&j, r->targets.items[i]);
	}
	/* the names the probe reports the checks under: apkg test expects each one */
	strbuf_addf(&j, "],\n  \"check_deadline\": %d,\n  \"checks\": ", r->check_deadline_s);
	probe_check_names_json(r, &j);
	strbuf_addf(&j, ",\n  \"artifacts\": [%s\n  ],\n", m->artifacts.buf);
	if (m->ostree.len)
		strbuf_addf(&j, "  \"ostree\": %s,\n", m->ostree.buf);
	strbuf_adds(&j, "  \"validation\": []\n}\n");
	char *mp = path_join(dir, "manifest.json"), *sp = path_join(dir, "SHA256SUMS");
	int rc = write_file_atomic(mp, j.buf, j.len, 0644);
	rc = rc ? rc : write_file_atomic(sp, m->sums.buf, m->sums.len, 0644);
	free(mp);
	free(sp);
	strbuf_release(&j);
	return rc;
}
