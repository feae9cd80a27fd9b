/* builder/recipe_extends.c: reads a recipe file and its `extends` chain into one tree.
 *
 * `extends: base.yaml` names a parent recipe, relative to the file that says
 * it. The parent is read first (with its own parents) and the child merged
 * over it: maps merge key by key with the child winning, lists append (the
 * parent's items first), anything else is replaced by the child's value.
 * Every node keeps the file it came from, so messages point into the right
 * file. A cycle, or a chain longer than RECIPE_MAX_EXTENDS, is an error.
 */
#include "builder/recipe_internal.h"

#include "util/io.h"
#include "util/strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct chain {
	char *real[RECIPE_MAX_EXTENDS + 2]; /* realpaths of the files being read, outermost first */
	const char *name[RECIPE_MAX_EXTENDS + 2];
	int n;
};

/* Reads a regular file of bounded size; -1 with errno-style text in *why. */
static int read_recipe_file(const char *path, struct strbuf *sb, const char **why)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		*why = strerror(errno);
		return -1;
	}
	struct stat st;
	int rc = -1;
	if (fstat(fd, &st) < 0)
		*why = strerror(errno);
	else if (S_ISDIR(st.st_mode))
		*why = "it is a directory";
	else if (!S_ISREG(st.st_mode))
		*why = "not a regular file";
	else if ((uint64_t)st.st_size > RECIPE_MAX_FILE_BYTES)
		*why = "larger than 16 MiB";
	else
		rc = 0;
	while (rc == 0) {
		strbuf_grow(sb, 65536);
		ssize_t n = read(fd, sb->buf + sb->len, 65536);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*why = strerror(errno);
			rc = -1;
		}
		if (n <= 0)
			break;
		sb->len += (size_t)n;
		sb->buf[sb->len] = 0;
		if (sb->len > RECIPE_MAX_FILE_BYTES) {
			*why = "larger than 16 MiB";
			rc = -1;
		}
	}
	close(fd);
	return rc;
}

static struct ynode *merge_maps(struct ynode *parent, struct ynode *child);

static struct ynode *merge_values(struct ynode *parent, struct ynode *child)
{
	if (parent->kind == YNODE_MAP && child->kind == YNODE_MAP)
		return merge_maps(parent, child);
	if (parent->kind != YNODE_SEQ || child->kind != YNODE_SEQ) {
		ynode_free(parent);
		return child;
	}
	for (size_t i = 0; i < child->n; i++) {
		if (parent->n == parent->cap) {
			parent->cap = parent->cap ? parent->cap * 2 : 4;
			parent->vals = xrealloc(parent->vals, parent->cap * sizeof *parent->vals);
		}
		parent->vals[parent->n++] = child->vals[i];
	}
	child->n = 0;
	ynode_free(child);
	return parent;
}

/* The merged map takes the child's position: the child is the file being written. */
static struct ynode *merge_maps(struct ynode *parent, struct ynode *child)
{
	for (size_t i = 0; i < child->n; i++) {
		struct ynode *key = child->keys[i];
		size_t j = 0;
		while (j < parent->n && !(parent->keys[j]->len == key->len &&
					  !memcmp(parent->keys[j]->str, key->str, key->len)))
			j++;
		if (j < parent->n) {
			parent->vals[j] = merge_values(parent->vals[j], child->vals[i]);
			ynode_free(key);
			continue;
		}
		if (parent->n == parent->cap) {
			parent->cap = parent->cap ? parent->cap * 2 : 4;
			parent->vals = xrealloc(parent->vals, parent->cap * sizeof *parent->vals);
			parent->keys = xrealloc(parent->keys, parent->cap * sizeof *parent->keys);
		}
		parent->keys[parent->n] = key;
		parent->vals[parent->n++] = child->vals[i];
	}
	parent->file = child->file;
	parent->line = child->line;
	parent->col = child->col;
	child->n = 0;
	ynode_free(child);
	return parent;
}

/* The parent's name as shown in messages: relative to the child's directory. */
static char *parent_name(const char *child, const char *extends)
{
	const char *slash = strrchr(child, '/');
	if (extends[0] == '/' || !slash)
		return xstrdup(extends);
	return xasprintf("%.*s/%s", (int)(slash - child), child, extends);
}

static struct ynode *read_chain(struct rctx *c, struct chain *ch, const char *name, const char *data,
				size_t len, const struct ynode *from);

static void report_cycle(struct rctx *c, const struct chain *ch, int start, const struct ynode *at,
			 const char *again)
{
	struct strbuf sb = STRBUF_INIT;
	for (int i = start; i < ch->n; i++)
		strbuf_addf(&sb, "%s -> ", ch->name[i]);
	strbuf_adds(&sb, again);
	rerr(c, at, "extends: cycle: %s", sb.buf);
	strbuf_release(&sb);
}

/* Applies `extends` of tree (read from `name`): returns the merged tree, or
 * NULL after reporting why the parent could not be used. */
static struct ynode *apply_extends(struct rctx *c, struct chain *ch, const char *name, struct ynode *tree)
{
	struct ynode *ext = ynode_map_take(tree, "extends");
	char what[64];
	if (!ext || ynode_is_null(ext)) {
		ynode_free(ext);
		return tree;
	}
	struct ynode *result = NULL;
	char *pname = NULL, *real = NULL;
	if (ext->kind != YNODE_SCALAR || !ext->len || memchr(ext->str, 0, ext->len)) {
		rerr(c, ext, "extends: expected the path of a recipe, got %s", ynode_describe(ext, what, sizeof what));
		goto out;
	}
	pname = parent_name(name, ext->str);
	if (!(real = realpath(pname, NULL))) {
		rerr(c, ext, "extends: cannot read %s: %s", pname, strerror(errno));
		goto out;
	}
	for (int i = 0; i < ch->n; i++) {
		if (!strcmp(ch->real[i], real)) {
			report_cycle(c, ch, i, ext, pname);
			goto out;
		}
	}
	if (ch->n > RECIPE_MAX_EXTENDS) {
		rerr(c, ext, "extends: more than %d levels", RECIPE_MAX_EXTENDS);
		goto out;
	}
	struct ynode *parent = read_chain(c, ch, pname, NULL, 0, ext);
	if (parent) {
		result = merge_maps(parent, tree);
		tree = NULL;
	}
out:
	free(real);
	free(pname);
	ynode_free(ext);
	ynode_free(tree);
	return result;
}

static struct ynode *read_chain(struct rctx *c, struct chain *ch, const char *name, const char *data,
				size_t len, const struct ynode *from)
{
	const char *file = rctx_add_file(c, name);
	struct strbuf sb = STRBUF_INIT;
	const char *why = NULL;
	if (!data) {
		if (read_recipe_file(name, &sb, &why) < 0) {
			if (from)
				rerr(c, from, "extends: cannot read %s: %s", name, why);
			else
				rerr_at(c, file, 0, 0, "cannot read recipe: %s", why);
			strbuf_release(&sb);
			return NULL;
		}
		data = sb.buf;
		len = sb.len;
	}
	struct ynode *tree = yaml_parse_tree(c, file, data, len);
	strbuf_release(&sb);
	if (tree && tree->kind != YNODE_MAP) {
		char what[64];
		rerr(c, tree, "a recipe is a map of keys (apkg, name, version, base, ...), not %s",
		     tree->kind == YNODE_SEQ ? "a list" : ynode_describe(tree, what, sizeof what));
		ynode_free(tree);
		tree = NULL;
	}
	if (!tree)
		return NULL;
	ch->real[ch->n] = realpath(name, NULL);
	if (!ch->real[ch->n])
		ch->real[ch->n] = xstrdup("");
	ch->name[ch->n++] = file;
	tree = apply_extends(c, ch, file, tree);
	free(ch->real[--ch->n]);
	return tree;
}

struct ynode *recipe_read_tree(struct rctx *c, const char *file, const char *data, size_t len)
{
	struct chain ch = {.n = 0};
	return read_chain(c, &ch, file, data, len, NULL);
}
