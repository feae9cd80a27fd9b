/* tests/fuzz/fuzz_json.c: libFuzzer harness for util/json.c.
 *
 * Any input must parse or fail cleanly (no out-of-bounds read, no leak); a
 * value that parses must write out as JSON that parses again to the same
 * text (the writer's output is a fixed point), and the prefix parser must
 * agree with the whole-input parser.
 */
#include "util/json.h"
#include "util/strbuf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_error err;
	struct json_value *v = json_parse((const char *)data, size, &err);
	size_t used = 0;
	struct json_value *pv = json_parse_prefix((const char *)data, size, &used, &err);
	if (pv && used > size)
		abort();
	json_free(pv);
	if (!v)
		return 0;
	if (v->start > v->end || v->end > size)
		abort();
	for (int indent = 0; indent <= 2; indent += 2) {
		struct strbuf once = STRBUF_INIT, twice = STRBUF_INIT;
		json_write(v, &once, indent, 0);
		struct json_value *again = json_parse(once.buf, once.len, &err);
		if (!again)
			abort();
		json_write(again, &twice, indent, 0);
		if (once.len != twice.len || memcmp(once.buf, twice.buf, once.len))
			abort();
		json_free(again);
		strbuf_release(&once);
		strbuf_release(&twice);
	}
	uint64_t u;
	(void)json_get_u64(v, "size", &u);
	(void)json_get_str(v, "name");
	json_free(v);
	return 0;
}
