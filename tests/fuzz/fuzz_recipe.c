/* tests/fuzz/fuzz_recipe.c: libFuzzer harness for the recipe reader.
 *
 * Feeds arbitrary bytes to recipe_load_diag() as a recipe in a directory that
 * does not exist (so `extends` and `source` never reach real files), and for
 * every input that loads, checks the round trip: the canonical JSON, read
 * back as a recipe, must give the same JSON and the same hash. Everything is
 * freed, so the replay under ASan also finds leaks.
 */
#include "builder/recipe.h"
#include "util/strbuf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_RECIPE_NAME "/nonexistent-apkg-fuzz/recipe.yaml"

static void check_round_trip(const struct recipe *r)
{
	struct strbuf json = STRBUF_INIT, again = STRBUF_INIT, diags = STRBUF_INIT;
	recipe_to_json(r, &json);
	struct recipe *r2 = recipe_load_diag(FUZZ_RECIPE_NAME, json.buf, json.len, &diags);
	if (!r2) {
		fprintf(stderr, "resolved JSON does not load again:\n%s\n%s", json.buf, diags.buf);
		abort();
	}
	recipe_to_json(r2, &again);
	if (strcmp(json.buf, again.buf) || strcmp(r->hash, r2->hash)) {
		fprintf(stderr, "round trip changed the recipe:\n%s\n---\n%s", json.buf, again.buf);
		abort();
	}
	recipe_free(r2);
	strbuf_release(&json);
	strbuf_release(&again);
	strbuf_release(&diags);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strbuf diags = STRBUF_INIT;
	struct recipe *r = recipe_load_diag(FUZZ_RECIPE_NAME, size ? (const char *)data : "", size, &diags);
	if (r)
		check_round_trip(r);
	recipe_free(r);
	strbuf_release(&diags);
	return 0;
}
