/*
 * face.h - framing a detected face the way the training faces are framed.
 *
 * The model should see faces cropped as FER2013's are, or its accuracy in
 * the app falls below its accuracy on the data set. Haar boxes frame faces
 * as FER2013 does (margin 0); LBP boxes are tighter and lower (margin 0.25,
 * moved up by 0.1 of the box). How this was measured: app/detect/README.md,
 * "Crops".
 *
 * The crop is the box enlarged by the margin, made square around its
 * (shifted) centre, and moved (not cut) to stay inside the frame.
 */
#ifndef ED_FACE_H
#define ED_FACE_H

#include "cvw.h"

/* Framing per detector kind. The crop's side is (1 + margin)
 * times the box's longer side; its centre is `shift` box sides above the
 * box's. */
#define FACE_HAAR_MARGIN 0.0f
#define FACE_HAAR_SHIFT 0.0f
#define FACE_LBP_MARGIN 0.25f
#define FACE_LBP_SHIFT 0.1f

/* Square crop for box in a frame_w x frame_h frame. The result lies inside
 * the frame; it is smaller than asked only when the frame is. */
cvw_rect face_crop_rect(cvw_rect box, int frame_w, int frame_h, float margin, float shift);

#endif
