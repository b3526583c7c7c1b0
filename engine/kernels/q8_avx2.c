/* q8_avx2.c - the INT8 kernel on AVX2, for CPUs without VNNI. Compiled
 * alone with -mavx2 -mfma.
 *
 * vpmaddubsw (u8 x s8 pairs into int16) would saturate: 255*127*2 exceeds
 * 32767. So both operands are widened to int16 and multiplied by vpmaddwd,
 * whose pair sums are exact in int32: the sums equal the reference's and
 * no weight bit is given up. A 16-byte weight step (4 channels x 4 input
 * channels) becomes one register of int16; against the broadcast input
 * quad each 32-bit lane holds half a channel's sum, and the halves are
 * added once per tile (vphaddd). A tile is 16 channels by 2 pixels: 8
 * accumulators, 4 weights and the broadcast fit the 16 registers. */
#include "q8.h"

#include <immintrin.h>
#include <string.h>

#define R 2

static void tile(const nn_q8_gemm *g, int b, int p, int nvalid)
{
    const int8_t *wb = g->w + (size_t)b * nn_q8_block_bytes(g->taps, g->cq);
    const uint8_t *base[R];
    __m256i acc[R][4];
    for (int r = 0; r < R; r++) {
        base[r] = g->in + g->pix[p + (r < nvalid ? r : nvalid - 1)];
        for (int k = 0; k < 4; k++)
            acc[r][k] = _mm256_setzero_si256();
    }
    for (int t = 0; t < g->taps; t++) {
        const int32_t toff = g->tap[t];
        const int8_t *wt = wb + (size_t)t * g->cq * 64;
        for (int q = 0; q < g->cq; q++) {
            __m256i wv[4];
            for (int k = 0; k < 4; k++)
                wv[k] = _mm256_cvtepi8_epi16(
                    _mm_loadu_si128((const __m128i *)(wt + (size_t)q * 64 + 16 * k)));
            for (int r = 0; r < R; r++) {
                int32_t x;
                memcpy(&x, base[r] + toff + 4 * q, 4);
                __m256i a = _mm256_broadcastq_epi64(_mm_cvtepu8_epi16(_mm_cvtsi32_si128(x)));
                for (int k = 0; k < 4; k++)
                    acc[r][k] = _mm256_add_epi32(acc[r][k], _mm256_madd_epi16(a, wv[k]));
            }
        }
    }
    int oc0 = 16 * b;
    int n = g->oc - oc0 < 16 ? g->oc - oc0 : 16;
    __m256 sc0 = _mm256_loadu_ps(g->scale + oc0), sc1 = _mm256_loadu_ps(g->scale + oc0 + 8);
    __m256 bi0 = _mm256_loadu_ps(g->bias + oc0), bi1 = _mm256_loadu_ps(g->bias + oc0 + 8);
    for (int r = 0; r < nvalid; r++) {
        /* lanes [c0a c0b c1a c1b | c2a c2b c3a c3b] of two registers -> c0..c7 */
        __m256i s0 = _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc[r][0], acc[r][1]), 0xD8);
        __m256i s1 = _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc[r][2], acc[r][3]), 0xD8);
        __m256 f0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s0), sc0, bi0);
        __m256 f1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s1), sc1, bi1);
        if (g->out8) {
            __m256 lo = _mm256_set1_ps(g->lo), hi = _mm256_set1_ps(255.0f);
            f0 = _mm256_min_ps(_mm256_max_ps(f0, lo), hi);
            f1 = _mm256_min_ps(_mm256_max_ps(f1, lo), hi);
            __m256i w16 = _mm256_permute4x64_epi64(
                _mm256_packus_epi32(_mm256_cvtps_epi32(f0), _mm256_cvtps_epi32(f1)), 0xD8);
            __m128i u8 = _mm_packus_epi16(_mm256_castsi256_si128(w16),
                                          _mm256_extracti128_si256(w16, 1));
            uint8_t *dst = g->out8 + g->opix[p + r] + oc0;
            if (n == 16) {
                _mm_storeu_si128((__m128i *)dst, u8);
            } else {
                uint8_t tmp[16];
                _mm_storeu_si128((__m128i *)tmp, u8);
                memcpy(dst, tmp, (size_t)n);
            }
        } else {
            if (g->relu) {
                f0 = _mm256_max_ps(f0, _mm256_setzero_ps());
                f1 = _mm256_max_ps(f1, _mm256_setzero_ps());
            }
            float *dst = g->outf + g->opix[p + r] + oc0;
            if (n == 16) {
                _mm256_storeu_ps(dst, f0);
                _mm256_storeu_ps(dst + 8, f1);
            } else {
                float tmp[16];
                _mm256_storeu_ps(tmp, f0);
                _mm256_storeu_ps(tmp + 8, f1);
                memcpy(dst, tmp, (size_t)n * sizeof(float));
            }
        }
    }
}

static void avx2_gemm(const nn_q8_gemm *g, int b0, int b1, int p0, int p1)
{
    for (int b = b0; b < b1; b++)
        for (int p = p0; p < p1; p += R)
            tile(g, b, p, p1 - p < R ? p1 - p : R);
}

const nn_q8_kernel nn_q8_kernel_avx2 = {"avx2", avx2_gemm, 0};
