/* tests/fuzz/fuzz_checkfile.c: libFuzzer harness for the probe's checks-file
 * parser (validate/probe/checkfile.c). Any input parses or fails cleanly; a
 * file that parses encodes to text that parses to the same encoding. */
#include "validate/probe/checkfile.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct probe_checks c, again;
	char err[200];
	if (checkfile_parse((const char *)data, size, &c, err, sizeof err) < 0)
		return 0;
	char *text = checkfile_encode(&c);
	if (!text)
		abort();
	if (checkfile_parse(text, strlen(text), &again, err, sizeof err) < 0)
		abort();
	char *text2 = checkfile_encode(&again);
	if (!text2 || strcmp(text, text2))
		abort();
	char label[256];
	for (size_t i = 0; i < c.n; i++)
		checkfile_label(&c.items[i], label, sizeof label);
	free(text);
	free(text2);
	checkfile_free(&c);
	checkfile_free(&again);
	return 0;
}
