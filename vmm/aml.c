/* vmm/aml.c: AML byte-code emission (ACPI 6.5, 20.2 and 6.4). */
#include "vmm/aml.h"

#include <string.h>

#define AML_ZERO 0x00
#define AML_ONE 0x01
#define AML_NAME 0x08
#define AML_BYTE 0x0a
#define AML_WORD 0x0b
#define AML_DWORD 0x0c
#define AML_STRING 0x0d
#define AML_QWORD 0x0e
#define AML_SCOPE 0x10
#define AML_BUFFER 0x11
#define AML_PACKAGE 0x12
#define AML_EXT 0x5b
#define AML_DEVICE 0x82
#define AML_ROOT '\\'

static void add_le(struct strbuf *sb, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		strbuf_addc(sb, (char)(v >> (8 * i)));
}

/* 20.2.4: the length counts itself. One byte holds up to 63; otherwise the
 * first byte has the count of following bytes in bits 6-7 and the low
 * nibble of the length, and the following bytes the rest. */
size_t aml_pkglength(uint8_t out[4], size_t body_len)
{
	if (body_len + 1 < 0x40) {
		out[0] = (uint8_t)(body_len + 1);
		return 1;
	}
	for (size_t n = 2; n <= 4; n++) {
		size_t total = body_len + n;
		if (total < (1ull << (4 + 8 * (n - 1)))) {
			out[0] = (uint8_t)(((n - 1) << 6) | (total & 0x0f));
			for (size_t i = 1; i < n; i++)
				out[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
			return n;
		}
	}
	return 0; /* over 256 MiB: never for our tables */
}

static void add_pkg(struct strbuf *sb, const void *body, size_t len)
{
	uint8_t pl[4];
	size_t n = aml_pkglength(pl, len);
	strbuf_add(sb, pl, n);
	strbuf_add(sb, body, len);
}

/* NameString: optional root prefix, then one NameSeg padded with '_'. */
static void add_name(struct strbuf *sb, const char *name)
{
	if (*name == '\\') {
		strbuf_addc(sb, AML_ROOT);
		name++;
	}
	char seg[4] = {'_', '_', '_', '_'};
	for (int i = 0; i < 4 && name[i]; i++)
		seg[i] = name[i];
	strbuf_add(sb, seg, 4);
}

void aml_integer(struct strbuf *sb, uint64_t v)
{
	if (v == 0) {
		strbuf_addc(sb, AML_ZERO);
	} else if (v == 1) {
		strbuf_addc(sb, AML_ONE);
	} else if (v <= 0xff) {
		strbuf_addc(sb, AML_BYTE);
		add_le(sb, v, 1);
	} else if (v <= 0xffff) {
		strbuf_addc(sb, AML_WORD);
		add_le(sb, v, 2);
	} else if (v <= 0xffffffff) {
		strbuf_addc(sb, AML_DWORD);
		add_le(sb, v, 4);
	} else {
		strbuf_addc(sb, AML_QWORD);
		add_le(sb, v, 8);
	}
}

void aml_string(struct strbuf *sb, const char *s)
{
	strbuf_addc(sb, AML_STRING);
	strbuf_add(sb, s, strlen(s) + 1);
}

/* 6.1.5 _HID: three upper-case letters (5 bits each) and four hex digits, stored big-endian. */
void aml_eisaid(struct strbuf *sb, const char *id)
{
	uint32_t v = (uint32_t)((id[0] & 0x1f) << 26 | (id[1] & 0x1f) << 21 | (id[2] & 0x1f) << 16);
	for (int i = 3; i < 7; i++) {
		char c = id[i];
		uint32_t d = (uint32_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
		v |= d << (4 * (6 - i));
	}
	aml_integer(sb, __builtin_bswap32(v));
}

void aml_name_integer(struct strbuf *sb, const char *name, uint64_t v)
{
	strbuf_addc(sb, AML_NAME);
	add_name(sb, name);
	aml_integer(sb, v);
}

void aml_name_string(struct strbuf *sb, const char *name, const char *s)
{
	strbuf_addc(sb, AML_NAME);
	add_name(sb, name);
	aml_string(sb, s);
}

void aml_name_eisaid(struct strbuf *sb, const char *name, const char *id)
{
	strbuf_addc(sb, AML_NAME);
	add_name(sb, name);
	aml_eisaid(sb, id);
}

void aml_name_package(struct strbuf *sb, const char *name, const uint64_t *v, unsigned n)
{
	struct strbuf body = STRBUF_INIT;
	strbuf_addc(&body, (char)n); /* NumElements */
	for (unsigned i = 0; i < n; i++)
		aml_integer(&body, v[i]);
	strbuf_addc(sb, AML_NAME);
	add_name(sb, name);
	strbuf_addc(sb, AML_PACKAGE);
	add_pkg(sb, body.buf, body.len);
	strbuf_release(&body);
}

void aml_name_resources(struct strbuf *sb, const char *name, const struct strbuf *resources)
{
	struct strbuf data = STRBUF_INIT;
	strbuf_add(&data, resources->buf, resources->len);
	strbuf_addc(&data, 0x79); /* 6.4.2.9 End Tag; checksum 0 means "treat as correct" */
	strbuf_addc(&data, 0);
	struct strbuf body = STRBUF_INIT;
	aml_integer(&body, data.len); /* BufferSize */
	strbuf_add(&body, data.buf, data.len);
	strbuf_addc(sb, AML_NAME);
	add_name(sb, name);
	strbuf_addc(sb, AML_BUFFER);
	add_pkg(sb, body.buf, body.len);
	strbuf_release(&body);
	strbuf_release(&data);
}

static void container(struct strbuf *sb, const char *op, size_t op_len, const char *name, const struct strbuf *body)
{
	struct strbuf inner = STRBUF_INIT;
	add_name(&inner, name);
	strbuf_add(&inner, body->buf, body->len);
	strbuf_add(sb, op, op_len);
	add_pkg(sb, inner.buf, inner.len);
	strbuf_release(&inner);
}

void aml_scope(struct strbuf *sb, const char *name, const struct strbuf *body)
{
	static const char op[] = {AML_SCOPE};
	container(sb, op, 1, name, body);
}

void aml_device(struct strbuf *sb, const char *name, const struct strbuf *body)
{
	static const char op[] = {AML_EXT, (char)AML_DEVICE};
	container(sb, op, 2, name, body);
}

/* 6.4.2.5 I/O Port Descriptor, 16-bit decode. */
void aml_res_io(struct strbuf *rt, uint16_t base, uint8_t len)
{
	strbuf_addc(rt, 0x47);
	strbuf_addc(rt, 1);
	add_le(rt, base, 2);
	add_le(rt, base, 2);
	strbuf_addc(rt, 1); /* alignment */
	strbuf_addc(rt, (char)len);
}

/* 6.4.2.1 IRQ Descriptor without the flags byte (edge, active high). */
void aml_res_irq_noflags(struct strbuf *rt, unsigned irq)
{
	strbuf_addc(rt, 0x22);
	add_le(rt, 1u << irq, 2);
}

/* 6.4.3.4 32-Bit Fixed Memory Range Descriptor, read/write. */
void aml_res_memory32_fixed(struct strbuf *rt, uint32_t base, uint32_t len)
{
	strbuf_addc(rt, (char)0x86);
	add_le(rt, 9, 2);
	strbuf_addc(rt, 1);
	add_le(rt, base, 4);
	add_le(rt, len, 4);
}

/* 6.4.3.6 Extended Interrupt Descriptor: one interrupt, consumer, exclusive. */
void aml_res_interrupt(struct strbuf *rt, uint32_t gsi, int edge, int active_low)
{
	strbuf_addc(rt, (char)0x89);
	add_le(rt, 6, 2);
	strbuf_addc(rt, (char)(0x01 | (edge ? 0x02 : 0) | (active_low ? 0x04 : 0)));
	strbuf_addc(rt, 1);
	add_le(rt, gsi, 4);
}
