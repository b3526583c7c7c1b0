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

const nn_q8_kernel nn_q8_kernel_ref = {"ref", ref_gemm, 0, NULL};

void nn_q8_wino_weights(int16_t *u, const int8_t *w, int cq, int nb, int cv)
{
    const size_t bb = nn_q8_block_bytes(9, cq);
    for (int b = 0; b < nb; b++)
        for (int c = 0; c < cv; c++)
            for (int j = 0; j < 16; j++) {
                int g[3][3] = {{0}}, gg[4][3], U[4][4];
                if (c < 4 * cq) /* past the packed channels: zero weights */
                    for (int t = 0; t < 9; t++)
                        g[t / 3][t % 3] = w[(size_t)b * bb + ((size_t)t * cq + c / 4) * 64 + 4 * j + c % 4];
                for (int k = 0; k < 3; k++) { /* G' g: over the rows */
                    gg[0][k] = 2 * g[0][k];
                    gg[1][k] = g[0][k] + g[1][k] + g[2][k];
                    gg[2][k] = g[0][k] - g[1][k] + g[2][k];
                    gg[3][k] = 2 * g[2][k];
                }
                for (int i = 0; i < 4; i++) { /* (G' g) G'^T: over the columns */
                    U[i][0] = 2 * gg[i][0];
                    U[i][1] = gg[i][0] + gg[i][1] + gg[i][2];
                    U[i][2] = gg[i][0] - gg[i][1] + gg[i][2];
                    U[i][3] = 2 * gg[i][2];
                }
                for (int x = 0; x < 16; x++)
                    u[((((size_t)b * 16 + x) * (cv / 2) + c / 2) * 16 + j) * 2 + c % 2] =
                        (int16_t)U[x / 4][x % 4];
            }
}
