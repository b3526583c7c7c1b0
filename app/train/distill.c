/* distill.c - see distill.h. */
#include "distill.h"

#include "app_err.h"
#include "dataset.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int distill_parse(const char *text, float *t, float *alpha)
{
    char *end;
    double tv = strtod(text, &end), av = 0.5;
    if (end == text || !(tv > 0 && tv <= 100))
        goto bad;
    if (*end == ':') {
        const char *a = end + 1;
        av = strtod(a, &end);
        if (end == a || !(av >= 0 && av <= 1))
            goto bad;
    }
    if (*end)
        goto bad;
    *t = (float)tv;
    *alpha = (float)av;
    return 0;
bad:
    app_fail("--distill: '%s' is not T[:ALPHA] with 0 < T <= 100 and 0 <= ALPHA <= 1", text);
    return -1;
}

void distill_close(distill *d)
{
    for (int m = 0; m < d->n; m++)
        nn_net_free(d->net[m]);
    free(d->x);
    free(d->q);
    memset(d, 0, sizeof *d);
}

int distill_open(distill *d, const char *list, const nn_net *student, int threads, int batch, float t,
                 float alpha)
{
    memset(d, 0, sizeof *d);
    d->t = t;
    d->alpha = alpha;
    char *copy = strdup(list);
    if (!copy) {
        app_fail("out of memory");
        return -1;
    }
    int c, h, w, k = nn_net_n_classes(student);
    nn_net_input_shape(student, &c, &h, &w);
    for (char *p = copy, *next; p; p = next) {
        next = strchr(p, ',');
        if (next)
            *next++ = 0;
        if (d->n == DISTILL_MAX) {
            app_fail("--teacher: more than %d models", DISTILL_MAX);
            goto fail;
        }
        nn_net *net = *p ? nn_net_load(p) : NULL;
        if (!net) {
            app_fail("--teacher: %s", *p ? nn_error() : "empty model name");
            goto fail;
        }
        d->net[d->n++] = net;
        int tc, th, tw, km = nn_net_n_classes(net);
        nn_net_input_shape(net, &tc, &th, &tw);
        if (tc != c || th != h || tw != w || nn_net_preproc_c(net)->equalize != nn_net_preproc_c(student)->equalize) {
            app_fail("--teacher %s: input %dx%dx%d%s, the student's %dx%dx%d%s: they must agree", p, tw, th, tc,
                   nn_net_preproc_c(net)->equalize ? " equalized" : "", w, h, c,
                   nn_net_preproc_c(student)->equalize ? " equalized" : "");
            goto fail;
        }
        const char *names[NN_MAX_CLASSES];
        for (int j = 0; j < km; j++)
            names[j] = nn_net_class(net, j);
        for (int j = 0; j < k; j++) {
            d->map[d->n - 1][j] = km == k ? dataset_class_find(names, km, nn_net_class(student, j)) : -1;
            if (d->map[d->n - 1][j] < 0) {
                app_fail("--teacher %s: its classes are not the training data's", p);
                goto fail;
            }
        }
        if (nn_net_set_threads(net, threads)) {
            app_fail("--threads: %s", nn_error());
            goto fail;
        }
    }
    d->cap = batch;
    d->x = malloc((size_t)batch * c * h * w * sizeof *d->x);
    d->q = malloc((size_t)batch * k * sizeof *d->q);
    if (!d->x || !d->q) {
        app_fail("out of memory");
        goto fail;
    }
    free(copy);
    return 0;
fail:
    free(copy);
    distill_close(d);
    return -1;
}

int distill_batch(distill *d, const nn_net *student, const float *x, int n)
{
    int c, h, w, k = nn_net_n_classes(student);
    nn_net_input_shape(student, &c, &h, &w);
    const size_t len = (size_t)n * c * h * w;
    const nn_preproc *sp = nn_net_preproc_c(student);
    memset(d->q, 0, (size_t)n * k * sizeof *d->q);
    for (int m = 0; m < d->n; m++) {
        /* pixel = (x - bias_s) / scale_s, teacher input = pixel * scale_t + bias_t */
        const nn_preproc *tp = nn_net_preproc_c(d->net[m]);
        const float a = tp->scale / sp->scale, b = tp->bias - sp->bias * a;
        for (size_t i = 0; i < len; i++)
            d->x[i] = a * x[i] + b;
        const float *z;
        if (!nn_net_forward(d->net[m], d->x, n, 0) || !(z = nn_net_logits(d->net[m]))) {
            app_fail("--teacher: %s", nn_error());
            return -1;
        }
        const int km = nn_net_n_classes(d->net[m]);
        for (int i = 0; i < n; i++) {
            const float *zi = z + (size_t)i * km;
            float mx = -INFINITY, s = 0, e[NN_MAX_CLASSES];
            for (int j = 0; j < km; j++)
                mx = zi[j] > mx ? zi[j] : mx;
            for (int j = 0; j < km; j++)
                s += e[j] = expf((zi[j] - mx) / d->t);
            for (int j = 0; j < k; j++)
                d->q[(size_t)i * k + j] += e[d->map[m][j]] / s / (float)d->n;
        }
    }
    return 0;
}
