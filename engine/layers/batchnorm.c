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
#include <stdint.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

typedef struct {
    nn_layer *l;
    const nn_ctx *c;
    const float *x, *dy, *relu_y;
    float *y, *dx, *relu_out;
    int n, group; /* batch; channels per task */
} bn_job;

/* A channel's planes lie C planes apart, one per image: for small planes
 * (a 6x6 plane is 144 bytes) the prefetchers hardly get going before each
 * jump. So a task takes a group of neighbouring channels and walks them
 * image by image, through runs of about GROUP_FLOATS contiguous values.
 * Each channel's sums still go plane by plane in image order: the results
 * are those of one channel at a time. */
#define GROUP_FLOATS 8192
#define MAX_GROUP 32

static int group_size(const nn_layer *l)
{
    size_t P = (size_t)l->in_h * l->in_w, g = (GROUP_FLOATS + P - 1) / P;
    g = g > MAX_GROUP ? MAX_GROUP : g;
    return (int)g < l->in_c ? (int)g : l->in_c;
}

static int group_tasks(const bn_job *j) { return (j->l->in_c + j->group - 1) / j->group; }

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

/* A fused ReLU's mask is remade from x, which backward reads anyway: its
 * input x * g + b, the very products the forward pass made, is > 0 exactly
 * where relu_y is. dy goes through it in pieces of CHUNK values into an
 * L1-resident buffer (a select the compiler vectorizes), so neither the
 * ReLU's output nor a masked copy of dy makes a trip to memory. */
#define CHUNK 512

static void mask_dy(const float *restrict dy, const float *restrict x, size_t P, float g,
                    float b, float *restrict o)
{
    for (size_t p = 0; p < P; p++) {
        float gv = dy[p], v = x[p] * g + b; /* loads first: the select vectorizes */
        o[p] = v > 0.0f ? gv : 0.0f;
    }
}

/* dx = g * (dy - mean dy - xhat * mean(dy * xhat)) over n values */
static void dx_piece(const float *restrict dy, const float *restrict x, size_t n, float g,
                     float a, float mu, float inv, float bcoef, float *restrict dx)
{
    for (size_t p = 0; p < n; p++)
        dx[p] = g * (dy[p] - a - (x[p] - mu) * inv * bcoef);
}

/* y = x * g + b and relu_y = max(y, 0). Training reads only relu_y
 * again (backward takes x and remakes the mask from it), so there y is
 * not written at all (NULL); inference writes it with non-temporal stores
 * where the CPU has them: no read of its lines for ownership, no cache
 * lines evicted for it. The values are the same either way. */
static void norm_relu(const float *restrict x, size_t P, float g, float b, float *restrict y,
                      float *restrict relu_y)
{
    size_t p = 0;
    if (!y) {
        for (; p < P; p++) {
            float v = x[p] * g + b;
            relu_y[p] = v > 0.0f ? v : 0.0f;
        }
        return;
    }
#if defined(__SSE2__)
    for (; p < P && ((uintptr_t)(y + p) & 15); p++) {
        float v = x[p] * g + b;
        y[p] = v;
        relu_y[p] = v > 0.0f ? v : 0.0f;
    }
    const __m128 vg = _mm_set1_ps(g), vb = _mm_set1_ps(b), zero = _mm_setzero_ps();
    for (; p + 4 <= P; p += 4) {
        __m128 v = _mm_add_ps(_mm_mul_ps(_mm_loadu_ps(x + p), vg), vb);
        _mm_stream_ps(y + p, v);
        /* v > 0 ? v : 0, as the scalar select: NaN gives 0 */
        _mm_storeu_ps(relu_y + p, _mm_and_ps(_mm_cmpgt_ps(v, zero), v));
    }
#endif
    for (; p < P; p++) {
        float v = x[p] * g + b;
        y[p] = v;
        relu_y[p] = v > 0.0f ? v : 0.0f;
    }
}

/* Channels are independent: a group of them per task, spread over the
 * pool. */
static void bn_forward_group(void *arg, int task, int thread)
{
    bn_job *j = arg;
    nn_layer *l = j->l;
    const float *x = j->x;
    float *y = j->y;
    const int n = j->n, C = l->in_c, c0 = task * j->group;
    const int G = C - c0 < j->group ? C - c0 : j->group;
    const size_t P = (size_t)l->in_h * l->in_w, m = (size_t)n * P;
    (void)thread;
    float gs[MAX_GROUP], bs[MAX_GROUP];
    if (j->c->train) {
        double s[MAX_GROUP] = {0}, ss[MAX_GROUP] = {0};
        float mus[MAX_GROUP];
        for (int i = 0; i < n; i++)
            for (int k = 0; k < G; k++)
                s[k] += plane_sum(x + ((size_t)i * C + c0 + k) * P, P);
        for (int k = 0; k < G; k++)
            mus[k] = (float)(s[k] / (double)m);
        for (int i = 0; i < n; i++)
            for (int k = 0; k < G; k++)
                ss[k] += plane_sqdev(x + ((size_t)i * C + c0 + k) * P, P, mus[k]);
        for (int k = 0; k < G; k++) {
            const int ch = c0 + k;
            float mu = mus[k], var = (float)(ss[k] / (double)m);
            float inv = 1.0f / sqrtf(var + l->eps);
            l->aux[ch] = mu;
            l->aux[C + ch] = inv;
            /* Running variance is the unbiased estimate, as PyTorch keeps it. */
            float unbiased = m > 1 ? var * (float)m / (float)(m - 1) : var;
            l->mean[ch] = l->momentum * l->mean[ch] + (1.0f - l->momentum) * mu;
            l->var[ch] = l->momentum * l->var[ch] + (1.0f - l->momentum) * unbiased;
            gs[k] = l->w[ch] * inv;
            bs[k] = l->b[ch] - mu * gs[k];
        }
    } else {
        for (int k = 0; k < G; k++) {
            const int ch = c0 + k;
            float mu = l->mean[ch], inv = 1.0f / sqrtf(l->var[ch] + l->eps);
            gs[k] = l->w[ch] * inv;
            bs[k] = l->b[ch] - mu * gs[k];
        }
    }
    for (int i = 0; i < n; i++)
        for (int k = 0; k < G; k++) {
            const size_t off = ((size_t)i * C + c0 + k) * P;
            const float *restrict xp = x + off;
            float *restrict yp = y + off;
            const float g = gs[k], b = bs[k];
            if (j->relu_out) {
                norm_relu(xp, P, g, b, j->c->train ? NULL : yp, j->relu_out + off);
            } else {
                for (size_t p = 0; p < P; p++)
                    yp[p] = xp[p] * g + b;
            }
        }
#if defined(__SSE2__)
    _mm_sfence(); /* the streamed stores are visible before the task ends */
#endif
}

void nn_bn_forward_relu(nn_layer *l, const nn_ctx *c, const float *x, float *y, float *relu_y,
                        int n)
{
    bn_job j = {.l = l, .c = c, .x = x, .y = y, .relu_out = relu_y, .n = n,
                .group = group_size(l)};
    nn_pool_run(nn_pool_for(c->pool, (size_t)n * l->in_c * l->in_h * l->in_w), group_tasks(&j),
                bn_forward_group, &j);
}

static void bn_forward(nn_layer *l, const nn_ctx *c, const float *x, float *y, int n)
{
    nn_bn_forward_relu(l, c, x, y, NULL, n);
}

static void bn_backward_group(void *arg, int task, int thread)
{
    bn_job *j = arg;
    nn_layer *l = j->l;
    const float *x = j->x;
    float *dx = j->dx;
    const int n = j->n, C = l->in_c, c0 = task * j->group, relu = j->relu_y != NULL;
    const int G = C - c0 < j->group ? C - c0 : j->group;
    const size_t P = (size_t)l->in_h * l->in_w, m = (size_t)n * P;
    (void)thread;
    /* sum dy and sum dy * (x - mu) per channel; the forward's scale, shift */
    double sdy[MAX_GROUP] = {0}, sdyx[MAX_GROUP] = {0};
    float gs[MAX_GROUP], bs[MAX_GROUP];
    for (int k = 0; k < G; k++) {
        const float mu = l->aux[c0 + k], inv = l->aux[C + c0 + k];
        gs[k] = l->w[c0 + k] * inv;
        bs[k] = l->b[c0 + k] - mu * gs[k];
    }
    float buf[CHUNK];
    for (int i = 0; i < n; i++)
        for (int k = 0; k < G; k++) {
            const size_t off = ((size_t)i * C + c0 + k) * P;
            const float mu = l->aux[c0 + k];
            for (size_t p = 0; p < P; p += CHUNK) { /* in the same pieces either way */
                size_t q = P - p < CHUNK ? P - p : CHUNK;
                const float *d = j->dy + off + p;
                if (relu) {
                    mask_dy(d, x + off + p, q, gs[k], bs[k], buf);
                    d = buf;
                }
                plane_dsums(d, x + off + p, q, mu, &sdy[k], &sdyx[k]);
            }
        }
    float as[MAX_GROUP], bcoefs[MAX_GROUP];
    for (int k = 0; k < G; k++) {
        const int ch = c0 + k;
        sdyx[k] *= l->aux[C + ch]; /* sum dy * xhat */
        l->db[ch] += (float)sdy[k];
        l->dw[ch] += (float)sdyx[k];
        as[k] = (float)(sdy[k] / (double)m);
        bcoefs[k] = (float)(sdyx[k] / (double)m);
    }
    if (!dx)
        return;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < G; k++) {
            const size_t off = ((size_t)i * C + c0 + k) * P;
            const float mu = l->aux[c0 + k], inv = l->aux[C + c0 + k];
            for (size_t p = 0; p < P; p += CHUNK) {
                size_t q = P - p < CHUNK ? P - p : CHUNK;
                const float *d = j->dy + off + p;
                if (relu) {
                    mask_dy(d, x + off + p, q, gs[k], bs[k], buf);
                    d = buf;
                }
                dx_piece(d, x + off + p, q, gs[k], as[k], mu, inv, bcoefs[k], dx + off + p);
            }
        }
}

/* relu_y (the fused ReLU's output) only says that there is one: its mask
 * is remade from x, which backward reads anyway (see mask_dy). */
void nn_bn_backward_relu(nn_layer *l, const nn_ctx *c, const float *x, const float *relu_y,
                         const float *dy, float *dx, int n)
{
    bn_job j = {.l = l, .c = c, .x = x, .dy = dy, .relu_y = relu_y, .dx = dx, .n = n,
                .group = group_size(l)};
    nn_pool_run(nn_pool_for(c->pool, (size_t)n * l->in_c * l->in_h * l->in_w), group_tasks(&j),
                bn_backward_group, &j);
}

static void bn_backward(nn_layer *l, const nn_ctx *c, const float *x, const float *y,
                        const float *dy, float *dx, int n)
{
    (void)y;
    nn_bn_backward_relu(l, c, x, NULL, dy, dx, n);
}

/* no per-thread scratch */
static size_t bn_scratch(const nn_layer *l, int n)
{
    (void)l;
    (void)n;
    return 0;
}

const nn_layer_ops nn_bn_ops = {"bn", bn_scratch, bn_forward, bn_backward};
