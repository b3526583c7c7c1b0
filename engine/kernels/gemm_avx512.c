/*
 * gemm_avx512.c - AVX-512F GEMM kernels. Built alone with -mavx512f -mfma
 * (see engine/meson.build); gemm.c calls it only after cpuid and xgetbv say
 * the CPU and the OS support AVX-512F.
 *
 * Micro-kernel MR x 32: two zmm of B per k step, MR broadcasts of A, 2*MR
 * accumulators (24 of the 32 zmm registers at MR = 12). Edges use mask
 * registers, so partial tiles cost no more than full ones. Measured on a
 * Sapphire Rapids core: 12x32 and 8x32 both reach ~190 GFLOPS from L1,
 * 14x32 less; 12x32 is the default and 8x32 the alternative for M = 32 or
 * 64 output channels, which 12 rows would pad by 12%.
 */
#include "nn_impl.h"
#include "gemm_internal.h"

#include <immintrin.h>
#include "avx512_tile.h"

/* Compile-time knobs, for measuring other shapes (-DAVX512_MR=14 ...). */
#ifndef AVX512_MR
#define AVX512_MR 12
#endif
#ifndef AVX512_KC
#define AVX512_KC 256
#endif
#ifndef AVX512_MC_TILES
#define AVX512_MC_TILES 12
#endif
#define MR AVX512_MR
#define NR 32
#define AI static inline __attribute__((always_inline))

/* The micro-kernel for R rows and NV vectors of 16 columns (constants
 * after inlining: the unused accumulators vanish). */
AI void ukr_rows(const int R, const int NV, int k, const float *restrict a,
                 const float *restrict b, ptrdiff_t ldb, float *restrict c, ptrdiff_t ldc,
                 float alpha, float beta, int m, int n)
{
    __m512 acc[MR][2];
#pragma GCC unroll 32
    for (int i = 0; i < R; i++)
        acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    /* Bring C's rows toward L1 while the k loop runs. */
    for (int i = 0; i < m; i++) {
        _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + i * ldc + n - 1), _MM_HINT_T0);
    }

    for (int p = 0; p < k; p++) {
        __m512 b0 = _mm512_loadu_ps(b), b1 = NV > 1 ? _mm512_loadu_ps(b + 16) : b0;
#pragma GCC unroll 32
        for (int i = 0; i < R; i++) {
            __m512 ai = _mm512_set1_ps(a[i]);
            acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
            if (NV > 1)
                acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
        }
        a += R;
        b += ldb;
    }

    nn__store_tile(R, NV, acc, c, ldc, alpha, beta, m, n);
}

/* A tile at most 16 columns wide (a single face's Winograd products have
 * 4 to 36 columns) computes only its first vector: the second would be
 * all padding, and on cores that split 512-bit FMAs in two (AMD Zen 4)
 * it would cost as much as the useful half. */
static void ukr_avx512(int k, const float *restrict a, const float *restrict b, ptrdiff_t ldb,
                       float *restrict c, ptrdiff_t ldc, float alpha, float beta, int m, int n)
{
    if (n <= 16)
        ukr_rows(MR, 1, k, a, b, ldb, c, ldc, alpha, beta, m, n);
    else
        ukr_rows(MR, 2, k, a, b, ldb, c, ldc, alpha, beta, m, n);
}

static void ukr_avx512_8(int k, const float *restrict a, const float *restrict b, ptrdiff_t ldb,
                         float *restrict c, ptrdiff_t ldc, float alpha, float beta, int m, int n)
{
    if (n <= 16)
        ukr_rows(8, 1, k, a, b, ldb, c, ldc, alpha, beta, m, n);
    else
        ukr_rows(8, 2, k, a, b, ldb, c, ldc, alpha, beta, m, n);
}

/* One 16-wide k step of the M x 4 dot products (masked for the K tail). */
AI void bt_step(const int M, const float *A, ptrdiff_t lda, const float *const *bj, int p,
                __mmask16 kmask, __m512 acc[4][4])
{
    __m512 bv[4];
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++)
        bv[q] = _mm512_maskz_loadu_ps(kmask, bj[q] + p);
#pragma GCC unroll 4
    for (int i = 0; i < M; i++) {
        __m512 av = _mm512_maskz_loadu_ps(kmask, A + i * lda + p);
#pragma GCC unroll 4
        for (int q = 0; q < 4; q++)
            acc[i][q] = _mm512_fmadd_ps(av, bv[q], acc[i][q]);
    }
}

/* C[i][j] for M rows of A (M constant after inlining) and 4 rows of B at a
 * time, vectorized along K: each B row is read once for all M rows. */
AI void rows_bt_m(const int M, int N, int K, float alpha, const float *A, ptrdiff_t lda,
                  const float *B, ptrdiff_t ldb, float beta, float *C, ptrdiff_t ldc)
{
    int K16 = K - K % 16;
    for (int j0 = 0; j0 < N; j0 += 4) {
        int nj = N - j0 < 4 ? N - j0 : 4;
        const float *bj[4];
        for (int q = 0; q < 4; q++) /* missing rows repeat the last: results dropped */
            bj[q] = B + (j0 + (q < nj ? q : nj - 1)) * ldb;
        __m512 acc[4][4];
#pragma GCC unroll 4
        for (int i = 0; i < M; i++)
#pragma GCC unroll 4
            for (int q = 0; q < 4; q++)
                acc[i][q] = _mm512_setzero_ps();
        for (int p = 0; p < K16; p += 16)
            bt_step(M, A, lda, bj, p, 0xFFFF, acc);
        if (K16 < K)
            bt_step(M, A, lda, bj, K16, nn__tail_mask(K - K16), acc);
        for (int i = 0; i < M; i++)
            for (int q = 0; q < nj; q++) {
                float *c = C + i * ldc + j0 + q;
                float s = alpha * _mm512_reduce_add_ps(acc[i][q]);
                *c = beta == 0.0f ? s : s + beta * *c;
            }
    }
}

/* C[i][j0:j0+16*NV] for M rows: streams B's rows once for all M rows. */
AI void rows_bn_block(const int M, const int NV, int j0, int nvalid, int K, float alpha,
                      const float *A, ptrdiff_t lda, const float *B, ptrdiff_t ldb,
                      float beta, float *C, ptrdiff_t ldc)
{
    __m512 acc[4][4];
    __mmask16 mask[4];
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++)
        mask[v] = nn__tail_mask(nvalid - 16 * v);
#pragma GCC unroll 4
    for (int i = 0; i < M; i++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            acc[i][v] = _mm512_setzero_ps();
    for (int p = 0; p < K; p++) {
        const float *b = B + p * ldb + j0;
        __m512 bv[4];
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            bv[v] = _mm512_maskz_loadu_ps(mask[v], b + 16 * v);
#pragma GCC unroll 4
        for (int i = 0; i < M; i++) {
            __m512 av = _mm512_set1_ps(A[i * lda + p]);
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++)
                acc[i][v] = _mm512_fmadd_ps(av, bv[v], acc[i][v]);
        }
    }
    __m512 va = _mm512_set1_ps(alpha);
#pragma GCC unroll 4
    for (int i = 0; i < M; i++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            if (mask[v])
                nn__store_vec(C + i * ldc + j0 + 16 * v, acc[i][v], va, beta, mask[v]);
}

AI void rows_bn_m(const int M, int N, int K, float alpha, const float *A, ptrdiff_t lda,
                  const float *B, ptrdiff_t ldb, float beta, float *C, ptrdiff_t ldc)
{
    int j = 0;
    for (; j + 64 <= N; j += 64)
        rows_bn_block(M, 4, j, 64, K, alpha, A, lda, B, ldb, beta, C, ldc);
    for (; j < N; j += 16)
        rows_bn_block(M, 1, j, N - j, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

NN_SMALL_M_BY_CONSTANT_ROWS(rows_bt_avx512, rows_bt_m)

NN_SMALL_M_BY_CONSTANT_ROWS(rows_bn_avx512, rows_bn_m)

static void pack_n_avx512(const float *src, ptrdiff_t ld, int k, int nv, int w, float *dst)
{
    for (int p = 0; p < k; p++, src += ld, dst += w)
        for (int j = 0; j < w; j += 16)
            _mm512_mask_storeu_ps(dst + j, nn__tail_mask(w - j),
                                  _mm512_maskz_loadu_ps(nn__tail_mask(nv - j), src + j));
}

/* 8 x 32 for M a multiple of 8 but not of MR (32 or 64 output channels),
 * where MR rows would compute padding. */
static const nn_gemm_kernel kernel_avx512_8 = {
    .name = "avx512",
    .mr = 8, .nr = NR,
    .mc = 8 * 16, .kc = AVX512_KC, .nc = 2048,
    .ukr = ukr_avx512_8,
    .rows_bt = rows_bt_avx512,
    .rows_bn = rows_bn_avx512,
    .pack_n = pack_n_avx512,
    .pack_t = nn__pack_t_avx2,
};

const nn_gemm_kernel nn_gemm_kernel_avx512 = {
    .name = "avx512",
    .mr = MR, .nr = NR,
    .mc = MR * AVX512_MC_TILES, .kc = AVX512_KC, .nc = 2048,
    .ukr = ukr_avx512,
    .rows_bt = rows_bt_avx512,
    .rows_bn = rows_bn_avx512,
    .pack_n = pack_n_avx512,
    .pack_t = nn__pack_t_avx2,
    .alt = &kernel_avx512_8,
};
