/* softmax.c - y = exp(x - max) / sum, per image over its k values.
 * Training normally fuses softmax with the loss (nn_net_backward); this
 * backward serves a softmax used on its own: dx = y * (dy - sum(dy * y)). */
#include "nn_impl.h"

#include <math.h>

static void softmax_forward(nn_layer *l, const nn_ctx *c, const float *x, float *y, int n)
{
    (void)c;
    const int k = l->in_c;
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * k;
        float *yi = y + (size_t)i * k, m = xi[0], s = 0;
        for (int j = 1; j < k; j++)
            if (xi[j] > m)
                m = xi[j];
        for (int j = 0; j < k; j++)
            s += (yi[j] = expf(xi[j] - m));
        for (int j = 0; j < k; j++)
            yi[j] /= s;
    }
}

static void softmax_backward(nn_layer *l, const nn_ctx *c, const float *x, const float *y,
                             const float *dy, float *dx, int n)
{
    (void)c; (void)x;
    if (!dx)
        return;
    const int k = l->in_c;
    for (int i = 0; i < n; i++) {
        const float *yi = y + (size_t)i * k, *dyi = dy + (size_t)i * k;
        float dot = 0;
        for (int j = 0; j < k; j++)
            dot += dyi[j] * yi[j];
        for (int j = 0; j < k; j++)
            dx[(size_t)i * k + j] = yi[j] * (dyi[j] - dot);
    }
}

const nn_layer_ops nn_softmax_ops = {"softmax", NULL, softmax_forward, softmax_backward};
