/*
 * facegen.h - synthetic videos of real faces for emotion-detect's tests and
 * its demo clip: the committed public-domain astronaut picture, cropped
 * around the face, pasted at moving, known positions over a plain
 * background. The face box in the picture is found once with the cascade,
 * so every frame's true face boxes are known.
 */
#ifndef FACEGEN_H
#define FACEGEN_H

#include <stdint.h>

#include "cvw.h"

#define FG_MAX_FACES 4

typedef struct fg_scene {
    uint8_t *pic;      /* face crop of the picture, BGR */
    int pw, ph;
    cvw_rect face;     /* the detector's face box inside pic */
    int frame_w, frame_h;
    int n_frames;
    int n_faces;       /* copies per frame, 1..FG_MAX_FACES */
} fg_scene;

/* Load the picture, find its face with the cascade and crop around it.
 * Returns 0, or -1 with a message in err. */
int fg_init(fg_scene *s, const char *picture, const char *cascade, int frame_w, int frame_h,
            int n_frames, int n_faces, char *err, size_t errlen);
void fg_free(fg_scene *s);

/* Where the copies of the picture go in frame i, and the true face boxes. */
void fg_layout(const fg_scene *s, int i, cvw_rect *pic_rects, cvw_rect *face_boxes);

/* Render frame i into bgr (frame_w * frame_h * 3). */
int fg_render(const fg_scene *s, int i, uint8_t *bgr);

/* Write all frames to a video file. Returns 0 or -1 (cvw_error()). */
int fg_write_video(const fg_scene *s, const char *path, double fps);

/* An uncompressed AVI (24-bit RGB) of n_frames frames of w x h in one
 * colour, any size down to 1x1 (OpenCV's writers refuse odd and tiny
 * sizes). Returns 0 or -1. */
int fg_write_raw_avi(const char *path, int w, int h, int n_frames, double fps);

/* The frames a video file decodes to (reading them all), its size in *w and
 * *h when they are not NULL; -1 when it does not open. */
long fg_count_frames(const char *video, int *w, int *h);

#endif
