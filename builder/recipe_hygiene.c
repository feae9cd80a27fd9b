/* builder/recipe_hygiene.c: the recipe's `hygiene` section: waivers and the private-key allow-list.
 *
 *   hygiene:
 *     waive:
 *       - rule: world-writable          # a rule name from builder/hygiene.h
 *         reason: "drop box for uploads" # required, one line, recorded in manifest.json
 *         paths: [/srv/drop]             # optional: only these paths (and what is below them)
 *     allow_private_keys: [/etc/ssl/private/app.key]
 *
 * Every problem is reported at its position: an unknown rule (with the
 * closest rule name), a missing or empty reason, paths that are not
 * absolute, and the same rule waived twice for the same paths with
 * different reasons. Waivers repeated verbatim (an `extends` parent and
 * child both carrying one) are kept once.
 */
#include "builder/recipe_internal.h"

#include "builder/hygiene.h"
#include "util/strbuf.h"

#include <stdlib.h>
#include <string.h>

static const char *const HYGIENE_KEYS[] = {"waive", "allow_private_keys", NULL};
static const char *const WAIVER_KEYS[] = {"rule", "reason", "paths", NULL};

static int blank(const char *s)
{
	return s[strspn(s, " \t")] == 0;
}

static void read_waiver_paths(struct vctx *v, const struct ynode *n, size_t i, struct recipe_waiver *w)
{
	struct string_list raw = {0};
	read_list(v->c, n, field_label("hygiene.waive[%zu].paths", i).s, &RULE_ABS_PATH, 1, &raw);
	for (size_t j = 0; j < raw.n; j++) {
		char *p = normalize_path(raw.items[j]);
		if (!list_has(&w->paths, p))
			list_add(&w->paths, p, raw.pos[j]);
		free(p);
		free(raw.items[j]);
	}
	free(raw.items);
	free(raw.pos);
}

/* Returns 0 when the waiver is complete. */
static int read_waiver(struct vctx *v, const struct ynode *item, size_t i, struct recipe_waiver *w)
{
	struct label where = field_label("hygiene.waive[%zu]", i);
	const struct ynode *n;
	int k, errors = v->c->n_errors;
	w->pos = pos_of(item);
	if (expect_kind(v->c, item, where.s, YNODE_MAP) < 0)
		return -1;
	check_keys(v->c, item, where.s, WAIVER_KEYS);
	if (!(n = field(item, "rule")))
		missing_key(v->c, item, where.s, "rule");
	else if (read_enum(v->c, n, field_label("hygiene.waive[%zu].rule", i).s, "hygiene rule", hygiene_rule_names,
			   &k) == 0)
		w->rule = xstrdup(hygiene_rule_names[k]);
	if (!(n = field(item, "reason")))
		rerr(v->c, item, "%s: missing required key \"reason\" (say why the rule does not apply; "
				 "it is recorded in manifest.json)", where.s);
	else if (read_string(v->c, n, field_label("hygiene.waive[%zu].reason", i).s, &RULE_LINE, &w->reason) == 0 &&
		 blank(w->reason))
		rerr(v->c, n, "hygiene.waive[%zu].reason: empty; say why the rule does not apply", i);
	if ((n = field(item, "paths")))
		read_waiver_paths(v, n, i, w);
	return v->c->n_errors > errors || !w->rule || !w->reason ? -1 : 0;
}

/* "rule\npath\npath": two waivers with one key cover the same findings. */
static char *waiver_key(const struct recipe_waiver *w)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_adds(&sb, w->rule);
	for (size_t i = 0; i < w->paths.n; i++)
		strbuf_addf(&sb, "\n%s", w->paths.items[i]);
	return strbuf_detach(&sb);
}

static void waiver_release(struct recipe_waiver *w)
{
	free(w->rule);
	free(w->reason);
	for (size_t i = 0; i < w->paths.n; i++)
		free(w->paths.items[i]);
	free(w->paths.items);
	free(w->paths.pos);
	memset(w, 0, sizeof *w);
}

/* Keeps w unless an earlier waiver has its key: the same reason drops it
 * silently, another reason is an error. Returns 1 when w was kept. */
static int keep_waiver(struct vctx *v, const struct ynode *item, size_t i, struct recipe_waiver *w, char **keys)
{
	struct recipe *r = v->r;
	char *key = waiver_key(w);
	for (size_t j = 0; j < r->hygiene.n_waivers; j++) {
		if (strcmp(keys[j], key))
			continue;
		const struct recipe_waiver *first = &r->hygiene.waivers[j];
		struct label at = first->pos.file == item->file
					  ? field_label("%d:%d", first->pos.line, first->pos.col)
					  : field_label("%s:%d:%d", first->pos.file, first->pos.line, first->pos.col);
		if (strcmp(first->reason, w->reason))
			rerr(v->c, item, "hygiene.waive[%zu]: rule %s is already waived%s with another reason (first at %s)",
			     i, w->rule, w->paths.n ? " for these paths" : "", at.s);
		free(key);
		return 0;
	}
	keys[r->hygiene.n_waivers] = key;
	r->hygiene.waivers[r->hygiene.n_waivers++] = *w;
	return 1;
}

static void read_waivers(struct vctx *v, const struct ynode *list)
{
	struct recipe *r = v->r;
	if (expect_kind(v->c, list, "hygiene.waive", YNODE_SEQ) < 0)
		return;
	r->hygiene.waivers = xcalloc(list->n ? list->n : 1, sizeof *r->hygiene.waivers);
	char **keys = xcalloc(list->n ? list->n : 1, sizeof *keys);
	for (size_t i = 0; i < list->n; i++) {
		struct recipe_waiver w = {0};
		if (read_waiver(v, list->vals[i], i, &w) < 0 || !keep_waiver(v, list->vals[i], i, &w, keys))
			waiver_release(&w);
	}
	for (size_t i = 0; i < r->hygiene.n_waivers; i++)
		free(keys[i]);
	free(keys);
}

static void read_allowed_keys(struct vctx *v, const struct ynode *n)
{
	struct string_list raw = {0};
	struct string_list *out = &v->r->hygiene.allow_private_keys;
	read_list(v->c, n, "hygiene.allow_private_keys", &RULE_ABS_PATH, 1, &raw);
	for (size_t i = 0; i < raw.n; i++) {
		char *p = normalize_path(raw.items[i]);
		if (!list_has(out, p))
			list_add(out, p, raw.pos[i]);
		free(p);
		free(raw.items[i]);
	}
	free(raw.items);
	free(raw.pos);
}

void read_hygiene(struct vctx *v, const struct ynode *root)
{
	const struct ynode *h = field(root, "hygiene"), *n;
	if (!h || expect_kind(v->c, h, "hygiene", YNODE_MAP) < 0)
		return;
	check_keys(v->c, h, "hygiene", HYGIENE_KEYS);
	if ((n = field(h, "waive")))
		read_waivers(v, n);
	if ((n = field(h, "allow_private_keys")))
		read_allowed_keys(v, n);
}
