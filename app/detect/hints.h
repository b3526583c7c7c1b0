/*
 * hints.h - why a face is not found or poorly seen, and what to do: one
 * short hint at a time for the person in front of the camera.
 *
 * hints_assess looks at one gray frame and the face boxes found in it. With
 * a face, the largest one is judged: cut off by the frame's edge, too small,
 * too dark or too bright (mean and spread of its luminance), too blurred
 * (variance of the Laplacian of the face scaled to HINTS_SIDE pixels, so it
 * does not depend on the face's size). Without one, the frame is: too dark
 * or bright, blurred; then the detector is tried again on copies of the
 * frame turned by +-HINTS_TILT_DEG (found: the head is tilted), and for
 * faces smaller than the pipeline looks for (found: come closer); a face
 * last seen at the edge has left it, one last seen inside the picture and
 * found by no look has turned away (the frontal detector sees no profile).
 * Pure C but for the cascade, which may be NULL (no second looks).
 */
#ifndef ED_HINTS_H
#define ED_HINTS_H

#include <stdint.h>

#include "cvw.h"

typedef enum {
    HINTS_NONE = 0, HINTS_DARK, HINTS_BRIGHT, HINTS_SMALL, HINTS_BLUR, HINTS_EDGE, HINTS_TILT,
    HINTS_KINDS
} hints_kind;

#define HINTS_SIDE 64         /* face side the blur is measured at */
#define HINTS_TILT_DEG 25.0   /* second looks turned by this much */

/* The hint's text, one line ("" for HINTS_NONE); its short name for logs. */
const char *hints_text(hints_kind h);
const char *hints_name(hints_kind h);

/* Which second looks hints_assess may take. */
enum {
    HINTS_LOOK_TILT = 1,  /* copies turned by +-HINTS_TILT_DEG (redundant when the
                           * pipeline runs its own turned passes) */
    HINTS_LOOK_SMALL = 2, /* the frame at up to 640 wide, for faces under the pipeline's */
    HINTS_LOOK_ALL = 3,
};

/* Judge a w x h gray frame with its n face boxes (source pixels). last: the
 * box of a face seen lately (person.c: within 1.5 s) but not now, or NULL.
 * cascade (NULL: no second looks), looks (HINTS_LOOK_*) and min_face (the
 * pipeline's smallest face, a fraction of the shorter side) for the second
 * looks. */
hints_kind hints_assess(const uint8_t *gray, int w, int h, const cvw_rect *boxes, int n,
                      const cvw_rect *last, cvw_cascade *cascade, unsigned looks,
                      double min_face);

/* Measures, exposed for tests and thresholds. */
void hints_luma(const uint8_t *gray, int stride, int w, int h, double *mean, double *spread);
double hints_sharpness(const uint8_t *gray, int w, int h); /* variance of the Laplacian */
/* src rotated by deg degrees about its centre into dst (same size; the
 * corners that come from outside are the mean gray). */
void hints_rotate(const uint8_t *src, int w, int h, double deg, uint8_t *dst);

#endif
