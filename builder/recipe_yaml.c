/* builder/recipe_yaml.c: YAML text -> a tree of positioned nodes (libyaml events).
 *
 * Promises: every node knows its file, line and column (1-based); anchors,
 * aliases and "<<" merge keys are resolved into plain trees (an alias is a
 * copy whose root carries the alias's position); duplicate keys are errors;
 * nesting deeper than RECIPE_MAX_DEPTH, more than RECIPE_MAX_NODES nodes or
 * RECIPE_MAX_BYTES of scalars (alias bombs) stop the parse with an error
 * instead of exhausting memory. Only one document per file.
 */
#include "builder/recipe_internal.h"

#include "util/strbuf.h"

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_ANCHORS 1000

struct anchor {
	char *name;
	struct ynode *node;
	int open; /* still being parsed: an alias to it would contain itself */
};

struct frame {
	struct ynode *node;
	long anchor; /* index in anchors, or -1 */
};

struct tree_builder {
	struct rctx *c;
	const char *file;
	const char *data;
	size_t len;
	struct ynode *root;
	struct frame stack[RECIPE_MAX_DEPTH + 1];
	int depth;
	struct anchor anchors[MAX_ANCHORS];
	size_t n_anchors;
	struct ynode **graveyard; /* nodes taken out of the tree that anchors may still point to */
	size_t n_graveyard;
	int documents;
};

static int budget_take(struct tree_builder *b, size_t nodes, size_t bytes, int line, int col)
{
	struct rctx *c = b->c;
	if (c->nodes_used + nodes > RECIPE_MAX_NODES || c->bytes_used + bytes > RECIPE_MAX_BYTES) {
		rerr_at(c, b->file, line, col, "recipe too large: more than %d nodes or %u MiB after expanding aliases",
			RECIPE_MAX_NODES, RECIPE_MAX_BYTES >> 20);
		return -1;
	}
	c->nodes_used += nodes;
	c->bytes_used += bytes;
	return 0;
}

static struct ynode *node_new(enum ynode_kind kind, const char *file, yaml_mark_t mark)
{
	struct ynode *n = xcalloc(1, sizeof *n);
	n->kind = kind;
	n->file = file;
	n->line = (int)mark.line + 1;
	n->col = (int)mark.column + 1;
	return n;
}

void ynode_free(struct ynode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++) {
		if (n->keys)
			ynode_free(n->keys[i]);
		ynode_free(n->vals[i]);
	}
	ynode_free(n->pending_key);
	free(n->keys);
	free(n->vals);
	free(n->str);
	free(n);
}

static void node_append(struct ynode *parent, struct ynode *key, struct ynode *val)
{
	if (parent->n == parent->cap) {
		parent->cap = parent->cap ? parent->cap * 2 : 4;
		parent->vals = xrealloc(parent->vals, parent->cap * sizeof *parent->vals);
		if (parent->kind == YNODE_MAP)
			parent->keys = xrealloc(parent->keys, parent->cap * sizeof *parent->keys);
	}
	if (parent->kind == YNODE_MAP)
		parent->keys[parent->n] = key;
	parent->vals[parent->n++] = val;
}

/* Deep copy of an anchored node for an alias, charged to the budget. */
static struct ynode *node_copy(struct tree_builder *b, const struct ynode *src, int line, int col)
{
	if (budget_take(b, 1, src->len, line, col) < 0)
		return NULL;
	struct ynode *n = xcalloc(1, sizeof *n);
	*n = (struct ynode){.kind = src->kind, .file = src->file, .line = src->line, .col = src->col,
			    .len = src->len, .plain = src->plain};
	if (src->str) {
		n->str = xmalloc(src->len + 1);
		memcpy(n->str, src->str, src->len + 1);
	}
	for (size_t i = 0; i < src->n; i++) {
		struct ynode *k = NULL, *v = node_copy(b, src->vals[i], line, col);
		if (v && src->kind == YNODE_MAP && !(k = node_copy(b, src->keys[i], line, col))) {
			ynode_free(v);
			v = NULL;
		}
		if (!v) {
			ynode_free(n);
			return NULL;
		}
		node_append(n, k, v);
	}
	return n;
}

struct ynode *ynode_map_get(const struct ynode *map, const char *key)
{
	if (!map || map->kind != YNODE_MAP)
		return NULL;
	size_t klen = strlen(key);
	for (size_t i = 0; i < map->n; i++)
		if (map->keys[i]->len == klen && !memcmp(map->keys[i]->str, key, klen))
			return map->vals[i];
	return NULL;
}

static long map_index(const struct ynode *map, const struct ynode *key)
{
	for (size_t i = 0; i < map->n; i++)
		if (map->keys[i]->len == key->len && !memcmp(map->keys[i]->str, key->str, key->len))
			return (long)i;
	return -1;
}

struct ynode *ynode_map_take(struct ynode *map, const char *key)
{
	if (!map || map->kind != YNODE_MAP)
		return NULL;
	size_t klen = strlen(key);
	for (size_t i = 0; i < map->n; i++) {
		if (map->keys[i]->len != klen || memcmp(map->keys[i]->str, key, klen))
			continue;
		struct ynode *v = map->vals[i];
		ynode_free(map->keys[i]);
		memmove(map->keys + i, map->keys + i + 1, (map->n - i - 1) * sizeof *map->keys);
		memmove(map->vals + i, map->vals + i + 1, (map->n - i - 1) * sizeof *map->vals);
		map->n--;
		return v;
	}
	return NULL;
}

int ynode_is_null(const struct ynode *n)
{
	if (!n || n->kind != YNODE_SCALAR || !n->plain)
		return 0;
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
	for (size_t i = 0; i < sizeof nulls / sizeof nulls[0]; i++)
		if (!strcmp(n->str, nulls[i]))
			return 1;
	return 0;
}

/* The longest prefix of n's text, cut at a character, whose quoted form fits in size. */
const char *ynode_describe(const struct ynode *n, char *buf, size_t size)
{
	if (n->kind == YNODE_MAP)
		return "a map";
	if (n->kind == YNODE_SEQ)
		return "a list";
	if (ynode_is_null(n))
		return "null";
	struct strbuf sb = STRBUF_INIT;
	size_t shown = n->len > 40 ? 40 : n->len;
	for (;;) {
		while (shown < n->len && shown > 0 && ((unsigned char)n->str[shown] & 0xc0) == 0x80)
			shown--;
		strbuf_reset(&sb);
		json_string(&sb, n->str, shown);
		if (shown < n->len) { /* "abc..." */
			sb.buf[--sb.len] = 0;
			strbuf_adds(&sb, "...\"");
		}
		if (sb.len < size || shown == 0)
			break;
		shown--;
	}
	snprintf(buf, size, "%s", sb.buf);
	strbuf_release(&sb);
	return buf;
}

static void bury(struct tree_builder *b, struct ynode *n)
{
	b->graveyard = xrealloc(b->graveyard, (b->n_graveyard + 1) * sizeof *b->graveyard);
	b->graveyard[b->n_graveyard++] = n;
}

static int register_anchor(struct tree_builder *b, const yaml_char_t *name, struct ynode *n, int open,
			   long *index)
{
	*index = -1;
	if (!name)
		return 0;
	if (b->n_anchors == MAX_ANCHORS) {
		rerr(b->c, n, "too many anchors (more than %d)", MAX_ANCHORS);
		return -1;
	}
	b->anchors[b->n_anchors] = (struct anchor){xstrdup((const char *)name), n, open};
	*index = (long)b->n_anchors++;
	return 0;
}

/* Places a finished node (or the start of a collection) in its parent. */
static int attach(struct tree_builder *b, struct ynode *n)
{
	if (b->depth == 0) {
		if (b->root) {
			ynode_free(n);
			return -1;
		}
		b->root = n;
		return 0;
	}
	struct ynode *parent = b->stack[b->depth - 1].node;
	if (parent->kind == YNODE_SEQ) {
		node_append(parent, NULL, n);
		return 0;
	}
	if (parent->pending_key) {
		node_append(parent, parent->pending_key, n);
		parent->pending_key = NULL;
		return 0;
	}
	if (n->kind != YNODE_SCALAR) {
		rerr(b->c, n, "a key must be a string, not %s", n->kind == YNODE_MAP ? "a map" : "a list");
		ynode_free(n);
		return -1;
	}
	if (parent->n >= RECIPE_MAX_MAP_KEYS) {
		rerr(b->c, n, "too many keys in one map (more than %d)", RECIPE_MAX_MAP_KEYS);
		ynode_free(n);
		return -1;
	}
	parent->pending_key = n;
	return 0;
}

static int check_duplicate_keys(struct tree_builder *b, const struct ynode *map)
{
	for (size_t i = 1; i < map->n; i++) {
		long first = map_index(map, map->keys[i]);
		if (first >= 0 && (size_t)first < i) {
			char what[64];
			const struct ynode *k = map->keys[first];
			rerr(b->c, map->keys[i], "duplicate key %s (first at %d:%d)",
			     ynode_describe(map->keys[i], what, sizeof what), k->line, k->col);
		}
	}
	return 0;
}

/* Adds one merge source's entries that the map does not have yet. */
static int merge_one(struct tree_builder *b, struct ynode *map, const struct ynode *src)
{
	if (src->kind != YNODE_MAP) {
		rerr(b->c, src, "a \"<<\" merge takes a map or a list of maps, not %s",
		     src->kind == YNODE_SEQ ? "a list" : "a string");
		return -1;
	}
	for (size_t i = 0; i < src->n; i++) {
		if (map_index(map, src->keys[i]) >= 0)
			continue;
		if (map->n >= RECIPE_MAX_MAP_KEYS) {
			rerr(b->c, src, "too many keys in one map (more than %d)", RECIPE_MAX_MAP_KEYS);
			return -1;
		}
		struct ynode *k = node_copy(b, src->keys[i], src->line, src->col);
		struct ynode *v = k ? node_copy(b, src->vals[i], src->line, src->col) : NULL;
		if (!v) {
			ynode_free(k);
			return -1;
		}
		node_append(map, k, v);
	}
	return 0;
}

/* YAML 1.1 merge keys: `<<: *defaults` or `<<: [*a, *b]`; explicit keys win,
 * and earlier sources win over later ones. */
static int apply_merge_keys(struct tree_builder *b, struct ynode *map)
{
	for (size_t i = 0; i < map->n;) {
		struct ynode *k = map->keys[i];
		if (!(k->plain && !strcmp(k->str, "<<"))) {
			i++;
			continue;
		}
		struct ynode *src = ynode_map_take(map, "<<");
		bury(b, src);
		if (src->kind == YNODE_SEQ) {
			for (size_t j = 0; j < src->n; j++)
				if (merge_one(b, map, src->vals[j]) < 0)
					return -1;
		} else if (merge_one(b, map, src) < 0) {
			return -1;
		}
	}
	return 0;
}

static int on_alias(struct tree_builder *b, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	int line = (int)ev->start_mark.line + 1, col = (int)ev->start_mark.column + 1;
	for (size_t i = b->n_anchors; i-- > 0;) {
		if (strcmp(b->anchors[i].name, name))
			continue;
		if (b->anchors[i].open) {
			rerr_at(b->c, b->file, line, col, "alias \"*%s\" is used inside its own anchor", name);
			return -1;
		}
		struct ynode *n = node_copy(b, b->anchors[i].node, line, col);
		if (!n)
			return -1;
		n->line = line;
		n->col = col;
		return attach(b, n);
	}
	rerr_at(b->c, b->file, line, col, "unknown alias \"*%s\"", name);
	return -1;
}

static int on_scalar(struct tree_builder *b, const yaml_event_t *ev)
{
	if (budget_take(b, 1, ev->data.scalar.length, (int)ev->start_mark.line + 1,
			(int)ev->start_mark.column + 1) < 0)
		return -1;
	struct ynode *n = node_new(YNODE_SCALAR, b->file, ev->start_mark);
	n->len = ev->data.scalar.length;
	n->str = xmalloc(n->len + 1);
	memcpy(n->str, ev->data.scalar.value, n->len);
	n->str[n->len] = 0;
	n->plain = ev->data.scalar.plain_implicit;
	long index;
	if (register_anchor(b, ev->data.scalar.anchor, n, 0, &index) < 0) {
		ynode_free(n);
		return -1;
	}
	return attach(b, n);
}

static int on_collection_start(struct tree_builder *b, const yaml_event_t *ev, enum ynode_kind kind)
{
	int line = (int)ev->start_mark.line + 1, col = (int)ev->start_mark.column + 1;
	if (b->depth >= RECIPE_MAX_DEPTH) {
		rerr_at(b->c, b->file, line, col, "nesting deeper than %d levels", RECIPE_MAX_DEPTH);
		return -1;
	}
	if (budget_take(b, 1, 0, line, col) < 0)
		return -1;
	struct ynode *n = node_new(kind, b->file, ev->start_mark);
	const yaml_char_t *anchor = kind == YNODE_MAP ? ev->data.mapping_start.anchor
						      : ev->data.sequence_start.anchor;
	long index;
	if (register_anchor(b, anchor, n, 1, &index) < 0) {
		ynode_free(n);
		return -1;
	}
	if (attach(b, n) < 0)
		return -1;
	b->stack[b->depth++] = (struct frame){n, index};
	return 0;
}

static int on_collection_end(struct tree_builder *b)
{
	struct frame *f = &b->stack[--b->depth];
	if (f->node->kind == YNODE_MAP) {
		check_duplicate_keys(b, f->node);
		if (apply_merge_keys(b, f->node) < 0)
			return -1;
	}
	if (f->anchor >= 0)
		b->anchors[f->anchor].open = 0;
	return 0;
}

static int on_event(struct tree_builder *b, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (b->documents++) {
			rerr_at(b->c, b->file, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
				"a recipe is one YAML document; found a second one");
			return -1;
		}
		return 0;
	case YAML_SCALAR_EVENT:
		return on_scalar(b, ev);
	case YAML_ALIAS_EVENT:
		return on_alias(b, ev);
	case YAML_MAPPING_START_EVENT:
		return on_collection_start(b, ev, YNODE_MAP);
	case YAML_SEQUENCE_START_EVENT:
		return on_collection_start(b, ev, YNODE_SEQ);
	case YAML_MAPPING_END_EVENT:
	case YAML_SEQUENCE_END_EVENT:
		return on_collection_end(b);
	default:
		return 0;
	}
}

/* Line and column of a byte offset, for reader errors (bad UTF-8) that
 * libyaml reports by offset only. */
static void offset_position(const char *data, size_t len, size_t offset, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < offset && i < len; i++) {
		if (data[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)data[i] & 0xc0) != 0x80) {
			(*col)++;
		}
	}
}

static void report_syntax_error(struct tree_builder *b, const yaml_parser_t *p)
{
	int line = (int)p->problem_mark.line + 1, col = (int)p->problem_mark.column + 1;
	if (p->error == YAML_READER_ERROR) {
		size_t at = p->problem_offset < b->len ? p->problem_offset : b->len;
		/* A bad continuation byte: point at the character it belongs to. */
		if (p->problem && strstr(p->problem, "trailing"))
			while (at > 0 && ((unsigned char)b->data[--at] & 0xc0) == 0x80)
				;
		offset_position(b->data, b->len, at, &line, &col);
		rerr_at(b->c, b->file, line, col, "not valid YAML text: %s", p->problem ? p->problem : "unreadable");
		return;
	}
	if (p->context)
		rerr_at(b->c, b->file, line, col, "invalid YAML: %s (%s at %d:%d)", p->problem ? p->problem : "error",
			p->context, (int)p->context_mark.line + 1, (int)p->context_mark.column + 1);
	else
		rerr_at(b->c, b->file, line, col, "invalid YAML: %s", p->problem ? p->problem : "error");
}

static void builder_release(struct tree_builder *b)
{
	for (size_t i = 0; i < b->n_anchors; i++)
		free(b->anchors[i].name);
	for (size_t i = 0; i < b->n_graveyard; i++)
		ynode_free(b->graveyard[i]);
	free(b->graveyard);
}

struct ynode *yaml_parse_tree(struct rctx *c, const char *file, const char *data, size_t len)
{
	static struct tree_builder zero;
	struct tree_builder *b = xmalloc(sizeof *b);
	*b = zero;
	b->c = c;
	b->file = file;
	b->data = data;
	b->len = len;
	yaml_parser_t parser;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	int ok = 1;
	for (;;) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&parser, &ev)) {
			report_syntax_error(b, &parser);
			ok = 0;
			break;
		}
		int done = ev.type == YAML_STREAM_END_EVENT;
		int rc = on_event(b, &ev);
		yaml_event_delete(&ev);
		if (rc < 0) {
			ok = 0;
			break;
		}
		if (done)
			break;
	}
	yaml_parser_delete(&parser);
	struct ynode *root = b->root;
	if (ok && !root)
		rerr_at(c, file, 1, 1, "the recipe is empty");
	if (!ok) {
		ynode_free(root);
		root = NULL;
	}
	builder_release(b);
	free(b);
	return root;
}
