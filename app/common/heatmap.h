/* heatmap.h - a saliency map (floats 0..1, from nn_saliency_map) shown over
 * a picture: smoothed, coloured blue (low) through green and yellow to red
 * (high), and blended over a box of a BGR image, each pixel's opacity
 * growing with its value so the unremarkable parts stay visible. Pure C;
 * emotion-train predict --saliency and emotion-detect's `g` key use it. */
#ifndef ED_HEATMAP_H
#define ED_HEATMAP_H

#include <stdint.h>

/* Box blur of radius r (a (2r+1)^2 window, the edges averaging what they
 * have), three passes, then rescaled so the largest value is 1. scratch
 * has w*h floats. */
void heatmap_smooth(float *map, int w, int h, int r, float *scratch);

/* The colour of v in 0..1, as B, G, R. */
void heatmap_colour(float v, uint8_t bgr[3]);

/* The w x h map stretched (bilinearly) over the box (bx, by, bw, bh) of a
 * fw x fh BGR image, clipped to it: each pixel becomes
 * (1 - a) * pixel + a * colour(v) with a = alpha * v^2. */
void heatmap_blend_bgr(uint8_t *bgr, int fw, int fh, int bx, int by, int bw, int bh,
                    const float *map, int w, int h, float alpha);

#endif
