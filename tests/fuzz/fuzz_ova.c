/* tests/fuzz/fuzz_ova.c: libFuzzer harness for `apkg lint` on a whole OVA
 * (formats/ova/lint.c): the tar reader, member checks, and from there the
 * manifest, OVF and VMDK checks. Seeds: small OVAs of every profile
 * (tests/fuzz/make_formats_corpus.sh).
 */
#include "formats/ova/lint.h"

#include <stdint.h>
#include <stddef.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lint_report r = {0};
	ova_lint_memory(data, size, PRODUCT_ALL, &r);
	lint_report_release(&r);
	return 0;
}
