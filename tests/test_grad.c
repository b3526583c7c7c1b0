/* test_grad.c - finite-difference gradient checks for every layer kind and
 * the loss. Each layer is checked inside a small net: its parameters
 * directly, and its input gradient through the parameters of a layer
 * placed before it. */
#include "nn_impl.h"
#include "testutil.h"

#include <string.h>

typedef struct {
    nn_net *net;
    const float *x;
    const int *y;
    int n;
    nn_loss_cfg cfg;
} problem;

/* Loss of the current parameters; dropout masks repeat because the RNG
 * state is restored before each pass. */
static double loss_at(problem *p, uint64_t rng)
{
    p->net->rng = rng;
    (void)nn_net_params(p->net); /* announces the in-place weight writes */
    const float *probs = nn_net_forward(p->net, p->x, p->n, 1);
    return nn_loss(nn_net_logits(p->net), probs, p->y, p->n, p->net->n_classes, &p->cfg, NULL);
}

/* NN_CONV_* forced on every conv layer, or NN_CONV_AUTO */
static int conv_algo = NN_CONV_AUTO;

static void check_net(const char *name, const char *spec, int n, const nn_loss_cfg *cfg)
{
    nn_net *net = nn_net_from_spec(spec, 3);
    CHECK_MSG(net != NULL, "%s: %s", name, nn_error());
    if (!net)
        return;
    for (int i = 0; i < net->n_layers; i++)
        if (net->layers[i].kind == NN_L_CONV)
            net->layers[i].algo = conv_algo;
    nn_net_init(net, test_seed(7));
    int c, h, w;
    nn_net_input_shape(net, &c, &h, &w);
    size_t per = (size_t)c * h * w;
    float *x = malloc(n * per * sizeof *x);
    int *y = malloc(n * sizeof *y);
    uint64_t s = test_seed(99);
    for (size_t i = 0; i < n * per; i++)
        x[i] = nn_rand_normal(&s);
    for (int i = 0; i < n; i++)
        y[i] = (int)(nn_rand_u64(&s) % 3);
    /* Batch-norm running statistics are irrelevant in training mode, but
     * start BN scales away from 1 so gamma's gradient is not special. */
    for (int i = 0; i < net->n_layers; i++)
        if (net->layers[i].kind == NN_L_BN)
            for (int ch = 0; ch < net->layers[i].in_c; ch++) {
                net->layers[i].w[ch] = 0.5f + nn_rand_uniform(&s);
                net->layers[i].b[ch] = nn_rand_normal(&s) * 0.1f;
            }
    problem p = {.net = net, .x = x, .y = y, .n = n};
    if (cfg)
        p.cfg = *cfg;
    uint64_t rng = 12345;

    net->rng = rng;
    nn_net_forward(net, x, n, 1);
    nn_net_zero_grad(net);
    nn_net_backward(net, y, &p.cfg);
    float *analytic = malloc(net->n_params * sizeof(float));
    memcpy(analytic, net->grads, net->n_params * sizeof(float));

    /* Check up to 40 parameters of every layer, spread across it. */
    int bad = 0, checked = 0, kinks = 0;
    for (int li = 1; li < net->n_layers; li++) {
        nn_layer *l = &net->layers[li];
        size_t np = l->nw + l->nb;
        if (!np)
            continue;
        float *base = l->w ? l->w : l->b;
        size_t stride = np > 40 ? np / 40 : 1;
        for (size_t k = 0; k < np; k += stride) {
            float *pp = base + k;
            size_t gi = (size_t)(pp - net->params);
            float orig = *pp;
            double an = analytic[gi], num = 0, err = 1;
            double l0 = loss_at(&p, rng);
            /* Near a kink (ReLU at 0, a max changing hands) the one-sided
             * slopes disagree and the derivative is not defined: such
             * points are skipped (and counted), the rest must match. */
            /* the larger last step: where the float noise of the smaller
             * ones' quotients (it depends on the kernel's order of sums;
             * NN_KERNEL=avx2 failed F(4,3) by it) exceeds the tolerance */
            const float steps[3] = {1e-3f, 2.5e-4f, 4e-3f};
            int kink = 0;
            for (int si = 0; si < 3 && err > 2e-2; si++) {
                const float eps = steps[si];
                *pp = orig + eps;
                double lp = loss_at(&p, rng);
                *pp = orig - eps;
                double lm = loss_at(&p, rng);
                *pp = orig;
                num = (lp - lm) / (2 * eps);
                double fwd = (lp - l0) / eps, bwd = (l0 - lm) / eps;
                kink = fabs(fwd - bwd) > 0.05 * fmax(0.05, fabs(fwd) + fabs(bwd));
                /* float forward passes leave ~1e-3 of noise in a difference quotient */
                err = fabs(num - an) / (0.075 + fabs(num) + fabs(an));
            }
            if (err > 2e-2 && kink) {
                kinks++;
                continue;
            }
            checked++;
            if (err > 2e-2) {
                if (bad++ < 5)
                    fprintf(stderr, "%s: layer %d (%s) param %zu: numeric %.6g analytic %.6g\n",
                            name, li, l->ops->name, k, num, an);
            }
        }
    }
    CHECK_MSG(bad == 0, "%s: %d of %d gradients differ", name, bad, checked);
    CHECK_MSG(checked > 0 && kinks * 10 <= checked, "%s: %d checked, %d skipped at kinks", name,
              checked, kinks);
    free(analytic);
    free(x);
    free(y);
    nn_net_free(net);
}

/* Softmax's own backward (used when it is not fused with the loss), and
 * the fused loss gradient, against finite differences on the logits. */
static void check_softmax_and_loss(void)
{
    const int k = 5, n = 3;
    float z[15], probs[15], dz[15], dprob[15], dx[15];
    int y[3] = {0, 4, 2};
    float cw[5] = {1.0f, 2.0f, 0.5f, 1.0f, 3.0f};
    nn_loss_cfg cfg = {.label_smoothing = 0.1f, .class_weights = cw};
    uint64_t s = test_seed(5);
    for (int i = 0; i < n * k; i++)
        z[i] = nn_rand_normal(&s) * 2;
    nn_layer l = {.kind = NN_L_SOFTMAX, .in_c = k, .in_h = 1, .in_w = 1, .out_c = k, .out_h = 1, .out_w = 1};
    nn_ctx ctx = {0};
    nn_softmax_ops.forward(&l, &ctx, z, probs, n);
    nn_xent(probs, y, n, k, &cfg, dz);
    /* d(loss)/d(probs), worked by hand: -w[y] * t_j / (p_j * n). */
    for (int i = 0; i < n; i++)
        for (int j = 0; j < k; j++) {
            float t = (j == y[i] ? 1.0f - cfg.label_smoothing : 0.0f) + cfg.label_smoothing / k;
            dprob[i * k + j] = -cw[y[i]] * t / (probs[i * k + j] * n);
        }
    nn_softmax_ops.backward(&l, &ctx, z, probs, dprob, dx, n);
    for (int i = 0; i < n * k; i++) {
        float zz[15], pz[15];
        memcpy(zz, z, sizeof zz);
        zz[i] += 1e-2f;
        nn_softmax_ops.forward(&l, &ctx, zz, pz, n);
        double lp = nn_xent(pz, y, n, k, &cfg, NULL);
        zz[i] -= 2e-2f;
        nn_softmax_ops.forward(&l, &ctx, zz, pz, n);
        double lm = nn_xent(pz, y, n, k, &cfg, NULL);
        double num = (lp - lm) / 2e-2;
        CHECK_NEAR(dz[i], num, 2e-3);   /* fused loss gradient */
        CHECK_NEAR(dx[i], num, 5e-3);   /* softmax backward alone */
    }
}

/* Soft targets (mixup, cutmix): the fused gradient against finite
 * differences with smoothing and class weights on, and one-hot rows giving
 * exactly what the labels give. */
static void check_soft_targets(void)
{
    const int k = 4, n = 3;
    float z[12], probs[12], dz[12], dh[12], ds[12];
    float t[12] = {0.7f, 0.3f, 0, 0, /* a mixed pair */
                   0, 0, 0.25f, 0.75f,
                   0.1f, 0.2f, 0.3f, 0.4f};
    float cw[4] = {1.0f, 2.0f, 0.5f, 3.0f};
    nn_loss_cfg cfg = {.label_smoothing = 0.1f, .class_weights = cw, .targets = t};
    uint64_t s = test_seed(11);
    for (int i = 0; i < n * k; i++)
        z[i] = nn_rand_normal(&s) * 2;
    nn_layer l = {.kind = NN_L_SOFTMAX, .in_c = k, .in_h = 1, .in_w = 1, .out_c = k, .out_h = 1, .out_w = 1};
    nn_ctx ctx = {0};
    nn_softmax_ops.forward(&l, &ctx, z, probs, n);
    double loss = nn_xent(probs, NULL, n, k, &cfg, dz);
    /* The loss by hand for the first row: w = 0.7*1 + 0.3*2 = 1.3. */
    double ce0 = 0;
    for (int j = 0; j < k; j++)
        ce0 -= (0.9 * t[j] + 0.025) * log(probs[j]);
    double rest = loss * n - 1.3 * ce0;
    CHECK(rest > 0);
    for (int i = 0; i < n * k; i++) {
        float zz[12], pz[12];
        memcpy(zz, z, sizeof zz);
        zz[i] += 1e-2f;
        nn_softmax_ops.forward(&l, &ctx, zz, pz, n);
        double lp = nn_xent(pz, NULL, n, k, &cfg, NULL);
        zz[i] -= 2e-2f;
        nn_softmax_ops.forward(&l, &ctx, zz, pz, n);
        double lm = nn_xent(pz, NULL, n, k, &cfg, NULL);
        CHECK_NEAR(dz[i], (lp - lm) / 2e-2, 2e-3);
    }
    /* Row 0 alone with the smoothing off: L = 1.3 * CE. */
    nn_loss_cfg one = {.class_weights = cw, .targets = t};
    double l0 = nn_xent(probs, NULL, 1, k, &one, NULL);
    double ce = -(0.7 * log(probs[0]) + 0.3 * log(probs[1]));
    CHECK_NEAR(l0, 1.3 * ce, 1e-5);
    /* One-hot rows equal labels, loss and gradient. */
    int y[3] = {2, 0, 3};
    float hot[12] = {0};
    for (int i = 0; i < n; i++)
        hot[i * k + y[i]] = 1.0f;
    nn_loss_cfg hard = {.label_smoothing = 0.1f, .class_weights = cw};
    nn_loss_cfg softhot = hard;
    softhot.targets = hot;
    float lh = nn_xent(probs, y, n, k, &hard, dh), lsft = nn_xent(probs, NULL, n, k, &softhot, ds);
    CHECK(lh == lsft);
    CHECK(memcmp(dh, ds, sizeof dh) == 0);
}

/* Distillation: the whole loss's gradient at the logits against finite
 * differences, its value by hand, and no pull when the student already
 * matches the teacher at temperature T. */
static void check_distill(void)
{
    const int k = 4, n = 3;
    float z[12], probs[12], dz[12], q[12];
    int y[3] = {1, 3, 0};
    float cw[4] = {1.0f, 2.0f, 0.5f, 3.0f};
    uint64_t s = test_seed(23);
    for (int i = 0; i < n * k; i++)
        z[i] = nn_rand_normal(&s) * 2;
    for (int i = 0; i < n; i++) { /* a teacher distribution per image */
        float sum = 0;
        for (int j = 0; j < k; j++)
            sum += q[i * k + j] = 0.1f + nn_rand_uniform(&s);
        for (int j = 0; j < k; j++)
            q[i * k + j] /= sum;
    }
    nn_loss_cfg cfg = {.label_smoothing = 0.05f, .class_weights = cw, .teacher = q, .distill_t = 3.0f,
                       .distill_alpha = 0.7f};
    nn_layer l = {.kind = NN_L_SOFTMAX, .in_c = k, .in_h = 1, .in_w = 1, .out_c = k, .out_h = 1, .out_w = 1};
    nn_ctx ctx = {0};
    nn_softmax_ops.forward(&l, &ctx, z, probs, n);
    double loss = nn_loss(z, probs, y, n, k, &cfg, dz);
    for (int i = 0; i < n * k; i++) {
        float zz[12], pz[12];
        memcpy(zz, z, sizeof zz);
        zz[i] += 1e-2f;
        nn_softmax_ops.forward(&l, &ctx, zz, pz, n);
        double lp = nn_loss(zz, pz, y, n, k, &cfg, NULL);
        zz[i] -= 2e-2f;
        nn_softmax_ops.forward(&l, &ctx, zz, pz, n);
        double lm = nn_loss(zz, pz, y, n, k, &cfg, NULL);
        CHECK_NEAR(dz[i], (lp - lm) / 2e-2, 2e-3);
    }
    /* by hand: 0.3 * CE + 0.7 * 9 * mean KL */
    double kl = 0;
    for (int i = 0; i < n; i++) {
        double m = -1e30, sum = 0;
        for (int j = 0; j < k; j++)
            m = fmax(m, z[i * k + j] / 3.0);
        for (int j = 0; j < k; j++)
            sum += exp(z[i * k + j] / 3.0 - m);
        for (int j = 0; j < k; j++)
            kl += q[i * k + j] * (log(q[i * k + j]) - (z[i * k + j] / 3.0 - m - log(sum)));
    }
    double ce = nn_xent(probs, y, n, k, &cfg, NULL);
    CHECK_NEAR(loss, 0.3 * ce + 0.7 * 9.0 * kl / n, 1e-5);
    /* alpha 1 and q = softmax(z/T): nothing to learn */
    nn_loss_cfg same = {.teacher = q, .distill_t = 2.0f, .distill_alpha = 1.0f};
    nn_layer lt = l;
    float zt[12];
    for (int i = 0; i < n * k; i++)
        zt[i] = z[i] / 2.0f;
    nn_softmax_ops.forward(&lt, &ctx, zt, q, n);
    CHECK_NEAR(nn_loss(z, probs, y, n, k, &same, dz), 0.0, 1e-6);
    double g = 0;
    for (int i = 0; i < n * k; i++)
        g = fmax(g, fabs(dz[i]));
    CHECK(g < 1e-6);
}

int main(void)
{
    /* Every layer kind, each after a conv or dense whose parameters see
     * the input gradient of the layer under test. */
    check_net("conv valid",
              "input 7x6x2\nconv 3 3x3 valid\nflatten\ndense classes softmax\n", 2, NULL);
    check_net("conv same stride 2",
              "input 7x8x2\nconv 3 3x3 stride 2 same\nconv 2 3x3 same\nflatten\ndense classes softmax\n", 2, NULL);
    check_net("conv 5x5 and 1x1",
              "input 9x9x1\nconv 2 5x5 same\nconv 3 1x1\nconv 2 2x2 stride 2\nflatten\ndense classes softmax\n", 2, NULL);
    check_net("maxpool",
              "input 8x8x1\nconv 2 3x3 same\nmaxpool 2\nflatten\ndense classes softmax\n", 2, NULL);
    check_net("maxpool overlapping",
              "input 9x9x1\nconv 2 3x3 same\nmaxpool 3 stride 2\nflatten\ndense classes softmax\n", 2, NULL);
    check_net("avgpool",
              "input 8x8x1\nconv 2 3x3 same\navgpool 2\nflatten\ndense classes softmax\n", 2, NULL);
    check_net("gap",
              "input 6x6x1\nconv 4 3x3 same\ngap\ndense classes softmax\n", 2, NULL);
    check_net("relu",
              "input 6x6x1\nconv 3 3x3 same relu\nflatten\ndense classes softmax\n", 2, NULL);
    /* The fusions the net makes: conv with its ReLU (forward), ReLU with
     * the max pool after it (backward), odd sizes leaving a row and a
     * column outside every 2x2 window, overlapping windows; and 3x3 layers
     * wide enough (8 channels) to take the Winograd path. */
    check_net("conv relu maxpool",
              "input 9x7x1\nconv 3 3x3 same relu\nmaxpool 2\nflatten\ndense classes softmax\n",
              2, NULL);
    check_net("relu maxpool overlapping",
              "input 9x9x1\nconv 2 3x3 same relu\nmaxpool 3 stride 2\nflatten\ndense classes softmax\n",
              2, NULL);
    for (conv_algo = NN_CONV_WINO2; conv_algo <= NN_CONV_WINO4; conv_algo++)
        check_net(conv_algo == NN_CONV_WINO2 ? "winograd F(2,3)" : "winograd F(4,3)",
                  "input 11x10x1\nconv 4 3x3 same relu\nconv 6 3x3 relu\nmaxpool 2\n"
                  "conv 5 3x3 same\nflatten\ndense classes softmax\n", 3, NULL);
    conv_algo = NN_CONV_AUTO;
    check_net("bn conv",
              "input 6x6x1\nconv 3 3x3 same\nbn\nrelu\nflatten\ndense classes softmax\n", 4, NULL);
    check_net("bn dense",
              "input 4x4x1\nflatten\ndense 6\nbn\nrelu\ndense classes softmax\n", 5, NULL);
    check_net("dropout",
              "input 6x6x1\nconv 3 3x3 same\ndropout 0.5\nflatten\ndense classes softmax\n", 2, NULL);
    check_net("crop",
              "input 9x8x1\nconv 2 3x3 same\ncrop 5x4\nconv 2 3x3 same\nflatten\ndense classes softmax\n", 3, NULL);
    check_net("dense chain",
              "input 5x5x1\nflatten\ndense 8 relu\ndense 6 relu\ndense classes softmax\n", 3, NULL);
    float cw[3] = {0.5f, 2.0f, 1.0f};
    nn_loss_cfg cfg = {.label_smoothing = 0.2f, .class_weights = cw};
    check_net("loss smoothing and weights",
              "input 5x5x1\nconv 2 3x3 same bn relu\nmaxpool 2\nflatten\ndense 4 relu\ndense classes softmax\n",
              4, &cfg);
    /* Residual blocks: identity skips, a strided projection that also
     * changes the width, a skip from the input, nested blocks, a skip
     * from a conv whose ReLU would otherwise fuse with it, and one from a
     * ReLU whose max pool would otherwise take its backward. */
    check_net("residual identity",
              "input 6x6x2\nconv 3 3x3 same relu\nresidual\nconv 3 3x3 same bn relu\nconv 3 3x3 same\n"
              "end relu\nflatten\ndense classes softmax\n", 3, NULL);
    check_net("residual projection stride 2",
              "input 7x7x2\nconv 3 3x3 same relu\nresidual\nconv 4 3x3 stride 2 same bn relu\n"
              "conv 4 3x3 same\nend relu\ngap\ndense classes softmax\n", 3, NULL);
    check_net("residual nested, from the input and a conv",
              "input 6x6x1\nresidual\nconv 2 3x3 same\nresidual\nrelu\nconv 2 3x3 same\nend\nend relu\n"
              "flatten\ndense classes softmax\n", 2, NULL);
    check_net("residual from a relu before a max pool",
              "input 6x6x1\nconv 2 3x3 same\nrelu\nresidual\nmaxpool 2\nconv 2 3x3 same\nend\n"
              "flatten\ndense classes softmax\n", 2, NULL);
    check_net("residual winograd",
              "input 8x8x1\nconv 8 3x3 same relu\nresidual\nconv 8 3x3 same bn relu\nconv 8 3x3 same bn\n"
              "end relu\nresidual\nconv 12 3x3 stride 2 same relu\nconv 12 3x3 same\nend relu\n"
              "gap\ndense classes softmax\n", 3, NULL);
    /* Squeeze-and-excitation, alone (odd sizes, several hidden units) and
     * in a residual block as SE-ResNet puts it. */
    check_net("se",
              "input 7x5x1\nconv 6 3x3 same relu\nse 2\nflatten\ndense classes softmax\n", 3, NULL);
    check_net("se in a residual block",
              "input 6x6x1\nconv 8 3x3 same relu\nresidual\nconv 8 3x3 same bn relu\nconv 8 3x3 same bn\n"
              "se 4\nend relu\ngap\ndense classes softmax\n", 3, NULL);
    check_softmax_and_loss();
    check_soft_targets();
    check_distill();
    /* Soft targets through a whole net, as a mixed batch trains it. */
    float soft[12] = {0.6f, 0.4f, 0, 0, 0.2f, 0.8f, 1, 0, 0, 0.35f, 0, 0.65f};
    nn_loss_cfg mixed = {.label_smoothing = 0.1f, .class_weights = cw, .targets = soft};
    check_net("loss soft targets",
              "input 5x5x1\nconv 2 3x3 same bn relu\nmaxpool 2\nflatten\ndense 4 relu\ndense classes softmax\n",
              4, &mixed);
    /* Distillation through a whole net, with mixed targets as well. */
    float teach[12] = {0.5f, 0.3f, 0.2f, 0.1f, 0.1f, 0.8f, 0.6f, 0.2f, 0.2f, 0.3f, 0.3f, 0.4f};
    nn_loss_cfg kd = {.label_smoothing = 0.1f, .class_weights = cw, .targets = soft, .teacher = teach,
                      .distill_t = 4.0f, .distill_alpha = 0.6f};
    check_net("loss distillation",
              "input 5x5x1\nconv 2 3x3 same bn relu\nmaxpool 2\nflatten\ndense 4 relu\ndense classes softmax\n",
              4, &kd);
    return test_done("test_grad");
}
