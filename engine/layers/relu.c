/* relu.c - y = max(x, 0); dx = dy where y > 0. */
#include "nn_impl.h"

static size_t count(const nn_layer *l, int n) { return (size_t)n * l->in_c * l->in_h * l->in_w; }

static void relu_forward(nn_layer *l, const nn_ctx *c, const float *x, float *y, int n)
{
    (void)c;
    for (size_t i = 0, e = count(l, n); i < e; i++)
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

static void relu_backward(nn_layer *l, const nn_ctx *c, const float *x, const float *y,
                          const float *dy, float *dx, int n)
{
    (void)c; (void)x;
    if (!dx)
        return;
    for (size_t i = 0, e = count(l, n); i < e; i++)
        dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

const nn_layer_ops nn_relu_ops = {"relu", NULL, relu_forward, relu_backward};
