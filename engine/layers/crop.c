/* crop.c - an out_w x out_h window of the input image: its centre at
 * inference, a random place per image in training. This is the random-crop
 * augmentation the best published FER2013 nets train with (40-44 pixel
 * crops of the 48 pixel faces, the centre at test), made a layer so that
 * everything that feeds a model (the app, eval, the ONNX export) keeps
 * giving it the whole face, and the layers after the crop cost what its
 * smaller output costs.
 *
 * A training pass draws each image's offsets in image order from the net's
 * RNG (so runs are reproducible and resume exactly); every pass keeps the
 * offsets it used in aux, two floats per image, for backward. */
#include "nn_impl.h"

#include <string.h>

/* Offsets of the window of image i: random in training, else centred. */
static void place(nn_layer *l, const nn_ctx *c, int n)
{
    const uint32_t ry = (uint32_t)(l->in_h - l->out_h), rx = (uint32_t)(l->in_w - l->out_w);
    for (int i = 0; i < n; i++) {
        uint32_t oy = ry / 2, ox = rx / 2;
        if (c->train) {
            uint64_t r = nn_rand_u64(c->rng);
            /* top bits scaled to the range: no modulo bias worth the name */
            oy = (uint32_t)(((r >> 32) * (uint64_t)(ry + 1)) >> 32);
            ox = (uint32_t)(((r & 0xffffffffu) * (uint64_t)(rx + 1)) >> 32);
        }
        l->aux[2 * i] = (float)oy;
        l->aux[2 * i + 1] = (float)ox;
    }
}

static void crop_forward(nn_layer *l, const nn_ctx *c, const float *x, float *y, int n)
{
    const int C = l->in_c, H = l->in_h, W = l->in_w, h = l->out_h, w = l->out_w;
    place(l, c, n);
    for (int i = 0; i < n; i++) {
        const int oy = (int)l->aux[2 * i], ox = (int)l->aux[2 * i + 1];
        for (int ch = 0; ch < C; ch++) {
            const float *src = x + (((size_t)i * C + ch) * H + oy) * W + ox;
            float *dst = y + ((size_t)i * C + ch) * h * w;
            for (int r = 0; r < h; r++)
                memcpy(dst + (size_t)r * w, src + (size_t)r * W, (size_t)w * sizeof(float));
        }
    }
}

/* dx is dy in the window the forward pass took, zero around it. */
static void crop_backward(nn_layer *l, const nn_ctx *c, const float *x, const float *y,
                          const float *dy, float *dx, int n)
{
    (void)c; (void)x; (void)y;
    if (!dx)
        return;
    const int C = l->in_c, H = l->in_h, W = l->in_w, h = l->out_h, w = l->out_w;
    memset(dx, 0, (size_t)n * C * H * W * sizeof(float));
    for (int i = 0; i < n; i++) {
        const int oy = (int)l->aux[2 * i], ox = (int)l->aux[2 * i + 1];
        for (int ch = 0; ch < C; ch++) {
            float *dst = dx + (((size_t)i * C + ch) * H + oy) * W + ox;
            const float *src = dy + ((size_t)i * C + ch) * h * w;
            for (int r = 0; r < h; r++)
                memcpy(dst + (size_t)r * W, src + (size_t)r * w, (size_t)w * sizeof(float));
        }
    }
}

const nn_layer_ops nn_crop_ops = {"crop", NULL, crop_forward, crop_backward};
