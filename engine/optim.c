/* optim.c - SGD (with Nesterov momentum), Adam and AdamW over the net's
 * flat parameter buffer, and learning-rate schedules.
 * Weight decay applies to conv and dense weights only: decaying biases
 * and batch-norm scales only hurts. */
#include "nn_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct nn_optim {
    nn_net *net;
    nn_optim_cfg cfg;
    float *state;     /* SGD: velocity[n]; Adam: m[n] then v[n] */
    size_t n_state;
    uint8_t *decay;   /* per parameter: 1 when weight decay applies */
    int64_t t;        /* steps taken */
};

nn_optim_cfg nn_optim_defaults(nn_optim_kind kind)
{
    nn_optim_cfg c = {.kind = kind, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};
    if (kind == NN_SGD) {
        c.lr = 0.01f;
        c.momentum = 0.9f;
        c.nesterov = 1;
        c.weight_decay = 5e-4f;
    } else {
        c.lr = 1e-3f;
        c.weight_decay = kind == NN_ADAMW ? 1e-2f : 0.0f;
    }
    return c;
}

nn_optim *nn_optim_new(nn_net *net, const nn_optim_cfg *cfg)
{
    nn_optim *o = calloc(1, sizeof *o);
    if (!o)
        return nn_fail_null("out of memory");
    o->net = net;
    o->cfg = *cfg;
    size_t n = net->n_params;
    o->n_state = cfg->kind == NN_SGD ? n : 2 * n;
    o->state = nn_zalloc((o->n_state ? o->n_state : 1) * sizeof(float));
    o->decay = calloc(n ? n : 1, 1);
    if (!o->state || !o->decay) {
        nn_optim_free(o);
        return nn_fail_null("out of memory");
    }
    for (int i = 0; i < net->n_layers; i++) {
        const nn_layer *l = &net->layers[i];
        if ((l->kind == NN_L_CONV || l->kind == NN_L_DENSE) && l->nw)
            memset(o->decay + (l->w - net->params), 1, l->nw);
    }
    return o;
}

void nn_optim_free(nn_optim *o)
{
    if (!o)
        return;
    nn_free(o->state);
    free(o->decay);
    free(o);
}

size_t nn_optim_state_size(const nn_optim *o) { return o->n_state; }
float *nn_optim_state(nn_optim *o) { return o->state; }
int64_t *nn_optim_step_count(nn_optim *o) { return &o->t; }

typedef struct {
    nn_optim *o;
    float lr;
    int tasks;
} step_job;

/* Every parameter's update is independent: contiguous ranges per task give
 * the same result however they are split. */
static void step_task(void *arg, int t, int thread)
{
    const step_job *j = arg;
    nn_optim *o = j->o;
    (void)thread;
    const nn_optim_cfg *c = &o->cfg;
    float *restrict p = o->net->params;
    const float *restrict g = o->net->grads;
    const uint8_t *restrict decay = o->decay;
    const size_t n = o->net->n_params, lo = n * t / j->tasks, hi = n * (t + 1) / j->tasks;
    const float wd = c->weight_decay, lr = j->lr;
    if (c->kind == NN_SGD) {
        float *restrict v = o->state;
        const float mu = c->momentum;
        for (size_t i = lo; i < hi; i++) {
            float gi = g[i] + (decay[i] ? wd * p[i] : 0.0f);
            v[i] = mu * v[i] + gi;
            p[i] -= lr * (c->nesterov ? gi + mu * v[i] : v[i]);
        }
        return;
    }
    float *restrict m = o->state, *restrict v = o->state + n;
    const float b1 = c->beta1, b2 = c->beta2;
    const float bc1 = 1.0f - powf(b1, (float)o->t), bc2 = 1.0f - powf(b2, (float)o->t);
    const float step = lr / bc1, vscale = 1.0f / bc2;
    const int decoupled = c->kind == NN_ADAMW;
    for (size_t i = lo; i < hi; i++) {
        float gi = g[i];
        if (decay[i]) {
            if (decoupled)
                p[i] -= lr * wd * p[i];
            else
                gi += wd * p[i];
        }
        m[i] = b1 * m[i] + (1.0f - b1) * gi;
        v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
        p[i] -= step * m[i] / (sqrtf(v[i] * vscale) + c->eps);
    }
}

void nn_optim_step(nn_optim *o, float lr)
{
    o->t++;
    step_job j = {.o = o, .lr = lr, .tasks = nn_pool_size(o->net->pool)};
    unsigned fp = nn_fp_enter();
    nn_pool_run(nn_pool_for(o->net->pool, o->net->n_params), j.tasks, step_task, &j);
    nn_fp_leave(fp);
    o->net->params_gen++;
}

/* ---- schedules ---- */

static int parse_fields(const char *text, float *f, int max)
{
    int nf = 0;
    const char *p = strchr(text, ':');
    while (p && nf < max) {
        char *end;
        f[nf] = strtof(p + 1, &end);
        if (end == p + 1 || (*end && *end != ':'))
            return -1;
        nf++;
        p = *end ? end : NULL;
    }
    return p ? -1 : nf;
}

int nn_sched_parse(nn_sched *s, const char *text, float base_lr, int total_epochs)
{
    memset(s, 0, sizeof *s);
    s->base_lr = s->cur_lr = base_lr;
    s->total_epochs = total_epochs;
    s->gamma = 0.1f;
    s->best = INFINITY;
    float f[3] = {0};
    int nf = parse_fields(text, f, 3);
    size_t name_len = strcspn(text, ":");
    if (nf < 0)
        return nn_fail("bad schedule '%s'", text);
    if (strncmp(text, "const", name_len) == 0 && name_len == 5) {
        s->kind = NN_SCHED_CONST;
    } else if (strncmp(text, "step", name_len) == 0 && name_len == 4) {
        s->kind = NN_SCHED_STEP;
        s->step_every = nf > 0 ? (int)f[0] : 10;
        if (nf > 1)
            s->gamma = f[1];
        if (s->step_every < 1 || !(s->gamma > 0 && s->gamma <= 1))
            return nn_fail("bad schedule '%s': want step:EVERY:GAMMA, EVERY >= 1, 0 < GAMMA <= 1", text);
    } else if (strncmp(text, "cosine", name_len) == 0 && name_len == 6) {
        s->kind = NN_SCHED_COSINE;
        s->warmup_epochs = nf > 0 ? (int)f[0] : 0;
        s->min_lr = nf > 1 ? f[1] * base_lr : 0.0f;
        if (s->warmup_epochs < 0 || s->min_lr < 0)
            return nn_fail("bad schedule '%s': want cosine:WARMUP_EPOCHS:MIN_FRACTION", text);
    } else if (strncmp(text, "plateau", name_len) == 0 && name_len == 7) {
        s->kind = NN_SCHED_PLATEAU;
        s->patience = nf > 0 ? (int)f[0] : 3;
        s->gamma = nf > 1 ? f[1] : 0.5f;
        s->min_lr = base_lr * 1e-3f;
        if (s->patience < 1 || !(s->gamma > 0 && s->gamma < 1))
            return nn_fail("bad schedule '%s': want plateau:PATIENCE:GAMMA, 0 < GAMMA < 1", text);
    } else
        return nn_fail("unknown schedule '%s' (const, step:EVERY:GAMMA, cosine[:WARMUP:MIN], plateau:PATIENCE:GAMMA)", text);
    return 0;
}

float nn_sched_lr(nn_sched *s, int epoch)
{
    if (s->warmup_epochs > 0 && epoch < s->warmup_epochs)
        return s->base_lr * (float)(epoch + 1) / (float)(s->warmup_epochs + 1);
    switch (s->kind) {
    case NN_SCHED_STEP:
        return s->base_lr * powf(s->gamma, (float)(epoch / s->step_every));
    case NN_SCHED_COSINE: {
        int span = s->total_epochs - s->warmup_epochs;
        float t = span > 1 ? (float)(epoch - s->warmup_epochs) / (float)(span - 1) : 1.0f;
        if (t > 1)
            t = 1;
        return s->min_lr + 0.5f * (s->base_lr - s->min_lr) * (1.0f + cosf(3.14159265f * t));
    }
    case NN_SCHED_PLATEAU:
        return s->cur_lr;
    default:
        return s->base_lr;
    }
}

void nn_sched_observe(nn_sched *s, float val_loss)
{
    if (s->kind != NN_SCHED_PLATEAU)
        return;
    if (val_loss < s->best - 1e-4f) {
        s->best = val_loss;
        s->bad_epochs = 0;
    } else if (++s->bad_epochs >= s->patience) {
        s->cur_lr = s->cur_lr * s->gamma > s->min_lr ? s->cur_lr * s->gamma : s->min_lr;
        s->bad_epochs = 0;
    }
}
