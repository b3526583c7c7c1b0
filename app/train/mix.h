/*
 * mix.h - mixup and cutmix: training images mixed in pairs, with soft
 * targets that say how much of each image's class went in.
 *
 * Each image of a batch is paired with another image of the same batch
 * (a random permutation). Mixup blends the pair, lam*a + (1-lam)*b; cutmix
 * pastes a rectangle of b covering a share 1-lam of a (lam then being the
 * share of a really left). lam ~ Beta(alpha, alpha), drawn per image. The
 * target row is lam*onehot(a's label) + (1-lam)*onehot(b's label).
 *
 * Every random choice comes from the caller's RNG state, so a run (and a
 * resumed run) repeats.
 */
#ifndef MIX_H
#define MIX_H

#include <stdint.h>

typedef struct mix_cfg {
    float mixup;  /* Beta alpha of mixup, 0 = off */
    float cutmix; /* Beta alpha of cutmix, 0 = off */
    float prob;   /* chance an image is mixed (when both are on, either at 50%) */
} mix_cfg;

/* Whether cfg mixes anything. */
int mix_on(const mix_cfg *cfg);

/*
 * Mix a batch in place. x: B images of c x h x w floats (preprocessed;
 * preprocessing is affine, so mixing after it is mixing the pixels);
 * scratch: room for a copy of x; y: labels. Writes the soft targets t[B][k]
 * and each image's dominant label dom[B] (the larger share; its own label
 * on a tie), against which training accuracy is counted.
 */
void mix_batch(const mix_cfg *cfg, float *x, float *scratch, const int *y, int B, int c, int h,
               int w, int k, float *t, int *dom, uint64_t *rng);

/* A Beta(a, a) random number, a > 0 (exposed for tests). */
double mix_beta(double a, uint64_t *rng);

#endif
