/* dense.c - fully connected layer.
 * x[n][in] (any per-image shape, read flat) -> y[n][out]; w[out][in], b[out].
 * y = x . w^T + b; dw += dy^T . x; db += sum dy; dx = dy . w. */
#include "nn_impl.h"

static int in_size(const nn_layer *l) { return l->in_c * l->in_h * l->in_w; }

static void dense_forward(nn_layer *l, const nn_ctx *c, const float *x, float *y, int n)
{
    const int in = in_size(l), out = l->out_c;
    nn_sgemm_mt(c->pool, 0, 1, n, out, in, 1.0f, x, in, l->w, in, 0.0f, y, out);
    for (int i = 0; i < n; i++)
        for (int o = 0; o < out; o++)
            y[(size_t)i * out + o] += l->b[o];
}

static void dense_backward(nn_layer *l, const nn_ctx *c, const float *x, const float *y,
                           const float *dy, float *dx, int n)
{
    (void)y;
    const int in = in_size(l), out = l->out_c;
    nn_sgemm_mt(c->pool, 1, 0, out, in, n, 1.0f, dy, out, x, in, 1.0f, l->dw, in);
    for (int i = 0; i < n; i++)
        for (int o = 0; o < out; o++)
            l->db[o] += dy[(size_t)i * out + o];
    if (dx)
        nn_sgemm_mt(c->pool, 0, 0, n, in, out, 1.0f, dy, out, l->w, in, 0.0f, dx, in);
}

const nn_layer_ops nn_dense_ops = {"dense", NULL, dense_forward, dense_backward};
