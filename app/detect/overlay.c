/* overlay.c - boxes, labels and probability bars with SDL2; see overlay.h. */
#include "overlay.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_err.h"

#define OVERLAY_MAX_NAMES NN_MAX_CLASSES

struct overlay_ctx {
    SDL_Renderer *r;
    char *font_path, *bold_path;
    TTF_Font *font, *bold;
    int pt;           /* current point size, 0 = none yet */
    int line_h;
    /* Class-name textures: drawn in every panel of every frame. */
    SDL_Texture *name_tex[OVERLAY_MAX_NAMES];
    char name_txt[OVERLAY_MAX_NAMES][NN_NAME_MAX];
    int name_w[OVERLAY_MAX_NAMES], name_h[OVERLAY_MAX_NAMES];
    int names_w;      /* widest name of the current set */
    const char *const *names_of; /* the set the widths are for */
    int ttf;          /* holds one TTF_Init */
};

overlay_view overlay_fit(int frame_w, int frame_h, int screen_w, int screen_h, int mirror)
{
    overlay_view v;
    float sx = (float)screen_w / (float)(frame_w > 0 ? frame_w : 1);
    float sy = (float)screen_h / (float)(frame_h > 0 ? frame_h : 1);
    v.scale = sx < sy ? sx : sy;
    v.x0 = floorf((screen_w - frame_w * v.scale) / 2);
    v.y0 = floorf((screen_h - frame_h * v.scale) / 2);
    v.mirror = mirror;
    v.frame_w = frame_w;
    v.frame_h = frame_h;
    v.screen_w = screen_w;
    v.screen_h = screen_h;
    return v;
}

SDL_Rect overlay_map_box(const overlay_view *v, cvw_rect b)
{
    int x = v->mirror ? v->frame_w - (b.x + b.w) : b.x;
    SDL_Rect r;
    r.x = (int)lroundf(v->x0 + x * v->scale);
    r.y = (int)lroundf(v->y0 + b.y * v->scale);
    r.w = (int)lroundf(b.w * v->scale);
    r.h = (int)lroundf(b.h * v->scale);
    return r;
}

SDL_Color overlay_class_color(const char *name, int index)
{
    static const struct {
        const char *name;
        SDL_Color c;
    } known[] = {
        {"angry", {230, 40, 40, 255}},     {"disgust", {60, 170, 60, 255}},
        {"fear", {160, 80, 220, 255}},     {"happy", {250, 200, 0, 255}},
        {"sad", {50, 120, 240, 255}},      {"surprise", {255, 130, 0, 255}},
        {"neutral", {190, 190, 190, 255}}, {"contempt", {150, 110, 70, 255}},
    };
    static const SDL_Color palette[] = {
        {0, 200, 200, 255}, {220, 0, 160, 255}, {120, 200, 0, 255}, {255, 100, 120, 255},
        {100, 100, 255, 255}, {200, 160, 100, 255},
    };
    for (size_t i = 0; name && i < sizeof known / sizeof *known; i++)
        if (!strcmp(name, known[i].name))
            return known[i].c;
    return palette[(index < 0 ? 0 : index) % (int)(sizeof palette / sizeof *palette)];
}

static void drop_names(overlay_ctx *o)
{
    for (int i = 0; i < OVERLAY_MAX_NAMES; i++) {
        if (o->name_tex[i])
            SDL_DestroyTexture(o->name_tex[i]);
        o->name_tex[i] = NULL;
        o->name_txt[i][0] = 0;
    }
    o->names_of = NULL;
}

overlay_ctx *overlay_new(SDL_Renderer *r, const char *font_path, const char *bold_path)
{
    /* SDL_ttf counts its users: each context holds one start, so the font
     * renderer runs only while something draws (never headless without
     * --record). */
    if (TTF_Init() != 0)
        return app_fail_null("cannot start the font renderer: %s", TTF_GetError());
    overlay_ctx *o = calloc(1, sizeof *o);
    if (!o) {
        TTF_Quit();
        return app_fail_null("out of memory");
    }
    o->ttf = 1;
    o->r = r;
    o->font_path = strdup(font_path);
    o->bold_path = strdup(bold_path ? bold_path : font_path);
    if (!o->font_path || !o->bold_path || overlay_set_screen(o, 480) != 0) {
        app_fail("font '%s': %s", font_path, TTF_GetError());
        overlay_free(o);
        return NULL;
    }
    return o;
}

void overlay_free(overlay_ctx *o)
{
    if (!o)
        return;
    drop_names(o);
    if (o->font)
        TTF_CloseFont(o->font);
    if (o->bold)
        TTF_CloseFont(o->bold);
    free(o->font_path);
    free(o->bold_path);
    if (o->ttf)
        TTF_Quit();
    free(o);
}

int overlay_set_screen(overlay_ctx *o, int screen_h)
{
    /* About 30 lines of text fit the screen's height, within readable
     * bounds: big enough on a 4K kiosk, not huge in a 320x240 recording. */
    int pt = screen_h / 32;
    pt = pt < 10 ? 10 : (pt > 40 ? 40 : pt);
    if (pt == o->pt && o->font)
        return 0;
    TTF_Font *f = TTF_OpenFont(o->font_path, pt);
    TTF_Font *b = f ? TTF_OpenFont(o->bold_path, pt) : NULL;
    if (!f || !b) {
        if (f)
            TTF_CloseFont(f);
        return -1;
    }
    if (o->font)
        TTF_CloseFont(o->font);
    if (o->bold)
        TTF_CloseFont(o->bold);
    o->font = f;
    o->bold = b;
    o->pt = pt;
    o->line_h = TTF_FontLineSkip(f);
    drop_names(o);
    return 0;
}

int overlay_line_height(const overlay_ctx *o) { return o->line_h; }

int overlay_text_size(overlay_ctx *o, const char *s, int bold, int *w, int *h)
{
    return TTF_SizeUTF8(bold ? o->bold : o->font, s, w, h);
}

static void blit_texture(overlay_ctx *o, SDL_Texture *t, int x, int y, int w, int h)
{
    SDL_Rect d = {x, y, w, h};
    SDL_RenderCopy(o->r, t, NULL, &d);
}

int overlay_text(overlay_ctx *o, int x, int y, const char *s, SDL_Color fg, const SDL_Color *bg,
            int align, int bold)
{
    if (!s || !*s)
        return 0;
    SDL_Surface *surf = TTF_RenderUTF8_Blended(bold ? o->bold : o->font, s, fg);
    if (!surf)
        return 0;
    int w = surf->w, h = surf->h;
    if (align == 1)
        x -= w / 2;
    else if (align == 2)
        x -= w;
    if (bg) {
        int pad = o->line_h / 6;
        SDL_Rect b = {x - pad, y, w + 2 * pad, h};
        SDL_SetRenderDrawBlendMode(o->r, bg->a == 255 ? SDL_BLENDMODE_NONE : SDL_BLENDMODE_BLEND);
        SDL_SetRenderDrawColor(o->r, bg->r, bg->g, bg->b, bg->a);
        SDL_RenderFillRect(o->r, &b);
    }
    SDL_Texture *t = SDL_CreateTextureFromSurface(o->r, surf);
    if (t) {
        blit_texture(o, t, x, y, w, h);
        SDL_DestroyTexture(t);
    }
    SDL_FreeSurface(surf);
    return w;
}

/* Cache textures of the class names; recomputed when the font or the set
 * of names changes. */
static void prepare_names(overlay_ctx *o, const char *const *names, int k)
{
    if (k > OVERLAY_MAX_NAMES)
        k = OVERLAY_MAX_NAMES;
    int same = o->names_of == names;
    for (int i = 0; same && i < k; i++)
        same = o->name_tex[i] && !strncmp(o->name_txt[i], names[i], NN_NAME_MAX - 1);
    if (same)
        return;
    drop_names(o);
    o->names_w = 0;
    SDL_Color white = {235, 235, 235, 255};
    for (int i = 0; i < k; i++) {
        snprintf(o->name_txt[i], sizeof o->name_txt[i], "%s", names[i] ? names[i] : "?");
        SDL_Surface *s = TTF_RenderUTF8_Blended(o->font, o->name_txt[i], white);
        if (!s)
            continue;
        o->name_tex[i] = SDL_CreateTextureFromSurface(o->r, s);
        o->name_w[i] = s->w;
        o->name_h[i] = s->h;
        if (s->w > o->names_w)
            o->names_w = s->w;
        SDL_FreeSurface(s);
    }
    o->names_of = names;
}

static int bar_len(const overlay_ctx *o) { return o->line_h * 5; }
static int pad_of(const overlay_ctx *o) { return o->line_h / 4 > 2 ? o->line_h / 4 : 2; }

static long overlap(SDL_Rect a, SDL_Rect b)
{
    SDL_Rect i;
    return SDL_IntersectRect(&a, &b, &i) ? (long)i.w * i.h : 0;
}

static SDL_Rect clamp_rect(SDL_Rect p, int sw, int sh)
{
    if (p.x + p.w > sw)
        p.x = sw - p.w;
    if (p.y + p.h > sh)
        p.y = sh - p.h;
    if (p.x < 0)
        p.x = 0;
    if (p.y < 0)
        p.y = 0;
    return p;
}

/* Screen covered by panel p: of faces with their labels, and of the panels
 * placed before it (out[0..i)). */
static long panel_cost(SDL_Rect p, const SDL_Rect *boxes, int n, const SDL_Rect *out, int i,
                       int lh)
{
    long cost = 0;
    for (int j = 0; j < n; j++) {
        SDL_Rect face = boxes[j];
        face.y -= lh; /* and its label */
        face.h += lh;
        cost += overlap(p, face);
    }
    for (int j = 0; j < i; j++)
        cost += overlap(p, out[j]);
    return cost;
}

/* When none of the four places beside a face is free (several faces close
 * together): the free place on screen nearest the face, on a grid of
 * half-line steps. Returns 0 and sets *at, or -1 when the screen has none. */
static int free_place(SDL_Rect b, int pw, int ph, const SDL_Rect *boxes, int n,
                      const SDL_Rect *out, int i, int sw, int sh, int lh, SDL_Rect *at)
{
    const int step = lh / 2 > 2 ? lh / 2 : 2, cx = b.x + b.w / 2, cy = b.y + b.h / 2;
    long best = -1;
    for (int y = 0; y + ph <= sh; y += step)
        for (int x = 0; x + pw <= sw; x += step) {
            SDL_Rect p = {x, y, pw, ph};
            const long dx = x + pw / 2 - cx, dy = y + ph / 2 - cy, d = dx * dx + dy * dy;
            if ((best < 0 || d < best) && panel_cost(p, boxes, n, out, i, lh) == 0) {
                best = d;
                *at = p;
            }
        }
    return best < 0 ? -1 : 0;
}

void overlay_layout_panels(overlay_ctx *o, const SDL_Rect *boxes, int n, int k, int sw, int sh,
                      SDL_Rect *out)
{
    int pad = pad_of(o), gap = pad, lh = o->line_h;
    int pw = 3 * pad + o->names_w + bar_len(o), ph = 2 * pad + k * lh;
    for (int i = 0; i < n; i++) {
        SDL_Rect b = boxes[i];
        /* Right of the box, left of it, below it, above its label: the
         * first that fits on screen and covers no face, label or earlier
         * panel; failing that, the one covering least. */
        SDL_Rect cand[4] = {
            {b.x + b.w + gap, b.y, pw, ph},
            {b.x - gap - pw, b.y, pw, ph},
            {b.x, b.y + b.h + gap, pw, ph},
            {b.x, b.y - lh - gap - ph, pw, ph},
        };
        long best = -1;
        for (int c = 0; c < 4; c++) {
            SDL_Rect p = cand[c], q = clamp_rect(p, sw, sh);
            long cost = 0;
            for (int j = 0; j < n; j++) {
                SDL_Rect face = boxes[j];
                face.y -= lh; /* and its label */
                face.h += lh;
                cost += overlap(q, face);
            }
            for (int j = 0; j < i; j++)
                cost += overlap(q, out[j]);
            /* Moving a panel to fit the screen is fine but worse than not. */
            if (p.x != q.x || p.y != q.y)
                cost += 1;
            if (best < 0 || cost < best) {
                best = cost;
                out[i] = q;
            }
            if (cost == 0)
                break;
        }
        if (best > 1)
            free_place(b, pw, ph, boxes, n, out, i, sw, sh, lh, &out[i]);
    }
}

SDL_Rect overlay_panel_rect(overlay_ctx *o, SDL_Rect box, int k, int screen_w, int screen_h)
{
    SDL_Rect p;
    overlay_layout_panels(o, &box, 1, k, screen_w, screen_h, &p);
    return p;
}

SDL_Rect overlay_bar_rect(overlay_ctx *o, SDL_Rect panel, int c, float p)
{
    int pad = pad_of(o), lh = o->line_h;
    if (p < 0)
        p = 0;
    if (p > 1)
        p = 1;
    SDL_Rect b;
    b.x = panel.x + 2 * pad + o->names_w;
    b.y = panel.y + pad + c * lh + lh / 5;
    b.h = lh - 2 * (lh / 5);
    b.w = (int)lroundf(bar_len(o) * p);
    return b;
}

static void draw_frame_rect(SDL_Renderer *r, SDL_Rect b, int t)
{
    /* A thick outline as four filled strips, so the thickness is exact in
     * every renderer. */
    SDL_Rect s[4] = {
        {b.x, b.y, b.w, t},
        {b.x, b.y + b.h - t, b.w, t},
        {b.x, b.y, t, b.h},
        {b.x + b.w - t, b.y, t, b.h},
    };
    SDL_RenderFillRects(r, s, 4);
}

void overlay_draw_faces(overlay_ctx *o, const overlay_view *v, const pipeline_result *res,
                   const char *const *names, int k)
{
    if (k > OVERLAY_MAX_NAMES)
        k = OVERLAY_MAX_NAMES;
    prepare_names(o, names, k);
    int lh = o->line_h, pad = pad_of(o);
    int thick = lh / 8 > 2 ? lh / 8 : 2;
    SDL_Rect boxes[PIPELINE_MAX_FACES], panels[PIPELINE_MAX_FACES];
    for (int i = 0; i < res->n; i++)
        boxes[i] = overlay_map_box(v, res->faces[i].box);
    overlay_layout_panels(o, boxes, res->n, k, v->screen_w, v->screen_h, panels);
    for (int i = 0; i < res->n; i++) {
        const pipeline_face *f = &res->faces[i];
        SDL_Rect box = boxes[i];
        SDL_Color col = overlay_class_color(names[f->cls], f->cls);

        SDL_SetRenderDrawBlendMode(o->r, SDL_BLENDMODE_NONE);
        SDL_SetRenderDrawColor(o->r, col.r, col.g, col.b, 255);
        draw_frame_rect(o->r, box, thick);

        /* Probability panel first, so the label is never hidden by a
         * neighbour's panel drawn later on the same face. */
        SDL_Rect panel = panels[i];
        SDL_SetRenderDrawBlendMode(o->r, SDL_BLENDMODE_BLEND);
        SDL_SetRenderDrawColor(o->r, 0, 0, 0, 160);
        SDL_RenderFillRect(o->r, &panel);
        for (int c = 0; c < k; c++) {
            if (o->name_tex[c])
                blit_texture(o, o->name_tex[c], panel.x + pad,
                             panel.y + pad + c * lh + (lh - o->name_h[c]) / 2,
                             o->name_w[c], o->name_h[c]);
            SDL_Rect track = overlay_bar_rect(o, panel, c, 1);
            SDL_Rect bar = overlay_bar_rect(o, panel, c, f->probs[c]);
            SDL_SetRenderDrawBlendMode(o->r, SDL_BLENDMODE_NONE);
            SDL_SetRenderDrawColor(o->r, 70, 70, 70, 255);
            SDL_RenderFillRect(o->r, &track);
            SDL_Color bc = overlay_class_color(names[c], c);
            SDL_SetRenderDrawColor(o->r, bc.r, bc.g, bc.b, 255);
            if (bar.w > 0)
                SDL_RenderFillRect(o->r, &bar);
        }

        char label[NN_NAME_MAX + 16];
        snprintf(label, sizeof label, "%s %.0f%%", names[f->cls] ? names[f->cls] : "?",
                 f->conf * 100);
        int tw = 0, th = 0;
        overlay_text_size(o, label, 1, &tw, &th);
        int ly = box.y - th;
        if (ly < 0)
            ly = box.y + thick; /* no room above: just inside the box */
        int lx = box.x + pad / 2;
        if (lx + tw + pad > v->screen_w)
            lx = v->screen_w - tw - pad;
        if (lx < pad / 2)
            lx = pad / 2;
        SDL_Color black = {0, 0, 0, 255};
        overlay_text(o, lx, ly, label, black, &col, 0, 1);
    }
}

/* ---- offscreen annotation ------------------------------------------------ */

struct overlay_annotator {
    char *font_path, *bold_path;
    SDL_Surface *surf; /* ARGB8888: blending needs 32-bit pixels */
    SDL_Renderer *r;
    overlay_ctx *ov;
    int ttf;           /* holds one TTF_Init */
};

overlay_annotator *overlay_annotator_new(const char *font_path, const char *bold_path)
{
    if (TTF_Init() != 0)
        return app_fail_null("cannot start the font renderer: %s", TTF_GetError());
    overlay_annotator *a = calloc(1, sizeof *a);
    if (!a) {
        TTF_Quit();
        return app_fail_null("out of memory");
    }
    a->ttf = 1;
    a->font_path = strdup(font_path);
    a->bold_path = strdup(bold_path ? bold_path : font_path);
    /* Prove the fonts load now, not on the first face. */
    TTF_Font *f = TTF_OpenFont(font_path, 12);
    if (!f) {
        app_fail("font '%s': %s", font_path, TTF_GetError());
        overlay_annotator_free(a);
        return NULL;
    }
    TTF_CloseFont(f);
    return a;
}

void overlay_annotator_free(overlay_annotator *a)
{
    if (!a)
        return;
    overlay_free(a->ov);
    if (a->r)
        SDL_DestroyRenderer(a->r);
    if (a->surf)
        SDL_FreeSurface(a->surf);
    free(a->font_path);
    free(a->bold_path);
    if (a->ttf)
        TTF_Quit();
    free(a);
}

int overlay_annotate(overlay_annotator *a, uint8_t *bgr, int w, int h, const pipeline_result *res,
                const char *const *names, int k)
{
    if (!a->surf || a->surf->w != w || a->surf->h != h) {
        overlay_free(a->ov);
        a->ov = NULL;
        if (a->r)
            SDL_DestroyRenderer(a->r);
        a->r = NULL;
        if (a->surf)
            SDL_FreeSurface(a->surf);
        a->surf = SDL_CreateRGBSurfaceWithFormat(0, w, h, 32, SDL_PIXELFORMAT_ARGB8888);
        if (!a->surf)
            return app_fail("drawing failed: %s", SDL_GetError());
        a->r = SDL_CreateSoftwareRenderer(a->surf);
        if (!a->r)
            return app_fail("drawing failed: %s", SDL_GetError());
        a->ov = overlay_new(a->r, a->font_path, a->bold_path);
        if (!a->ov)
            return -1;
        overlay_set_screen(a->ov, h);
    }
    if (res->n == 0)
        return 0; /* nothing to draw: leave the frame untouched */
    if (SDL_ConvertPixels(w, h, SDL_PIXELFORMAT_BGR24, bgr, w * 3, SDL_PIXELFORMAT_ARGB8888,
                          a->surf->pixels, a->surf->pitch) != 0)
        return app_fail("drawing failed: %s", SDL_GetError());
    overlay_view v = overlay_fit(w, h, w, h, 0);
    overlay_draw_faces(a->ov, &v, res, names, k);
    SDL_RenderPresent(a->r);
    if (SDL_ConvertPixels(w, h, SDL_PIXELFORMAT_ARGB8888, a->surf->pixels, a->surf->pitch,
                          SDL_PIXELFORMAT_BGR24, bgr, w * 3) != 0)
        return app_fail("drawing failed: %s", SDL_GetError());
    return 0;
}
