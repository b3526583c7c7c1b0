/* util.c - errors, aligned allocation, random numbers, the clock and the
 * whole-file writer. Depends on nothing else of the engine. */
#include "nn_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <xmmintrin.h>
#define NN_MXCSR_FTZ_DAZ 0x8040u

unsigned nn_fp_enter(void)
{
    unsigned saved = _mm_getcsr();
    _mm_setcsr(saved | NN_MXCSR_FTZ_DAZ);
    return saved;
}

void nn_fp_leave(unsigned saved) { _mm_setcsr(saved); }
#else
unsigned nn_fp_enter(void) { return 0; }
void nn_fp_leave(unsigned saved) { (void)saved; }
#endif

#ifdef NN_X86
#include <cpuid.h>

int nn__os_saves(uint64_t need)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE))
        return 0;
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((((uint64_t)hi << 32) | lo) & need) == need;
}
#endif

static _Thread_local char err_buf[512];

const char *nn_error(void) { return err_buf; }

const char *nn_version(void) { return NN_VERSION_STRING; }

static void set_error(const char *fmt, va_list ap)
{
    vsnprintf(err_buf, sizeof err_buf, fmt, ap);
}

int nn_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_error(fmt, ap);
    va_end(ap);
    return -1;
}

void *nn_fail_null(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_error(fmt, ap);
    va_end(ap);
    return NULL;
}

int nn_mul_size(size_t a, size_t b, size_t *out)
{
    if (a && b > SIZE_MAX / a)
        return -1;
    *out = a * b;
    return 0;
}

void *nn_alloc(size_t bytes)
{
    /* 64-byte alignment keeps SIMD loads on one cache line. */
    size_t rounded = (bytes + 63) & ~(size_t)63;
    if (rounded < bytes)
        return nn_fail_null("out of memory (%zu bytes)", bytes);
    void *p = aligned_alloc(64, rounded ? rounded : 64);
    if (!p)
        return nn_fail_null("out of memory (%zu bytes)", bytes);
    return p;
}

void *nn_zalloc(size_t bytes)
{
    void *p = nn_alloc(bytes);
    if (p)
        memset(p, 0, bytes);
    return p;
}

void nn_free(void *p) { free(p); }

float nn_rand_normal(uint64_t *s)
{
    /* Box-Muller; one of the pair is dropped, simplicity over speed. */
    float u1 = nn_rand_uniform(s), u2 = nn_rand_uniform(s);
    if (u1 < 1e-12f)
        u1 = 1e-12f;
    return sqrtf(-2.0f * logf(u1)) * cosf(6.28318530718f * u2);
}

double nn_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int nn__write_file(const char *path, const void *data, size_t len)
{
    size_t plen = strlen(path);
    const char *what = NULL;
    int err = 0;
    if (plen == 0)
        return nn_fail("cannot save: empty file name");
    /* A name of its own, never a fixed PATH.tmp: that could be a file of
     * the user's, truncated and renamed over path. O_EXCL with mode 0666,
     * so the umask applies as for a plain fopen (mkstemp makes 0600, and
     * reading the umask would change it for every thread). */
    char *tmp = malloc(plen + 32);
    if (!tmp)
        return nn_fail("%s: out of memory", path);
    int fd = -1;
    unsigned long long seed = (unsigned long long)getpid() * 2654435761ULL ^ (unsigned long long)(nn_now() * 1e9);
    for (int i = 0; fd < 0 && i < 100; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        snprintf(tmp, plen + 32, "%s.tmp-%06llx", path, (seed >> 40) & 0xffffff);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!f) {
        err = errno;
        nn_fail("%s: cannot create %s: %s", path, tmp, strerror(err));
        if (fd >= 0) {
            close(fd);
            remove(tmp);
        }
        free(tmp);
        return -1;
    }
    if (fwrite(data, 1, len, f) != len || fflush(f) != 0) {
        what = "write";
        err = errno;
    } else if (fsync(fileno(f)) != 0 && errno != EINVAL) { /* EINVAL: cannot sync this file */
        what = "sync";
        err = errno;
    }
    if (fclose(f) != 0 && !what) {
        what = "close";
        err = errno;
    }
    if (!what && rename(tmp, path) != 0) {
        what = "rename";
        err = errno;
    }
    if (what)
        remove(tmp);
    free(tmp);
    return what ? nn_fail("%s: %s failed: %s", path, what, strerror(err ? err : EIO)) : 0;
}
