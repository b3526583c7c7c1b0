/* q8_avx2.c - the INT8 kernel on AVX2, for CPUs without VNNI. Compiled
 * alone with -mavx2 -mfma.
 *
 * vpmaddubsw (u8 x s8 pairs into int16) would saturate: 255*127*2 exceeds
 * 32767. So both operands are int16 and multiplied by vpmaddwd, whose pair
 * sums are exact in int32: the sums equal the reference's and no weight
 * bit is given up. The kernel is `wide` (q8.h): quant.c hands it weights
 * and input already widened, so the inner loop is plain loads, vpmaddwd
 * and vpaddd. A 16-byte weight step (4 channels x 4 input channels) is one
 * register of int16; against the broadcast input quad each 32-bit lane
 * holds half a channel's sum, and the halves are added once per tile
 * (vphaddd).
 *
 * A tile is NW weight registers (4 NW output channels) by R pixels: R*NW
 * accumulators, NW weights and one broadcast live in the 16 registers.
 * (NW, R) = (2, 6) uses 15 of them with 8 loads per 12 vpmaddwd; 6 divides
 * the row widths of a 48x48 face net's layers (48, 24, 12, 6). On Zen 3
 * this runs at about 90% of what a loop of nothing but vpmaddwd + vpaddd
 * reaches (some 5 G vpmaddwd/s, the add needing an FP pipe each time).
 *
 * A call with fewer than 3 pixels (a dense layer of a small batch) reads
 * every weight once, so it is bound by memory: it reads the s8 weights,
 * half the bytes, and widens them on the fly. */
#include "q8.h"

#include <immintrin.h>
#include <string.h>

/* weight registers per tile (4 NW output channels) and pixels per tile;
 * (4, 3) measured the same but spills */
#define NW 2
#define RMAX 6

/* Converts, clamps and stores n (<= 8) channels' sums s (oc0.. in order)
 * of pixel p. */
static inline __attribute__((always_inline)) void
store8(const nn_q8_gemm *g, __m256i s, int oc0, int n, int p)
{
    __m256 f = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_loadu_ps(g->scale + oc0),
                               _mm256_loadu_ps(g->bias + oc0));
    if (g->out8) {
        f = _mm256_min_ps(_mm256_max_ps(f, _mm256_set1_ps(g->lo)), _mm256_set1_ps(255.0f));
        __m256i i32 = _mm256_cvtps_epi32(f);
        __m128i u16 = _mm_packus_epi32(_mm256_castsi256_si128(i32), _mm256_extracti128_si256(i32, 1));
        __m128i u8 = _mm_packus_epi16(u16, u16);
        uint8_t *dst = g->out8 + g->opix[p] + oc0;
        if (n == 8) {
            _mm_storel_epi64((__m128i *)dst, u8);
        } else {
            uint8_t tmp[16];
            _mm_storeu_si128((__m128i *)tmp, u8);
            memcpy(dst, tmp, (size_t)n);
        }
    } else {
        if (g->relu)
            f = _mm256_max_ps(f, _mm256_setzero_ps());
        float *dst = g->outf + g->opix[p] + oc0;
        if (n == 8) {
            _mm256_storeu_ps(dst, f);
        } else {
            float tmp[8];
            _mm256_storeu_ps(tmp, f);
            memcpy(dst, tmp, (size_t)n * sizeof(float));
        }
    }
}

/* lanes [c0a c0b c1a c1b | c2a c2b c3a c3b] of two registers -> c0..c7 */
static inline __m256i halves(__m256i a, __m256i b)
{
    return _mm256_permute4x64_epi64(_mm256_hadd_epi32(a, b), 0xD8);
}

/* Output channels [16b + 8h, +8) for pixels [p, p + R), from the widened
 * operands. */
static inline __attribute__((always_inline)) void
wide_tile(const nn_q8_gemm *g, int b, int h, int p, const int R)
{
    const size_t bs = nn_q8_block_bytes(g->taps, g->cq);
    const int16_t *wb = g->w16 + (size_t)b * bs + 4 * 4 * NW * h;
    const int16_t *base[RMAX];
    __m256i acc[RMAX][NW];
    for (int r = 0; r < R; r++) {
        base[r] = g->in16 + g->pix[p + r];
        for (int k = 0; k < NW; k++)
            acc[r][k] = _mm256_setzero_si256();
    }
    for (int t = 0; t < g->taps; t++) {
        const int32_t toff = g->tap[t];
        const int16_t *wt = wb + (size_t)t * g->cq * 64;
        for (int q = 0; q < g->cq; q++) {
            __m256i wv[NW];
            for (int k = 0; k < NW; k++)
                wv[k] = _mm256_loadu_si256((const __m256i *)(wt + (size_t)q * 64 + 16 * k));
            for (int r = 0; r < R; r++) {
                int64_t x; /* 4 channels of int16: one vpbroadcastq from memory */
                memcpy(&x, base[r] + toff + 4 * q, 8);
                __m256i a = _mm256_set1_epi64x(x);
                for (int k = 0; k < NW; k++)
                    acc[r][k] = _mm256_add_epi32(acc[r][k], _mm256_madd_epi16(a, wv[k]));
            }
        }
    }
    for (int k = 0; k < NW; k += 2) {
        int oc0 = 16 * b + 8 * h + 4 * k;
        if (oc0 >= g->oc)
            break;
        int n = g->oc - oc0 < 8 ? g->oc - oc0 : 8;
        for (int r = 0; r < R; r++)
            store8(g, halves(acc[r][k], acc[r][k + 1]), oc0, n, p + r);
    }
}

/* All 16 channels of block b for pixel p, widening the s8 weights and u8
 * input on the fly. */
static void narrow_tile(const nn_q8_gemm *g, int b, int p)
{
    const int8_t *wb = g->w + (size_t)b * nn_q8_block_bytes(g->taps, g->cq);
    const uint8_t *base = g->in + g->pix[p];
    __m256i acc[4];
    for (int k = 0; k < 4; k++)
        acc[k] = _mm256_setzero_si256();
    for (int t = 0; t < g->taps; t++) {
        const int32_t toff = g->tap[t];
        const int8_t *wt = wb + (size_t)t * g->cq * 64;
        for (int q = 0; q < g->cq; q++) {
            int32_t x;
            memcpy(&x, base + toff + 4 * q, 4);
            __m256i a = _mm256_broadcastq_epi64(_mm_cvtepu8_epi16(_mm_cvtsi32_si128(x)));
            for (int k = 0; k < 4; k++)
                acc[k] = _mm256_add_epi32(
                    acc[k], _mm256_madd_epi16(a, _mm256_cvtepi8_epi16(_mm_loadu_si128(
                                                     (const __m128i *)(wt + (size_t)q * 64 + 16 * k)))));
        }
    }
    int oc0 = 16 * b;
    store8(g, halves(acc[0], acc[1]), oc0, g->oc - oc0 < 8 ? g->oc - oc0 : 8, p);
    if (g->oc > oc0 + 8)
        store8(g, halves(acc[2], acc[3]), oc0 + 8, g->oc - oc0 - 8 < 8 ? g->oc - oc0 - 8 : 8, p);
}

static void avx2_gemm(const nn_q8_gemm *g, int b0, int b1, int p0, int p1)
{
    if (p1 - p0 < 3) {
        for (int b = b0; b < b1; b++)
            for (int p = p0; p < p1; p++)
                narrow_tile(g, b, p);
        return;
    }
    for (int b = b0; b < b1; b++)
        for (int h = 0; h < 4 / NW && 16 * b + 8 * h < g->oc; h++) {
            int p = p0;
            for (; p + RMAX <= p1; p += RMAX)
                wide_tile(g, b, h, p, RMAX);
            switch (p1 - p) { /* the rest exactly: no pixel computed twice */
            case 5: wide_tile(g, b, h, p, 5); break;
            case 4: wide_tile(g, b, h, p, 4); break;
            case 3: wide_tile(g, b, h, p, 3); break;
            case 2: wide_tile(g, b, h, p, 2); break;
            case 1: wide_tile(g, b, h, p, 1); break;
            default: break;
            }
        }
}

const nn_q8_kernel nn_q8_kernel_avx2 = {"avx2", avx2_gemm, 1};
