/* tests/fuzz/fuzz_virtio_blk.c: libFuzzer harness for virtio-mmio + virtio-blk request handling.
 *
 * A simulated 64 KiB guest RAM and a 64 KiB memory disk under a real
 * copy-on-write overlay. Input byte 0 chooses whether the harness first
 * brings the device up the normal way (queue of 2^(byte>>1 % 9) entries
 * with the descriptor table at 0x0, the available ring at 0x1000, the used
 * ring at 0x2000). The rest is a program of operations:
 *   0 OFF(2) VAL(4)       MMIO register write
 *   1 OFF(2) SIZE(1)      MMIO read (any width, any offset)
 *   2 GPA(2) LEN(1) DATA  write guest RAM
 *   3                     notify queue 0
 * At the end the disk backing bytes must be unchanged.
 */
#include "vmm/virtio_blk.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define RAM 65536
#define DISK 65536

static uint8_t disk[DISK];

static void irq(void *o, unsigned gsi) { (void)o; (void)gsi; }

static void reg(struct virtio_blk *b, uint32_t off, uint32_t v)
{
	virtio_mmio_access(&b->transport, off, (uint8_t *)&v, 4, 1);
}

static void bring_up(struct virtio_blk *b, unsigned qsize)
{
	reg(b, VIRTIO_MMIO_STATUS, 0);
	reg(b, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	reg(b, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	reg(b, VIRTIO_MMIO_DRIVER_FEATURES, 1);
	reg(b, VIRTIO_MMIO_STATUS, 1 | 2 | VIRTIO_STATUS_FEATURES_OK);
	reg(b, VIRTIO_MMIO_QUEUE_SEL, 0);
	reg(b, VIRTIO_MMIO_QUEUE_NUM, qsize);
	reg(b, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x0);
	reg(b, VIRTIO_MMIO_QUEUE_DRIVER_LOW, 0x1000);
	reg(b, VIRTIO_MMIO_QUEUE_DEVICE_LOW, 0x2000);
	reg(b, VIRTIO_MMIO_QUEUE_READY, 1);
	reg(b, VIRTIO_MMIO_STATUS, 1 | 2 | 8 | VIRTIO_STATUS_DRIVER_OK);
}

static void run(struct virtio_blk *b, uint8_t *ram, const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint8_t op = p[i++] & 3;
		if (op == 0 && i + 6 <= n) {
			uint16_t off;
			uint32_t v;
			memcpy(&off, p + i, 2);
			memcpy(&v, p + i + 2, 4);
			reg(b, off % 0x200, v);
			i += 6;
		} else if (op == 1 && i + 3 <= n) {
			uint16_t off;
			memcpy(&off, p + i, 2);
			uint8_t buf[8];
			virtio_mmio_access(&b->transport, off % 0x200, buf, 1u + p[i + 2] % 8, 0);
			i += 3;
		} else if (op == 2 && i + 3 <= n) {
			uint16_t gpa;
			memcpy(&gpa, p + i, 2);
			size_t len = p[i + 2];
			i += 3;
			if (len > n - i)
				len = n - i;
			if (len > (size_t)RAM - gpa)
				len = RAM - gpa;
			memcpy(ram + gpa, p + i, len);
			i += len;
		} else if (op == 3) {
			reg(b, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
		} else {
			break;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	for (size_t i = 0; i < DISK; i++)
		disk[i] = (uint8_t)(i * 13 + (i >> 9));
	uint8_t *ram = calloc(1, RAM);
	struct guest_mem mem;
	guest_mem_borrow(&mem, ram, RAM);
	struct cow_disk *d = cow_disk_create(disk_backend_memory(disk, DISK));
	if (!d)
		abort();
	struct virtio_blk *b = malloc(sizeof *b);
	virtio_blk_init(b, d, "fuzz", &mem, 5, irq, NULL);
	if (data[0] & 1)
		bring_up(b, 1u << ((data[0] >> 1) % 9));
	run(b, ram, data + 1, size - 1);
	virtio_blk_destroy(b);
	free(b);
	free(ram);
	for (size_t i = 0; i < DISK; i++)
		if (disk[i] != (uint8_t)(i * 13 + (i >> 9)))
			abort(); /* a guest write reached the artifact */
	return 0;
}
