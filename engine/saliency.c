/*
 * saliency.c - what the model looks at: the gradient of one class's score
 * with respect to the input image (a "vanilla gradient" saliency map), by
 * the layers' own backward functions run on an inference pass.
 *
 * nn_net_backward differentiates a training pass (batch statistics, active
 * dropout, the loss). A saliency map must explain the prediction the user
 * saw, so here the forward pass is an inference one and the two layers
 * whose inference differs from training are differentiated as they ran:
 * batch norm as the fixed affine map of its running statistics, dropout as
 * the identity. Every other layer's backward does not depend on the mode.
 */
#include "nn_impl.h"

#include <math.h>
#include <string.h>

static size_t out_size(const nn_layer *l)
{
    return (size_t)l->out_c * l->out_h * l->out_w;
}

/* Batch norm in inference is y = x * gamma / sqrt(var + eps) + const. */
static void bn_inference_backward(const nn_layer *l, const float *dy, float *dx)
{
    const size_t P = (size_t)l->in_h * l->in_w;
    for (int ch = 0; ch < l->in_c; ch++) {
        const float g = l->w[ch] / sqrtf(l->var[ch] + l->eps);
        for (size_t p = 0; p < P; p++)
            dx[ch * P + p] = dy[ch * P + p] * g;
    }
}

/* The gradients residual adds sent to layer i's output (their aux, filled
 * by nn_add_backward), added in once layer i's own gradient is complete. */
static void add_skip_grads(nn_net *net, int i)
{
    const size_t len = out_size(&net->layers[i]);
    for (int a = i + 1; a < net->n_layers; a++) {
        const nn_layer *l = &net->layers[a];
        if (l->kind == NN_L_ADD && l->src == i)
            for (size_t j = 0; j < len; j++)
                net->dact[i][j] += l->aux[j];
    }
}

int nn_net_input_grad(nn_net *net, const float *x, int cls, float *dx)
{
    const int L = net->n_layers;
    if (L < 3 || net->layers[L - 1].kind != NN_L_SOFTMAX)
        return nn_fail("saliency needs a net that ends in softmax");
    if (cls >= net->n_classes)
        return nn_fail("class %d out of range 0..%d", cls, net->n_classes - 1);
    /* INT8 passes keep only some layers' outputs in float: run this one in
     * FP32, the precision the gradient is defined in. */
    const nn_precision prec = net->precision;
    net->precision = NN_PRECISION_FP32;
    const float *p = nn_net_forward(net, x, 1, 0);
    net->precision = prec;
    if (!p)
        return -1;
    if (cls < 0) {
        cls = 0;
        for (int k = 1; k < net->n_classes; k++)
            if (p[k] > p[cls])
                cls = k;
    }
    unsigned fp = nn_fp_enter();
    int mode = nn_gemm_set_mode(NN_GEMM_TRAIN);
    nn_ctx c = {.pool = net->pool, .train = 0, .rng = &net->rng, .scratch = net->scratch,
                .scratch_len = net->scratch_len, .params_gen = net->params_gen};
    /* The score is the logit (the softmax's input, before calibration):
     * the softmax would mix in every other class's score. */
    memset(net->dact[L - 2], 0, out_size(&net->layers[L - 2]) * sizeof(float));
    net->dact[L - 2][cls] = 1.0f;
    for (int i = L - 2; i >= 1; i--) {
        nn_layer *l = &net->layers[i];
        float *dxi = net->dact[i - 1];
        if (l->skip_src)
            add_skip_grads(net, i);
        switch (l->kind) {
        case NN_L_ADD:
            nn_add_backward(l, &c, net->act[l->src], net->dact[i], dxi, l->aux, 1);
            break;
        case NN_L_BN:
            bn_inference_backward(l, net->dact[i], dxi);
            break;
        case NN_L_DROPOUT:
            memcpy(dxi, net->dact[i], out_size(l) * sizeof(float));
            break;
        default:
            l->ops->backward(l, &c, net->act[i - 1], net->act[i], net->dact[i], dxi, 1);
            break;
        }
    }
    add_skip_grads(net, 0);
    memcpy(dx, net->dact[0], out_size(&net->layers[0]) * sizeof(float));
    nn_gemm_set_mode(mode);
    nn_fp_leave(fp);
    return cls;
}

void nn_saliency_map(const float *dx, int c, int h, int w, float *out)
{
    const size_t P = (size_t)h * w;
    float top = 0.0f;
    for (size_t p = 0; p < P; p++) {
        float m = 0.0f;
        for (int ch = 0; ch < c; ch++) {
            float v = fabsf(dx[ch * P + p]);
            if (v > m)
                m = v;
        }
        out[p] = m;
        if (m > top)
            top = m;
    }
    if (top > 0.0f)
        for (size_t p = 0; p < P; p++)
            out[p] /= top;
}
