/* add.c - the end of a residual block: y = x + skip, where x is the
 * block's output and skip the output of the layer before the block; when
 * their shapes differ the skip goes through a 1x1 convolution of the
 * block's stride first (its weights are the add layer's). The net calls
 * these with the skip's buffers (see nn_net_forward/backward); the ops
 * table only names the kind. */
#include "nn_impl.h"

#include <string.h>

void nn_add_proj(const nn_layer *l, nn_layer *p)
{
    memset(p, 0, sizeof *p);
    p->kind = NN_L_CONV;
    p->ops = &nn_conv_ops;
    p->line = l->line;
    p->in_c = l->src_c;
    p->in_h = l->src_h;
    p->in_w = l->src_w;
    p->out_c = l->out_c;
    p->out_h = l->out_h;
    p->out_w = l->out_w;
    p->k = 1;
    p->stride = l->stride;
    p->pad = NN_PAD_VALID;
    p->algo = NN_CONV_IM2COL;
    p->w = l->w;
    p->b = l->b;
    p->dw = l->dw;
    p->db = l->db;
    p->nw = l->nw;
    p->nb = l->nb;
}

void nn_add_forward(nn_layer *l, const nn_ctx *c, const float *x, const float *skip, float *y, int n)
{
    const size_t len = (size_t)n * l->out_c * l->out_h * l->out_w;
    if (l->nw) {
        nn_layer p;
        nn_add_proj(l, &p);
        nn_conv_forward(&p, c, skip, y, n);
        for (size_t i = 0; i < len; i++)
            y[i] += x[i];
    } else {
        for (size_t i = 0; i < len; i++)
            y[i] = x[i] + skip[i];
    }
}

void nn_add_backward(nn_layer *l, const nn_ctx *c, const float *skip, const float *dy, float *dx,
                     float *dskip, int n)
{
    const size_t len = (size_t)n * l->out_c * l->out_h * l->out_w;
    if (dx)
        memcpy(dx, dy, len * sizeof *dx);
    if (l->nw) {
        nn_layer p;
        nn_add_proj(l, &p);
        nn_conv_backward(&p, c, skip, NULL, dy, dskip, n);
    } else if (dskip) {
        memcpy(dskip, dy, len * sizeof *dskip);
    }
}

static size_t add_scratch(const nn_layer *l, int n)
{
    if (!l->nw)
        return 0;
    nn_layer p;
    nn_add_proj(l, &p);
    return nn_conv_ops.scratch(&p, n);
}

/* The net routes adds itself (they need the skip's buffers). */
static void add_forward_unused(nn_layer *l, const nn_ctx *c, const float *x, float *y, int n)
{
    (void)l; (void)c; (void)x; (void)y; (void)n;
}

static void add_backward_unused(nn_layer *l, const nn_ctx *c, const float *x, const float *y,
                                const float *dy, float *dx, int n)
{
    (void)l; (void)c; (void)x; (void)y; (void)dy; (void)dx; (void)n;
}

const nn_layer_ops nn_add_ops = {"add", add_scratch, add_forward_unused, add_backward_unused};
