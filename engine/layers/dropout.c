/* dropout.c - inverted dropout: in training each value is kept with
 * probability 1-rate and scaled by 1/(1-rate), so inference is the identity.
 * The mask (0 or the scale) is kept in l->aux for backward. */
#include "nn_impl.h"

#include <string.h>

static size_t count(const nn_layer *l, int n) { return (size_t)n * l->in_c * l->in_h * l->in_w; }

static void dropout_forward(nn_layer *l, const nn_ctx *c, const float *x, float *y, int n)
{
    size_t e = count(l, n);
    if (!c->train || l->rate <= 0.0f) {
        memcpy(y, x, e * sizeof(float));
        return;
    }
    const float keep = 1.0f - l->rate, scale = 1.0f / keep;
    for (size_t i = 0; i < e; i++) {
        float m = nn_rand_uniform(c->rng) < keep ? scale : 0.0f;
        l->aux[i] = m;
        y[i] = x[i] * m;
    }
}

static void dropout_backward(nn_layer *l, const nn_ctx *c, const float *x, const float *y,
                             const float *dy, float *dx, int n)
{
    (void)c; (void)x; (void)y;
    if (!dx)
        return;
    size_t e = count(l, n);
    if (l->rate <= 0.0f) {
        memcpy(dx, dy, e * sizeof(float));
        return;
    }
    for (size_t i = 0; i < e; i++)
        dx[i] = dy[i] * l->aux[i];
}

const nn_layer_ops nn_dropout_ops = {"dropout", NULL, dropout_forward, dropout_backward};
