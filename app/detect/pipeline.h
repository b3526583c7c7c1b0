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

#define PIPELINE_MAX_FACES 32

typedef struct pipeline_cfg {
    double scale_factor;
    int min_neighbors;
    double min_face;   /* fraction of the frame's shorter side */
    int detect_width;  /* 0 = full size */
    int detect_every;  /* >= 1 */
    int max_faces;     /* <= PIPELINE_MAX_FACES */
    float margin;      /* crop framing, see face.h */
    float shift;
    float smooth;
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
    cvw_rect crop;    /* what was classified */
    int cls;          /* most likely class (smoothed) */
    float conf;       /* its probability */
    float probs[NN_MAX_CLASSES]; /* smoothed */
} pipeline_face;

typedef struct pipeline_result {
    int n;
    pipeline_face faces[PIPELINE_MAX_FACES];
    int detected;     /* the detector ran on this frame */
    double ms[PIPELINE_N_STAGES];
} pipeline_result;

typedef struct pipeline pipeline;

/* net and cascade stay owned by the caller and must outlive the pipeline.
 * NULL with a message in app_error() when the model cannot be used (for
 * example a colour model). */
pipeline *pipeline_new(nn_net *net, cvw_cascade *cascade, const pipeline_cfg *cfg);
/* Process a w x h BGR frame. Returns 0, or -1 with a message in
 * app_error(). */
int pipeline_process(pipeline *p, const uint8_t *bgr, int w, int h, pipeline_result *r);
/* Forget all tracks (a new video, a reconnected camera). */
void pipeline_reset(pipeline *p);
void pipeline_free(pipeline *p);

#endif
