/* vmm/virtio_mmio.h: the virtio-mmio transport, version 2 (virtio 1.2, section 4.2).
 *
 * One instance per device, at a window of VMM_VIRTIO_MMIO_SIZE bytes. It
 * owns the device status, the feature negotiation, the queues and the
 * interrupt status; the device model (virtio_blk.c) supplies its ID,
 * features, config space and what to do on a queue notification.
 * Promises: register accesses of the wrong width or offset read as 0 and
 * write nothing; queue addresses are validated when QueueReady is set;
 * FEATURES_OK sticks only for a subset of the offered features that
 * includes VIRTIO_F_VERSION_1; a device in error sets DEVICE_NEEDS_RESET
 * and stops touching its queues until the driver resets it.
 */
#ifndef APKG_VMM_VIRTIO_MMIO_H
#define APKG_VMM_VIRTIO_MMIO_H

#include "vmm/guest_mem.h"
#include "vmm/virtqueue.h"

#include <stdint.h>

#define VIRTIO_MMIO_MAX_QUEUES 2

/* Register offsets (4.2.2, table "MMIO Device Register Layout"). */
#define VIRTIO_MMIO_MAGIC_VALUE 0x000
#define VIRTIO_MMIO_VERSION 0x004
#define VIRTIO_MMIO_DEVICE_ID 0x008
#define VIRTIO_MMIO_VENDOR_ID 0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES 0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES 0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL 0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX 0x034
#define VIRTIO_MMIO_QUEUE_NUM 0x038
#define VIRTIO_MMIO_QUEUE_READY 0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY 0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS 0x060
#define VIRTIO_MMIO_INTERRUPT_ACK 0x064
#define VIRTIO_MMIO_STATUS 0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW 0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH 0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW 0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH 0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW 0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH 0x0a4
#define VIRTIO_MMIO_CONFIG_GENERATION 0x0fc
#define VIRTIO_MMIO_CONFIG 0x100

#define VIRTIO_MMIO_MAGIC 0x74726976 /* "virt" */
#define VIRTIO_MMIO_VENDOR 0x474b5041 /* "APKG" */

/* Device status bits (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED 0x80

#define VIRTIO_F_VERSION_1 (1ull << 32)

#define VIRTIO_INT_USED_BUFFER 1
#define VIRTIO_INT_CONFIG_CHANGE 2

struct virtio_mmio;

struct virtio_device_ops {
	uint32_t device_id;
	unsigned n_queues;
	/* The device's config space (read-only for the devices we have). */
	const uint8_t *(*config)(void *dev, uint32_t *size);
	/* The driver notified queue q (which is ready and the device live). */
	void (*notify)(void *dev, struct virtio_mmio *t, unsigned q);
};

/* How the transport raises its interrupt line (an edge on gsi). */
typedef void (*virtio_irq_fn)(void *opaque, unsigned gsi);

struct virtio_mmio {
	const struct virtio_device_ops *ops;
	void *dev;
	const struct guest_mem *mem;
	uint64_t features; /* offered */
	unsigned gsi;
	virtio_irq_fn irq;
	void *irq_opaque;

	uint32_t device_features_sel, driver_features_sel, queue_sel;
	uint64_t driver_features;
	uint32_t status, interrupt_status, config_generation;
	struct virtq queue[VIRTIO_MMIO_MAX_QUEUES];
	uint64_t errors; /* malformed requests and queues seen, for diagnostics */
};

void virtio_mmio_init(struct virtio_mmio *t, const struct virtio_device_ops *ops, void *dev, uint64_t features,
		      const struct guest_mem *mem, unsigned gsi, virtio_irq_fn irq, void *irq_opaque);
/* An access of size bytes at offset off of the window; reads fill data. */
void virtio_mmio_access(struct virtio_mmio *t, uint64_t off, uint8_t *data, unsigned size, int is_write);
/* Used buffers were added to queue q: interrupt the driver unless it asked not to be. */
void virtio_mmio_notify_used(struct virtio_mmio *t, unsigned q);
/* The device hit a driver error it cannot continue from (2.1.2: DEVICE_NEEDS_RESET). */
void virtio_mmio_needs_reset(struct virtio_mmio *t);

#endif
