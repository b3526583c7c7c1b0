/* test_mix.c - mixup and cutmix batches: targets are distributions that
 * say how much of each image went in, and the pixels agree with them;
 * Beta draws have the right mean and spread; a seed repeats. */
#include "mix.h"
#include "testutil.h"

#include <string.h>

enum { B = 16, C = 2, H = 6, W = 5, K = 4, PER = C * H * W };

/* Image i: every pixel i + 1 in channel 0, -(i + 1) in channel 1, so
 * where a pixel came from shows in its value. */
static void fill(float *x)
{
    for (int i = 0; i < B; i++)
        for (int p = 0; p < PER; p++)
            x[i * PER + p] = (float)(i + 1) * (p < H * W ? 1.0f : -1.0f);
}

static void check_batch(const mix_cfg *cfg, int cut)
{
    float x[B * PER], scratch[B * PER], t[B * K];
    int y[B], dom[B];
    for (int i = 0; i < B; i++)
        y[i] = i % K;
    fill(x);
    uint64_t rng = test_seed(3);
    mix_batch(cfg, x, scratch, y, B, C, H, W, K, t, dom, &rng);
    int mixed = 0;
    for (int i = 0; i < B; i++) {
        const float *ti = t + i * K, *xi = x + i * PER;
        double sum = 0;
        for (int j = 0; j < K; j++) {
            CHECK(ti[j] >= 0 && ti[j] <= 1);
            sum += ti[j];
        }
        CHECK_NEAR(sum, 1.0, 1e-6);
        CHECK(ti[y[i]] >= 0.0f);
        /* The partner: a pixel value other than the image's own. */
        int partner = -1;
        for (int p = 0; p < PER; p++) {
            int v = (int)lroundf(fabsf(xi[p]));
            if (!cut && fabsf(xi[p] - (float)(i + 1) * (p < H * W ? 1.0f : -1.0f)) > 1e-5f)
                partner = 0; /* mixup: blended values, checked below */
            if (cut && v != i + 1)
                partner = v - 1;
        }
        if (partner < 0) {
            CHECK_NEAR(ti[y[i]], 1.0, 1e-6); /* unmixed: one-hot */
            CHECK(dom[i] == y[i]);
            continue;
        }
        mixed++;
        if (cut) {
            /* Pixels taken from the partner: the share 1 - lam, the same in
             * both channels; the target gives the partner's class that. */
            int taken = 0;
            for (int p = 0; p < H * W; p++) {
                int v = (int)lroundf(xi[p]);
                CHECK(v == i + 1 || v == partner + 1);
                taken += v == partner + 1;
                CHECK(xi[p + H * W] == -xi[p]);
            }
            float lam = 1.0f - (float)taken / (H * W);
            if (y[partner] != y[i])
                CHECK_NEAR(ti[y[partner]], 1.0 - lam, 1e-6);
            CHECK_NEAR(ti[y[i]], y[partner] == y[i] ? 1.0 : lam, 1e-6);
            CHECK(dom[i] == (lam >= 0.5f ? y[i] : y[partner]));
        } else {
            /* x = lam*(i+1) + (1-lam)*(j+1) everywhere, with lam the
             * target's own-class share: solve for j, it must be a whole
             * image index whose class takes the rest. */
            float lam = ti[y[i]];
            if (lam >= 0.999f)
                continue; /* paired with its own class: cannot tell */
            float j1 = (xi[0] - lam * (float)(i + 1)) / (1.0f - lam);
            int j = (int)lroundf(j1) - 1;
            CHECK_MSG(j >= 0 && j < B && fabsf(j1 - (float)(j + 1)) < 1e-2f, "image %d: partner %g", i,
                      (double)j1);
            if (j >= 0 && j < B)
                CHECK_NEAR(ti[y[j]], 1.0 - lam, 1e-6);
            for (int p = 1; p < PER; p++)
                CHECK_NEAR(xi[p], xi[0] * (p < H * W ? 1.0f : -1.0f), 1e-5);
        }
    }
    CHECK_MSG(mixed >= B / 2, "only %d of %d images mixed", mixed, B);

    /* Same seed, same batch. */
    float x2[B * PER], t2[B * K];
    int dom2[B];
    fill(x2);
    rng = test_seed(3);
    mix_batch(cfg, x2, scratch, y, B, C, H, W, K, t2, dom2, &rng);
    CHECK(!memcmp(x, x2, sizeof x) && !memcmp(t, t2, sizeof t) && !memcmp(dom, dom2, sizeof dom));
}

static void check_beta(double a)
{
    uint64_t rng = test_seed(9);
    const int n = 20000;
    double sum = 0, sq = 0;
    int bad = 0;
    for (int i = 0; i < n; i++) {
        double v = mix_beta(a, &rng);
        bad += !(v >= 0 && v <= 1);
        sum += v;
        sq += v * v;
    }
    double mean = sum / n, var = sq / n - mean * mean;
    CHECK(bad == 0);
    CHECK_NEAR(mean, 0.5, 0.01);
    CHECK_NEAR(var, 1.0 / (4 * (2 * a + 1)), 0.01); /* Beta(a, a)'s variance */
}

int main(void)
{
    mix_cfg mixup = {.mixup = 0.4f, .prob = 1};
    check_batch(&mixup, 0);
    mix_cfg cutmix = {.cutmix = 1.0f, .prob = 1};
    check_batch(&cutmix, 1);
    /* prob 0 and alpha 0 mix nothing */
    mix_cfg off = {.mixup = 0.4f, .prob = 0};
    mix_cfg none = {.prob = 1};
    CHECK(!mix_on(&off) && !mix_on(&none) && mix_on(&mixup));
    check_beta(0.2);
    check_beta(1.0);
    check_beta(2.0);
    return test_done("test_mix");
}
