/* gap.c - global average pooling: x[n][C][H][W] -> y[n][C] (1x1). */
#include "nn_impl.h"

static void gap_forward(nn_layer *l, const nn_ctx *c, const float *x, float *y, int n)
{
    (void)c;
    const size_t P = (size_t)l->in_h * l->in_w;
    const float inv = 1.0f / (float)P;
    for (int p = 0; p < n * l->in_c; p++) {
        const float *xp = x + p * P;
        float s = 0;
        for (size_t i = 0; i < P; i++)
            s += xp[i];
        y[p] = s * inv;
    }
}

static void gap_backward(nn_layer *l, const nn_ctx *c, const float *x, const float *y,
                         const float *dy, float *dx, int n)
{
    (void)c; (void)x; (void)y;
    if (!dx)
        return;
    const size_t P = (size_t)l->in_h * l->in_w;
    const float inv = 1.0f / (float)P;
    for (int p = 0; p < n * l->in_c; p++) {
        float g = dy[p] * inv, *dxp = dx + p * P;
        for (size_t i = 0; i < P; i++)
            dxp[i] = g;
    }
}

const nn_layer_ops nn_gap_ops = {"gap", NULL, gap_forward, gap_backward};
