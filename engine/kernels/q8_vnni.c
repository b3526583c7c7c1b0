/* q8_vnni.c - the INT8 kernel on AVX-512 VNNI (vpdpbusd: 64 u8 x s8
 * multiply-adds into 16 int32 per instruction). Compiled alone with
 * -mavx512f -mavx512bw -mavx512vl -mavx512vnni (see engine/meson.build).
 *
 * A tile is R output pixels by V blocks of 16 channels, R*V accumulators
 * in registers: each step loads V weight vectors (16 channels x 4 input
 * channels) and broadcasts one input-channel quad per pixel, so a weight
 * load serves R pixels and a broadcast V blocks. (V, R) = (4, 6), (3, 8),
 * (2, 12), (1, 8) keep R*V + V within the 32 registers, and R = 6 or 8
 * divides the row widths of a 48x48 face net's layers (48, 24, 12, 6). */
#include "q8.h"

#include <immintrin.h>
#include <string.h>

static inline __attribute__((always_inline)) void
tile(const nn_q8_gemm *g, int b, const int V, const int R, int p, int nvalid)
{
    const size_t bs = nn_q8_block_bytes(g->taps, g->cq);
    const int8_t *w0 = g->w + (size_t)b * bs;
    const uint8_t *base[16];
    __m512i acc[16][4];
    for (int r = 0; r < R; r++) {
        /* past the last pixel, repeat it (computed, not stored) */
        base[r] = g->in + g->pix[p + (r < nvalid ? r : nvalid - 1)];
        for (int v = 0; v < V; v++)
            acc[r][v] = _mm512_setzero_si512();
    }
    for (int t = 0; t < g->taps; t++) {
        const int32_t toff = g->tap[t];
        const int8_t *wt = w0 + (size_t)t * g->cq * 64;
        for (int q = 0; q < g->cq; q++) {
            __m512i wv[4];
            for (int v = 0; v < V; v++)
                wv[v] = _mm512_loadu_si512(wt + v * bs + (size_t)q * 64);
            for (int r = 0; r < R; r++) {
                int32_t x;
                memcpy(&x, base[r] + toff + 4 * q, 4);
                __m512i a = _mm512_set1_epi32(x);
                for (int v = 0; v < V; v++)
                    acc[r][v] = _mm512_dpbusd_epi32(acc[r][v], a, wv[v]);
            }
        }
    }
    for (int v = 0; v < V; v++) {
        int oc0 = 16 * (b + v);
        if (oc0 >= g->oc)
            break;
        int n = g->oc - oc0 < 16 ? g->oc - oc0 : 16;
        __mmask16 m = (__mmask16)((1u << n) - 1);
        __m512 sc = _mm512_loadu_ps(g->scale + oc0), bi = _mm512_loadu_ps(g->bias + oc0);
        for (int r = 0; r < nvalid; r++) {
            __m512 f = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[r][v]), sc, bi);
            if (g->out8) {
                f = _mm512_min_ps(_mm512_max_ps(f, _mm512_set1_ps(g->lo)), _mm512_set1_ps(255.0f));
                __m128i bytes = _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(f));
                _mm_mask_storeu_epi8(g->out8 + g->opix[p + r] + oc0, m, bytes);
            } else {
                if (g->relu)
                    f = _mm512_max_ps(f, _mm512_setzero_ps());
                _mm512_mask_storeu_ps(g->outf + g->opix[p + r] + oc0, m, f);
            }
        }
    }
}

#define PIXELS(V, R)                                                      \
    for (int p = p0; p < p1; p += (R))                                    \
        tile(g, b, (V), (R), p, p1 - p < (R) ? p1 - p : (R))

static void vnni_gemm(const nn_q8_gemm *g, int b0, int b1, int p0, int p1)
{
    /* A dense layer has one pixel per image: no point computing copies. */
    const int few = p1 - p0 < 4;
    for (int b = b0; b < b1;) {
        int cnt = b1 - b;
        int V = cnt % 4 == 0 ? 4 : cnt % 3 == 0 ? 3 : cnt >= 4 ? 4 : cnt;
        if (few) {
            switch (V) {
            case 4: PIXELS(4, 1); break;
            case 3: PIXELS(3, 1); break;
            case 2: PIXELS(2, 1); break;
            default: PIXELS(1, 1); break;
            }
        } else {
            switch (V) {
            case 4: PIXELS(4, 6); break;
            case 3: PIXELS(3, 8); break;
            case 2: PIXELS(2, 12); break;
            default: PIXELS(1, 8); break;
            }
        }
        b += V;
    }
}

const nn_q8_kernel nn_q8_kernel_vnni = {"vnni", vnni_gemm, 0, NULL};
