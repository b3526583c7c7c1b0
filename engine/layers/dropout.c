/* dropout.c - inverted dropout: in training each value is kept with
 * probability 1-rate and scaled by 1/(1-rate), so inference is the identity.
 * The mask (0 or the scale) is kept in l->aux for backward.
 *
 * Each pass draws one 64-bit seed from the net's RNG, and value i's coin
 * is a hash of (seed, i): the mask is the same however the work is split
 * across threads (and runs resume exactly from the saved RNG state), and
 * the loop vectorizes. */
#include "nn_impl.h"

#include <string.h>

static size_t count(const nn_layer *l, int n) { return (size_t)n * l->in_c * l->in_h * l->in_w; }

typedef struct {
    const float *x;
    float *y, *mask;
    size_t count;
    int tasks;
    uint32_t s0, s1;  /* the pass's seed */
    uint32_t keep24;  /* keep when the hash's top 24 bits are below this */
    float scale;
} drop_job;

/* A 32-bit integer hash with good avalanche (Wellons' lowbias32), keyed
 * twice so consecutive indices give independent coins. */
static inline uint32_t hash32(uint32_t x, uint32_t s0, uint32_t s1)
{
    x ^= s0;
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    x ^= x >> 16;
    x += s1;
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    x ^= x >> 16;
    return x;
}

static void forward_task(void *arg, int t, int thread)
{
    drop_job *j = arg;
    (void)thread;
    const float *restrict x = j->x;
    float *restrict y = j->y, *restrict mask = j->mask;
    const uint32_t s0 = j->s0, s1 = j->s1, keep = j->keep24;
    const float scale = j->scale;
    /* Indices wrap at 2^32: batches are far smaller. */
    for (size_t i = j->count * t / j->tasks, e = j->count * (t + 1) / j->tasks; i < e; i++) {
        float m = (hash32((uint32_t)i, s0, s1) >> 8) < keep ? scale : 0.0f;
        mask[i] = m;
        y[i] = x[i] * m;
    }
}

static void dropout_forward(nn_layer *l, const nn_ctx *c, const float *x, float *y, int n)
{
    size_t e = count(l, n);
    if (!c->train || l->rate <= 0.0f) {
        memcpy(y, x, e * sizeof(float));
        return;
    }
    uint64_t seed = nn_rand_u64(c->rng);
    const float keep = 1.0f - l->rate;
    drop_job j = {.x = x, .y = y, .mask = l->aux, .count = e, .tasks = nn_pool_size(c->pool),
                  .s0 = (uint32_t)seed, .s1 = (uint32_t)(seed >> 32),
                  .keep24 = (uint32_t)(keep * 16777216.0f), .scale = 1.0f / keep};
    nn_pool_run(nn_pool_for(c->pool, e), j.tasks, forward_task, &j);
}

static void backward_task(void *arg, int t, int thread)
{
    drop_job *j = arg;
    (void)thread;
    const float *restrict dy = j->x, *restrict mask = j->mask;
    float *restrict dx = j->y;
    for (size_t i = j->count * t / j->tasks, e = j->count * (t + 1) / j->tasks; i < e; i++)
        dx[i] = dy[i] * mask[i];
}

static void dropout_backward(nn_layer *l, const nn_ctx *c, const float *x, const float *y,
                             const float *dy, float *dx, int n)
{
    (void)x; (void)y;
    if (!dx)
        return;
    size_t e = count(l, n);
    if (l->rate <= 0.0f) {
        memcpy(dx, dy, e * sizeof(float));
        return;
    }
    drop_job j = {.x = dy, .y = dx, .mask = l->aux, .count = e, .tasks = nn_pool_size(c->pool)};
    nn_pool_run(nn_pool_for(c->pool, e), j.tasks, backward_task, &j);
}

const nn_layer_ops nn_dropout_ops = {"dropout", NULL, dropout_forward, dropout_backward};
