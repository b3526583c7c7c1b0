/* test_detect_pipeline.c - pipeline_process (app/detect/pipeline.c) on generated
 * frames of moving faces (facegen.c, whose true face boxes are known):
 * boxes found on the shrunken detection copy land on the faces in full
 * frame pixels, at several detection widths; with --detect-every N the
 * frames between detections reuse the tracks' boxes and ids instead of
 * detecting; each face keeps its track id; crops and probabilities follow
 * the boxes; pipeline_reset starts detecting again (all with ROI
 * re-detection off: --without roi). Needs assets/astronaut.png
 * and the Haar cascade under $NN_TEST_SRCDIR. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_err.h"
#include "face.h"
#include "facegen.h"
#include "nn.h"
#include "pipeline.h"
#include "testutil.h"

#define W 640
#define H 480
#define N_FRAMES 12 /* processed, of the scene's SCENE_FRAMES */
#define SCENE_FRAMES 48 /* so faces move a few pixels a frame and keep their tracks */
#define N_FACES 2

static const cvw_rect *match(const cvw_rect *truth, const pipeline_result *r)
{
    /* The face whose centre is nearest. */
    const cvw_rect *best = NULL;
    double bd = 1e30;
    for (int i = 0; i < r->n; i++) {
        const cvw_rect *b = &r->faces[i].box;
        double dx = (b->x + b->w / 2.0) - (truth->x + truth->w / 2.0);
        double dy = (b->y + b->h / 2.0) - (truth->y + truth->h / 2.0);
        if (dx * dx + dy * dy < bd) {
            bd = dx * dx + dy * dy;
            best = b;
        }
    }
    return best;
}

/* The box lies on the true face: centre within 15% of the face's width,
 * size within 20%. The detector's boxes on a shrunken copy differ from the
 * full-size truth by a few pixels; a box left in detection pixels (half
 * the frame's) is far off. */
static int on_face(const cvw_rect *b, const cvw_rect *t)
{
    if (!b)
        return 0;
    double dx = (b->x + b->w / 2.0) - (t->x + t->w / 2.0);
    double dy = (b->y + b->h / 2.0) - (t->y + t->h / 2.0);
    return fabs(dx) <= 0.15 * t->w && fabs(dy) <= 0.15 * t->w &&
           fabs((double)b->w / t->w - 1) <= 0.2 && fabs((double)b->h / t->h - 1) <= 0.2;
}

static int id_of(const pipeline_result *r, const cvw_rect *box)
{
    for (int i = 0; i < r->n; i++)
        if (&r->faces[i].box == box)
            return r->faces[i].id;
    return 0;
}

/* Runs the scene through a pipeline with the given detection width and
 * period and checks every frame. Without ROI re-detection (the frames
 * between full passes reuse the tracked boxes; test_detect_footage covers
 * ROI). */
static void run(const fg_scene *sc, nn_net *net, cvw_cascade *cas, int detect_width,
                int detect_every)
{
    char what[64];
    snprintf(what, sizeof what, "detect_width %d, every %d", detect_width, detect_every);
    pipeline_cfg cfg = {.scale_factor = 1.1, .min_neighbors = 5, .min_face = 0.1,
                  .detect_width = detect_width, .detect_every = detect_every,
                  .max_faces = 8, .margin = FACE_HAAR_MARGIN, .shift = FACE_HAAR_SHIFT,
                  .smooth = 0.6f, .without = PIPELINE_NO_ROI};
    pipeline *p = pipeline_new(net, cas, &cfg);
    CHECK_MSG(p != NULL, "%s: %s", what, app_error());
    if (!p)
        return;
    uint8_t *bgr = malloc((size_t)sc->frame_w * sc->frame_h * 3);
    static pipeline_result r, prev;
    int ids[N_FACES] = {0};
    int k = nn_net_n_classes(net);
    for (int i = 0; i < N_FRAMES; i++) {
        CHECK(fg_render(sc, i, bgr) == 0);
        cvw_rect pics[FG_MAX_FACES], truth[FG_MAX_FACES];
        fg_layout(sc, i, pics, truth);
        int rc = pipeline_process(p, bgr, sc->frame_w, sc->frame_h, &r);
        CHECK_MSG(rc == 0, "%s, frame %d: %s", what, i, app_error());
        if (rc != 0)
            break;
        int detect_frame = i % detect_every == 0;
        CHECK_MSG(r.detected == detect_frame, "%s, frame %d: detected %d", what, i, r.detected);
        CHECK_MSG(r.n == N_FACES, "%s, frame %d: %d faces", what, i, r.n);
        if (detect_frame) {
            /* Fresh boxes, in frame pixels, one on each face. */
            for (int j = 0; j < N_FACES; j++) {
                const cvw_rect *b = match(&truth[j], &r);
                CHECK_MSG(on_face(b, &truth[j]),
                          "%s, frame %d, face %d: box %d,%d %dx%d, truth %d,%d %dx%d", what, i, j,
                          b ? b->x : -1, b ? b->y : -1, b ? b->w : -1, b ? b->h : -1,
                          truth[j].x, truth[j].y, truth[j].w, truth[j].h);
                /* Each face keeps its track (and so its smoothing). */
                int id = b ? id_of(&r, b) : 0;
                CHECK_MSG(id >= 1 && (ids[j] == 0 || id == ids[j]),
                          "%s, frame %d, face %d: id %d, was %d", what, i, j, id, ids[j]);
                ids[j] = id;
            }
            CHECK(r.faces[0].id != r.faces[1].id);
        } else {
            /* No detection: the tracks' boxes and ids, as on the frame
             * before, while the faces themselves have moved on. */
            CHECK_MSG(r.ms[PIPELINE_DETECT] == 0, "%s, frame %d", what, i);
            CHECK_MSG(r.n == prev.n, "%s, frame %d", what, i);
            for (int f = 0; f < r.n; f++) {
                const pipeline_face *a = &r.faces[f], *b = NULL;
                for (int g = 0; g < prev.n; g++)
                    if (prev.faces[g].id == a->id)
                        b = &prev.faces[g];
                CHECK_MSG(b && a->box.x == b->box.x && a->box.y == b->box.y &&
                          a->box.w == b->box.w && a->box.h == b->box.h,
                          "%s, frame %d, face %d (id %d): box %d,%d %dx%d, before %d,%d %dx%d",
                          what, i, f, a->id, a->box.x, a->box.y, a->box.w, a->box.h,
                          b ? b->box.x : -1, b ? b->box.y : -1, b ? b->box.w : -1,
                          b ? b->box.h : -1);
            }
        }
        /* Crops follow the boxes; probabilities are a distribution whose
         * top class is reported. */
        for (int f = 0; f < r.n; f++) {
            const pipeline_face *a = &r.faces[f];
            cvw_rect c = face_crop_rect(a->box, sc->frame_w, sc->frame_h, cfg.margin, cfg.shift);
            CHECK(a->crop.x == c.x && a->crop.y == c.y && a->crop.w == c.w && a->crop.h == c.h);
            double sum = 0;
            for (int c2 = 0; c2 < k; c2++)
                sum += a->probs[c2];
            CHECK_NEAR(sum, 1.0, 1e-4);
            CHECK(a->cls >= 0 && a->cls < k && a->conf == a->probs[a->cls]);
            for (int c2 = 0; c2 < k; c2++)
                CHECK(a->probs[c2] <= a->conf);
        }
        prev = r;
    }
    /* Between two detections the faces moved: the tracked boxes were really
     * old ones, not a detection that happened to agree. */
    if (detect_every > 1) {
        cvw_rect pics[FG_MAX_FACES], t0[FG_MAX_FACES], t1[FG_MAX_FACES];
        fg_layout(sc, 0, pics, t0);
        fg_layout(sc, detect_every - 1, pics, t1);
        CHECK(t0[0].x != t1[0].x || t0[0].y != t1[0].y || t0[0].w != t1[0].w);
    }

    /* After pipeline_reset the next frame is detected again, whatever the period. */
    pipeline_reset(p);
    CHECK(fg_render(sc, 1, bgr) == 0);
    CHECK(pipeline_process(p, bgr, sc->frame_w, sc->frame_h, &r) == 0);
    CHECK_MSG(r.detected == 1 && r.n == N_FACES, "%s: after pipeline_reset", what);
    free(bgr);
    pipeline_free(p);
}

int main(void)
{
    const char *src = getenv("NN_TEST_SRCDIR");
    char pic[4096], casp[4096], err[512] = "";
    snprintf(pic, sizeof pic, "%s/assets/astronaut.png", src ? src : ".");
    snprintf(casp, sizeof casp, "%s/cascades/haarcascade_frontalface_default.xml",
             src ? src : ".");
    fg_scene sc;
    int ok = fg_init(&sc, pic, casp, W, H, SCENE_FRAMES, N_FACES, err, sizeof err) == 0;
    CHECK_MSG(ok, "%s (set NN_TEST_SRCDIR to the source tree)", err);
    cvw_cascade *cas = cvw_cascade_load(casp);
    CHECK_MSG(cas != NULL, "%s", cvw_error());
    nn_net *net = nn_net_from_arch("fer-compact", 7);
    CHECK_MSG(net != NULL, "%s", nn_error());
    if (!ok || !cas || !net) {
        cvw_cascade_free(cas);
        nn_net_free(net);
        return test_done("test_detect_pipeline");
    }
    nn_net_init(net, 42);

    /* A colour model is refused with a message. */
    nn_net *colour = nn_net_from_spec("input 8x8x3\nflatten\ndense classes softmax\n", 7);
    pipeline_cfg cfg = {.scale_factor = 1.1, .min_neighbors = 5, .min_face = 0.1, .detect_every = 1};
    CHECK(colour && pipeline_new(colour, cas, &cfg) == NULL && strstr(app_error(), "channel"));
    nn_net_free(colour);

    run(&sc, net, cas, 320, 1);  /* detection at half size */
    run(&sc, net, cas, 480, 3);  /* at 0.75 times, every third frame */
    run(&sc, net, cas, 0, 4);    /* at full size */
    run(&sc, net, cas, 1000, 2); /* wider than the frame: full size too */

    fg_free(&sc);
    cvw_cascade_free(cas);
    nn_net_free(net);
    return test_done("test_detect_pipeline");
}
