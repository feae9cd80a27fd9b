/* tests/unit/test_vmm_devices.c: the VMM's device models and table builders, without /dev/kvm.
 *
 * AML encodings against the ACPI specification's examples, ACPI table
 * checksums and pointers, the 16550A's registers as Linux's 8250 driver
 * probes them, split virtqueues and virtio-mmio over simulated guest
 * memory, virtio-blk requests over a memory disk, and the copy-on-write
 * overlay against a reference model.
 */
#include "tests/unit/test.h"
#include "util/strbuf.h"
#include "vmm/acpi.h"
#include "vmm/aml.h"
#include "vmm/cow_disk.h"
#include "vmm/host_console.h"
#include "vmm/i8042.h"
#include "vmm/layout.h"
#include "vmm/pm.h"
#include "vmm/rtc.h"
#include "vmm/serial.h"
#include "vmm/virtio_blk.h"

#include <stdlib.h>

static uint32_t le32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t le64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static void test_aml_encodings(void)
{
	uint8_t pl[4];
	/* ACPI 6.5, 20.2.4: one byte up to 63 in total, then a count in bits 6-7. */
	CHECK(aml_pkglength(pl, 10) == 1 && pl[0] == 11);
	CHECK(aml_pkglength(pl, 62) == 1 && pl[0] == 63);
	CHECK(aml_pkglength(pl, 63) == 2 && pl[0] == 0x41 && pl[1] == 0x04); /* 65 = 0x41: nibble 1, then 4 */
	CHECK(aml_pkglength(pl, 0x1000) == 3 && pl[0] == (0x80 | 0x3) && pl[1] == 0x00 && pl[2] == 0x01);
	struct strbuf sb = STRBUF_INIT;
	aml_eisaid(&sb, "PNP0501"); /* the well-known value 0x0105D041 */
	CHECK(sb.len == 5 && (uint8_t)sb.buf[0] == 0x0c && le32((uint8_t *)sb.buf + 1) == 0x0105d041);
	strbuf_reset(&sb);
	aml_integer(&sb, 0);
	aml_integer(&sb, 1);
	aml_integer(&sb, 0x12);
	aml_integer(&sb, 0x1234);
	aml_integer(&sb, 0x123456789ull);
	static const uint8_t ints[] = {0x00, 0x01, 0x0a, 0x12, 0x0b, 0x34, 0x12,
				       0x0e, 0x89, 0x67, 0x45, 0x23, 0x01, 0, 0, 0};
	CHECK(sb.len == sizeof ints && !memcmp(sb.buf, ints, sizeof ints));
	strbuf_reset(&sb);
	struct strbuf body = STRBUF_INIT;
	aml_name_string(&body, "_HID", "LNRO0005");
	aml_device(&sb, "VR00", &body);
	/* DeviceOp 5B 82, PkgLength, "VR00", NameOp 08 "_HID" StringPrefix 0D "LNRO0005" 00 */
	static const uint8_t dev[] = {0x5b, 0x82, 0x14, 'V', 'R', '0', '0', 0x08, '_', 'H', 'I', 'D', 0x0d,
				      'L', 'N', 'R', 'O', '0', '0', '0', '5', 0x00};
	CHECK(sb.len == sizeof dev && !memcmp(sb.buf, dev, sizeof dev));
	strbuf_reset(&sb);
	strbuf_reset(&body);
	aml_res_memory32_fixed(&body, 0xd0000000, 0x200);
	aml_res_interrupt(&body, 5, 1, 0);
	aml_name_resources(&sb, "_CRS", &body);
	static const uint8_t crs[] = {0x08, '_', 'C', 'R', 'S', 0x11, 0x1a, 0x0a, 0x17,
				      0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00, 0xd0, 0x00, 0x02, 0x00, 0x00,
				      0x89, 0x06, 0x00, 0x03, 0x01, 0x05, 0x00, 0x00, 0x00, 0x79, 0x00};
	CHECK(sb.len == sizeof crs && !memcmp(sb.buf, crs, sizeof crs));
	strbuf_release(&sb);
	strbuf_release(&body);
}

static void test_acpi_tables(void)
{
	static uint8_t area[VMM_ACPI_SIZE];
	struct acpi_virtio_device v[2] = {{0xd0000000, 0x200, 5}, {0xd0001000, 0x200, 6}};
	struct acpi_machine m = {.n_cpus = 4, .virtio = v, .n_virtio = 2};
	struct acpi_tables t;
	CHECK(acpi_build(&m, area, sizeof area, VMM_ACPI_ADDR, &t) == 0);
	CHECK(t.n_tables == 5 && !memcmp(area, "RSD PTR ", 8));
	CHECK(acpi_checksum(area, 20) == 0 && acpi_checksum(area, 36) == 0 && area[15] == 2);
	for (unsigned i = 1; i < t.n_tables; i++) {
		const uint8_t *tb = area + t.table[i].offset;
		CHECK(le32(tb + 4) == t.table[i].len && acpi_checksum(tb, t.table[i].len) == 0);
		CHECK(t.table[i].offset % 16 == 0 && t.table[i].offset + t.table[i].len <= t.size);
	}
	/* RSDP -> XSDT -> FADT, MADT; FADT -> DSDT; all inside the area. */
	uint64_t xsdt = le64(area + 24) - VMM_ACPI_ADDR;
	CHECK(!memcmp(area + xsdt, "XSDT", 4));
	uint64_t fadt = le64(area + xsdt + 36) - VMM_ACPI_ADDR, madt = le64(area + xsdt + 44) - VMM_ACPI_ADDR;
	CHECK(!memcmp(area + fadt, "FACP", 4) && !memcmp(area + madt, "APIC", 4));
	const uint8_t *f = area + fadt;
	CHECK(le32(f + 112) & (1u << 20)); /* HW_REDUCED_ACPI */
	CHECK(f[244] == 1 && le64(f + 248) == VMM_PORT_SLEEP_CONTROL);
	CHECK(f[256] == 1 && le64(f + 260) == VMM_PORT_SLEEP_STATUS);
	CHECK(f[116] == 1 && le64(f + 120) == VMM_PORT_RESET && f[128] == VMM_RESET_VALUE);
	uint64_t dsdt = le64(f + 140) - VMM_ACPI_ADDR;
	CHECK(le32(f + 40) == le64(f + 140) && !memcmp(area + dsdt, "DSDT", 4));
	CHECK(le32(area + madt + 4) == 36 + 8 + 4 * 8 + 12);
	CHECK(memmem(area + dsdt, le32(area + dsdt + 4), "LNRO0005", 8) != NULL);
	CHECK(memmem(area + dsdt, le32(area + dsdt + 4), "VR01", 4) != NULL);
	/* Same machine, same bytes. */
	static uint8_t again[VMM_ACPI_SIZE];
	struct acpi_tables t2;
	acpi_build(&m, again, sizeof again, VMM_ACPI_ADDR, &t2);
	CHECK(t2.size == t.size && !memcmp(area, again, t.size));
}

static int irq_level = -1;
static struct strbuf serial_out = STRBUF_INIT;
static void ser_out(void *o, uint8_t b) { (void)o; strbuf_addc(&serial_out, (char)b); }
static void ser_irq(void *o, unsigned irq, int level) { (void)o; (void)irq; irq_level = level; }

static uint8_t uart_in(struct serial *s, unsigned off) { uint8_t v; serial_io(s, off, &v, 0); return v; }
static void uart_out(struct serial *s, unsigned off, uint8_t v) { serial_io(s, off, &v, 1); }

static void test_serial(void)
{
	struct serial s;
	serial_init(&s, 4, ser_out, ser_irq, NULL);
	/* The probes of Linux's 8250 autoconfig: scratch, IER read-back, loopback MSR. */
	uart_out(&s, 7, 0xa5);
	CHECK(uart_in(&s, 7) == 0xa5);
	uart_out(&s, 1, 0x0f);
	CHECK(uart_in(&s, 1) == 0x0f);
	uart_out(&s, 1, 0);
	uart_out(&s, 4, 0x10 | 0x0a); /* LOOP | RTS | OUT2 */
	CHECK((uart_in(&s, 6) & 0xf0) == 0x90);
	uart_out(&s, 0, 'L'); /* loopback: comes back as input */
	CHECK((uart_in(&s, 5) & 1) && uart_in(&s, 0) == 'L' && serial_out.len == 0);
	uart_out(&s, 4, 0x08); /* OUT2, no loop */
	uart_out(&s, 2, 0x01);
	CHECK((uart_in(&s, 2) & 0xc0) == 0xc0); /* FIFO enabled: a 16550A */
	/* DLAB: divisor latch instead of data and IER. */
	uart_out(&s, 3, 0x83);
	uart_out(&s, 0, 1);
	uart_out(&s, 1, 0);
	CHECK(uart_in(&s, 0) == 1 && uart_in(&s, 1) == 0);
	uart_out(&s, 3, 0x03);
	uart_out(&s, 0, 'h');
	uart_out(&s, 0, 'i');
	CHECK(serial_out.len == 2 && !memcmp(serial_out.buf, "hi", 2));
	/* THRE interrupt: raised when enabled, acknowledged by reading IIR. */
	uart_out(&s, 1, 0x02);
	CHECK(irq_level == 1 && (uart_in(&s, 2) & 0x0f) == 0x02);
	CHECK(irq_level == 0 && (uart_in(&s, 2) & 0x0f) == 0x01);
	/* Received data: IIR 0x04 until the FIFO is empty. */
	uart_out(&s, 1, 0x01);
	CHECK(serial_receive(&s, (const uint8_t *)"ab", 2) == 2 && irq_level == 1);
	CHECK((uart_in(&s, 2) & 0x0f) == 0x04 && uart_in(&s, 0) == 'a' && uart_in(&s, 0) == 'b');
	CHECK(irq_level == 0 && !(uart_in(&s, 5) & 1));
	/* The FIFO holds SERIAL_RX_FIFO bytes; the host waits for room. */
	static uint8_t many[SERIAL_RX_FIFO + 10];
	CHECK(serial_receive(&s, many, sizeof many) == SERIAL_RX_FIFO && serial_rx_room(&s) == 0);
	uart_out(&s, 2, 0x03); /* clear the receive FIFO */
	CHECK(serial_rx_room(&s) == SERIAL_RX_FIFO);
	strbuf_release(&serial_out);
}

static void test_platform_ports(void)
{
	uint8_t v = 0xfe;
	CHECK(i8042_io(VMM_PORT_I8042_CMD, &v, 1) == 1);
	v = 0xd1;
	CHECK(i8042_io(VMM_PORT_I8042_CMD, &v, 1) == 0);
	CHECK(i8042_io(VMM_PORT_I8042_CMD, &v, 0) == 0 && v == 0);
	v = 5 << 2 | 0x20;
	CHECK(pm_io(VMM_PORT_SLEEP_CONTROL, &v, 1) == PM_POWEROFF);
	v = 3 << 2 | 0x20; /* S3 is not offered: ignored */
	CHECK(pm_io(VMM_PORT_SLEEP_CONTROL, &v, 1) == PM_NONE);
	v = 5 << 2; /* no SLP_EN */
	CHECK(pm_io(VMM_PORT_SLEEP_CONTROL, &v, 1) == PM_NONE);
	v = VMM_RESET_VALUE;
	CHECK(pm_io(VMM_PORT_RESET, &v, 1) == PM_RESET);
	/* The CMOS clock: 2026-11-26 20:31:07 UTC (a Thursday), BCD, never updating. */
	struct rtc r = {0};
	time_t t = 1795725067;
	static const uint8_t want[][2] = {{0x00, 0x07}, {0x02, 0x31}, {0x04, 0x20}, {0x06, 0x05}, {0x07, 0x26},
					  {0x08, 0x11}, {0x09, 0x26}, {0x32, 0x20}, {0x0a, 0x26}, {0x0b, 0x02}};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		v = want[i][0] | 0x80; /* with the NMI-disable bit, as Linux writes it */
		rtc_io(&r, RTC_PORT_INDEX, &v, 1, t);
		rtc_io(&r, RTC_PORT_DATA, &v, 0, t);
		CHECK(v == want[i][1]);
	}
}

/* ---- virtio over simulated guest memory ---- */

#define MEM_SIZE (1 << 20)
#define DESC 0x1000
#define AVAIL 0x2000
#define USED 0x3000
#define HDR 0x4000
#define DATA 0x5000
#define STATUS 0x9000

struct sim {
	uint8_t *ram;
	struct guest_mem mem;
	struct virtio_blk blk;
	uint8_t *disk;
	int irqs;
};

static void sim_irq(void *o, unsigned gsi) { (void)gsi; ((struct sim *)o)->irqs++; }

static void reg_write(struct sim *s, uint32_t off, uint32_t v)
{
	virtio_mmio_access(&s->blk.transport, off, (uint8_t *)&v, 4, 1);
}

static uint32_t reg_read(struct sim *s, uint32_t off)
{
	uint32_t v = 0;
	virtio_mmio_access(&s->blk.transport, off, (uint8_t *)&v, 4, 0);
	return v;
}

static void sim_init(struct sim *s)
{
	memset(s, 0, sizeof *s);
	s->ram = calloc(1, MEM_SIZE);
	guest_mem_borrow(&s->mem, s->ram, MEM_SIZE);
	s->disk = malloc(64 * 512);
	for (int i = 0; i < 64 * 512; i++)
		s->disk[i] = (uint8_t)(i / 512 + 1);
	struct cow_disk *d = cow_disk_create(disk_backend_memory(s->disk, 64 * 512));
	virtio_blk_init(&s->blk, d, "sim", &s->mem, 5, sim_irq, s);
	reg_write(s, VIRTIO_MMIO_STATUS, 0);
	reg_write(s, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	reg_write(s, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	reg_write(s, VIRTIO_MMIO_DRIVER_FEATURES, 1);
	reg_write(s, VIRTIO_MMIO_STATUS, 1 | 2 | VIRTIO_STATUS_FEATURES_OK);
	reg_write(s, VIRTIO_MMIO_QUEUE_SEL, 0);
	reg_write(s, VIRTIO_MMIO_QUEUE_NUM, 16);
	reg_write(s, VIRTIO_MMIO_QUEUE_DESC_LOW, DESC);
	reg_write(s, VIRTIO_MMIO_QUEUE_DRIVER_LOW, AVAIL);
	reg_write(s, VIRTIO_MMIO_QUEUE_DEVICE_LOW, USED);
	reg_write(s, VIRTIO_MMIO_QUEUE_READY, 1);
	reg_write(s, VIRTIO_MMIO_STATUS, 1 | 2 | 8 | VIRTIO_STATUS_DRIVER_OK);
}

static void sim_free(struct sim *s)
{
	virtio_blk_destroy(&s->blk);
	free(s->ram);
	free(s->disk);
}

static void put_desc(struct sim *s, unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	struct virtq_desc d = {addr, len, flags, next};
	memcpy(s->ram + DESC + 16 * i, &d, 16);
}

/* Offers head and notifies; returns the used length of the new used entry, or -1 if none. */
static long offer(struct sim *s, uint16_t head)
{
	uint16_t idx, used_before;
	memcpy(&idx, s->ram + AVAIL + 2, 2);
	memcpy(&used_before, s->ram + USED + 2, 2);
	memcpy(s->ram + AVAIL + 4 + 2 * (idx % 16), &head, 2);
	idx++;
	memcpy(s->ram + AVAIL + 2, &idx, 2);
	reg_write(s, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	uint16_t used_now;
	memcpy(&used_now, s->ram + USED + 2, 2);
	if (used_now == used_before)
		return -1;
	return le32(s->ram + USED + 4 + 8 * (used_before % 16) + 4);
}

static long blk_request(struct sim *s, uint32_t type, uint64_t sector, uint32_t len)
{
	memcpy(s->ram + HDR, &type, 4);
	memset(s->ram + HDR + 4, 0, 4);
	memcpy(s->ram + HDR + 8, &sector, 8);
	s->ram[STATUS] = 0xee;
	put_desc(s, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 1);
	put_desc(s, 1, DATA, len, (uint16_t)(VIRTQ_DESC_F_NEXT | (type == VIRTIO_BLK_T_OUT ? 0 : VIRTQ_DESC_F_WRITE)), 2);
	put_desc(s, 2, STATUS, 1, VIRTQ_DESC_F_WRITE, 0);
	return offer(s, 0);
}

static void test_virtio_blk_requests(void)
{
	struct sim s;
	sim_init(&s);
	CHECK(reg_read(&s, VIRTIO_MMIO_MAGIC_VALUE) == VIRTIO_MMIO_MAGIC && reg_read(&s, VIRTIO_MMIO_VERSION) == 2);
	CHECK(reg_read(&s, VIRTIO_MMIO_STATUS) == 15 && reg_read(&s, VIRTIO_MMIO_QUEUE_READY) == 1);
	uint8_t cap[8];
	virtio_mmio_access(&s.blk.transport, VIRTIO_MMIO_CONFIG, cap, 8, 0);
	CHECK(le64(cap) == 64);
	CHECK(blk_request(&s, VIRTIO_BLK_T_IN, 3, 1024) == 1025 && s.ram[STATUS] == 0);
	CHECK(s.ram[DATA] == 4 && s.ram[DATA + 1023] == 5 && s.irqs == 1);
	memset(s.ram + DATA, 0x77, 512);
	CHECK(blk_request(&s, VIRTIO_BLK_T_OUT, 10, 512) == 1 && s.ram[STATUS] == 0);
	CHECK(s.disk[10 * 512] == 11); /* the backing bytes are untouched */
	memset(s.ram + DATA, 0, 512);
	CHECK(blk_request(&s, VIRTIO_BLK_T_IN, 10, 512) == 513 && s.ram[DATA + 100] == 0x77);
	CHECK(blk_request(&s, VIRTIO_BLK_T_IN, 64, 512) == 1 && s.ram[STATUS] == VIRTIO_BLK_S_IOERR);
	CHECK(blk_request(&s, VIRTIO_BLK_T_IN, UINT64_MAX / 512, 512) == 1 && s.ram[STATUS] == VIRTIO_BLK_S_IOERR);
	CHECK(blk_request(&s, VIRTIO_BLK_T_FLUSH, 0, 512) == 1 && s.ram[STATUS] == 0);
	CHECK(blk_request(&s, 42, 0, 512) == 1 && s.ram[STATUS] == VIRTIO_BLK_S_UNSUPP);
	CHECK(blk_request(&s, VIRTIO_BLK_T_GET_ID, 0, 20) == 21 && !memcmp(s.ram + DATA, "sim\0", 4));
	/* The header split over two descriptors (any layout, VIRTIO_F_VERSION_1). */
	uint32_t type = VIRTIO_BLK_T_IN;
	uint64_t sector = 2;
	memcpy(s.ram + HDR, &type, 4);
	memcpy(s.ram + HDR + 0x100, &sector, 8);
	put_desc(&s, 0, HDR, 8, VIRTQ_DESC_F_NEXT, 1);
	put_desc(&s, 1, HDR + 0x100, 8, VIRTQ_DESC_F_NEXT, 2);
	put_desc(&s, 2, DATA, 513, VIRTQ_DESC_F_WRITE, 0); /* data and status in one buffer */
	CHECK(offer(&s, 0) == 513 && s.ram[DATA] == 3 && s.ram[DATA + 512] == 0);
	/* Interrupt suppression: VIRTQ_AVAIL_F_NO_INTERRUPT. */
	int irqs = s.irqs;
	s.ram[AVAIL] = VIRTQ_AVAIL_F_NO_INTERRUPT;
	CHECK(blk_request(&s, VIRTIO_BLK_T_IN, 0, 512) == 513 && s.irqs == irqs);
	sim_free(&s);
}

static void test_virtio_hostile_queues(void)
{
	struct sim s;
	sim_init(&s);
	put_desc(&s, 0, MEM_SIZE - 8, 16, 0, 0); /* runs past the end of RAM */
	CHECK(offer(&s, 0) == 0);
	put_desc(&s, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 0); /* a loop onto itself */
	CHECK(offer(&s, 0) == 0);
	put_desc(&s, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 16); /* next beyond the queue */
	CHECK(offer(&s, 0) == 0);
	CHECK(offer(&s, 16) == -1); /* a head beyond the queue breaks it */
	CHECK(reg_read(&s, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	CHECK(reg_read(&s, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_INT_CONFIG_CHANGE);
	CHECK(blk_request(&s, VIRTIO_BLK_T_IN, 0, 512) == -1); /* ignored until reset */
	reg_write(&s, VIRTIO_MMIO_STATUS, 0);
	CHECK(reg_read(&s, VIRTIO_MMIO_STATUS) == 0 && reg_read(&s, VIRTIO_MMIO_QUEUE_READY) == 0);
	sim_free(&s);
	/* Queue areas outside RAM or misaligned are refused at QueueReady. */
	sim_init(&s);
	reg_write(&s, VIRTIO_MMIO_STATUS, 0);
	reg_write(&s, VIRTIO_MMIO_QUEUE_NUM, 16);
	reg_write(&s, VIRTIO_MMIO_QUEUE_DESC_LOW, MEM_SIZE - 16);
	reg_write(&s, VIRTIO_MMIO_QUEUE_DRIVER_LOW, AVAIL);
	reg_write(&s, VIRTIO_MMIO_QUEUE_DEVICE_LOW, USED);
	reg_write(&s, VIRTIO_MMIO_QUEUE_READY, 1);
	CHECK(reg_read(&s, VIRTIO_MMIO_QUEUE_READY) == 0);
	reg_write(&s, VIRTIO_MMIO_STATUS, 0);
	reg_write(&s, VIRTIO_MMIO_QUEUE_NUM, 12); /* not a power of two */
	reg_write(&s, VIRTIO_MMIO_QUEUE_DESC_LOW, DESC);
	reg_write(&s, VIRTIO_MMIO_QUEUE_READY, 1);
	CHECK(reg_read(&s, VIRTIO_MMIO_QUEUE_READY) == 0);
	/* Feature negotiation: an unoffered feature does not get FEATURES_OK. */
	reg_write(&s, VIRTIO_MMIO_STATUS, 0);
	reg_write(&s, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	reg_write(&s, VIRTIO_MMIO_DRIVER_FEATURES, 1u << 28);
	reg_write(&s, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	reg_write(&s, VIRTIO_MMIO_DRIVER_FEATURES, 1);
	reg_write(&s, VIRTIO_MMIO_STATUS, 1 | 2 | 8);
	CHECK(!(reg_read(&s, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK));
	/* Odd widths and offsets read as zero. */
	uint8_t b[8] = {1, 1, 1, 1, 1, 1, 1, 1};
	virtio_mmio_access(&s.blk.transport, VIRTIO_MMIO_MAGIC_VALUE, b, 2, 0);
	CHECK(b[0] == 0 && b[1] == 0);
	virtio_mmio_access(&s.blk.transport, VIRTIO_MMIO_CONFIG + 0x1f0, b, 8, 0);
	CHECK(le64(b) == 0);
	sim_free(&s);
}

/* The overlay against a plain array that applies the same writes. */
static void test_cow_disk_model(void)
{
	const size_t size = 3 * COW_CLUSTER + 1000; /* a partial last cluster */
	uint8_t *base = malloc(size), *model = malloc(size), *got = malloc(size);
	for (size_t i = 0; i < size; i++)
		base[i] = model[i] = (uint8_t)(i * 7);
	struct cow_disk *d = cow_disk_create(disk_backend_memory(base, size));
	CHECK(d && cow_disk_size(d) == size);
	uint64_t x = 12345;
	for (int i = 0; i < 300; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		uint64_t off = (x >> 20) % size, len = (x >> 40) % 5000;
		if (len > size - off)
			len = size - off;
		uint8_t fill[5000];
		memset(fill, (int)(x >> 8), sizeof fill);
		if (x & 1) {
			CHECK(cow_disk_write(d, fill, len, off) == 0);
			memcpy(model + off, fill, len);
		}
		CHECK(cow_disk_read(d, got, len, off) == 0 && !memcmp(got, model + off, len));
	}
	CHECK(cow_disk_read(d, got, size, 0) == 0 && !memcmp(got, model, size));
	for (size_t i = 0; i < size; i++)
		CHECK(base[i] == (uint8_t)(i * 7));
	CHECK(cow_disk_read(d, got, 2, size - 1) == -1 && cow_disk_write(d, got, 1, size) == -1);
	CHECK(cow_disk_overlay_bytes(d) <= 4 * COW_CLUSTER);
	cow_disk_destroy(d);
	free(base);
	free(model);
	free(got);
}

/* Ctrl-A x stops, Ctrl-A Ctrl-A sends one Ctrl-A, Ctrl-A then anything else sends both;
 * an escape split across two reads still counts. */
static void test_console_escapes(void)
{
	struct host_console c;
	memset(&c, 0, sizeof c);
	uint8_t out[16];
	bool stop;
	CHECK(host_console_filter_escapes(&c, (const uint8_t *)"ab\001\001c", 5, out, &stop) == 4 && !stop);
	CHECK(!memcmp(out, "ab\001c", 4));
	CHECK(host_console_filter_escapes(&c, (const uint8_t *)"\001q", 2, out, &stop) == 2 && !memcmp(out, "\001q", 2));
	CHECK(host_console_filter_escapes(&c, (const uint8_t *)"z\001", 2, out, &stop) == 1 && !stop);
	CHECK(host_console_filter_escapes(&c, (const uint8_t *)"x", 1, out, &stop) == 0 && stop);
}

int main(void)
{
	RUN(test_aml_encodings);
	RUN(test_acpi_tables);
	RUN(test_serial);
	RUN(test_platform_ports);
	RUN(test_virtio_blk_requests);
	RUN(test_virtio_hostile_queues);
	RUN(test_cow_disk_model);
	RUN(test_console_escapes);
	TEST_MAIN_END();
}
