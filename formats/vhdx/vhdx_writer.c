/* formats/vhdx/vhdx_writer.c: a streaming writer of dynamic VHDX images (Hyper-V Gen2).
 *
 * Layout (MS-VHDX 2.x; every object 1 MiB aligned, as Hyper-V creates them):
 *   0        file type identifier ("vhdxfile", creator "apkg")
 *   64 KiB   header 1, 128 KiB header 2 (CRC-32C; an empty log: LogGuid 0)
 *   192 KiB  region table 1, 256 KiB region table 2 (BAT and metadata)
 *   1 MiB    the log (1 MiB, never used)
 *   2 MiB    the metadata region: file parameters (1 MiB blocks, the size
 *            Microsoft recommends for Linux guests), virtual disk size and
 *            id, 512-byte logical and 4096-byte physical sectors
 *   3 MiB    the BAT, with a sector-bitmap entry after every chunk_ratio
 *            payload entries (always "not present": no differencing disks)
 *   then     payload blocks, in virtual order, only those holding data.
 * Payload blocks are written as the stream produces them and their BAT
 * entries (FULLY_PRESENT | offset) kept in memory (8 bytes per MiB of
 * virtual disk); the BAT, the metadata and both headers are written at
 * the end. Ids come from the seed and the content (formats/content_id.h).
 */
#include "formats/blocks.h"
#include "formats/content_id.h"
#include "formats/le.h"
#include "formats/writer.h"
#include "util/crc32c.h"
#include "util/diag.h"
#include "util/ident.h"
#include "util/io.h"
#include "util/strbuf.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MiB (1ull << 20)
#define KiB (1ull << 10)
#define BLOCK_SIZE MiB
#define LOGICAL_SECTOR 512u
#define PHYSICAL_SECTOR 4096u
#define CHUNK_RATIO ((1ull << 23) * LOGICAL_SECTOR / BLOCK_SIZE)
#define LOG_OFFSET MiB
#define LOG_LENGTH MiB
#define METADATA_OFFSET (2 * MiB)
#define METADATA_LENGTH MiB
#define BAT_OFFSET (3 * MiB)
#define MAX_VIRTUAL_SIZE (64ull << 40) /* MS-VHDX: 64 TiB */

#define BAT_PAYLOAD_FULLY_PRESENT 6ull

/* GUIDs from MS-VHDX, in text order; stored mixed-endian like every GUID. */
static const char GUID_BAT[] = "2DC27766-F623-4200-9D64-115E9BFD4A08";
static const char GUID_METADATA[] = "8B7CA206-4790-4B9A-B8FE-575F050F886E";
static const char GUID_FILE_PARAMETERS[] = "CAA16737-FA36-4D43-B3B6-33F0AA44E76B";
static const char GUID_VIRTUAL_DISK_SIZE[] = "2FA54224-CD1B-4876-B211-5DBED83BF4B8";
static const char GUID_VIRTUAL_DISK_ID[] = "BECA12AB-B2E6-4523-93EF-C309E000C746";
static const char GUID_LOGICAL_SECTOR[] = "8141BF1D-A96F-4709-BA47-F233A8FAAB5F";
static const char GUID_PHYSICAL_SECTOR[] = "CDA348C7-445D-4471-9CC9-E9885251C556";

struct vhdxw {
	struct image_output out;
	uint64_t size;          /* virtual size, bytes (a multiple of the logical sector) */
	uint64_t payload_blocks;
	uint64_t bat_entries;
	uint64_t bat_length;    /* bytes, MiB multiple */
	uint64_t *bat;
	uint64_t next_offset;   /* where the next payload block goes */
	struct block_cutter cut;
	struct content_id content;
};

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : 0;
}

/* "2DC27766-F623-..." to the on-disk (mixed-endian) GUID bytes. */
static void guid_from_text(const char *text, unsigned char out[16])
{
	uint8_t u[16];
	for (int i = 0, j = 0; i < 16; j++) {
		if (text[j] == '-')
			continue;
		u[i++] = (uint8_t)(hexval(text[j]) << 4 | hexval(text[j + 1]));
		j++;
	}
	ident_uuid_to_guid(u, out);
}

static uint64_t bat_index(uint64_t block) { return block + block / CHUNK_RATIO; }

/* ---- payload ---- */

static int emit_block(void *arg, uint64_t block, const unsigned char *data)
{
	struct vhdxw *x = arg;
	content_id_add_data(&x->content, block, data, BLOCK_SIZE);
	x->bat[bat_index(block)] = x->next_offset | BAT_PAYLOAD_FULLY_PRESENT;
	uint64_t off = x->next_offset;
	x->next_offset += BLOCK_SIZE;
	return pwrite_all(x->out.fd, data, BLOCK_SIZE, off);
}

static int vhdx_write_data(struct image_writer *w, uint64_t off, const void *data, size_t len)
{
	struct vhdxw *x = w->priv;
	return block_cutter_data(&x->cut, off, data, len);
}

/* ---- metadata ---- */

static void put_region_entry(unsigned char *e, const char *guid, uint64_t offset, uint32_t length)
{
	guid_from_text(guid, e);
	put_le64(e + 16, offset);
	put_le32(e + 24, length);
	put_le32(e + 28, 1); /* required */
}

static void build_region_table(const struct vhdxw *x, unsigned char t[64 * KiB])
{
	memset(t, 0, 64 * KiB);
	memcpy(t, "regi", 4);
	put_le32(t + 8, 2);
	put_region_entry(t + 16, GUID_BAT, BAT_OFFSET, (uint32_t)x->bat_length);
	put_region_entry(t + 48, GUID_METADATA, METADATA_OFFSET, METADATA_LENGTH);
	put_le32(t + 4, crc32c(0, t, 64 * KiB));
}

enum { META_USER = 1, META_VIRTUAL_DISK = 2, META_REQUIRED = 4 };

static void put_metadata_entry(unsigned char *e, const char *guid, uint32_t offset, uint32_t length, uint32_t flags)
{
	guid_from_text(guid, e);
	put_le32(e + 16, offset);
	put_le32(e + 20, length);
	put_le32(e + 24, flags);
}

/* The metadata region: the table at its start, the items from 64 KiB on. */
static void build_metadata(const struct vhdxw *x, const char *ids, unsigned char *m)
{
	memset(m, 0, METADATA_LENGTH);
	memcpy(m, "metadata", 8);
	put_le16(m + 10, 5);
	unsigned char *items = m + 64 * KiB;
	put_le32(items, (uint32_t)BLOCK_SIZE); /* file parameters: dynamic, no parent */
	put_le32(items + 4, 0);
	put_le64(items + 8, x->size);
	uint8_t uuid[16];
	ident_uuid(ids, "vhdx-virtual-disk-id", uuid);
	ident_uuid_to_guid(uuid, items + 16);
	put_le32(items + 32, LOGICAL_SECTOR);
	put_le32(items + 36, PHYSICAL_SECTOR);
	uint32_t base = 64 * KiB;
	put_metadata_entry(m + 32, GUID_FILE_PARAMETERS, base, 8, META_REQUIRED);
	put_metadata_entry(m + 64, GUID_VIRTUAL_DISK_SIZE, base + 8, 8, META_VIRTUAL_DISK | META_REQUIRED);
	put_metadata_entry(m + 96, GUID_VIRTUAL_DISK_ID, base + 16, 16, META_VIRTUAL_DISK | META_REQUIRED);
	put_metadata_entry(m + 128, GUID_LOGICAL_SECTOR, base + 32, 4, META_VIRTUAL_DISK | META_REQUIRED);
	put_metadata_entry(m + 160, GUID_PHYSICAL_SECTOR, base + 36, 4, META_VIRTUAL_DISK | META_REQUIRED);
}

static void build_header(const char *ids, uint64_t seq, unsigned char h[4 * KiB])
{
	memset(h, 0, 4 * KiB);
	memcpy(h, "head", 4);
	put_le64(h + 8, seq);
	uint8_t uuid[16];
	ident_uuid(ids, "vhdx-file-write-guid", uuid);
	ident_uuid_to_guid(uuid, h + 16);
	ident_uuid(ids, "vhdx-data-write-guid", uuid);
	ident_uuid_to_guid(uuid, h + 32);
	/* LogGuid (h + 48) stays zero: the log is empty. */
	put_le16(h + 64, 0); /* log version */
	put_le16(h + 66, 1); /* version */
	put_le32(h + 68, (uint32_t)LOG_LENGTH);
	put_le64(h + 72, LOG_OFFSET);
	put_le32(h + 4, crc32c(0, h, 4 * KiB));
}

static void build_identifier(unsigned char id[64 * KiB])
{
	memset(id, 0, 64 * KiB);
	memcpy(id, "vhdxfile", 8);
	static const char creator[] = "apkg";
	for (size_t i = 0; i < sizeof creator - 1; i++)
		put_le16(id + 8 + 2 * i, (uint16_t)creator[i]);
}

static int write_tables(struct vhdxw *x, const char *ids)
{
	/* The first 1 MiB holds every fixed structure; the log after it stays zero. */
	unsigned char *head = xcalloc(1, MiB);
	build_identifier(head);
	build_header(ids, 1, head + 64 * KiB);
	build_header(ids, 2, head + 128 * KiB);
	build_region_table(x, head + 192 * KiB);
	build_region_table(x, head + 256 * KiB);
	int r = pwrite_all(x->out.fd, head, MiB, 0);
	free(head);
	if (r < 0)
		return -1;
	unsigned char *meta = xmalloc(METADATA_LENGTH);
	build_metadata(x, ids, meta);
	r = pwrite_all(x->out.fd, meta, METADATA_LENGTH, METADATA_OFFSET);
	free(meta);
	if (r < 0)
		return -1;
	unsigned char *bat = xcalloc(1, x->bat_length);
	for (uint64_t i = 0; i < x->bat_entries; i++)
		put_le64(bat + 8 * i, x->bat[i]);
	r = pwrite_all(x->out.fd, bat, x->bat_length, BAT_OFFSET);
	free(bat);
	return r;
}

static int vhdx_finish(struct image_writer *w)
{
	struct vhdxw *x = w->priv;
	if (block_cutter_flush(&x->cut) < 0)
		return -1;
	if (write_tables(x, content_id_finish(&x->content)) < 0)
		return -1;
	return image_output_commit(w, &x->out, x->next_offset);
}

static void vhdx_abort(struct image_writer *w);

static int vhdx_open(struct image_writer *w)
{
	/* The virtual size must be a whole number of logical sectors. */
	uint64_t size = (w->opt.virtual_size + LOGICAL_SECTOR - 1) / LOGICAL_SECTOR * LOGICAL_SECTOR;
	if (size > MAX_VIRTUAL_SIZE)
		return error("vhdx: virtual size %llu is over the format's 64 TiB", (unsigned long long)size);
	struct vhdxw *x = xcalloc(1, sizeof *x);
	w->priv = x;
	x->out.fd = -1;
	x->size = size;
	x->payload_blocks = (size + BLOCK_SIZE - 1) / BLOCK_SIZE;
	x->bat_entries = x->payload_blocks ? x->payload_blocks + (x->payload_blocks - 1) / CHUNK_RATIO : 0;
	x->bat_length = (x->bat_entries * 8 + MiB - 1) / MiB * MiB;
	if (!x->bat_length)
		x->bat_length = MiB;
	x->bat = xcalloc(x->bat_entries ? x->bat_entries : 1, sizeof *x->bat);
	x->next_offset = BAT_OFFSET + x->bat_length;
	block_cutter_init(&x->cut, BLOCK_SIZE, emit_block, x);
	content_id_init(&x->content, w->opt.seed, size);
	if (image_output_open(w, &x->out) < 0) {
		vhdx_abort(w);
		return -1;
	}
	return 0;
}

static void vhdx_abort(struct image_writer *w)
{
	struct vhdxw *x = w->priv;
	if (!x)
		return;
	image_output_discard(&x->out);
	block_cutter_release(&x->cut);
	free(x->bat);
	free(x);
	w->priv = NULL;
}

const struct image_format image_format_vhdx = {
	.name = "vhdx",
	.extension = "vhdx",
	.open = vhdx_open,
	.write_data = vhdx_write_data,
	.finish = vhdx_finish,
	.abort = vhdx_abort,
};
