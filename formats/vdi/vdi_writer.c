/* formats/vdi/vdi_writer.c: a streaming writer of dynamic VDI images (VirtualBox).
 *
 * Header version 1.1 as VirtualBox writes it (VDICore.h: pre-header, then
 * a 400-byte VDIHEADER1PLUS with the LCHS geometry), 1 MiB blocks, the
 * block map at 1 MiB and the data from the next 1 MiB boundary after it
 * (VDI_DATA_ALIGN), as VirtualBox's vdiInitHeader places them. Blocks that
 * hold data are written in virtual order as the stream produces them;
 * blocks never written stay "free" (0xFFFFFFFF) in the map, which reads
 * as zero. Geometry is left 0 for VirtualBox to compute, as a new image
 * has it. The creation and modification UUIDs come from the seed and the
 * content (formats/content_id.h); linkage and parent UUIDs are zero (no
 * parent).
 */
#include "formats/blocks.h"
#include "formats/content_id.h"
#include "formats/le.h"
#include "formats/writer.h"
#include "util/diag.h"
#include "util/ident.h"
#include "util/io.h"
#include "util/strbuf.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MiB (1ull << 20)
#define BLOCK_SIZE MiB
#define DATA_ALIGN MiB
#define VDI_SIGNATURE 0xbeda107fu
#define VDI_VERSION_1_1 0x00010001u
#define VDI_HEADER_1PLUS_SIZE 400u
#define VDI_TYPE_NORMAL 1u /* dynamically growing */
#define VDI_BLOCK_FREE 0xffffffffu
#define MAX_BLOCKS 0xfffffffdull /* the two highest map values are reserved */

static const char VDI_TEXT[] = "<<< Oracle VM VirtualBox Disk Image >>>\n";

/* Field offsets (bytes from the start of the file). */
enum {
	VDI_OFF_SIGNATURE = 0x40,
	VDI_OFF_VERSION = 0x44,
	VDI_OFF_HEADER_SIZE = 0x48,
	VDI_OFF_TYPE = 0x4c,
	VDI_OFF_FLAGS = 0x50,
	VDI_OFF_COMMENT = 0x54,
	VDI_OFF_BLOCKS = 0x154,
	VDI_OFF_DATA = 0x158,
	VDI_OFF_LEGACY_GEOMETRY = 0x15c, /* cylinders, heads, sectors, sector size */
	VDI_OFF_DISK_SIZE = 0x170,
	VDI_OFF_BLOCK_SIZE = 0x178,
	VDI_OFF_BLOCK_EXTRA = 0x17c,
	VDI_OFF_BLOCK_COUNT = 0x180,
	VDI_OFF_BLOCKS_ALLOCATED = 0x184,
	VDI_OFF_UUID_CREATE = 0x188,
	VDI_OFF_UUID_MODIFY = 0x198,
	VDI_OFF_UUID_LINKAGE = 0x1a8,
	VDI_OFF_UUID_PARENT_MODIFY = 0x1b8,
	VDI_OFF_LCHS_GEOMETRY = 0x1c8,
	VDI_HEADER_END = 0x1d8,
};

struct vdiw {
	struct image_output out;
	uint64_t size;
	uint32_t blocks;
	uint32_t allocated;
	uint32_t *map;
	uint64_t off_blocks, off_data;
	struct block_cutter cut;
	struct content_id content;
};

static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

static int emit_block(void *arg, uint64_t block, const unsigned char *data)
{
	struct vdiw *d = arg;
	content_id_add_data(&d->content, block, data, BLOCK_SIZE);
	d->map[block] = d->allocated;
	uint64_t off = d->off_data + (uint64_t)d->allocated * BLOCK_SIZE;
	d->allocated++;
	return pwrite_all(d->out.fd, data, BLOCK_SIZE, off);
}

static int vdi_write_data(struct image_writer *w, uint64_t off, const void *data, size_t len)
{
	struct vdiw *d = w->priv;
	return block_cutter_data(&d->cut, off, data, len);
}

static void build_header(const struct vdiw *d, const char *ids, unsigned char *h)
{
	memset(h, 0, DATA_ALIGN);
	memcpy(h, VDI_TEXT, sizeof VDI_TEXT - 1);
	put_le32(h + VDI_OFF_SIGNATURE, VDI_SIGNATURE);
	put_le32(h + VDI_OFF_VERSION, VDI_VERSION_1_1);
	put_le32(h + VDI_OFF_HEADER_SIZE, VDI_HEADER_1PLUS_SIZE);
	put_le32(h + VDI_OFF_TYPE, VDI_TYPE_NORMAL);
	put_le32(h + VDI_OFF_FLAGS, 0);
	put_le32(h + VDI_OFF_BLOCKS, (uint32_t)d->off_blocks);
	put_le32(h + VDI_OFF_DATA, (uint32_t)d->off_data);
	put_le32(h + VDI_OFF_LEGACY_GEOMETRY + 12, 512);
	put_le64(h + VDI_OFF_DISK_SIZE, d->size);
	put_le32(h + VDI_OFF_BLOCK_SIZE, (uint32_t)BLOCK_SIZE);
	put_le32(h + VDI_OFF_BLOCK_EXTRA, 0);
	put_le32(h + VDI_OFF_BLOCK_COUNT, d->blocks);
	put_le32(h + VDI_OFF_BLOCKS_ALLOCATED, d->allocated);
	uint8_t uuid[16];
	ident_uuid(ids, "vdi-create-uuid", uuid);
	ident_uuid_to_guid(uuid, h + VDI_OFF_UUID_CREATE);
	ident_uuid(ids, "vdi-modify-uuid", uuid);
	ident_uuid_to_guid(uuid, h + VDI_OFF_UUID_MODIFY);
	put_le32(h + VDI_OFF_LCHS_GEOMETRY + 12, 512);
}

static int vdi_finish(struct image_writer *w)
{
	struct vdiw *d = w->priv;
	if (block_cutter_flush(&d->cut) < 0)
		return -1;
	/* Header and block map together fill [0, off_data). */
	unsigned char *head = xcalloc(1, d->off_data);
	build_header(d, content_id_finish(&d->content), head);
	for (uint32_t i = 0; i < d->blocks; i++)
		put_le32(head + d->off_blocks + 4ull * i, d->map[i]);
	int r = pwrite_all(d->out.fd, head, d->off_data, 0);
	free(head);
	if (r < 0)
		return -1;
	return image_output_commit(w, &d->out, d->off_data + (uint64_t)d->allocated * BLOCK_SIZE);
}

static void vdi_abort(struct image_writer *w);

static int vdi_open(struct image_writer *w)
{
	/* VirtualBox sizes disks in whole sectors. */
	uint64_t size = align_up(w->opt.virtual_size, 512);
	uint64_t blocks = (size + BLOCK_SIZE - 1) / BLOCK_SIZE;
	if (blocks > MAX_BLOCKS)
		return error("vdi: virtual size %llu needs more blocks than a block map holds",
			     (unsigned long long)size);
	struct vdiw *d = xcalloc(1, sizeof *d);
	w->priv = d;
	d->out.fd = -1;
	d->size = size;
	d->blocks = (uint32_t)blocks;
	d->map = xmalloc((blocks ? blocks : 1) * sizeof *d->map);
	for (uint64_t i = 0; i < blocks; i++)
		d->map[i] = VDI_BLOCK_FREE;
	d->off_blocks = align_up(VDI_HEADER_END, DATA_ALIGN);
	d->off_data = align_up(d->off_blocks + 4 * blocks, DATA_ALIGN);
	if (d->off_data > UINT32_MAX) {
		error("vdi: the block map of a %llu-byte disk does not fit the header's offsets",
		      (unsigned long long)size);
		goto fail;
	}
	block_cutter_init(&d->cut, BLOCK_SIZE, emit_block, d);
	content_id_init(&d->content, w->opt.seed, size);
	if (image_output_open(w, &d->out) < 0)
		goto fail;
	return 0;
fail:
	vdi_abort(w);
	return -1;
}

static void vdi_abort(struct image_writer *w)
{
	struct vdiw *d = w->priv;
	if (!d)
		return;
	image_output_discard(&d->out);
	block_cutter_release(&d->cut);
	free(d->map);
	free(d);
	w->priv = NULL;
}

const struct image_format image_format_vdi = {
	.name = "vdi",
	.extension = "vdi",
	.open = vdi_open,
	.write_data = vdi_write_data,
	.finish = vdi_finish,
	.abort = vdi_abort,
};
