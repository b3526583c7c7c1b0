/* mix.c - mixup and cutmix for a training batch (see mix.h). */
#include "mix.h"

#include <math.h>
#include <string.h>

/* xorshift64* on the caller's state */
static uint64_t next_u64(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* (0, 1): never exactly 0, so logs stay finite */
static double uniform01(uint64_t *s) { return ((double)(next_u64(s) >> 11) + 0.5) * (1.0 / 9007199254740992.0); }

static double normal(uint64_t *s)
{
    return sqrt(-2.0 * log(uniform01(s))) * cos(6.283185307179586 * uniform01(s));
}

/* Gamma(a, 1) by Marsaglia and Tsang; a < 1 through Gamma(a+1) * U^(1/a). */
static double gamma_rand(double a, uint64_t *s)
{
    if (a < 1.0)
        return gamma_rand(a + 1.0, s) * pow(uniform01(s), 1.0 / a);
    const double d = a - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double z = normal(s), v = 1.0 + c * z;
        if (v <= 0)
            continue;
        v = v * v * v;
        double u = uniform01(s);
        if (log(u) < 0.5 * z * z + d - d * v + d * log(v))
            return d * v;
    }
}

double mix_beta(double a, uint64_t *rng)
{
    double g1 = gamma_rand(a, rng), g2 = gamma_rand(a, rng);
    return g1 + g2 > 0 ? g1 / (g1 + g2) : 0.5;
}

int mix_on(const mix_cfg *cfg) { return cfg->prob > 0 && (cfg->mixup > 0 || cfg->cutmix > 0); }

void mix_batch(const mix_cfg *cfg, float *x, float *scratch, const int *y, int B, int c, int h,
               int w, int k, float *t, int *dom, uint64_t *rng)
{
    const size_t plane = (size_t)h * w, per = (size_t)c * plane;
    memcpy(scratch, x, (size_t)B * per * sizeof *x);
    /* The partners: a random permutation of the batch. */
    int perm[4096];
    for (int i = 0; i < B; i++)
        perm[i] = i;
    for (int i = B - 1; i > 0; i--) {
        int j = (int)(next_u64(rng) % (uint64_t)(i + 1)), tmp = perm[i];
        perm[i] = perm[j];
        perm[j] = tmp;
    }
    for (int i = 0; i < B; i++) {
        float *ti = t + (size_t)i * k, *xi = x + (size_t)i * per;
        const int j = perm[i];
        const float *xj = scratch + (size_t)j * per;
        memset(ti, 0, (size_t)k * sizeof *ti);
        double lam = 1.0;
        if (j != i && uniform01(rng) < cfg->prob) {
            int cut = cfg->cutmix > 0 && (cfg->mixup <= 0 || (next_u64(rng) & 1));
            lam = mix_beta(cut ? cfg->cutmix : cfg->mixup, rng);
            if (cut) {
                /* A box of about (1-lam) of the area, centred anywhere,
                 * clipped to the image; lam is then the share left of a. */
                double side = sqrt(1.0 - lam);
                int bw = (int)(w * side + 0.5), bh = (int)(h * side + 0.5);
                int cx = (int)(next_u64(rng) % (uint64_t)w), cy = (int)(next_u64(rng) % (uint64_t)h);
                int x0 = cx - bw / 2, y0 = cy - bh / 2, x1 = x0 + bw, y1 = y0 + bh;
                x0 = x0 < 0 ? 0 : x0;
                y0 = y0 < 0 ? 0 : y0;
                x1 = x1 > w ? w : x1;
                y1 = y1 > h ? h : y1;
                for (int ch = 0; ch < c; ch++)
                    for (int r = y0; r < y1; r++)
                        memcpy(xi + ch * plane + (size_t)r * w + x0, xj + ch * plane + (size_t)r * w + x0,
                               (size_t)(x1 - x0) * sizeof *xi);
                int area = x1 > x0 && y1 > y0 ? (x1 - x0) * (y1 - y0) : 0;
                lam = 1.0 - (double)area / (double)plane;
            } else {
                const float a = (float)lam, b = 1.0f - a;
                for (size_t p = 0; p < per; p++)
                    xi[p] = a * xi[p] + b * xj[p];
            }
        }
        ti[y[i]] += (float)lam;
        ti[y[j]] += (float)(1.0 - lam);
        dom[i] = lam >= 0.5 ? y[i] : y[j];
    }
}
