/* builder/disk.c: ESP + ext4 root + GPT as one streamable disk layout.
 *
 * Layout: [GPT head | pad to 1 MiB] [ESP] [root ext4] [pad | GPT tail],
 * partitions 1 MiB aligned. With an explicit disk size the root partition
 * (and its filesystem) takes all the space left.
 */
#include "builder/disk.h"

#include "builder/esp.h"
#include "builder/ext4.h"
#include "builder/gpt.h"
#include "builder/rootfs.h"
#include "util/diag.h"
#include "util/ident.h"
#include "util/io.h"
#include "util/strbuf.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MiB (1024ull * 1024)

static void derived_uuid(const char *seed, const char *label, char out[37])
{
	uint8_t u[16];
	ident_uuid(seed, label, u);
	ident_uuid_str(u, out);
}

char *disk_kernel_cmdline(const char *seed, const char *extra)
{
	char root[37];
	derived_uuid(seed, "gpt-root", root);
	/* tty0 for hypervisor consoles (VMware shows tty0), ttyS0 last so it
	 * is /dev/console, where boot checks read. */
	return xasprintf("console=tty0 console=ttyS0,115200 root=PARTUUID=%s rootfstype=ext4 rw panic=-1%s%s", root,
			 extra && *extra ? " " : "", extra ? extra : "");
}

static int read_gptmbr(uint8_t code[440])
{
	int fd = open(SYSLINUX_GPTMBR, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_errno("cannot open %s (install syslinux-common)", SYSLINUX_GPTMBR);
	int r = pread_exact(fd, code, 440, 0);
	close(fd);
	return r;
}

static void human_mib(uint64_t bytes, char *buf, size_t n)
{
	snprintf(buf, n, "%lluM", (unsigned long long)((bytes + MiB - 1) / MiB));
}

int disk_build(const struct disk_inputs *in, struct disk_image *img)
{
	memset(img, 0, sizeof *img);
	img->esp_fd = img->root_fd = -1;
	derived_uuid(in->seed, "gpt-disk", img->disk_guid);
	derived_uuid(in->seed, "gpt-esp", img->esp_partuuid);
	derived_uuid(in->seed, "gpt-root", img->root_partuuid);
	derived_uuid(in->seed, "ext4-root", img->root_fs_uuid);
	char hash_seed[37];
	derived_uuid(in->seed, "ext4-hash-seed", hash_seed);
	img->cmdline = disk_kernel_cmdline(in->seed, in->extra_cmdline);

	struct esp_inputs esp = {.vmlinuz = in->vmlinuz, .initrd = in->initrd, .cmdline = img->cmdline,
				 .title = in->title, .boot = in->boot, .serial = ident_u32(in->seed, "esp-serial"),
				 .epoch = in->epoch, .scratch = in->scratch};
	struct tree_usage usage;
	if (esp_size_needed(&esp, &img->esp_size) < 0 || rootfs_clamp_mtimes(in->rootdir, in->epoch) < 0 ||
	    tree_usage(in->rootdir, &usage) < 0)
		return -1;
	uint64_t root_min = ext4_auto_size(&usage);
	uint64_t overhead = 2 * MiB; /* GPT head + alignment, GPT tail + alignment */
	uint64_t need = overhead + img->esp_size + root_min;
	if (in->requested_size) {
		if (in->requested_size < need) {
			char want[32], have[32];
			human_mib(need, want, sizeof want);
			human_mib(in->requested_size, have, sizeof have);
			return error("disk.size %s is too small: this appliance needs at least %s (or use size: auto)", have,
				     want);
		}
		img->size = in->requested_size / MiB * MiB;
	} else {
		img->size = need;
	}
	img->esp_offset = MiB;
	img->root_offset = img->esp_offset + img->esp_size;
	img->root_size = img->size - img->root_offset - MiB;

	char *esp_path = path_join(in->scratch, "esp.img");
	char *root_path = path_join(in->scratch, "root.ext4");
	int r = esp_build(&esp, esp_path, img->esp_size);
	r = r ? r : ext4_build(in->rootdir, root_path, img->root_size, &usage, img->root_fs_uuid, hash_seed, in->epoch);
	if (!r) {
		img->esp_fd = open(esp_path, O_RDONLY | O_CLOEXEC);
		img->root_fd = open(root_path, O_RDONLY | O_CLOEXEC);
		if (img->esp_fd < 0 || img->root_fd < 0)
			r = error_errno("cannot open the partition images");
	}
	free(esp_path);
	free(root_path);
	if (r)
		return -1;

	uint8_t mbr_code[440];
	struct gpt_disk g = {.size_bytes = img->size, .n_parts = 2};
	uint8_t u[16];
	ident_uuid(in->seed, "gpt-disk", g.disk_uuid);
	if (in->boot != BOOT_UEFI) {
		if (read_gptmbr(mbr_code) < 0)
			return -1;
		g.mbr_boot_code = mbr_code;
	}
	memcpy(g.parts[0].type_uuid, GPT_TYPE_ESP, 16);
	ident_uuid(in->seed, "gpt-esp", u);
	memcpy(g.parts[0].unique_uuid, u, 16);
	g.parts[0].first_lba = img->esp_offset / GPT_SECTOR;
	g.parts[0].last_lba = (img->esp_offset + img->esp_size) / GPT_SECTOR - 1;
	g.parts[0].attributes = in->boot != BOOT_UEFI ? GPT_ATTR_LEGACY_BIOS_BOOTABLE : 0;
	g.parts[0].name = "ESP";
	memcpy(g.parts[1].type_uuid, GPT_TYPE_LINUX_ROOT_X86_64, 16);
	ident_uuid(in->seed, "gpt-root", u);
	memcpy(g.parts[1].unique_uuid, u, 16);
	g.parts[1].first_lba = img->root_offset / GPT_SECTOR;
	g.parts[1].last_lba = (img->root_offset + img->root_size) / GPT_SECTOR - 1;
	g.parts[1].name = "root";
	img->head = xcalloc(GPT_HEAD_SECTORS, GPT_SECTOR);
	img->tail = xcalloc(GPT_TAIL_SECTORS, GPT_SECTOR);
	if (gpt_build(&g, img->head, img->tail) < 0)
		return -1;

	disk_layout_init(&img->layout, img->size);
	disk_layout_add_mem(&img->layout, 0, img->head, GPT_HEAD_SECTORS * GPT_SECTOR);
	disk_layout_add_file(&img->layout, img->esp_offset, img->esp_fd, 0, img->esp_size);
	disk_layout_add_file(&img->layout, img->root_offset, img->root_fd, 0, img->root_size);
	disk_layout_add_mem(&img->layout, img->size - GPT_TAIL_SECTORS * GPT_SECTOR, img->tail,
			    GPT_TAIL_SECTORS * GPT_SECTOR);
	return 0;
}

void disk_image_release(struct disk_image *img)
{
	disk_layout_release(&img->layout);
	if (img->esp_fd >= 0)
		close(img->esp_fd);
	if (img->root_fd >= 0)
		close(img->root_fd);
	free(img->head);
	free(img->tail);
	free(img->cmdline);
	memset(img, 0, sizeof *img);
	img->esp_fd = img->root_fd = -1;
}
