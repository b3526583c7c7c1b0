/* batchnorm.c - batch normalisation per channel over (n, H, W).
 * Training: y = gamma * (x - mu_B) / sqrt(var_B + eps) + beta with batch
 * statistics (mu_B and 1/std kept in aux for backward), and the running
 * statistics move towards them. Inference uses the running statistics.
 * Parameters: w = gamma[C], b = beta[C]; state: mean[C], var[C]. */
#include "nn_impl.h"

#include <math.h>

typedef struct {
    nn_layer *l;
    const nn_ctx *c;
    const float *x, *dy;
    float *y, *dx;
    int n;
} bn_job;

/* Channels are independent: one task each, spread over the pool. */
static void bn_forward_channel(void *arg, int ch, int thread)
{
    bn_job *j = arg;
    nn_layer *l = j->l;
    const float *x = j->x;
    float *y = j->y;
    const int n = j->n, C = l->in_c;
    const size_t P = (size_t)l->in_h * l->in_w, m = (size_t)n * P;
    (void)thread;
    {
        float mu, inv;
        if (j->c->train) {
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

static void bn_forward(nn_layer *l, const nn_ctx *c, const float *x, float *y, int n)
{
    bn_job j = {.l = l, .c = c, .x = x, .y = y, .n = n};
    nn_pool_run(nn_pool_for(c->pool, (size_t)n * l->in_c * l->in_h * l->in_w), l->in_c,
                bn_forward_channel, &j);
}

static void bn_backward_channel(void *arg, int ch, int thread)
{
    bn_job *j = arg;
    nn_layer *l = j->l;
    const float *x = j->x, *dy = j->dy;
    float *dx = j->dx;
    const int n = j->n, C = l->in_c;
    const size_t P = (size_t)l->in_h * l->in_w, m = (size_t)n * P;
    (void)thread;
    {
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
            return;
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

static void bn_backward(nn_layer *l, const nn_ctx *c, const float *x, const float *y,
                        const float *dy, float *dx, int n)
{
    (void)y;
    bn_job j = {.l = l, .c = c, .x = x, .dy = dy, .dx = dx, .n = n};
    nn_pool_run(nn_pool_for(c->pool, (size_t)n * l->in_c * l->in_h * l->in_w), l->in_c,
                bn_backward_channel, &j);
}

const nn_layer_ops nn_bn_ops = {"bn", NULL, bn_forward, bn_backward};
