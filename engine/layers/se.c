/* se.c - squeeze-and-excitation: each channel of an image is rescaled by a
 * gate computed from the whole image, s = sigmoid(W2 relu(W1 g + b1) + b2)
 * with g the channels' means, y[c] = x[c] * s[c]. Parameters: w = W1[m][c]
 * then W2[c][m], b = b1[m] then b2[c], m = l->k hidden units. aux keeps,
 * per image (nn__se_aux_per_image floats), g, h and s for backward, then
 * backward's gradients of the gate's pre-activations dz2[c] and dh[m].
 *
 * The passes over the activations are memory-bound and independent per
 * image, so images are spread over the pool; the parameter gradients are
 * then summed image by image on the caller, in a fixed order, so results
 * do not depend on the thread count. */
#include "nn_impl.h"

#include <math.h>
#include <string.h>

size_t nn__se_aux_per_image(const nn_layer *l) { return 3 * (size_t)l->in_c + 2 * (size_t)l->k; }

/* Sums in eight interleaved lanes: one chain of dependent adds would
 * bound the pass by the adder's latency, not by memory. */
static float lane_sum(const float *x, size_t n)
{
    float acc[8] = {0};
    size_t p = 0;
    for (; p + 8 <= n; p += 8)
        for (int k = 0; k < 8; k++)
            acc[k] += x[p + k];
    for (int k = 0; p < n; p++, k++)
        acc[k] += x[p];
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

static float lane_dot(const float *x, const float *y, size_t n)
{
    float acc[8] = {0};
    size_t p = 0;
    for (; p + 8 <= n; p += 8)
        for (int k = 0; k < 8; k++)
            acc[k] += x[p + k] * y[p + k];
    for (int k = 0; p < n; p++, k++)
        acc[k] += x[p] * y[p];
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

void nn__se_gate(const nn_layer *l, const float *g, float *h, float *s)
{
    const int C = l->in_c, M = l->k;
    const float *w1 = l->w, *w2 = l->w + (size_t)M * C, *b1 = l->b, *b2 = l->b + M;
    for (int j = 0; j < M; j++) {
        float v = b1[j];
        for (int c = 0; c < C; c++)
            v += w1[(size_t)j * C + c] * g[c];
        h[j] = v > 0 ? v : 0;
    }
    for (int c = 0; c < C; c++) {
        float v = b2[c];
        for (int j = 0; j < M; j++)
            v += w2[(size_t)c * M + j] * h[j];
        s[c] = 1.0f / (1.0f + expf(-v));
    }
}

typedef struct {
    nn_layer *l;
    const float *x, *dy;
    float *y, *dx;
} se_job;

static void forward_task(void *arg, int i, int thread)
{
    (void)thread;
    const se_job *j = arg;
    nn_layer *l = j->l;
    const int C = l->in_c, M = l->k;
    const size_t P = (size_t)l->in_h * l->in_w;
    const float *xi = j->x + (size_t)i * C * P;
    float *yi = j->y + (size_t)i * C * P, *g = l->aux + (size_t)i * nn__se_aux_per_image(l), *h = g + C,
          *s = h + M;
    for (int c = 0; c < C; c++)
        g[c] = lane_sum(xi + (size_t)c * P, P) / (float)P;
    nn__se_gate(l, g, h, s);
    for (int c = 0; c < C; c++)
        for (size_t p = 0; p < P; p++)
            yi[(size_t)c * P + p] = xi[(size_t)c * P + p] * s[c];
}

static void se_forward(nn_layer *l, const nn_ctx *ctx, const float *x, float *y, int n)
{
    se_job j = {l, x, NULL, y, NULL};
    nn_pool_run(nn_pool_for(ctx->pool, (size_t)n * l->in_c * l->in_h * l->in_w), n, forward_task, &j);
}

/* One image's gate gradients (dz2, dh into its aux) and, with dx, its input
 * gradient. */
static void backward_task(void *arg, int i, int thread)
{
    (void)thread;
    const se_job *j = arg;
    const nn_layer *l = j->l;
    const int C = l->in_c, M = l->k;
    const size_t P = (size_t)l->in_h * l->in_w;
    const float *w1 = l->w, *w2 = l->w + (size_t)M * C;
    const float *xi = j->x + (size_t)i * C * P, *dyi = j->dy + (size_t)i * C * P;
    float *g = l->aux + (size_t)i * nn__se_aux_per_image(l), *h = g + C, *s = h + M, *dz2 = s + C, *dh = dz2 + C;
    /* through y = x * s and the sigmoid */
    for (int c = 0; c < C; c++)
        dz2[c] = lane_dot(dyi + (size_t)c * P, xi + (size_t)c * P, P) * s[c] * (1.0f - s[c]);
    for (int m = 0; m < M; m++) {
        float v = 0;
        for (int c = 0; c < C; c++)
            v += w2[(size_t)c * M + m] * dz2[c];
        dh[m] = h[m] > 0 ? v : 0;
    }
    if (!j->dx)
        return;
    float *dxi = j->dx + (size_t)i * C * P;
    for (int c = 0; c < C; c++) {
        float dg = 0;
        for (int m = 0; m < M; m++)
            dg += w1[(size_t)m * C + c] * dh[m];
        dg /= (float)P; /* through the mean */
        for (size_t p = 0; p < P; p++)
            dxi[(size_t)c * P + p] = dyi[(size_t)c * P + p] * s[c] + dg;
    }
}

static void se_backward(nn_layer *l, const nn_ctx *ctx, const float *x, const float *y, const float *dy,
                        float *dx, int n)
{
    (void)y;
    se_job j = {l, x, dy, NULL, dx};
    nn_pool_run(nn_pool_for(ctx->pool, (size_t)n * l->in_c * l->in_h * l->in_w), n, backward_task, &j);
    const int C = l->in_c, M = l->k;
    float *dw1 = l->dw, *dw2 = l->dw + (size_t)M * C, *db1 = l->db, *db2 = l->db + M;
    for (int i = 0; i < n; i++) {
        const float *g = l->aux + (size_t)i * nn__se_aux_per_image(l), *h = g + C, *s = h + M, *dz2 = s + C,
                    *dh = dz2 + C;
        for (int c = 0; c < C; c++) {
            db2[c] += dz2[c];
            for (int m = 0; m < M; m++)
                dw2[(size_t)c * M + m] += dz2[c] * h[m];
        }
        for (int m = 0; m < M; m++) {
            db1[m] += dh[m];
            for (int c = 0; c < C; c++)
                dw1[(size_t)m * C + c] += dh[m] * g[c];
        }
    }
}

const nn_layer_ops nn_se_ops = {"se", NULL, se_forward, se_backward};
