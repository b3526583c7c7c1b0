/*
 * pipeline.h - one frame's work: grayscale, face detection on a downscaled
 * copy, crops framed like the training faces, one batched forward pass for
 * all faces, tracking and smoothing. Times every stage.
 */
#ifndef ED_PIPELINE_H
#define ED_PIPELINE_H

#include <stdint.h>

#include "cvw.h"
#include "nn.h"
#include "track.h"

#define PL_MAX_FACES 32

typedef struct pl_cfg {
    double scale_factor;
    int min_neighbors;
    double min_face;   /* fraction of the frame's shorter side */
    int detect_width;  /* 0 = full size */
    int detect_every;  /* >= 1 */
    int max_faces;     /* <= PL_MAX_FACES */
    float margin;      /* crop framing, see face.h */
    float shift;
    float smooth;
} pl_cfg;

/* Stages timed per frame. The pipeline fills the first ones; the caller the
 * rest (it reads, draws, records and logs). */
typedef enum {
    PL_READ, PL_GRAY, PL_DETECT, PL_CROP, PL_CLASSIFY, PL_DRAW, PL_RECORD, PL_LOG,
    PL_N_STAGES
} pl_stage;
extern const char *const pl_stage_names[PL_N_STAGES];

typedef struct pl_face {
    int id;           /* track id, >= 1 */
    cvw_rect box;     /* the detector's box in source pixels */
    cvw_rect crop;    /* what was classified */
    int cls;          /* most likely class (smoothed) */
    float conf;       /* its probability */
    float probs[NN_MAX_CLASSES]; /* smoothed */
    int calibrated;   /* probs corrected by a personal neutral calibration (neutral.h) */
} pl_face;

typedef struct pl_result {
    int n;
    pl_face faces[PL_MAX_FACES];
    int detected;     /* the detector ran on this frame */
    double ms[PL_N_STAGES];
    const char *hint; /* NULL, or advice to the person in front (hints.h) */
} pl_result;

typedef struct pipeline pipeline;

/* net and cascade stay owned by the caller and must outlive the pipeline.
 * NULL with a message in err when the model cannot be used (for example a
 * colour model). */
pipeline *pl_new(nn_net *net, cvw_cascade *cascade, const pl_cfg *cfg,
                 char *err, size_t errlen);
/* Process a w x h BGR frame. Returns 0, or -1 with a message in err. */
int pl_process(pipeline *p, const uint8_t *bgr, int w, int h, pl_result *r,
               char *err, size_t errlen);
/* Forget all tracks (a new video, a reconnected camera). */
void pl_reset(pipeline *p);
void pl_free(pipeline *p);

#endif
