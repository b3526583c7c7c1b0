/*
 * neutral.h - personal neutral calibration: a face whose resting expression
 * the model reads as sad or angry is read as neutral at rest.
 *
 * While the person looks neutral for a few seconds (key c, or --calibrate
 * SECONDS at start), the largest face's probabilities are averaged, m.
 * From then on that track's probabilities are corrected by a per-class
 * log-probability offset, o_j = log u_j - log max(m_j, NEUTRAL_FLOOR), and
 * renormalized: p'_j ~ p_j exp(o_j). u is a neutral reference (NEUTRAL_REF_NEUTRAL
 * on neutral, the rest shared by the others), so the rest distribution m
 * itself reads as u, neutral; a frame that moves a class well above its
 * resting level keeps it (the correction divides by where each class rests,
 * a prior shift). The floor bounds how much a class the person never shows
 * at rest can be boosted. The calibration belongs to the track id and
 * follows it; when the detector loses the face long enough for the tracker
 * to give it a new id, a new track starting within NEUTRAL_REFIND_MS where the
 * calibrated face was last seen (overlapping its box) takes the
 * calibration over. Pure C, unit-tested on its own.
 */
#ifndef ED_NEUTRAL_H
#define ED_NEUTRAL_H

#include <stddef.h>

#include "pipeline.h"

#define NEUTRAL_MAX_TRACKS 16
#define NEUTRAL_FLOOR 0.02f
#define NEUTRAL_REF_NEUTRAL 0.7f
#define NEUTRAL_REFIND_MS 3000.0

typedef struct neutral_track {
    int id;
    int done;                  /* 0 recording, 1 calibrated */
    double t_end;              /* recording ends (ms, frame time) */
    double sum[NN_MAX_CLASSES];
    long count;
    float offset[NN_MAX_CLASSES];
    cvw_rect box;              /* where it was last seen ... */
    double t_seen;             /* ... and when (ms) */
} neutral_track;

typedef struct neutral_state {
    int k, neutral;            /* classes, index of "neutral" (-1: none) */
    double seconds;            /* length of a recording */
    int pending;               /* start with the next frame that has a face */
    neutral_track t[NEUTRAL_MAX_TRACKS];
    int n;
} neutral_state;

/* For a model with these k class names. Returns 0, or -1 with app_error()
 * set when it has no class named "neutral" (then neutral_start does nothing). */
int neutral_init(neutral_state *s, const char *const *names, int k);
/* Record the largest face of the next frame that has one for `seconds`. */
void neutral_start(neutral_state *s, double seconds);
/* Forget every calibration and recording. */
void neutral_clear(neutral_state *s);
/* Whether anything is recorded, recording or pending (key c then clears). */
int neutral_active(const neutral_state *s);
/* One frame at time t_ms: feeds a recording, finishes it when its time is
 * up, and corrects every calibrated track's face in r in place (probs,
 * cls, conf, and sets calibrated). */
void neutral_update(neutral_state *s, double t_ms, pipeline_result *r);
/* What to show: "look neutral for 3 s..." while recording (returns 1),
 * else "" (returns 0). */
int neutral_message(const neutral_state *s, double t_ms, char *msg, size_t len);
/* The offsets of a finished recording's mean m[k] (exposed for tests). */
void neutral_offsets(const float *m, int k, int neutral, float *offset);

#endif
