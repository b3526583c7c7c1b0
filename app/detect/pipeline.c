/* pipeline.c - detection and classification of one frame; see pipeline.h.
 * The detector's passes (full frame, rotated, ROI windows) are in
 * pipeline_find.c. */
#include "pipeline.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_err.h"
#include "face.h"
#include "pipeline_impl.h"
#include "probs.h"

const char *const pipeline_stage_names[PIPELINE_N_STAGES] = {
    "read", "gray", "detect", "crop", "classify", "draw", "record", "log",
};

int pipeline__grow(uint8_t **p, size_t *cap, size_t need)
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

pipeline *pipeline_new(nn_net *net, cvw_cascade *cascade, const pipeline_cfg *cfg)
{
    int c, h, w;
    nn_net_input_shape(net, &c, &h, &w);
    if (c != 1)
        return app_fail_null("the model takes %d-channel input; only grayscale models are "
                             "supported", c);
    int k = nn_net_n_classes(net);
    if (k < 1 || k > NN_MAX_CLASSES || k > TRACK_MAX_CLASSES)
        return app_fail_null("the model has %d classes", k);
    pipeline *p = calloc(1, sizeof *p);
    if (!p)
        return app_fail_null("out of memory");
    p->net = net;
    p->cascade = cascade;
    p->cfg = *cfg;
    if (p->cfg.detect_every < 1)
        p->cfg.detect_every = 1;
    if (p->cfg.max_faces < 1 || p->cfg.max_faces > PIPELINE_MAX_FACES)
        p->cfg.max_faces = PIPELINE_MAX_FACES;
    if (!(p->cfg.still_min_face > 0))
        p->cfg.still_min_face = 0.04;
    /* A still has no frame budget: the finer step and stricter count that
     * video trades for speed (on the generated photos 1.15 with 3 found
     * 53.1% with 5 false boxes, 1.1 with 5 56.2% with none). */
    if (!(p->cfg.still_scale_factor > 1))
        p->cfg.still_scale_factor = 1.1;
    /* Video's turned passes scan every window position from the smallest
     * face up, twice, on each scene's first frame: at 1.25 they cost about
     * a fifth less than at the upright pass's 1.2; on the generated
     * footage faces found went from 65.9/55.4/56.9% to 66.5/56.6/55.0%
     * (3 neighbours; PIPELINE_TURN_NEIGHBORS since) (app/detect/README.md,
     * "Footage"). */
    if (!(p->cfg.turn_scale_factor > 1))
        p->cfg.turn_scale_factor = 1.25;
    if (p->cfg.turn_scale_factor < p->cfg.scale_factor)
        p->cfg.turn_scale_factor = p->cfg.scale_factor;
    if (p->cfg.still_min_neighbors < 1)
        p->cfg.still_min_neighbors = 5;
    if (!(p->cfg.roll_deg > 0))
        p->cfg.roll_deg = 25;
    if (!(p->cfg.cut_threshold > 0))
        p->cfg.cut_threshold = SCENE_CUT_DEFAULT;
    p->in_w = w;
    p->in_h = h;
    p->k = k;
    p->face = malloc((size_t)w * h);
    p->batch = malloc(sizeof(float) * 2 * PIPELINE_MAX_FACES * (size_t)w * h);
    if (!p->face || !p->batch) {
        pipeline_free(p);
        return app_fail_null("out of memory");
    }
    pipeline_reset(p);
    return p;
}

void pipeline_reset(pipeline *p)
{
    /* A face must be missed on a few detections in a row before its track
     * (and its smoothed history) goes: Haar misses single frames. */
    track_init(&p->trk, p->k, p->cfg.smooth, 0.3f, 3 * p->cfg.detect_every);
    scene_init(&p->scene, p->cfg.cut_threshold);
    p->frame = 0;
    p->since_full = 0;
    p->n_full = 0;
    p->scene_start = 1;
    p->lost = 0;
    p->since_fine = 0;
}

/* A new scene inside a video or a new image: fresh tracks, ids counting on. */
static void new_scene(pipeline *p)
{
    track_forget(&p->trk);
    p->scene_start = 1;
    p->lost = 0;
}

void pipeline_set_confirm_cascades(pipeline *p, cvw_cascade *alt, cvw_cascade *eyes)
{
    p->alt = alt && eyes ? alt : NULL;
    p->eyes = alt && eyes ? eyes : NULL;
}

int pipeline_set_roll_net(pipeline *p, nn_net *roll)
{
    rollest_free(p->rollnet);
    p->rollnet = NULL;
    if (!roll)
        return 0;
    p->rollnet = rollest_new(roll);
    return p->rollnet ? 0 : -1;
}

void pipeline_free(pipeline *p)
{
    if (!p)
        return;
    rollest_free(p->rollnet);
    free(p->gray);
    free(p->small);
    free(p->rot);
    free(p->fine);
    free(p->face);
    free(p->batch);
    free(p);
}

/* The turned crop of box b: its centre (moved up by the framing's shift,
 * along the face's own up) and side. */
static rollest_face turned_crop(const pipeline *p, track_box b)
{
    float side = (1 + p->cfg.margin) * (b.w > b.h ? b.w : b.h);
    float a = b.roll * (float)M_PI / 180, up = p->cfg.shift * b.w;
    return (rollest_face){b.x + b.w / 2 + up * sinf(a), b.y + b.h / 2 - up * cosf(a), side, b.roll};
}

/* The crop of box b, framed as the training faces are: upright through the
 * resize (the old path, bit for bit), rolled through a turned window. */
static int crop_face(pipeline *p, int w, int h, track_box b, float *in, cvw_rect *crop)
{
    cvw_rect box = {(int)lroundf(b.x), (int)lroundf(b.y), (int)lroundf(b.w), (int)lroundf(b.h)};
    *crop = face_crop_rect(box, w, h, p->cfg.margin, p->cfg.shift);
    if (b.roll == 0) {
        if (cvw_crop_resize_gray(p->gray, w, h, *crop, p->face, p->in_w, p->in_h) != 0)
            return app_fail("%s", cvw_error());
    } else {
        /* Turned so the eyes are level: FER2013's faces are upright. */
        rollest_face t = turned_crop(p, b);
        if (cvw_warp_gray(p->gray, w, h, t.cx, t.cy, b.roll, t.side / p->in_w, p->face, p->in_w,
                          p->in_h) != 0)
            return app_fail("%s", cvw_error());
    }
    nn_preprocess_u8(p->net, p->face, in);
    return 0;
}

/* The roll each face's crop is levelled by, into level[0..n): its own
 * (the pass's angle, 0 for the upright pass) plus what the roll net
 * reads left in the crop turned by it (rollest.h); under ROLLEST_LEVEL it
 * is taken as 0, upright. The passes know a face's roll only to within
 * the cascade's band of some 25 degrees either way. The boxes keep their
 * own roll, so the tracks' ROI windows are turned as without the net:
 * turned by the refined roll they found fewer faces and more false boxes
 * on generated footage (app/detect/README.md, "Rolled faces, paired"). */
static int level_rolls(pipeline *p, int w, int h, const track_box *found, int n, float *level)
{
    for (int i = 0; i < n; i++)
        level[i] = found[i].roll;
    if (!p->rollnet || n <= 0 || (p->cfg.without & (PIPELINE_NO_ROLL | PIPELINE_NO_ROLLNET)))
        return 0;
    rollest_face f[PIPELINE_MAX_FACES];
    float res[PIPELINE_MAX_FACES];
    for (int i = 0; i < n; i++)
        f[i] = turned_crop(p, found[i]);
    if (rollest_run(p->rollnet, p->gray, w, h, f, n, res) != 0)
        return -1;
    for (int i = 0; i < n; i++) {
        float roll = found[i].roll + res[i];
        if (fabsf(roll) < ROLLEST_LEVEL)
            roll = 0;
        level[i] = roll > ROLLEST_MAX ? ROLLEST_MAX : roll < -ROLLEST_MAX ? -ROLLEST_MAX : roll;
    }
    return 0;
}

/* How this frame's faces are seen: ONE, BOTH or ALTERNATE. */
static pipeline_views frame_views(const pipeline *p, int still)
{
    pipeline_views v = p->cfg.views;
    /* Images gained from both views on every set measured; video, with
     * alternate frames or both views, gained on some generated sets and
     * lost on others (app/detect/README.md, "Mirror views"), so it keeps
     * one view and its frame budget. */
    if (v == PIPELINE_VIEWS_AUTO)
        v = still ? PIPELINE_VIEWS_BOTH : PIPELINE_VIEWS_ONE;
    if (v == PIPELINE_VIEWS_ALTERNATE && still)
        v = PIPELINE_VIEWS_ONE; /* nothing to average over */
    return v;
}

/* Mirrors a preprocessed w x h input left to right, in place. Equalization
 * is per crop and mirror-blind, so this is the mirrored crop's input. */
static void mirror_input(float *x, int w, int h)
{
    for (int y = 0; y < h; y++, x += w)
        for (int i = 0, j = w - 1; i < j; i++, j--) {
            float t = x[i];
            x[i] = x[j];
            x[j] = t;
        }
}

/* One forward pass over the n faces in p->batch as v asks: the faces (or,
 * mirrored, their mirrors), or both (the mean of each face's two). The
 * probabilities, n x k, or NULL with a message. */
static const float *forward_views(pipeline *p, int n, pipeline_views v, int mirrored)
{
    size_t per = (size_t)p->in_w * p->in_h;
    if (v == PIPELINE_VIEWS_BOTH) {
        memcpy(p->batch + per * n, p->batch, sizeof(float) * per * n);
        for (int i = 0; i < n; i++)
            mirror_input(p->batch + per * (n + i), p->in_w, p->in_h);
    } else if (mirrored) {
        for (int i = 0; i < n; i++)
            mirror_input(p->batch + per * i, p->in_w, p->in_h);
    }
    int m = v == PIPELINE_VIEWS_BOTH ? 2 * n : n;
    const float *probs = nn_net_forward(p->net, p->batch, m, 0);
    if (!probs) {
        app_fail("model: %s", nn_error());
        return NULL;
    }
    if (v != PIPELINE_VIEWS_BOTH)
        return probs;
    size_t nk = (size_t)n * p->k;
    for (size_t j = 0; j < nk; j++)
        p->averaged[j] = 0.5f * (probs[j] + probs[nk + j]);
    return p->averaged;
}

/* Rolls refined, crops, one forward pass for all faces, tracks; fills r's
 * faces. */
static int classify(pipeline *p, int w, int h, const track_box *found, int n, int update,
                    int still, pipeline_result *r)
{
    size_t per = (size_t)p->in_w * p->in_h;
    double t = nn_now();
    float level[PIPELINE_MAX_FACES];
    if (level_rolls(p, w, h, found, n, level) != 0)
        return -1;
    for (int i = 0; i < n; i++) {
        track_box b = found[i];
        b.roll = level[i];
        if (crop_face(p, w, h, b, p->batch + per * i, &r->faces[i].crop) != 0)
            return -1;
        r->faces[i].box = (cvw_rect){(int)lroundf(b.x), (int)lroundf(b.y), (int)lroundf(b.w),
                                     (int)lroundf(b.h)};
        r->faces[i].roll = level[i];
    }
    double t1 = nn_now();
    r->ms[PIPELINE_CROP] = (t1 - t) * 1e3;
    t = t1;

    const float *probs = NULL;
    if (n > 0) {
        /* One call for all faces (the engine batches them through each
         * layer, which costs less than n calls). Alternate views start a
         * scene with the face as it is, so a new face after a cut gets
         * the probabilities it gets on its own. */
        pipeline_views v = frame_views(p, still);
        probs = forward_views(p, n, v, v == PIPELINE_VIEWS_ALTERNATE && p->scene_frame % 2 == 0);
        if (!probs)
            return -1;
    }
    int ids[PIPELINE_MAX_FACES];
    if (update)
        track_update(&p->trk, found, probs ? probs : p->smoothed, n, ids, p->smoothed);
    for (int i = 0; i < n; i++) {
        pipeline_face *f = &r->faces[i];
        f->id = ids[i];
        memcpy(f->probs, p->smoothed + (size_t)i * p->k, sizeof(float) * (size_t)p->k);
        f->cls = probs_argmax(f->probs, p->k);
        f->conf = f->probs[f->cls];
        f->calibrated = 0;
    }
    r->n = n;
    r->ms[PIPELINE_CLASSIFY] = (nn_now() - t) * 1e3;
    return 0;
}

static void clear(pipeline_result *r)
{
    r->n = 0;
    r->detected = 0;
    r->roi = 0;
    r->cut = 0;
    r->hint = NULL;
    for (int i = PIPELINE_GRAY; i <= PIPELINE_CLASSIFY; i++)
        r->ms[i] = 0;
}

static int to_gray(pipeline *p, const uint8_t *bgr, int w, int h)
{
    if (pipeline__grow(&p->gray, &p->gray_cap, (size_t)w * h))
        return app_fail("out of memory");
    if (cvw_bgr_to_gray(bgr, w, h, p->gray) != 0)
        return app_fail("%s", cvw_error());
    return 0;
}

/* Between full passes: each followed face looked for around its last box.
 * A face not found there keeps its box for this frame, and the next frame
 * gets a full pass. */
static int follow(pipeline *p, int w, int h, track_box *found, int *n, pipeline_result *r)
{
    track_box tb[PIPELINE_MAX_FACES];
    int m = track_visible(&p->trk, tb, p->cfg.max_faces);
    *n = 0;
    for (int i = 0; i < m; i++) {
        if (p->cfg.without & PIPELINE_NO_ROI) {
            found[(*n)++] = tb[i];
            continue;
        }
        track_box b;
        int got = pipeline__roi_find(p, w, h, tb[i], 1, &b);
        r->roi++;
        if (got < 0)
            return -1;
        if (!got) {
            p->lost = 1;
            b = tb[i];
        }
        found[(*n)++] = b;
    }
    return 0;
}

/* After a full pass in mid scene: each face followed until now
 * (vis[0..n_vis)) that the pass did not find (found[0..*n)) is looked for
 * in its window, with the turns of follow(), before its track is let go;
 * found there, its box joins the pass's. Most full passes have no turned
 * passes, so a followed head that rolls past the upright cascade's reach
 * was dropped by the next one and found again only by a later turned pass
 * (on bench/roll_pairs.py's 416 faces, a face upright, then rolled in
 * place: 206 more face-frames missed than the other way round). With the
 * look, rolled faces there were found 60.7% of face-frames against 56.9%,
 * upright ones 67.4% as before, and on the three footage sets of
 * bench/detect_footage.py more faces (53.3% to 55.4%, 54.9% to 56.9%,
 * 62.5% to 65.9%) with no more false boxes (app/detect/README.md,
 * "Rolled faces, paired"). It runs only when a full pass misses a followed
 * face: 4-11 times in 96-384 frames of that footage. */
static int keep_followed(pipeline *p, int w, int h, const track_box *vis, int n_vis,
                         track_box *found, int *n, pipeline_result *r)
{
    for (int i = 0; i < n_vis && *n < p->cfg.max_faces; i++) {
        int seen = 0;
        for (int j = 0; j < *n && !seen; j++)
            seen = track_iou(vis[i], found[j]) >= p->trk.iou_min;
        if (seen)
            continue;
        track_box b;
        int got = pipeline__roi_find(p, w, h, vis[i], 1, &b);
        r->roi++;
        if (got < 0)
            return -1;
        if (!got)
            continue;
        for (int j = 0; j < *n && got; j++)
            got = track_iou(b, found[j]) < p->trk.iou_min;
        if (got)
            found[(*n)++] = b;
    }
    return 0;
}

int pipeline_process(pipeline *p, const uint8_t *bgr, int w, int h, pipeline_result *r)
{
    double t = nn_now(), t1;
    clear(r);
    if (to_gray(p, bgr, w, h) != 0)
        return -1;
    if (!(p->cfg.without & PIPELINE_NO_CUTS)) {
        int cut = pipeline__scene_cut(p, w, h);
        if (cut < 0)
            return -1;
        if (cut) {
            new_scene(p);
            r->cut = 1;
        }
    }
    t1 = nn_now();
    r->ms[PIPELINE_GRAY] = (t1 - t) * 1e3;
    t = t1;

    track_box vis[PIPELINE_MAX_FACES], found[PIPELINE_MAX_FACES];
    int n_vis = track_visible(&p->trk, vis, PIPELINE_MAX_FACES);
    int search = n_vis == 0 && p->since_full + 1 >= PIPELINE_SEARCH_EVERY;
    int full = p->scene_start || p->since_full + 1 >= p->cfg.detect_every ||
               (!(p->cfg.without & PIPELINE_NO_ROI) && (search || p->lost));
    if (p->cfg.without & PIPELINE_NO_ROI)
        full = p->frame % p->cfg.detect_every == 0 || p->scene_start;
    p->frame++;
    p->scene_frame = p->scene_start ? 1 : p->scene_frame + 1;
    p->since_fine++;
    int n = 0;
    if (full) {
        /* The detection copy is made only for a full pass. */
        int dw, dh;
        double s;
        if (pipeline__small(p, w, h, p->cfg.detect_width, &dw, &dh, &s) != 0)
            return -1;
        p->lost = 0;
        n = pipeline__full_pass(p, w, h, dw, dh, s, 0, found, p->cfg.max_faces);
        if (n < 0)
            return -1;
        if (!(p->cfg.without & PIPELINE_NO_ROI) &&
            keep_followed(p, w, h, vis, n_vis, found, &n, r) != 0)
            return -1;
        r->detected = 1;
        p->since_full = 0;
        p->n_full++;
    } else {
        p->since_full++;
        if (follow(p, w, h, found, &n, r) != 0)
            return -1;
    }
    p->scene_start = 0;
    /* Frames that reuse the tracked boxes ran no detector at all. */
    r->ms[full || r->roi ? PIPELINE_DETECT : PIPELINE_GRAY] += (nn_now() - t) * 1e3;
    /* Between detections the boxes are the tracks' own, so they continue
     * themselves; max_missed counts frames, detect_every of them per
     * detection. */
    int update = full || n > 0;
    return classify(p, w, h, found, n, update, 0, r);
}

int pipeline_process_still(pipeline *p, const uint8_t *bgr, int w, int h, pipeline_result *r)
{
    double t = nn_now(), t1;
    clear(r);
    new_scene(p);
    if (to_gray(p, bgr, w, h) != 0)
        return -1;
    int dw, dh;
    double s;
    if (pipeline__small(p, w, h, 0, &dw, &dh, &s) != 0)
        return -1;
    t1 = nn_now();
    r->ms[PIPELINE_GRAY] = (t1 - t) * 1e3;
    t = t1;
    track_box found[PIPELINE_MAX_FACES];
    int n = pipeline__full_pass(p, w, h, dw, dh, s, 1, found, p->cfg.max_faces);
    if (n < 0)
        return -1;
    r->detected = 1;
    r->cut = 1;
    p->scene_start = 1; /* whatever comes next starts afresh too */
    r->ms[PIPELINE_DETECT] = (nn_now() - t) * 1e3;
    return classify(p, w, h, found, n, 1, 1, r);
}
