/*
 * gemm_internal.h - the contract between the portable GEMM driver (gemm.c)
 * and the per-ISA kernels (gemm_ref.c, gemm_avx2.c, gemm_avx512.c,
 * gemm_avx512bf16.c), and the choice among them (gemm_choice.c).
 *
 * BLIS style: gemm.c packs op(A) into MR-row micro-panels and op(B) into
 * NR-column micro-panels, blocks for the caches, and calls the micro-kernel
 * on one MR x NR tile of C at a time. A kernel file supplies the
 * micro-kernel, two small-M routines, the two packing routines and its
 * blocking sizes, so it is the only code compiled with its ISA's flags.
 */
#ifndef NN_GEMM_INTERNAL_H
#define NN_GEMM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * Micro-kernel: C[m][n] = alpha * (a * b) + beta * C for one tile, where
 *   a: packed A, k steps of MR floats (row values for one k), zero-padded;
 *   b: k steps of NR floats, ldb apart: a packed, zero-padded panel
 *      (ldb = NR), or B itself read in place (ldb = B's leading dimension);
 *      NR floats are always read, whatever n is;
 *   m <= MR, n <= NR: the valid part of the tile (edges of C);
 * beta == 0 writes C without reading it. k may be 0 (then C = beta * C,
 * or zeros).
 */
typedef void (*nn_ukr_fn)(int k, const float *a, const float *b, ptrdiff_t ldb, float *c,
                          ptrdiff_t ldc, float alpha, float beta, int m, int n);

/*
 * Small-M paths (M up to NN_SMALL_M rows), used where packing would cost
 * more than it saves (a dense layer at batch 1). A's rows are contiguous
 * (a + i*lda, K floats).
 *  rows_bt: B is [N][K] (op(B) = B^T): C[i][j] = alpha*dot(A_i, B_j) + beta*C.
 *  rows_bn: B is [K][N]:               C[i][:] = alpha*sum_p A_i[p]*B_p + beta*C.
 */
#define NN_SMALL_M 4
typedef void (*nn_small_fn)(int m, int N, int K, float alpha,
                            const float *A, ptrdiff_t lda,
                            const float *B, ptrdiff_t ldb,
                            float beta, float *C, ptrdiff_t ldc);

/*
 * Defines `static void NAME(m, N, K, ...)` (an nn_small_fn) calling
 * ROWS(M, N, K, ...) on blocks of 4 rows, then on the 1-3 left, always with
 * a constant M so that each instance keeps its accumulators in registers.
 */
#define NN_SMALL_M_BY_CONSTANT_ROWS(NAME, ROWS)                                               \
    static void NAME(int m, int N, int K, float alpha, const float *A, ptrdiff_t lda,         \
                     const float *B, ptrdiff_t ldb, float beta, float *C, ptrdiff_t ldc)      \
    {                                                                                         \
        for (; m >= 4; m -= 4, A += 4 * lda, C += 4 * ldc)                                    \
            ROWS(4, N, K, alpha, A, lda, B, ldb, beta, C, ldc);                               \
        switch (m) {                                                                          \
        case 1: ROWS(1, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;                    \
        case 2: ROWS(2, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;                    \
        case 3: ROWS(3, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;                    \
        default: break;                                                                       \
        }                                                                                     \
    }


/*
 * Packing one micro-panel: dst[p*w + j] for p < k, j < w, zero for j >= nv
 * (w = MR for A, NR for B; the driver may also call them on a few rows of
 * a panel at a time).
 *  pack_n: from src[p*ld + j]  (src rows run along j): op(B) = B, op(A) = A^T
 *  pack_t: from src[j*ld + p]  (src rows run along p): op(B) = B^T, op(A) = A
 */
typedef void (*nn_pack_fn)(const float *src, ptrdiff_t ld, int k, int nv, int w,
                           float *dst);

typedef struct nn_gemm_kernel {
    const char *name;
    int mr, nr;          /* micro-tile */
    int mc, kc, nc;      /* cache blocks: mc % mr == 0, nc % nr == 0 */
    nn_ukr_fn ukr;
    nn_small_fn rows_bt, rows_bn;
    nn_pack_fn pack_n, pack_t;
    /* NULL, or the same ISA with a smaller MR, used when M is a multiple of
     * its MR and MR rows would waste a noticeable share on padding */
    const struct nn_gemm_kernel *alt;
    /* 0: panels hold floats. 1: panels hold BF16 pairs (two k steps in 32
     * bits, see gemm_avx512bf16.c), so k steps p.. start at float offset
     * (p >> 1) * width; a panel of k steps fills half its float room. The
     * micro-kernel then always gets packed B (ldb = NR), and rows_bt and
     * rows_bn may be NULL (the FP32 ones serve). */
    int pairs;
    /* BF16 kernels only (NULL otherwise): pack_t for columns j < nv only,
     * leaving dst's columns nv..w-1 as they are, so that passes making a
     * few columns each can fill one panel (see nn_sgemm_bt_kept_rows). */
    nn_pack_fn pack_t_part;
} nn_gemm_kernel;

extern const nn_gemm_kernel nn_gemm_kernel_ref;
#ifdef NN_X86
extern const nn_gemm_kernel nn_gemm_kernel_avx2;
extern const nn_gemm_kernel nn_gemm_kernel_avx512;
extern const nn_gemm_kernel nn_gemm_kernel_avx512bf16;
#endif

/* ---- the choice (gemm_choice.c) ------------------------------------------ */

/* The kernel for a GEMM mode (a shape class, maybe with NN_GEMM_BF16),
 * chosen on first use: see gemm_choice.c. */
const nn_gemm_kernel *nn__gemm_kernel(int mode);
/* Every kernel this build has, NULL-terminated, supported or not: buffers
 * sized for all of them fit whichever is chosen. */
const nn_gemm_kernel *const *nn__gemm_kernels_all(void);
/* nn_sgemm with the given kernel rather than the mode's (timing, tests). */
void nn__sgemm_with(const nn_gemm_kernel *kr, int ta, int tb, int M, int N, int K, float alpha,
                    const float *A, int lda, const float *B, int ldb, float beta, float *C,
                    int ldc);

void nn__sgemm_pack_a_with(const nn_gemm_kernel *kr, nn_packed_a *pa, int ta, int M, int K,
                           const float *A, int lda, float *buf);

/* Test hooks. nn__gemm_fastest times candidate kernels on the
 * representative shapes of class `cls` (NN_GEMM_SINGLE ...) and returns the
 * index of the fastest; secs[i] (may be NULL) gets each one's time.
 * nn__gemm_rechoose makes the choice again from the environment (NN_KERNEL,
 * the cache), as on first use; not thread-safe, for tests only. */
int nn__gemm_fastest(const nn_gemm_kernel *const *cand, int n, int cls, double *secs);
void nn__gemm_rechoose(void);
/* How the current choice was made: "measured", "cache", "NN_KERNEL" or
 * "only one" (a single candidate). */
const char *nn__gemm_choice_source(void);
/* The cache file the choice is kept in ("" when none: no home, disabled). */
const char *nn__gemm_cache_path(void);

/* ---- BF16 (bfloat16: the top half of a float) ----------------------------- */

/* FP32 -> BF16 rounded to nearest, ties to even, as VCVTNE2PS2BF16 does:
 * NaN stays NaN (made quiet), infinities stay, a subnormal input counts as
 * zero of its sign (the instruction treats denormals as zero), and values
 * that round past the largest BF16 become infinity. The scalar reference
 * for the kernels' packing and the tests. */
static inline uint16_t nn_bf16_from_f32(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7F800000u) == 0x7F800000u && (u & 0x007FFFFFu))
        return (uint16_t)((u >> 16) | 0x0040u); /* quiet NaN, payload's top kept */
    if ((u & 0x7F800000u) == 0)
        return (uint16_t)((u >> 16) & 0x8000u); /* zero or subnormal: signed zero */
    u += 0x7FFFu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static inline float nn_bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

#ifdef __AVX2__
#include <immintrin.h>

/* Transpose 8x8 floats in r[] (24 shuffles, half of them on either of two
 * ports on recent cores). */
static inline __attribute__((always_inline)) void nn__tr8x8(__m256 r[8])
{
    __m256 t[8], s[8];
    for (int q = 0; q < 8; q += 2) {
        t[q] = _mm256_unpacklo_ps(r[q], r[q + 1]);
        t[q + 1] = _mm256_unpackhi_ps(r[q], r[q + 1]);
    }
    for (int h = 0; h < 8; h += 4) {
        s[h + 0] = _mm256_shuffle_ps(t[h], t[h + 2], _MM_SHUFFLE(1, 0, 1, 0));
        s[h + 1] = _mm256_shuffle_ps(t[h], t[h + 2], _MM_SHUFFLE(3, 2, 3, 2));
        s[h + 2] = _mm256_shuffle_ps(t[h + 1], t[h + 3], _MM_SHUFFLE(1, 0, 1, 0));
        s[h + 3] = _mm256_shuffle_ps(t[h + 1], t[h + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int q = 0; q < 4; q++) {
        r[q] = _mm256_permute2f128_ps(s[q], s[q + 4], 0x20);
        r[q + 4] = _mm256_permute2f128_ps(s[q], s[q + 4], 0x31);
    }
}

/* pack_t with 8x8 and 4x4 register transposes: the transposing packs (A,
 * and B^T for dense layers and weight gradients) would otherwise move one
 * float per instruction. Shared by the AVX2 and AVX-512 kernels. */
static inline void nn__pack_t_avx2(const float *src, ptrdiff_t ld, int k, int nv, int w,
                                   float *dst)
{
    int j = 0;
    for (; j + 8 <= nv; j += 8) {
        int p = 0;
        for (; p + 8 <= k; p += 8) {
            __m256 r[8];
            for (int q = 0; q < 8; q++)
                r[q] = _mm256_loadu_ps(src + (j + q) * ld + p);
            nn__tr8x8(r);
            for (int q = 0; q < 8; q++)
                _mm256_storeu_ps(dst + (ptrdiff_t)(p + q) * w + j, r[q]);
        }
        for (; p < k; p++)
            for (int q = 0; q < 8; q++)
                dst[(ptrdiff_t)p * w + j + q] = src[(j + q) * ld + p];
    }
    for (; j + 4 <= nv; j += 4) {
        int p = 0;
        for (; p + 4 <= k; p += 4) {
            __m128 r0 = _mm_loadu_ps(src + (j + 0) * ld + p);
            __m128 r1 = _mm_loadu_ps(src + (j + 1) * ld + p);
            __m128 r2 = _mm_loadu_ps(src + (j + 2) * ld + p);
            __m128 r3 = _mm_loadu_ps(src + (j + 3) * ld + p);
            _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
            _mm_storeu_ps(dst + (ptrdiff_t)(p + 0) * w + j, r0);
            _mm_storeu_ps(dst + (ptrdiff_t)(p + 1) * w + j, r1);
            _mm_storeu_ps(dst + (ptrdiff_t)(p + 2) * w + j, r2);
            _mm_storeu_ps(dst + (ptrdiff_t)(p + 3) * w + j, r3);
        }
        for (; p < k; p++)
            for (int q = 0; q < 4; q++)
                dst[(ptrdiff_t)p * w + j + q] = src[(j + q) * ld + p];
    }
    for (; j < nv; j++)
        for (int p = 0; p < k; p++)
            dst[(ptrdiff_t)p * w + j] = src[j * ld + p];
    if (nv < w)
        for (int p = 0; p < k; p++)
            for (int q = nv; q < w; q++)
                dst[(ptrdiff_t)p * w + q] = 0.0f;
}
#endif /* __AVX2__ */

#endif /* NN_GEMM_INTERNAL_H */
