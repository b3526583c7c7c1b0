/* avgpool.c - average pooling, k x k windows at a stride, no padding.
 * x[n][C][H][W] -> y[n][C][OH][OW]; backward spreads dy/k^2 over the window. */
#include "nn_impl.h"

#include <string.h>

static void avgpool_forward(nn_layer *l, const nn_ctx *c, const float *x, float *y, int n)
{
    (void)c;
    const int k = l->k, s = l->stride, H = l->in_h, W = l->in_w, OH = l->out_h, OW = l->out_w;
    const float inv = 1.0f / (float)(k * k);
    for (int p = 0; p < n * l->in_c; p++) {
        const float *xp = x + (size_t)p * H * W;
        float *yp = y + (size_t)p * OH * OW;
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                const float *w0 = xp + (size_t)oy * s * W + ox * s;
                float sum = 0;
                for (int ky = 0; ky < k; ky++)
                    for (int kx = 0; kx < k; kx++)
                        sum += w0[ky * W + kx];
                yp[oy * OW + ox] = sum * inv;
            }
    }
}

static void avgpool_backward(nn_layer *l, const nn_ctx *c, const float *x, const float *y,
                             const float *dy, float *dx, int n)
{
    (void)c; (void)x; (void)y;
    if (!dx)
        return;
    const int k = l->k, s = l->stride, H = l->in_h, W = l->in_w, OH = l->out_h, OW = l->out_w;
    const float inv = 1.0f / (float)(k * k);
    memset(dx, 0, (size_t)n * l->in_c * H * W * sizeof(float));
    for (int p = 0; p < n * l->in_c; p++) {
        float *dxp = dx + (size_t)p * H * W;
        const float *dyp = dy + (size_t)p * OH * OW;
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                float g = dyp[oy * OW + ox] * inv;
                float *w0 = dxp + (size_t)oy * s * W + ox * s;
                for (int ky = 0; ky < k; ky++)
                    for (int kx = 0; kx < k; kx++)
                        w0[ky * W + kx] += g;
            }
    }
}

const nn_layer_ops nn_avgpool_ops = {"avgpool", NULL, avgpool_forward, avgpool_backward};
