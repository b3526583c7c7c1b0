/*
 * gemm_ref.c - portable GEMM kernels: the naive triple loop that tests
 * compare against, and the reference micro-kernel in plain C (the fallback
 * on any CPU, and what NN_KERNEL=ref forces). Plain loops over small fixed
 * arrays so the compiler can vectorize them with the baseline ISA.
 */
#include "nn_impl.h"
#include "gemm_internal.h"

void nn_sgemm_naive(int ta, int tb, int M, int N, int K, float alpha,
                    const float *A, int lda, const float *B, int ldb,
                    float beta, float *C, int ldc)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0; /* double: the reference must be the accurate one */
            for (int p = 0; p < K; p++) {
                float a = ta ? A[(size_t)p * lda + i] : A[(size_t)i * lda + p];
                float b = tb ? B[(size_t)j * ldb + p] : B[(size_t)p * ldb + j];
                s += (double)a * b;
            }
            float *c = &C[(size_t)i * ldc + j];
            *c = (float)(alpha * s + (beta == 0.0f ? 0.0 : (double)beta * *c));
        }
}

#define REF_MR 4
#define REF_NR 8

static void ukr_ref(int k, const float *restrict a, const float *restrict b, ptrdiff_t ldb,
                    float *restrict c, ptrdiff_t ldc, float alpha, float beta, int m, int n)
{
    float acc[REF_MR][REF_NR] = {{0}};
    for (int p = 0; p < k; p++) {
        for (int i = 0; i < REF_MR; i++)
            for (int j = 0; j < REF_NR; j++)
                acc[i][j] += a[i] * b[j];
        a += REF_MR;
        b += ldb;
    }
    for (int i = 0; i < m; i++) {
        float *ci = c + i * ldc;
        if (beta == 0.0f)
            for (int j = 0; j < n; j++)
                ci[j] = alpha * acc[i][j];
        else
            for (int j = 0; j < n; j++)
                ci[j] = alpha * acc[i][j] + beta * ci[j];
    }
}

/* Eight partial sums so the compiler may vectorize without reassociating. */
static float dot_ref(const float *restrict x, const float *restrict y, int K)
{
    float s[8] = {0};
    int p = 0;
    for (; p + 8 <= K; p += 8)
        for (int q = 0; q < 8; q++)
            s[q] += x[p + q] * y[p + q];
    for (; p < K; p++)
        s[0] += x[p] * y[p];
    return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}

static void rows_bt_ref(int m, int N, int K, float alpha, const float *A, ptrdiff_t lda,
                        const float *B, ptrdiff_t ldb, float beta, float *C, ptrdiff_t ldc)
{
    for (int j = 0; j < N; j++)
        for (int i = 0; i < m; i++) {
            float s = alpha * dot_ref(A + i * lda, B + j * ldb, K);
            float *c = C + i * ldc + j;
            *c = beta == 0.0f ? s : s + beta * *c;
        }
}

static void rows_bn_ref(int m, int N, int K, float alpha, const float *A, ptrdiff_t lda,
                        const float *B, ptrdiff_t ldb, float beta, float *C, ptrdiff_t ldc)
{
    for (int i = 0; i < m; i++) {
        float *restrict c = C + i * ldc;
        const float *a = A + i * lda;
        for (int j = 0; j < N; j++)
            c[j] = beta == 0.0f ? 0.0f : beta * c[j];
        for (int p = 0; p < K; p++) {
            const float *restrict b = B + p * ldb;
            float s = alpha * a[p];
            for (int j = 0; j < N; j++)
                c[j] += s * b[j];
        }
    }
}

static void pack_n_ref(const float *src, ptrdiff_t ld, int k, int nv, int w, float *dst)
{
    for (int p = 0; p < k; p++, src += ld, dst += w) {
        for (int j = 0; j < nv; j++)
            dst[j] = src[j];
        for (int j = nv; j < w; j++)
            dst[j] = 0.0f;
    }
}

/* Blocks of 8 p keep the 8 destination lines hot while each source row is
 * read along. */
static void pack_t_ref(const float *src, ptrdiff_t ld, int k, int nv, int w, float *dst)
{
    int p = 0;
    for (; p + 8 <= k; p += 8) {
        float *d = dst + (ptrdiff_t)p * w;
        for (int j = 0; j < nv; j++)
            for (int q = 0; q < 8; q++)
                d[q * w + j] = src[j * ld + p + q];
        for (int j = nv; j < w; j++)
            for (int q = 0; q < 8; q++)
                d[q * w + j] = 0.0f;
    }
    for (; p < k; p++) {
        float *d = dst + (ptrdiff_t)p * w;
        for (int j = 0; j < nv; j++)
            d[j] = src[j * ld + p];
        for (int j = nv; j < w; j++)
            d[j] = 0.0f;
    }
}

const nn_gemm_kernel nn_gemm_kernel_ref = {
    .name = "ref",
    .mr = REF_MR, .nr = REF_NR,
    .mc = 128, .kc = 256, .nc = 2048,
    .ukr = ukr_ref,
    .rows_bt = rows_bt_ref,
    .rows_bn = rows_bn_ref,
    .pack_n = pack_n_ref,
    .pack_t = pack_t_ref,
};
