/* relu.c - y = max(x, 0); dx = dy where y > 0. */
#include "nn_impl.h"

static size_t count(const nn_layer *l, int n) { return (size_t)n * l->in_c * l->in_h * l->in_w; }

typedef struct {
    const float *x, *y, *dy;
    float *out;
    size_t count;
    int tasks;
} relu_job;

static void relu_fwd_task(void *arg, int t, int thread)
{
    relu_job *j = arg;
    (void)thread;
    for (size_t i = j->count * t / j->tasks, e = j->count * (t + 1) / j->tasks; i < e; i++)
        j->out[i] = j->x[i] > 0.0f ? j->x[i] : 0.0f;
}

static void relu_bwd_task(void *arg, int t, int thread)
{
    relu_job *j = arg;
    (void)thread;
    const float *restrict y = j->y, *restrict dy = j->dy;
    float *restrict dx = j->out;
    for (size_t i = j->count * t / j->tasks, e = j->count * (t + 1) / j->tasks; i < e; i++) {
        float g = dy[i], v = y[i]; /* loads first: the select vectorizes */
        dx[i] = v > 0.0f ? g : 0.0f;
    }
}

static void relu_forward(nn_layer *l, const nn_ctx *c, const float *x, float *y, int n)
{
    relu_job j = {.x = x, .out = y, .count = count(l, n), .tasks = nn_pool_size(c->pool)};
    nn_pool_run(nn_pool_for(c->pool, j.count), j.tasks, relu_fwd_task, &j);
}

static void relu_backward(nn_layer *l, const nn_ctx *c, const float *x, const float *y,
                          const float *dy, float *dx, int n)
{
    (void)x;
    if (!dx)
        return;
    relu_job j = {.y = y, .dy = dy, .out = dx, .count = count(l, n), .tasks = nn_pool_size(c->pool)};
    nn_pool_run(nn_pool_for(c->pool, j.count), j.tasks, relu_bwd_task, &j);
}

const nn_layer_ops nn_relu_ops = {"relu", NULL, relu_forward, relu_backward};
