/* se.c - squeeze-and-excitation: each channel of an image is rescaled by a
 * gate computed from the whole image, s = sigmoid(W2 relu(W1 g + b1) + b2)
 * with g the channels' means, y[c] = x[c] * s[c]. Parameters: w = W1[m][c]
 * then W2[c][m], b = b1[m] then b2[c], m = l->k hidden units. aux keeps
 * g, h and s per image (2c + m floats) for backward. Per image the work
 * is small, so it runs on the calling thread (gradient sums in a fixed
 * order). */
#include "nn_impl.h"

#include <math.h>
#include <string.h>

static size_t per_image(const nn_layer *l) { return 2 * (size_t)l->in_c + (size_t)l->k; }

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

static void se_forward(nn_layer *l, const nn_ctx *ctx, const float *x, float *y, int n)
{
    (void)ctx;
    const int C = l->in_c, M = l->k;
    const size_t P = (size_t)l->in_h * l->in_w;
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * C * P;
        float *yi = y + (size_t)i * C * P, *g = l->aux + (size_t)i * per_image(l), *h = g + C, *s = h + M;
        for (int c = 0; c < C; c++) {
            float sum = 0;
            for (size_t p = 0; p < P; p++)
                sum += xi[(size_t)c * P + p];
            g[c] = sum / (float)P;
        }
        nn__se_gate(l, g, h, s);
        for (int c = 0; c < C; c++)
            for (size_t p = 0; p < P; p++)
                yi[(size_t)c * P + p] = xi[(size_t)c * P + p] * s[c];
    }
}

static void se_backward(nn_layer *l, const nn_ctx *ctx, const float *x, const float *y, const float *dy,
                        float *dx, int n)
{
    (void)ctx;
    (void)y;
    const int C = l->in_c, M = l->k;
    const size_t P = (size_t)l->in_h * l->in_w;
    const float *w1 = l->w, *w2 = l->w + (size_t)M * C;
    float *dw1 = l->dw, *dw2 = l->dw + (size_t)M * C, *db1 = l->db, *db2 = l->db + M;
    float dz2[NN_SE_MAX_C], dh[NN_SE_MAX_C];
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * C * P, *dyi = dy + (size_t)i * C * P;
        const float *g = l->aux + (size_t)i * per_image(l), *h = g + C, *s = h + M;
        /* the gate's gradient, through the sigmoid */
        for (int c = 0; c < C; c++) {
            float ds = 0;
            for (size_t p = 0; p < P; p++)
                ds += dyi[(size_t)c * P + p] * xi[(size_t)c * P + p];
            dz2[c] = ds * s[c] * (1.0f - s[c]);
            db2[c] += dz2[c];
        }
        for (int j = 0; j < M; j++) {
            float v = 0;
            for (int c = 0; c < C; c++) {
                dw2[(size_t)c * M + j] += dz2[c] * h[j];
                v += w2[(size_t)c * M + j] * dz2[c];
            }
            dh[j] = h[j] > 0 ? v : 0;
            db1[j] += dh[j];
            for (int c = 0; c < C; c++)
                dw1[(size_t)j * C + c] += dh[j] * g[c];
        }
        if (!dx)
            continue;
        float *dxi = dx + (size_t)i * C * P;
        for (int c = 0; c < C; c++) {
            float dg = 0;
            for (int j = 0; j < M; j++)
                dg += w1[(size_t)j * C + c] * dh[j];
            dg /= (float)P; /* through the mean */
            for (size_t p = 0; p < P; p++)
                dxi[(size_t)c * P + p] = dyi[(size_t)c * P + p] * s[c] + dg;
        }
    }
}

const nn_layer_ops nn_se_ops = {"se", NULL, se_forward, se_backward};
