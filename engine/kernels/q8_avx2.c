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
 * half the bytes, and widens them on the fly.
 *
 * 3x3 convolutions go through the integer Winograd below instead (q8.h:
 * 16 products per 2x2 tile and channel instead of 36, the same sums): per
 * pass of up to NN_Q8_WINO_TILES tiles, the inputs' V for all channels,
 * then per block of 16 output channels the 16 GEMMs (tiles of 16 channels
 * x 6 tiles, channel pairs to each vpmaddwd, no halves to add) and the
 * output transform with the requantization. */
#include "q8.h"

#include <immintrin.h>
#include <string.h>

/* weight registers per tile (4 NW output channels) and pixels per tile;
 * (4, 3) measured the same but spills */
#define NW 2
#define RMAX 6

/* Clamps n (<= 8) requantized values f to [lo, 255], rounds them and
 * stores them as u8. */
static inline __attribute__((always_inline)) void
store_u8(__m256 f, float lo, int n, uint8_t *dst)
{
    f = _mm256_min_ps(_mm256_max_ps(f, _mm256_set1_ps(lo)), _mm256_set1_ps(255.0f));
    __m256i i32 = _mm256_cvtps_epi32(f);
    __m128i u16 = _mm_packus_epi32(_mm256_castsi256_si128(i32), _mm256_extracti128_si256(i32, 1));
    __m128i u8 = _mm_packus_epi16(u16, u16);
    if (n == 8) {
        _mm_storel_epi64((__m128i *)dst, u8);
    } else {
        uint8_t tmp[16];
        _mm_storeu_si128((__m128i *)tmp, u8);
        memcpy(dst, tmp, (size_t)n);
    }
}

/* Converts, clamps and stores n (<= 8) channels' sums s (oc0.. in order)
 * of pixel p. */
static inline __attribute__((always_inline)) void
store8(const nn_q8_gemm *g, __m256i s, int oc0, int n, int p)
{
    __m256 f = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_loadu_ps(g->scale + oc0),
                               _mm256_loadu_ps(g->bias + oc0));
    if (g->out8) {
        store_u8(f, g->lo, n, g->out8 + g->opix[p] + oc0);
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

/* ---- Winograd F(2x2, 3x3) (q8.h) ------------------------------------------- */

#define WT NN_Q8_WINO_TILES

/* V of tiles [t0, t0 + n) into v[16][WT][cv], 16 channels at a time. */
static void wino_input(const nn_q8_wino *g, int t0, int n, int16_t *v)
{
    for (int t = 0; t < n; t++) {
        const uint8_t *base = g->in + g->tin[t0 + t];
        for (int c = 0; c < g->cv; c += 16) {
            __m256i d[4][4], r[4][4];
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++)
                    d[i][j] = _mm256_cvtepu8_epi16(_mm_loadu_si128(
                        (const __m128i *)(base + (size_t)i * g->row + (size_t)j * g->cp + c)));
            for (int j = 0; j < 4; j++) { /* B^T d */
                r[0][j] = _mm256_sub_epi16(d[0][j], d[2][j]);
                r[1][j] = _mm256_add_epi16(d[1][j], d[2][j]);
                r[2][j] = _mm256_sub_epi16(d[2][j], d[1][j]);
                r[3][j] = _mm256_sub_epi16(d[1][j], d[3][j]);
            }
            for (int i = 0; i < 4; i++) { /* (B^T d) B */
                __m256i x[4] = {_mm256_sub_epi16(r[i][0], r[i][2]), _mm256_add_epi16(r[i][1], r[i][2]),
                                _mm256_sub_epi16(r[i][2], r[i][1]), _mm256_sub_epi16(r[i][1], r[i][3])};
                for (int j = 0; j < 4; j++)
                    _mm256_storeu_si256((__m256i *)(v + ((size_t)(4 * i + j) * WT + t) * g->cv + c), x[j]);
            }
        }
    }
}

/* m[x][t][16] = sum over channels of U[b][x] . V[x][t] for tiles [t, t + R)
 * of the pass: 16 output channels by R tiles, as in wide_tile. */
static inline __attribute__((always_inline)) void
wino_tile(const nn_q8_wino *g, int b, int x, const int16_t *v, int t, int32_t *m, const int R)
{
    const int16_t *u = g->u + ((size_t)b * 16 + x) * (size_t)g->cv * 16;
    const int16_t *vx = v + ((size_t)x * WT + t) * g->cv;
    __m256i acc[RMAX][2];
    for (int r = 0; r < R; r++)
        acc[r][0] = acc[r][1] = _mm256_setzero_si256();
    for (int c = 0; c < g->cv; c += 2) {
        __m256i w0 = _mm256_loadu_si256((const __m256i *)(u + (size_t)c * 16));
        __m256i w1 = _mm256_loadu_si256((const __m256i *)(u + (size_t)c * 16 + 16));
        for (int r = 0; r < R; r++) {
            int32_t pair;
            memcpy(&pair, vx + (size_t)r * g->cv + c, 4);
            __m256i a = _mm256_set1_epi32(pair);
            acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(a, w0));
            acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(a, w1));
        }
    }
    for (int r = 0; r < R; r++) {
        int32_t *mt = m + ((size_t)x * WT + t + r) * 16;
        _mm256_storeu_si256((__m256i *)mt, acc[r][0]);
        _mm256_storeu_si256((__m256i *)(mt + 8), acc[r][1]);
    }
}

/* Requantizes n (<= 8) channels' sums, 4 acc each (q8.h), from oc0 to dst,
 * as store8. */
static inline void wino_store(const nn_q8_wino *g, __m256i s, int oc0, int n, uint8_t *dst)
{
    __m256 f = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_srai_epi32(s, 2)),
                               _mm256_loadu_ps(g->scale + oc0), _mm256_loadu_ps(g->bias + oc0));
    store_u8(f, g->lo, n, dst);
}

/* A^T M A of tiles [t0, t0 + n) of the pass, block b, to the output. */
static void wino_output(const nn_q8_wino *g, int b, int t0, int n, const int32_t *m)
{
    for (int h = 0; h < 2 && 16 * b + 8 * h < g->oc; h++) {
        int oc0 = 16 * b + 8 * h, nc = g->oc - oc0 < 8 ? g->oc - oc0 : 8;
        for (int t = 0; t < n; t++) {
            __m256i s[2][4];
            for (int j = 0; j < 4; j++) { /* A^T M: over the rows */
                __m256i m0 = _mm256_loadu_si256((const __m256i *)(m + ((size_t)(0 + j) * WT + t) * 16 + 8 * h));
                __m256i m1 = _mm256_loadu_si256((const __m256i *)(m + ((size_t)(4 + j) * WT + t) * 16 + 8 * h));
                __m256i m2 = _mm256_loadu_si256((const __m256i *)(m + ((size_t)(8 + j) * WT + t) * 16 + 8 * h));
                __m256i m3 = _mm256_loadu_si256((const __m256i *)(m + ((size_t)(12 + j) * WT + t) * 16 + 8 * h));
                s[0][j] = _mm256_add_epi32(_mm256_add_epi32(m0, m1), m2);
                s[1][j] = _mm256_sub_epi32(_mm256_sub_epi32(m1, m2), m3);
            }
            const int mask = g->tmask[t0 + t];
            uint8_t *o = g->out8 + g->tout[t0 + t] + oc0;
            for (int i = 0; i < 2; i++) { /* (A^T M) A: over the columns */
                if (i && !(mask & 2))
                    break;
                uint8_t *oi = o + (size_t)i * g->orow;
                wino_store(g, _mm256_add_epi32(_mm256_add_epi32(s[i][0], s[i][1]), s[i][2]), oc0, nc, oi);
                if (mask & 1)
                    wino_store(g, _mm256_sub_epi32(_mm256_sub_epi32(s[i][1], s[i][2]), s[i][3]), oc0,
                               nc, oi + g->opx);
            }
        }
    }
}

static void avx2_wino(const nn_q8_wino *g, int b0, int b1, int t0, int t1, void *scratch)
{
    int16_t *v = scratch;
    int32_t *m = (int32_t *)(v + (size_t)16 * WT * g->cv);
    for (int tp = t0; tp < t1; tp += WT) {
        int n = t1 - tp < WT ? t1 - tp : WT;
        wino_input(g, tp, n, v);
        for (int b = b0; b < b1; b++) {
            for (int x = 0; x < 16; x++) {
                int t = 0;
                for (; t + RMAX <= n; t += RMAX)
                    wino_tile(g, b, x, v, t, m, RMAX);
                switch (n - t) {
                case 5: wino_tile(g, b, x, v, t, m, 5); break;
                case 4: wino_tile(g, b, x, v, t, m, 4); break;
                case 3: wino_tile(g, b, x, v, t, m, 3); break;
                case 2: wino_tile(g, b, x, v, t, m, 2); break;
                case 1: wino_tile(g, b, x, v, t, m, 1); break;
                default: break;
                }
            }
            wino_output(g, b, tp, n, m);
        }
    }
}

const nn_q8_kernel nn_q8_kernel_avx2 = {"avx2", avx2_gemm, 1, avx2_wino};
