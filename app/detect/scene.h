/*
 * scene.h - scene cuts in a video: a new shot (an edited clip's cut, a
 * camera pointed elsewhere) must not continue the last shot's tracks, or a
 * new face at about the same place inherits the old face's id and smoothed
 * probabilities.
 *
 * The test is cheap: each frame shrunk to SCENE_W x SCENE_H gray, each
 * thumbnail's mean brightness removed (so a lighting change is not a cut),
 * and the mean absolute difference to the previous frame's thumbnail
 * compared with a threshold. Faces moving, talking or turning change a few
 * thumbnail pixels; a cut changes most of them. Pure C.
 */
#ifndef ED_SCENE_H
#define ED_SCENE_H

#include <stdint.h>

#define SCENE_W 32
#define SCENE_H 24
/* Default threshold, in gray levels (0..255): see app/detect/README.md. */
#define SCENE_CUT_DEFAULT 18.0f

typedef struct scene_state {
    uint8_t prev[SCENE_W * SCENE_H];
    int have_prev;
    float threshold;
    float last;      /* the last difference measured */
} scene_state;

void scene_init(scene_state *s, float threshold);
/* Mean absolute difference of two n-pixel thumbnails after removing each
 * one's mean. */
float scene_difference(const uint8_t *a, const uint8_t *b, int n);
/* The next frame's thumbnail (SCENE_W * SCENE_H). Returns 1 when it starts
 * a new scene (not for the first frame seen), else 0. */
int scene_cut(scene_state *s, const uint8_t *thumb);

#endif
