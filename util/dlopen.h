/* util/dlopen.h: heavy optional libraries, loaded on first use with dlopen.
 *
 * libguestfs (apkg inspect) and libostree with GLib (the ostree base and
 * output, the stage cache) cost about 10 ms each to map and relocate at
 * process start, which every command paid although few use them. They are
 * not linked any more: the file that speaks to one (inspect/guestfs_dl.c,
 * builder/ostree_dl.c) defines, under their real names, exactly the
 * functions apkg calls, each forwarding to the symbol that dlib_load()
 * resolved. Callers keep including the real headers, so the compiler
 * checks every call and every forwarding definition against the library's
 * own prototypes, and the headers' macros and inline functions
 * (G_VARIANT_TYPE, OSTREE_REPO_FILE, ...) link to these definitions too.
 * The definitions are not exported (apkg is not linked -rdynamic), so the
 * libraries keep binding to their own symbols.
 *
 * Promises: dlib_load() is thread-safe, tries once per process and returns
 * NULL when every symbol resolved, else a message that names the library,
 * its Debian package and what went wrong, for the caller to report. A
 * forwarding function reached without a successful load is a programming
 * error: it aborts with the function's name, never calls through NULL. A
 * thread may call forwarding functions once it has called dlib_load()
 * itself or was started after a call to it returned (the pointers are
 * plain: written once, under dlib_load()'s lock).
 */
#ifndef APKG_UTIL_DLOPEN_H
#define APKG_UTIL_DLOPEN_H

#include <stdarg.h>
#include <stddef.h>

struct dlib_symbol {
	const char *name;
	void **slot; /* a function pointer, set by dlib_load() */
};

struct dlib {
	const char *name;    /* what the messages call it: "libguestfs" */
	const char *soname;  /* the versioned name, as the package installs it: "libguestfs.so.0" */
	const char *package; /* the Debian package that has it: "libguestfs0" */
	const struct dlib_symbol *symbols;
	size_t n_symbols;
	int tried;           /* the rest belongs to dlib_load() */
	char *error;
	void *handle;
};

/* Loads lib and resolves every symbol: NULL, or the reason it could not,
 * "libguestfs (Debian package libguestfs0): libguestfs.so.0: cannot open
 * shared object file: ...", which stays valid for the life of the process.
 * The outcome is kept: later calls return it at once. */
const char *dlib_load(struct dlib *lib);

/* Aborts: fn was called before its library was loaded. */
__attribute__((noreturn)) void dlib_unloaded(const char *fn);

/* A library's functions are an X-macro list, LIST(FN, VOID, PTR), with one
 * entry a function:
 *   FN(ret, name, (params), (args))   forwarded, returns a value
 *   VOID(name, (params), (args))      forwarded, returns nothing
 *   PTR(name)                         only resolved: the variadic functions'
 *                                     va_list variants, for the hand-written
 *                                     wrappers in the same file
 * DLIB_DEFINE(LIST, var, name, soname, package) then defines the pointers, the
 * struct dlib var that dlib_load() takes, and the forwarding functions. A
 * hand-written wrapper calls DLIB_FN(name) after DLIB_CHECK(name); the
 * slots are set all together or not at all, so one check covers a wrapper. */
#define DLIB_FN(name) dlib_fn_##name
#define DLIB_CHECK(name)                        \
	do {                                    \
		if (!DLIB_FN(name))             \
			dlib_unloaded(#name);   \
	} while (0)

#define DLIB_SLOT_PTR(name) static __typeof__(name) *DLIB_FN(name);
#define DLIB_SLOT_FN(ret, name, params, args) DLIB_SLOT_PTR(name)
#define DLIB_SLOT_VOID(name, params, args) DLIB_SLOT_PTR(name)
#define DLIB_SYM_PTR(name) {#name, (void **)&DLIB_FN(name)},
#define DLIB_SYM_FN(ret, name, params, args) DLIB_SYM_PTR(name)
#define DLIB_SYM_VOID(name, params, args) DLIB_SYM_PTR(name)
/* The name is parenthesised: some (g_str_equal) are also function-like macros. */
#define DLIB_DEF_FN(ret, name, params, args) \
	ret(name) params                     \
	{                                    \
		DLIB_CHECK(name);            \
		return DLIB_FN(name) args;   \
	}
#define DLIB_DEF_VOID(name, params, args) \
	void(name) params                 \
	{                                 \
		DLIB_CHECK(name);         \
		DLIB_FN(name) args;       \
	}
#define DLIB_DEF_PTR(name)

/* A variadic function that its library defines as va_start and a call to
 * name##_va (listed as PTR): params end with "...", last is the parameter
 * before it, and args, the arguments of name##_va, name the va_list ap. */
#define DLIB_DEF_VA(ret, name, params, last, args) \
	ret name params                            \
	{                                          \
		va_list ap;                        \
		DLIB_CHECK(name##_va);             \
		va_start(ap, last);                \
		ret r_ = DLIB_FN(name##_va) args;  \
		va_end(ap);                        \
		return r_;                         \
	}

#define DLIB_DEFINE(LIST, var, name, soname, package)                                                  \
	LIST(DLIB_SLOT_FN, DLIB_SLOT_VOID, DLIB_SLOT_PTR)                                              \
	static const struct dlib_symbol var##_symbols[] = {LIST(DLIB_SYM_FN, DLIB_SYM_VOID, DLIB_SYM_PTR)}; \
	static struct dlib var = {name, soname, package, var##_symbols, sizeof var##_symbols / sizeof *var##_symbols, \
				  0, NULL, NULL};                                                      \
	LIST(DLIB_DEF_FN, DLIB_DEF_VOID, DLIB_DEF_PTR)

#endif
