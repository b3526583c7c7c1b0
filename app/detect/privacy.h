/* privacy.h - --blur: every face made unrecognisable in the window and in
 * recordings (the log keeps boxes and emotions). Each face box, enlarged by
 * PRIVACY_GROW on every side to take hair and chin, is averaged into a coarse
 * grid of PRIVACY_CELLS x PRIVACY_CELLS cells and drawn back as a smooth bilinear
 * blend of them: no edge or texture of the face survives, and nothing
 * outside the enlarged box changes. Pure C. */
#ifndef ED_PRIVACY_H
#define ED_PRIVACY_H

#include <stdint.h>

#include "cvw.h"

#define PRIVACY_CELLS 5
#define PRIVACY_GROW 0.15f

/* The region privacy_blur_faces changes for face box b in a w x h frame. */
cvw_rect privacy_region(cvw_rect b, int w, int h);
/* Blur the regions of n boxes in a w x h BGR frame, in place. */
void privacy_blur_faces(uint8_t *bgr, int w, int h, const cvw_rect *boxes, int n);

#endif
