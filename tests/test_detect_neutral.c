/* test_detect_neutral.c - issue 15's calibration test as the issue states
 * it, with a real model: "on a generated face sequence whose rest frames a
 * model reads as sad, after calibration the rest frames read neutral and
 * expressive frames keep their label".
 *
 * A small net is trained here on drawn gray faces whose class is their
 * mouth: curved up (happy), flat (neutral), curved down (sad), open
 * (surprise); the FER class names, so the calibration finds "neutral".
 * The person of the sequence rests with a mouth turned down a little, which
 * the net reads as sad. Each frame's face goes through the net and then
 * through neutral_update, the per-track correction emotion-detect applies to
 * every frame (person_step): three seconds of rest calibrate the track,
 * after which its rest frames must read neutral and its smiles and open
 * mouths keep their labels; cleared, rest reads sad again.
 *
 * The person keeps one look (skin, eyes, brows) with camera noise on each
 * frame; the probabilities are smoothed by the tracker as the pipeline
 * does (--smooth's default) before the correction, as in the app. Over
 * NN_TEST_SEED=1..16, 12 seeds read at least 95% of the rest frames
 * neutral after calibrating; the other 4 read 15 to 18 of 20: the net's
 * frame-to-frame spread at rest is then wider than the correction's margin
 * (a mean of log-probabilities instead of probabilities in neutral.c made
 * it 13 of 16, so it was left as it is). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detect_model.h"
#include "neutral.h"
#include "opts.h"
#include "track.h"
#include "nn.h"
#include "probs.h"
#include "testutil.h"
#include "tinynet.h"

enum { ANGRY, DISGUST, FEAR, HAPPY, SAD, SURPRISE, NEUTRAL, K };

#define S TINYNET_S

static uint64_t rnd_u64(uint64_t *s) /* xorshift */
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}
static float uniform(uint64_t *s) { return (float)(rnd_u64(s) >> 40) / 16777216.0f; }
static float normal(uint64_t *s) /* Box-Muller */
{
    return sqrtf(-2.0f * logf(1.0f - uniform(s))) * cosf(6.2831853f * uniform(s));
}

/* What makes one person's face: background, skin, eyes, brows. */
typedef struct look {
    float bg, skin, eye_r, eye_y, brow;
} look;

static look random_look(uint64_t *s)
{
    look l;
    l.bg = 20 + 80 * uniform(s);
    l.skin = 130 + 80 * uniform(s);
    l.eye_r = 1.5f + 2.0f * uniform(s);
    l.eye_y = 11 + 3 * uniform(s);
    l.brow = uniform(s) - 0.5f;
    return l;
}

/* A gray face of look l with pixel noise; the mouth bends by `bend` pixels
 * (up when positive) or, when open, is a dark oval. */
static void draw_face(uint8_t *img, const look *l, float bend, int open, uint64_t *s)
{
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            const float dx = (x - 15.5f) / 13.0f, dy = (y - 16.0f) / 15.5f;
            float v = dx * dx + dy * dy <= 1.0f ? l->skin : l->bg;
            for (int e = 0; e < 2; e++) {
                const float ex = e ? 21.5f : 9.5f;
                if ((x - ex) * (x - ex) + (y - l->eye_y) * (y - l->eye_y) <= l->eye_r * l->eye_r)
                    v = 40;
                const float by = l->eye_y - l->eye_r - 2 + l->brow * (x - ex) * (e ? 1 : -1);
                if (fabsf(x - ex) <= 3 && fabsf(y - by) < 0.7f)
                    v = 60;
            }
            if (open) {
                const float mx = (x - 15.5f) / 3.5f, my = (y - 24.0f) / 3.0f;
                if (mx * mx + my * my <= 1.0f)
                    v = 30;
            } else if (x >= 10 && x <= 21) {
                /* drawn anti-aliased, so that its look changes smoothly
                 * with the bend */
                const float u = (x - 15.5f) / 5.5f, my = 24.0f - bend * (1 - u * u) + bend * 0.5f;
                const float a = 1.4f - fabsf(y - my);
                if (a > 0)
                    v += (50 - v) * (a < 1 ? a : 1);
            }
            v += 12 * normal(s);
            img[y * S + x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
}

/* A training face of class cls (happy, sad, neutral or surprise), of any
 * look. */
static void draw_class(uint8_t *img, int cls, uint64_t *s)
{
    const look l = random_look(s);
    const float r = uniform(s);
    switch (cls) {
    case HAPPY: draw_face(img, &l, 2.0f + 1.5f * r, 0, s); break;
    case SAD: draw_face(img, &l, -2.0f - 1.5f * r, 0, s); break;
    case SURPRISE: draw_face(img, &l, 0, 1, s); break;
    default: draw_face(img, &l, 0.8f * (r - 0.5f), 0, s); break;
    }
}

static int sample_class(uint8_t *img, uint64_t *s)
{
    static const int classes[4] = {HAPPY, SAD, SURPRISE, NEUTRAL};
    const int cls = classes[rnd_u64(s) % 4];
    draw_class(img, cls, s);
    return cls;
}

static nn_net *train(void)
{
    uint64_t s = test_seed(11);
    nn_net *net = tinynet_train(K, 500, sample_class, &s);
    CHECK(!net || nn_net_set_classes(net, fer_names, K) == 0);
    return net;
}

/* One frame of the sequence as emotion-detect hands it to the correction
 * (pipeline.c): the net's reading of img, the face's box continuing its
 * track, whose probabilities are smoothed over time (track_update, the
 * default --smooth); then the top class and its confidence. */
static void classify(nn_net *net, track_state *trk, const uint8_t *img, pipeline_result *r)
{
    float x[S * S], smoothed[K];
    nn_preprocess_u8(net, img, x);
    const float *p = nn_net_forward(net, x, 1, 0);
    const track_box box = {100, 80, 120, 120, 0};
    int id = 0;
    memset(r, 0, sizeof *r);
    if (!p || track_update(trk, &box, p, 1, &id, smoothed) != 1)
        return;
    r->n = 1;
    r->faces[0].id = id;
    r->faces[0].box = (cvw_rect){100, 80, 120, 120};
    memcpy(r->faces[0].probs, smoothed, sizeof smoothed);
    r->faces[0].cls = probs_argmax(smoothed, K);
    r->faces[0].conf = smoothed[r->faces[0].cls];
}

/* The person of the sequence: one look, resting with a mouth turned down a
 * little. */
static look person;
static float rest_bend;

/* One frame of the person (camera noise on each): at rest, smiling or
 * open-mouthed. */
static void draw_person(uint8_t *img, int kind, uint64_t *s)
{
    switch (kind) {
    case HAPPY: draw_face(img, &person, 2.0f + 1.5f * uniform(s), 0, s); break;
    case SURPRISE: draw_face(img, &person, 0, 1, s); break;
    default: draw_face(img, &person, rest_bend + 0.1f * (uniform(s) - 0.5f), 0, s); break;
    }
}

int main(void)
{
    nn_net *net = train();
    if (!net)
        return test_done("test_detect_neutral");
    uint8_t img[S * S];
    uint64_t s = test_seed(29);
    pipeline_result r;

    /* The net has learnt the four mouths (each face on its own: no
     * smoothing). */
    track_state raw, trk;
    track_init(&raw, K, 0.0f, 0.3f, 3);
    int right = 0;
    static const int classes[4] = {HAPPY, SAD, SURPRISE, NEUTRAL};
    for (int i = 0; i < 80; i++) {
        draw_class(img, classes[i % 4], &s);
        classify(net, &raw, img, &r);
        right += r.n == 1 && r.faces[0].cls == classes[i % 4];
    }
    CHECK_MSG(right >= 76, "the net reads %d of 80 training-like faces right", right);

    /* The person rests with a mouth turned down by the least bend (of
     * -0.5, -0.6, ...) at which the net reads at least 38 of 40 of their
     * faces as sad, plus 0.1: a face the model reads as sad at rest, though
     * its mouth is less bent than the sad faces it learnt from. */
    person = random_look(&s);
    int sad_n = 0;
    for (rest_bend = -0.5f; rest_bend > -2.0f && sad_n < 38; rest_bend -= 0.1f) {
        sad_n = 0;
        for (int i = 0; i < 40; i++) {
            draw_face(img, &person, rest_bend, 0, &s);
            classify(net, &raw, img, &r);
            sad_n += r.n == 1 && r.faces[0].cls == SAD;
        }
    }
    CHECK_MSG(sad_n >= 38 && rest_bend > -2.0f, "no mouth of bend above -2 reads sad: %d of 40 at %.1f",
              sad_n, rest_bend);

    /* The sequence, tracked and smoothed as the pipeline does by default. */
    opts o;
    opts_defaults(&o);
    track_init(&trk, K, o.smooth, 0.3f, 3);
    /* the class names as the app takes them from the model */
    const char *names[K];
    for (int j = 0; j < K; j++)
        names[j] = nn_net_class(net, j);
    neutral_state nt;
    CHECK(neutral_init(&nt, names, K) == 0 && nt.neutral == NEUTRAL);
    double t = 0;
    /* before: the person's rest frames read sad */
    int sad_before = 0;
    for (int i = 0; i < 30; i++) {
        draw_person(img, NEUTRAL, &s);
        classify(net, &trk, img, &r);
        neutral_update(&nt, t += 66.7, &r);
        sad_before += r.faces[0].cls == SAD && !r.faces[0].calibrated;
    }
    CHECK_MSG(sad_before >= 27, "rest frames read sad before calibrating: %d of 30", sad_before);

    /* three seconds at rest, as key c records them */
    neutral_start(&nt, 3.0);
    for (int i = 0; i < 46; i++) {
        draw_person(img, NEUTRAL, &s);
        classify(net, &trk, img, &r);
        neutral_update(&nt, t += 66.7, &r);
    }

    /* after: rest reads neutral; smiles and open mouths keep their label.
     * Each expression lasts 6 frames, each rest 10; a frame counts once the
     * smoothing has followed the change: from an expression's fourth frame
     * on, a rest's sixth (what is left of an expression in the smoothed
     * probabilities is boosted too: the person never showed it at rest). */
    int rest = 0, rest_neutral = 0, expr = 0, kept = 0, flagged = 0, frames = 0;
    static const int seq[8] = {NEUTRAL, HAPPY, NEUTRAL, SURPRISE, NEUTRAL, HAPPY, NEUTRAL,
                               SURPRISE};
    for (int g = 0; g < 8; g++) {
        const int kind = seq[g], len = kind == NEUTRAL ? 10 : 6;
        for (int i = 0; i < len; i++, frames++) {
            draw_person(img, kind, &s);
            classify(net, &trk, img, &r);
            const int before = r.faces[0].cls;
            neutral_update(&nt, t += 66.7, &r);
            flagged += r.faces[0].calibrated;
            if (kind == NEUTRAL && i >= 5) {
                rest++;
                rest_neutral += r.faces[0].cls == NEUTRAL;
            } else if (kind != NEUTRAL && i >= 3 && before == kind) { /* read right */
                expr++;
                kept += r.faces[0].cls == kind;
            }
        }
    }
    CHECK_MSG(rest_neutral >= rest * 95 / 100, "rest frames read neutral after calibrating: %d of %d",
              rest_neutral, rest);
    CHECK_MSG(expr >= 10 && kept == expr, "expressive frames keep their label: %d of %d", kept,
              expr);
    CHECK(flagged == frames);

    /* c again: cleared, rest reads sad again */
    neutral_clear(&nt);
    int sad_after = 0;
    for (int i = 0; i < 10; i++) {
        draw_person(img, NEUTRAL, &s);
        classify(net, &trk, img, &r);
        neutral_update(&nt, t += 66.7, &r);
        sad_after += i >= 3 && r.faces[0].cls == SAD && !r.faces[0].calibrated;
    }
    CHECK_MSG(sad_after >= 6, "cleared: rest reads sad in %d of 7 frames", sad_after);
    nn_net_free(net);
    return test_done("test_detect_neutral");
}
