/* q8_ref.c - the scalar INT8 kernel: the definition the SIMD kernels are
 * tested against bit for bit (see q8.h for what it computes). */
#include "q8.h"

#include <math.h>

static void ref_gemm(const nn_q8_gemm *g, int b0, int b1, int p0, int p1)
{
    const int K4 = g->taps * g->cq;
    for (int b = b0; b < b1; b++) {
        const int8_t *wb = g->w + (size_t)b * nn_q8_block_bytes(g->taps, g->cq);
        for (int p = p0; p < p1; p++) {
            int32_t acc[16] = {0};
            const uint8_t *win = g->in + g->pix[p];
            for (int s = 0; s < K4; s++) {
                int t = s / g->cq, q = s % g->cq;
                const uint8_t *x = win + g->tap[t] + 4 * q;
                const int8_t *w = wb + (size_t)s * 64;
                for (int j = 0; j < 16; j++)
                    for (int c = 0; c < 4; c++)
                        acc[j] += (int32_t)x[c] * w[4 * j + c];
            }
            for (int j = 0; j < 16 && 16 * b + j < g->oc; j++) {
                int oc = 16 * b + j;
                float v = fmaf((float)acc[j], g->scale[oc], g->bias[oc]);
                if (g->out8) {
                    v = fminf(fmaxf(v, g->lo), 255.0f);
                    g->out8[g->opix[p] + oc] = (uint8_t)nearbyintf(v);
                } else {
                    g->outf[g->opix[p] + oc] = g->relu ? fmaxf(v, 0.0f) : v;
                }
            }
        }
    }
}

const nn_q8_kernel nn_q8_kernel_ref = {"ref", ref_gemm, 0};
