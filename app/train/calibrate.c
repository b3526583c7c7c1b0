/* calibrate.c - see calibrate.h. */
#include "calibrate.h"

#include "app_err.h"

#include <stdlib.h>
#include <string.h>

/* L2 pull of vector scaling towards the temperature (per parameter, on the
 * mean NLL): small, so a few thousand faces decide, yet it keeps a class
 * with few faces from wandering. */
#define CALIBRATE_L2 1e-3f

int calibrate_parse_mode(const char *opt, const char *text, calibrate_mode *out)
{
    static const struct { const char *name; calibrate_mode mode; } modes[] = {
        {"none", CALIBRATE_NONE}, {"temperature", CALIBRATE_TEMPERATURE}, {"vector", CALIBRATE_VECTOR}, {"auto", CALIBRATE_AUTO},
    };
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++)
        if (!strcmp(text, modes[i].name)) {
            *out = modes[i].mode;
            return 0;
        }
    app_fail("%s: '%s' is not none, temperature, vector or auto", opt, text);
    return -1;
}

const char *calibrate_describe(const nn_net *net, char *buf, size_t len)
{
    const nn_calib *c = nn_net_calib(net);
    if (c->kind == NN_CALIB_TEMPERATURE)
        snprintf(buf, len, "temperature %.4g", (double)nn_calib_temperature(c));
    else if (c->kind == NN_CALIB_VECTOR)
        snprintf(buf, len, "vector scaling (a scale and a bias per class)");
    else
        snprintf(buf, len, "none");
    return buf;
}

/* Logits of every image, uncalibrated. */
static float *all_logits(nn_net *net, const float *x, int n)
{
    int c, h, w, k = nn_net_n_classes(net);
    nn_net_input_shape(net, &c, &h, &w);
    const size_t per = (size_t)c * h * w;
    float *z = malloc((size_t)n * k * sizeof *z);
    if (!z)
        return NULL;
    const int B = 128;
    for (int b = 0; b < n; b += B) {
        int m = n - b < B ? n - b : B;
        const float *zb;
        if (!nn_net_forward(net, x + (size_t)b * per, m, 0) || !(zb = nn_net_logits(net))) {
            free(z);
            return NULL;
        }
        memcpy(z + (size_t)b * k, zb, (size_t)m * k * sizeof *z);
    }
    return z;
}

/* NLL and ECE of calibration c (NULL: none) on logits z. */
static void figures(const nn_calib *c, const float *z, const int *y, int n, int k, float *p, double *nll,
                    double *ece)
{
    nn_calib_probs(c, z, p, n, k);
    *nll = nn_nll(p, y, n, k);
    *ece = nn_ece(p, y, n, k, CALIBRATE_ECE_BINS);
}

/* Two-fold cross-validated NLL of fitting `kind`: fit on the even images,
 * score the odd ones, and the other way round. */
static int cv_nll(nn_calib_kind kind, const float *z, const int *y, int n, int k, double *out)
{
    int half[2] = {(n + 1) / 2, n / 2};
    float *zs[2] = {malloc((size_t)half[0] * k * sizeof(float)), malloc((size_t)half[1] * k * sizeof(float))};
    int *ys[2] = {malloc((size_t)half[0] * sizeof(int)), malloc((size_t)half[1] * sizeof(int))};
    float *p = malloc((size_t)half[0] * k * sizeof(float));
    int rc = -1;
    if (!zs[0] || !zs[1] || !ys[0] || !ys[1] || !p)
        goto out;
    for (int i = 0; i < n; i++) {
        memcpy(zs[i % 2] + (size_t)(i / 2) * k, z + (size_t)i * k, (size_t)k * sizeof(float));
        ys[i % 2][i / 2] = y[i];
    }
    double sum = 0;
    for (int f = 0; f < 2; f++) {
        nn_calib c;
        if (nn_calib_fit(&c, kind, zs[f], ys[f], half[f], k, CALIBRATE_L2))
            goto out;
        nn_calib_probs(&c, zs[1 - f], p, half[1 - f], k);
        sum += nn_nll(p, ys[1 - f], half[1 - f], k) * half[1 - f];
    }
    *out = sum / n;
    rc = 0;
out:
    free(zs[0]);
    free(zs[1]);
    free(ys[0]);
    free(ys[1]);
    free(p);
    return rc;
}

/* Vector scaling fits a bias per class: each needs this many faces. */
#define CALIBRATE_MIN_PER_CLASS 5

/* The class with the fewest labels, if it has fewer than the minimum; else -1. */
static int scarcest_class(const int *labels, int n, int k)
{
    int count[NN_MAX_CLASSES] = {0};
    for (int i = 0; i < n; i++)
        if (labels[i] >= 0 && labels[i] < k)
            count[labels[i]]++;
    int c = 0;
    for (int j = 1; j < k; j++)
        if (count[j] < count[c])
            c = j;
    return count[c] < CALIBRATE_MIN_PER_CLASS ? c : -1;
}

int calibrate_fit_net(nn_net *net, const float *x, const int *labels, int n, calibrate_mode mode, FILE *log)
{
    nn_net_set_calib(net, NULL);
    if (mode == CALIBRATE_NONE)
        return 0;
    const int k = nn_net_n_classes(net);
    if (n < 2 * k) {
        app_fail("calibration: %d validation images are too few for %d classes (it needs at "
                 "least %d, two a class)", n, k, 2 * k);
        return -1;
    }
    float *z = all_logits(net, x, n), *p = malloc((size_t)n * k * sizeof *p);
    int rc = -1;
    if (!z || !p) {
        app_fail("calibration: %s", z ? "out of memory" : nn_error());
        goto out;
    }
    nn_calib_kind kind = mode == CALIBRATE_VECTOR ? NN_CALIB_VECTOR : NN_CALIB_TEMPERATURE;
    /* A class scarce in these faces would get a bias fitted to its absence:
     * scaled down until the model never says it. A temperature cannot
     * change which class wins. */
    int scarce = scarcest_class(labels, n, k);
    if (scarce >= 0 && mode != CALIBRATE_TEMPERATURE) {
        int m = 0;
        for (int i = 0; i < n; i++)
            m += labels[i] == scarce;
        if (mode == CALIBRATE_VECTOR) {
            app_fail("calibration: class '%s' has %d of the %d faces; vector scaling needs at least %d "
                     "of every class (a temperature does not: --method temperature)",
                     nn_net_class(net, scarce), m, n, CALIBRATE_MIN_PER_CLASS);
            goto out;
        }
        fprintf(log, "calibration: class '%s' has %d of the %d faces, too few for vector scaling: a "
                     "temperature\n", nn_net_class(net, scarce), m, n);
        mode = CALIBRATE_TEMPERATURE;
    }
    if (mode == CALIBRATE_AUTO) {
        double cv_t, cv_v;
        if (cv_nll(NN_CALIB_TEMPERATURE, z, labels, n, k, &cv_t) ||
            cv_nll(NN_CALIB_VECTOR, z, labels, n, k, &cv_v)) {
            app_fail("calibration: %s", nn_error());
            goto out;
        }
        kind = cv_v < cv_t ? NN_CALIB_VECTOR : NN_CALIB_TEMPERATURE;
        fprintf(log, "calibration: cross-validated NLL %.4f with a temperature, %.4f with vector "
                     "scaling: %s\n", cv_t, cv_v, kind == NN_CALIB_VECTOR ? "vector scaling" : "temperature");
    }
    nn_calib c;
    if (nn_calib_fit(&c, kind, z, labels, n, k, CALIBRATE_L2) || nn_net_set_calib(net, &c)) {
        app_fail("calibration: %s", nn_error());
        goto out;
    }
    double nll0, ece0, nll1, ece1;
    figures(NULL, z, labels, n, k, p, &nll0, &ece0);
    figures(&c, z, labels, n, k, p, &nll1, &ece1);
    char what[96];
    fprintf(log, "calibration (%s) on %d validation faces: NLL %.4f -> %.4f, ECE %.4f -> %.4f\n",
            calibrate_describe(net, what, sizeof what), n, nll0, nll1, ece0, ece1);
    rc = 0;
out:
    free(z);
    free(p);
    return rc;
}
