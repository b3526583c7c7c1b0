/* batchnorm.c - batch normalisation per channel over (n, H, W).
 * Training: y = gamma * (x - mu_B) / sqrt(var_B + eps) + beta with batch
 * statistics (mu_B and 1/std kept in aux for backward), and the running
 * statistics move towards them. Inference uses the running statistics.
 * Parameters: w = gamma[C], b = beta[C]; state: mean[C], var[C]. */
#include "nn_impl.h"

#include <math.h>

static void bn_forward(nn_layer *l, const nn_ctx *c, const float *x, float *y, int n)
{
    const int C = l->in_c;
    const size_t P = (size_t)l->in_h * l->in_w, m = (size_t)n * P;
    for (int ch = 0; ch < C; ch++) {
        float mu, inv;
        if (c->train) {
            double s = 0, ss = 0;
            for (int i = 0; i < n; i++) {
                const float *xp = x + ((size_t)i * C + ch) * P;
                for (size_t p = 0; p < P; p++)
                    s += xp[p];
            }
            mu = (float)(s / (double)m);
            for (int i = 0; i < n; i++) {
                const float *xp = x + ((size_t)i * C + ch) * P;
                for (size_t p = 0; p < P; p++) {
                    float d = xp[p] - mu;
                    ss += d * d;
                }
            }
            float var = (float)(ss / (double)m);
            inv = 1.0f / sqrtf(var + l->eps);
            l->aux[ch] = mu;
            l->aux[C + ch] = inv;
            /* Running variance is the unbiased estimate, as PyTorch keeps it. */
            float unbiased = m > 1 ? var * (float)m / (float)(m - 1) : var;
            l->mean[ch] = l->momentum * l->mean[ch] + (1.0f - l->momentum) * mu;
            l->var[ch] = l->momentum * l->var[ch] + (1.0f - l->momentum) * unbiased;
        } else {
            mu = l->mean[ch];
            inv = 1.0f / sqrtf(l->var[ch] + l->eps);
        }
        const float g = l->w[ch] * inv, b = l->b[ch] - mu * g;
        for (int i = 0; i < n; i++) {
            const float *xp = x + ((size_t)i * C + ch) * P;
            float *yp = y + ((size_t)i * C + ch) * P;
            for (size_t p = 0; p < P; p++)
                yp[p] = xp[p] * g + b;
        }
    }
}

static void bn_backward(nn_layer *l, const nn_ctx *c, const float *x, const float *y,
                        const float *dy, float *dx, int n)
{
    (void)c; (void)y;
    const int C = l->in_c;
    const size_t P = (size_t)l->in_h * l->in_w, m = (size_t)n * P;
    for (int ch = 0; ch < C; ch++) {
        const float mu = l->aux[ch], inv = l->aux[C + ch];
        double sdy = 0, sdyx = 0; /* sum dy, sum dy * xhat */
        for (int i = 0; i < n; i++) {
            const float *xp = x + ((size_t)i * C + ch) * P, *dyp = dy + ((size_t)i * C + ch) * P;
            for (size_t p = 0; p < P; p++) {
                sdy += dyp[p];
                sdyx += dyp[p] * (xp[p] - mu) * inv;
            }
        }
        l->db[ch] += (float)sdy;
        l->dw[ch] += (float)sdyx;
        if (!dx)
            continue;
        const float g = l->w[ch] * inv;
        const float a = (float)(sdy / (double)m), bcoef = (float)(sdyx / (double)m);
        for (int i = 0; i < n; i++) {
            const float *xp = x + ((size_t)i * C + ch) * P, *dyp = dy + ((size_t)i * C + ch) * P;
            float *dxp = dx + ((size_t)i * C + ch) * P;
            for (size_t p = 0; p < P; p++)
                dxp[p] = g * (dyp[p] - a - (xp[p] - mu) * inv * bcoef);
        }
    }
}

const nn_layer_ops nn_bn_ops = {"bn", NULL, bn_forward, bn_backward};
