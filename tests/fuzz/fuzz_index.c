/* tests/fuzz/fuzz_index.c: libFuzzer harness for a mirror's index.json
 * (publish/index.c, publish/index_html.c), which apkg publish reads back
 * from the mirror before changing it.
 *
 * Any input must parse or be refused with a reason; an index that parses
 * must write out as JSON that parses again and writes the same bytes (a
 * fixed point), its page must never carry a raw '<' from the data, and
 * latest/prune queries must stay within the versions listed.
 */
#include "publish/index.h"
#include "util/json.h"
#include "util/strbuf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mirror_index ix, again;
	char err[200];
	if (index_parse((const char *)data, size, &ix, err) < 0) {
		if (!err[0])
			abort();
		return 0;
	}
	struct strbuf once = STRBUF_INIT, twice = STRBUF_INIT, html = STRBUF_INIT;
	index_write_json(&ix, &once);
	if (index_parse(once.buf, once.len, &again, err) < 0)
		abort();
	index_write_json(&again, &twice);
	if (strcmp(once.buf, twice.buf))
		abort();
	index_write_html(&ix, &html);
	if (strstr(html.buf, "<script"))
		abort();
	for (size_t i = 0; i < ix.n; i++) {
		size_t n;
		const char *latest = index_latest(&ix, ix.apps[i].name);
		const char **pruned = index_prune_list(&ix, ix.apps[i].name, 1, NULL, &n);
		if ((ix.apps[i].n && !latest) || n + (ix.apps[i].n ? 1 : 0) != ix.apps[i].n)
			abort();
		for (size_t k = 0; k < n; k++)
			if (!strcmp(pruned[k], latest))
				abort();
		free(pruned);
	}
	index_free(&again);
	index_free(&ix);
	strbuf_release(&once);
	strbuf_release(&twice);
	strbuf_release(&html);
	return 0;
}
