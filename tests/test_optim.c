/* test_optim.c - optimizer updates worked by hand, weight-decay masking,
 * and learning-rate schedules. */
#include "nn_impl.h"
#include "testutil.h"

#include <string.h>

/* dense 2->2 (4 weights + 2 biases) then softmax: 6 parameters. */
static nn_net *tiny(void)
{
    nn_net *net = nn_net_from_spec("input 2x1x1\ndense classes softmax\n", 2);
    CHECK(net && nn_net_n_params(net) == 6);
    return net;
}

static void sgd(void)
{
    nn_net *net = tiny();
    if (!net)
        return;
    float *p = nn_net_params(net), *g = nn_net_grads(net);
    nn_optim_cfg cfg = nn_optim_defaults(NN_SGD);
    cfg.momentum = 0.5f;
    cfg.nesterov = 0;
    cfg.weight_decay = 0.1f;
    nn_optim *o = nn_optim_new(net, &cfg);
    for (int i = 0; i < 6; i++) {
        p[i] = 1.0f;
        g[i] = 2.0f;
    }
    nn_optim_step(o, 0.1f);
    /* weights: g' = 2 + 0.1*1 = 2.1, v = 2.1, p = 1 - 0.21; biases: no decay */
    CHECK_NEAR(p[0], 1 - 0.21, 1e-6);
    CHECK_NEAR(p[4], 1 - 0.2, 1e-6);
    nn_optim_step(o, 0.1f);
    /* bias: v = 0.5*2 + 2 = 3, p = 0.8 - 0.3 */
    CHECK_NEAR(p[4], 0.5, 1e-6);
    nn_optim_free(o);

    cfg.nesterov = 1;
    cfg.weight_decay = 0;
    o = nn_optim_new(net, &cfg);
    p[4] = 1;
    nn_optim_step(o, 0.1f);
    /* v = 2, step = g + mu*v = 3 */
    CHECK_NEAR(p[4], 0.7, 1e-6);
    nn_optim_free(o);
    nn_net_free(net);
}

static void adam(void)
{
    nn_net *net = tiny();
    if (!net)
        return;
    float *p = nn_net_params(net), *g = nn_net_grads(net);
    for (int kind = NN_ADAM; kind <= NN_ADAMW; kind++) {
        nn_optim_cfg cfg = nn_optim_defaults((nn_optim_kind)kind);
        cfg.weight_decay = kind == NN_ADAMW ? 0.5f : 0.0f;
        nn_optim *o = nn_optim_new(net, &cfg);
        for (int i = 0; i < 6; i++) {
            p[i] = 1.0f;
            g[i] = i < 4 ? 0.3f : -5.0f;
        }
        nn_optim_step(o, 0.01f);
        /* First Adam step moves each parameter by lr * sign(g) (bias
         * corrected m/sqrt(v) = g/|g|); AdamW first decays weights. */
        double w_expect = kind == NN_ADAMW ? 1 - 0.01 * 0.5 - 0.01 : 1 - 0.01;
        CHECK_NEAR(p[0], w_expect, 1e-5);
        CHECK_NEAR(p[5], 1 + 0.01, 1e-5);
        CHECK(*nn_optim_step_count(o) == 1);
        CHECK(nn_optim_state_size(o) == 12);
        nn_optim_free(o);
    }
    nn_net_free(net);
}

static void schedules(void)
{
    nn_sched s;
    CHECK(nn_sched_parse(&s, "step:10:0.5", 0.1f, 30) == 0);
    CHECK_NEAR(nn_sched_lr(&s, 0), 0.1, 1e-7);
    CHECK_NEAR(nn_sched_lr(&s, 9), 0.1, 1e-7);
    CHECK_NEAR(nn_sched_lr(&s, 10), 0.05, 1e-7);
    CHECK_NEAR(nn_sched_lr(&s, 25), 0.025, 1e-7);

    CHECK(nn_sched_parse(&s, "cosine", 0.1f, 11) == 0);
    CHECK_NEAR(nn_sched_lr(&s, 0), 0.1, 1e-7);
    CHECK_NEAR(nn_sched_lr(&s, 5), 0.05, 1e-6);
    CHECK_NEAR(nn_sched_lr(&s, 10), 0.0, 1e-7);

    CHECK(nn_sched_parse(&s, "cosine:2:0.1", 0.1f, 12) == 0);
    CHECK_NEAR(nn_sched_lr(&s, 0), 0.1 / 3, 1e-7); /* warm-up */
    CHECK_NEAR(nn_sched_lr(&s, 2), 0.1, 1e-7);
    CHECK_NEAR(nn_sched_lr(&s, 11), 0.01, 1e-7);

    CHECK(nn_sched_parse(&s, "plateau:2:0.5", 0.1f, 50) == 0);
    nn_sched_observe(&s, 1.0f);
    nn_sched_observe(&s, 0.9f);
    CHECK_NEAR(nn_sched_lr(&s, 2), 0.1, 1e-7);
    nn_sched_observe(&s, 0.95f);
    nn_sched_observe(&s, 0.91f); /* two epochs without improvement */
    CHECK_NEAR(nn_sched_lr(&s, 4), 0.05, 1e-7);

    CHECK(nn_sched_parse(&s, "const", 0.1f, 5) == 0);
    CHECK_NEAR(nn_sched_lr(&s, 4), 0.1, 1e-7);

    CHECK(nn_sched_parse(&s, "wiggle", 0.1f, 5) < 0);
    CHECK(nn_sched_parse(&s, "step:x", 0.1f, 5) < 0);
    CHECK(nn_sched_parse(&s, "step:0", 0.1f, 5) < 0);
    CHECK(nn_sched_parse(&s, "plateau:3:2", 0.1f, 5) < 0);
}

int main(void)
{
    sgd();
    adam();
    schedules();
    return test_done("test_optim");
}
