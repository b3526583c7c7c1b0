/* rollest.c - see rollest.h. */
#include "rollest.h"

#include <stdlib.h>

#include "app_err.h"
#include "cvw.h"
#include "rollnet.h"

struct rollest {
    nn_net *net;
    int k, w, h, cap;
    float centres[NN_MAX_CLASSES];
    uint8_t *face; /* w * h */
    float *batch;  /* cap * w * h */
};

static int centres_of(const nn_net *net, float *centres)
{
    int k = nn_net_n_classes(net);
    if (k < 2 || k > NN_MAX_CLASSES)
        return 0;
    const char *names[NN_MAX_CLASSES];
    for (int i = 0; i < k; i++)
        names[i] = nn_net_class(net, i);
    return rollnet_centres(names, k, centres);
}

int rollest_is_roll_model(const nn_net *net)
{
    float c[NN_MAX_CLASSES];
    return centres_of(net, c);
}

rollest *rollest_new(nn_net *net)
{
    rollest *e = calloc(1, sizeof *e);
    if (!e)
        return app_fail_null("out of memory");
    if (!centres_of(net, e->centres)) {
        free(e);
        return app_fail_null("not a roll model (its classes are not roll bins such as "
                             "roll-30 .. roll+30: train one with emotion-train train "
                             "--target roll)");
    }
    int c;
    nn_net_input_shape(net, &c, &e->h, &e->w);
    if (c != 1) {
        free(e);
        return app_fail_null("the roll model takes %d-channel input; only grayscale models "
                             "are supported", c);
    }
    e->net = net;
    e->k = nn_net_n_classes(net);
    e->face = malloc((size_t)e->w * e->h);
    if (!e->face) {
        rollest_free(e);
        return app_fail_null("out of memory");
    }
    return e;
}

void rollest_free(rollest *e)
{
    if (!e)
        return;
    free(e->face);
    free(e->batch);
    free(e);
}

int rollest_run(rollest *e, const uint8_t *gray, int w, int h, const rollest_face *faces, int n,
                float *residual)
{
    if (n <= 0)
        return 0;
    size_t per = (size_t)e->w * e->h;
    if (n > e->cap) {
        float *b = realloc(e->batch, sizeof *b * per * (size_t)n);
        if (!b)
            return app_fail("out of memory");
        e->batch = b;
        e->cap = n;
    }
    for (int i = 0; i < n; i++) {
        const rollest_face *f = &faces[i];
        if (cvw_warp_gray(gray, w, h, f->cx, f->cy, f->roll, f->side / e->w, e->face, e->w, e->h) !=
            0)
            return app_fail("%s", cvw_error());
        rollnet_prepare(e->face, e->w, e->h);
        nn_preprocess_u8(e->net, e->face, e->batch + per * i);
    }
    const float *p = nn_net_forward(e->net, e->batch, n, 0);
    if (!p)
        return app_fail("roll model: %s", nn_error());
    for (int i = 0; i < n; i++)
        residual[i] = rollnet_estimate(p + (size_t)i * e->k, e->centres, e->k);
    return 0;
}
