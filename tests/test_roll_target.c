/* test_roll_target.c - the trainer's roll target (app/train/roll_target.c)
 * and the roll model's names and estimate (app/common/rollnet.c): a
 * rendered sample shows the roll its label says (measured on a bar, by
 * its second moments), the soft target's mean is that roll, a flip drawn
 * by the augmentation leaves the label right while mirroring a rolled
 * face negates its roll, and bad --target values are refused. */
#include <math.h>
#include <string.h>

#include "app_err.h"
#include "augment.h"
#include "roll_target.h"
#include "rollnet.h"
#include "testutil.h"

#define S 48

/* A bright horizontal bar through the centre, thicker on the left (so a
 * mirror image differs), on a dark ground. */
static void bar(uint8_t *img)
{
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            int half = x < S / 2 ? 3 : 2;
            int on = x >= 9 && x <= 38 && fabs(y - (S - 1) / 2.0) <= half;
            img[y * S + x] = on ? 220 : 30;
        }
}

/* The bright pixels' main axis, degrees from x towards y (y down), from
 * the second moments weighted by how far each pixel is above mid-gray
 * (bilinear edges count in part, so small turns are measured too). */
static double axis(const uint8_t *img)
{
    double n = 0, mx = 0, my = 0;
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            double w = img[y * S + x] > 100 ? img[y * S + x] - 100 : 0;
            n += w;
            mx += w * x;
            my += w * y;
        }
    mx /= n;
    my /= n;
    double sxx = 0, syy = 0, sxy = 0;
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            double w = img[y * S + x] > 100 ? img[y * S + x] - 100 : 0;
            sxx += w * (x - mx) * (x - mx);
            syy += w * (y - my) * (y - my);
            sxy += w * (x - mx) * (y - my);
        }
    return 0.5 * atan2(2 * sxy, sxx - syy) * 180 / M_PI;
}

static void parse_cases(void)
{
    roll_target t;
    CHECK(roll_target_parse("roll", &t) == 0 && t.max == 30 && t.step == 5 && t.bins == 13);
    CHECK(roll_target_parse("roll:20:2.5", &t) == 0 && t.bins == 17);
    CHECK(roll_target_parse("roll:30:7", &t) == -1 && strstr(app_error(), "whole number"));
    CHECK(roll_target_parse("roll:300:5", &t) == -1);
    CHECK(roll_target_parse("roll:30", &t) == -1);
    CHECK(roll_target_parse("roll:90:1", &t) == -1 && strstr(app_error(), "bins"));
    CHECK(roll_target_parse("yaw", &t) == -1);
}

static void names_and_estimate(void)
{
    roll_target t;
    roll_target_parse("roll", &t);
    char names[13][NN_NAME_MAX];
    const char *p[13];
    for (int i = 0; i < 13; i++) {
        rollnet_bin_name(names[i], sizeof names[i], roll_target_centre(&t, i));
        p[i] = names[i];
    }
    CHECK(!strcmp(names[0], "roll-30") && !strcmp(names[6], "roll+0") && !strcmp(names[12], "roll+30"));
    float c[13];
    CHECK(rollnet_centres(p, 13, c) == 1 && c[0] == -30 && c[6] == 0 && c[12] == 30);
    const char *emo[7] = {"angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"};
    CHECK(rollnet_centres(emo, 7, c) == 0);
    const char *mixed[3] = {"roll-5", "happy", "roll+5"};
    CHECK(rollnet_centres(mixed, 3, c) == 0);
    const char *bad[2] = {"roll5", "rollx"};
    CHECK(rollnet_centres(bad, 2, c) == 0);
    float pr[3] = {0.25f, 0.5f, 0.25f}, cc[3] = {-10, 0, 20};
    CHECK_NEAR(rollnet_estimate(pr, cc, 3), 2.5, 1e-6);
    CHECK(roll_target_bin(&t, 12.4f) == 8 && roll_target_bin(&t, -99) == 0 && roll_target_bin(&t, 99) == 12);
}

static void samples(void)
{
    roll_target t;
    roll_target_parse("roll", &t);
    uint8_t src[S * S], dst[S * S], mir[S * S], back[S * S];
    bar(src);
    augment_cfg none;
    augment_defaults(&none, S, S);
    augment_cfg flip = none;
    CHECK(augment_parse(&flip, "flip:1") == 0);
    uint64_t rng = 5;
    float target[13];
    int label, seen_neg = 0, seen_pos = 0;
    for (int i = 0; i < 40; i++) {
        const augment_cfg *cfg = i % 2 ? &flip : &none;
        float roll = roll_target_sample(&t, cfg, src, dst, S, S, &rng, target, &label);
        seen_neg += roll < -10;
        seen_pos += roll > 10;
        /* The labels follow the turn, the flip or not. */
        CHECK_MSG(fabs(axis(dst) - roll) < 1.5, "sample %d: bar at %.2f, label roll %.2f", i,
                  axis(dst), (double)roll);
        CHECK(label == roll_target_bin(&t, roll));
        float centres[13], sum = 0;
        for (int j = 0; j < 13; j++) {
            centres[j] = roll_target_centre(&t, j);
            sum += target[j];
        }
        CHECK_NEAR(sum, 1, 1e-5);
        CHECK_NEAR(rollnet_estimate(target, centres, 13), roll, 1e-3);
        /* Mirroring a rolled face negates its roll. */
        augment_flip(dst, mir, S, S);
        CHECK_NEAR(axis(mir), -roll, 1.5);
    }
    CHECK(seen_neg > 5 && seen_pos > 5);
    /* The render of the validation set and of eval: the same turn, and the
     * flip of the mirrored face turned the other way gives it back. */
    roll_target_render(src, dst, S, S, 20);
    CHECK_NEAR(axis(dst), 20, 1.5);
    uint8_t srcm[S * S];
    augment_flip(src, srcm, S, S);
    roll_target_render(srcm, mir, S, S, -20);
    augment_flip(mir, back, S, S);
    long diff = 0;
    for (int i = 0; i < S * S; i++)
        diff += abs(back[i] - dst[i]);
    CHECK_MSG(diff / (S * S) < 3, "mirror of the mirror turned back: mean difference %ld", diff / (S * S));
    /* The disc: corners filled, the centre untouched. */
    CHECK(dst[0] == dst[S * S - 1] && dst[S - 1] == dst[0]);
}

static void validation_set(void)
{
    roll_target t;
    roll_target_parse("roll:30:5", &t);
    const char *cls[2] = {"happy", "sad"};
    dataset *ds = dataset_create(S, S, cls, 2, 8);
    uint8_t src[S * S];
    bar(src);
    for (int i = 0; i < 8; i++)
        CHECK(dataset_push(ds, src, i % 2) == i);
    float *rolls = NULL;
    CHECK(roll_target_make_val(ds, &t, 3, &rolls) == 0);
    CHECK(ds->n_classes == 13 && !strcmp(ds->classes[0], "roll-30") && !strcmp(ds->classes[12], "roll+30"));
    for (int i = 0; rolls && i < 8; i++) {
        CHECK(fabs(rolls[i]) <= 30);
        CHECK(ds->labels[i] == roll_target_bin(&t, rolls[i]));
        CHECK_NEAR(axis(dataset_image(ds, i)), rolls[i], 1.5);
    }
    free(rolls);
    dataset_free(ds);
}

int main(void)
{
    parse_cases();
    names_and_estimate();
    samples();
    validation_set();
    return test_done("test_roll_target");
}
