/* tests/fuzz/fuzz_qcow2.c: libFuzzer harness for the qcow2 reader (formats/qcow2/qcow2_reader.c).
 *
 * Puts the input in a memfd, opens it as a qcow2 image, walks the block
 * status of the virtual disk and reads what it reports as data, plus a few
 * unaligned reads. Work per input is bounded (status calls, bytes read),
 * since a valid tiny image may describe an exabyte disk. Seeds: real images
 * from qemu-img and apkg in tests/fuzz/corpus/qcow2/ (tests/fuzz/make_qcow2_corpus.sh).
 */
#include "formats/qcow2/qcow2_reader.h"
#include "util/io.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAX_STATUS_CALLS 64
#define MAX_QUERY (16u << 20)
#define MAX_READ_TOTAL (4u << 20)
#define READ_CHUNK (256u << 10)

static void read_some(struct qcow2_reader *r, unsigned char *buf, uint64_t size)
{
	uint64_t pos = 0, read_total = 0;
	for (int calls = 0; calls < MAX_STATUS_CALLS && pos < size; calls++) {
		uint64_t run, want = size - pos < MAX_QUERY ? size - pos : MAX_QUERY;
		int st = qcow2_reader_status(r, pos, want, &run);
		if (st < 0 || run == 0 || run > want)
			return;
		if (st == QCOW2_DATA || st == QCOW2_COMPRESSED) {
			uint64_t n = run < READ_CHUNK ? run : READ_CHUNK;
			if (read_total + n > MAX_READ_TOTAL)
				return;
			read_total += n;
			if (qcow2_reader_pread(r, buf, (size_t)n, pos) < 0)
				return;
		}
		pos += run;
	}
	/* Odd offsets and lengths across cluster boundaries. */
	for (uint64_t off = 1; off < size && off < (1u << 20); off = off * 3 + 511) {
		size_t n = size - off < 4099 ? (size_t)(size - off) : 4099;
		qcow2_reader_pread(r, buf, n, off);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz.qcow2", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write_all(fd, data, size) == 0) {
		struct qcow2_reader *r = qcow2_reader_open_fd(fd, "fuzz.qcow2");
		if (r) {
			unsigned char *buf = malloc(READ_CHUNK);
			if (buf)
				read_some(r, buf, qcow2_reader_info(r)->virtual_size);
			free(buf);
			qcow2_reader_close(r);
		}
	}
	close(fd);
	return 0;
}
