/*
 * pipeline.h - one frame's work: grayscale, face detection, crops framed
 * like the training faces (rotated level for rolled heads), one batched
 * forward pass for all faces, tracking and smoothing. Times every stage.
 *
 * Video: a scene-cut test on a thumbnail of every frame (scene.h) starts
 * fresh tracks after a cut. A full-frame pass (Haar on a copy scaled to
 * detect_width, plus passes on copies rotated by +-roll_deg when a new
 * scene starts and on every third full pass, and one for small faces on a
 * copy 4/3 as wide when a new scene starts and every 8 * detect_every
 * frames) runs on the first frame of a scene, every detect_every frames,
 * on the frame after a followed face was lost, and every second frame
 * while no face is followed; in between,
 * each tracked face is looked for only in a small window around its last
 * box, turned by its roll (ROI re-detection, at its own pyramid step);
 * a followed face that a full pass misses gets that look too before its
 * track is let go (a head that rolls in mid scene). A
 * face new to the tracks is shown only when a second look confirms it:
 * two of three looks (its window turned a little, another frontal cascade
 * in its window, an eye in its upper half; after a scene's first frame
 * the turned window and the eye alone need its window at another scale
 * too) when the caller gave those cascades
 * (pipeline_set_confirm_cascades), else its window at another scale and
 * turned a little.
 *
 * With a roll net (pipeline_set_roll_net) each face's roll is refined by
 * it before the face is classified.
 *
 * Stills (pipeline_process_still): each image is its own scene, detected
 * at full resolution with still_min_face, still_scale_factor and
 * still_min_neighbors, every pass, nothing carried from the image before
 * but the id counter.
 */
#ifndef ED_PIPELINE_H
#define ED_PIPELINE_H

#include <stdint.h>

#include "cvw.h"
#include "nn.h"
#include "track.h"

#define PIPELINE_MAX_FACES 32

/* Stages that can be turned off (pipeline_cfg.without), for measuring
 * each one and for the old behaviour. */
enum {
    PIPELINE_NO_ROI = 1,      /* between full passes reuse the tracked boxes */
    PIPELINE_NO_CUTS = 2,     /* no scene-cut test */
    PIPELINE_NO_ROLL = 4,     /* no rotated passes, no levelled crops */
    PIPELINE_NO_CONFIRM = 8,  /* show new faces without a second look */
    PIPELINE_NO_FINE = 16,    /* no finer pass for small faces */
    PIPELINE_NO_ROLLNET = 32, /* the roll net (pipeline_set_roll_net) not used */
};

/* How each face is shown to the model (pipeline_cfg.views). The model
 * reads a face and its mirror a little differently; averaging the two is
 * about one point more accurate (app/detect/README.md, "Mirror views"). */
typedef enum {
    PIPELINE_VIEWS_AUTO,      /* images BOTH, video ONE (measured: README) */
    PIPELINE_VIEWS_ONE,       /* the face as it is */
    PIPELINE_VIEWS_BOTH,      /* the face and its mirror, probabilities averaged */
    PIPELINE_VIEWS_ALTERNATE, /* video: mirrored on every second frame, so the
                                 smoothing averages the two at no cost */
} pipeline_views;

/* Preprocessing of the full-frame detection copy. */
typedef enum { PIPELINE_PREP_NONE, PIPELINE_PREP_EQUALIZE, PIPELINE_PREP_CLAHE } pipeline_prep;

typedef struct pipeline_cfg {
    double scale_factor;
    int min_neighbors;
    double min_face;   /* fraction of the frame's shorter side */
    int detect_width;  /* 0 = full size */
    int detect_every;  /* full-frame pass at least every Nth frame, >= 1 */
    int max_faces;     /* <= PIPELINE_MAX_FACES */
    float margin;      /* crop framing, see face.h */
    float shift;
    float smooth;
    /* Zero is the default for each of these. */
    unsigned without;  /* PIPELINE_NO_* */
    pipeline_prep prep;
    double still_min_face; /* stills' minimum face (default 0.04) */
    double still_scale_factor; /* stills' pyramid step (default 1.1) */
    double turn_scale_factor;  /* video's turned passes' step (default 1.25, never finer
                                  than scale_factor) */
    int still_min_neighbors;   /* stills' strictness (default 5) */
    float roll_deg;    /* rotated passes at +-this (default 25) */
    float cut_threshold; /* scene.h (default SCENE_CUT_DEFAULT) */
    pipeline_views views;
} pipeline_cfg;

/* Stages timed per frame. The pipeline fills the first ones; the caller the
 * rest (it reads, draws, records and logs). */
typedef enum {
    PIPELINE_READ, PIPELINE_GRAY, PIPELINE_DETECT, PIPELINE_CROP, PIPELINE_CLASSIFY,
    PIPELINE_DRAW, PIPELINE_RECORD, PIPELINE_LOG,
    PIPELINE_N_STAGES
} pipeline_stage;
extern const char *const pipeline_stage_names[PIPELINE_N_STAGES];

typedef struct pipeline_face {
    int id;           /* track id, >= 1 */
    cvw_rect box;     /* the detector's box in source pixels */
    cvw_rect crop;    /* what was classified (upright bounds of it when rolled) */
    float roll;       /* degrees the face is rolled by; its crop was turned level */
    int cls;          /* most likely class (smoothed) */
    float conf;       /* its probability */
    float probs[NN_MAX_CLASSES]; /* smoothed */
    int calibrated;   /* probs corrected by a personal neutral calibration (neutral.h) */
} pipeline_face;

typedef struct pipeline_result {
    int n;
    pipeline_face faces[PIPELINE_MAX_FACES];
    int detected;     /* the full-frame detector ran on this frame */
    int roi;          /* ROI re-detections run on this frame */
    int cut;          /* this frame starts a new scene */
    double ms[PIPELINE_N_STAGES];
    const char *hint; /* NULL, or advice to the person in front (hints.h) */
} pipeline_result;

typedef struct pipeline pipeline;

/* net and cascade stay owned by the caller and must outlive the pipeline.
 * NULL with a message in app_error() when the model cannot be used (for
 * example a colour model). */
pipeline *pipeline_new(nn_net *net, cvw_cascade *cascade, const pipeline_cfg *cfg);
/* The second look's own cascades, owned by the caller and outliving the
 * pipeline: alt another frontal-face cascade (haarcascade_frontalface_alt),
 * eyes an eye cascade (haarcascade_eye). With both, a face new to the
 * tracks of a video is shown when two of three looks find it: its window
 * turned by a few degrees, alt in its window, an eye in its box's upper
 * half. With either NULL (the default), when its window at another scale
 * and turned both find it. */
void pipeline_set_confirm_cascades(pipeline *p, cvw_cascade *alt, cvw_cascade *eyes);
/* The roll estimator (rollest.h): a model trained by `emotion-train train
 * --target roll`, owned by the caller and outliving the pipeline. With it,
 * every face's roll (the turned pass's angle, 0 for the upright pass, the
 * track's in between) is refined by the net's reading of the face's crop
 * levelled by that roll, and the crop that is classified is levelled by
 * the refined roll (kept within ROLLEST_MAX; under ROLLEST_LEVEL, upright)
 * and reported as the face's roll. Detection is not changed: the boxes and
 * tracks keep the passes' angles, so the ROI windows are turned as without
 * the net. Not under PIPELINE_NO_ROLL or PIPELINE_NO_ROLLNET.
 * 0, or -1 with a message in app_error() when roll is not a roll model
 * (the pipeline then has none). */
int pipeline_set_roll_net(pipeline *p, nn_net *roll);
/* Process the next w x h BGR frame of a video. Returns 0, or -1 with a
 * message in app_error(). */
int pipeline_process(pipeline *p, const uint8_t *bgr, int w, int h, pipeline_result *r);
/* Process a still image, on its own (see above). Same returns. */
int pipeline_process_still(pipeline *p, const uint8_t *bgr, int w, int h, pipeline_result *r);
/* Forget all tracks (a new video, a reconnected camera); the next frame
 * starts a scene. */
void pipeline_reset(pipeline *p);
void pipeline_free(pipeline *p);

#endif
