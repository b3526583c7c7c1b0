/* calibrate.h - fitting a model's probability calibration (nn_calib) on
 * validation faces, for `train` (after training) and `calibrate` (for an
 * existing model), and describing it. */
#ifndef ED_CALIBRATE_H
#define ED_CALIBRATE_H

#include "nn.h"

#include <stdio.h>

typedef enum { CALIBRATE_NONE, CALIBRATE_TEMPERATURE, CALIBRATE_VECTOR, CALIBRATE_AUTO } calibrate_mode;

/* "none", "temperature", "vector" or "auto". Returns 0, or -1 with
 * app_error() naming `opt` and the problem. */
int calibrate_parse_mode(const char *opt, const char *text, calibrate_mode *out);

/* One-line description of a net's calibration, e.g. "temperature 1.42",
 * "vector scaling", "none". Returns buf. */
const char *calibrate_describe(const nn_net *net, char *buf, size_t len);

/*
 * Replace net's calibration by one fitted on n preprocessed images x with
 * labels: a temperature, vector scaling (per-class scale and bias), or
 * with CALIBRATE_AUTO whichever of the two has the lower negative log-likelihood
 * in a two-fold cross-validation on these images (so vector scaling must
 * earn its extra parameters on faces it was not fitted on). CALIBRATE_NONE
 * removes it. Prints the choice and NLL and ECE (15 bins) before and after
 * to `log`. Returns 0, or -1 with app_error() saying why.
 */
int calibrate_fit_net(nn_net *net, const float *x, const int *labels, int n, calibrate_mode mode, FILE *log);

/* ECE with the 15 equal-width bins every report uses. */
#define CALIBRATE_ECE_BINS 15

#endif
