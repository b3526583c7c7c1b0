/* testutil.h - tiny assertion helpers shared by the tests. A failed check
 * prints file:line and the expression and counts a failure; main returns
 * test_done(), which also fails when no check ran at all. */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int test_failures;
static int test_checks;

#define CHECK(cond) do { test_checks++; if (!(cond)) { test_failures++; \
    fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define CHECK_MSG(cond, ...) do { test_checks++; if (!(cond)) { test_failures++; \
    fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)
#define CHECK_NEAR(a, b, tol) do { double a_ = (a), b_ = (b); test_checks++; \
    if (!(fabs(a_ - b_) <= (tol))) { test_failures++; \
    fprintf(stderr, "%s:%d: %s = %.9g, %s = %.9g, differ by more than %g\n", \
            __FILE__, __LINE__, #a, a_, #b, b_, (double)(tol)); } } while (0)

/* A test that ran no check proves nothing (a setup that returned early, a
 * loop over nothing): that fails too. Skips exit 77 without test_done. */
static inline int test_done(const char *name)
{
    printf("%s: %d checks, %d failed\n", name, test_checks, test_failures);
    if (test_checks == 0) {
        fprintf(stderr, "%s: FAIL: no check ran\n", name);
        return 1;
    }
    return test_failures ? 1 : 0;
}

static inline unsigned long long test_seed(unsigned long long s)
{
    const char *e = getenv("NN_TEST_SEED");
    return e ? strtoull(e, NULL, 10) : s;
}

#endif
