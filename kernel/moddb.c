/* kernel/moddb.c: parses depmod's output files and computes module load order.
 *
 * The text comes from a kernel package or an image, so it is untrusted: lines are copied out
 * of the (length-bounded) buffer before use, module paths must be relative with no `..` (they
 * are later opened under modules_dir), and dependency recursion is depth-limited.
 */
#include "kernel/moddb.h"

#include "kernel/kernel.h"
#include "util/diag.h"
#include "util/io.h"
#include "util/strbuf.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#define MODDB_MAX_FILE (64u << 20)
#define MODDB_MAX_DEPTH 64

void module_name_normalize(char *s)
{
	int in_brackets = 0;
	for (; *s; s++) {
		if (*s == '[')
			in_brackets = 1;
		else if (*s == ']')
			in_brackets = 0;
		else if (*s == '-' && !in_brackets)
			*s = '_';
	}
}

char *kernel_module_name(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	char *name = xstrdup(base);
	static const char *const suffixes[] = { ".ko.xz", ".ko.zst", ".ko.gz", ".ko" };
	size_t len = strlen(name);
	for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++) {
		size_t sl = strlen(suffixes[i]);
		if (len > sl && !strcmp(name + len - sl, suffixes[i])) {
			name[len - sl] = 0;
			break;
		}
	}
	module_name_normalize(name);
	return name;
}

/* A module path from a metadata file: relative, no `..`, no empty components, ends in .ko*. */
static int module_path_ok(const char *p)
{
	if (!*p || *p == '/')
		return 0;
	for (const char *c = p; *c;) {
		const char *end = strchr(c, '/');
		size_t n = end ? (size_t)(end - c) : strlen(c);
		if (n == 0 || (n == 2 && c[0] == '.' && c[1] == '.') || (n == 1 && c[0] == '.'))
			return 0;
		c += n + (end ? 1 : 0);
		if (end && !*c)
			return 0;
	}
	return strstr(p, ".ko") != NULL;
}

/* Iterates over the lines of a length-bounded buffer, each copied and NUL-terminated. */
struct line_iter {
	const char *p, *end;
	unsigned lineno;
	struct strbuf line;
};

static int next_line(struct line_iter *it)
{
	if (it->p >= it->end)
		return 0;
	const char *nl = memchr(it->p, '\n', (size_t)(it->end - it->p));
	size_t n = nl ? (size_t)(nl - it->p) : (size_t)(it->end - it->p);
	strbuf_reset(&it->line);
	strbuf_add(&it->line, it->p, n);
	it->p += n + (nl ? 1 : 0);
	it->lineno++;
	return 1;
}

/* Splits s in place on blanks; returns the number of words (at most max). */
static size_t split_words(char *s, char **words, size_t max)
{
	size_t n = 0;
	char *save = NULL;
	for (char *w = strtok_r(s, " \t\r", &save); w && n < max; w = strtok_r(NULL, " \t\r", &save))
		words[n++] = w;
	return n;
}

static int has_nul(const struct strbuf *sb)
{
	return strlen(sb->buf) != sb->len;
}

static void push_str(char ***arr, size_t *n, const char *s)
{
	*arr = xrealloc(*arr, (*n + 1) * sizeof **arr);
	(*arr)[(*n)++] = xstrdup(s);
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct module_entry *)a)->name, ((const struct module_entry *)b)->name);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int parse_dep_line(struct module_db *db, char *line, unsigned lineno)
{
	char *colon = strchr(line, ':');
	if (!colon)
		return error("modules.dep:%u: no ':' in line", lineno);
	*colon = 0;
	char *words[1];
	if (split_words(line, words, 1) != 1 || !module_path_ok(words[0]))
		return error("modules.dep:%u: bad module path", lineno);
	struct module_entry e = { .name = kernel_module_name(words[0]), .path = xstrdup(words[0]) };
	db->mods = xrealloc(db->mods, (db->n_mods + 1) * sizeof *db->mods);
	db->mods[db->n_mods++] = e;
	struct module_entry *m = &db->mods[db->n_mods - 1];
	char *save = NULL;
	for (char *w = strtok_r(colon + 1, " \t\r", &save); w; w = strtok_r(NULL, " \t\r", &save)) {
		if (!module_path_ok(w))
			return error("modules.dep:%u: bad dependency path", lineno);
		push_str(&m->deps, &m->n_deps, w);
	}
	return 0;
}

int module_db_parse_dep(struct module_db *db, const char *text, size_t len)
{
	struct line_iter it = { .p = text, .end = text + len, .line = STRBUF_INIT };
	int r = 0;
	while (!r && next_line(&it)) {
		if (has_nul(&it.line))
			r = error("modules.dep:%u: NUL byte in line", it.lineno);
		else if (it.line.buf[strspn(it.line.buf, " \t\r")] && it.line.buf[0] != '#')
			r = parse_dep_line(db, it.line.buf, it.lineno);
	}
	strbuf_release(&it.line);
	if (r)
		return r;
	if (db->n_mods)
		qsort(db->mods, db->n_mods, sizeof *db->mods, cmp_entry);
	for (size_t i = 1; i < db->n_mods; i++)
		if (!strcmp(db->mods[i - 1].name, db->mods[i].name))
			return error("modules.dep: module %s is listed twice", db->mods[i].name);
	return 0;
}

int module_db_parse_builtin(struct module_db *db, const char *text, size_t len)
{
	struct line_iter it = { .p = text, .end = text + len, .line = STRBUF_INIT };
	while (next_line(&it)) {
		char *words[1];
		if (has_nul(&it.line) || split_words(it.line.buf, words, 1) != 1 || words[0][0] == '#')
			continue;
		db->builtin = xrealloc(db->builtin, (db->n_builtin + 1) * sizeof *db->builtin);
		db->builtin[db->n_builtin++] = kernel_module_name(words[0]);
	}
	strbuf_release(&it.line);
	if (db->n_builtin)
		qsort(db->builtin, db->n_builtin, sizeof *db->builtin, cmp_str);
	return 0;
}

static void add_softdep(struct module_db *db, char **words, size_t n)
{
	struct module_softdep sd = { .module = xstrdup(words[1]) };
	module_name_normalize(sd.module);
	int list = 0; /* 0: none yet, 1: pre, 2: post */
	for (size_t i = 2; i < n; i++) {
		if (!strcmp(words[i], "pre:"))
			list = 1;
		else if (!strcmp(words[i], "post:"))
			list = 2;
		else if (list == 1)
			push_str(&sd.pre, &sd.n_pre, words[i]);
		else if (list == 2)
			push_str(&sd.post, &sd.n_post, words[i]);
	}
	db->softdeps = xrealloc(db->softdeps, (db->n_softdeps + 1) * sizeof *db->softdeps);
	db->softdeps[db->n_softdeps++] = sd;
}

int module_db_parse_softdep(struct module_db *db, const char *text, size_t len)
{
	struct line_iter it = { .p = text, .end = text + len, .line = STRBUF_INIT };
	char *words[256];
	while (next_line(&it)) {
		if (has_nul(&it.line))
			continue;
		size_t n = split_words(it.line.buf, words, 256);
		if (n >= 2 && !strcmp(words[0], "softdep"))
			add_softdep(db, words, n);
	}
	strbuf_release(&it.line);
	return 0;
}

int module_db_parse_alias(struct module_db *db, const char *text, size_t len)
{
	struct line_iter it = { .p = text, .end = text + len, .line = STRBUF_INIT };
	char *words[3];
	while (next_line(&it)) {
		if (has_nul(&it.line) || split_words(it.line.buf, words, 3) != 3 || strcmp(words[0], "alias"))
			continue;
		struct module_alias a = { .pattern = xstrdup(words[1]), .module = xstrdup(words[2]) };
		module_name_normalize(a.pattern);
		module_name_normalize(a.module);
		db->aliases = xrealloc(db->aliases, (db->n_aliases + 1) * sizeof *db->aliases);
		db->aliases[db->n_aliases++] = a;
	}
	strbuf_release(&it.line);
	db->aliases_loaded = 1;
	return 0;
}

/* Reads modules_dir/file and hands it to parse; a missing optional file is empty. */
static int load_file(struct module_db *db, const char *file, int required,
		     int (*parse)(struct module_db *, const char *, size_t))
{
	char *path = path_join(db->modules_dir, file);
	struct strbuf sb = STRBUF_INIT;
	int r;
	if (!required && !path_exists(path))
		r = parse(db, "", 0);
	else if (read_file(path, &sb, MODDB_MAX_FILE) < 0)
		r = error("cannot read the kernel's %s", file);
	else
		r = parse(db, sb.buf, sb.len);
	strbuf_release(&sb);
	free(path);
	return r;
}

int module_db_load(struct module_db *db, const char *modules_dir)
{
	memset(db, 0, sizeof *db);
	db->modules_dir = xstrdup(modules_dir);
	if (load_file(db, "modules.dep", 1, module_db_parse_dep) < 0 ||
	    load_file(db, "modules.builtin", 0, module_db_parse_builtin) < 0 ||
	    load_file(db, "modules.softdep", 0, module_db_parse_softdep) < 0) {
		module_db_release(db);
		return -1;
	}
	return 0;
}

static void free_strs(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void module_db_release(struct module_db *db)
{
	for (size_t i = 0; i < db->n_mods; i++) {
		free(db->mods[i].name);
		free(db->mods[i].path);
		free_strs(db->mods[i].deps, db->mods[i].n_deps);
	}
	free(db->mods);
	free_strs(db->builtin, db->n_builtin);
	for (size_t i = 0; i < db->n_softdeps; i++) {
		free(db->softdeps[i].module);
		free_strs(db->softdeps[i].pre, db->softdeps[i].n_pre);
		free_strs(db->softdeps[i].post, db->softdeps[i].n_post);
	}
	free(db->softdeps);
	for (size_t i = 0; i < db->n_aliases; i++) {
		free(db->aliases[i].pattern);
		free(db->aliases[i].module);
	}
	free(db->aliases);
	free(db->modules_dir);
	memset(db, 0, sizeof *db);
}

const struct module_entry *module_db_find(const struct module_db *db, const char *name)
{
	char *norm = xstrdup(name);
	module_name_normalize(norm);
	struct module_entry key = { .name = norm };
	const struct module_entry *e = db->n_mods ? bsearch(&key, db->mods, db->n_mods, sizeof *db->mods, cmp_entry) : NULL;
	free(norm);
	return e;
}

int module_db_is_builtin(const struct module_db *db, const char *name)
{
	char *norm = xstrdup(name);
	module_name_normalize(norm);
	int found = db->n_builtin && bsearch(&norm, db->builtin, db->n_builtin, sizeof *db->builtin, cmp_str);
	free(norm);
	return found;
}

/* Depth-first walk; state per module: 0 unseen, 1 in progress (a cycle stops here), 2 emitted. */
struct closure {
	struct module_db *db;
	unsigned char *state;
	char **out;
	size_t n_out;
};

static int visit_name(struct closure *c, const char *name, unsigned depth);

static int visit_softdeps(struct closure *c, const char *module, int post, unsigned depth)
{
	for (size_t i = 0; i < c->db->n_softdeps; i++) {
		const struct module_softdep *sd = &c->db->softdeps[i];
		if (strcmp(sd->module, module))
			continue;
		char **names = post ? sd->post : sd->pre;
		size_t n = post ? sd->n_post : sd->n_pre;
		for (size_t j = 0; j < n; j++)
			if (visit_name(c, names[j], depth + 1) < 0)
				return -1;
	}
	return 0;
}

static int visit_module(struct closure *c, const struct module_entry *m, unsigned depth)
{
	size_t idx = (size_t)(m - c->db->mods);
	if (c->state[idx])
		return 0;
	if (depth > MODDB_MAX_DEPTH)
		return error("modules.dep: dependency chain through %s is too deep", m->name);
	c->state[idx] = 1;
	if (visit_softdeps(c, m->name, 0, depth) < 0)
		return -1;
	/* modprobe loads the listed dependencies last to first; do the same. */
	for (size_t i = m->n_deps; i-- > 0;) {
		char *dep_name = kernel_module_name(m->deps[i]);
		const struct module_entry *d = module_db_find(c->db, dep_name);
		free(dep_name);
		if (!d)
			return error("modules.dep: %s needs %s, which is not listed", m->name, m->deps[i]);
		if (visit_module(c, d, depth + 1) < 0)
			return -1;
	}
	c->state[idx] = 2;
	c->out = xrealloc(c->out, (c->n_out + 1) * sizeof *c->out);
	c->out[c->n_out++] = xstrdup(m->path);
	return visit_softdeps(c, m->name, 1, depth);
}

static int load_aliases(struct module_db *db)
{
	if (db->aliases_loaded || !db->modules_dir)
		return 0;
	return load_file(db, "modules.alias", 0, module_db_parse_alias);
}

static int visit_name(struct closure *c, const char *name, unsigned depth)
{
	const struct module_entry *m = module_db_find(c->db, name);
	if (m)
		return visit_module(c, m, depth);
	if (module_db_is_builtin(c->db, name))
		return 0;
	if (load_aliases(c->db) < 0)
		return -1;
	char *norm = xstrdup(name);
	module_name_normalize(norm);
	int r = 0;
	for (size_t i = 0; !r && i < c->db->n_aliases; i++) {
		const struct module_alias *a = &c->db->aliases[i];
		if (fnmatch(a->pattern, norm, 0) == 0 && (m = module_db_find(c->db, a->module)))
			r = visit_module(c, m, depth);
	}
	free(norm);
	return r;
}

int module_db_closure(struct module_db *db, const char *const *names, size_t n, char ***paths_out, size_t *n_out)
{
	struct closure c = { .db = db, .state = xcalloc(db->n_mods ? db->n_mods : 1, 1) };
	int r = 0;
	for (size_t i = 0; !r && i < n; i++)
		r = visit_name(&c, names[i], 0);
	free(c.state);
	if (r < 0) {
		kernel_free_list(c.out, c.n_out);
		return -1;
	}
	*paths_out = c.out;
	*n_out = c.n_out;
	return 0;
}

void kernel_free_list(char **list, size_t n)
{
	free_strs(list, n);
}
