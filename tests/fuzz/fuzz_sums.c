/* tests/fuzz/fuzz_sums.c: libFuzzer harness for the small texts apkg reads
 * back from a mirror: SHA256SUMS (publish/sums.c) and rsync lock tokens
 * (publish/lock_token.c).
 *
 * Any input must parse or fail cleanly with a message; a SHA256SUMS that
 * parses must only hold mirror-safe names, and writing it out and parsing
 * that again must give the same entries (the writer's output is a fixed point).
 */
#include "publish/lock_token.h"
#include "publish/names.h"
#include "publish/sums.h"
#include "util/strbuf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sums s, again;
	char err[160];
	if (sums_parse((const char *)data, size, &s, err) == 0) {
		struct strbuf once = STRBUF_INIT, twice = STRBUF_INIT;
		for (size_t i = 0; i < s.n; i++)
			if (!mirror_file_name_ok(s.v[i].file) || strlen(s.v[i].sha256) != 64)
				abort();
		sums_format(&s, &once);
		if (sums_parse(once.buf, once.len, &again, err) < 0 || again.n != s.n)
			abort();
		sums_format(&again, &twice);
		if (strcmp(once.buf, twice.buf))
			abort();
		sums_free(&again);
		strbuf_release(&once);
		strbuf_release(&twice);
		sums_free(&s);
	} else if (!err[0]) {
		abort();
	}
	struct lock_holder h, me;
	memset(&me, 0, sizeof me);
	strcpy(me.boot, "fuzz-boot");
	me.pid = 1;
	if (lock_token_parse((const char *)data, size, &h) == 0 && (h.pid <= 0 || !h.host[0] || !h.boot[0]))
		abort();
	(void)lock_token_describe((const char *)data, size);
	return 0;
}
