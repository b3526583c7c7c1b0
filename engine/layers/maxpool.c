/* maxpool.c - max pooling, k x k windows at a stride, no padding.
 * x[n][C][H][W] -> y[n][C][OH][OW]. Backward sends each dy to the first
 * input that attains the window's maximum (found again from x and y, so no
 * index buffer is kept). 2x2 windows at stride 2, the common case, have
 * their own loops that the compiler vectorizes.
 *
 * A ReLU right before the pool can have its backward done here for free:
 * its output is the pool's input, so its mask is "the maximum is > 0". */
#include "nn_impl.h"

#include <float.h>
#include <math.h>
#include <string.h>

typedef struct {
    const nn_layer *l;
    const float *x, *y, *dy;
    float *out;
    int planes, tasks, relu;
} pool_job;

static int is_2x2(const nn_layer *l) { return l->k == 2 && l->stride == 2; }

/* One output row of a 2x2 window: the first maximum in row-major order,
 * as the general loop finds it (so NaNs are skipped the same way). */
static void fwd_row_2x2(const float *restrict r0, const float *restrict r1, int OW,
                        float *restrict y)
{
    for (int ox = 0; ox < OW; ox++) {
        float a = r0[2 * ox], b = r0[2 * ox + 1], c = r1[2 * ox], d = r1[2 * ox + 1];
        float m = -FLT_MAX;
        m = a > m ? a : m;
        m = b > m ? b : m;
        m = c > m ? c : m;
        m = d > m ? d : m;
        y[ox] = m;
    }
}

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
        if (is_2x2(l)) {
            for (int oy = 0; oy < OH; oy++)
                fwd_row_2x2(xp + (size_t)2 * oy * W, xp + (size_t)(2 * oy + 1) * W, OW,
                            yp + (size_t)oy * OW);
            continue;
        }
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

/* Two input rows of 2x2 windows: every dx written once (no clearing
 * first), dy going to the first maximum, or nowhere when relu is set and
 * the maximum is not positive. */
static void bwd_row_2x2(const float *restrict r0, const float *restrict r1,
                        const float *restrict y, const float *restrict dy, int OW, int relu,
                        float *restrict d0, float *restrict d1)
{
    /* dy goes to the first input equal to the maximum m. The ReLU's
     * outputs are >= 0, so its mask is m != 0; with no ReLU, nothing
     * equals NaN. Written with & and == only, so the loop vectorizes. */
    const float dead = relu ? 0.0f : NAN;
    for (int ox = 0; ox < OW; ox++) {
        float m = y[ox], g = dy[ox];
        float a = r0[2 * ox], b = r0[2 * ox + 1], c = r1[2 * ox], d = r1[2 * ox + 1];
        int live = m != dead;
        int e0 = a == m, e1 = b == m, e2 = c == m, e3 = d == m;
        int f0 = e0 & live, f1 = e1 & !e0 & live, f2 = e2 & !(e0 | e1) & live;
        int f3 = e3 & !(e0 | e1 | e2) & live;
        d0[2 * ox] = f0 ? g : 0.0f;
        d0[2 * ox + 1] = f1 ? g : 0.0f;
        d1[2 * ox] = f2 ? g : 0.0f;
        d1[2 * ox + 1] = f3 ? g : 0.0f;
    }
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
        const float *yp = y + (size_t)p * OH * OW, *dyp = dy + (size_t)p * OH * OW;
        if (is_2x2(l)) {
            for (int oy = 0; oy < OH; oy++) {
                size_t r = (size_t)2 * oy * W;
                bwd_row_2x2(xp + r, xp + r + W, yp + (size_t)oy * OW, dyp + (size_t)oy * OW, OW,
                            j->relu, dxp + r, dxp + r + W);
                /* a last odd column is in no window */
                for (int ix = 2 * OW; ix < W; ix++)
                    dxp[r + ix] = dxp[r + W + ix] = 0.0f;
            }
            /* nor is a last odd row */
            memset(dxp + (size_t)2 * OH * W, 0, (size_t)(H - 2 * OH) * W * sizeof *dxp);
            continue;
        }
        memset(dxp, 0, (size_t)H * W * sizeof(float));
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                size_t base = (size_t)oy * s * W + ox * s;
                float m = yp[oy * OW + ox];
                if (j->relu && !(m > 0.0f))
                    continue;
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

void nn_maxpool_backward_relu(nn_layer *l, const nn_ctx *c, const float *x, const float *y,
                              const float *dy, float *dx, int n, int relu)
{
    if (!dx)
        return;
    pool_job j = {.l = l, .x = x, .y = y, .dy = dy, .out = dx, .planes = n * l->in_c,
                  .tasks = nn_pool_size(c->pool), .relu = relu};
    nn_pool_run(nn_pool_for(c->pool, (size_t)n * l->in_c * l->in_h * l->in_w), j.tasks, backward_task,
                &j);
}

static void maxpool_backward(nn_layer *l, const nn_ctx *c, const float *x, const float *y,
                             const float *dy, float *dx, int n)
{
    nn_maxpool_backward_relu(l, c, x, y, dy, dx, n, 0);
}

const nn_layer_ops nn_maxpool_ops = {"maxpool", NULL, maxpool_forward, maxpool_backward};
