/* pipeline.c - detection and classification of one frame; see pipeline.h. */
#include "pipeline.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "face.h"
#include "probs.h"

const char *const pl_stage_names[PL_N_STAGES] = {
    "read", "gray", "detect", "crop", "classify", "draw", "record", "log",
};

struct pipeline {
    nn_net *net;
    cvw_cascade *cascade;
    pl_cfg cfg;
    int in_w, in_h, k;
    trk_state trk;
    long frame;
    /* buffers, grown to the largest frame seen and then reused */
    uint8_t *gray;
    size_t gray_cap;
    uint8_t *small;
    size_t small_cap;
    uint8_t *face;      /* in_w * in_h */
    float *batch;       /* PL_MAX_FACES * in_w * in_h */
    float smoothed[PL_MAX_FACES * NN_MAX_CLASSES];
};

static int grow(uint8_t **p, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    uint8_t *q = realloc(*p, need);
    if (!q)
        return -1;
    *p = q;
    *cap = need;
    return 0;
}

pipeline *pl_new(nn_net *net, cvw_cascade *cascade, const pl_cfg *cfg, char *err, size_t errlen)
{
    int c, h, w;
    nn_net_input_shape(net, &c, &h, &w);
    if (c != 1) {
        snprintf(err, errlen, "the model takes %d-channel input; only grayscale models are supported", c);
        return NULL;
    }
    int k = nn_net_n_classes(net);
    if (k < 1 || k > NN_MAX_CLASSES || k > TRK_MAX_CLASSES) {
        snprintf(err, errlen, "the model has %d classes", k);
        return NULL;
    }
    pipeline *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->net = net;
    p->cascade = cascade;
    p->cfg = *cfg;
    if (p->cfg.detect_every < 1)
        p->cfg.detect_every = 1;
    if (p->cfg.max_faces < 1 || p->cfg.max_faces > PL_MAX_FACES)
        p->cfg.max_faces = PL_MAX_FACES;
    p->in_w = w;
    p->in_h = h;
    p->k = k;
    p->face = malloc((size_t)w * h);
    p->batch = malloc(sizeof(float) * PL_MAX_FACES * (size_t)w * h);
    if (!p->face || !p->batch) {
        pl_free(p);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pl_reset(p);
    return p;
}

void pl_reset(pipeline *p)
{
    /* A face must be missed on a few detections in a row before its track
     * (and its smoothed history) goes: Haar misses single frames. */
    trk_init(&p->trk, p->k, p->cfg.smooth, 0.3f, 3 * p->cfg.detect_every);
    p->frame = 0;
}

void pl_free(pipeline *p)
{
    if (!p)
        return;
    free(p->gray);
    free(p->small);
    free(p->face);
    free(p->batch);
    free(p);
}

int pl_process(pipeline *p, const uint8_t *bgr, int w, int h, pl_result *r,
               char *err, size_t errlen)
{
    double t = nn_now(), t1;
    r->n = 0;
    r->detected = 0;
    r->hint = NULL;
    for (int i = PL_GRAY; i <= PL_CLASSIFY; i++)
        r->ms[i] = 0;
    if (grow(&p->gray, &p->gray_cap, (size_t)w * h)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (cvw_bgr_to_gray(bgr, w, h, p->gray) != 0)
        goto cv_fail;

    cvw_rect found[PL_MAX_FACES];
    int n = 0;
    int detect = p->frame % p->cfg.detect_every == 0;
    p->frame++;
    if (detect) {
        /* Detect on a smaller copy: the detector's cost grows with the pixel
         * count, and faces big enough to classify survive the shrink. */
        double s = 1.0;
        int dw = w, dh = h;
        const uint8_t *img = p->gray;
        if (p->cfg.detect_width > 0 && w > p->cfg.detect_width) {
            s = (double)p->cfg.detect_width / w;
            dw = p->cfg.detect_width;
            dh = (int)lround(h * s);
            if (dh < 1)
                dh = 1;
        }
        if (grow(&p->small, &p->small_cap, (size_t)dw * dh)) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        if (s == 1.0)
            memcpy(p->small, p->gray, (size_t)w * h);
        else if (cvw_resize_gray(img, w, h, p->small, dw, dh) != 0)
            goto cv_fail;
        /* Equalizing makes the cascade less sensitive to lighting. */
        if (cvw_equalize_gray(p->small, dw, dh) != 0)
            goto cv_fail;
        t1 = nn_now();
        r->ms[PL_GRAY] = (t1 - t) * 1e3;
        t = t1;
        int min_side = (int)lround(p->cfg.min_face * (dw < dh ? dw : dh));
        int got = cvw_cascade_detect(p->cascade, p->small, dw, dh, p->cfg.scale_factor,
                                     p->cfg.min_neighbors, min_side, 0, found, p->cfg.max_faces);
        if (got < 0)
            goto cv_fail;
        n = got < p->cfg.max_faces ? got : p->cfg.max_faces;
        for (int i = 0; i < n; i++) {
            /* Back to source pixels, clamped to the frame. */
            int x0 = (int)lround(found[i].x / s), y0 = (int)lround(found[i].y / s);
            int x1 = (int)lround((found[i].x + found[i].w) / s);
            int y1 = (int)lround((found[i].y + found[i].h) / s);
            x0 = x0 < 0 ? 0 : x0;
            y0 = y0 < 0 ? 0 : y0;
            x1 = x1 > w ? w : x1;
            y1 = y1 > h ? h : y1;
            found[i] = (cvw_rect){x0, y0, x1 - x0, y1 - y0};
        }
        r->detected = 1;
        t1 = nn_now();
        r->ms[PL_DETECT] = (t1 - t) * 1e3;
        t = t1;
    } else {
        trk_box tb[PL_MAX_FACES];
        n = trk_visible(&p->trk, tb, p->cfg.max_faces);
        for (int i = 0; i < n; i++)
            found[i] = (cvw_rect){(int)tb[i].x, (int)tb[i].y, (int)tb[i].w, (int)tb[i].h};
        t1 = nn_now();
        r->ms[PL_GRAY] = (t1 - t) * 1e3;
        t = t1;
    }

    size_t per = (size_t)p->in_w * p->in_h;
    for (int i = 0; i < n; i++) {
        cvw_rect crop = face_crop_rect(found[i], w, h, p->cfg.margin, p->cfg.shift);
        if (cvw_crop_resize_gray(p->gray, w, h, crop, p->face, p->in_w, p->in_h) != 0)
            goto cv_fail;
        nn_preprocess_u8(p->net, p->face, p->batch + per * i);
        r->faces[i].box = found[i];
        r->faces[i].crop = crop;
    }
    t1 = nn_now();
    r->ms[PL_CROP] = (t1 - t) * 1e3;
    t = t1;

    const float *probs = NULL;
    if (n > 0) {
        /* One call for all faces: the engine batches them through each
         * layer, which costs less than n calls. */
        probs = nn_net_forward(p->net, p->batch, n, 0);
        if (!probs) {
            snprintf(err, errlen, "model: %s", nn_error());
            return -1;
        }
    }
    trk_box tb[PL_MAX_FACES];
    int ids[PL_MAX_FACES];
    for (int i = 0; i < n; i++)
        tb[i] = (trk_box){(float)found[i].x, (float)found[i].y, (float)found[i].w,
                          (float)found[i].h};
    /* Between detections the boxes are the tracks' own, so they continue
     * themselves; max_missed counts frames, detect_every of them per
     * detection. */
    if (detect || n > 0)
        trk_update(&p->trk, tb, probs ? probs : p->smoothed, n, ids, p->smoothed);
    for (int i = 0; i < n; i++) {
        pl_face *f = &r->faces[i];
        f->id = ids[i];
        memcpy(f->probs, p->smoothed + (size_t)i * p->k, sizeof(float) * (size_t)p->k);
        f->cls = probs_argmax(f->probs, p->k);
        f->conf = f->probs[f->cls];
        f->calibrated = 0;
    }
    r->n = n;
    r->ms[PL_CLASSIFY] = (nn_now() - t) * 1e3;
    return 0;

cv_fail:
    snprintf(err, errlen, "%s", cvw_error());
    return -1;
}
