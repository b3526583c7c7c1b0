/*
 * avx512_tile.h - what the AVX-512 micro-kernels (gemm_avx512.c,
 * gemm_avx512bf16.c) share: storing one 16-column vector of a C tile.
 * Included only by files built with -mavx512f.
 */
#ifndef NN_AVX512_TILE_H
#define NN_AVX512_TILE_H

#include <immintrin.h>

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

#endif
