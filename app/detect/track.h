/*
 * track.h - face tracks across frames and smoothing of their emotion
 * probabilities. Pure C, no OpenCV, so it is unit-tested on its own.
 *
 * Each update takes the boxes seen in a frame with their class
 * probabilities. A box continues the track it overlaps most (greedy by
 * intersection-over-union, above a threshold); a box that continues nothing
 * starts a new track with a new id and its own probabilities (a new face
 * never inherits another's history). A track's probabilities are an
 * exponential moving average: s = alpha * s + (1 - alpha) * p, so alpha 0
 * turns smoothing off. A track not seen for more than max_missed updates is
 * dropped; until then it keeps its id should the face come back.
 */
#ifndef ED_TRACK_H
#define ED_TRACK_H

#define TRACK_MAX_TRACKS 64
#define TRACK_MAX_CLASSES 64

typedef struct track_box {
    float x, y, w, h;
    float roll;   /* degrees the face is rolled by (the eye line's angle, y down) */
} track_box;

typedef struct track_item {
    int id;
    track_box box;                   /* last box seen */
    float probs[TRACK_MAX_CLASSES];  /* smoothed */
    int missed;                    /* updates since last seen; 0 = seen now */
    int age;                       /* updates seen */
} track_item;

typedef struct track_state {
    track_item t[TRACK_MAX_TRACKS];
    int n;          /* live tracks in t[0..n) */
    int next_id;    /* ids start at 1 */
    int n_classes;
    float alpha;    /* EMA weight of the history, 0..1 */
    float iou_min;  /* least overlap to continue a track */
    int max_missed;
} track_state;

/* Reset s. n_classes <= TRACK_MAX_CLASSES; alpha in [0,1). */
void track_init(track_state *s, int n_classes, float alpha, float iou_min, int max_missed);

/* Drop every track (a scene cut, a new image) but keep counting ids, so
 * no id is ever given to two faces. */
void track_forget(track_state *s);

/* Intersection over union of two boxes (0 when either is empty). */
float track_iou(track_box a, track_box b);

/*
 * One frame's n boxes with probabilities probs[n][n_classes]. For each box i,
 * ids[i] receives its track id (0 when there was no room for a new track)
 * and, when smoothed is not NULL, smoothed[i][n_classes] the track's
 * smoothed probabilities. At most TRACK_MAX_TRACKS boxes; returns how many
 * were taken.
 */
int track_update(track_state *s, const track_box *boxes, const float *probs, int n,
               int *ids, float *smoothed);

/* Boxes of the tracks seen in the last update (missed == 0), up to max;
 * returns how many. For reusing boxes on frames without detection. */
int track_visible(const track_state *s, track_box *boxes, int max);

#endif
