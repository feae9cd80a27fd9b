/* tests/unit/test.h: a minimal unit-test harness.
 *
 * Each test file defines test functions and a main() that calls RUN(fn).
 * CHECK failures are counted; the program prints "N passed, N failed" and
 * exits non-zero if anything failed, so tests/run_all.sh can aggregate.
 */
#ifndef APKG_TESTS_TEST_H
#define APKG_TESTS_TEST_H

#include <stdio.h>
#include <string.h>

static int test_failures, test_passed, test_failed;

#define CHECK(cond)                                                                    \
	do {                                                                           \
		if (!(cond)) {                                                         \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
			test_failures++;                                               \
		}                                                                      \
	} while (0)

#define CHECK_STR(a, b)                                                                          \
	do {                                                                                     \
		const char *a_ = (a), *b_ = (b);                                                 \
		if (!a_ || !b_ || strcmp(a_, b_)) {                                              \
			fprintf(stderr, "%s:%d: expected \"%s\", got \"%s\"\n", __FILE__, __LINE__, \
				b_ ? b_ : "(null)", a_ ? a_ : "(null)");                         \
			test_failures++;                                                         \
		}                                                                                \
	} while (0)

#define RUN(fn)                                                         \
	do {                                                            \
		int before_ = test_failures;                            \
		fn();                                                   \
		if (test_failures == before_) {                         \
			test_passed++;                                  \
		} else {                                                \
			test_failed++;                                  \
			fprintf(stderr, "FAIL %s\n", #fn);              \
		}                                                       \
	} while (0)

#define TEST_MAIN_END()                                                         \
	do {                                                                    \
		printf("%d passed, %d failed\n", test_passed, test_failed);     \
		return test_failed ? 1 : 0;                                     \
	} while (0)

#endif
