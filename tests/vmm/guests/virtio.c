/* tests/vmm/guests/virtio.c: a minimal virtio-mmio block driver, and hostile requests.
 *
 * Follows virtio 1.2: 3.1.1 (initialisation), 4.2.3 (MMIO), 2.7 (split
 * queues), 5.2.6 (block requests). Reads and writes sectors the command
 * line names and prints their CRC-32s; with malformed=1 it then feeds the
 * device broken descriptors, rings and queue addresses, and checks that it
 * refuses each one the documented way and still serves a valid read after.
 */
#include "guest.h"

#define VB 0xd0000000ull
#define R_MAGIC 0x000
#define R_VERSION 0x004
#define R_DEVICE_ID 0x008
#define R_DEV_FEATURES 0x010
#define R_DEV_FEATURES_SEL 0x014
#define R_DRV_FEATURES 0x020
#define R_DRV_FEATURES_SEL 0x024
#define R_QUEUE_SEL 0x030
#define R_QUEUE_NUM_MAX 0x034
#define R_QUEUE_NUM 0x038
#define R_QUEUE_READY 0x044
#define R_QUEUE_NOTIFY 0x050
#define R_INT_STATUS 0x060
#define R_INT_ACK 0x064
#define R_STATUS 0x070
#define R_DESC_LO 0x080
#define R_DESC_HI 0x084
#define R_DRIVER_LO 0x090
#define R_DRIVER_HI 0x094
#define R_DEVICE_LO 0x0a0
#define R_DEVICE_HI 0x0a4
#define R_CONFIG 0x100

#define S_ACK 1
#define S_DRIVER 2
#define S_DRIVER_OK 4
#define S_FEATURES_OK 8
#define S_NEEDS_RESET 0x40

#define F_NEXT 1
#define F_WRITE 2
#define F_INDIRECT 4

#define QSZ 8
#define T_IN 0
#define T_OUT 1
#define T_GET_ID 8

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

static struct desc ring_desc[QSZ] __attribute__((aligned(4096)));
static struct {
	uint16_t flags, idx, ring[QSZ], used_event;
} avail __attribute__((aligned(4096)));
static struct {
	uint16_t flags, idx;
	struct { uint32_t id, len; } ring[QSZ];
	uint16_t avail_event;
} used __attribute__((aligned(4096)));
static struct blk_req { uint32_t type, reserved; uint64_t sector; } hdr;
static uint8_t data[16 * 512] __attribute__((aligned(4096)));
static volatile uint8_t status;
static uint16_t last_used;
static int use_irq;

static uint32_t rd(uint32_t off) { return mmio_read32(VB + off); }
static void wr(uint32_t off, uint32_t v) { mmio_write32(VB + off, v); }

static void kv(const char *k, uint64_t v, int hex)
{
	putc_(' ');
	puts_(k);
	putc_('=');
	if (hex)
		puthex(v);
	else
		putdec(v);
}

static void setup_queue(uint64_t desc_addr)
{
	memset(&avail, 0, sizeof avail);
	memset(&used, 0, sizeof used);
	last_used = 0;
	wr(R_QUEUE_SEL, 0);
	wr(R_QUEUE_NUM, QSZ);
	wr(R_DESC_LO, (uint32_t)desc_addr);
	wr(R_DESC_HI, (uint32_t)(desc_addr >> 32));
	wr(R_DRIVER_LO, (uint32_t)(uint64_t)&avail);
	wr(R_DRIVER_HI, 0);
	wr(R_DEVICE_LO, (uint32_t)(uint64_t)&used);
	wr(R_DEVICE_HI, 0);
	wr(R_QUEUE_READY, 1);
}

/* 3.1.1: reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK, queues, DRIVER_OK. */
static int device_init(uint32_t features_hi, uint32_t features_lo)
{
	wr(R_STATUS, 0);
	wr(R_STATUS, S_ACK);
	wr(R_STATUS, S_ACK | S_DRIVER);
	wr(R_DRV_FEATURES_SEL, 0);
	wr(R_DRV_FEATURES, features_lo);
	wr(R_DRV_FEATURES_SEL, 1);
	wr(R_DRV_FEATURES, features_hi);
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	if (!(rd(R_STATUS) & S_FEATURES_OK))
		return -1;
	setup_queue((uint64_t)ring_desc);
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	return 0;
}

/* Puts head in the available ring, notifies, waits for the used entry; returns its length or -1. */
static long submit(uint16_t head)
{
	status = 0xee;
	avail.ring[avail.idx % QSZ] = head;
	barrier();
	avail.idx++;
	barrier();
	unsigned irqs = irq_count[0];
	wr(R_QUEUE_NOTIFY, 0);
	if (use_irq)
		irq_wait(&irq_count[0], irqs + 1);
	for (int i = 0; i < 1000 && *(volatile uint16_t *)&used.idx == last_used; i++)
		;
	if (*(volatile uint16_t *)&used.idx == last_used)
		return -1;
	long len = used.ring[last_used % QSZ].len;
	last_used++;
	return len;
}

/* The usual three-descriptor request: header, data, status. */
static long request(uint32_t type, uint64_t sector, uint32_t len)
{
	hdr.type = type;
	hdr.reserved = 0;
	hdr.sector = sector;
	ring_desc[0] = (struct desc){(uint64_t)&hdr, sizeof hdr, F_NEXT, 1};
	ring_desc[1] = (struct desc){(uint64_t)data, len, (uint16_t)(F_NEXT | (type == T_OUT ? 0 : F_WRITE)), 2};
	ring_desc[2] = (struct desc){(uint64_t)&status, 1, F_WRITE, 0};
	return submit(0);
}

static void read_ranges(const char *spec)
{
	while (*spec) {
		uint64_t sector = parse_u64(&spec);
		uint64_t count = 1;
		if (*spec == ':') {
			spec++;
			count = parse_u64(&spec);
		}
		if (count > 16)
			count = 16;
		long n = request(T_IN, sector, (uint32_t)(count * 512));
		puts_("BLK read");
		kv("sector", sector, 0);
		kv("count", count, 0);
		kv("status", status, 0);
		kv("used", (uint64_t)n, 0);
		kv("crc", crc32(0, data, count * 512), 1);
		putc_('\n');
		if (*spec == ',')
			spec++;
		else
			break;
	}
}

static void write_sector(uint64_t sector)
{
	for (int i = 0; i < 512; i++)
		data[i] = (uint8_t)(i * 7 + sector);
	uint32_t expected = crc32(0, data, 512);
	long n = request(T_OUT, sector, 512);
	uint8_t wst = status;
	memset(data, 0, 512);
	request(T_IN, sector, 512);
	puts_("BLK write");
	kv("sector", sector, 0);
	kv("status", wst, 0);
	kv("used", (uint64_t)n, 0);
	kv("readback_crc", crc32(0, data, 512), 1);
	kv("expected_crc", expected, 1);
	putc_('\n');
}

static void get_id(void)
{
	memset(data, 0, 32);
	long n = request(T_GET_ID, 0, 20);
	data[20] = 0;
	puts_("BLK id=");
	puts_((const char *)data);
	kv("status", status, 0);
	kv("used", (uint64_t)n, 0);
	putc_('\n');
}

static void report_case(const char *name, long used_len, int ok)
{
	puts_("CASE ");
	puts_(name);
	kv("used", (uint64_t)used_len, 0);
	kv("status", status, 0);
	puts_(ok ? " ok=1\n" : " ok=0\n");
}

/* A chain the device must return unused: length 0, status byte untouched. */
static void bad_chain(const char *name)
{
	long n = submit(0);
	report_case(name, n, n == 0 && status == 0xee);
}

static void bad_request(const char *name, uint8_t want_status, long n)
{
	report_case(name, n, n == 1 && status == want_status);
}

/* Broken rings: the device must set DEVICE_NEEDS_RESET; the driver resets and starts over. */
static void needs_reset(const char *name)
{
	uint32_t st = rd(R_STATUS), is = rd(R_INT_STATUS);
	wr(R_INT_ACK, is);
	puts_("CASE ");
	puts_(name);
	kv("device_status", st, 1);
	kv("interrupt", is, 0);
	puts_((st & S_NEEDS_RESET) && (is & 2) ? " ok=1\n" : " ok=0\n");
	device_init(1, 0);
}

static void malformed_chains(void)
{
	request(T_IN, 0, 512); /* reset the descriptors to a known-good chain first */
	ring_desc[1].addr = 0x10000000000ull; /* 1 TiB: outside guest RAM */
	bad_chain("addr_outside_ram");
	ring_desc[1].addr = 0xfffffffffffffff0ull; /* addr + len wraps around */
	ring_desc[1].len = 0x100;
	bad_chain("addr_wraps");
	ring_desc[1] = (struct desc){(uint64_t)data, 512, F_NEXT | F_WRITE, 1}; /* points at itself */
	bad_chain("descriptor_loop");
	ring_desc[1] = (struct desc){(uint64_t)data, 512, F_NEXT | F_WRITE, 200};
	bad_chain("next_out_of_range");
	ring_desc[0] = (struct desc){(uint64_t)data, 512, F_NEXT | F_WRITE, 1}; /* writable before readable */
	ring_desc[1] = (struct desc){(uint64_t)&hdr, sizeof hdr, F_NEXT, 2};
	bad_chain("readable_after_writable");
	ring_desc[0] = (struct desc){(uint64_t)&hdr, sizeof hdr, F_NEXT | F_INDIRECT, 1};
	bad_chain("indirect_not_offered");
	ring_desc[0] = (struct desc){(uint64_t)&hdr, sizeof hdr, 0, 0}; /* no writable part at all */
	bad_chain("no_status_byte");
}

static void malformed_requests(uint64_t capacity)
{
	hdr = (struct blk_req){T_IN, 0, 0};
	ring_desc[0] = (struct desc){(uint64_t)&hdr, 8, F_NEXT, 1};
	ring_desc[1] = (struct desc){(uint64_t)data, 512, F_NEXT | F_WRITE, 2};
	ring_desc[2] = (struct desc){(uint64_t)&status, 1, F_WRITE, 0};
	bad_request("short_header", 1, submit(0));
	bad_request("sector_beyond_capacity", 1, request(T_IN, capacity, 512));
	bad_request("range_crosses_end", 1, request(T_IN, capacity - 1, 1024));
	bad_request("partial_sector", 1, request(T_IN, 0, 100));
	bad_request("unknown_type", 2, request(99, 0, 512));
}

static void malformed_rings(void)
{
	request(T_IN, 0, 512);
	avail.ring[avail.idx % QSZ] = 100; /* head index beyond the queue */
	barrier();
	avail.idx++;
	wr(R_QUEUE_NOTIFY, 0);
	needs_reset("head_out_of_range");
	avail.idx = (uint16_t)(avail.idx + 1000); /* more entries than the queue holds */
	wr(R_QUEUE_NOTIFY, 0);
	needs_reset("avail_index_jump");
	wr(R_STATUS, 0);
	wr(R_STATUS, S_ACK | S_DRIVER);
	wr(R_DRV_FEATURES_SEL, 1);
	wr(R_DRV_FEATURES, 1);
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	setup_queue(0x10000000000ull); /* descriptor table outside RAM */
	uint32_t ready = rd(R_QUEUE_READY);
	puts_("CASE queue_outside_ram");
	kv("ready", ready, 0);
	kv("device_status", rd(R_STATUS), 1);
	puts_(!ready && (rd(R_STATUS) & S_NEEDS_RESET) ? " ok=1\n" : " ok=0\n");
	wr(R_INT_ACK, rd(R_INT_STATUS));
	device_init(1, 0);
}

static int negotiate(void)
{
	wr(R_DEV_FEATURES_SEL, 0);
	uint32_t lo = rd(R_DEV_FEATURES);
	wr(R_DEV_FEATURES_SEL, 1);
	uint32_t hi = rd(R_DEV_FEATURES);
	/* Asking for a feature the device did not offer (INDIRECT_DESC, bit 28) must not stick. */
	int refused = device_init(1, 1u << 28) < 0;
	int ok = device_init(1, 0) == 0; /* VERSION_1 alone */
	puts_("VIRTIO");
	kv("features_lo", lo, 1);
	kv("features_hi", hi, 1);
	kv("unoffered_refused", (uint64_t)refused, 0);
	kv("features_ok", (uint64_t)ok, 0);
	putc_('\n');
	return ok ? 0 : -1;
}

int virtio_tests(const char *cmdline)
{
	char arg[128];
	puts_("VIRTIO");
	kv("magic", rd(R_MAGIC), 1);
	kv("version", rd(R_VERSION), 0);
	kv("device", rd(R_DEVICE_ID), 0);
	kv("queue_num_max", (wr(R_QUEUE_SEL, 0), rd(R_QUEUE_NUM_MAX)), 0);
	putc_('\n');
	if (rd(R_MAGIC) != 0x74726976 || rd(R_VERSION) != 2 || rd(R_DEVICE_ID) != 2 || negotiate() < 0)
		return -1;
	uint64_t capacity = rd(R_CONFIG) | (uint64_t)rd(R_CONFIG + 4) << 32;
	puts_("BLK");
	kv("capacity", capacity, 0);
	kv("blk_size", rd(R_CONFIG + 20), 0);
	putc_('\n');
	if (cmdline_get(cmdline, "irq", arg, sizeof arg)) {
		irq_setup();
		irq_route(5, 0x30);
		use_irq = 1;
	}
	get_id();
	if (cmdline_get(cmdline, "read", arg, sizeof arg))
		read_ranges(arg);
	if (cmdline_get(cmdline, "write", arg, sizeof arg)) {
		const char *p = arg;
		write_sector(parse_u64(&p));
	}
	if (use_irq) {
		puts_("BLK");
		kv("interrupts", irq_count[0], 0);
		putc_('\n');
		use_irq = 0;
	}
	if (cmdline_get(cmdline, "malformed", arg, sizeof arg)) {
		malformed_chains();
		malformed_requests(capacity);
		malformed_rings();
		long n = request(T_IN, 0, 512);
		puts_("CASE still_serving");
		kv("used", (uint64_t)n, 0);
		kv("status", status, 0);
		kv("crc", crc32(0, data, 512), 1);
		puts_(n == 513 && status == 0 ? " ok=1\n" : " ok=0\n");
	}
	return 0;
}
