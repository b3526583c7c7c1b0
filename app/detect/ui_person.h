/* ui_person.h - the window's part of person.h: the attract screen after
 * --idle seconds without a face, "calibrated" tags, and the guidance hint
 * and the calibration's countdown, each placed where it covers no face,
 * label, probability panel or the other. */
#ifndef ED_UI_PERSON_H
#define ED_UI_PERSON_H

#include "app.h"
#include "overlay.h"

/* Draw it all over the frame and faces (v: the frame's place on screen).
 * Returns 1 when an attract screen or a hint has said why no face is
 * labelled (the generic "No face found" line is then left out). */
int ui_person_draw(SDL_Renderer *ren, overlay_ctx *ov, app *a, const overlay_view *v, int lh);

/* The screen rectangles other text should stay clear of: every face's box
 * with its label above it, and its probability panel. Returns how many it
 * wrote to avoid (at most UI_PERSON_AVOID_MAX). */
#define UI_PERSON_AVOID_MAX (2 * PIPELINE_MAX_FACES)
int ui_person_avoid(overlay_ctx *ov, const app *a, const overlay_view *v, int lh, SDL_Rect *avoid);

/* Where a tw x th text goes (its top-left corner): centred, at the first of
 * the bottom, the top and the middle of a sw x sh screen, then of every
 * height from the top, where it meets none of the n rectangles to avoid;
 * the bottom when it meets one everywhere. */
SDL_Point ui_person_hint_place(int tw, int th, const SDL_Rect *avoid, int n, int sw, int sh, int lh);

/* The top of the first of `lines` lines of key help: the bottom of the
 * screen, or the top when one of the n rectangles is in the bottom strip
 * (the help shows for a few seconds; faces and panels are the product). */
int ui_person_help_y(int lines, const SDL_Rect *avoid, int n, int sw, int sh, int lh);

#endif
