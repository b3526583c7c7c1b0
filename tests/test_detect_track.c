/* test_detect_track.c - emotion-detect's pure parts: IoU tracking, EMA
 * smoothing, face crop framing and option parsing, on cases worked by hand. */
#include <string.h>

#include "face.h"
#include "opts.h"
#include "pipeline.h"
#include "scene.h"
#include "testutil.h"
#include "track.h"

static void test_iou(void)
{
    track_box a = {0, 0, 10, 10, 0}, b = {5, 0, 10, 10, 0}, c = {20, 20, 5, 5, 0};
    track_box e = {0, 0, 0, 10, 0};
    CHECK_NEAR(track_iou(a, a), 1.0, 1e-6);
    CHECK_NEAR(track_iou(a, b), 50.0 / 150.0, 1e-6);
    CHECK_NEAR(track_iou(b, a), 50.0 / 150.0, 1e-6);
    CHECK_NEAR(track_iou(a, c), 0.0, 0);
    CHECK_NEAR(track_iou(a, e), 0.0, 0);
    track_box inner = {2, 2, 5, 5, 0};
    CHECK_NEAR(track_iou(a, inner), 25.0 / 100.0, 1e-6);
}

static void test_tracks(void)
{
    track_state s;
    const float alpha = 0.5f;
    track_init(&s, 3, alpha, 0.3f, 2);
    int ids[4];
    float sm[4 * 3];

    /* A new face starts a track with its own probabilities. */
    track_box f1[1] = {{100, 100, 50, 50, 0}};
    float p1[3] = {0.2f, 0.7f, 0.1f};
    CHECK(track_update(&s, f1, p1, 1, ids, sm) == 1);
    CHECK(ids[0] == 1);
    for (int c = 0; c < 3; c++)
        CHECK_NEAR(sm[c], p1[c], 0);

    /* Moved a little: same track, smoothed = a*old + (1-a)*new. */
    track_box f2[1] = {{105, 102, 50, 50, 0}};
    float p2[3] = {0.6f, 0.2f, 0.2f};
    track_update(&s, f2, p2, 1, ids, sm);
    CHECK(ids[0] == 1);
    float want[3];
    for (int c = 0; c < 3; c++) {
        want[c] = alpha * p1[c] + (1 - alpha) * p2[c];
        CHECK_NEAR(sm[c], want[c], 1e-6);
    }

    /* A second face far away: new id, fresh probabilities, and the first
     * face keeps its id though it now comes second. */
    track_box f3[2] = {{400, 50, 60, 60, 0}, {106, 101, 50, 50, 0}};
    float p3[6] = {0.1f, 0.1f, 0.8f, 0.6f, 0.2f, 0.2f};
    track_update(&s, f3, p3, 2, ids, sm);
    CHECK(ids[0] == 2);
    CHECK(ids[1] == 1);
    for (int c = 0; c < 3; c++) {
        CHECK_NEAR(sm[c], p3[c], 0);
        CHECK_NEAR(sm[3 + c], alpha * want[c] + (1 - alpha) * p3[3 + c], 1e-6);
    }

    track_box vis[4];
    CHECK(track_visible(&s, vis, 4) == 2);

    /* Face 2 missed twice (max_missed 2): still kept, comes back as 2. */
    track_update(&s, f1, p1, 1, ids, sm);
    CHECK(ids[0] == 1);
    CHECK(track_visible(&s, vis, 4) == 1);
    track_update(&s, f1, p1, 1, ids, sm);
    track_update(&s, f3, p3, 2, ids, sm);
    CHECK(ids[0] == 2);
    CHECK(ids[1] == 1);

    /* Missed three times: dropped; the face that returns is a new track. */
    for (int i = 0; i < 3; i++)
        track_update(&s, f1, p1, 1, ids, sm);
    track_update(&s, f3, p3, 2, ids, sm);
    CHECK(ids[0] == 3);
    CHECK(ids[1] == 1);
    for (int c = 0; c < 3; c++)
        CHECK_NEAR(sm[c], p3[c], 0);

    /* No faces at all: nothing returned, tracks age. */
    CHECK(track_update(&s, NULL, NULL, 0, ids, sm) == 0);
    CHECK(track_visible(&s, vis, 4) == 0);
}

static void test_no_smoothing(void)
{
    track_state s;
    track_init(&s, 2, 0, 0.3f, 1);
    int ids[1];
    float sm[2];
    track_box b[1] = {{0, 0, 10, 10, 0}};
    float p1[2] = {0.9f, 0.1f}, p2[2] = {0.3f, 0.7f};
    track_update(&s, b, p1, 1, ids, sm);
    track_update(&s, b, p2, 1, ids, sm);
    CHECK(ids[0] == 1);
    CHECK_NEAR(sm[0], 0.3, 1e-7);
    CHECK_NEAR(sm[1], 0.7, 1e-7);
}

static void test_greedy_best_overlap(void)
{
    /* Two tracks side by side; detections come in swapped order and each
     * must continue the track it overlaps most. */
    track_state s;
    track_init(&s, 1, 0.5f, 0.1f, 1);
    int ids[2];
    float p[2] = {1, 1};
    track_box a[2] = {{0, 0, 20, 20, 0}, {30, 0, 20, 20, 0}};
    track_update(&s, a, p, 2, ids, NULL);
    CHECK(ids[0] == 1 && ids[1] == 2);
    track_box b[2] = {{28, 0, 20, 20, 0}, {3, 0, 20, 20, 0}};
    track_update(&s, b, p, 2, ids, NULL);
    CHECK(ids[0] == 2);
    CHECK(ids[1] == 1);
}

static void test_crop(void)
{
    /* Centred, square, 1.25 times the longer side. */
    cvw_rect r = face_crop_rect((cvw_rect){100, 100, 80, 80}, 640, 480, 0.25f, 0);
    CHECK(r.w == 100 && r.h == 100);
    CHECK(r.x == 90 && r.y == 90);
    r = face_crop_rect((cvw_rect){100, 100, 60, 80}, 640, 480, 0.25f, 0);
    CHECK(r.w == 100 && r.h == 100);
    CHECK(r.x == 80 && r.y == 90);
    /* Near the edge: moved inside, not cut. */
    r = face_crop_rect((cvw_rect){0, 0, 80, 80}, 640, 480, 0.25f, 0);
    CHECK(r.x == 0 && r.y == 0 && r.w == 100);
    r = face_crop_rect((cvw_rect){600, 440, 40, 40}, 640, 480, 0.5f, 0);
    CHECK(r.w == 60 && r.x == 580 && r.y == 420);
    /* Larger than the frame: as large as the frame allows. */
    r = face_crop_rect((cvw_rect){10, 10, 300, 300}, 320, 240, 0.25f, 0);
    CHECK(r.w == 240 && r.h == 240 && r.x >= 0 && r.x + r.w <= 320 && r.y == 0);
    /* Shifted up by a tenth of the box, then kept inside the frame. */
    r = face_crop_rect((cvw_rect){100, 100, 80, 80}, 640, 480, 0.5f, 0.1f);
    CHECK(r.w == 120 && r.x == 80 && r.y == 72);
    r = face_crop_rect((cvw_rect){100, 10, 80, 80}, 640, 480, 0.5f, 0.1f);
    CHECK(r.w == 120 && r.y == 0);
    /* Margin 0: the box itself when square. */
    r = face_crop_rect((cvw_rect){10, 20, 30, 30}, 320, 240, 0, 0);
    CHECK(r.x == 10 && r.y == 20 && r.w == 30);
}

static opts_status parse(opts *o, const char *line)
{
    static char buf[512]; /* o keeps pointers into it */
    char *argv[32];
    int argc = 0;
    snprintf(buf, sizeof buf, "%s", line);
    argv[argc++] = "emotion-detect";
    for (char *t = strtok(buf, " "); t && argc < 31; t = strtok(NULL, " "))
        argv[argc++] = t;
    argv[argc] = NULL;
    opts_defaults(o);
    FILE *out = tmpfile(), *err = tmpfile();
    opts_status rc = opts_parse(o, argc, argv, out, err);
    fclose(out);
    fclose(err);
    return rc;
}

static void test_opts(void)
{
    opts o;
    CHECK(parse(&o, "--headless --input x.mp4 --log a.jsonl --max-frames 10 --smooth 0") == OPTS_RUN);
    CHECK(o.headless && o.input && !strcmp(o.input, "x.mp4") && o.max_frames == 10);
    CHECK(o.smooth == 0);
    CHECK(parse(&o, "--scale-factor 1.2 --min-neighbors 3 --min-face 0.2 --detect-width 0") == OPTS_RUN);
    CHECK_NEAR(o.scale_factor, 1.2, 1e-12);
    CHECK(o.min_neighbors == 3 && o.detect_width == 0);
    CHECK(parse(&o, "-c 1") == OPTS_RUN && o.camera == 1 && o.camera_given);
    CHECK(parse(&o, "--help") == OPTS_EXIT_OK);
    CHECK(parse(&o, "--version") == OPTS_EXIT_OK);
    CHECK(parse(&o, "--bogus") == OPTS_BAD_USAGE);
    CHECK(parse(&o, "-z") == OPTS_BAD_USAGE);
    CHECK(parse(&o, "--threads two") == OPTS_BAD_USAGE);
    CHECK(parse(&o, "--threads 0") == OPTS_BAD_USAGE);
    CHECK(parse(&o, "--scale-factor 1.0") == OPTS_BAD_USAGE);
    CHECK(parse(&o, "--smooth 1") == OPTS_BAD_USAGE);
    CHECK(parse(&o, "--max-frames 5x") == OPTS_BAD_USAGE);
    CHECK(parse(&o, "--input") == OPTS_BAD_USAGE);
    CHECK(parse(&o, "stray") == OPTS_BAD_USAGE);
    CHECK(parse(&o, "--kiosk --headless") == OPTS_BAD_USAGE);
    /* The detector's stages and preparation. */
    CHECK(parse(&o, "--without roi,roll --prep clahe --still-min-face 0.02") == OPTS_RUN);
    CHECK(o.without == (PIPELINE_NO_ROI | PIPELINE_NO_ROLL) && o.prep == PIPELINE_PREP_CLAHE);
    CHECK_NEAR(o.still_min_face, 0.02, 1e-12);
    CHECK(parse(&o, "") == OPTS_RUN && o.without == 0 && o.prep == PIPELINE_PREP_NONE);
    CHECK(parse(&o, "--without cuts,confirm") == OPTS_RUN &&
          o.without == (PIPELINE_NO_CUTS | PIPELINE_NO_CONFIRM));
    CHECK(parse(&o, "--without small,confirm") == OPTS_RUN &&
          o.without == (PIPELINE_NO_FINE | PIPELINE_NO_CONFIRM));
    CHECK(parse(&o, "") == OPTS_RUN);
    CHECK_NEAR(o.min_face, 0.075, 1e-12);
    CHECK(parse(&o, "--without roi,bogus") == OPTS_BAD_USAGE);
    CHECK(parse(&o, "--prep sharpen") == OPTS_BAD_USAGE);
    /* Each option recorded as getopt read it, by its full name (what
     * --out-dir's children are given): abbreviations spelled out, short
     * options by their long name, values apart, nothing of "--". */
    CHECK(parse(&o, "--out-d o --inp a.mp4 -q --thr 3 --blu -m m.model -- b.mp4") == OPTS_RUN);
    const char *want[][2] = {{"out-dir", "o"}, {"input", "a.mp4"}, {"quiet", NULL},
                             {"threads", "3"}, {"blur", NULL}, {"model", "m.model"}};
    CHECK(o.n_given == 6 && o.n_more_inputs == 1 && !strcmp(o.more_inputs[0], "b.mp4"));
    for (int i = 0; i < 6 && i < o.n_given; i++)
        CHECK_MSG(!strcmp(o.given[i].name, want[i][0]) &&
                      (want[i][1] ? o.given[i].value && !strcmp(o.given[i].value, want[i][1])
                                  : !o.given[i].value),
                  "given %d: %s %s", i, o.given[i].name, o.given[i].value ? o.given[i].value : "");
}

/* The scene-cut measure: blind to brightness, small for a face moving,
 * large for another scene. */
static void test_scene(void)
{
    enum { N = SCENE_W * SCENE_H };
    static uint8_t a[N], b[N], c[N], d[N];
    unsigned x = 12345;
    for (int i = 0; i < N; i++) {
        x = x * 1103515245u + 12345u;
        a[i] = (uint8_t)(60 + (x >> 16) % 120);
        b[i] = (uint8_t)(a[i] + 30);     /* the same, lit brighter */
        x = x * 1103515245u + 12345u;
        c[i] = (uint8_t)(60 + (x >> 16) % 120); /* another scene */
        d[i] = a[i];
    }
    for (int i = 0; i < 40; i++) /* a small thing moved */
        d[i] = (uint8_t)(255 - d[i]);
    CHECK(scene_difference(a, a, N) == 0);
    CHECK_NEAR(scene_difference(a, b, N), 0, 1e-3);
    CHECK(scene_difference(a, d, N) < SCENE_CUT_DEFAULT);
    CHECK(scene_difference(a, c, N) > 2 * SCENE_CUT_DEFAULT);
    scene_state s;
    scene_init(&s, SCENE_CUT_DEFAULT);
    CHECK(scene_cut(&s, a) == 0); /* the first frame starts nothing */
    CHECK(scene_cut(&s, b) == 0);
    CHECK(scene_cut(&s, d) == 0);
    CHECK(scene_cut(&s, c) == 1);
    CHECK(scene_cut(&s, c) == 0);
}

int main(void)
{
    test_iou();
    test_tracks();
    test_no_smoothing();
    test_greedy_best_overlap();
    test_crop();
    test_opts();
    test_scene();
    return test_done("test_detect_track");
}
