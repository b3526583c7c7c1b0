/*
 * gemm_avx512bf16.c - GEMM on BF16 operands with FP32 accumulation, for
 * training where the CPU has AVX512_BF16 (vdpbf16ps: AMD Zen 4, Intel
 * Cooper Lake, Sapphire Rapids and later). Built alone with -mavx512f
 * -mavx512bw -mavx512bf16 (see engine/meson.build); gemm_choice.c uses it
 * only after cpuid (leaf 7 subleaf 1, EAX bit 5) and xgetbv say so, and
 * only in the NN_GEMM_BF16 mode.
 *
 * Packing converts FP32 to BF16 (round to nearest even, as
 * nn_bf16_from_f32) and pairs two k steps in 32 bits (the low half is the
 * even step), so one vdpbf16ps lane does two multiply-adds:
 *   A panel: for each pair q of k steps, MR pairs (A[i][2q], A[i][2q+1]);
 *   B panel: for each pair q, NR pairs (B[2q][j], B[2q+1][j]);
 * an odd k's last pair has a zero second half. A panel of k steps takes
 * ceil(k/2) * width 32-bit slots: half the float room the driver gives it.
 *
 * Micro-kernel MR x 32 as the FP32 one (two zmm of B pairs per pair of k
 * steps, a broadcast pair of A per row), with twice the multiply-adds per
 * instruction. The products of BF16 numbers are exact in FP32; the sums
 * are FP32 (vdpbf16ps adds each lane's two products one after the other).
 */
#include "nn_impl.h"
#include "gemm_internal.h"

#include <immintrin.h>
#include "avx512_tile.h"

#define MR 12
#define NR 32
#define AI static inline __attribute__((always_inline))

/* R rows, NV vectors of 16 columns; a and b are the packed pairs. */
AI void ukr_rows(const int R, const int NV, int k, const uint32_t *restrict a,
                 const uint32_t *restrict b, float *restrict c, ptrdiff_t ldc, float alpha,
                 float beta, int m, int n)
{
    __m512 acc[MR][2];
#pragma GCC unroll 32
    for (int i = 0; i < R; i++)
        acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    for (int i = 0; i < m; i++) {
        _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + i * ldc + n - 1), _MM_HINT_T0);
    }
    for (int q = 0; q < (k + 1) / 2; q++) {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(b);
        __m512bh b1 = NV > 1 ? (__m512bh)_mm512_loadu_si512(b + 16) : b0;
#pragma GCC unroll 32
        for (int i = 0; i < R; i++) {
            __m512bh ai = (__m512bh)_mm512_set1_epi32((int)a[i]);
            acc[i][0] = _mm512_dpbf16_ps(acc[i][0], ai, b0);
            if (NV > 1)
                acc[i][1] = _mm512_dpbf16_ps(acc[i][1], ai, b1);
        }
        a += R;
        b += NR;
    }
    nn__store_tile(R, NV, acc, c, ldc, alpha, beta, m, n);
}

static void ukr_bf16(int k, const float *restrict a, const float *restrict b, ptrdiff_t ldb,
                     float *restrict c, ptrdiff_t ldc, float alpha, float beta, int m, int n)
{
    (void)ldb; /* always a packed panel, NR pairs apart */
    const uint32_t *pa = (const uint32_t *)(const void *)a, *pb = (const uint32_t *)(const void *)b;
    if (n <= 16)
        ukr_rows(MR, 1, k, pa, pb, c, ldc, alpha, beta, m, n);
    else
        ukr_rows(MR, 2, k, pa, pb, c, ldc, alpha, beta, m, n);
}

static void ukr_bf16_8(int k, const float *restrict a, const float *restrict b, ptrdiff_t ldb,
                       float *restrict c, ptrdiff_t ldc, float alpha, float beta, int m, int n)
{
    (void)ldb;
    const uint32_t *pa = (const uint32_t *)(const void *)a, *pb = (const uint32_t *)(const void *)b;
    if (n <= 16)
        ukr_rows(8, 1, k, pa, pb, c, ldc, alpha, beta, m, n);
    else
        ukr_rows(8, 2, k, pa, pb, c, ldc, alpha, beta, m, n);
}

/* pack_n: dst pair (q, j) from src[2q*ld + j] and src[(2q+1)*ld + j]. Rows
 * two at a time: interleave 16 columns of each (permutes), then convert
 * both halves in one vcvtne2ps2bf16. */
static void pack_n_bf16(const float *src, ptrdiff_t ld, int k, int nv, int w, float *dstf)
{
    uint32_t *dst = (uint32_t *)(void *)dstf;
    const __m512i lo_idx = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    const __m512i hi_idx =
        _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
    for (int p = 0; p < k; p += 2, dst += w) {
        const float *r0 = src + (ptrdiff_t)p * ld, *r1 = r0 + ld;
        int two = p + 1 < k;
        for (int j = 0; j < w; j += 16) {
            __mmask16 mk = nn__tail_mask(nv - j);
            __m512 x0 = _mm512_maskz_loadu_ps(mk, r0 + j);
            __m512 x1 = two ? _mm512_maskz_loadu_ps(mk, r1 + j) : _mm512_setzero_ps();
            __m512 lo = _mm512_permutex2var_ps(x0, lo_idx, x1); /* columns j..j+7 */
            __m512 hi = _mm512_permutex2var_ps(x0, hi_idx, x1); /* columns j+8..j+15 */
            __m512i v = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
            if (w - j >= 16)
                _mm512_storeu_si512(dst + j, v);
            else
                _mm512_mask_storeu_epi32(dst + j, nn__tail_mask(w - j), v);
        }
    }
}

/* 16 floats of a row from src (lanes past `left` read as zero) as 8 BF16
 * pairs: an odd tail's last pair gets a zero high half. */
AI __m256 row_pairs(const float *src, int left)
{
    __m512 x = left >= 16 ? _mm512_loadu_ps(src) : _mm512_maskz_loadu_ps(nn__tail_mask(left), src);
    return _mm256_castsi256_ps((__m256i)_mm512_cvtneps_pbh(x));
}

/* A transposed panel's columns past the nv made: zero pairs. */
static void zero_cols(uint32_t *dst, int kq, int nv, int w)
{
    if (nv < w)
        for (int q = 0; q < kq; q++)
            for (int t = nv; t < w; t++)
                dst[(ptrdiff_t)q * w + t] = 0;
}

/* pack_t: dst pair (q, j) from src[j*ld + 2q], src[j*ld + 2q + 1], which
 * are adjacent: convert 16 floats of a row to 8 pairs, then transpose
 * 8 x 8 pairs with the float shuffles (they move bits unchanged), then
 * 4 x 8 (two 4 x 4), and the last 1-3 rows one pair at a time. Columns
 * j < nv only (pack_t_part); pack_t_bf16 zeroes the rest. */
static void pack_t_part_bf16(const float *src, ptrdiff_t ld, int k, int nv, int w, float *dstf)
{
    uint32_t *dst = (uint32_t *)(void *)dstf;
    int j = 0;
    for (; j + 8 <= nv; j += 8)
        for (int p = 0; p < k; p += 16) {
            __m256 r[8];
            for (int t = 0; t < 8; t++)
                r[t] = row_pairs(src + (ptrdiff_t)(j + t) * ld + p, k - p);
            nn__tr8x8(r);
            int qn = (k - p + 1) / 2 < 8 ? (k - p + 1) / 2 : 8;
            for (int t = 0; t < qn; t++)
                _mm256_storeu_ps((float *)(void *)(dst + (ptrdiff_t)(p / 2 + t) * w + j), r[t]);
        }
    /* Four rows (a 12-row A panel's last four: a third of every weight-
     * gradient A operand) by 4 x 4 transposes of each half's pairs. */
    for (; j + 4 <= nv; j += 4)
        for (int p = 0; p < k; p += 16) {
            __m256 r[4];
            for (int t = 0; t < 4; t++)
                r[t] = row_pairs(src + (ptrdiff_t)(j + t) * ld + p, k - p);
            __m128 lo[4], hi[4];
            for (int t = 0; t < 4; t++) {
                lo[t] = _mm256_castps256_ps128(r[t]);
                hi[t] = _mm256_extractf128_ps(r[t], 1);
            }
            _MM_TRANSPOSE4_PS(lo[0], lo[1], lo[2], lo[3]);
            _MM_TRANSPOSE4_PS(hi[0], hi[1], hi[2], hi[3]);
            int qn = (k - p + 1) / 2 < 8 ? (k - p + 1) / 2 : 8;
            for (int t = 0; t < qn; t++)
                _mm_storeu_ps((float *)(void *)(dst + (ptrdiff_t)(p / 2 + t) * w + j),
                              t < 4 ? lo[t] : hi[t - 4]);
        }
    for (; j < nv; j++)
        for (int p = 0; p < k; p += 16) {
            uint32_t tmp[8];
            _mm256_storeu_ps((float *)(void *)tmp, row_pairs(src + (ptrdiff_t)j * ld + p, k - p));
            int qn = (k - p + 1) / 2 < 8 ? (k - p + 1) / 2 : 8;
            for (int t = 0; t < qn; t++)
                dst[(ptrdiff_t)(p / 2 + t) * w + j] = tmp[t];
        }
}

static void pack_t_bf16(const float *src, ptrdiff_t ld, int k, int nv, int w, float *dstf)
{
    pack_t_part_bf16(src, ld, k, nv, w, dstf);
    zero_cols((uint32_t *)(void *)dstf, (k + 1) / 2, nv, w);
}

static const nn_gemm_kernel kernel_bf16_8 = {
    .name = "avx512bf16",
    .mr = 8, .nr = NR,
    .mc = 8 * 16, .kc = 512, .nc = 2048,
    .ukr = ukr_bf16_8,
    .pack_n = pack_n_bf16,
    .pack_t = pack_t_bf16,
    .pairs = 1,
    .pack_t_part = pack_t_part_bf16,
};

/* KC counts k steps: 512 of them in BF16 take the room of 256 in FP32. */
const nn_gemm_kernel nn_gemm_kernel_avx512bf16 = {
    .name = "avx512bf16",
    .mr = MR, .nr = NR,
    .mc = MR * 12, .kc = 512, .nc = 2048,
    .ukr = ukr_bf16,
    .pack_n = pack_n_bf16,
    .pack_t = pack_t_bf16,
    .alt = &kernel_bf16_8,
    .pairs = 1,
    .pack_t_part = pack_t_part_bf16,
};
