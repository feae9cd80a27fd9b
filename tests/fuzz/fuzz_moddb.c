/* tests/fuzz/fuzz_moddb.c: the depmod file parsers and the closure walk on hostile text.
 *
 * The input is split at the first two NUL bytes into modules.dep, modules.softdep and
 * modules.alias text; the closure of a few fixed names is then computed, so parsing, alias
 * matching, softdeps and the depth-limited recursion all see the same hostile data.
 */
#include "kernel/kernel.h"
#include "kernel/moddb.h"

#include <stdint.h>
#include <string.h>

static const char *next_part(const char **p, const char *end, size_t *len)
{
	const char *start = *p;
	const char *nul = memchr(start, 0, (size_t)(end - start));
	*len = (size_t)((nul ? nul : end) - start);
	*p = nul ? nul + 1 : end;
	return start;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	size_t dep_len, soft_len, alias_len;
	const char *dep = next_part(&p, end, &dep_len);
	const char *soft = next_part(&p, end, &soft_len);
	const char *alias = next_part(&p, end, &alias_len);
	struct module_db db = { 0 };
	if (module_db_parse_dep(&db, dep, dep_len) == 0 && module_db_parse_builtin(&db, dep, dep_len) == 0 &&
	    module_db_parse_softdep(&db, soft, soft_len) == 0 && module_db_parse_alias(&db, alias, alias_len) == 0) {
		const char *names[] = { "ext4", "virtio_blk", "a", "crypto-crc32c", "pci:v00001AF4d00001001" };
		char **paths;
		size_t n;
		if (module_db_closure(&db, names, 5, &paths, &n) == 0)
			kernel_free_list(paths, n);
	}
	module_db_release(&db);
	return 0;
}
