/* flatten.c - [n][C][H][W] -> [n][C*H*W]; the memory layout is unchanged. */
#include "nn_impl.h"

#include <string.h>

static size_t count(const nn_layer *l, int n) { return (size_t)n * l->in_c * l->in_h * l->in_w; }

static void flatten_forward(nn_layer *l, const nn_ctx *c, const float *x, float *y, int n)
{
    (void)c;
    memcpy(y, x, count(l, n) * sizeof(float));
}

static void flatten_backward(nn_layer *l, const nn_ctx *c, const float *x, const float *y,
                             const float *dy, float *dx, int n)
{
    (void)c; (void)x; (void)y;
    if (dx)
        memcpy(dx, dy, count(l, n) * sizeof(float));
}

const nn_layer_ops nn_flatten_ops = {"flatten", NULL, flatten_forward, flatten_backward};
