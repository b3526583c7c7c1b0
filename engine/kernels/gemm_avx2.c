/*
 * gemm_avx2.c - AVX2/FMA GEMM kernels. Built alone with -mavx2 -mfma (see
 * engine/meson.build); gemm.c calls it only after cpuid says the CPU and
 * the OS support AVX2 and FMA.
 *
 * Micro-kernel 6x16: 12 accumulators + 2 B vectors + 1 broadcast fill 15 of
 * the 16 ymm registers; per k step 2 loads and 6 broadcasts feed 12 FMAs.
 */
#include "nn_impl.h"
#include "gemm_internal.h"

#include <immintrin.h>
#include <stdint.h>

#define MR 6
#define NR 16
#define AI static inline __attribute__((always_inline))

/* Lane masks for maskload/maskstore: tail_mask(n) enables lanes [0, n). */
static const int32_t mask_tab[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
AI __m256i tail_mask(int n)
{
    n = n < 0 ? 0 : n > 8 ? 8 : n;
    return _mm256_loadu_si256((const __m256i *)(mask_tab + 8 - n));
}

/* c = alpha*x + beta*c on the lanes of mask (all 8 when full). */
AI void store_vec(float *c, __m256 x, __m256 va, float beta, int full, __m256i mask)
{
    x = _mm256_mul_ps(x, va);
    if (full) {
        if (beta != 0.0f)
            x = _mm256_fmadd_ps(_mm256_set1_ps(beta), _mm256_loadu_ps(c), x);
        _mm256_storeu_ps(c, x);
    } else {
        if (beta != 0.0f)
            x = _mm256_fmadd_ps(_mm256_set1_ps(beta), _mm256_maskload_ps(c, mask), x);
        _mm256_maskstore_ps(c, mask, x);
    }
}

static void ukr_avx2(int k, const float *restrict a, const float *restrict b, ptrdiff_t ldb,
                     float *restrict c, ptrdiff_t ldc, float alpha, float beta, int m, int n)
{
    __m256 acc[MR][2];
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++)
        acc[i][0] = acc[i][1] = _mm256_setzero_ps();
    /* Bring C's rows toward L1 while the k loop runs. */
    for (int i = 0; i < m; i++) {
        _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + i * ldc + n - 1), _MM_HINT_T0);
    }

#pragma GCC unroll 4
    for (int p = 0; p < k; p++) {
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 16
        for (int i = 0; i < MR; i++) {
            __m256 ai = _mm256_broadcast_ss(a + i);
            acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
        }
        a += MR;
        b += ldb;
    }

    __m256 va = _mm256_set1_ps(alpha);
    if (m == MR && n == NR) {
#pragma GCC unroll 16
        for (int i = 0; i < MR; i++) {
            store_vec(c + i * ldc, acc[i][0], va, beta, 1, tail_mask(8));
            store_vec(c + i * ldc + 8, acc[i][1], va, beta, 1, tail_mask(8));
        }
        return;
    }
    __m256i m0 = tail_mask(n), m1 = tail_mask(n - 8);
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
        if (i < m) {
            store_vec(c + i * ldc, acc[i][0], va, beta, n >= 8, m0);
            if (n > 8)
                store_vec(c + i * ldc + 8, acc[i][1], va, beta, n >= 16, m1);
        }
    }
}

AI float hsum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* One 8-wide k step of the M x 4 dot products (masked for the K tail). */
AI void bt_step(const int M, const float *A, ptrdiff_t lda, const float *const *bj, int p,
                int masked, __m256i kmask, __m256 acc[4][4])
{
    __m256 bv[4];
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++)
        bv[q] = masked ? _mm256_maskload_ps(bj[q] + p, kmask) : _mm256_loadu_ps(bj[q] + p);
#pragma GCC unroll 4
    for (int i = 0; i < M; i++) {
        __m256 av = masked ? _mm256_maskload_ps(A + i * lda + p, kmask)
                           : _mm256_loadu_ps(A + i * lda + p);
#pragma GCC unroll 4
        for (int q = 0; q < 4; q++)
            acc[i][q] = _mm256_fmadd_ps(av, bv[q], acc[i][q]);
    }
}

/* C[i][j] for M rows of A (M constant after inlining) and 4 rows of B at a
 * time, vectorized along K: each B row is read once for all M rows. */
AI void rows_bt_m(const int M, int N, int K, float alpha, const float *A, ptrdiff_t lda,
                  const float *B, ptrdiff_t ldb, float beta, float *C, ptrdiff_t ldc)
{
    __m256i kmask = tail_mask(K % 8);
    int K8 = K - K % 8;
    for (int j0 = 0; j0 < N; j0 += 4) {
        int nj = N - j0 < 4 ? N - j0 : 4;
        const float *bj[4];
        for (int q = 0; q < 4; q++) /* missing rows repeat the last: results dropped */
            bj[q] = B + (j0 + (q < nj ? q : nj - 1)) * ldb;
        __m256 acc[4][4];
#pragma GCC unroll 4
        for (int i = 0; i < M; i++)
#pragma GCC unroll 4
            for (int q = 0; q < 4; q++)
                acc[i][q] = _mm256_setzero_ps();
        for (int p = 0; p < K8; p += 8)
            bt_step(M, A, lda, bj, p, 0, kmask, acc);
        if (K8 < K)
            bt_step(M, A, lda, bj, K8, 1, kmask, acc);
        for (int i = 0; i < M; i++)
            for (int q = 0; q < nj; q++) {
                float *c = C + i * ldc + j0 + q;
                float s = alpha * hsum(acc[i][q]);
                *c = beta == 0.0f ? s : s + beta * *c;
            }
    }
}

NN_SMALL_M_BY_CONSTANT_ROWS(rows_bt_avx2, rows_bt_m)

/* C[i][j0:j0+8*NV] for M rows: streams B's rows once for all M rows. */
AI void rows_bn_block(const int M, const int NV, int j0, int nvalid, int K, float alpha,
                      const float *A, ptrdiff_t lda, const float *B, ptrdiff_t ldb,
                      float beta, float *C, ptrdiff_t ldc)
{
    __m256 acc[4][4];
    __m256i mask = tail_mask(nvalid);
    int full = nvalid >= 8 * NV;
#pragma GCC unroll 16
    for (int i = 0; i < M; i++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            acc[i][v] = _mm256_setzero_ps();
    for (int p = 0; p < K; p++) {
        const float *b = B + p * ldb + j0;
        __m256 bv[4];
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            bv[v] = full ? _mm256_loadu_ps(b + 8 * v) : _mm256_maskload_ps(b, mask);
#pragma GCC unroll 16
        for (int i = 0; i < M; i++) {
            __m256 av = _mm256_broadcast_ss(A + i * lda + p);
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++)
                acc[i][v] = _mm256_fmadd_ps(av, bv[v], acc[i][v]);
        }
    }
    __m256 va = _mm256_set1_ps(alpha);
#pragma GCC unroll 16
    for (int i = 0; i < M; i++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            store_vec(C + i * ldc + j0 + 8 * v, acc[i][v], va, beta, full, mask);
}

AI void rows_bn_m(const int M, int N, int K, float alpha, const float *A, ptrdiff_t lda,
                  const float *B, ptrdiff_t ldb, float beta, float *C, ptrdiff_t ldc)
{
    int j = 0;
    for (; j + 32 <= N; j += 32)
        rows_bn_block(M, 4, j, 32, K, alpha, A, lda, B, ldb, beta, C, ldc);
    for (; j < N; j += 8)
        rows_bn_block(M, 1, j, N - j, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

NN_SMALL_M_BY_CONSTANT_ROWS(rows_bn_avx2, rows_bn_m)

static void pack_n_avx2(const float *src, ptrdiff_t ld, int k, int nv, int w, float *dst)
{
    for (int p = 0; p < k; p++, src += ld, dst += w)
        for (int j = 0; j < w; j += 8) {
            __m256 v = j + 8 <= nv ? _mm256_loadu_ps(src + j)
                                   : _mm256_maskload_ps(src + j, tail_mask(nv - j));
            if (j + 8 <= w)
                _mm256_storeu_ps(dst + j, v);
            else
                _mm256_maskstore_ps(dst + j, tail_mask(w - j), v);
        }
}

const nn_gemm_kernel nn_gemm_kernel_avx2 = {
    .name = "avx2",
    .mr = MR, .nr = NR,
    .mc = 144, .kc = 256, .nc = 2048,
    .ukr = ukr_avx2,
    .rows_bt = rows_bt_avx2,
    .rows_bn = rows_bn_avx2,
    .pack_n = pack_n_avx2,
    .pack_t = nn__pack_t_avx2,
};
