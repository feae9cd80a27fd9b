/* tests/fuzz/fuzz_console.c: libFuzzer harness for validate/console.c, the
 * reader of a guest's serial console (hostile input). The first byte picks a
 * chunk size, so line splitting across reads is exercised too; whatever the
 * input, the log and each check stay within their bounds. */
#include "validate/console.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	size_t chunk = (size_t)data[0] + 1;
	data++;
	size--;
	struct console c;
	console_init(&c);
	for (size_t off = 0; off < size; off += chunk)
		console_feed(&c, (const char *)data + off, size - off < chunk ? size - off : chunk);
	console_finish(&c);
	if (c.log.len > CONSOLE_MAX_LOG || c.n_checks > CONSOLE_MAX_CHECKS || c.tail_n > CONSOLE_TAIL_LINES)
		abort();
	for (size_t i = 0; i < c.n_checks; i++)
		if (!c.checks[i].name || !c.checks[i].detail)
			abort();
	free(console_tail_text(&c));
	console_free(&c);
	return 0;
}
