/* roll_target.c - see roll_target.h. */
#include "roll_target.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_err.h"
#include "rng.h"
#include "rollnet.h"

int roll_target_parse(const char *s, roll_target *t)
{
    double max = 30, step = 5;
    if (strcmp(s, "roll") != 0) {
        char *end;
        if (strncmp(s, "roll:", 5) != 0)
            return app_fail("'%s' is not emotion, roll or roll:MAX:STEP", s);
        max = strtod(s + 5, &end);
        if (*end != ':')
            return app_fail("'%s': expected roll:MAX:STEP (e.g. roll:30:5)", s);
        const char *p = end + 1;
        step = strtod(p, &end);
        if (end == p || *end)
            return app_fail("'%s': expected roll:MAX:STEP (e.g. roll:30:5)", s);
    }
    if (!(max > 0 && max <= 90 && step > 0 && step <= max))
        return app_fail("'%s': MAX must be in (0, 90] and STEP in (0, MAX]", s);
    double half = max / step;
    if (fabs(half - round(half)) > 1e-6)
        return app_fail("'%s': MAX must be a whole number of STEPs", s);
    int bins = 2 * (int)lround(half) + 1;
    if (bins > DATASET_MAX_CLASSES)
        return app_fail("'%s': %d bins, at most %d", s, bins, DATASET_MAX_CLASSES);
    t->max = (float)max;
    t->step = (float)step;
    t->bins = bins;
    return 0;
}

float roll_target_centre(const roll_target *t, int i) { return -t->max + (float)i * t->step; }

int roll_target_bin(const roll_target *t, float roll)
{
    long i = lroundf((roll + t->max) / t->step);
    return i < 0 ? 0 : i >= t->bins ? t->bins - 1 : (int)i;
}

void roll_target_render(const uint8_t *src, uint8_t *dst, int w, int h, float roll)
{
    augment_affine(src, dst, w, h, 0, -roll, 1, 0, 0);
    rollnet_prepare(dst, w, h);
}

float roll_target_sample(const roll_target *t, const augment_cfg *cfg, const uint8_t *src,
                         uint8_t *dst, int w, int h, uint64_t *rng, float *target, int *label)
{
    float roll = (2 * rng_unif(rng) - 1) * t->max;
    augment_apply_turned(cfg, src, dst, w, h, -roll, rng);
    rollnet_prepare(dst, w, h);
    float pos = (roll + t->max) / t->step;
    int lo = (int)floorf(pos);
    if (lo >= t->bins - 1)
        lo = t->bins - 2;
    if (lo < 0)
        lo = 0;
    float frac = pos - (float)lo;
    frac = frac < 0 ? 0 : frac > 1 ? 1 : frac;
    memset(target, 0, sizeof *target * (size_t)t->bins);
    target[lo] = 1 - frac;
    target[lo + 1] = frac;
    *label = roll_target_bin(t, roll);
    return roll;
}

int roll_target_relabel(dataset *ds, const roll_target *t)
{
    for (int i = 0; i < t->bins; i++)
        rollnet_bin_name(ds->classes[i], NN_NAME_MAX, roll_target_centre(t, i));
    ds->n_classes = t->bins;
    for (int i = 0; i < ds->n; i++)
        ds->labels[i] = t->bins / 2;
    return 0;
}

int roll_target_make_val(dataset *ds, const roll_target *t, uint64_t seed, float **rolls)
{
    size_t pix = (size_t)ds->w * ds->h;
    float *r = malloc(sizeof *r * (size_t)(ds->n > 0 ? ds->n : 1));
    uint8_t *tmp = malloc(pix);
    if (!r || !tmp) {
        free(r);
        free(tmp);
        return app_fail("out of memory");
    }
    roll_target_relabel(ds, t);
    uint64_t rng = seed * 0x2545F4914F6CDD1DULL + 7;
    for (int i = 0; i < ds->n; i++) {
        r[i] = (2 * rng_unif(&rng) - 1) * t->max;
        roll_target_render(dataset_image(ds, i), tmp, ds->w, ds->h, r[i]);
        memcpy(dataset_image(ds, i), tmp, pix);
        ds->labels[i] = roll_target_bin(t, r[i]);
    }
    free(tmp);
    *rolls = r;
    return 0;
}
