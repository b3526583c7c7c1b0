/* conv2d.c - 2-D convolution as im2col + GEMM; 3x3 stride-1 layers
 * usually take the Winograd path in conv_winograd.c instead.
 *
 * Shapes: x[n][C][H][W] -> y[n][OC][OH][OW]; w[OC][C][k][k]; b[OC].
 * For each image, col[C*k*k][OH*OW] gathers the receptive fields, so
 * y = w . col (M=OC, N=OH*OW, K=C*k*k). Backward: dw += dy . col^T,
 * dcol = w^T . dy, scattered back into dx by col2im.
 * Batches are split across threads by image; a single image uses the
 * threaded GEMM instead. */
#include "nn_impl.h"

#include <string.h>

static size_t col_rows(const nn_layer *l) { return (size_t)l->in_c * l->k * l->k; }
static size_t out_pixels(const nn_layer *l) { return (size_t)l->out_h * l->out_w; }

/* A 1x1, stride 1 convolution needs no gathering: x already is col. */
static int is_pointwise(const nn_layer *l) { return l->k == 1 && l->stride == 1 && !l->pad_t && !l->pad_l; }

static void im2col(const nn_layer *l, const float *x, float *col)
{
    const int k = l->k, s = l->stride, H = l->in_h, W = l->in_w;
    const int OH = l->out_h, OW = l->out_w;
    for (int c = 0; c < l->in_c; c++) {
        const float *xc = x + (size_t)c * H * W;
        for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) {
                float *row = col + (((size_t)c * k + ky) * k + kx) * OH * OW;
                /* Output columns whose input lies inside the image: ox in [lo, hi). */
                int off = kx - l->pad_l;
                int lo = off >= 0 ? 0 : (-off + s - 1) / s;
                int hi = W - off > 0 ? (W - off + s - 1) / s : 0;
                if (hi > OW) hi = OW;
                if (lo > hi) lo = hi;
                for (int oy = 0; oy < OH; oy++, row += OW) {
                    int iy = oy * s - l->pad_t + ky;
                    if (iy < 0 || iy >= H) {
                        memset(row, 0, (size_t)OW * sizeof(float));
                        continue;
                    }
                    const float *xr = xc + (size_t)iy * W + off;
                    for (int ox = 0; ox < lo; ox++)
                        row[ox] = 0.0f;
                    if (s == 1)
                        memcpy(row + lo, xr + lo, (size_t)(hi - lo) * sizeof(float));
                    else
                        for (int ox = lo; ox < hi; ox++)
                            row[ox] = xr[ox * s];
                    for (int ox = hi; ox < OW; ox++)
                        row[ox] = 0.0f;
                }
            }
    }
}

/* Adds col back into dx (dx must be zeroed by the caller). */
static void col2im(const nn_layer *l, const float *col, float *dx)
{
    const int k = l->k, s = l->stride, H = l->in_h, W = l->in_w;
    const int OH = l->out_h, OW = l->out_w;
    for (int c = 0; c < l->in_c; c++) {
        float *dxc = dx + (size_t)c * H * W;
        for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) {
                const float *row = col + (((size_t)c * k + ky) * k + kx) * OH * OW;
                int off = kx - l->pad_l;
                int lo = off >= 0 ? 0 : (-off + s - 1) / s;
                int hi = W - off > 0 ? (W - off + s - 1) / s : 0;
                if (hi > OW) hi = OW;
                if (lo > hi) lo = hi;
                for (int oy = 0; oy < OH; oy++, row += OW) {
                    int iy = oy * s - l->pad_t + ky;
                    if (iy < 0 || iy >= H)
                        continue;
                    float *xr = dxc + (size_t)iy * W + off;
                    for (int ox = lo; ox < hi; ox++)
                        xr[ox * s] += row[ox];
                }
            }
    }
}

static size_t conv_scratch(const nn_layer *l, int n)
{
    (void)n;
    /* col + dcol + this thread's share of dw and db + a masked dy */
    size_t s = 2 * col_rows(l) * out_pixels(l) + l->nw + l->nb + (size_t)l->out_c * out_pixels(l) + 16;
    size_t w = l->k == 3 && l->stride == 1 ? nn_conv_wino_scratch(l) : 0;
    return s > w ? s : w;
}

typedef struct {
    nn_layer *l;
    const nn_ctx *c;
    const float *x, *relu_y, *dy;
    float *out, *relu_out, *dx;
    int n;
} conv_job;

/* y = w . col + b, and relu_y = max(y, 0) unless relu_y is NULL. */
static void forward_image(const nn_layer *l, nn_pool *pool, float *scratch,
                          const float *x, float *y, float *relu_y)
{
    const size_t P = out_pixels(l), K = col_rows(l);
    const float *col = x;
    if (!is_pointwise(l)) {
        im2col(l, x, scratch);
        col = scratch;
    }
    if (pool)
        nn_sgemm_mt(pool, 0, 0, l->out_c, (int)P, (int)K, 1.0f, l->w, (int)K, col, (int)P, 0.0f, y, (int)P);
    else
        nn_sgemm(0, 0, l->out_c, (int)P, (int)K, 1.0f, l->w, (int)K, col, (int)P, 0.0f, y, (int)P);
    /* One pass over y for the bias and the fused ReLU, while y is in cache. */
    for (int oc = 0; oc < l->out_c; oc++) {
        float b = l->b[oc], *restrict yr = y + oc * P;
        if (relu_y) {
            float *restrict r = relu_y + oc * P;
            for (size_t p = 0; p < P; p++) {
                float v = yr[p] + b;
                yr[p] = v;
                r[p] = v > 0.0f ? v : 0.0f;
            }
        } else {
            for (size_t p = 0; p < P; p++)
                yr[p] += b;
        }
    }
}

static void forward_task(void *arg, int img, int thread)
{
    conv_job *j = arg;
    const nn_layer *l = j->l;
    size_t out = (size_t)img * l->out_c * out_pixels(l);
    forward_image(l, NULL, j->c->scratch[thread],
                  j->x + (size_t)img * l->in_c * l->in_h * l->in_w, j->out + out,
                  j->relu_out ? j->relu_out + out : NULL);
}

void nn_conv_forward_relu(nn_layer *l, const nn_ctx *c, const float *x, float *y, float *relu_y,
                          int n)
{
    int m = nn_conv_wino_m(l, n);
    l->wino_v_m = 0; /* whatever V was kept is not this input's */
    if (m) {
        nn_conv_wino_forward(l, c, x, y, relu_y, n, m);
        return;
    }
    if (n == 1) {
        forward_image(l, c->pool, c->scratch[0], x, y, relu_y);
        return;
    }
    conv_job j = {.l = l, .c = c, .x = x, .out = y, .relu_out = relu_y};
    nn_pool_run(c->pool, n, forward_task, &j);
}

void nn_conv_forward(nn_layer *l, const nn_ctx *c, const float *x, float *y, int n)
{
    nn_conv_forward_relu(l, c, x, y, NULL, n);
}

static void backward_image(conv_job *j, int img, float *scratch)
{
    nn_layer *l = j->l;
    const size_t P = out_pixels(l), K = col_rows(l);
    float *col = scratch, *dcol = col + K * P;
    float *dw = dcol + K * P, *db = dw + l->nw, *masked = db + l->nb;
    const float *x = j->x + (size_t)img * l->in_c * l->in_h * l->in_w;
    const float *dy = j->dy + (size_t)img * l->out_c * P;
    if (j->relu_y) { /* the fused ReLU's backward */
        const float *restrict r = j->relu_y + (size_t)img * l->out_c * P, *restrict g = dy;
        for (size_t i = 0; i < (size_t)l->out_c * P; i++) {
            float gv = g[i], rv = r[i]; /* loads first: the select vectorizes */
            masked[i] = rv > 0.0f ? gv : 0.0f;
        }
        dy = masked;
    }
    const float *cx = x;
    if (!is_pointwise(l)) {
        im2col(l, x, col);
        cx = col;
    }
    nn_sgemm(0, 1, l->out_c, (int)K, (int)P, 1.0f, dy, (int)P, cx, (int)P, 1.0f, dw, (int)K);
    for (int oc = 0; oc < l->out_c; oc++) {
        const float *r = dy + oc * P;
        float s = 0;
        for (size_t p = 0; p < P; p++)
            s += r[p];
        db[oc] += s;
    }
    if (j->dx) {
        float *dx = j->dx + (size_t)img * l->in_c * l->in_h * l->in_w;
        if (is_pointwise(l)) {
            nn_sgemm(1, 0, (int)K, (int)P, l->out_c, 1.0f, l->w, (int)K, dy, (int)P, 0.0f, dx, (int)P);
        } else {
            nn_sgemm(1, 0, (int)K, (int)P, l->out_c, 1.0f, l->w, (int)K, dy, (int)P, 0.0f, dcol, (int)P);
            memset(dx, 0, (size_t)l->in_c * l->in_h * l->in_w * sizeof(float));
            col2im(l, dcol, dx);
        }
    }
}

/* Task t owns images [t*n/T, (t+1)*n/T) and scratch[t]: a fixed split, so
 * the order of the weight-gradient sums never depends on scheduling. */
static void backward_task(void *arg, int task, int thread)
{
    conv_job *j = arg;
    (void)thread;
    int T = nn_pool_size(j->c->pool);
    for (int img = j->n * task / T; img < j->n * (task + 1) / T; img++)
        backward_image(j, img, j->c->scratch[task]);
}

void nn_conv_backward(nn_layer *l, const nn_ctx *c, const float *x, const float *y,
                      const float *dy, float *dx, int n)
{
    (void)y;
    nn_conv_backward_relu(l, c, x, NULL, dy, dx, n);
}

void nn_conv_backward_relu(nn_layer *l, const nn_ctx *c, const float *x, const float *relu_y,
                           const float *dy, float *dx, int n)
{
    int m = nn_conv_wino_m(l, n);
    if (m && nn_conv_wino_backward(l, c, x, relu_y, dy, dx, n, m) == 0)
        return;
    const size_t P = out_pixels(l), K = col_rows(l);
    int threads = nn_pool_size(c->pool);
    /* Each thread sums its images' weight gradients privately; the shares
     * are added up afterwards, so no locking and a fixed summation order
     * per thread count (runs are reproducible). */
    for (int t = 0; t < threads; t++)
        memset(c->scratch[t] + 2 * K * P, 0, (l->nw + l->nb) * sizeof(float));
    conv_job j = {.l = l, .c = c, .x = x, .relu_y = relu_y, .dy = dy, .dx = dx, .n = n};
    nn_pool_run(c->pool, threads, backward_task, &j);
    for (int t = 0; t < threads; t++) {
        const float *dw = c->scratch[t] + 2 * K * P, *db = dw + l->nw;
        for (size_t i = 0; i < l->nw; i++)
            l->dw[i] += dw[i];
        for (size_t i = 0; i < l->nb; i++)
            l->db[i] += db[i];
    }
}

const nn_layer_ops nn_conv_ops = {"conv", conv_scratch, nn_conv_forward, nn_conv_backward};
