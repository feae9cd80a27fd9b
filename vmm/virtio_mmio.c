/* vmm/virtio_mmio.c: virtio-mmio version 2 register file (virtio 1.2, 4.2.2 and 4.2.3). */
#include "vmm/virtio_mmio.h"

#include <string.h>

void virtio_mmio_init(struct virtio_mmio *t, const struct virtio_device_ops *ops, void *dev, uint64_t features,
		      const struct guest_mem *mem, unsigned gsi, virtio_irq_fn irq, void *irq_opaque)
{
	memset(t, 0, sizeof *t);
	t->ops = ops;
	t->dev = dev;
	t->features = features | VIRTIO_F_VERSION_1;
	t->mem = mem;
	t->gsi = gsi;
	t->irq = irq;
	t->irq_opaque = irq_opaque;
}

static void device_reset(struct virtio_mmio *t)
{
	t->device_features_sel = t->driver_features_sel = t->queue_sel = 0;
	t->driver_features = 0;
	t->status = 0;
	t->interrupt_status = 0;
	for (unsigned i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++)
		virtq_reset(&t->queue[i]);
}

static void raise_interrupt(struct virtio_mmio *t, uint32_t why)
{
	t->interrupt_status |= why;
	if (t->irq)
		t->irq(t->irq_opaque, t->gsi);
}

void virtio_mmio_notify_used(struct virtio_mmio *t, unsigned q)
{
	if (virtq_wants_interrupt(&t->queue[q]))
		raise_interrupt(t, VIRTIO_INT_USED_BUFFER);
}

void virtio_mmio_needs_reset(struct virtio_mmio *t)
{
	t->errors++;
	if (t->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	t->status |= VIRTIO_STATUS_NEEDS_RESET;
	/* 4.2.3.3 (via 2.1.2): tell the driver with a configuration change notification. */
	raise_interrupt(t, VIRTIO_INT_CONFIG_CHANGE);
}

static struct virtq *selected_queue(struct virtio_mmio *t)
{
	return t->queue_sel < t->ops->n_queues ? &t->queue[t->queue_sel] : NULL;
}

static int device_live(const struct virtio_mmio *t)
{
	return (t->status & VIRTIO_STATUS_DRIVER_OK) &&
	       !(t->status & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED));
}

static uint32_t read_register(struct virtio_mmio *t, uint64_t off)
{
	struct virtq *q = selected_queue(t);
	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE: return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION: return 2;
	case VIRTIO_MMIO_DEVICE_ID: return t->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID: return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return t->device_features_sel < 2 ? (uint32_t)(t->features >> (32 * t->device_features_sel)) : 0;
	case VIRTIO_MMIO_QUEUE_NUM_MAX: return q ? VIRTQ_MAX_SIZE : 0;
	case VIRTIO_MMIO_QUEUE_READY: return q ? q->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS: return t->interrupt_status;
	case VIRTIO_MMIO_STATUS: return t->status;
	case VIRTIO_MMIO_CONFIG_GENERATION: return t->config_generation;
	default: return 0;
	}
}

static void set_half(uint64_t *v, int high, uint32_t value)
{
	*v = high ? (*v & 0xffffffffull) | (uint64_t)value << 32 : (*v & ~0xffffffffull) | value;
}

/* 4.2.3.2: queue registers may be written only while the queue is not ready. */
static void write_queue_register(struct virtio_mmio *t, struct virtq *q, uint64_t off, uint32_t value)
{
	if (!q || q->ready)
		return;
	switch (off) {
	case VIRTIO_MMIO_QUEUE_NUM: q->num = value <= VIRTQ_MAX_SIZE ? (uint16_t)value : 0; break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW: set_half(&q->desc_gpa, 0, value); break;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH: set_half(&q->desc_gpa, 1, value); break;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW: set_half(&q->avail_gpa, 0, value); break;
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH: set_half(&q->avail_gpa, 1, value); break;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW: set_half(&q->used_gpa, 0, value); break;
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH: set_half(&q->used_gpa, 1, value); break;
	}
	(void)t;
}

static void write_queue_ready(struct virtio_mmio *t, struct virtq *q, uint32_t value)
{
	if (!q)
		return;
	if (!value) {
		struct virtq keep = *q; /* the addresses stay; the device state goes */
		virtq_reset(q);
		q->num = keep.num;
		q->desc_gpa = keep.desc_gpa;
		q->avail_gpa = keep.avail_gpa;
		q->used_gpa = keep.used_gpa;
		return;
	}
	if (!q->ready && virtq_activate(q, t->mem) < 0)
		virtio_mmio_needs_reset(t);
}

static void write_status(struct virtio_mmio *t, uint32_t value)
{
	if (value == 0) {
		device_reset(t);
		return;
	}
	uint32_t newly = value & ~t->status;
	/* 3.1.1 step 5: accept only what was offered, and only the modern interface. */
	if (newly & VIRTIO_STATUS_FEATURES_OK) {
		uint64_t f = t->driver_features;
		if ((f & ~t->features) || !(f & VIRTIO_F_VERSION_1))
			value &= ~(uint32_t)VIRTIO_STATUS_FEATURES_OK;
	}
	/* The device owns NEEDS_RESET: the driver can neither set nor clear it. */
	t->status = (value & 0xff & ~(uint32_t)VIRTIO_STATUS_NEEDS_RESET) | (t->status & VIRTIO_STATUS_NEEDS_RESET);
}

static void write_register(struct virtio_mmio *t, uint64_t off, uint32_t value)
{
	struct virtq *q = selected_queue(t);
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL: t->device_features_sel = value; break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (t->driver_features_sel < 2 && !(t->status & VIRTIO_STATUS_FEATURES_OK))
			set_half(&t->driver_features, (int)t->driver_features_sel, value);
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL: t->driver_features_sel = value; break;
	case VIRTIO_MMIO_QUEUE_SEL: t->queue_sel = value; break;
	case VIRTIO_MMIO_QUEUE_READY: write_queue_ready(t, q, value); break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		if (value < t->ops->n_queues && device_live(t) && t->queue[value].ready)
			t->ops->notify(t->dev, t, value);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK: t->interrupt_status &= ~value; break;
	case VIRTIO_MMIO_STATUS: write_status(t, value); break;
	default: write_queue_register(t, q, off, value); break;
	}
}

static void config_access(struct virtio_mmio *t, uint64_t off, uint8_t *data, unsigned size, int is_write)
{
	uint32_t cfg_size = 0;
	const uint8_t *cfg = t->ops->config(t->dev, &cfg_size);
	if (is_write)
		return; /* nothing in our config spaces is writable */
	if (off > cfg_size || size > cfg_size - off) {
		memset(data, 0, size);
		return;
	}
	memcpy(data, cfg + off, size);
}

void virtio_mmio_access(struct virtio_mmio *t, uint64_t off, uint8_t *data, unsigned size, int is_write)
{
	if (off >= VIRTIO_MMIO_CONFIG) {
		if (size == 1 || size == 2 || size == 4 || size == 8)
			config_access(t, off - VIRTIO_MMIO_CONFIG, data, size, is_write);
		else if (!is_write)
			memset(data, 0, size);
		return;
	}
	/* 4.2.2.2: registers are accessed as aligned 32-bit words. */
	if (size != 4 || (off & 3)) {
		if (!is_write)
			memset(data, 0, size);
		return;
	}
	if (is_write) {
		uint32_t v;
		memcpy(&v, data, 4);
		write_register(t, off, v);
	} else {
		uint32_t v = read_register(t, off);
		memcpy(data, &v, 4);
	}
}
