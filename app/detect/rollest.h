/*
 * rollest.h - the roll net in the detector (issue 12, tilted heads).
 *
 * The Haar passes tell a face's roll only to within their angle band (the
 * pass angle is 7-12 degrees off on rolled faces, app/detect/README.md,
 * "Rolled faces, paired"); a small net trained by `emotion-train train
 * --target roll` (rollnet.h) reads the roll left in a crop levelled by the
 * roll known so far. Each face is cropped as the emotion crop is (centre,
 * side, turned by its roll) at the roll net's input size, masked to its
 * disc and blurred (rollnet_prepare), and all faces go through the net in
 * one batch.
 */
#ifndef ED_ROLLEST_H
#define ED_ROLLEST_H

#include <stdint.h>

#include "nn.h"

/* The rolls the detector keeps: a face is not turned further than this
 * either way (the roll net's own range is 30 degrees from the roll it is
 * given). */
#define ROLLEST_MAX 45.0f
/* A refined roll under this many degrees either way is taken as 0 (the
 * upright crop of before). The emotion model loses nothing to a roll of
 * up to 10 degrees, and the net reads upright faces some 5 degrees off:
 * on bench/roll_pairs.py's 416 faces (measured with the tracks keeping
 * the refined roll, a design not kept), without this upright faces were
 * classified 63.2% right against 65.0% without the net, with it 64.8%,
 * and rolled ones 64.7% against 63.0% (10 degrees: 64.4% and 63.9%). */
#define ROLLEST_LEVEL 7.0f

typedef struct rollest rollest;

/* A face to look at: the centre and side (frame pixels) of its square
 * crop, and the roll it is turned by (rollnet.h's convention). */
typedef struct rollest_face {
    float cx, cy, side, roll;
} rollest_face;

/* net stays the caller's and must outlive the estimator. NULL, with a
 * message in app_error(), when net is not a roll model (an emotion model
 * given as one) or does not take one gray channel. */
rollest *rollest_new(nn_net *net);
/* For each of faces[0..n) of the w x h gray frame, the roll left in its
 * crop into residual[i] (degrees; the face's roll is roll + residual).
 * 0, or -1 with a message in app_error(). */
int rollest_run(rollest *e, const uint8_t *gray, int w, int h, const rollest_face *faces, int n,
                float *residual);
void rollest_free(rollest *e);

/* Is net a roll model? 1 or 0. For the command line's checks. */
int rollest_is_roll_model(const nn_net *net);

#endif
