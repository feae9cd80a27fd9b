/* formats/vmdk/vmdk_format.c: encoding and decoding the sparse extent header,
 * and the descriptor geometry rules (open-vmdk's makeDiskDescriptorFile,
 * qemu's vmdk_co_do_create). */
#include "formats/vmdk/vmdk_format.h"

#include "formats/le.h"

#include <string.h>

void vmdk_header_encode(const struct vmdk_header *h, unsigned char out[VMDK_SECTOR])
{
	memset(out, 0, VMDK_SECTOR);
	put_le32(out + VH_MAGIC, VMDK_MAGIC);
	put_le32(out + VH_VERSION, h->version);
	put_le32(out + VH_FLAGS, h->flags);
	put_le64(out + VH_CAPACITY, h->capacity);
	put_le64(out + VH_GRAIN_SIZE, h->grain_size);
	put_le64(out + VH_DESC_OFFSET, h->desc_offset);
	put_le64(out + VH_DESC_SIZE, h->desc_size);
	put_le32(out + VH_GTES_PER_GT, h->gtes_per_gt);
	put_le64(out + VH_RGD_OFFSET, h->rgd_offset);
	put_le64(out + VH_GD_OFFSET, h->gd_offset);
	put_le64(out + VH_OVERHEAD, h->overhead);
	out[VH_UNCLEAN] = h->unclean;
	memcpy(out + VH_NL_CHARS, "\n \r\n", 4);
	put_le16(out + VH_COMPRESS_ALG, h->compress_alg);
}

int vmdk_header_decode(const unsigned char in[VMDK_SECTOR], struct vmdk_header *h)
{
	if (get_le32(in + VH_MAGIC) != VMDK_MAGIC)
		return -1;
	h->version = get_le32(in + VH_VERSION);
	h->flags = get_le32(in + VH_FLAGS);
	h->capacity = get_le64(in + VH_CAPACITY);
	h->grain_size = get_le64(in + VH_GRAIN_SIZE);
	h->desc_offset = get_le64(in + VH_DESC_OFFSET);
	h->desc_size = get_le64(in + VH_DESC_SIZE);
	h->gtes_per_gt = get_le32(in + VH_GTES_PER_GT);
	h->rgd_offset = get_le64(in + VH_RGD_OFFSET);
	h->gd_offset = get_le64(in + VH_GD_OFFSET);
	h->overhead = get_le64(in + VH_OVERHEAD);
	h->unclean = in[VH_UNCLEAN];
	h->newline_chars_ok = !memcmp(in + VH_NL_CHARS, "\n \r\n", 4);
	h->compress_alg = get_le16(in + VH_COMPRESS_ALG);
	return 0;
}

int vmdk_adapter_known(const char *a)
{
	return a && (!strcmp(a, "ide") || !strcmp(a, "buslogic") || !strcmp(a, "lsilogic") || !strcmp(a, "legacyESX"));
}

struct vmdk_geometry vmdk_geometry_for(uint64_t capacity, const char *adapter_type)
{
	/* IDE disks use the ATA 16-head translation (16383 cylinders at most);
	 * SCSI adapters the 255/63 one (65535 cylinders at most). */
	int ide = adapter_type && !strcmp(adapter_type, "ide");
	struct vmdk_geometry g = {.heads = ide ? 16 : 255, .sectors = 63};
	uint64_t per_cyl = (uint64_t)g.heads * g.sectors, max = ide ? 16383 : 65535;
	uint64_t c = (capacity + per_cyl - 1) / per_cyl;
	g.cylinders = (unsigned)(c > max ? max : c);
	return g;
}
