/* tests/vmm/gen_fuzz_corpus.c: writes the seed inputs of the VMM's fuzz harnesses.
 *
 * Run by tests/vmm/gen_fuzz_corpus.sh (which also makes the FAT and GPT
 * seeds with mkfs.fat, mtools and sfdisk). Each seed is a meaningful case:
 * valid requests of every type, and each kind of malformed descriptor,
 * ring and register access the harnesses should keep exploring from.
 * Usage: gen_fuzz_corpus CORPUS_DIR (writes CORPUS_DIR/virtqueue/... etc.)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *root;

static void save(const char *harness, const char *name, const void *data, size_t len)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", root, harness);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/%s/%s", root, harness, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f)) {
		perror(path);
		exit(1);
	}
}

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

/* ---- virtqueue: 12-byte header (num selector, desc, avail, used) + RAM ---- */

#define VQ_AVAIL 0x800
#define VQ_USED 0xc00

struct vq_seed {
	uint8_t b[12 + 0xd00];
};

static void vq_init(struct vq_seed *s)
{
	memset(s, 0, sizeof *s);
	uint32_t desc = 3, avail = VQ_AVAIL, used = VQ_USED; /* desc: low bits pick 2^3 = 8 entries, address 0 */
	memcpy(s->b, &desc, 4);
	memcpy(s->b + 4, &avail, 4);
	memcpy(s->b + 8, &used, 4);
}

static void vq_desc(struct vq_seed *s, unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	struct desc d = {addr, len, flags, next};
	memcpy(s->b + 12 + 16 * i, &d, 16);
}

static void vq_offer(struct vq_seed *s, const uint16_t *heads, unsigned n)
{
	uint16_t idx = (uint16_t)n;
	memcpy(s->b + 12 + VQ_AVAIL + 2, &idx, 2);
	for (unsigned i = 0; i < n; i++)
		memcpy(s->b + 12 + VQ_AVAIL + 4 + 2 * i, &heads[i], 2);
}

static void virtqueue_seeds(void)
{
	struct vq_seed s;
	uint16_t h0[] = {0}, h3[] = {0, 3, 5};
	vq_init(&s);
	vq_desc(&s, 0, 0x400, 16, 1, 1);
	vq_desc(&s, 1, 0x500, 512, 3, 2);
	vq_desc(&s, 2, 0x700, 1, 2, 0);
	vq_offer(&s, h0, 1);
	save("virtqueue", "valid-3-descriptors", &s, sizeof s);
	vq_desc(&s, 3, 0x400, 16, 0, 0);
	vq_desc(&s, 4, 0x500, 100, 2, 0);
	vq_desc(&s, 5, 0x600, 8, 1, 4);
	vq_offer(&s, h3, 3);
	save("virtqueue", "three-chains", &s, sizeof s);
	vq_init(&s);
	vq_desc(&s, 0, 0x400, 16, 1, 0);
	vq_offer(&s, h0, 1);
	save("virtqueue", "loop", &s, sizeof s);
	vq_init(&s);
	vq_desc(&s, 0, 0xfff0, 0x100, 0, 0);
	vq_offer(&s, h0, 1);
	save("virtqueue", "past-end-of-ram", &s, sizeof s);
	vq_init(&s);
	vq_desc(&s, 0, 0x400, 16, 4, 0);
	vq_offer(&s, h0, 1);
	save("virtqueue", "indirect", &s, sizeof s);
	vq_init(&s);
	vq_desc(&s, 0, 0x400, 16, 3, 1);
	vq_desc(&s, 1, 0x500, 16, 1, 9);
	vq_offer(&s, h0, 1);
	save("virtqueue", "readable-after-writable-and-next-out-of-range", &s, sizeof s);
	vq_init(&s);
	uint16_t far[] = {77};
	vq_offer(&s, far, 1);
	save("virtqueue", "head-out-of-range", &s, sizeof s);
	vq_init(&s);
	uint16_t jump = 1000;
	memcpy(s.b + 12 + VQ_AVAIL + 2, &jump, 2);
	save("virtqueue", "avail-index-jump", &s, sizeof s);
}

/* ---- virtio_blk: flags byte, then operations ---- */

struct prog {
	uint8_t b[4096];
	size_t n;
};

static void op_reg(struct prog *p, uint16_t off, uint32_t v)
{
	p->b[p->n++] = 0;
	memcpy(p->b + p->n, &off, 2);
	memcpy(p->b + p->n + 2, &v, 4);
	p->n += 6;
}

static void op_read(struct prog *p, uint16_t off, uint8_t size)
{
	p->b[p->n++] = 1;
	memcpy(p->b + p->n, &off, 2);
	p->b[p->n + 2] = (uint8_t)(size - 1);
	p->n += 3;
}

static void op_mem(struct prog *p, uint16_t gpa, const void *data, uint8_t len)
{
	p->b[p->n++] = 2;
	memcpy(p->b + p->n, &gpa, 2);
	p->b[p->n + 2] = len;
	memcpy(p->b + p->n + 3, data, len);
	p->n += 3u + len;
}

static void op_notify(struct prog *p) { p->b[p->n++] = 3; }

static void blk_start(struct prog *p)
{
	p->n = 0;
	p->b[p->n++] = 1 | (3 << 1); /* bring up with 8 entries */
}

/* One request: header at 0x3000, data at 0x4000, status at 0x5000; head 0, avail index idx. */
static void blk_request(struct prog *p, uint32_t type, uint64_t sector, uint32_t len, uint16_t idx)
{
	uint8_t hdr[16] = {0};
	memcpy(hdr, &type, 4);
	memcpy(hdr + 8, &sector, 8);
	op_mem(p, 0x3000, hdr, 16);
	struct desc d[3] = {{0x3000, 16, 1, 1}, {0x4000, len, (uint16_t)(type == 1 ? 1 : 3), 2}, {0x5000, 1, 2, 0}};
	op_mem(p, 0x0, d, sizeof d);
	uint16_t ring[3] = {0, idx, 0};
	op_mem(p, 0x1000, ring, sizeof ring);
	op_notify(p);
}

static void virtio_blk_seeds(void)
{
	struct prog p;
	blk_start(&p);
	blk_request(&p, 0, 1, 1024, 1);
	save("virtio_blk", "read", p.b, p.n);
	blk_request(&p, 1, 7, 512, 2);
	blk_request(&p, 0, 7, 512, 3);
	save("virtio_blk", "write-then-read", p.b, p.n);
	blk_start(&p);
	blk_request(&p, 8, 0, 20, 1);
	blk_request(&p, 4, 0, 0, 2);
	blk_request(&p, 99, 0, 512, 3);
	save("virtio_blk", "get-id-flush-unsupported", p.b, p.n);
	blk_start(&p);
	blk_request(&p, 0, 127, 1024, 1);
	blk_request(&p, 0, 0, 100, 2);
	blk_request(&p, 0, UINT64_MAX / 512, 512, 3);
	save("virtio_blk", "out-of-range-and-partial", p.b, p.n);
	blk_start(&p);
	struct desc loop = {0x3000, 16, 1, 0};
	op_mem(&p, 0, &loop, sizeof loop);
	uint16_t ring[3] = {0, 1, 0};
	op_mem(&p, 0x1000, ring, sizeof ring);
	op_notify(&p);
	uint16_t bad[3] = {0, 2, 200};
	op_mem(&p, 0x1000, bad, sizeof bad);
	op_notify(&p);
	op_read(&p, 0x70, 4);
	op_read(&p, 0x60, 4);
	op_reg(&p, 0x70, 0);
	save("virtio_blk", "loop-then-bad-head-then-reset", p.b, p.n);
	/* Device bring-up by hand, registers in unusual orders and widths. */
	p.n = 0;
	p.b[p.n++] = 0;
	for (uint16_t off = 0; off < 0x110; off += 4)
		op_read(&p, off, 4);
	op_read(&p, 0x100, 8);
	op_read(&p, 0x103, 2);
	op_reg(&p, 0x70, 3);
	op_reg(&p, 0x24, 0);
	op_reg(&p, 0x20, 1u << 28);
	op_reg(&p, 0x70, 11);
	op_read(&p, 0x70, 4);
	op_reg(&p, 0x30, 0);
	op_reg(&p, 0x38, 256);
	op_reg(&p, 0x80, 0xfff0);
	op_reg(&p, 0x44, 1);
	op_read(&p, 0x44, 4);
	save("virtio_blk", "registers-by-hand", p.b, p.n);
}

/* ---- loader entries ---- */

static void loader_entry_seeds(void)
{
	const char *bls = "title hello 1.0.0\nlinux /vmlinuz\ninitrd /initrd.img\n"
			  "options root=PARTUUID=5a8e62d4-7d1b-4c43-a3f1-0123456789ab console=ttyS0 apkg.check=1\n";
	save("loader_entry", "systemd-boot", bls, strlen(bls));
	const char *sys = "DEFAULT apkg\nLABEL apkg\n  LINUX /vmlinuz\n  INITRD /initrd.img\n  APPEND console=ttyS0\n";
	save("loader_entry", "syslinux", sys, strlen(sys));
	const char *odd = "# c\n\tlinux\t\t/k\r\ninitrd a\ninitrd b\ninitrd c\ninitrd d\ninitrd e\noptions\noptions x\n";
	save("loader_entry", "odd-spacing-many-initrds", odd, strlen(odd));
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_fuzz_corpus CORPUS_DIR\n");
		return 2;
	}
	root = argv[1];
	virtqueue_seeds();
	virtio_blk_seeds();
	loader_entry_seeds();
	return 0;
}
