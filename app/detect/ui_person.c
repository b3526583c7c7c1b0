/* ui_person.c - the window's part of person.h; see ui_person.h. */
#include "ui_person.h"

#include "nn.h"

static const SDL_Color WHITE = {255, 255, 255, 255};
static const SDL_Color SHADE = {0, 0, 0, 170};
static const SDL_Color HINT_BG = {200, 120, 0, 230};

SDL_Point ui_person_hint_place(int tw, int th, const SDL_Rect *avoid, int n, int sw, int sh, int lh)
{
    /* the three usual places, then any height, top down, in half lines */
    const int ys[3] = {sh - 3 * lh, 2 * lh, (sh - th) / 2}, step = lh / 2 > 1 ? lh / 2 : 1;
    const int tries = 3 + (sh - th) / step;
    SDL_Point at = {(sw - tw) / 2, ys[0]};
    for (int c = 0; c < tries; c++) {
        const int y = c < 3 ? ys[c] : (c - 3) * step + lh / 4;
        SDL_Rect r = {(sw - tw) / 2 - lh / 2, y - lh / 4, tw + lh, th + lh / 2};
        int free_here = 1;
        for (int i = 0; i < n && free_here; i++)
            free_here = !SDL_HasIntersection(&r, &avoid[i]);
        if (free_here && y >= 0 && y + th <= sh) {
            at.y = y;
            return at;
        }
    }
    return at;
}

int ui_person_help_y(int lines, const SDL_Rect *avoid, int n, int sw, int sh, int lh)
{
    const int bottom = sh - (lines + 1) * lh + lh / 2;
    SDL_Rect strip = {0, bottom - lh / 4, sw, lines * lh + lh / 2};
    for (int i = 0; i < n; i++)
        if (SDL_HasIntersection(&strip, &avoid[i]))
            return 2 * lh; /* below the top line's "paused" */
    return bottom;
}

/* The attract screen: the camera image dimmed, "Step closer" large (the
 * fonts sized as for a screen three times as high, then back). */
static void attract(SDL_Renderer *ren, overlay_ctx *ov, int sw, int sh)
{
    SDL_SetRenderDrawBlendMode(ren, SDL_BLENDMODE_BLEND);
    SDL_SetRenderDrawColor(ren, 0, 0, 0, 170);
    SDL_Rect all = {0, 0, sw, sh};
    SDL_RenderFillRect(ren, &all);
    overlay_set_screen(ov, 3 * sh);
    int big = overlay_line_height(ov);
    overlay_text(ov, sw / 2, sh / 2 - big, "Step closer", WHITE, NULL, 1, 1);
    overlay_set_screen(ov, sh);
    overlay_text(ov, sw / 2, sh / 2 + big / 2, "and look at the camera", WHITE, NULL, 1, 0);
}

int ui_person_avoid(overlay_ctx *ov, const app *a, const overlay_view *v, int lh, SDL_Rect *avoid)
{
    const pipeline_result *res = &a->last;
    for (int i = 0; i < res->n; i++)
        avoid[i] = overlay_map_box(v, res->faces[i].box);
    overlay_layout_panels(ov, avoid, res->n, a->k, v->screen_w, v->screen_h, avoid + res->n);
    for (int i = 0; i < res->n; i++) { /* and the labels above the boxes */
        avoid[i].y -= lh;
        avoid[i].h += lh;
    }
    return 2 * res->n;
}

int ui_person_draw(SDL_Renderer *ren, overlay_ctx *ov, app *a, const overlay_view *v, int lh)
{
    person *p = &a->pers;
    const pipeline_result *res = &a->last;
    const int sw = v->screen_w, sh = v->screen_h;
    if (person_idle(a, nn_now())) {
        attract(ren, ov, sw, sh);
        return 1;
    }
    char msg[160];
    for (int i = 0; i < res->n; i++)
        if (res->faces[i].calibrated) {
            SDL_Rect b = overlay_map_box(v, res->faces[i].box);
            overlay_text(ov, b.x + b.w / 2, b.y + b.h + lh / 4, "calibrated", WHITE, &SHADE, 1, 0);
        }
    const int calibrating = neutral_message(&p->nt, p->t_ms, msg, sizeof msg);
    const char *text = res->hint && p->hints ? hints_text(p->hint) : NULL;
    if (!calibrating && !text)
        return 0;
    /* both messages where they cover no face, label or panel (nor each other) */
    SDL_Rect avoid[UI_PERSON_AVOID_MAX + 1];
    int n = ui_person_avoid(ov, a, v, lh, avoid);
    int tw = 0, th = 0;
    if (text && overlay_text_size(ov, text, 1, &tw, &th) == 0) {
        SDL_Point at = ui_person_hint_place(tw, th, avoid, n, sw, sh, lh);
        overlay_text(ov, sw / 2, at.y, text, WHITE, &HINT_BG, 1, 1);
        avoid[n++] = (SDL_Rect){at.x - lh / 2, at.y - lh / 4, tw + lh, th + lh / 2};
    }
    if (calibrating && overlay_text_size(ov, msg, 1, &tw, &th) == 0) {
        SDL_Point at = ui_person_hint_place(tw, th, avoid, n, sw, sh, lh);
        overlay_text(ov, sw / 2, at.y, msg, WHITE, &SHADE, 1, 1);
    }
    return text != NULL;
}
