/* batchnorm.c - batch normalisation per channel over (n, H, W).
 * Training: y = gamma * (x - mu_B) / sqrt(var_B + eps) + beta with batch
 * statistics (mu_B and 1/std kept in aux for backward), and the running
 * statistics move towards them. Inference uses the running statistics.
 * Parameters: w = gamma[C], b = beta[C]; state: mean[C], var[C].
 *
 * A ReLU right after can run in the same passes (nn_bn_forward_relu,
 * nn_bn_backward_relu), as for convolutions. */
#include "nn_impl.h"

#include <math.h>

typedef struct {
    nn_layer *l;
    const nn_ctx *c;
    const float *x, *dy, *relu_y;
    float *y, *dx, *relu_out;
    int n;
} bn_job;

/* Sums over one plane in LANES independent float partials (a loop the
 * compiler vectorizes, in a fixed order), added up in double. */
#define LANES 16

static double plane_sum(const float *restrict x, size_t P)
{
    float acc[LANES] = {0};
    size_t p = 0;
    for (; p + LANES <= P; p += LANES)
        for (int k = 0; k < LANES; k++)
            acc[k] += x[p + k];
    double s = 0;
    for (; p < P; p++)
        s += x[p];
    for (int k = 0; k < LANES; k++)
        s += acc[k];
    return s;
}

static double plane_sqdev(const float *restrict x, size_t P, float mu)
{
    float acc[LANES] = {0};
    size_t p = 0;
    for (; p + LANES <= P; p += LANES)
        for (int k = 0; k < LANES; k++) {
            float d = x[p + k] - mu;
            acc[k] += d * d;
        }
    double s = 0;
    for (; p < P; p++)
        s += (double)(x[p] - mu) * (x[p] - mu);
    for (int k = 0; k < LANES; k++)
        s += acc[k];
    return s;
}

/* dy masked by the fused ReLU (relu_y > 0), or dy itself (relu_y NULL),
 * into buf; returns the values to use. */
static const float *masked_dy(const float *dy, const float *relu_y, size_t P, float *buf)
{
    if (!relu_y)
        return dy;
    const float *restrict g = dy, *restrict r = relu_y;
    float *restrict o = buf;
    for (size_t p = 0; p < P; p++) {
        float gv = g[p], rv = r[p]; /* loads first: a select the compiler vectorizes */
        o[p] = rv > 0.0f ? gv : 0.0f;
    }
    return buf;
}

/* sum dy and sum dy * (x - mu) over one plane */
static void plane_dsums(const float *restrict dy, const float *restrict x, size_t P, float mu,
                        double *sdy, double *sdyx)
{
    float a0[LANES] = {0}, a1[LANES] = {0};
    size_t p = 0;
    for (; p + LANES <= P; p += LANES)
        for (int k = 0; k < LANES; k++) {
            a0[k] += dy[p + k];
            a1[k] += dy[p + k] * (x[p + k] - mu);
        }
    double s0 = 0, s1 = 0;
    for (; p < P; p++) {
        s0 += dy[p];
        s1 += (double)dy[p] * (x[p] - mu);
    }
    for (int k = 0; k < LANES; k++) {
        s0 += a0[k];
        s1 += a1[k];
    }
    *sdy += s0;
    *sdyx += s1;
}

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
    float mu, inv;
    if (j->c->train) {
        double s = 0, ss = 0;
        for (int i = 0; i < n; i++)
            s += plane_sum(x + ((size_t)i * C + ch) * P, P);
        mu = (float)(s / (double)m);
        for (int i = 0; i < n; i++)
            ss += plane_sqdev(x + ((size_t)i * C + ch) * P, P, mu);
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
        const size_t off = ((size_t)i * C + ch) * P;
        const float *restrict xp = x + off;
        float *restrict yp = y + off;
        if (j->relu_out) {
            float *restrict rp = j->relu_out + off;
            for (size_t p = 0; p < P; p++) {
                float v = xp[p] * g + b;
                yp[p] = v;
                rp[p] = v > 0.0f ? v : 0.0f;
            }
        } else {
            for (size_t p = 0; p < P; p++)
                yp[p] = xp[p] * g + b;
        }
    }
}

void nn_bn_forward_relu(nn_layer *l, const nn_ctx *c, const float *x, float *y, float *relu_y,
                        int n)
{
    bn_job j = {.l = l, .c = c, .x = x, .y = y, .relu_out = relu_y, .n = n};
    nn_pool_run(nn_pool_for(c->pool, (size_t)n * l->in_c * l->in_h * l->in_w), l->in_c,
                bn_forward_channel, &j);
}

static void bn_forward(nn_layer *l, const nn_ctx *c, const float *x, float *y, int n)
{
    nn_bn_forward_relu(l, c, x, y, NULL, n);
}

static void bn_backward_channel(void *arg, int ch, int thread)
{
    bn_job *j = arg;
    nn_layer *l = j->l;
    const float *x = j->x;
    float *dx = j->dx;
    const int n = j->n, C = l->in_c;
    const size_t P = (size_t)l->in_h * l->in_w, m = (size_t)n * P;
    /* With a ReLU fused, the channel's masked dy (n planes) is kept in
     * scratch between the two passes rather than masked twice. */
    float *masked = j->c->scratch[thread];
    const float mu = l->aux[ch], inv = l->aux[C + ch];
    double sdy = 0, sdyx = 0; /* sum dy, sum dy * (x - mu) */
    for (int i = 0; i < n; i++) {
        const size_t off = ((size_t)i * C + ch) * P;
        const float *d = masked_dy(j->dy + off, j->relu_y ? j->relu_y + off : NULL, P,
                                   masked + (size_t)i * P);
        plane_dsums(d, x + off, P, mu, &sdy, &sdyx);
    }
    sdyx *= inv; /* sum dy * xhat */
    l->db[ch] += (float)sdy;
    l->dw[ch] += (float)sdyx;
    if (!dx)
        return;
    const float g = l->w[ch] * inv;
    const float a = (float)(sdy / (double)m), bcoef = (float)(sdyx / (double)m);
    for (int i = 0; i < n; i++) {
        const size_t off = ((size_t)i * C + ch) * P;
        const float *restrict xp = x + off;
        const float *restrict dyp = j->relu_y ? masked + (size_t)i * P : j->dy + off;
        float *restrict dxp = dx + off;
        for (size_t p = 0; p < P; p++)
            dxp[p] = g * (dyp[p] - a - (xp[p] - mu) * inv * bcoef);
    }
}

void nn_bn_backward_relu(nn_layer *l, const nn_ctx *c, const float *x, const float *relu_y,
                         const float *dy, float *dx, int n)
{
    bn_job j = {.l = l, .c = c, .x = x, .dy = dy, .relu_y = relu_y, .dx = dx, .n = n};
    nn_pool_run(nn_pool_for(c->pool, (size_t)n * l->in_c * l->in_h * l->in_w), l->in_c,
                bn_backward_channel, &j);
}

static void bn_backward(nn_layer *l, const nn_ctx *c, const float *x, const float *y,
                        const float *dy, float *dx, int n)
{
    (void)y;
    nn_bn_backward_relu(l, c, x, NULL, dy, dx, n);
}

/* floats of per-thread scratch: a channel's masked dy */
static size_t bn_scratch(const nn_layer *l, int n)
{
    return (size_t)n * l->in_h * l->in_w;
}

const nn_layer_ops nn_bn_ops = {"bn", bn_scratch, bn_forward, bn_backward};
