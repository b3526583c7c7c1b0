/*
 * face.h - framing a detected face the way the training faces are framed.
 *
 * The model should see faces cropped as FER2013's are, or its accuracy in
 * the app falls below its accuracy on the data set. Measured, not assumed
 * (bench/bench_crop_margin.py runs each cascade on FER2013 test faces and
 * compares the box it finds with the crop):
 * - Haar (the default cascade): crop side / box side median 1.02, quartiles
 *   0.95 and 1.10, centres within 0.3% of a box width. FER2013's crops are
 *   Haar-like boxes, so the margin is 0: the square box itself.
 * - LBP (lbpcascade_frontalface_improved): on FER2013's faces, enlarged
 *   from 48 pixels and blurry, it reports 1.51, but on sharp video frames
 *   its boxes relate to Haar's steadily: Haar side / LBP side median 1.23
 *   (quartiles 1.20 and 1.26, the demo clip), the LBP centre 0.10 box
 *   widths lower. So LBP crops use margin 0.25, moved up by 0.1 of the box,
 *   to land where Haar's boxes do.
 * The method, checked on the astronaut picture cropped with margins 0.10,
 * 0.25 and 0.50, measures 1.17, 1.33 and 1.57. And the (interim) model
 * agrees: its mean "happy" on the demo clip's smiling faces is highest at
 * these margins (Haar: 0.72 at margin 0, 0.41 at 0.25; LBP: 0.73 at 0.25,
 * 0.47 at 0.5).
 *
 * The crop is the box enlarged by the margin, made square around its
 * (shifted) centre, and moved (not cut) to stay inside the frame.
 */
#ifndef ED_FACE_H
#define ED_FACE_H

#include "cvw.h"

/* Framing per detector kind (see above). The crop's side is (1 + margin)
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
