/* test_detect_footage.c - the pipeline (app/detect/pipeline.c) on footage
 * that is not the demo clip: frames built here from the committed
 * astronaut picture (facegen.c), placed, turned and mirrored at known
 * positions over two different backgrounds.
 * - Rolled heads: faces turned by +-28 degrees are found (by the turned
 *   passes: without them at least one is missed) and their roll reported;
 *   a followed face that rolls by +-28 degrees in mid scene is kept through
 *   a full pass without turned passes (found in its window), one id, while
 *   a face that leaves is let go by that pass.
 * - ROI re-detection: a face moving through frames without full-frame
 *   passes is followed, box on the face on every frame, one id (without
 *   ROI the stale box falls off the face).
 * - Scene cuts: a cut to another face at the same place starts a new
 *   track whose probabilities are unsmoothed (without the cut test the
 *   new face inherits the old id and a mix of both faces' probabilities).
 * - Searching: with no face followed, a full pass runs every second frame
 *   (not every frame); a face that appears is found on the next one and
 *   then followed by ROI windows (with a coarse full-pass step, which the
 *   windows do not take).
 * - Small faces: a face under the detection copy's reach is found by the
 *   finer pass on a scene's first frame, and in mid scene when that pass
 *   is next due (not before, not without it).
 * - Stills: each image of a sequence gives exactly what it gives alone
 *   (with their own pyramid step, not video's),
 *   ids are never shared between images, tiny and blank images give none.
 * - Mirror views: both views give the mean of what alternate frames give
 *   (the first of a scene as it is); auto picks both for stills, one
 *   view for video.
 * - The second look's vote (pipeline_set_confirm_cascades): faces upright,
 *   mirrored and rolled are shown on the frame they first appear (also
 *   when they come in mid scene, within two frames); busy
 *   face-free frames show nothing; with one of its cascades missing the
 *   pipeline gives exactly what it gives without them.
 * Needs assets/astronaut.png and the Haar cascade under $NN_TEST_SRCDIR,
 * and for the vote OpenCV's cascades (opencv-data) under ED_HAAR_DIR. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_err.h"
#include "face.h"
#include "facegen.h"
#include "nn.h"
#include "pipeline.h"
#include "rollest.h"
#include "testutil.h"

#define W 640
#define H 480

static const fg_scene *pic; /* the astronaut crop, BGR */

/* Two backgrounds nothing like a face: a smooth gradient, and a darker
 * one with coarse blocks (so a cut between them changes the whole frame). */
static void background(uint8_t *bgr, int w, int h, int kind)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = bgr + ((size_t)y * w + x) * 3;
            int v = kind == 0 ? 90 + 60 * x / w : 30 + 50 * (((x / 40) + (y / 40)) % 3);
            p[0] = p[1] = p[2] = (uint8_t)v;
        }
}

/* The picture scaled to side pixels, turned by deg (the eye line's angle,
 * y down) and optionally mirrored, centred at (cx, cy). The true face box
 * (upright, around the turned face's centre) goes to *face. */
static void place(uint8_t *bgr, int w, int h, double cx, double cy, double side, double deg,
                  int mirror, cvw_rect *face)
{
    double a = deg * M_PI / 180, c = cos(a), s = sin(a), k = side / pic->pw;
    int r = (int)ceil(side * 0.75);
    for (int y = (int)cy - r; y <= (int)cy + r; y++)
        for (int x = (int)cx - r; x <= (int)cx + r; x++) {
            if (x < 0 || y < 0 || x >= w || y >= h)
                continue;
            double dx = x - cx, dy = y - cy;
            double u = (c * dx + s * dy) / k, v = (-s * dx + c * dy) / k;
            if (mirror)
                u = -u;
            int px = (int)lround(u + pic->pw / 2.0), py = (int)lround(v + pic->ph / 2.0);
            if (px < 0 || py < 0 || px >= pic->pw || py >= pic->ph)
                continue;
            memcpy(bgr + ((size_t)y * w + x) * 3, pic->pic + ((size_t)py * pic->pw + px) * 3, 3);
        }
    double fx = (pic->face.x + pic->face.w / 2.0 - pic->pw / 2.0) * k;
    double fy = (pic->face.y + pic->face.h / 2.0 - pic->ph / 2.0) * k;
    if (mirror)
        fx = -fx;
    double fcx = cx + c * fx - s * fy, fcy = cy + s * fx + c * fy, fs = pic->face.w * k;
    *face = (cvw_rect){(int)lround(fcx - fs / 2), (int)lround(fcy - fs / 2), (int)lround(fs),
                       (int)lround(fs)};
}

static pipeline_cfg cfg_base(void)
{
    return (pipeline_cfg){.scale_factor = 1.1, .min_neighbors = 5, .min_face = 0.1,
                          .detect_width = 320, .detect_every = 4, .max_faces = 8,
                          .margin = FACE_HAAR_MARGIN, .shift = FACE_HAAR_SHIFT, .smooth = 0.6f};
}

/* Box centre within frac of the true face's side from the true centre. */
static int near(cvw_rect b, cvw_rect t, double frac)
{
    double dx = (b.x + b.w / 2.0) - (t.x + t.w / 2.0), dy = (b.y + b.h / 2.0) - (t.y + t.h / 2.0);
    return sqrt(dx * dx + dy * dy) <= frac * t.w && fabs((double)b.w / t.w - 1) <= 0.35;
}

static const pipeline_face *on(const pipeline_result *r, cvw_rect t, double frac)
{
    for (int i = 0; i < r->n; i++)
        if (near(r->faces[i].box, t, frac))
            return &r->faces[i];
    return NULL;
}

static void test_roll(nn_net *net, cvw_cascade *cas, uint8_t *bgr)
{
    static const double deg[2] = {28, -28};
    cvw_rect t[2];
    background(bgr, W, H, 0);
    place(bgr, W, H, 160, 240, 260, deg[0], 0, &t[0]);
    place(bgr, W, H, 480, 240, 260, deg[1], 0, &t[1]);
    static pipeline_result r;
    for (int with = 0; with < 3; with++) {
        pipeline_cfg cfg = cfg_base();
        cfg.without = with ? 0 : PIPELINE_NO_ROLL;
        if (with == 2) /* the turned passes' own step, too coarse for these faces */
            cfg.turn_scale_factor = 3.5;
        pipeline *p = pipeline_new(net, cas, &cfg);
        CHECK_MSG(p && pipeline_process(p, bgr, W, H, &r) == 0, "%s", app_error());
        int found = 0;
        for (int j = 0; j < 2; j++) {
            const pipeline_face *f = on(&r, t[j], 0.25);
            found += f != NULL;
            if (with == 1)
                CHECK_MSG(f && f->roll * deg[j] > 0 && fabs(f->roll) >= 15,
                          "face %d (rolled %.0f): %s, roll %.0f", j, deg[j],
                          f ? "found" : "missed", f ? f->roll : 0.0);
        }
        if (with == 1)
            CHECK_MSG(found == 2 && r.n == 2, "turned passes: %d of 2 found, %d boxes", found, r.n);
        else if (with == 2)
            CHECK_MSG(found < 2, "turned passes at step 3.5 found %d of 2 rolled faces", found);
        else /* the test needs faces the upright pass misses */
            CHECK_MSG(found < 2, "upright pass alone found %d of 2 rolled faces", found);
        pipeline_free(p);
    }
}

/* A followed face that rolls in mid scene (no cut) by +-28 degrees, which
 * the upright pass misses, on the frame of a full pass without turned
 * passes (the scene's second full pass): its window finds it, so it stays
 * on screen with its id and a roll of its sign, and is followed on. A face
 * that leaves is still let go by that pass. */
static void test_roll_followed(nn_net *net, cvw_cascade *cas, uint8_t *bgr)
{
    static pipeline_result r;
    static const double deg[3] = {28, -28, 0};
    for (int j = 0; j < 3; j++) {
        cvw_rect t;
        pipeline_cfg cfg = cfg_base(); /* a full pass every 4th frame */
        if (j < 2) {
            /* The test needs a rolled face the upright pass misses. */
            cfg.without = PIPELINE_NO_ROLL;
            pipeline *q = pipeline_new(net, cas, &cfg);
            background(bgr, W, H, 0);
            place(bgr, W, H, 320, 240, 240, deg[j], 0, &t);
            CHECK(q && pipeline_process(q, bgr, W, H, &r) == 0);
            CHECK_MSG(!on(&r, t, 0.25), "the upright pass found the face rolled %.0f", deg[j]);
            pipeline_free(q);
            cfg.without = 0;
        }
        pipeline *p = pipeline_new(net, cas, &cfg);
        CHECK_MSG(p != NULL, "%s", app_error());
        int id = 0;
        for (int i = 0; i < 8 && p; i++) {
            background(bgr, W, H, 0);
            /* j == 2: the face leaves on frame 4 */
            if (i < 4 || j < 2)
                place(bgr, W, H, 320, 240, 240, i < 4 ? 0 : deg[j], 0, &t);
            CHECK_MSG(pipeline_process(p, bgr, W, H, &r) == 0, "%s", app_error());
            CHECK_MSG(!r.cut, "frame %d: a scene cut", i);
            /* with no face followed, a full pass every second frame */
            int want = i % (i > 4 && j == 2 ? 2 : 4) == 0;
            CHECK_MSG(r.detected == want, "face %d, frame %d: full pass %d", j, i, r.detected);
            if (i >= 4 && j == 2) {
                CHECK_MSG(r.n == 0, "frame %d: %d boxes after the face left", i, r.n);
                continue;
            }
            const pipeline_face *f = on(&r, t, 0.25);
            CHECK_MSG(f && r.n == 1, "frame %d (rolled %.0f): face %s, %d boxes", i,
                      i < 4 ? 0.0 : deg[j], f ? "on" : "off", r.n);
            if (!f)
                continue;
            CHECK_MSG(id == 0 || f->id == id, "frame %d: id %d, was %d", i, f->id, id);
            id = f->id;
            if (i >= 4)
                CHECK_MSG(f->roll * deg[j] > 0, "frame %d: roll %.0f for a face rolled %.0f", i,
                          (double)f->roll, deg[j]);
        }
        pipeline_free(p);
    }
}

static void test_roi_follows(nn_net *net, cvw_cascade *cas, uint8_t *bgr)
{
    static pipeline_result r;
    cvw_rect t0 = {0, 0, 0, 0}, t;
    for (int roi = 1; roi >= 0; roi--) {
        pipeline_cfg cfg = cfg_base();
        cfg.detect_every = 1000; /* only the first frame gets a full pass unless one is lost */
        cfg.without = roi ? 0 : PIPELINE_NO_ROI;
        pipeline *p = pipeline_new(net, cas, &cfg);
        CHECK_MSG(p != NULL, "%s", app_error());
        int id = 0, roi_frames = 0, on_face = 0;
        for (int i = 0; i < 12; i++) {
            background(bgr, W, H, 0);
            place(bgr, W, H, 200 + 9 * i, 200 + 5 * i, 220, 0, 0, &t);
            if (i == 0)
                t0 = t;
            CHECK_MSG(pipeline_process(p, bgr, W, H, &r) == 0, "%s", app_error());
            const pipeline_face *f = on(&r, t, 0.15);
            on_face += f != NULL;
            if (roi) {
                CHECK_MSG(f && r.n == 1, "ROI, frame %d: face %s, %d boxes", i, f ? "on" : "off",
                          r.n);
                CHECK_MSG(!f || id == 0 || f->id == id, "frame %d: id %d, was %d", i, f->id, id);
                if (f)
                    id = f->id;
                roi_frames += !r.detected && r.roi == 1;
            }
        }
        if (roi)
            CHECK_MSG(roi_frames >= 9, "%d of 11 frames followed by ROI alone", roi_frames);
        else /* the face moved well off its first box: a stale box is not enough */
            CHECK_MSG(on_face < 12, "without ROI, the box stayed on the face %d times", on_face);
        pipeline_free(p);
    }
    CHECK(!near(t0, t, 0.15));
}

static void test_cut(nn_net *net, cvw_cascade *cas, uint8_t *bgr)
{
    static pipeline_result r, fresh;
    cvw_rect t;
    int k = nn_net_n_classes(net);
    /* The face after the cut, classified on its own by a new pipeline:
     * unsmoothed probabilities. */
    uint8_t *after = malloc((size_t)W * H * 3);
    background(after, W, H, 1);
    place(after, W, H, 320, 250, 260, 0, 1, &t);
    pipeline_cfg cfg = cfg_base();
    pipeline *q = pipeline_new(net, cas, &cfg);
    CHECK(q && pipeline_process(q, after, W, H, &fresh) == 0 && fresh.n == 1);
    pipeline_free(q);
    for (int cuts = 1; cuts >= 0; cuts--) {
        cfg.without = cuts ? 0 : PIPELINE_NO_CUTS;
        pipeline *p = pipeline_new(net, cas, &cfg);
        CHECK(p != NULL);
        int id = 0;
        for (int i = 0; i < 3; i++) {
            background(bgr, W, H, 0);
            place(bgr, W, H, 320, 240, 260, 0, 0, &t);
            CHECK(pipeline_process(p, bgr, W, H, &r) == 0 && r.n == 1 && !r.cut);
            id = r.n ? r.faces[0].id : 0;
        }
        CHECK(pipeline_process(p, after, W, H, &r) == 0 && r.n == 1);
        int same_probs = r.n == 1 && fresh.n == 1 &&
                         !memcmp(r.faces[0].probs, fresh.faces[0].probs, sizeof(float) * k);
        if (cuts) {
            CHECK_MSG(r.cut && r.detected, "cut %d, detected %d", r.cut, r.detected);
            CHECK_MSG(r.n == 1 && r.faces[0].id != id, "id %d after the cut, %d before",
                      r.n ? r.faces[0].id : -1, id);
            CHECK_MSG(same_probs, "probabilities after the cut are smoothed with the old face's");
            CHECK(r.n == 1 && fresh.n == 1 && !memcmp(&r.faces[0].box, &fresh.faces[0].box,
                                                      sizeof(cvw_rect)));
        } else {
            /* What the cut test prevents. */
            CHECK(!r.cut && r.n == 1 && r.faces[0].id == id && !same_probs);
        }
        pipeline_free(p);
    }
    free(after);
}

static void test_search(nn_net *net, cvw_cascade *cas, uint8_t *bgr)
{
    static pipeline_result r;
    cvw_rect t;
    pipeline_cfg cfg = cfg_base();
    cfg.scale_factor = 1.25; /* a coarse full pass; the windows keep theirs */
    cfg.detect_every = 1000;
    pipeline *p = pipeline_new(net, cas, &cfg);
    CHECK_MSG(p != NULL, "%s", app_error());
    int passes = 0, found_at = -1, followed = 0;
    for (int i = 0; i < 14; i++) {
        background(bgr, W, H, 0);
        if (i >= 5) /* appears on a frame without a full pass */
            place(bgr, W, H, 200 + 6 * i, 220 + 3 * i, 220, 0, 0, &t);
        CHECK_MSG(pipeline_process(p, bgr, W, H, &r) == 0, "%s", app_error());
        if (i < 5) {
            CHECK_MSG(r.detected == (i % 2 == 0) && r.n == 0, "face-free frame %d: full pass %d, "
                      "%d boxes", i, r.detected, r.n);
            passes += r.detected;
        } else if (found_at < 0) {
            if (on(&r, t, 0.25))
                found_at = i;
        } else {
            const pipeline_face *f = on(&r, t, 0.15);
            CHECK_MSG(f && r.n == 1, "frame %d after it was found: face %s, %d boxes", i,
                      f ? "on" : "off", r.n);
            followed += f && !r.detected && r.roi == 1;
        }
    }
    CHECK_MSG(passes == 3, "%d full passes on 5 face-free frames", passes);
    CHECK_MSG(found_at == 6, "the face of frame 5 found on frame %d", found_at);
    CHECK_MSG(followed >= 6, "%d of 7 frames followed by ROI alone", followed);
    pipeline_free(p);
}

/* A face of about 44 pixels in a 640x480 frame: 22 on the 320-wide
 * detection copy, under the cascade's 24-pixel window (29 on the finer
 * copy, 4/3 as wide). The pass for small faces finds it on the first frame of a scene (and not
 * without that pass); when it comes in mid scene, the same pass finds it
 * within 8 * detect_every frames, which the passes on
 * the detection copy between do not. */
static void test_small(nn_net *net, cvw_cascade *cas, uint8_t *bgr)
{
    static pipeline_result r;
    const double side = 44.0 * pic->pw / pic->face.w; /* the picture's side for a 44-pixel face */
    pipeline_cfg cfg = cfg_base();
    cfg.scale_factor = 1.2; /* video's defaults */
    cfg.min_neighbors = 3;
    cfg.min_face = 0.075;
    cfg.detect_every = 8;
    cvw_rect t;
    for (int fine = 1; fine >= 0; fine--) {
        cfg.without = fine ? 0 : PIPELINE_NO_FINE;
        pipeline *p = pipeline_new(net, cas, &cfg);
        CHECK_MSG(p != NULL, "%s", app_error());
        background(bgr, W, H, 0);
        place(bgr, W, H, 420, 200, side, 0, 0, &t);
        CHECK(t.w >= 40 && t.w <= 48);
        CHECK_MSG(p && pipeline_process(p, bgr, W, H, &r) == 0, "%s", app_error());
        if (fine)
            CHECK_MSG(on(&r, t, 0.25) && r.n == 1, "a %d-pixel face on a scene's first frame: "
                      "%d boxes, %s", t.w, r.n, on(&r, t, 0.25) ? "one on it" : "none on it");
        else /* the test needs a face the detection copy's pass misses */
            CHECK_MSG(r.n == 0, "without the finer pass: %d boxes", r.n);
        pipeline_free(p);
    }
    /* Mid scene: face-free frames, then the face (too small a change for
     * a cut). Frame 0 had the finer pass, the next is due on frame 64. */
    cfg.without = 0;
    pipeline *p = pipeline_new(net, cas, &cfg);
    CHECK(p != NULL);
    int found_at = -1, cuts = 0;
    for (int i = 0; i < 72 && p && found_at < 0; i++) {
        background(bgr, W, H, 0);
        if (i >= 3)
            place(bgr, W, H, 420, 200, side, 0, 0, &t);
        CHECK(pipeline_process(p, bgr, W, H, &r) == 0);
        cuts += r.cut;
        if (i >= 3 && on(&r, t, 0.25))
            found_at = i;
    }
    CHECK_MSG(cuts == 0, "%d scene cuts", cuts);
    CHECK_MSG(found_at == 8 * cfg.detect_every, /* PIPELINE_FINE_EVERY (pipeline_impl.h) */
              "the small face of frame 3 found on frame %d", found_at);
    pipeline_free(p);
}

/* One face of a frame with the views pv (smoothing off, a full pass every
 * frame, so every frame's box is the same): the probabilities of the
 * frame seen n_frames times in a row, the last one's into out. */
static int views_probs(nn_net *net, cvw_cascade *cas, const uint8_t *bgr, pipeline_views pv,
                       float smooth, int still, int n_frames, float *out)
{
    static pipeline_result r;
    pipeline_cfg cfg = cfg_base();
    cfg.detect_every = 1;
    cfg.smooth = smooth;
    cfg.views = pv;
    pipeline *p = pipeline_new(net, cas, &cfg);
    int ok = p != NULL;
    for (int i = 0; ok && i < n_frames; i++)
        ok = (still ? pipeline_process_still(p, bgr, W, H, &r) : pipeline_process(p, bgr, W, H, &r)) == 0 &&
             r.n == 1;
    if (ok)
        memcpy(out, r.faces[0].probs, sizeof(float) * (size_t)nn_net_n_classes(net));
    pipeline_free(p);
    return ok;
}

/* Mirror views: both views average what alternate frames give one at a
 * time, and the first frame of a scene is seen as it is; auto is both
 * views for stills, one view for video. */
static void test_views(nn_net *net, cvw_cascade *cas, uint8_t *bgr)
{
    int k = nn_net_n_classes(net);
    size_t sz = sizeof(float) * (size_t)k;
    /* (a scene's first frame has the pass for small faces too, whose box
     * can differ a little: frames are compared with frames at the same place) */
    float one1[NN_MAX_CLASSES], one2[NN_MAX_CLASSES], alt1[NN_MAX_CLASSES], alt2[NN_MAX_CLASSES];
    float both[NN_MAX_CLASSES], x[NN_MAX_CLASSES], y[NN_MAX_CLASSES];
    cvw_rect t;
    background(bgr, W, H, 0);
    place(bgr, W, H, 320, 240, 260, 0, 0, &t);
    CHECK(views_probs(net, cas, bgr, PIPELINE_VIEWS_ONE, 0, 0, 1, one1));
    CHECK(views_probs(net, cas, bgr, PIPELINE_VIEWS_ONE, 0, 0, 2, one2));
    CHECK(views_probs(net, cas, bgr, PIPELINE_VIEWS_ALTERNATE, 0, 0, 1, alt1));
    CHECK(views_probs(net, cas, bgr, PIPELINE_VIEWS_ALTERNATE, 0, 0, 2, alt2));
    CHECK(views_probs(net, cas, bgr, PIPELINE_VIEWS_BOTH, 0, 0, 2, both));
    CHECK_MSG(!memcmp(alt1, one1, sz), "alternate: the first frame is not the face as it is");
    CHECK_MSG(memcmp(alt2, one2, sz) != 0, "alternate: the second frame is not the mirror");
    double worst = 0;
    for (int j = 0; j < k; j++)
        worst = fmax(worst, fabs(both[j] - 0.5 * (one2[j] + alt2[j])));
    CHECK_MSG(worst < 1e-5, "both views differ from the mean of the two by %g", worst);
    /* auto: video one view, smoothed or not */
    CHECK(views_probs(net, cas, bgr, PIPELINE_VIEWS_AUTO, 0, 0, 2, x));
    CHECK_MSG(!memcmp(x, one2, sz), "auto, unsmoothed video: not one view");
    CHECK(views_probs(net, cas, bgr, PIPELINE_VIEWS_AUTO, 0.6f, 0, 2, x));
    CHECK(views_probs(net, cas, bgr, PIPELINE_VIEWS_ONE, 0.6f, 0, 2, y));
    CHECK_MSG(!memcmp(x, y, sz), "auto, smoothed video: not one view");
    /* auto for stills: both views, every time (a still stands alone) */
    CHECK(views_probs(net, cas, bgr, PIPELINE_VIEWS_AUTO, 0.6f, 1, 2, x));
    CHECK(views_probs(net, cas, bgr, PIPELINE_VIEWS_BOTH, 0.6f, 1, 1, y));
    CHECK_MSG(!memcmp(x, y, sz), "auto, stills: not both views");
    CHECK(views_probs(net, cas, bgr, PIPELINE_VIEWS_ONE, 0.6f, 1, 1, y));
    CHECK_MSG(memcmp(x, y, sz) != 0, "stills: both views equal one view");
}

static void test_stills(nn_net *net, cvw_cascade *cas)
{
    /* A photo with two faces, a 1x1 image, a photo with a rolled face, a
     * blank. */
    enum { N = 4 };
    static const int ws[N] = {W, 1, 500, 320}, hs[N] = {H, 1, 400, 240}, want[N] = {2, 0, 1, 0};
    uint8_t *img[N];
    cvw_rect t;
    for (int i = 0; i < N; i++) {
        img[i] = malloc((size_t)ws[i] * hs[i] * 3);
        background(img[i], ws[i], hs[i], i % 2);
    }
    place(img[0], W, H, 170, 240, 200, 0, 0, &t);
    place(img[0], W, H, 470, 240, 160, 0, 1, &t);
    place(img[2], 500, 400, 250, 200, 220, -27, 0, &t);
    memset(img[3], 128, (size_t)320 * 240 * 3);
    pipeline_cfg cfg = cfg_base();
    /* A video step too coarse for the photo (the video pass misses a face
     * with it): stills keep their own step. */
    cfg.scale_factor = 3.5;
    static pipeline_result r, alone;
    pipeline *vid = pipeline_new(net, cas, &cfg);
    CHECK(vid && pipeline_process(vid, img[0], W, H, &r) == 0);
    CHECK_MSG(r.n < want[0], "the video pass at step 3.5 found %d of %d faces", r.n, want[0]);
    pipeline_free(vid);
    pipeline *seq = pipeline_new(net, cas, &cfg);
    CHECK(seq != NULL);
    int ids[64], n_ids = 0, k = nn_net_n_classes(net);
    for (int pass = 0; pass < 2; pass++) /* twice: the second pass starts no differently */
        for (int i = 0; i < N; i++) {
            CHECK_MSG(pipeline_process_still(seq, img[i], ws[i], hs[i], &r) == 0, "%s",
                      app_error());
            pipeline *one = pipeline_new(net, cas, &cfg);
            CHECK(one && pipeline_process_still(one, img[i], ws[i], hs[i], &alone) == 0);
            pipeline_free(one);
            CHECK_MSG(r.n == want[i] && alone.n == r.n, "image %d: %d faces, alone %d, want %d",
                      i, r.n, alone.n, want[i]);
            for (int f = 0; f < r.n && f < alone.n; f++) {
                CHECK(!memcmp(&r.faces[f].box, &alone.faces[f].box, sizeof(cvw_rect)));
                CHECK(!memcmp(r.faces[f].probs, alone.faces[f].probs, sizeof(float) * k));
                CHECK(r.faces[f].roll == alone.faces[f].roll);
                for (int j = 0; j < n_ids; j++)
                    CHECK_MSG(ids[j] != r.faces[f].id, "id %d given twice", ids[j]);
                if (n_ids < 64)
                    ids[n_ids++] = r.faces[f].id;
            }
            if (i == 2 && r.n == 1)
                CHECK(r.faces[0].roll < 0);
        }
    pipeline_free(seq);
    for (int i = 0; i < N; i++)
        free(img[i]);
}

/* Blurred-looking clutter: blocks of many grays, bars and noise. */
static void busy(uint8_t *bgr, int w, int h, unsigned seed)
{
    background(bgr, w, h, 1);
    for (int k = 0; k < 40; k++) {
        seed = seed * 1103515245u + 12345u;
        int x0 = (int)(seed >> 8) % w, y0 = (int)(seed >> 4) % h;
        int bw = 10 + (int)(seed >> 16) % 120, bh = 10 + (int)(seed >> 20) % 90;
        uint8_t v = (uint8_t)(seed >> 24);
        for (int y = y0; y < y0 + bh && y < h; y++)
            for (int x = x0; x < x0 + bw && x < w; x++) {
                uint8_t *p = bgr + ((size_t)y * w + x) * 3;
                p[0] = p[1] = p[2] = (uint8_t)(v + ((x * 7 + y * 13) % 23));
            }
    }
}

static void test_vote(nn_net *net, cvw_cascade *cas, uint8_t *bgr)
{
    cvw_cascade *alt = cvw_cascade_load(ED_HAAR_DIR "/haarcascade_frontalface_alt.xml");
    cvw_cascade *eyes = cvw_cascade_load(ED_HAAR_DIR "/haarcascade_eye.xml");
    if (!alt || !eyes) {
        printf("# test_vote skipped: no %s (opencv-data)\n", ED_HAAR_DIR);
        cvw_cascade_free(alt);
        cvw_cascade_free(eyes);
        return;
    }
    static pipeline_result r, plain;
    static const double deg[4] = {0, 0, 20, -20};
    pipeline_cfg cfg = cfg_base();
    cfg.scale_factor = 1.2; /* video's defaults: the laxer pass that needs the look */
    cfg.min_neighbors = 3;
    for (int i = 0; i < 4; i++) {
        cvw_rect t;
        background(bgr, W, H, i % 2);
        place(bgr, W, H, 240 + 40 * i, 240, 200, deg[i], i == 1, &t);
        pipeline *p = pipeline_new(net, cas, &cfg);
        CHECK(p != NULL);
        pipeline_set_confirm_cascades(p, alt, eyes);
        CHECK_MSG(p && pipeline_process(p, bgr, W, H, &r) == 0, "%s", app_error());
        CHECK_MSG(on(&r, t, 0.25) && r.n == 1, "face %d (rolled %.0f, mirrored %d): %d boxes, %s",
                  i, deg[i], i == 1, r.n, on(&r, t, 0.25) ? "one on it" : "none on it");
        pipeline_free(p);
    }
    /* A face that comes in mid scene (no cut), as it is and mirrored, is
     * shown too, within two frames (a full pass runs every second
     * face-free frame): the vote
     * after a scene's first frame is stricter only without the other
     * cascade's agreement. */
    for (int i = 0; i < 2; i++) {
        cvw_rect t = {0, 0, 0, 0};
        pipeline *p = pipeline_new(net, cas, &cfg);
        CHECK(p != NULL);
        pipeline_set_confirm_cascades(p, alt, eyes);
        int found_at = -1, cuts = 0;
        for (int k = 0; k < 8 && p && found_at < 0; k++) {
            background(bgr, W, H, 0);
            if (k >= 3)
                place(bgr, W, H, 200 + 200 * i, 240, 120, 0, i, &t);
            CHECK(pipeline_process(p, bgr, W, H, &r) == 0);
            cuts += r.cut;
            if (k >= 3 && on(&r, t, 0.25) && r.n == 1)
                found_at = k;
        }
        CHECK_MSG(cuts == 0 && found_at >= 3 && found_at <= 4,
                  "face %d in mid scene: %d cuts, shown on frame %d", i, cuts, found_at);
        pipeline_free(p);
    }
    /* Face-free clutter, a new scene every frame. */
    pipeline *p = pipeline_new(net, cas, &cfg);
    CHECK(p != NULL);
    pipeline_set_confirm_cascades(p, alt, eyes);
    int boxes = 0;
    for (unsigned i = 0; i < 12 && p; i++) {
        busy(bgr, W, H, 7 + i);
        CHECK(pipeline_process(p, bgr, W, H, &r) == 0);
        boxes += r.n;
    }
    CHECK_MSG(boxes == 0, "%d boxes on face-free frames", boxes);
    pipeline_free(p);
    /* One cascade missing: the second look of before, box for box. */
    cvw_rect t;
    background(bgr, W, H, 0);
    place(bgr, W, H, 300, 240, 180, 10, 0, &t);
    pipeline *q = pipeline_new(net, cas, &cfg);
    p = pipeline_new(net, cas, &cfg);
    CHECK(p && q);
    pipeline_set_confirm_cascades(p, alt, NULL);
    for (int i = 0; i < 3 && p && q; i++) {
        CHECK(pipeline_process(p, bgr, W, H, &r) == 0 && pipeline_process(q, bgr, W, H, &plain) == 0);
        CHECK_MSG(r.n == plain.n && (r.n == 0 || !memcmp(&r.faces[0].box, &plain.faces[0].box,
                                                          sizeof r.faces[0].box)),
                  "frame %d: %d boxes, %d without the cascades", i, r.n, plain.n);
    }
    pipeline_free(p);
    pipeline_free(q);
    cvw_cascade_free(alt);
    cvw_cascade_free(eyes);
}

/* The committed roll model (models/roll.model, emotion-train train
 * --target roll): the picture's face rolled by +-20 degrees is read with
 * the right sign and within 8 degrees, from a crop upright or already
 * turned part of the way; an emotion model is refused as a roll model;
 * and in the pipeline faces rolled by 14 degrees, which the upright pass
 * finds (roll 0 without the net), have their crops levelled by about that. */
static void test_rollnet(nn_net *net, cvw_cascade *cas, uint8_t *bgr, const char *src)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/models/roll.model", src ? src : ".");
    nn_net *roll = nn_net_load(path);
    CHECK_MSG(roll != NULL, "%s: %s", path, nn_error());
    if (!roll)
        return;
    CHECK(rollest_new(net) == NULL && strstr(app_error(), "not a roll model"));
    CHECK(rollest_is_roll_model(roll) && !rollest_is_roll_model(net));
    rollest *e = rollest_new(roll);
    CHECK_MSG(e != NULL, "%s", app_error());
    uint8_t *gray = malloc((size_t)W * H);
    static const double deg[3] = {20, -20, 0};
    for (int j = 0; e && j < 3; j++) {
        cvw_rect t;
        background(bgr, W, H, 0);
        place(bgr, W, H, 320, 240, 300, deg[j], 0, &t);
        CHECK(cvw_bgr_to_gray(bgr, W, H, gray) == 0);
        /* From upright, and from a crop turned half of the way. */
        rollest_face f[2] = {{t.x + t.w / 2.0f, t.y + t.h / 2.0f, (float)t.w, 0},
                             {t.x + t.w / 2.0f, t.y + t.h / 2.0f, (float)t.w, (float)deg[j] / 2}};
        float res[2] = {99, 99};
        CHECK_MSG(rollest_run(e, gray, W, H, f, 2, res) == 0, "%s", app_error());
        for (int i = 0; i < 2; i++) {
            float est = f[i].roll + res[i];
            printf("face rolled %+.0f, crop turned %+.0f: roll estimated %+.1f\n", deg[j],
                   (double)f[i].roll, (double)est);
            CHECK_MSG(fabs(est - deg[j]) <= 8 && (deg[j] == 0 || est * deg[j] > 0),
                      "face rolled %.0f, crop turned %.0f: estimated %.1f", deg[j],
                      (double)f[i].roll, (double)est);
        }
    }
    /* In the pipeline: the face's crop is levelled by the refined roll. */
    background(bgr, W, H, 0);
    cvw_rect t[2];
    place(bgr, W, H, 160, 240, 220, 14, 0, &t[0]);
    place(bgr, W, H, 480, 240, 220, -14, 0, &t[1]);
    static pipeline_result r;
    for (int with = 0; with < 2; with++) {
        pipeline_cfg cfg = cfg_base();
        cfg.without = with ? 0 : PIPELINE_NO_ROLLNET;
        pipeline *p = pipeline_new(net, cas, &cfg);
        CHECK(p && pipeline_set_roll_net(p, roll) == 0);
        CHECK_MSG(p && pipeline_process(p, bgr, W, H, &r) == 0, "%s", app_error());
        for (int j = 0; j < 2; j++) {
            const pipeline_face *f = on(&r, t[j], 0.25);
            double want = j == 0 ? 14 : -14;
            CHECK_MSG(f != NULL, "face rolled %.0f missed", want);
            if (!f)
                continue;
            printf("pipeline %s the roll net: face rolled %+.0f levelled by %+.1f\n",
                   with ? "with" : "without", want, (double)f->roll);
            if (with)
                CHECK_MSG(fabs(f->roll - want) <= 8, "face rolled %.0f: levelled by %.1f", want,
                          (double)f->roll);
            else
                CHECK(f->roll == 0); /* the upright pass found it */
        }
        pipeline_free(p);
    }
    pipeline *p = pipeline_new(net, cas, &(pipeline_cfg){.max_faces = 1});
    CHECK(p && pipeline_set_roll_net(p, net) == -1 && strstr(app_error(), "not a roll model"));
    pipeline_free(p);
    free(gray);
    rollest_free(e);
    nn_net_free(roll);
}

int main(void)
{
    const char *src = getenv("NN_TEST_SRCDIR");
    char picp[4096], casp[4096], err[512] = "";
    snprintf(picp, sizeof picp, "%s/assets/astronaut.png", src ? src : ".");
    snprintf(casp, sizeof casp, "%s/cascades/haarcascade_frontalface_default.xml",
             src ? src : ".");
    static fg_scene sc;
    int ok = fg_init(&sc, picp, casp, W, H, 1, 1, err, sizeof err) == 0;
    CHECK_MSG(ok, "%s (set NN_TEST_SRCDIR to the source tree)", err);
    cvw_cascade *cas = cvw_cascade_load(casp);
    nn_net *net = nn_net_from_arch("fer-compact", 7);
    CHECK(cas && net);
    if (ok && cas && net) {
        nn_net_init(net, 42);
        pic = &sc;
        uint8_t *bgr = malloc((size_t)W * H * 3);
        test_roll(net, cas, bgr);
        test_roll_followed(net, cas, bgr);
        test_roi_follows(net, cas, bgr);
        test_cut(net, cas, bgr);
        test_search(net, cas, bgr);
        test_small(net, cas, bgr);
        test_stills(net, cas);
        test_views(net, cas, bgr);
        test_vote(net, cas, bgr);
        test_rollnet(net, cas, bgr, src);
        free(bgr);
    }
    fg_free(&sc);
    cvw_cascade_free(cas);
    nn_net_free(net);
    return test_done("test_detect_footage");
}
