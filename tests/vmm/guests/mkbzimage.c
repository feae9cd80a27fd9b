/* tests/vmm/guests/mkbzimage.c: wraps a flat protected-mode image into a bzImage.
 *
 * Writes a real setup area (boot sector + one setup sector) whose header
 * is what Documentation/arch/x86/boot.rst describes for protocol 2.15:
 * "HdrS", LOADED_HIGH, XLF_KERNEL_64, cmdline_size, initrd_addr_max,
 * pref_address and init_size, followed by the payload. The VMM loads it by
 * exactly the code path it uses for Linux. Usage: mkbzimage PAYLOAD OUT
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: mkbzimage PAYLOAD OUT\n");
		return 2;
	}
	FILE *in = fopen(argv[1], "rb");
	if (!in) {
		perror(argv[1]);
		return 1;
	}
	static uint8_t payload[4 << 20];
	size_t n = fread(payload, 1, sizeof payload, in);
	fclose(in);
	if (n == 0 || n == sizeof payload) {
		fprintf(stderr, "mkbzimage: %s: empty or too large\n", argv[1]);
		return 1;
	}
	uint8_t setup[1024] = {0};
	setup[0x1f1] = 1;                         /* setup_sects */
	put32(setup + 0x1f4, (uint32_t)((n + 15) / 16)); /* syssize */
	put16(setup + 0x1fa, 0xffff);             /* vid_mode: normal */
	put16(setup + 0x1fe, 0xaa55);             /* boot_flag */
	setup[0x200] = 0xeb;                      /* jump over the header */
	setup[0x201] = 0x268 - 0x202;
	memcpy(setup + 0x202, "HdrS", 4);
	put16(setup + 0x206, 0x020f);             /* protocol 2.15 */
	setup[0x211] = 0x01;                      /* loadflags: LOADED_HIGH */
	put32(setup + 0x214, 0x100000);           /* code32_start */
	put32(setup + 0x22c, 0x7fffffff);         /* initrd_addr_max */
	put32(setup + 0x230, 0x200000);           /* kernel_alignment */
	put16(setup + 0x236, 0x0001);             /* xloadflags: XLF_KERNEL_64 */
	put32(setup + 0x238, 2047);               /* cmdline_size */
	put32(setup + 0x258, 0x100000);           /* pref_address (low half) */
	put32(setup + 0x260, (uint32_t)((n + 4095) & ~4095ul)); /* init_size */
	FILE *out = fopen(argv[2], "wb");
	if (!out || fwrite(setup, 1, sizeof setup, out) != sizeof setup || fwrite(payload, 1, n, out) != n ||
	    fclose(out) != 0) {
		perror(argv[2]);
		return 1;
	}
	return 0;
}
