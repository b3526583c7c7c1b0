/* test_noalloc.c - after warm-up, classifying a face allocates nothing:
 * malloc and friends are wrapped here to count calls around steady-state
 * forward passes (batch of one, and a batch no larger than one seen
 * before), with one and two threads, in FP32 and INT8. Under a sanitizer, which owns the
 * allocator, the test has nothing to count and is skipped. */
#include "nn.h"
#include "testutil.h"

#include <stddef.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define NO_WRAP 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NO_WRAP 1
#endif
#endif

#ifndef NO_WRAP
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static volatile int counting;
static volatile long calls;

void *malloc(size_t n)
{
    if (counting)
        calls++;
    return __libc_malloc(n);
}
void *calloc(size_t a, size_t b)
{
    if (counting)
        calls++;
    return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n)
{
    if (counting)
        calls++;
    return __libc_realloc(p, n);
}
void *aligned_alloc(size_t al, size_t n)
{
    if (counting)
        calls++;
    return __libc_memalign(al, n);
}
int posix_memalign(void **out, size_t al, size_t n)
{
    if (counting)
        calls++;
    *out = __libc_memalign(al, n);
    return *out ? 0 : 12;
}
#endif

int main(void)
{
#ifdef NO_WRAP
    puts("test_noalloc: skipped under a sanitizer");
    return 77;
#else
    const char *archs[] = {"fer-classic", "fer-vgg"};
    for (int a = 0; a < 2; a++)
        for (int threads = 1; threads <= 4; threads++) {
            int int8 = threads > 2;
            nn_net *net = nn_net_from_arch(archs[a], 7);
            CHECK(net != NULL);
            if (!net)
                continue;
            nn_net_init(net, 1);
            CHECK(nn_net_set_threads(net, threads > 2 ? threads - 2 : threads) == 0);
            float *x = malloc(8 * 48 * 48 * sizeof *x);
            for (int i = 0; i < 8 * 48 * 48; i++)
                x[i] = (float)(i % 251) / 251.0f;
            if (int8) { /* runs 3 and 4: INT8 on 1 and 2 threads */
                CHECK(nn_net_calibrate_int8(net, x, 8) == 0);
                CHECK(nn_net_set_precision(net, NN_PRECISION_INT8) == 0);
            }
            /* warm-up: the largest batch first, then one face */
            CHECK(nn_net_forward(net, x, 8, 0) != NULL);
            CHECK(nn_net_forward(net, x, 1, 0) != NULL);
            calls = 0;
            counting = 1;
            for (int rep = 0; rep < 5; rep++) {
                nn_net_forward(net, x, 1, 0);
                nn_net_forward(net, x, 3, 0);
            }
            counting = 0;
            CHECK_MSG(calls == 0, "%s, %d thread(s)%s: %ld allocations in steady state", archs[a],
                      int8 ? threads - 2 : threads, int8 ? ", INT8" : "", calls);
            free(x);
            nn_net_free(net);
        }
    return test_done("test_noalloc");
#endif
}
