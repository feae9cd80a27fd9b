/* kernel/moddb.h: an in-memory index of a kernel's module metadata files.
 *
 * Parses modules.dep, modules.builtin, modules.softdep and modules.alias (the files depmod
 * writes) and answers: is this name a module, built in, or an alias; what must be loaded
 * before it. The files may come from a downloaded package or an image, so they are parsed as
 * untrusted text: every module path must be relative and free of `..`, malformed lines are
 * errors with a line number, and nothing is read outside the buffers given.
 */
#ifndef APKG_KERNEL_MODDB_H
#define APKG_KERNEL_MODDB_H

#include <stddef.h>

struct module_entry {
	char *name;    /* normalized: basename without .ko[.xz|.zst|.gz], '-' -> '_' */
	char *path;    /* relative to modules_dir, as written in modules.dep */
	char **deps;   /* paths, as written in modules.dep */
	size_t n_deps;
};

struct module_softdep {
	char *module;       /* normalized name of the module the line is about */
	char **pre, **post; /* names to load before / after it (may be aliases) */
	size_t n_pre, n_post;
};

struct module_alias {
	char *pattern; /* fnmatch pattern, normalized outside brackets */
	char *module;  /* normalized module name */
};

struct module_db {
	struct module_entry *mods; /* sorted by name */
	size_t n_mods;
	char **builtin;            /* sorted normalized names */
	size_t n_builtin;
	struct module_softdep *softdeps;
	size_t n_softdeps;
	struct module_alias *aliases;
	size_t n_aliases;
	char *modules_dir;         /* for loading modules.alias lazily; NULL when parsed from memory */
	int aliases_loaded;
};

/* Reads modules.dep (required), modules.builtin and modules.softdep (optional) from modules_dir.
 * modules.alias is read on the first alias lookup. */
int module_db_load(struct module_db *db, const char *modules_dir);
/* Parsers of each file's text; each may be called once per db, in any order. */
int module_db_parse_dep(struct module_db *db, const char *text, size_t len);
int module_db_parse_builtin(struct module_db *db, const char *text, size_t len);
int module_db_parse_softdep(struct module_db *db, const char *text, size_t len);
int module_db_parse_alias(struct module_db *db, const char *text, size_t len);
void module_db_release(struct module_db *db);

const struct module_entry *module_db_find(const struct module_db *db, const char *name);
int module_db_is_builtin(const struct module_db *db, const char *name);
/* Load order of the closure of names (see kernel_module_closure); paths are copies. */
int module_db_closure(struct module_db *db, const char *const *names, size_t n, char ***paths_out, size_t *n_out);

/* Normalizes a module name in place: '-' -> '_' (outside [...] when it is a pattern). */
void module_name_normalize(char *s);

#endif
