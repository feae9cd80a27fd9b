/* builder/recipe.c: the recipe API: load, free, sizes, and the diagnostics list.
 *
 * recipe_load() runs the three steps (YAML tree, extends, validation; see
 * recipe_internal.h), then prints every problem found, sorted by position and
 * each once, and returns NULL if any was an error. Nothing is printed before
 * all problems are known.
 */
#include "builder/recipe_internal.h"

#include "util/diag.h"
#include "util/io.h"
#include "util/strbuf.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- diagnostics ---- */

static void vadd_diag(struct rctx *c, const char *file, int line, int col, int warning, const char *fmt,
		      va_list ap)
{
	if (c->n_diags == c->cap_diags) {
		c->cap_diags = c->cap_diags ? 2 * c->cap_diags : 16;
		c->diags = xrealloc(c->diags, c->cap_diags * sizeof *c->diags);
	}
	struct strbuf sb = STRBUF_INIT;
	strbuf_vaddf(&sb, fmt, ap);
	c->diags[c->n_diags] = (struct rdiag){file, line, col, warning, c->n_diags, strbuf_detach(&sb)};
	c->n_diags++;
	if (!warning)
		c->n_errors++;
}

void rerr_at(struct rctx *c, const char *file, int line, int col, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vadd_diag(c, file, line, col, 0, fmt, ap);
	va_end(ap);
}

void rerr(struct rctx *c, const struct ynode *at, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vadd_diag(c, at->file, at->line, at->col, 0, fmt, ap);
	va_end(ap);
}

void rwarn(struct rctx *c, const struct ynode *at, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vadd_diag(c, at->file, at->line, at->col, 1, fmt, ap);
	va_end(ap);
}

static size_t file_rank(const struct rctx *c, const char *file)
{
	for (size_t i = 0; i < c->n_files; i++)
		if (c->files[i].name == file)
			return i;
	return c->n_files;
}

static const struct rctx *sorting_ctx; /* qsort has no context argument */

static int diag_cmp(const void *pa, const void *pb)
{
	const struct rdiag *a = pa, *b = pb;
	size_t fa = file_rank(sorting_ctx, a->file), fb = file_rank(sorting_ctx, b->file);
	if (fa != fb)
		return fa < fb ? -1 : 1;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	if (a->col != b->col)
		return a->col < b->col ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int same_diag(const struct rdiag *a, const struct rdiag *b)
{
	return a->file == b->file && a->line == b->line && a->col == b->col && !strcmp(a->msg, b->msg);
}

static void emit_diag(const struct rdiag *d, struct strbuf *out)
{
	const char *kind = d->warning ? "warning: " : "";
	if (out && d->line)
		strbuf_addf(out, "%s:%d:%d: %s%s\n", d->file, d->line, d->col, kind, d->msg);
	else if (out)
		strbuf_addf(out, "%s: %s%s\n", d->file, kind, d->msg);
	else if (d->line)
		diag_at(d->file, d->line, d->col, "%s%s", kind, d->msg);
	else if (d->warning)
		warning("%s: %s", d->file, d->msg);
	else
		error("%s: %s", d->file, d->msg);
}

void rctx_flush(struct rctx *c, struct strbuf *out)
{
	sorting_ctx = c;
	if (c->n_diags)
		qsort(c->diags, c->n_diags, sizeof *c->diags, diag_cmp);
	sorting_ctx = NULL;
	for (size_t i = 0; i < c->n_diags; i++)
		if (!i || !same_diag(&c->diags[i - 1], &c->diags[i]))
			emit_diag(&c->diags[i], out);
	for (size_t i = 0; i < c->n_diags; i++)
		free(c->diags[i].msg);
	free(c->diags);
	c->diags = NULL;
	c->n_diags = c->cap_diags = 0;
}

static char *real_dir_of(const char *file)
{
	char *copy = xstrdup(file);
	char *slash = strrchr(copy, '/');
	const char *dir = ".";
	if (slash == copy)
		dir = "/";
	else if (slash) {
		*slash = 0;
		dir = copy;
	}
	char *real = realpath(dir, NULL);
	free(copy);
	return real;
}

const char *rctx_add_file(struct rctx *c, const char *name)
{
	for (size_t i = 0; i < c->n_files; i++)
		if (!strcmp(c->files[i].name, name))
			return c->files[i].name;
	c->files = xrealloc(c->files, (c->n_files + 1) * sizeof *c->files);
	c->files[c->n_files] = (struct rfile){xstrdup(name), real_dir_of(name)};
	return c->files[c->n_files++].name;
}

const struct rfile *rctx_file(const struct rctx *c, const char *interned)
{
	for (size_t i = 0; i < c->n_files; i++)
		if (c->files[i].name == interned)
			return &c->files[i];
	return NULL;
}

void rctx_release(struct rctx *c)
{
	rctx_flush(c, NULL);
	for (size_t i = 0; i < c->n_files; i++) {
		free(c->files[i].name);
		free(c->files[i].dir);
	}
	free(c->files);
	c->files = NULL;
	c->n_files = 0;
}

/* ---- "did you mean" ---- */

/* Optimal string alignment distance: edits, with a swap of two neighbours
 * counting as one ("pakcages" is one edit from "packages"). */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return SIZE_MAX;
	size_t d[65][65];
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1];
			size_t best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < best)
				best = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return d[la][lb];
}

static void lowercase(char *dst, const char *src, size_t size)
{
	size_t i = 0;
	for (; src[i] && i + 1 < size; i++)
		dst[i] = (char)(src[i] >= 'A' && src[i] <= 'Z' ? src[i] - 'A' + 'a' : src[i]);
	dst[i] = 0;
}

const char *closest_word(const char *word, const char *const *candidates)
{
	char low[80];
	lowercase(low, word, sizeof low);
	size_t len = strlen(low);
	/* Short words tolerate one edit, longer ones more, never a full rewrite. */
	size_t allowed = len <= 4 ? 1 : len <= 8 ? 2 : 3;
	const char *best = NULL;
	size_t best_d = SIZE_MAX;
	for (size_t i = 0; candidates[i]; i++) {
		size_t d = edit_distance(low, candidates[i]);
		if (d < best_d) {
			best_d = d;
			best = candidates[i];
		}
	}
	if (!best || best_d > allowed || best_d >= len || best_d >= strlen(best))
		return NULL;
	return best;
}

/* ---- sizes, names ---- */

int parse_size(const char *s, uint64_t *out)
{
	if (!s || *s < '0' || *s > '9')
		return -1;
	uint64_t v = 0;
	const char *p = s;
	for (; *p >= '0' && *p <= '9'; p++) {
		uint64_t digit = (uint64_t)(*p - '0');
		if (v > (UINT64_MAX - digit) / 10)
			return -1;
		v = v * 10 + digit;
	}
	unsigned shift = 0;
	switch (*p) {
	case 'K': case 'k': shift = 10; break;
	case 'M': case 'm': shift = 20; break;
	case 'G': case 'g': shift = 30; break;
	case 'T': case 't': shift = 40; break;
	case 0: break;
	default: return -1;
	}
	if (shift) {
		p++;
		if (!strcmp(p, "iB"))
			p += 2;
	}
	if (*p)
		return -1;
	if (shift && v > (UINT64_MAX >> shift))
		return -1;
	*out = v << shift;
	return 0;
}

const char *check_kind_name(enum check_kind k)
{
	switch (k) {
	case CHECK_SERVICE: return "service";
	case CHECK_TCP: return "tcp";
	case CHECK_HTTP: return "http";
	case CHECK_COMMAND: return "command";
	case CHECK_FILE: return "file";
	}
	return "?";
}

/* ---- paths ---- */

/* The path from directory from_dir to `to`, both absolute and normalised. */
char *relative_path(const char *from_dir, const char *to)
{
	size_t common = 0, i = 0;
	for (; from_dir[i] && from_dir[i] == to[i]; i++)
		if (from_dir[i] == '/')
			common = i;
	if (!from_dir[i] && (to[i] == '/' || !to[i]))
		common = i;
	if (!strcmp(from_dir, "/"))
		common = 0;
	struct strbuf sb = STRBUF_INIT;
	for (const char *p = from_dir + common; *p; p++)
		if (*p == '/' && p[1])
			strbuf_adds(&sb, "../");
	const char *rest = to + common;
	while (*rest == '/')
		rest++;
	strbuf_adds(&sb, rest);
	if (!sb.len)
		strbuf_adds(&sb, ".");
	else if (sb.buf[sb.len - 1] == '/')
		sb.buf[--sb.len] = 0;
	return strbuf_detach(&sb);
}

static char *top_dir(const struct rctx *c, const char *path)
{
	const struct rfile *f = c->n_files ? &c->files[0] : NULL;
	if (f && f->dir)
		return xstrdup(f->dir);
	/* The directory does not exist (a recipe from memory): keep it lexical. */
	char *copy = xstrdup(path);
	char *slash = strrchr(copy, '/');
	if (slash)
		*slash = 0;
	char cwd[PATH_MAX];
	char *dir;
	if (slash && copy[0] == '/')
		dir = xstrdup(copy[0] ? copy : "/");
	else
		dir = path_join(getcwd(cwd, sizeof cwd) ? cwd : "/", slash ? copy : ".");
	free(copy);
	return dir;
}

/* ---- load and free ---- */

static struct recipe *load(const char *path, const char *data, size_t len, struct strbuf *diags)
{
	struct rctx c = {0};
	struct recipe *r = xcalloc(1, sizeof *r);
	r->path = xstrdup(path);
	struct ynode *root = recipe_read_tree(&c, path, data, len);
	r->dir = top_dir(&c, path);
	int ok = root && recipe_from_tree(&c, root, r) == 0;
	ynode_free(root);
	if (ok)
		ok = recipe_compute_hash(&c, r) == 0;
	rctx_flush(&c, diags);
	if (!ok || c.n_errors) {
		recipe_free(r);
		rctx_release(&c);
		return NULL;
	}
	/* The positions in r point at these names: the recipe keeps them. */
	r->file_names = xcalloc(c.n_files, sizeof *r->file_names);
	for (size_t i = 0; i < c.n_files; i++) {
		r->file_names[i] = c.files[i].name;
		c.files[i].name = NULL;
	}
	r->n_file_names = c.n_files;
	rctx_release(&c);
	return r;
}

struct recipe *recipe_load(const char *path)
{
	return load(path, NULL, 0, NULL);
}

struct recipe *recipe_load_buffer(const char *name, const char *data, size_t len)
{
	return load(name, data ? data : "", len, NULL);
}

struct recipe *recipe_load_diag(const char *path, const char *data, size_t len, struct strbuf *diags)
{
	return load(path, data, len, diags);
}

static void string_list_release(struct string_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	free(l->pos);
	*l = (struct string_list){0};
}

static void files_free(struct recipe_file *files, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(files[i].path);
		free(files[i].content);
		free(files[i].source);
		free(files[i].owner);
	}
	free(files);
}

static void users_free(struct recipe_user *users, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(users[i].name);
		string_list_release(&users[i].groups);
		free(users[i].shell);
		free(users[i].password);
		string_list_release(&users[i].ssh_authorized_keys);
		free(users[i].home);
	}
	free(users);
}

void recipe_free(struct recipe *r)
{
	if (!r)
		return;
	free(r->path);
	free(r->dir);
	free(r->name);
	free(r->version);
	free(r->description);
	free(r->base.distro);
	free(r->base.suite);
	free(r->base.variant);
	free(r->base.mirror);
	free(r->base.tarball);
	free(r->base.ostree_repo);
	free(r->base.ostree_ref);
	free(r->kernel.package);
	free(r->kernel.cmdline);
	string_list_release(&r->kernel.modules);
	string_list_release(&r->packages);
	files_free(r->files, r->n_files);
	users_free(r->users, r->n_users);
	string_list_release(&r->services_enable);
	string_list_release(&r->services_disable);
	free(r->hostname);
	string_list_release(&r->run);
	free(r->disk.filesystem);
	free(r->hardware.nic);
	string_list_release(&r->outputs);
	for (size_t i = 0; i < r->n_checks; i++) {
		free(r->checks[i].target);
		free(r->checks[i].contains);
	}
	free(r->checks);
	string_list_release(&r->targets);
	for (size_t i = 0; i < r->hygiene.n_waivers; i++) {
		free(r->hygiene.waivers[i].rule);
		free(r->hygiene.waivers[i].reason);
		string_list_release(&r->hygiene.waivers[i].paths);
	}
	free(r->hygiene.waivers);
	string_list_release(&r->hygiene.allow_private_keys);
	for (size_t i = 0; i < r->n_file_names; i++)
		free(r->file_names[i]);
	free(r->file_names);
	free(r);
}
