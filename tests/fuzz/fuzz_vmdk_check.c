/* tests/fuzz/fuzz_vmdk_check.c: libFuzzer harness for the streamOptimized checker
 * (formats/vmdk/vmdk_check.c), the parser `apkg lint` runs on every OVA disk.
 *
 * The input is the VMDK; it is fed in chunks whose sizes come from the
 * input's own bytes, so record boundaries fall anywhere. Seeds: small VMDKs
 * from apkg and qemu-img (tests/fuzz/make_formats_corpus.sh).
 */
#include "formats/vmdk/vmdk_check.h"

#include <stdint.h>
#include <stddef.h>

static void ignore(void *arg, const char *rule, const char *message)
{
	(void)arg;
	(void)rule;
	(void)message;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmdk_check *c = vmdk_check_new(ignore, NULL);
	size_t pos = 0, i = 0;
	while (pos < size) {
		size_t k = 1 + (size_t)data[i++ % size] * 37;
		if (k > size - pos)
			k = size - pos;
		vmdk_check_feed(c, data + pos, k);
		pos += k;
	}
	vmdk_check_end(c);
	vmdk_check_free(c);
	return 0;
}
