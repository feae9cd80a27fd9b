/* tests/unit/test_dlopen.c: libraries loaded on first use (util/dlopen.h): found, missing, short of a symbol, misused. */
#include "tests/unit/test.h"
#include "builder/ostree_dl.h"
#include "inspect/guestfs_dl.h"
#include "util/dlopen.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

/* A library that loads: zlib (no shared library this binary links calls
 * zlibCompileFlags, so defining it here shadows nothing they use). */
#define ZLIB_FUNCTIONS(FN, VOID, PTR) FN(uLong, zlibCompileFlags, (void), ())
DLIB_DEFINE(ZLIB_FUNCTIONS, zlib, "zlib", "libz.so.1", "zlib1g")

/* A library that is not there. */
int apkg_test_missing(int);
#define MISSING_FUNCTIONS(FN, VOID, PTR) FN(int, apkg_test_missing, (int a), (a))
DLIB_DEFINE(MISSING_FUNCTIONS, missing, "libapkg-missing", "libapkg-missing.so.0", "apkg-missing")

/* A library that lacks one of the functions asked for. */
void apkg_test_absent(void);
#define PARTIAL_FUNCTIONS(FN, VOID, PTR) PTR(deflateEnd) VOID(apkg_test_absent, (void), ())
DLIB_DEFINE(PARTIAL_FUNCTIONS, partial, "zlib", "libz.so.1", "zlib1g")

static void test_loads(void)
{
	CHECK(dlib_load(&zlib) == NULL);
	CHECK(DLIB_FN(zlibCompileFlags) != NULL);
	CHECK(zlibCompileFlags() == DLIB_FN(zlibCompileFlags)());
	CHECK(dlib_load(&zlib) == NULL); /* once is enough; again is harmless */
}

static void test_missing(void)
{
	const char *why = dlib_load(&missing);
	CHECK(why && strstr(why, "libapkg-missing (Debian package apkg-missing): libapkg-missing.so.0: "));
	CHECK(why && strstr(why, "cannot open shared object file"));
	CHECK(DLIB_FN(apkg_test_missing) == NULL);
	CHECK(dlib_load(&missing) == why); /* the outcome is kept, not retried */
}

static void test_partial(void)
{
	const char *why = dlib_load(&partial);
	CHECK(why && strstr(why, "zlib (Debian package zlib1g): "));
	CHECK(why && strstr(why, "undefined symbol: apkg_test_absent"));
	CHECK(DLIB_FN(deflateEnd) == NULL); /* all or nothing */
}

/* A forwarding function called without a successful load aborts, naming itself. */
static void test_unloaded_aborts(void)
{
	int p[2];
	CHECK(pipe(p) == 0);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[1], 2);
		apkg_test_absent();
		_exit(0);
	}
	close(p[1]);
	char buf[256] = "";
	ssize_t n = read(p[0], buf, sizeof buf - 1);
	buf[n > 0 ? n : 0] = 0;
	close(p[0]);
	int status = 0;
	waitpid(pid, &status, 0);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
	CHECK(strstr(buf, "apkg_test_absent() called before its library was loaded") != NULL);
}

/* Every function apkg forwards exists in the libraries installed here. */
static void test_real_libraries(void)
{
	const char *why = ostree_dl_load();
	CHECK_STR(why ? why : "loaded", "loaded");
	why = guestfs_dl_load();
	CHECK_STR(why ? why : "loaded", "loaded");
}

int main(void)
{
	RUN(test_loads);
	RUN(test_missing);
	RUN(test_partial);
	RUN(test_unloaded_aborts);
	RUN(test_real_libraries);
	TEST_MAIN_END();
}
