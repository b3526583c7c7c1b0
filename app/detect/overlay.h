/*
 * overlay.h - drawing the detector's results with SDL2 and SDL2_ttf: per
 * face a box in its emotion's colour, the label and confidence above it, and
 * a panel of probability bars for every class that stays on screen.
 *
 * Everything draws through an SDL_Renderer, so the same code draws into the
 * window (at the window's resolution, for sharp text) and, through a
 * software renderer, into video frames for recording and into surfaces in
 * tests. Layout is exposed (overlay_panel_rect, overlay_bar_rect) so a test can check
 * the pixels where bars must be.
 */
#ifndef ED_OVERLAY_H
#define ED_OVERLAY_H

#include <SDL.h>
#include <SDL_ttf.h>
#include <stddef.h>

#include "pipeline.h"

typedef struct overlay_ctx overlay_ctx;

/* Mapping from source-frame pixels to renderer pixels: the frame scaled by
 * `scale` with its top-left at (x0, y0), optionally mirrored. */
typedef struct overlay_view {
    float x0, y0, scale;
    int mirror;
    int frame_w, frame_h;
    int screen_w, screen_h;
} overlay_view;

/* Fit a frame into a screen keeping its aspect ratio, centred. */
overlay_view overlay_fit(int frame_w, int frame_h, int screen_w, int screen_h, int mirror);
/* A frame box on screen. */
SDL_Rect overlay_map_box(const overlay_view *v, cvw_rect b);

/* Fonts from font_path (regular) and bold_path (labels; NULL = regular).
 * Starts SDL_ttf for as long as the context lives (SDL_ttf counts its
 * starts). NULL with a message in app_error(). */
overlay_ctx *overlay_new(SDL_Renderer *r, const char *font_path, const char *bold_path);
void overlay_free(overlay_ctx *o); /* frees its fonts and textures, not the renderer */

/* Size text for a screen this high (reopens fonts when the size changes). */
int overlay_set_screen(overlay_ctx *o, int screen_h);
int overlay_line_height(const overlay_ctx *o);

/* The colour of a class: fixed for the FER2013 names, from a palette by
 * index for others. */
SDL_Color overlay_class_color(const char *name, int index);

/* Boxes, labels and bar panels for all faces. names: k class names. */
void overlay_draw_faces(overlay_ctx *o, const overlay_view *v, const pipeline_result *r,
                   const char *const *names, int k);

/* Where the bar panels of faces with these screen boxes go: on screen, and
 * clear of the faces, their labels and each other when there is room. */
void overlay_layout_panels(overlay_ctx *o, const SDL_Rect *boxes, int n, int k, int screen_w,
                      int screen_h, SDL_Rect *panels);
/* The same for a face alone. */
SDL_Rect overlay_panel_rect(overlay_ctx *o, SDL_Rect box, int k, int screen_w, int screen_h);
/* The filled part of class c's bar at probability p inside a panel, and the
 * whole bar's track (p = 1). */
SDL_Rect overlay_bar_rect(overlay_ctx *o, SDL_Rect panel, int c, float p);

/* Text at (x, y); align 0 left, 1 centre, 2 right of x. With bg, a filled
 * rectangle behind it. bold selects the label font. Returns the width. */
int overlay_text(overlay_ctx *o, int x, int y, const char *s, SDL_Color fg, const SDL_Color *bg,
            int align, int bold);
int overlay_text_size(overlay_ctx *o, const char *s, int bold, int *w, int *h);

/* Offscreen annotation of BGR frames, for recording: draws the overlay at
 * the frame's own resolution, in place. new: NULL with a message in
 * app_error() (it holds SDL_ttf like overlay_new); annotate: 0, or -1 with a
 * message. */
typedef struct overlay_annotator overlay_annotator;
overlay_annotator *overlay_annotator_new(const char *font_path, const char *bold_path);
int overlay_annotate(overlay_annotator *a, uint8_t *bgr, int w, int h, const pipeline_result *r,
                const char *const *names, int k);
void overlay_annotator_free(overlay_annotator *a);

#endif
