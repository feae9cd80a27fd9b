/* tests/fuzz/fuzz_userdb.c: the image account database against hostile files.
 *
 * The input is up to five NUL-separated parts: passwd, group, shadow,
 * gshadow (a missing part is a missing file) and a name. The harness looks
 * the name up, resolves it as an owner, adds it as a user with two groups
 * and serialises every file, which must never crash or read out of bounds.
 */
#include "builder/recipe.h"
#include "builder/users.h"
#include "util/strbuf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1);
	memcpy(copy, data, size);
	copy[size] = 0;
	const char *parts[5] = {NULL, NULL, NULL, NULL, "alice"};
	char *p = copy, *end = copy + size;
	for (int i = 0; i < 5 && p <= end; i++) {
		parts[i] = p;
		p += strlen(p) + 1;
	}
	struct userdb *db = userdb_from_text(parts);
	uid_t uid;
	gid_t gid;
	userdb_user(db, parts[4], &uid, &gid);
	userdb_group(db, parts[4], &gid);
	userdb_resolve_owner(db, parts[4], &uid, &gid);
	char *groups[] = {"wheel", (char *)parts[4]};
	struct recipe_pos pos[2] = {{0}};
	struct recipe_user u = {.name = (char *)parts[4], .uid = -1, .shell = "/bin/sh", .password = "!",
				.groups = {.items = groups, .pos = pos, .n = 2}};
	userdb_add_user(db, &u, 1700000000);
	u.uid = 1000;
	u.password_set = 1;
	userdb_add_user(db, &u, 1700000000);
	struct strbuf out = STRBUF_INIT;
	for (int i = 0; i < 4; i++)
		userdb_text(db, i, &out);
	strbuf_release(&out);
	userdb_free(db);
	free(copy);
	return 0;
}
