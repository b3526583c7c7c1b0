/*
 * avx512_tile.h - what the AVX-512 micro-kernels (gemm_avx512.c,
 * gemm_avx512bf16.c) share: storing their accumulators into C.
 * Included only by files built with -mavx512f.
 */
#ifndef NN_AVX512_TILE_H
#define NN_AVX512_TILE_H

#include <immintrin.h>
#include <stddef.h>

/* Lanes [0, n) of a 16-lane vector. */
static inline __attribute__((always_inline)) __mmask16 nn__tail_mask(int n)
{
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

/* c = alpha*x + beta*c on the lanes of mask (va holds alpha); beta == 0
 * writes c without reading it. */
static inline __attribute__((always_inline)) void nn__store_vec(float *c, __m512 x, __m512 va,
                                                               float beta, __mmask16 mask)
{
    x = _mm512_mul_ps(x, va);
    if (mask == 0xFFFF) {
        if (beta != 0.0f)
            x = _mm512_fmadd_ps(_mm512_set1_ps(beta), _mm512_loadu_ps(c), x);
        _mm512_storeu_ps(c, x);
    } else {
        if (beta != 0.0f)
            x = _mm512_fmadd_ps(_mm512_set1_ps(beta), _mm512_maskz_loadu_ps(mask, c), x);
        _mm512_mask_storeu_ps(c, mask, x);
    }
}

/* Rows [0, m) of an R x (16 * NV) tile of accumulators into C, scaled by
 * alpha, plus beta * C, the columns past n left alone. */
static inline __attribute__((always_inline)) void nn__store_tile(const int R, const int NV,
                                                                __m512 (*acc)[2], float *c,
                                                                ptrdiff_t ldc, float alpha,
                                                                float beta, int m, int n)
{
    __m512 va = _mm512_set1_ps(alpha);
    __mmask16 m0 = nn__tail_mask(n), m1 = NV > 1 ? nn__tail_mask(n - 16) : 0;
#pragma GCC unroll 32
    for (int i = 0; i < R; i++) {
        if (i < m) {
            nn__store_vec(c + i * ldc, acc[i][0], va, beta, m0);
            if (m1)
                nn__store_vec(c + i * ldc + 16, acc[i][1], va, beta, m1);
        }
    }
}

#endif
