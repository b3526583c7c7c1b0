/* util.c - errors, aligned allocation, random numbers, clock and the image
 * preprocessing every caller shares. */
#include "nn_impl.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* Same arithmetic as OpenCV's equalizeHist: the LUT maps the cumulative
 * histogram above the darkest occupied bin onto 0..255, rounded with
 * lrintf (cvRound), so faces equalized here match faces OpenCV equalized.
 * A single-valued image maps to itself. */
static void equalize_lut(const uint8_t *img, size_t total, uint8_t lut[256])
{
    size_t hist[256] = {0};
    memset(lut, 0, 256);
    for (size_t i = 0; i < total; i++)
        hist[img[i]]++;
    int i = 0;
    while (i < 255 && !hist[i])
        i++;
    if (hist[i] == total) {
        lut[i] = (uint8_t)i;
        return;
    }
    float scale = 255.0f / (float)(total - hist[i]);
    size_t sum = 0;
    for (i++; i < 256; i++) {
        sum += hist[i];
        long v = lrintf((float)sum * scale);
        lut[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
}

void nn_equalize_u8(uint8_t *img, int w, int h)
{
    size_t total = (size_t)w * h;
    uint8_t lut[256];
    if (total == 0)
        return;
    equalize_lut(img, total, lut);
    for (size_t k = 0; k < total; k++)
        img[k] = lut[img[k]];
}

void nn_preprocess_u8(const nn_net *net, const uint8_t *gray, float *out)
{
    int c, h, w;
    nn_net_input_shape(net, &c, &h, &w);
    const size_t n = (size_t)h * w;
    const nn_preproc *p = nn_net_preproc_c(net);
    /* Equalization, scaling and bias folded into one table. */
    float table[256];
    uint8_t lut[256];
    if (p->equalize)
        equalize_lut(gray, n, lut);
    for (int v = 0; v < 256; v++)
        table[v] = (p->equalize ? lut[v] : v) * p->scale + p->bias;
    for (size_t i = 0; i < n; i++)
        out[i] = table[gray[i]];
    /* Colour models get the gray face in every channel. */
    for (int ch = 1; ch < c; ch++)
        memcpy(out + ch * n, out, n * sizeof *out);
}
