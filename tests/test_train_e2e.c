/* test_train_e2e.c - a tiny end-to-end training run on generated data:
 * three classes of 16x16 images (horizontal bars, vertical bars, a bright
 * blob), with noise and random offsets. A small conv net trained for a few
 * epochs must classify unseen images with at least 90% accuracy (chance is
 * 33%). Also: a seeded run repeats exactly at the same thread count. */
#include "nn_impl.h"
#include "testutil.h"

#include <string.h>

#define S 16

static void make_image(int cls, uint64_t *s, float *img)
{
    int off = (int)(nn_rand_u64(s) % 4);
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            float v;
            if (cls == 0)
                v = ((y + off) / 2) % 2 ? 0.8f : 0.2f;
            else if (cls == 1)
                v = ((x + off) / 2) % 2 ? 0.8f : 0.2f;
            else {
                float dx = (float)(x - 6 - off), dy = (float)(y - 6 - off);
                v = dx * dx + dy * dy < 16 ? 0.9f : 0.3f;
            }
            img[y * S + x] = v + 0.15f * nn_rand_normal(s);
        }
}

static const char *spec =
    "input 16x16x1\n"
    "conv 8 3x3 same bn relu\n"
    "maxpool 2\n"
    "conv 16 3x3 same relu\n"
    "gap\n"
    "dropout 0.1\n"
    "dense classes softmax\n";

/* Trains and returns held-out accuracy; params copied to out if given. */
static double train(int threads, float *out_params, size_t *n_params)
{
    const int n_train = 300, n_test = 150, batch = 16, epochs = 6;
    float *x = malloc((size_t)(n_train + n_test) * S * S * sizeof *x);
    int *y = malloc((size_t)(n_train + n_test) * sizeof *y);
    uint64_t s = 2024;
    for (int i = 0; i < n_train + n_test; i++) {
        y[i] = i % 3;
        make_image(y[i], &s, x + (size_t)i * S * S);
    }
    nn_net *net = nn_net_from_spec(spec, 3);
    nn_net_init(net, 5);
    nn_net_set_threads(net, threads);
    nn_optim_cfg cfg = nn_optim_defaults(NN_ADAM);
    cfg.lr = 3e-3f;
    nn_optim *opt = nn_optim_new(net, &cfg);
    float first_loss = 0, last_loss = 0;
    for (int e = 0; e < epochs; e++) {
        double sum = 0;
        for (int b = 0; b + batch <= n_train; b += batch) {
            nn_net_forward(net, x + (size_t)b * S * S, batch, 1);
            nn_net_zero_grad(net);
            sum += nn_net_backward(net, y + b, NULL);
            nn_optim_step(opt, cfg.lr);
        }
        float loss = (float)(sum / (n_train / batch));
        if (e == 0)
            first_loss = loss;
        last_loss = loss;
    }
    CHECK_MSG(last_loss < first_loss * 0.5f, "loss %g -> %g", first_loss, last_loss);
    const float *p = nn_net_forward(net, x + (size_t)n_train * S * S, n_test, 0);
    int correct = 0;
    for (int i = 0; i < n_test; i++) {
        int best = 0;
        for (int k = 1; k < 3; k++)
            if (p[i * 3 + k] > p[i * 3 + best])
                best = k;
        correct += best == y[n_train + i];
    }
    if (out_params)
        memcpy(out_params, nn_net_params(net), nn_net_n_params(net) * sizeof(float));
    if (n_params)
        *n_params = nn_net_n_params(net);
    nn_optim_free(opt);
    nn_net_free(net);
    free(x);
    free(y);
    return (double)correct / n_test;
}

int main(void)
{
    size_t np;
    float *a = malloc(4096 * sizeof *a), *b = malloc(4096 * sizeof *b);
    double acc = train(1, a, &np);
    printf("held-out accuracy, 1 thread: %.1f%%\n", 100 * acc);
    CHECK_MSG(acc >= 0.90, "accuracy %.3f below 0.90", acc);
    CHECK(np <= 4096);
    double acc2 = train(2, a, NULL);
    double acc2b = train(2, b, NULL);
    printf("held-out accuracy, 2 threads: %.1f%%\n", 100 * acc2);
    CHECK_MSG(acc2 >= 0.90, "accuracy %.3f below 0.90", acc2);
    CHECK_MSG(acc2 == acc2b && memcmp(a, b, np * sizeof(float)) == 0,
              "two seeded 2-thread runs differ");
    free(a);
    free(b);
    return test_done("test_train_e2e");
}
