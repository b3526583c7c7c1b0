/* roll_target.h - `emotion-train train --target roll:MAX:STEP`: a roll
 * estimator trained from any face data set (issue 12, tilted heads).
 *
 * Every training image is turned by a fresh random roll, uniform in
 * [-MAX, MAX] degrees, each time it is drawn (through augment.c, edges
 * replicated, with the other augmentations but rotate, which the turn
 * replaces); the face data set's own labels are ignored. The classes are
 * bins STEP degrees apart over -MAX..MAX ("roll-30" ... "roll+30",
 * rollnet.h), and the target of a turn between two bin centres is split
 * between those two in proportion, so the expected bin centre under the
 * target is the turn itself (the estimate, rollnet_estimate, is that mean).
 * A flip, drawn before the turn, leaves the label as it is: the face is
 * mirrored upright, then turned (a flip after the turn would negate it).
 * The validation images are turned once, by seeded rolls. So no generated
 * image is stored anywhere. Roll angles follow rollnet.h: the eye line's
 * angle, x towards y (y down); augment.c turns counter-clockwise, so a
 * roll r is the turn -r there. */
#ifndef ED_ROLL_TARGET_H
#define ED_ROLL_TARGET_H

#include <stdint.h>

#include "augment.h"
#include "dataset.h"

typedef struct roll_target {
    float max, step; /* degrees */
    int bins;        /* 2 * max / step + 1 */
} roll_target;

/* "roll" (30:5) or "roll:MAX:STEP" with MAX / STEP whole, MAX <= 90, and
 * at most NN_MAX_CLASSES bins. 0, or -1 with app_error() saying why. */
int roll_target_parse(const char *s, roll_target *t);

/* Bin i's centre, -max + i * step. */
float roll_target_centre(const roll_target *t, int i);
/* The bin nearest to roll (clamped to the ends). */
int roll_target_bin(const roll_target *t, float roll);

/* dst (w x h): src rolled by roll degrees about its centre, nothing else
 * but rollnet_prepare. For the validation set and evaluation. */
void roll_target_render(const uint8_t *src, uint8_t *dst, int w, int h, float roll);

/* One training sample: a random roll in [-max, max], src augmented by cfg
 * (its rotate ignored), turned by it into dst and prepared as the net sees
 * it (rollnet_prepare); target[0..bins) the
 * split between the two nearest bins, *label the nearest. Returns the
 * roll. */
float roll_target_sample(const roll_target *t, const augment_cfg *cfg, const uint8_t *src,
                         uint8_t *dst, int w, int h, uint64_t *rng, float *target, int *label);

/* The data set's classes become the bins (labels: the middle bin, as the
 * real ones are drawn per sample). 0 or -1. */
int roll_target_relabel(dataset *ds, const roll_target *t);

/* A validation set: every image turned in place by a seeded roll in
 * [-max, max], labelled with its nearest bin; the rolls into *rolls
 * (malloc'd, ds->n). 0, or -1 when out of memory. */
int roll_target_make_val(dataset *ds, const roll_target *t, uint64_t seed, float **rolls);

#endif
