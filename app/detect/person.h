/*
 * person.h - what emotion-detect does for the person in front of the camera
 * on top of the pipeline (issue 15), in one place so app.c calls it once a
 * frame: the personal neutral calibration (neutral.h), guidance hints
 * (hints.h), the saliency heat map over each face (key g) and --blur
 * (privacy.h). The last two change the frame as shown and recorded, which
 * is a copy: the source's frame and the log stay as they were.
 */
#ifndef ED_PERSON_H
#define ED_PERSON_H

#include <stddef.h>
#include <stdint.h>

#include "hints.h"
#include "neutral.h"

struct app;
struct source_frame;

typedef struct person {
    int ready;            /* person_init ran (at the first frame) */
    neutral_state nt;
    int neutral_ok;            /* the model has a neutral class */
    int heat;             /* key g: saliency over each face */
    int still;            /* the source is images: nothing carries from one to the next */
    int hints;            /* guidance (not for still images) */
    hints_kind hint;       /* shown and logged */
    hints_kind cand;       /* the latest assessment ... */
    int cand_n;           /* ... and how many assessments in a row gave it */
    int free_run;         /* face-free assessments in a row */
    int looks_skipped;    /* face-free assessments so far past the first HINT_LOOK_AFTER of a run: the second looks run on every HINT_LOOK_EVERY-th */
    hints_kind looked;    /* what those looks said (HINTS_NONE: nothing) */
    long frame;
    cvw_rect last;        /* the last face seen ... */
    double last_t;        /* ... at this frame time, ms (< 0: none) */
    uint8_t *gray, *shown, *face;
    size_t cap;
    float *x, *dx, *map;
    /* heat maps by track id, smoothed (h*w floats each): a backward pass
     * costs about four forward ones, so each frame remakes one face's map
     * (the stalest) and those of faces new to it, the others reuse theirs */
    float *heat_maps;
    int heat_id[PIPELINE_MAX_FACES];
    long heat_made[PIPELINE_MAX_FACES]; /* frame number it was made at */
    int shown_valid;      /* shown holds this frame's changed copy */
    double t_ms;          /* the latest frame's time */
    /* --blur covers, besides this frame's faces, those of the last
     * PRIVACY_KEEP frames: a face the detector misses for a frame stays hidden */
    cvw_rect kept[PIPELINE_MAX_FACES * 4];
    int kept_age[PIPELINE_MAX_FACES * 4];
    int n_kept;
    double face_wall;     /* wall-clock time (nn_now) a face was last seen */
} person;

/* Whether a's source gives stills (an image or a folder of images): each
 * is classified on its own, so the calibration (--calibrate, key c) and
 * the hints do not run and --blur covers each picture's own faces only. */
int person_stills(const struct app *a);

/* With the model loaded and the source open (person_step calls it at the
 * first frame). Returns 0, or -1 with app_error(). */
int person_init(struct app *a);
void person_free(person *p);

/* The frame f has been through the pipeline (a->last): correct calibrated
 * faces, assess the hint, and make the shown copy when the heat map or
 * --blur asks for one. Returns 0, or -1 with app_error() set. */
int person_step(struct app *a, const struct source_frame *f);
/* One hint assessment with `faces` faces found: whether the hints' second
 * looks (cascade runs) are due. Only after a face-free run of a few
 * assessments, then on every twelfth face-free assessment (the count goes
 * on across faces). */
int person_look_due(person *p, int faces);
/* The frame's pixels as shown and recorded. */
const uint8_t *person_pixels(const struct app *a, const struct source_frame *f);

/* Whether the kiosk's attract screen is due at wall-clock time now: --idle
 * seconds and more since a face was seen. */
int person_idle(const struct app *a, double now);

/* Key c: start a calibration, or clear the one there is. Returns a message
 * for the screen ("" when starting: the countdown shows then; for stills,
 * that there is none). */
const char *person_toggle_calibration(struct app *a);

#endif
