/* calib.c - probability calibration stored with a model (see nn.h):
 * applying it at inference, fitting it to validation logits (a temperature
 * by a 1-D search, vector scaling by L-BFGS), and the figures that judge
 * it (negative log-likelihood, expected calibration error). */
#include "nn_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const nn_calib *nn_net_calib(const nn_net *net) { return &net->calib; }

static int ends_in_softmax(const nn_net *net)
{
    return net->n_layers >= 2 && net->layers[net->n_layers - 1].kind == NN_L_SOFTMAX;
}

int nn_net_set_calib(nn_net *net, const nn_calib *c)
{
    if (!c || c->kind == NN_CALIB_NONE) {
        memset(&net->calib, 0, sizeof net->calib);
        return 0;
    }
    if (c->kind != NN_CALIB_TEMPERATURE && c->kind != NN_CALIB_VECTOR)
        return nn_fail("calibration kind %d is not known", (int)c->kind);
    if (!ends_in_softmax(net))
        return nn_fail("calibration needs a net that ends in softmax");
    if (c->n_classes != net->n_classes)
        return nn_fail("calibration for %d classes, the net has %d", c->n_classes, net->n_classes);
    for (int j = 0; j < c->n_classes; j++)
        if (!(isfinite(c->scale[j]) && c->scale[j] > 0) || !isfinite(c->bias[j]))
            return nn_fail("calibration of class %d: scale %g, bias %g (want a finite scale > 0)", j,
                           (double)c->scale[j], (double)c->bias[j]);
    net->calib = *c;
    for (int j = c->n_classes; j < NN_MAX_CLASSES; j++)
        net->calib.scale[j] = net->calib.bias[j] = 0;
    return 0;
}

const float *nn_net_logits(const nn_net *net)
{
    if (!ends_in_softmax(net))
        return nn_fail_null("the net does not end in softmax");
    if (!net->act || !net->last_n)
        return nn_fail_null("no forward pass yet");
    return net->act[net->n_layers - 2];
}

float nn_calib_temperature(const nn_calib *c)
{
    if (!c || c->kind == NN_CALIB_NONE)
        return 1.0f;
    return c->kind == NN_CALIB_TEMPERATURE ? 1.0f / c->scale[0] : 0.0f;
}

void nn_calib_probs(const nn_calib *c, const float *z, float *p, int n, int k)
{
    const int on = c && c->kind != NN_CALIB_NONE;
    for (int i = 0; i < n; i++) {
        const float *zi = z + (size_t)i * k;
        float *pi = p + (size_t)i * k, m = -INFINITY, s = 0;
        for (int j = 0; j < k; j++) {
            pi[j] = on ? c->scale[j] * zi[j] + c->bias[j] : zi[j];
            if (pi[j] > m)
                m = pi[j];
        }
        for (int j = 0; j < k; j++)
            s += (pi[j] = expf(pi[j] - m));
        for (int j = 0; j < k; j++)
            pi[j] /= s;
    }
}

int nn_calib_forward(nn_net *net, int n)
{
    if (net->calib.kind == NN_CALIB_NONE || !ends_in_softmax(net))
        return 0;
    const int L = net->n_layers;
    nn_calib_probs(&net->calib, net->act[L - 2], net->act[L - 1], n, net->n_classes);
    return 1;
}

/* ---- figures ---------------------------------------------------------------- */

double nn_nll(const float *p, const int *y, int n, int k)
{
    double s = 0;
    for (int i = 0; i < n; i++) {
        float q = p[(size_t)i * k + y[i]];
        s -= log(q > 1e-30f ? q : 1e-30f);
    }
    s = n ? s / n : 0;
    return s > 0 ? s : 0; /* no -0 from probabilities that round to 1 */
}

double nn_ece(const float *p, const int *y, int n, int k, int bins)
{
    if (n <= 0 || bins <= 0)
        return 0;
    double *conf = calloc((size_t)bins, sizeof *conf), *hit = calloc((size_t)bins, sizeof *hit);
    int *count = calloc((size_t)bins, sizeof *count);
    double ece = 0;
    if (conf && hit && count) {
        for (int i = 0; i < n; i++) {
            const float *pi = p + (size_t)i * k;
            int top = 0;
            for (int j = 1; j < k; j++)
                if (pi[j] > pi[top])
                    top = j;
            int b = (int)(pi[top] * bins);
            b = b < 0 ? 0 : b >= bins ? bins - 1 : b;
            conf[b] += pi[top];
            hit[b] += top == y[i];
            count[b]++;
        }
        for (int b = 0; b < bins; b++)
            if (count[b])
                ece += fabs(hit[b] - conf[b]) / n; /* = |B|/n * |acc - conf| */
    } else {
        ece = NAN;
    }
    free(conf);
    free(hit);
    free(count);
    return ece;
}

/* ---- fitting ------------------------------------------------------------------ */

typedef struct fit_data {
    const float *z;
    const int *y;
    int n, k;
    double l2, a0; /* vector scaling: the pull towards scale a0, bias 0 */
} fit_data;

/* Mean NLL of the logits scaled by a[k] and shifted by b[k] (b NULL: none),
 * and when ga is not NULL its gradient in ga[k], gb[k]. */
static double nll_of(const fit_data *d, const double *a, const double *b, double *ga, double *gb)
{
    const int k = d->k;
    double q[NN_MAX_CLASSES], f = 0;
    if (ga) {
        memset(ga, 0, (size_t)k * sizeof *ga);
        memset(gb, 0, (size_t)k * sizeof *gb);
    }
    for (int i = 0; i < d->n; i++) {
        const float *zi = d->z + (size_t)i * k;
        double m = -INFINITY, s = 0;
        for (int j = 0; j < k; j++) {
            q[j] = a[j] * zi[j] + (b ? b[j] : 0);
            m = q[j] > m ? q[j] : m;
        }
        for (int j = 0; j < k; j++)
            s += (q[j] = exp(q[j] - m));
        const int yi = d->y[i];
        f += log(s) - log(q[yi]);
        if (ga)
            for (int j = 0; j < k; j++) {
                double r = q[j] / s - (j == yi);
                ga[j] += r * zi[j];
                gb[j] += r;
            }
    }
    f /= d->n;
    if (ga)
        for (int j = 0; j < k; j++) {
            ga[j] /= d->n;
            gb[j] /= d->n;
        }
    return f;
}

/* The objective of vector scaling on x = [a(k), b(k)], its gradient in g. */
static double vec_obj(const fit_data *d, const double *x, double *g)
{
    const int k = d->k;
    double f = nll_of(d, x, x + k, g, g + k);
    for (int j = 0; j < k; j++) {
        f += d->l2 * ((x[j] - d->a0) * (x[j] - d->a0) + x[k + j] * x[k + j]);
        g[j] += 2 * d->l2 * (x[j] - d->a0);
        g[k + j] += 2 * d->l2 * x[k + j];
    }
    return f;
}

static double temp_obj(const fit_data *d, double log_t)
{
    double a[NN_MAX_CLASSES];
    for (int j = 0; j < d->k; j++)
        a[j] = exp(-log_t);
    return nll_of(d, a, NULL, NULL, NULL);
}

/* NLL as a function of 1/T is convex, so of log T unimodal: golden-section
 * search over T in [0.05, 20] down to a relative width of about 1e-7. */
static double fit_temperature(const fit_data *d)
{
    const double g = 0.6180339887498949;
    double lo = log(0.05), hi = log(20.0);
    double x1 = hi - g * (hi - lo), x2 = lo + g * (hi - lo);
    double f1 = temp_obj(d, x1), f2 = temp_obj(d, x2);
    while (hi - lo > 1e-7) {
        if (f1 <= f2) {
            hi = x2;
            x2 = x1;
            f2 = f1;
            x1 = hi - g * (hi - lo);
            f1 = temp_obj(d, x1);
        } else {
            lo = x1;
            x1 = x2;
            f1 = f2;
            x2 = lo + g * (hi - lo);
            f2 = temp_obj(d, x2);
        }
    }
    return exp(0.5 * (lo + hi));
}

/* L-BFGS (memory M) with a backtracking (Armijo) line search on vec_obj,
 * from x[dim]. Convex and smooth, so this converges; the iteration cap
 * bounds the time on a pathological input. */
enum { LBFGS_M = 8, LBFGS_ITERS = 500 };

static void lbfgs(const fit_data *d, double *x, int dim)
{
    const size_t sz = (size_t)dim * sizeof(double);
    double *g = malloc(sz), *gn = malloc(sz), *xn = malloc(sz), *dir = malloc(sz);
    double *S = malloc(sz * LBFGS_M), *Y = malloc(sz * LBFGS_M), rho[LBFGS_M], alpha[LBFGS_M];
    if (!g || !gn || !xn || !dir || !S || !Y)
        goto out;
    double f = vec_obj(d, x, g);
    int stored = 0, head = 0;
    for (int it = 0; it < LBFGS_ITERS; it++) {
        double gmax = 0;
        for (int i = 0; i < dim; i++)
            gmax = fmax(gmax, fabs(g[i]));
        if (gmax < 1e-9)
            break;
        /* two-loop recursion: dir = -H g */
        for (int i = 0; i < dim; i++)
            dir[i] = -g[i];
        for (int m = 0; m < stored; m++) {
            int j = (head - 1 - m + LBFGS_M) % LBFGS_M;
            double s = 0;
            for (int i = 0; i < dim; i++)
                s += S[j * dim + i] * dir[i];
            alpha[j] = rho[j] * s;
            for (int i = 0; i < dim; i++)
                dir[i] -= alpha[j] * Y[j * dim + i];
        }
        double gamma = 1.0;
        if (stored) {
            int j = (head - 1 + LBFGS_M) % LBFGS_M;
            double sy = 0, yy = 0;
            for (int i = 0; i < dim; i++) {
                sy += S[j * dim + i] * Y[j * dim + i];
                yy += Y[j * dim + i] * Y[j * dim + i];
            }
            gamma = sy / yy;
        } else {
            gamma = 1.0 / fmax(gmax, 1e-3); /* a first step of modest length */
        }
        for (int i = 0; i < dim; i++)
            dir[i] *= gamma;
        for (int m = stored - 1; m >= 0; m--) {
            int j = (head - 1 - m + LBFGS_M) % LBFGS_M;
            double s = 0;
            for (int i = 0; i < dim; i++)
                s += Y[j * dim + i] * dir[i];
            double beta = rho[j] * s;
            for (int i = 0; i < dim; i++)
                dir[i] += S[j * dim + i] * (alpha[j] - beta);
        }
        double slope = 0;
        for (int i = 0; i < dim; i++)
            slope += g[i] * dir[i];
        if (slope >= 0) { /* not a descent direction: restart from the gradient */
            stored = 0;
            for (int i = 0; i < dim; i++)
                dir[i] = -g[i] / fmax(gmax, 1e-3);
            slope = 0;
            for (int i = 0; i < dim; i++)
                slope += g[i] * dir[i];
        }
        double step = 1, fn = f;
        int ok = 0;
        for (int ls = 0; ls < 40; ls++, step *= 0.5) {
            for (int i = 0; i < dim; i++)
                xn[i] = x[i] + step * dir[i];
            fn = vec_obj(d, xn, gn);
            if (fn <= f + 1e-4 * step * slope) {
                ok = 1;
                break;
            }
        }
        if (!ok)
            break;
        double sy = 0;
        for (int i = 0; i < dim; i++) {
            S[head * dim + i] = xn[i] - x[i];
            Y[head * dim + i] = gn[i] - g[i];
            sy += S[head * dim + i] * Y[head * dim + i];
        }
        if (sy > 1e-20) {
            rho[head] = 1.0 / sy;
            head = (head + 1) % LBFGS_M;
            stored = stored < LBFGS_M ? stored + 1 : LBFGS_M;
        }
        double df = f - fn;
        memcpy(x, xn, sz);
        memcpy(g, gn, sz);
        f = fn;
        if (df < 1e-13 * fmax(1.0, fabs(f)))
            break;
    }
out:
    free(g);
    free(gn);
    free(xn);
    free(dir);
    free(S);
    free(Y);
}

int nn_calib_fit(nn_calib *out, nn_calib_kind kind, const float *logits, const int *y, int n, int k,
                 float l2)
{
    memset(out, 0, sizeof *out);
    if (k < 1 || k > NN_MAX_CLASSES || n < 1)
        return nn_fail("calibration needs images (%d) and 1..%d classes (%d)", n, NN_MAX_CLASSES, k);
    if (kind != NN_CALIB_TEMPERATURE && kind != NN_CALIB_VECTOR)
        return nn_fail("calibration kind %d is not known", (int)kind);
    for (int i = 0; i < n; i++)
        if (y[i] < 0 || y[i] >= k)
            return nn_fail("label %d out of range 0..%d", y[i], k - 1);
    for (size_t i = 0; i < (size_t)n * k; i++)
        if (!isfinite(logits[i]))
            return nn_fail("logit %zu is not finite", i);
    fit_data d = {.z = logits, .y = y, .n = n, .k = k, .l2 = l2 > 0 ? l2 : 0};
    double t = fit_temperature(&d);
    out->n_classes = k;
    out->kind = kind;
    for (int j = 0; j < k; j++)
        out->scale[j] = (float)(1.0 / t);
    if (kind == NN_CALIB_VECTOR) {
        double x[2 * NN_MAX_CLASSES];
        d.a0 = 1.0 / t;
        for (int j = 0; j < k; j++) {
            x[j] = d.a0;
            x[k + j] = 0;
        }
        lbfgs(&d, x, 2 * k);
        for (int j = 0; j < k; j++) {
            /* a scale cannot usefully turn negative; keep it a valid file */
            out->scale[j] = (float)fmax(x[j], 1e-4);
            out->bias[j] = (float)x[k + j];
        }
    }
    return 0;
}
