/* maxpool.c - max pooling, k x k windows at a stride, no padding.
 * x[n][C][H][W] -> y[n][C][OH][OW]. Backward sends each dy to the first
 * input that attains the window's maximum (found again from x and y, so no
 * index buffer is kept). */
#include "nn_impl.h"

#include <float.h>
#include <string.h>

typedef struct {
    const nn_layer *l;
    const float *x, *y, *dy;
    float *out;
    int planes, tasks;
} pool_job;

/* Planes (image, channel) are independent: contiguous runs per task. */
static void forward_task(void *arg, int t, int thread)
{
    pool_job *j = arg;
    (void)thread;
    const nn_layer *l = j->l;
    const float *x = j->x;
    float *y = j->out;
    const int k = l->k, s = l->stride, H = l->in_h, W = l->in_w, OH = l->out_h, OW = l->out_w;
    for (int p = j->planes * t / j->tasks; p < j->planes * (t + 1) / j->tasks; p++) {
        const float *xp = x + (size_t)p * H * W;
        float *yp = y + (size_t)p * OH * OW;
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                const float *w0 = xp + (size_t)oy * s * W + ox * s;
                float m = -FLT_MAX;
                for (int ky = 0; ky < k; ky++)
                    for (int kx = 0; kx < k; kx++)
                        if (w0[ky * W + kx] > m)
                            m = w0[ky * W + kx];
                yp[oy * OW + ox] = m;
            }
    }
}

static void maxpool_forward(nn_layer *l, const nn_ctx *c, const float *x, float *y, int n)
{
    pool_job j = {.l = l, .x = x, .out = y, .planes = n * l->in_c, .tasks = nn_pool_size(c->pool)};
    nn_pool_run(nn_pool_for(c->pool, (size_t)n * l->in_c * l->in_h * l->in_w), j.tasks, forward_task, &j);
}

static void backward_task(void *arg, int t, int thread)
{
    pool_job *j = arg;
    (void)thread;
    const nn_layer *l = j->l;
    const float *x = j->x, *y = j->y, *dy = j->dy;
    float *dx = j->out;
    const int k = l->k, s = l->stride, H = l->in_h, W = l->in_w, OH = l->out_h, OW = l->out_w;
    for (int p = j->planes * t / j->tasks; p < j->planes * (t + 1) / j->tasks; p++) {
        const float *xp = x + (size_t)p * H * W;
        float *dxp = dx + (size_t)p * H * W;
        memset(dxp, 0, (size_t)H * W * sizeof(float));
        const float *yp = y + (size_t)p * OH * OW, *dyp = dy + (size_t)p * OH * OW;
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                size_t base = (size_t)oy * s * W + ox * s;
                float m = yp[oy * OW + ox];
                int done = 0;
                for (int ky = 0; ky < k && !done; ky++)
                    for (int kx = 0; kx < k; kx++)
                        if (xp[base + ky * W + kx] == m) {
                            dxp[base + ky * W + kx] += dyp[oy * OW + ox];
                            done = 1;
                            break;
                        }
            }
    }
}

static void maxpool_backward(nn_layer *l, const nn_ctx *c, const float *x, const float *y,
                             const float *dy, float *dx, int n)
{
    if (!dx)
        return;
    pool_job j = {.l = l, .x = x, .y = y, .dy = dy, .out = dx, .planes = n * l->in_c,
                  .tasks = nn_pool_size(c->pool)};
    nn_pool_run(nn_pool_for(c->pool, (size_t)n * l->in_c * l->in_h * l->in_w), j.tasks, backward_task,
                &j);
}

const nn_layer_ops nn_maxpool_ops = {"maxpool", NULL, maxpool_forward, maxpool_backward};
