/* ensemble.c - see ensemble.h. */
#include "ensemble.h"

#include "app_err.h"
#include "cmd_common.h"

#include <stdlib.h>
#include <string.h>

void ensemble_free(ens *e)
{
    for (int m = 0; m < e->n; m++)
        nn_net_free(e->net[m]);
    free(e->list);
    memset(e, 0, sizeof *e);
}

int ensemble_load(ens *e, const char *list, int threads)
{
    memset(e, 0, sizeof *e);
    if (!(e->list = strdup(list))) {
        app_fail("out of memory");
        return -1;
    }
    for (char *p = e->list, *next; p; p = next) {
        next = strchr(p, ',');
        if (next)
            *next++ = 0;
        if (!*p) {
            app_fail("--model: empty name in '%s'", list);
            goto fail;
        }
        if (e->n == ENSEMBLE_MAX) {
            app_fail("--model: more than %d models", ENSEMBLE_MAX);
            goto fail;
        }
        nn_net *net = nn_net_load(p);
        if (!net) {
            app_fail("%s", nn_error());
            goto fail;
        }
        e->path[e->n] = p;
        e->net[e->n++] = net;
        if (nn_net_set_threads(net, threads)) {
            app_fail("--threads: %s", nn_error());
            goto fail;
        }
    }
    const nn_net *first = e->net[0];
    const int k = nn_net_n_classes(first);
    for (int m = 0; m < e->n; m++) {
        const char *names[NN_MAX_CLASSES];
        int km = nn_net_n_classes(e->net[m]);
        for (int j = 0; j < km; j++)
            names[j] = nn_net_class(e->net[m], j);
        for (int j = 0; j < k; j++) {
            e->map[m][j] = km == k ? dataset_class_find(names, km, nn_net_class(first, j)) : -1;
            if (e->map[m][j] < 0) {
                app_fail("%s: its classes are not those of %s", e->path[m], e->path[0]);
                goto fail;
            }
        }
    }
    return 0;
fail:
    ensemble_free(e);
    return -1;
}

int ensemble_classify(ens *e, const dataset *ds, const char *data, const char *split, int threads,
                 int views, ensemble_view_fn view_fn, float *probs)
{
    const int k = nn_net_n_classes(e->net[0]), n = ds->n;
    int rc = -1;
    float *x = NULL, *p = NULL;
    uint8_t *tmp = NULL;
    dataset *own = NULL;
    memset(probs, 0, (size_t)n * k * sizeof *probs);
    for (int m = 0; m < e->n; m++) {
        nn_net *net = e->net[m];
        int c, h, w;
        nn_net_input_shape(net, &c, &h, &w);
        const dataset *d = ds;
        if (w != ds->w || h != ds->h) {
            /* its own size: load again, and check the faces are the same */
            dataset_free(own);
            if (!(own = cmd_load_for_model(net, data, split, 0, threads, 1)))
                goto out;
            int same = own->n == n;
            for (int i = 0; same && i < n; i++)
                same = e->map[m][ds->labels[i]] == own->labels[i];
            if (!same) {
                app_fail("%s: %s loads as different faces at its input size %dx%d", e->path[m], data, w, h);
                goto out;
            }
            d = own;
        }
        const size_t per = (size_t)c * h * w;
        free(x);
        free(p);
        free(tmp);
        x = malloc((size_t)n * per * sizeof *x);
        p = malloc((size_t)n * k * sizeof *p);
        tmp = malloc((size_t)w * h);
        if (!x || !p || !tmp) {
            app_fail("out of memory for %d images", n);
            goto out;
        }
        for (int v = 0; v < views; v++) {
            for (int i = 0; i < n; i++) {
                const uint8_t *src = dataset_image(d, i);
                if (v > 0) {
                    view_fn(v, src, tmp, w, h);
                    src = tmp;
                }
                nn_preprocess_u8(net, src, x + (size_t)i * per);
            }
            if (cmd_classify(net, x, n, NULL, p, NULL, NULL)) {
                app_fail("%s: %s", e->path[m], nn_error());
                goto out;
            }
            const float share = 1.0f / (float)(views * e->n);
            for (int i = 0; i < n; i++)
                for (int j = 0; j < k; j++)
                    probs[(size_t)i * k + j] += p[(size_t)i * k + e->map[m][j]] * share;
        }
    }
    rc = 0;
out:
    free(x);
    free(p);
    free(tmp);
    dataset_free(own);
    return rc;
}
