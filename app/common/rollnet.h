/* rollnet.h - what makes a model a roll estimator (issue 12, tilted heads).
 *
 * A roll model is an ordinary classifier whose classes are bins of roll:
 * every class name is "roll" and the bin's centre in degrees with its sign
 * ("roll-30", ..., "roll+0", ..., "roll+30"). The roll is the angle of the
 * face's eye line in the crop, measured from the x axis towards the y axis
 * (image coordinates, y down: a positive roll runs down to the right), the
 * convention of cvw_warp_gray, so a crop turned by r whose estimate is e
 * shows a face rolled by r + e. The estimate is the probability-weighted
 * mean of the bin centres: continuous, where the bins are 5 degrees apart.
 * An emotion model has no such names, so neither kind passes for the
 * other. Pure C, no engine: names in, numbers out. */
#ifndef ED_ROLLNET_H
#define ED_ROLLNET_H

#include <stddef.h>

/* The class name of the bin centred on deg ("roll-30", "roll+0",
 * "roll+2.5"). Writes at most len bytes. */
void rollnet_bin_name(char *buf, size_t len, float deg);

/* If every one of names[0..k) is a bin name, their centres into
 * centres[0..k) and 1; else 0 (an emotion model). k < 2 is not a roll
 * model. */
int rollnet_centres(const char *const *names, int k, float *centres);

/* What the roll net sees of a face (both the trainer and the detector
 * call it, in place, before the model's own preprocessing): the crop
 * blurred by a 3x3 binomial filter, then only a centred disc of it
 * (radius ROLLNET_DISC of the shorter side), the rest filled with the
 * disc's mean.
 * - The blur: training faces are turned by bilinear sampling, which blurs
 *   them a little, while a crop shrunk from a frame is sharp; a net
 *   trained on turned faces read sharp ones worse (PublicTest faces not
 *   turned, so not resampled: mean error 7.3 degrees, turned by 2.5: 4.2
 *   and 4.5). Blurring every image makes both alike.
 * - The disc: training turns 48-pixel faces with their edges replicated,
 *   which draws streaks at the roll's angle in the corners, while a crop
 *   from a frame shows the background there: without the disc a net could
 *   read the streaks, a cue the detector's crops do not have. */
#define ROLLNET_DISC 0.45f
void rollnet_prepare(unsigned char *img, int w, int h);

/* The probability-weighted mean of the centres (probs need not sum to 1;
 * 0 when they sum to 0). */
float rollnet_estimate(const float *probs, const float *centres, int k);

#endif
