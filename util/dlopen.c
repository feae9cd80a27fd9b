/* util/dlopen.c: loading an optional library and resolving its symbols (see dlopen.h). */
#include "util/dlopen.h"

#include "util/strbuf.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void forget_symbols(struct dlib *lib)
{
	for (size_t i = 0; i < lib->n_symbols; i++)
		*lib->symbols[i].slot = NULL;
}

/* The flags:
 * RTLD_NOW: a library whose own dependencies are broken (a missing or
 *   mismatched libglib) fails here, where the caller reports it, and not
 *   later in the middle of a build with the dynamic linker killing the
 *   process. Debian builds these libraries with BIND_NOW anyway, so it
 *   costs nothing more.
 * RTLD_LOCAL: nothing else resolves against these symbols; apkg reaches
 *   them through dlsym() on the handle, which searches the library and
 *   its dependencies (GLib's g_* through libostree's handle). RTLD_GLOBAL
 *   would only let later dlopens bind to them by accident.
 * No RTLD_DEEPBIND: AddressSanitizer refuses it, and the libraries do not
 *   need it, apkg exporting none of its forwarding definitions.
 * The handle is never closed: the libraries start threads and register
 *   exit handlers of their own (GLib's worker, libguestfs' close-on-exit). */
static char *load(struct dlib *lib)
{
	lib->handle = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
	if (!lib->handle)
		return xasprintf("%s (Debian package %s): %s", lib->name, lib->package, dlerror());
	for (size_t i = 0; i < lib->n_symbols; i++) {
		dlerror();
		*lib->symbols[i].slot = dlsym(lib->handle, lib->symbols[i].name);
		if (!*lib->symbols[i].slot) {
			const char *e = dlerror();
			char *why = xasprintf("%s (Debian package %s): %s", lib->name, lib->package,
					      e ? e : lib->symbols[i].name);
			forget_symbols(lib);
			dlclose(lib->handle);
			lib->handle = NULL;
			return why;
		}
	}
	return NULL;
}

const char *dlib_load(struct dlib *lib)
{
	pthread_mutex_lock(&lock);
	if (!lib->tried) {
		lib->error = load(lib);
		lib->tried = 1;
	}
	pthread_mutex_unlock(&lock);
	return lib->error;
}

void dlib_unloaded(const char *fn)
{
	fprintf(stderr, "apkg: internal error: %s() called before its library was loaded\n", fn);
	abort();
}
