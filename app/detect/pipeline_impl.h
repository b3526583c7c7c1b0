/*
 * pipeline_impl.h - inside the pipeline (pipeline.h): its state, and the
 * detector's passes in pipeline_find.c that pipeline.c calls. Only these
 * two files include it.
 */
#ifndef ED_PIPELINE_IMPL_H
#define ED_PIPELINE_IMPL_H

#include "pipeline.h"
#include "rollest.h"
#include "scene.h"

/* ROI windows: PIPELINE_ROI_SIDE pixels square, the face about
 * PIPELINE_ROI_FACE of them, so a window shows the face with room to move
 * about half a face each way. */
#define PIPELINE_ROI_SIDE 80
#define PIPELINE_ROI_FACE 40
/* The windows' pyramid step, whatever the full pass's: a window is small,
 * so the fine step costs little, and a coarse one loses the faces it
 * follows (measured on the footage of bench/detect_footage.py: found fell
 * from 55.7% to 40.9% when the windows took the full pass's 1.2). */
#define PIPELINE_ROI_SCALE 1.1
/* With no face followed, a full pass every PIPELINE_SEARCH_EVERY frames
 * (and on the first of a scene): looking on every frame doubled the cost
 * of face-free frames and found no more faces on that footage. */
#define PIPELINE_SEARCH_EVERY 2
/* A new face in video must also be found in its window turned by this
 * many degrees one way or the other: a face survives a small roll, a
 * cascade hit on texture seldom does. On the generated footage the false
 * boxes per 1,000 face-free frames fell from 8.9 to 0 and faces found from
 * 61.4% to 59.1% (8 and 10 degrees: 58.0%; 15: 45.5%). Not for stills,
 * where it lost 3 of 96 faces and there were no false boxes to remove. */
#define PIPELINE_CONFIRM_TURN 12.0f
/* Small faces: the detection copy (detect_width, 320 of a 640-wide frame)
 * shrinks a face under about 50 pixels below the cascade's 24-pixel
 * window. On the first frame of a scene and at least every
 * PIPELINE_FINE_EVERY * detect_every frames, a pass on a copy
 * PIPELINE_FINE_SCALE times as wide looks for faces from min_face up to PIPELINE_FINE_TOP of the
 * frame's shorter side, with PIPELINE_FINE_NEIGHBORS more neighbours than
 * the full pass (the finer copy shows texture in more detail, and fewer
 * texture hits there mean fewer boxes for the second look), and the pass
 * on the detection copy takes only the faces above that top. On generated
 * footage (bench/detect_footage.py), with the copy at 2x, faces found rose
 * from 50.6% to 56.0% (seed 21, chosen on), 53.8% to 53.9% (seed 77) and
 * 56.8% to 64.2% (the 12-scene set); tops of 0.17 and 0.35, a copy 480
 * wide and a step of 1.3 did worse on one set or another
 * (app/detect/README.md, "Footage"). At 2x it cost 12-24% more CPU time on
 * that footage, where every eighth frame
 * starts a scene (OpenCV's cascade tries every window position where it
 * shrinks the image by 2 or more, every second one below: a face of 60
 * pixels is looked for at every position on the finer copy, at every
 * second on the detection copy); periodic passes are rare, so the demo
 * clip, one long scene, costs the same. */
#define PIPELINE_FINE_TOP 0.25
#define PIPELINE_FINE_NEIGHBORS 1
#define PIPELINE_FINE_EVERY 8
/* 4/3, not 2: idle, in one run, as many faces as the Python pipeline on
 * all three footage sets either way (seed 21 54.9% against 56.0% at 2x)
 * at 5.3 times its frames/s on seed 21 against 4.5 (bench/results/
 * 2026-11-26-epyc-zen4-footage5-idle.txt; first-second rates, both
 * builds alike: the whole runs are faster, app/detect/README.md). */
#define PIPELINE_FINE_SCALE (4.0 / 3.0)
/* Video's turned passes ask one neighbour fewer than the upright pass: at
 * their coarser step (pipeline_cfg.turn_scale_factor) a face gathers fewer
 * overlapping hits, and the second look turns down what texture adds. A
 * real face (assets/astronaut.png) rolled 18-30 degrees at 8 sizes, 128
 * scenes of 8 frames (bench/roll_real.py): found in 644 of 1,024 frames at
 * step 1.2 with 3 neighbours, 601 at 1.25 with 3, 700 at 1.25 with 2
 * (app/detect/README.md, "Footage"). */
#define PIPELINE_TURN_NEIGHBORS (-1)
/* With the second look's own cascades (pipeline_set_confirm_cascades), a
 * new face in video needs two votes of three: the turned look above, the
 * other frontal cascade (haarcascade_frontalface_alt) in the upright
 * window, and an eye (haarcascade_eye) in the upper half of the box seen at
 * PIPELINE_EYE_SIDE pixels. Each alone is fooled by some texture or misses
 * some faces; their misses are seldom on the same box. On generated footage
 * (bench/detect_footage.py) faces found rose from 46.0% to 50.6% (seed 21,
 * chosen on) and from 41.2% to 53.8% (seed 77, checked on; the Python
 * pipeline 54.3% and 52.5%), with no false box in 400 face-free frames of
 * each, but 6 in 1,008 of the 12-scene set where the look before had none
 * (app/detect/README.md, "Footage"). The cascades' level weights
 * (detectMultiScale3) did not separate faces from texture hits there:
 * 1.0-9.7 against 0.1-4.3. */
#define PIPELINE_EYE_SIDE 80
#define PIPELINE_EYE_ROWS 44
_Static_assert(PIPELINE_EYE_SIDE <= PIPELINE_ROI_SIDE, "the eye look uses the ROI window's buffer");
/* The vote in mid scene: after the first frame of a scene, a new box that
 * only the turned window and the eye find (not the other frontal cascade)
 * must also be found by the window at another scale. A texture hit is
 * looked at again on every second face-free frame, so it has many chances
 * to pass two of three, while a face mostly comes with a new scene. On the
 * three generated sets this removed both false tracks of the 12-scene set
 * (6 boxes in 1,008 face-free frames) and cost 1 of the 9 faces confirmed
 * in mid scene (2 face-frames of 760 on seed 77). */

struct pipeline {
    nn_net *net;
    cvw_cascade *cascade;
    cvw_cascade *alt, *eyes; /* the second look's, both or neither */
    rollest *rollnet;         /* NULL: rolls from the passes alone */
    pipeline_cfg cfg;
    int in_w, in_h, k;
    track_state trk;
    scene_state scene;
    long frame;
    int since_full;   /* frames since the last full-frame pass */
    long n_full;      /* full-frame passes so far */
    int scene_start;  /* the next frame is the first of a scene */
    long scene_frame; /* frames of the scene so far, this one included */
    int lost;         /* a followed face was not found: full pass next */
    int since_fine;   /* frames since the pass for small faces */
    /* buffers, grown to the largest frame seen and then reused */
    uint8_t *gray;
    size_t gray_cap;
    uint8_t *small;   /* the detection copy */
    size_t small_cap;
    uint8_t *rot;     /* the detection copy turned */
    size_t rot_cap;
    uint8_t *fine;    /* the copy of the pass for small faces */
    size_t fine_cap;
    uint8_t win[PIPELINE_ROI_SIDE * PIPELINE_ROI_SIDE];
    uint8_t thumb[SCENE_W * SCENE_H];
    uint8_t *face;      /* in_w * in_h */
    float *batch;       /* 2 * PIPELINE_MAX_FACES * in_w * in_h: faces, mirrors */
    float averaged[PIPELINE_MAX_FACES * NN_MAX_CLASSES]; /* of the two views */
    float smoothed[PIPELINE_MAX_FACES * NN_MAX_CLASSES];
};

int pipeline__grow(uint8_t **p, size_t *cap, size_t need);
/* p->small: p->gray scaled to detect_width (0 = as is) and preprocessed;
 * its size and the scale (small pixels per frame pixel). 0 or -1. */
int pipeline__small(pipeline *p, int w, int h, int detect_width, int *dw, int *dh, double *s);
/* The scene-cut test on p->gray: 1 cut, 0 none, -1 error. */
int pipeline__scene_cut(pipeline *p, int w, int h);
/* Does this frame's full pass (on a w-wide frame) include the pass for
 * small faces? */
int pipeline__fine_due(const pipeline *p, int w);
/* The full-frame passes on p->small (dw x dh, scale s) and, for new faces,
 * the confirming look: up to max boxes in frame pixels. Returns how many,
 * or -1. still: a still image's rules (every rotated pass, its minimum
 * face). */
int pipeline__full_pass(pipeline *p, int w, int h, int dw, int dh, double s, int still,
                        track_box *out, int max);
/* Look for the face of box t in a window around it, turned by its roll
 * (and, with turn, by 20 degrees more either way when that finds nothing).
 * 1 with *out set, 0 when not found, -1 on error. */
int pipeline__roi_find(pipeline *p, int w, int h, track_box t, int turn, track_box *out);

#endif
