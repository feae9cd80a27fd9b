/* builder/hygiene_report.c: hygiene findings for people (messages) and for machines (JSON), and the build's gate.
 *
 * Messages name the rule first ("hygiene: private-keys: /etc/app.key: ..."),
 * so a failing build says which rule to read about or waive. A finding at a
 * path the recipe's `files` installed also points at that entry, as
 * file:line:col. The JSON keeps every finding (up to the per-rule cap, with
 * the rest counted), every waiver with whether it was used, and the
 * private-key allow-list, for manifest.json and `apkg inspect --json`.
 */
#include "builder/hygiene.h"

#include "builder/recipe.h"
#include "util/diag.h"
#include "util/strbuf.h"

#include <stdio.h>
#include <string.h>

static const char *severity_name(enum hygiene_severity s)
{
	return s == HYGIENE_ERROR ? "error" : "warning";
}

static int covers(const char *dir, const char *path)
{
	size_t n = strlen(dir);
	return !strcmp(dir, "/") || (!strncmp(path, dir, n) && (path[n] == 0 || path[n] == '/'));
}

/* The recipe's files[] entry that put path there: path itself, a directory
 * above it, or (for findings about a whole directory) something inside it. */
static const struct recipe_file *installed_by(const struct recipe *r, const char *path, size_t *index)
{
	for (size_t i = 0; r && path && i < r->n_files; i++) {
		const char *p = r->files[i].path;
		if (p && (covers(p, path) || covers(path, p))) {
			*index = i;
			return &r->files[i];
		}
	}
	return NULL;
}

static void print_one(const struct hygiene_finding *f, const struct recipe *r)
{
	const char *path = f->path ? f->path : "(image)";
	if (f->waiver_reason) {
		info("    hygiene: %s: %s: %s (waived: %s)", f->rule->name, path, f->detail, f->waiver_reason);
		return;
	}
	if (f->rule->severity == HYGIENE_ERROR)
		error("hygiene: %s: %s: %s", f->rule->name, path, f->detail);
	else
		warning("hygiene: %s: %s: %s", f->rule->name, path, f->detail);
	size_t i;
	const struct recipe_file *rf = installed_by(r, f->path, &i);
	if (rf && rf->pos.line)
		diag_at(rf->pos.file, rf->pos.line, rf->pos.col, "files[%zu] puts %s there", i, path);
}

void hygiene_report_print(const struct hygiene_report *rep, const struct recipe *r)
{
	for (size_t i = 0; i < rep->n; i++)
		print_one(&rep->items[i], r);
	for (size_t k = 0; hygiene_rules[k].name; k++) {
		if (!rep->dropped[k])
			continue;
		if (hygiene_rules[k].severity == HYGIENE_ERROR)
			error("hygiene: %s: %zu more findings not shown", hygiene_rules[k].name, rep->dropped[k]);
		else
			warning("hygiene: %s: %zu more findings not shown", hygiene_rules[k].name, rep->dropped[k]);
	}
}

static void json_finding(struct strbuf *out, const struct hygiene_finding *f)
{
	strbuf_adds(out, "{\"rule\": ");
	strbuf_add_json_str(out, f->rule->name);
	strbuf_adds(out, ", \"severity\": ");
	strbuf_add_json_str(out, severity_name(f->rule->severity));
	strbuf_adds(out, ", \"path\": ");
	if (f->path)
		strbuf_add_json_str(out, f->path);
	else
		strbuf_adds(out, "null");
	strbuf_adds(out, ", \"detail\": ");
	strbuf_add_json_str(out, f->detail);
	strbuf_addf(out, ", \"waived\": %s", f->waiver_reason ? "true" : "false");
	if (f->waiver_reason) {
		strbuf_adds(out, ", \"reason\": ");
		strbuf_add_json_str(out, f->waiver_reason);
	}
	strbuf_addc(out, '}');
}

static void json_str_array(struct strbuf *out, const char *const *items, size_t n)
{
	strbuf_addc(out, '[');
	for (size_t i = 0; i < n; i++) {
		strbuf_adds(out, i ? ", " : "");
		strbuf_add_json_str(out, items[i]);
	}
	strbuf_addc(out, ']');
}

static void json_waiver(struct strbuf *out, const struct hygiene_waiver *w)
{
	strbuf_adds(out, "{\"rule\": ");
	strbuf_add_json_str(out, w->rule);
	strbuf_adds(out, ", \"reason\": ");
	strbuf_add_json_str(out, w->reason);
	strbuf_adds(out, ", \"paths\": ");
	json_str_array(out, w->paths, w->n_paths);
	strbuf_addf(out, ", \"used\": %s}", w->used ? "true" : "false");
}

/* "[" item, item "]" with one item per line at pad + 2, or "[]". */
static void open_list(struct strbuf *out, size_t i, const char *pad)
{
	strbuf_addf(out, "%s\n%s    ", i ? "," : "", pad);
}

static void close_list(struct strbuf *out, size_t n, const char *pad)
{
	if (n)
		strbuf_addf(out, "\n%s  ", pad);
	strbuf_addc(out, ']');
}

void hygiene_report_json(const struct hygiene_report *rep, const struct hygiene_policy *p, struct strbuf *out,
			 int indent)
{
	char pad[64];
	snprintf(pad, sizeof pad, "%*s", indent < 60 ? indent : 60, "");
	strbuf_addf(out, "{\n%s  \"errors\": %zu,\n%s  \"warnings\": %zu,\n%s  \"waived\": %zu,\n%s  \"findings\": [",
		    pad, rep->errors, pad, rep->warnings, pad, rep->waived, pad);
	for (size_t i = 0; i < rep->n; i++) {
		open_list(out, i, pad);
		json_finding(out, &rep->items[i]);
	}
	close_list(out, rep->n, pad);
	strbuf_addf(out, ",\n%s  \"omitted\": {", pad);
	int first = 1;
	for (size_t k = 0; hygiene_rules[k].name; k++) {
		if (!rep->dropped[k])
			continue;
		strbuf_addf(out, "%s\"%s\": %zu", first ? "" : ", ", hygiene_rules[k].name, rep->dropped[k]);
		first = 0;
	}
	strbuf_addf(out, "},\n%s  \"waivers\": [", pad);
	size_t nw = p ? p->n_waivers : 0;
	for (size_t i = 0; i < nw; i++) {
		open_list(out, i, pad);
		json_waiver(out, &p->waivers[i]);
	}
	close_list(out, nw, pad);
	strbuf_addf(out, ",\n%s  \"allowed_private_keys\": ", pad);
	json_str_array(out, p ? p->allowed_keys : NULL, p ? p->n_allowed_keys : 0);
	strbuf_addf(out, "\n%s}", pad);
}

int hygiene_gate(const struct recipe *r, const char *rootdir, struct strbuf *json_out)
{
	struct hygiene_policy p;
	struct hygiene_report rep = {0};
	hygiene_policy_from_recipe(r, &p);
	struct hygiene_scan *s = hygiene_scan_new(&p);
	int rc = hygiene_scan_tree(s, rootdir);
	hygiene_scan_finish(s, &rep);
	hygiene_scan_free(s);
	if (rc == 0) {
		hygiene_report_print(&rep, r);
		info("    hygiene: %zu error%s, %zu warning%s, %zu waived", rep.errors, rep.errors == 1 ? "" : "s",
		     rep.warnings, rep.warnings == 1 ? "" : "s", rep.waived);
		hygiene_report_json(&rep, &p, json_out, 2);
	}
	if (rc == 0 && rep.errors) {
		const char *rule = "RULE";
		for (size_t i = 0; i < rep.n; i++)
			if (!rep.items[i].waiver_reason && rep.items[i].rule->severity == HYGIENE_ERROR) {
				rule = rep.items[i].rule->name;
				break;
			}
		rc = error("the appliance fails %zu hygiene check%s: fix the recipe, or waive a rule with a reason "
			   "that is recorded in manifest.json:\n  hygiene:\n    waive:\n      - {rule: %s, reason: \"...\"}",
			   rep.errors, rep.errors == 1 ? "" : "s", rule);
	}
	hygiene_report_release(&rep);
	hygiene_policy_release(&p);
	return rc;
}
