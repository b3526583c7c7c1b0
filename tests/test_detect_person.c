/* test_detect_person.c - emotion-detect for the person in front of the
 * camera (issue 15), on generated data:
 *  - personal neutral calibration (neutral.c): a face whose rest frames
 *    read sad reads neutral at rest after calibrating, its expressive
 *    frames keep their label, other faces are untouched, and clearing
 *    undoes it;
 *  - guidance hints (hints.c) on frames of the real face darkened,
 *    brightened, blurred, shrunk, cut off by the edge and tilted: the right
 *    hint, and none on good frames; each second look only when asked
 *    for, and the looks' schedule (person_look_due): none in short gaps;
 *  - --blur (privacy.c, through the program): in a recording the faces
 *    carry almost no high-frequency energy, the rest of the frame is as
 *    without --blur;
 *  - the hint's place on screen (ui_person.c) covers no face, nor do the
 *    probability panels of faces close together;
 *  - the program's JSON log: "calibrated":true after --calibrate's
 *    seconds, "hint" on a dark clip, never on good frames or a picture;
 *    the same in a CSV log's hint and calibrated columns;
 *  - key g's heat map through app_step: colour over the face crops only;
 *  - emotion-train predict --saliency: a heat map PNG per picture.
 * argv: the emotion-detect and emotion-train executables. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app.h"
#include "app_err.h"
#include "cvw.h"
#include "detect_model.h"
#include "facegen.h"
#include "hints.h"
#include "neutral.h"
#include "overlay.h"
#include "privacy.h"
#include "runprog.h"
#include "probs.h"
#include "testutil.h"
#include "ui_person.h"

/* ---- neutral calibration ---------------------------------------------------- */

enum { ANGRY, DISGUST, FEAR, HAPPY, SAD, SURPRISE, NEUTRAL, K };

static float uniform(uint64_t *s) /* [0,1), xorshift */
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return (float)(*s >> 40) / 16777216.0f;
}

/* What a model says of a face whose resting expression it reads as sad:
 * rest frames sad ~0.5 with neutral second; expressive frames happy,
 * surprised or angry clearly, with the person's sad bias underneath. */
static void face_probs(int expr, uint64_t *s, float *p)
{
    static const float rest[K] = {0.08f, 0.02f, 0.06f, 0.04f, 0.50f, 0.03f, 0.27f};
    float sum = 0;
    for (int j = 0; j < K; j++) {
        p[j] = rest[j] * (0.8f + 0.4f * uniform(s));
        if (expr >= 0 && j == expr)
            p[j] += 2.2f;
        sum += p[j];
    }
    for (int j = 0; j < K; j++)
        p[j] /= sum;
}

static void one_face(pipeline_result *r, int id, const float *p)
{
    memset(r, 0, sizeof *r);
    r->n = 1;
    r->faces[0].id = id;
    r->faces[0].box = (cvw_rect){100, 80, 120, 120};
    memcpy(r->faces[0].probs, p, sizeof(float) * K);
    r->faces[0].cls = probs_argmax(p, K);
    r->faces[0].conf = p[r->faces[0].cls];
}

static void check_neutral(void)
{
    neutral_state nt;
    CHECK(neutral_init(&nt, fer_names, K) == 0);
    CHECK(nt.neutral == NEUTRAL);
    uint64_t s = test_seed(21);
    float p[K];
    pipeline_result r;
    double t = 0;
    /* before: rest reads sad */
    int sad_before = 0;
    for (int i = 0; i < 30; i++) {
        face_probs(-1, &s, p);
        one_face(&r, 1, p);
        neutral_update(&nt, t += 66.7, &r);
        sad_before += r.faces[0].cls == SAD && !r.faces[0].calibrated;
    }
    CHECK(sad_before == 30);
    /* three seconds of rest */
    neutral_start(&nt, 3.0);
    CHECK(neutral_active(&nt));
    char msg[160];
    CHECK(neutral_message(&nt, t, msg, sizeof msg) == 1 && strstr(msg, "neutral"));
    for (int i = 0; i < 46; i++) {
        face_probs(-1, &s, p);
        one_face(&r, 1, p);
        neutral_update(&nt, t += 66.7, &r);
    }
    CHECK(neutral_message(&nt, t, msg, sizeof msg) == 0);
    /* after: rest reads neutral, expressions keep their label */
    int rest_neutral = 0, kept = 0, flagged = 0, n_expr = 0;
    const int exprs[3] = {HAPPY, SURPRISE, ANGRY};
    for (int i = 0; i < 60; i++) {
        const int expr = i % 4 == 3 ? exprs[(i / 4) % 3] : -1;
        face_probs(expr, &s, p);
        const int before = probs_argmax(p, K);
        one_face(&r, 1, p);
        neutral_update(&nt, t += 66.7, &r);
        flagged += r.faces[0].calibrated;
        float sum = 0;
        for (int j = 0; j < K; j++)
            sum += r.faces[0].probs[j];
        CHECK_NEAR(sum, 1.0, 1e-4);
        if (expr < 0) {
            rest_neutral += r.faces[0].cls == NEUTRAL;
        } else {
            n_expr++;
            kept += r.faces[0].cls == before && before == expr;
        }
    }
    CHECK_MSG(rest_neutral == 45, "rest frames read neutral: %d of 45", rest_neutral);
    CHECK_MSG(kept == n_expr, "expressive frames keep their label: %d of %d", kept, n_expr);
    CHECK(flagged == 60);
    /* another face beside it (track 2) is not this person's */
    face_probs(-1, &s, p);
    one_face(&r, 1, p);
    r.n = 2;
    r.faces[1] = r.faces[0];
    r.faces[1].id = 2;
    r.faces[1].box.x += 300;
    neutral_update(&nt, t += 66.7, &r);
    CHECK(r.faces[0].cls == NEUTRAL && r.faces[0].calibrated);
    CHECK(r.faces[1].cls == SAD && !r.faces[1].calibrated);
    /* the face lost for a second and found again as track 3, where track 1
     * was: still calibrated; far from there (track 4): not */
    t += 1000;
    face_probs(-1, &s, p);
    one_face(&r, 3, p);
    neutral_update(&nt, t += 66.7, &r);
    CHECK(r.faces[0].cls == NEUTRAL && r.faces[0].calibrated);
    face_probs(-1, &s, p);
    one_face(&r, 4, p);
    r.faces[0].box.x += 400;
    neutral_update(&nt, t += 66.7, &r);
    CHECK(r.faces[0].cls == SAD && !r.faces[0].calibrated);
    /* c again: cleared, rest reads sad again */
    neutral_clear(&nt);
    CHECK(!neutral_active(&nt));
    face_probs(-1, &s, p);
    one_face(&r, 3, p);
    neutral_update(&nt, t += 66.7, &r);
    CHECK(r.faces[0].cls == SAD && !r.faces[0].calibrated);
    /* a model without a neutral class cannot calibrate */
    const char *no_neutral[2] = {"cat", "dog"};
    CHECK(neutral_init(&nt, no_neutral, 2) == -1);
}

/* ---- hints ------------------------------------------------------------------ */

enum { FW = 640, FH = 480 };

/* The face picture pasted so its face box is `face` (frame pixels), on a
 * mid-gray background with a little texture so the frame is not flat. */
static void compose(const fg_scene *sc, cvw_rect face, uint8_t *bgr)
{
    for (int y = 0; y < FH; y++)
        for (int x = 0; x < FW; x++)
            for (int c = 0; c < 3; c++)
                bgr[((size_t)y * FW + x) * 3 + c] = (uint8_t)(100 + 30 * (((x / 40) + (y / 40)) & 1));
    const double s = (double)face.w / sc->face.w;
    cvw_rect r = {face.x - (int)lround(sc->face.x * s), face.y - (int)lround(sc->face.y * s),
                  (int)lround(sc->pw * s), (int)lround(sc->ph * s)};
    cvw_paste_bgr(bgr, FW, FH, sc->pic, sc->pw, sc->ph, r);
}

/* Faces as the pipeline finds them: on a copy 320 wide, equalized. */
static int detect(cvw_cascade *cas, const uint8_t *gray, cvw_rect *out)
{
    uint8_t small[320 * 240];
    cvw_resize_gray(gray, FW, FH, small, 320, 240);
    cvw_equalize_gray(small, 320, 240);
    int n = cvw_cascade_detect(cas, small, 320, 240, 1.1, 5, 24, 0, out, 8);
    n = n > 8 ? 8 : n;
    for (int i = 0; i < n; i++) {
        int x1 = (out[i].x + out[i].w) * 2, y1 = (out[i].y + out[i].h) * 2;
        out[i].x *= 2;
        out[i].y *= 2;
        out[i].w = (x1 > FW ? FW : x1) - out[i].x;
        out[i].h = (y1 > FH ? FH : y1) - out[i].y;
    }
    return n < 0 ? 0 : n;
}

static void box_blur(uint8_t *g, int w, int h, int r)
{
    uint8_t *t = malloc((size_t)w * h);
    for (int pass = 0; pass < 3; pass++)
        for (int dir = 0; dir < 2; dir++) {
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    int s = 0, n = 0;
                    for (int d = -r; d <= r; d++) {
                        int xx = dir ? x : x + d, yy = dir ? y + d : y;
                        if (xx >= 0 && xx < w && yy >= 0 && yy < h) {
                            s += g[yy * w + xx];
                            n++;
                        }
                    }
                    t[y * w + x] = (uint8_t)(s / n);
                }
            memcpy(g, t, (size_t)w * h);
        }
    free(t);
}

static hints_kind assess(cvw_cascade *cas, const uint8_t *gray, const cvw_rect *last, int *n_out)
{
    cvw_rect boxes[8];
    int n = detect(cas, gray, boxes);
    if (n_out)
        *n_out = n;
    return hints_assess(gray, FW, FH, boxes, n, last, cas, HINTS_LOOK_ALL, 0.1);
}

static void check_hints(const fg_scene *sc, cvw_cascade *cas)
{
    uint8_t *bgr = malloc((size_t)FW * FH * 3), *gray = malloc((size_t)FW * FH),
            *g2 = malloc((size_t)FW * FH);
    int n = 0;
    /* good frames: faces of a few sizes and places, none at an edge */
    const cvw_rect good[3] = {{220, 120, 200, 200}, {120, 150, 160, 160}, {380, 80, 180, 180}};
    for (int i = 0; i < 3; i++) {
        compose(sc, good[i], bgr);
        cvw_bgr_to_gray(bgr, FW, FH, gray);
        hints_kind k = assess(cas, gray, NULL, &n);
        CHECK_MSG(n >= 1 && k == HINTS_NONE, "good frame %d: %d faces, hint '%s'", i, n,
                  hints_name(k));
    }
    compose(sc, good[0], bgr);
    cvw_bgr_to_gray(bgr, FW, FH, gray);
    /* darkened, brightened */
    for (size_t i = 0; i < (size_t)FW * FH; i++)
        g2[i] = (uint8_t)(gray[i] * 0.15);
    hints_kind k = assess(cas, g2, NULL, NULL);
    CHECK_MSG(k == HINTS_DARK, "darkened: '%s'", hints_name(k));
    for (size_t i = 0; i < (size_t)FW * FH; i++)
        g2[i] = (uint8_t)(255 - (255 - gray[i]) * 0.15);
    k = assess(cas, g2, NULL, NULL);
    CHECK_MSG(k == HINTS_BRIGHT, "brightened: '%s'", hints_name(k));
    /* blurred */
    memcpy(g2, gray, (size_t)FW * FH);
    box_blur(g2, FW, FH, 5);
    k = assess(cas, g2, NULL, &n);
    CHECK_MSG(k == HINTS_BLUR, "blurred (%d faces found): '%s'", n, hints_name(k));
    /* shrunk: a face found but small, and one too small to be found */
    const int sizes[2] = {60, 36};
    for (int i = 0; i < 2; i++) {
        compose(sc, (cvw_rect){300, 200, sizes[i], sizes[i]}, bgr);
        cvw_bgr_to_gray(bgr, FW, FH, g2);
        k = assess(cas, g2, NULL, &n);
        CHECK_MSG(k == HINTS_SMALL, "face %d px (%d found): '%s'", sizes[i], n, hints_name(k));
    }
    /* each look only when asked for (person.c drops the turned look when
     * the pipeline turns) */
    compose(sc, (cvw_rect){300, 200, 36, 36}, bgr);
    cvw_bgr_to_gray(bgr, FW, FH, g2);
    k = hints_assess(g2, FW, FH, NULL, 0, NULL, cas, HINTS_LOOK_TILT, 0.1);
    CHECK_MSG(k == HINTS_NONE, "36 px, turned look only: '%s'", hints_name(k));
    k = hints_assess(g2, FW, FH, NULL, 0, NULL, cas, HINTS_LOOK_SMALL, 0.1);
    CHECK_MSG(k == HINTS_SMALL, "36 px, small look only: '%s'", hints_name(k));
    hints_rotate(gray, FW, FH, 30.0, g2);
    k = hints_assess(g2, FW, FH, NULL, 0, NULL, cas, HINTS_LOOK_SMALL, 0.1);
    CHECK_MSG(k == HINTS_NONE, "tilted, small look only: '%s'", hints_name(k));
    /* cut off by the left edge: found there, or lost there */
    compose(sc, (cvw_rect){-50, 140, 200, 200}, bgr);
    cvw_bgr_to_gray(bgr, FW, FH, g2);
    const cvw_rect was = {0, 140, 150, 200};
    k = assess(cas, g2, &was, &n);
    CHECK_MSG(k == HINTS_EDGE, "cut off (%d found): '%s'", n, hints_name(k));
    /* tilted both ways */
    for (int s = -1; s <= 1; s += 2) {
        hints_rotate(gray, FW, FH, s * 30.0, g2);
        k = assess(cas, g2, NULL, &n);
        CHECK_MSG(k == HINTS_TILT, "tilted %d degrees (%d found): '%s'", s * 30, n, hints_name(k));
    }
    /* an empty room is not the person's fault; a face that was just in the
     * middle of it and is found by no look has turned away */
    compose(sc, (cvw_rect){-2000, -2000, 200, 200}, bgr);
    cvw_bgr_to_gray(bgr, FW, FH, g2);
    k = assess(cas, g2, NULL, &n);
    CHECK_MSG(n == 0 && k == HINTS_NONE, "no face (%d found): '%s'", n, hints_name(k));
    k = assess(cas, g2, &good[0], &n);
    CHECK_MSG(n == 0 && k == HINTS_TILT, "a face gone from the middle: '%s'", hints_name(k));
    free(bgr);
    free(gray);
    free(g2);
}

/* When the second looks run: not for a face gone for a moment, at the
 * third face-free assessment of a run, then every twelfth. */
static void check_look_schedule(void)
{
    person p;
    memset(&p, 0, sizeof p);
    int looks = 0;
    for (int gap = 0; gap < 5; gap++) { /* gaps of two, a face between */
        looks += person_look_due(&p, 0);
        looks += person_look_due(&p, 0);
        looks += person_look_due(&p, 2);
    }
    CHECK_MSG(looks == 0, "%d looks in short gaps", looks);
    int at[4], n = 0;
    for (int i = 1; i <= 30 && n < 4; i++)
        if (person_look_due(&p, 0))
            at[n++] = i;
    CHECK_MSG(n == 3 && at[0] == 3 && at[1] == 15 && at[2] == 27, "looks at %d %d %d (%d)",
              n > 0 ? at[0] : -1, n > 1 ? at[1] : -1, n > 2 ? at[2] : -1, n);
    CHECK(!person_look_due(&p, 1));
    CHECK(!person_look_due(&p, 0) && !person_look_due(&p, 0)); /* a new run starts over */
}

/* ---- the hint's place ------------------------------------------------------- */

static void check_hint_place(void)
{
    const int sw = 800, sh = 600, lh = 24, tw = 400, th = 24;
    /* the bottom, the top and the middle taken in turn */
    SDL_Rect faces[3] = {{300, 480, 200, 100}, {100, 20, 600, 80}, {100, 200, 600, 200}};
    for (int n = 0; n <= 3; n++) {
        SDL_Point at = ui_person_hint_place(tw, th, faces, n, sw, sh, lh);
        SDL_Rect r = {at.x, at.y, tw, th};
        for (int i = 0; i < n; i++)
            CHECK(!SDL_HasIntersection(&r, &faces[i]));
        CHECK(at.x >= 0 && at.y >= 0 && at.x + tw <= sw && at.y + th <= sh);
    }
    /* the key help: at the bottom, unless a panel is there */
    for (int lines = 1; lines <= 2; lines++) {
        int y = ui_person_help_y(lines, faces + 1, 2, sw, sh, lh);
        CHECK_MSG(y + lines * lh <= sh && y > sh / 2, "help at %d with the bottom free", y);
        y = ui_person_help_y(lines, faces, 1, sw, sh, lh);
        SDL_Rect help = {0, y, sw, lines * lh};
        CHECK_MSG(y < sh / 2 && !SDL_HasIntersection(&help, &faces[0]),
                  "help at %d with a panel at the bottom", y);
    }
}

/* ---- probability panels of several faces ------------------------------------- */

/* Faces of a group photo, side by side in two rows: every panel must be
 * on screen and clear of every face, its label, and every other panel. */
static void check_panels(void)
{
    const char *src = getenv("NN_TEST_SRCDIR");
    char font[4200], bold[4200];
    snprintf(font, sizeof font, "%s/assets/DejaVuSans.ttf", src ? src : ".");
    snprintf(bold, sizeof bold, "%s/assets/DejaVuSans-Bold.ttf", src ? src : ".");
    SDL_setenv("SDL_VIDEODRIVER", "dummy", 1);
    CHECK(SDL_Init(SDL_INIT_VIDEO) == 0);
    CHECK(TTF_Init() == 0);
    const int sw = 1280, sh = 720;
    SDL_Surface *s = SDL_CreateRGBSurfaceWithFormat(0, sw, sh, 32, SDL_PIXELFORMAT_ARGB8888);
    SDL_Renderer *r = s ? SDL_CreateSoftwareRenderer(s) : NULL;
    overlay_ctx *o = r ? overlay_new(r, font, bold) : NULL;
    CHECK_MSG(o != NULL, "%s", app_error());
    if (o) {
        overlay_set_screen(o, sh);
        const int lh = overlay_line_height(o);
        /* close together: no panel fits beside or below its own face */
        SDL_Rect faces[6], panels[6];
        for (int i = 0; i < 6; i++)
            faces[i] = (SDL_Rect){40 + (i % 3) * 300, 60 + (i / 3) * 250, 180, 180};
        overlay_layout_panels(o, faces, 6, 7, sw, sh, panels);
        int bad = 0;
        for (int i = 0; i < 6; i++) {
            SDL_Rect p = panels[i];
            bad += p.x < 0 || p.y < 0 || p.x + p.w > sw || p.y + p.h > sh;
            for (int j = 0; j < 6; j++) {
                SDL_Rect f = {faces[j].x, faces[j].y - lh, faces[j].w, faces[j].h + lh};
                bad += SDL_HasIntersection(&p, &f);
                bad += j < i && SDL_HasIntersection(&p, &panels[j]);
            }
        }
        CHECK_MSG(bad == 0, "%d panel overlaps or panels off screen", bad);
        overlay_free(o);
    }
    if (r)
        SDL_DestroyRenderer(r);
    SDL_FreeSurface(s);
    TTF_Quit();
    SDL_Quit();
}

/* ---- --blur in a recording --------------------------------------------------- */

static double lap_var(const uint8_t *g, int w, cvw_rect r)
{
    double s = 0, ss = 0;
    long n = 0;
    for (int y = r.y + 1; y < r.y + r.h - 1; y++)
        for (int x = r.x + 1; x < r.x + r.w - 1; x++) {
            const size_t i = (size_t)y * w + x;
            double l = (double)g[i - 1] + g[i + 1] + g[i - w] + g[i + w] - 4.0 * g[i];
            s += l;
            ss += l * l;
            n++;
        }
    return n ? ss / n - (s / n) * (s / n) : 0;
}

static void check_blur(const char *exe, const char *dir, const fg_scene *sc)
{
    char vid[4200], model[4200], rec[2][4200], out[4200], err[4200];
    snprintf(vid, sizeof vid, "%s/faces.avi", dir);
    snprintf(model, sizeof model, "%s/test.model", dir);
    snprintf(rec[0], sizeof rec[0], "%s/plain.avi", dir);
    snprintf(rec[1], sizeof rec[1], "%s/blurred.avi", dir);
    snprintf(out, sizeof out, "%s/out.txt", dir);
    snprintf(err, sizeof err, "%s/err.txt", dir);
    CHECK_MSG(fg_write_video(sc, vid, 10) == 0, "%s", cvw_error());
    CHECK(make_test_model(model) == 0);
    for (int b = 0; b < 2; b++) {
        char *args[] = {(char *)exe, "--headless", "-q", "--input", vid, "--model", model,
                        "--record", rec[b], "--detect-every", "1", b ? "--blur" : NULL, NULL};
        int rc = rp_run(args, out, err, 120, NULL);
        CHECK_MSG(rc == 0, "emotion-detect %s exited %d", b ? "--blur" : "", rc);
    }
    cvw_capture *cap[2] = {cvw_capture_open_file(rec[0]), cvw_capture_open_file(rec[1])};
    CHECK(cap[0] && cap[1]);
    const int w = sc->frame_w, h = sc->frame_h;
    uint8_t *px[2] = {malloc((size_t)w * h * 3), malloc((size_t)w * h * 3)};
    uint8_t *gr[2] = {malloc((size_t)w * h), malloc((size_t)w * h)};
    uint8_t *outside = malloc((size_t)w * h);
    double e_plain = 0, e_blur = 0, diff = 0;
    long n_out = 0;
    int frames = 0;
    for (int i = 0; cap[0] && cap[1] && i < sc->n_frames; i++) {
        int fw, fh;
        if (cvw_capture_read(cap[0], px[0], (size_t)w * h * 3, &fw, &fh) != 1 ||
            cvw_capture_read(cap[1], px[1], (size_t)w * h * 3, &fw, &fh) != 1)
            break;
        cvw_bgr_to_gray(px[0], w, h, gr[0]);
        cvw_bgr_to_gray(px[1], w, h, gr[1]);
        cvw_rect pics[FG_MAX_FACES], faces[FG_MAX_FACES];
        fg_layout(sc, i, pics, faces);
        memset(outside, 1, (size_t)w * h);
        for (int f = 0; f < sc->n_faces; f++) {
            /* inside: the face's middle, clear of the box outline drawn on it */
            cvw_rect in = {faces[f].x + faces[f].w / 5, faces[f].y + faces[f].h / 5,
                           faces[f].w * 3 / 5, faces[f].h * 3 / 5};
            e_plain += lap_var(gr[0], w, in);
            e_blur += lap_var(gr[1], w, in);
        }
        /* outside: beyond the blurred regions of this frame's faces and
         * of the last frames' (--blur keeps covering those a while), with
         * a margin for the detector's boxes being a little off the true */
        for (int back = 0; back <= 15 && back <= i; back++) {
            fg_layout(sc, i - back, pics, faces);
            for (int f = 0; f < sc->n_faces; f++) {
                cvw_rect big = privacy_region(faces[f], w, h);
                for (int y = big.y - big.h / 4; y < big.y + big.h * 5 / 4; y++)
                    for (int x = big.x - big.w / 4; x < big.x + big.w * 5 / 4; x++)
                        if (x >= 0 && y >= 0 && x < w && y < h)
                            outside[(size_t)y * w + x] = 0;
            }
        }
        for (size_t j = 0; j < (size_t)w * h; j++)
            if (outside[j]) {
                diff += abs((int)gr[0][j] - (int)gr[1][j]);
                n_out++;
            }
        frames++;
    }
    CHECK_MSG(frames == sc->n_frames, "%d frames read back", frames);
    printf("--blur: faces' Laplacian variance %.1f (plain %.1f); outside, mean |difference| %.2f\n",
           e_blur / (frames ? frames : 1), e_plain / (frames ? frames : 1),
           n_out ? diff / n_out : -1.0);
    CHECK_MSG(e_blur < 0.05 * e_plain, "faces' high-frequency energy near zero: %.1f vs %.1f",
              e_blur, e_plain);
    CHECK_MSG(n_out > 0 && diff / n_out < 0.2, "the rest unchanged: mean difference %.2f",
              n_out ? diff / n_out : -1.0);
    for (int b = 0; b < 2; b++) {
        cvw_capture_close(cap[b]);
        free(px[b]);
        free(gr[b]);
    }
    free(outside);
}

/* ---- the program's log: calibrated and hint ---------------------------------- */

static int count(const char *text, const char *what)
{
    int n = 0;
    for (const char *p = text; p && (p = strstr(p, what)); p += strlen(what))
        n++;
    return n;
}

/* The n-th line of text (0-based), as a pointer into it, or NULL. */
static const char *line_at(const char *text, int n)
{
    for (const char *p = text; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (n-- == 0)
            return *p ? p : NULL;
    return NULL;
}

static void check_logs(const char *exe, const char *dir, const fg_scene *sc)
{
    char vid[4200], dark[4200], img[4200], model[4200], log[4200], out[4200], err[4200];
    snprintf(vid, sizeof vid, "%s/faces.avi", dir);
    snprintf(dark, sizeof dark, "%s/dark.avi", dir);
    snprintf(img, sizeof img, "%s/dark.png", dir);
    snprintf(model, sizeof model, "%s/test.model", dir);
    snprintf(log, sizeof log, "%s/log.jsonl", dir);
    snprintf(out, sizeof out, "%s/out.txt", dir);
    snprintf(err, sizeof err, "%s/err.txt", dir);
    /* 20 frames at 10 per second, the faces too dark; and one as a picture */
    const int w = sc->frame_w, h = sc->frame_h;
    uint8_t *px = calloc((size_t)w * h * 3 + CVW_WRITER_PAD, 1);
    cvw_writer *wr = cvw_writer_open(dark, 10, w, h);
    CHECK(wr != NULL);
    for (int i = 0; wr && i < 20; i++) {
        fg_render(sc, i % sc->n_frames, px);
        for (size_t j = 0; j < (size_t)w * h * 3; j++)
            px[j] = (uint8_t)(px[j] * 0.15);
        CHECK(cvw_writer_write(wr, px) == 0);
        if (i == 0)
            CHECK(cvw_write_image(img, px, w, h, 3) == 0);
    }
    CHECK(cvw_writer_close(wr) == 0);
    free(px);
    char *e = NULL;

    /* --calibrate 0.5: no face calibrated in the first half second of the
     * clip (frames 0..4), the face calibrated at the end. This
     * short clip moves a frame-filling picture far enough between frames
     * that the scene-cut test sees a cut at frame 4: the face gets a new
     * track there, and the calibration in progress must follow it. */
    char *a1[] = {(char *)exe, "--headless", "-q", "--input", vid, "--model", model, "--log", log,
                  "--detect-every", "1", "--calibrate", "0.5", NULL};
    CHECK(rp_run(a1, out, err, 120, NULL) == 0);
    e = rp_slurp(log);
    CHECK(e != NULL);
    int early = 0, late = 0;
    for (int i = 0; e && i < sc->n_frames; i++) {
        const char *l = line_at(e, i), *nl = l ? strchr(l, '\n') : NULL;
        int cal = l && nl && strstr(l, "\"calibrated\":true") && strstr(l, "\"calibrated\":true") < nl;
        if (i < 5)
            early += cal;
        if (i >= sc->n_frames - 2)
            late += cal;
    }
    CHECK_MSG(early == 0 && late == 2, "calibrated: %d early frames, %d of the last 2", early, late);
    CHECK(count(e, "\"hint\"") == 0); /* good frames need no advice */
    free(e);
    /* without it: never */
    char *a2[] = {(char *)exe, "--overwrite",
                  "--headless", "-q", "--input", vid, "--model", model, "--log", log,
                  NULL};
    CHECK(rp_run(a2, out, err, 120, NULL) == 0);
    e = rp_slurp(log);
    CHECK(e && count(e, "calibrated") == 0);
    free(e);
    /* the dark clip: the hint, once three looks agree */
    char *a3[] = {(char *)exe, "--overwrite",
                  "--headless", "-q", "--input", dark, "--model", model, "--log", log,
                  NULL};
    CHECK(rp_run(a3, out, err, 120, NULL) == 0);
    e = rp_slurp(log);
    CHECK_MSG(e && count(e, "\"hint\":\"too dark\"") >= 5 && count(e, "\"hint\"") ==
              count(e, "\"hint\":\"too dark\""), "%s", e ? e : "");
    free(e);
    /* a still picture: no hint, it cannot be followed */
    char *a4[] = {(char *)exe, "--overwrite",
                  "--headless", "-q", "--input", img, "--model", model, "--log", log,
                  NULL};
    CHECK(rp_run(a4, out, err, 120, NULL) == 0);
    e = rp_slurp(log);
    CHECK(e && count(e, "\"frame\"") == 1 && count(e, "hint") == 0);
    free(e);
}

/* ---- stills: nothing of the person carries from one picture to the next ----------- */

/* A folder of pictures of one face, each classified on its own:
 * --calibrate is ignored with one warning (it used to calibrate on the
 * first pictures and correct the next ones, taking them for the same
 * person: their made-up times 1 s apart, their boxes overlapping), so the
 * log is the one without it, byte for byte; key c says there is no
 * calibration. And --blur covers each picture's own faces only, not where
 * the last picture's were. */
static void check_stills(const char *exe, const char *dir, const fg_scene *sc)
{
    char fold[4200], img[4300], model[4200], log[2][4200], out[4200], err[4200];
    snprintf(fold, sizeof fold, "%s/stills", dir);
    snprintf(model, sizeof model, "%s/test.model", dir);
    snprintf(log[0], sizeof log[0], "%s/stills.jsonl", dir);
    snprintf(log[1], sizeof log[1], "%s/stills-cal.jsonl", dir);
    snprintf(out, sizeof out, "%s/out.txt", dir);
    snprintf(err, sizeof err, "%s/err.txt", dir);
    CHECK(mkdir(fold, 0755) == 0);
    const int w = sc->frame_w, h = sc->frame_h;
    uint8_t *px = malloc((size_t)w * h * 3);
    for (int i = 0; px && i < 6; i++) {
        snprintf(img, sizeof img, "%s/p%d.png", fold, i);
        CHECK(fg_render(sc, i, px) == 0 && cvw_write_image(img, px, w, h, 3) == 0);
    }
    free(px);
    for (int c = 0; c < 2; c++) {
        char *args[] = {(char *)exe, "--headless", "-q", "--input", fold, "--model", model,
                        "--log", log[c], c ? "--calibrate" : NULL, "1", NULL};
        CHECK(rp_run(args, out, err, 120, NULL) == 0);
        char *e = rp_slurp(err);
        CHECK_MSG(e && count(e, "--calibrate ignored") == c && (!c || strstr(e, "folder of images")),
                  "%s", e ? e : "");
        free(e);
    }
    char *a = rp_slurp(log[0]), *b = rp_slurp(log[1]);
    CHECK(a && count(a, "\"frame\"") == 6 && count(a, "\"id\"") >= 5);
    CHECK_MSG(a && b && !strcmp(a, b) && !strstr(b, "calibrated"),
              "--calibrate on stills changed the log:\n%s\n%s", a ? a : "", b ? b : "");
    free(a);
    free(b);

    /* in-process: key c, and --blur on two pictures whose faces are apart
     * over a textured background */
    const int W = 640, H = 240;
    char blurf[4200];
    snprintf(blurf, sizeof blurf, "%s/blur-stills", dir);
    CHECK(mkdir(blurf, 0755) == 0);
    uint8_t *bg = malloc((size_t)W * H * 3);
    uint64_t seed = 5;
    for (int k = 0; k < 2 && bg; k++) {
        for (size_t j = 0; j < (size_t)W * H * 3; j++)
            bg[j] = (uint8_t)(80 + 100 * uniform(&seed));
        cvw_rect at = {k ? W - 190 : 30, 30, 180, 180};
        CHECK(cvw_paste_bgr(bg, W, H, sc->pic, sc->pw, sc->ph, at) == 0);
        snprintf(img, sizeof img, "%s/%c.png", blurf, 'a' + k);
        CHECK(cvw_write_image(img, bg, W, H, 3) == 0);
    }
    free(bg);
    char *args[] = {"emotion-detect", "--headless", "-q", "--input", blurf, "--model", model,
                    "--blur", NULL};
    opts o;
    opts_defaults(&o);
    CHECK(opts_parse(&o, 8, args, stdout, stderr) == OPTS_RUN);
    static app ap;
    memset(&ap, 0, sizeof ap);
    app_status st = app_setup(&ap, &o);
    if (st == APP_READY)
        st = app_open_source(&ap);
    CHECK_MSG(st == APP_READY, "%s", app_error());
    const char *m = st == APP_READY ? person_toggle_calibration(&ap) : NULL;
    CHECK_MSG(m && strstr(m, "no calibration for still images"), "key c: %s", m ? m : "");
    const source_frame *f;
    int frames = 0, faces[2] = {0, 0}, changed_outside = 0, blurred_inside = 0;
    while (st == APP_READY && source_next(ap.src, &f, -1) == SOURCE_FRAME) {
        CHECK_MSG(app_step(&ap, f) == 0, "%s", app_error());
        const uint8_t *shown = person_pixels(&ap, f);
        if (frames < 2)
            faces[frames] = ap.last.n;
        for (int y = 0; y < f->h; y++)
            for (int x = 0; x < f->w; x++) {
                int in = 0;
                for (int i = 0; i < ap.last.n; i++) {
                    const cvw_rect r = privacy_region(ap.last.faces[i].box, f->w, f->h);
                    in |= x >= r.x && x < r.x + r.w && y >= r.y && y < r.y + r.h;
                }
                const size_t at = ((size_t)y * f->w + x) * 3;
                const int same = !memcmp(shown + at, f->bgr + at, 3);
                changed_outside += !in && !same;
                blurred_inside += in && !same;
            }
        frames++;
    }
    CHECK_MSG(frames == 2 && faces[0] >= 1 && faces[1] >= 1, "%d pictures, faces %d and %d",
              frames, faces[0], faces[1]);
    CHECK(blurred_inside > 1000);
    CHECK_MSG(changed_outside == 0, "--blur changed %d pixels away from the picture's faces",
              changed_outside);
    app_close_outputs(&ap);
    app_teardown(&ap);
}

/* ---- the same in a CSV log: its last two columns --------------------------------- */

/* Field i (0-based) of the CSV line at l, copied into out; the line's
 * field count. */
static int csv_field(const char *l, int i, char *out, size_t len)
{
    int n = 0;
    out[0] = 0;
    for (const char *p = l;; n++) {
        const char *end = p + strcspn(p, ",\n");
        if (n == i)
            snprintf(out, len, "%.*s", (int)(end - p), p);
        if (*end != ',')
            return n + 1;
        p = end + 1;
    }
}

static void check_csv_log(const char *exe, const char *dir, const fg_scene *sc)
{
    char vid[4200], dark[4200], model[4200], csv[4200], out[4200], err[4200], f[64];
    snprintf(vid, sizeof vid, "%s/faces.avi", dir);
    snprintf(dark, sizeof dark, "%s/dark.avi", dir); /* made by check_logs */
    snprintf(model, sizeof model, "%s/test.model", dir);
    snprintf(csv, sizeof csv, "%s/log.csv", dir);
    snprintf(out, sizeof out, "%s/out.txt", dir);
    snprintf(err, sizeof err, "%s/err.txt", dir);
    const int hint_col = 9 + K, cal_col = 10 + K;
    /* --calibrate 0.5: calibrated 0 on the first half second's rows, 1 on
     * the last two frames' */
    char *a1[] = {(char *)exe, "--headless", "-q", "--input", vid, "--model", model, "--log", csv,
                  "--detect-every", "1", "--calibrate", "0.5", NULL};
    CHECK(rp_run(a1, out, err, 120, NULL) == 0);
    char *e = rp_slurp(csv);
    const char *hdr = e;
    CHECK_MSG(e && csv_field(hdr, hint_col, f, sizeof f) == K + 11 && !strcmp(f, "hint"), "%s",
              e ? e : "");
    CHECK(e && csv_field(hdr, cal_col, f, sizeof f) == K + 11 && !strcmp(f, "calibrated"));
    int early = 0, early_rows = 0, late = 0, hinted = 0, bad = 0;
    for (int i = 1; e && line_at(e, i); i++) {
        const char *l = line_at(e, i);
        bad += csv_field(l, cal_col, f, sizeof f) != K + 11;
        const int frame = atoi(l);
        if (frame < 5)
            early += !strcmp(f, "1"), early_rows += !strcmp(f, "0");
        if (frame >= sc->n_frames - 2)
            late += !strcmp(f, "1");
        csv_field(l, hint_col, f, sizeof f);
        hinted += f[0] != 0;
    }
    CHECK_MSG(early == 0 && early_rows >= 5 && late >= 2 && hinted == 0 && bad == 0,
              "CSV calibrated: %d of %d early rows, %d late; %d hints; %d rows miscounted", early,
              early + early_rows, late, hinted, bad);
    free(e);
    /* the dark clip: the hint on its rows, "too dark" only */
    char *a2[] = {(char *)exe, "--overwrite",
                  "--headless", "-q", "--input", dark, "--model", model, "--log", csv,
                  NULL};
    CHECK(rp_run(a2, out, err, 120, NULL) == 0);
    e = rp_slurp(csv);
    int dark_rows = 0, other = 0;
    bad = 0;
    for (int i = 1; e && line_at(e, i); i++) {
        bad += csv_field(line_at(e, i), hint_col, f, sizeof f) != K + 11;
        dark_rows += !strcmp(f, "too dark");
        other += f[0] && strcmp(f, "too dark");
    }
    CHECK_MSG(dark_rows >= 5 && other == 0 && bad == 0, "CSV hint: %d rows too dark, %d other, "
              "%d miscounted:\n%s", dark_rows, other, bad, e ? e : "");
    free(e);
}

/* ---- options ------------------------------------------------------------------- */

static opts_status parse(opts *o, char *a1, char *a2)
{
    char *argv[] = {"emotion-detect", a1, a2, NULL};
    opts_defaults(o);
    FILE *null = fopen("/dev/null", "w");
    opts_status rc = opts_parse(o, a2 ? 3 : 2, argv, null, null);
    fclose(null);
    return rc;
}

static void check_options(void)
{
    opts o;
    CHECK(parse(&o, "--calibrate", "3") == OPTS_RUN && o.calibrate_s == 3.0);
    CHECK(parse(&o, "--calibrate", "0") == OPTS_BAD_USAGE);
    CHECK(parse(&o, "--calibrate", "soon") == OPTS_BAD_USAGE);
    CHECK(parse(&o, "--blur", NULL) == OPTS_RUN && o.blur == 1);
    CHECK(parse(&o, "--idle", "20") == OPTS_RUN && o.idle_s == 20.0);
    CHECK(parse(&o, "--idle", "0") == OPTS_BAD_USAGE);
    CHECK(parse(&o, "--idle", "-1") == OPTS_BAD_USAGE);
    CHECK(parse(&o, "--blur", "--blur") == OPTS_BAD_USAGE); /* once */
    CHECK(parse(&o, "-h", NULL) == OPTS_EXIT_OK);
    opts_defaults(&o);
    CHECK(o.calibrate_s == 0 && o.blur == 0 && o.idle_s == 0);
    /* --idle 5: the attract screen 5 s after the last face, not before,
     * and never without the option */
    static app a;
    a.o.idle_s = 5;
    a.pers.ready = 1;
    a.pers.face_wall = 100;
    CHECK(!person_idle(&a, 104.9) && person_idle(&a, 105.0) && person_idle(&a, 500));
    a.o.idle_s = 0;
    CHECK(!person_idle(&a, 500));
}

/* ---- the heat map through app_step -------------------------------------------- */

/* Key g's state set on an app run in-process: every frame with a face is
 * shown (and recorded) as a copy whose face crops carry colour, the rest of
 * the frame as it was. */
static void check_heat(const char *dir)
{
    char vid[4200], model[4200];
    snprintf(vid, sizeof vid, "%s/faces.avi", dir);
    snprintf(model, sizeof model, "%s/test.model", dir);
    char *args[] = {"emotion-detect", "--headless", "-q", "--input", vid, "--model", model,
                    "--detect-every", "1", NULL};
    opts o;
    opts_defaults(&o);
    CHECK(opts_parse(&o, 9, args, stdout, stderr) == OPTS_RUN);
    static app a;
    memset(&a, 0, sizeof a);
    app_status st = app_setup(&a, &o);
    if (st == APP_READY)
        st = app_open_source(&a);
    CHECK_MSG(st == APP_READY, "%s", app_error());
    a.pers.heat = 1; /* key g */
    int frames = 0, with_faces = 0, heated = 0, outside_same = 1;
    const source_frame *f;
    while (st == APP_READY && source_next(a.src, &f, -1) == SOURCE_FRAME) {
        CHECK_MSG(app_step(&a, f) == 0, "%s", app_error());
        frames++;
        const uint8_t *shown = person_pixels(&a, f);
        if (a.last.n == 0)
            continue;
        with_faces++;
        long colour = 0;
        for (int y = 0; y < f->h; y++)
            for (int x = 0; x < f->w; x++) {
                const uint8_t *p = shown + ((size_t)y * f->w + x) * 3;
                const uint8_t *q = f->bgr + ((size_t)y * f->w + x) * 3;
                int in = 0;
                for (int i = 0; i < a.last.n; i++) {
                    const cvw_rect c = a.last.faces[i].crop;
                    in |= x >= c.x && x < c.x + c.w && y >= c.y && y < c.y + c.h;
                }
                if (!in)
                    outside_same &= !memcmp(p, q, 3);
                else
                    colour += abs((int)p[0] - q[0]) + abs((int)p[1] - q[1]) + abs((int)p[2] - q[2]) > 30;
            }
        heated += colour > 50;
    }
    CHECK(frames > 0 && with_faces > 0);
    CHECK_MSG(heated == with_faces, "heat maps on %d of %d frames with faces", heated, with_faces);
    CHECK(outside_same);
    app_close_outputs(&a);
    app_teardown(&a);
}

/* ---- emotion-train predict --saliency ------------------------------------------ */

static void check_predict(const char *train, const char *dir, const fg_scene *sc)
{
    char model[4200], face[4200], sal[4200], png[4400], out[4200], err[4200];
    snprintf(model, sizeof model, "%s/test.model", dir);
    snprintf(face, sizeof face, "%s/face.png", dir);
    snprintf(sal, sizeof sal, "%s/saliency", dir);
    snprintf(png, sizeof png, "%s/face.png", sal);
    snprintf(out, sizeof out, "%s/out.txt", dir);
    snprintf(err, sizeof err, "%s/err.txt", dir);
    /* the face of the picture, as the detector frames it */
    const cvw_rect f = sc->face;
    uint8_t *crop = malloc((size_t)f.w * f.h * 3);
    for (int y = 0; y < f.h; y++)
        memcpy(crop + (size_t)y * f.w * 3, sc->pic + ((size_t)(f.y + y) * sc->pw + f.x) * 3,
               (size_t)f.w * 3);
    CHECK(cvw_write_image(face, crop, f.w, f.h, 3) == 0);
    free(crop);
    char *a1[] = {(char *)train, "predict", "--model", model, "--saliency", sal, face, NULL};
    CHECK(rp_run(a1, out, err, 120, NULL) == 0);
    char *o = rp_slurp(out);
    CHECK(o && count(o, "\"emotion\"") == 1);
    free(o);
    uint8_t *px = NULL;
    int w = 0, h = 0;
    CHECK_MSG(cvw_read_bgr(png, &px, &w, &h) == 0, "%s", cvw_error());
    CHECK(w == 4 * 48 && h == 4 * 48);
    /* a gray face with a coloured heat map over part of it */
    long coloured = 0;
    for (long i = 0; px && i < (long)w * h; i++) {
        const uint8_t *p = px + 3 * i;
        const int hi = p[0] > p[1] ? (p[0] > p[2] ? p[0] : p[2]) : (p[1] > p[2] ? p[1] : p[2]);
        const int lo = p[0] < p[1] ? (p[0] < p[2] ? p[0] : p[2]) : (p[1] < p[2] ? p[1] : p[2]);
        coloured += hi - lo > 40;
    }
    CHECK_MSG(coloured > (long)w * h / 50 && coloured < (long)w * h * 9 / 10,
              "%ld of %d pixels coloured", coloured, w * h);
    free(px);
    /* a folder that cannot be made: exit 1, one line */
    char *a2[] = {(char *)train, "predict", "--model", model, "--saliency", "/proc/no/such", face,
                  NULL};
    CHECK(rp_run(a2, out, err, 120, NULL) == 1);
    char *e = rp_slurp(err);
    CHECK(e && count(e, "\n") == 1 && strstr(e, "--saliency"));
    free(e);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: test_detect_person EMOTION-DETECT EMOTION-TRAIN\n");
        return 2;
    }
    check_neutral();
    check_options();
    check_look_schedule();
    check_hint_place();
    check_panels();
    const char *src = getenv("NN_TEST_SRCDIR");
    char dir[4096], pic[4200], cas[4200], errmsg[512];
    snprintf(pic, sizeof pic, "%s/assets/astronaut.png", src ? src : ".");
    snprintf(cas, sizeof cas, "%s/cascades/haarcascade_frontalface_default.xml", src ? src : ".");
    fg_scene sc;
    int ok = fg_init(&sc, pic, cas, 320, 240, 12, 1, errmsg, sizeof errmsg) == 0;
    CHECK_MSG(ok, "%s", errmsg);
    cvw_cascade *cascade = cvw_cascade_load(cas);
    CHECK(cascade != NULL);
    if (ok && cascade)
        check_hints(&sc, cascade);
    if (ok && rp_tmpdir(dir, sizeof dir, "detect-person")) {
        check_blur(argv[1], dir, &sc);
        check_logs(argv[1], dir, &sc);
        check_csv_log(argv[1], dir, &sc);
        check_stills(argv[1], dir, &sc);
        check_heat(dir);
        check_predict(argv[2], dir, &sc);
        rp_rmdir(dir);
    }
    cvw_cascade_free(cascade);
    if (ok)
        fg_free(&sc);
    return test_done("test_detect_person");
}
