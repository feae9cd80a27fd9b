/* builder/recipe_internal.h: what the recipe_*.c files share, nothing else sees it.
 *
 * The recipe is read in three steps, one file each:
 *   recipe_yaml.c     libyaml events -> a tree of ynodes, each with its file,
 *                     line and column; anchors, aliases and "<<" merge keys
 *                     resolved; bounded in depth and in alias expansion.
 *   recipe_extends.c  reads a recipe file and its `extends` chain and merges
 *                     the trees (maps merge with the child winning, lists append).
 *   recipe_validate*.c  the merged tree -> struct recipe, defaults filled and
 *                     every problem reported.
 * Problems are collected in a struct rctx (not printed at once) so that they
 * can be reported sorted by position, each once, all of them.
 */
#ifndef APKG_BUILDER_RECIPE_INTERNAL_H
#define APKG_BUILDER_RECIPE_INTERNAL_H

#include "builder/recipe.h"

#include <stddef.h>

/* Limits that keep hostile input (alias bombs, deep nesting) cheap. A real
 * recipe is far below every one of them. */
#define RECIPE_MAX_FILE_BYTES (16u << 20)
#define RECIPE_MAX_DEPTH 64
#define RECIPE_MAX_NODES 100000
#define RECIPE_MAX_BYTES (64u << 20)
#define RECIPE_MAX_MAP_KEYS 256
#define RECIPE_MAX_EXTENDS 16

enum ynode_kind { YNODE_SCALAR, YNODE_MAP, YNODE_SEQ };

struct ynode {
	enum ynode_kind kind;
	const char *file;       /* interned in the rctx */
	int line, col;          /* 1-based */
	char *str;              /* scalars: the value, NUL-terminated (may hold NULs) */
	size_t len;
	int plain;              /* plain and untagged: may be read as null, bool or number */
	struct ynode **keys;    /* maps: keys[i] is a scalar, vals[i] its value */
	struct ynode **vals;    /* maps: values; sequences: the items */
	size_t n, cap;
	struct ynode *pending_key; /* maps, while being built */
};

struct rdiag {
	const char *file;
	int line, col;
	int warning;
	size_t seq;             /* discovery order, to keep sorting stable */
	char *msg;
};

/* One recipe file that took part (the top one and its `extends` parents). */
struct rfile {
	char *name;             /* as shown in messages */
	char *dir;              /* realpath of its directory, or NULL if that does not exist */
};

struct rctx {
	struct rdiag *diags;
	size_t n_diags, cap_diags;
	int n_errors;
	struct rfile *files;
	size_t n_files;
	size_t nodes_used, bytes_used; /* alias-expansion budget, for the whole load */
};

/* Diagnostics. */
__attribute__((format(printf, 3, 4))) void rerr(struct rctx *c, const struct ynode *at, const char *fmt, ...);
__attribute__((format(printf, 3, 4))) void rwarn(struct rctx *c, const struct ynode *at, const char *fmt, ...);
__attribute__((format(printf, 5, 6))) void rerr_at(struct rctx *c, const char *file, int line, int col,
						  const char *fmt, ...);
/* Prints every diagnostic sorted by file, line and column (each once),
 * to `out` when given, else on stderr with diag_at(). */
void rctx_flush(struct rctx *c, struct strbuf *out);
/* Interns a file name; the result lives as long as the rctx (or the recipe it is given to). */
const char *rctx_add_file(struct rctx *c, const char *name);
const struct rfile *rctx_file(const struct rctx *c, const char *interned);
void rctx_release(struct rctx *c);

/* "did you mean": the candidate closest to word, or NULL when none is close. */
const char *closest_word(const char *word, const char *const *candidates);

/* The YAML tree. */
struct ynode *yaml_parse_tree(struct rctx *c, const char *file, const char *data, size_t len);
void ynode_free(struct ynode *n);
struct ynode *ynode_map_get(const struct ynode *map, const char *key);
/* Removes key from map and returns its value (the key node is freed). */
struct ynode *ynode_map_take(struct ynode *map, const char *key);
int ynode_is_null(const struct ynode *n);
/* "a map", "a list", "null" or the quoted scalar, for "expected X, got Y". */
const char *ynode_describe(const struct ynode *n, char *buf, size_t size);

/* Reads `file` (or `data` when not NULL) and its extends chain into one tree. */
struct ynode *recipe_read_tree(struct rctx *c, const char *file, const char *data, size_t len);

/* ---- recipe_schema.c: typed reading of tree values, each problem reported ---- */

/* A field's name in messages, e.g. "files[2].mode". */
struct label {
	char s[160];
};
__attribute__((format(printf, 1, 2))) struct label field_label(const char *fmt, ...);

/* What a string must look like; explain says it in words for the message. */
struct str_rule {
	int (*ok)(const char *s);
	const char *noun;
	const char *explain;
};
extern const struct str_rule RULE_NAME, RULE_VERSION, RULE_PACKAGE, RULE_MODULE, RULE_UNIT, RULE_LOGIN,
	RULE_HOSTNAME, RULE_OWNER, RULE_PASSWORD, RULE_SSH_KEY, RULE_ABS_PATH, RULE_SUITE, RULE_MIRROR,
	RULE_COMMAND, RULE_LINE, RULE_HTTP_URL, RULE_OSTREE_REF;

struct recipe_pos pos_of(const struct ynode *n);
/* The value of key, or NULL when it is absent or null. */
struct ynode *field(const struct ynode *map, const char *key);
void check_keys(struct rctx *c, const struct ynode *map, const char *where, const char *const *allowed);
void missing_key(struct rctx *c, const struct ynode *map, const char *where, const char *key);
/* Each returns 0 when *out was set, -1 after reporting a problem. */
int expect_kind(struct rctx *c, const struct ynode *n, const char *label, enum ynode_kind kind);
int read_string(struct rctx *c, const struct ynode *n, const char *label, const struct str_rule *rule,
		char **out);
int read_int(struct rctx *c, const struct ynode *n, const char *label, long min, long max, long *out);
int read_bool(struct rctx *c, const struct ynode *n, const char *label, int *out);
int read_enum(struct rctx *c, const struct ynode *n, const char *label, const char *noun,
	      const char *const *values, int *index);
/* Lists of strings; `unique` drops repeated items silently (lists append
 * across `extends`, so a child may repeat what its parent has). */
int read_list(struct rctx *c, const struct ynode *n, const char *label, const struct str_rule *rule, int unique,
	      struct string_list *out);
int read_enum_list(struct rctx *c, const struct ynode *n, const char *label, const char *noun,
		   const char *const *values, struct string_list *out);
void list_add(struct string_list *l, const char *s, struct recipe_pos pos);
int list_has(const struct string_list *l, const char *s);
/* A host path relative to the directory of the file that names it, which it
 * may not leave (also not through symlinks). *abs is its realpath. */
int resolve_source(struct rctx *c, const struct ynode *n, const char *label, char **abs, int *is_dir);
/* A host directory given absolute or relative to the directory of the file
 * that names it (it may be anywhere: an OSTree repository). *abs is its realpath. */
int resolve_host_dir(struct rctx *c, const struct ynode *n, const char *label, char **abs);
/* Reports every later occurrence of a key already seen: "LIST[i].FIELD: duplicate NOUN ...". */
void report_duplicates(struct rctx *c, size_t n, char *const *keys, struct ynode *const *nodes,
		       const char *list, const char *fieldname, const char *noun, int quoted);

/* ---- recipe_validate.c, recipe_items.c, recipe_hygiene.c ---- */

struct vctx {
	struct rctx *c;
	struct recipe *r;
	const struct ynode *boot_node;       /* disk.boot, when given */
	const struct ynode *kernel_pkg_node; /* kernel.package, when given */
	int base_known;                      /* r->base.kind is meaningful */
};
void read_files(struct vctx *v, const struct ynode *root);
void read_users(struct vctx *v, const struct ynode *root);
void read_checks(struct vctx *v, const struct ynode *root);
/* recipe_hygiene.c */
void read_hygiene(struct vctx *v, const struct ynode *root);

/* The merged tree -> r. Returns 0 when no error was found. */
int recipe_from_tree(struct rctx *c, struct ynode *root, struct recipe *r);
/* sha256 over the canonical JSON and every source file; 0 or -1 (reported). */
int recipe_compute_hash(struct rctx *c, struct recipe *r);

/* s (len bytes, NULs allowed) as a JSON string literal that YAML also reads back verbatim. */
void json_string(struct strbuf *sb, const char *s, size_t len);

/* Path helpers. */
char *relative_path(const char *from_dir, const char *to);
/* "/var/www//html/" -> "/var/www/html": one spelling per image path, for duplicates. */
char *normalize_path(const char *p);

#endif
