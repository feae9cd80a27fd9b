/* tests/fuzz/fuzz_tree_meta.c: the tree metadata parser against hostile blobs.
 *
 * A blob can come from somebody else's OSTree repository (an ostree base
 * whose commit carries apkg.tree-meta): tree_meta_parse() must refuse or
 * decode any bytes without reading out of bounds, and every path it hands
 * out must be relative, without "." or ".." components.
 */
#include "builder/tree_meta.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int check_record(const struct tree_meta_record *r, void *ctx)
{
	(void)ctx;
	const char *paths[2] = {r->path, r->kind == TREE_META_LINK ? r->target : NULL};
	for (int i = 0; i < 2; i++) {
		const char *p = paths[i];
		if (!p)
			continue;
		if (p[0] == '/' || strstr(p, "//") || !strcmp(p, "..") || !strncmp(p, "../", 3) || strstr(p, "/../") ||
		    (strlen(p) >= 3 && !strcmp(p + strlen(p) - 3, "/..")))
			abort();
	}
	if (r->kind == TREE_META_TIME && r->nsec >= 1000000000u)
		abort();
	if (r->kind == TREE_META_SPECIAL && !tree_meta_is_special(r->mode))
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why = NULL;
	tree_meta_parse(data, size, check_record, NULL, &why);
	return 0;
}
