/* test_detect_render.c - emotion-detect's overlay drawn offscreen (SDL's
 * dummy video driver, a software renderer on a surface): boxes, labels and
 * probability bars land where the layout says, in the right colours, and
 * the bar panel stays on screen; the recording annotator draws the same
 * into BGR frames. */
#include <stdlib.h>
#include <string.h>

#include "app_err.h"
#include "overlay.h"
#include "testutil.h"

static const char *const names[7] = {"angry", "disgust", "fear", "happy",
                                     "sad", "surprise", "neutral"};

static SDL_Color px(SDL_Surface *s, int x, int y)
{
    Uint32 v = ((Uint32 *)s->pixels)[(size_t)y * (s->pitch / 4) + x];
    SDL_Color c;
    SDL_GetRGBA(v, s->format, &c.r, &c.g, &c.b, &c.a);
    return c;
}

static int same(SDL_Color a, SDL_Color b)
{
    return abs(a.r - b.r) <= 2 && abs(a.g - b.g) <= 2 && abs(a.b - b.b) <= 2;
}

#define CHECK_PX(s, x, y, want) do { SDL_Color got_ = px(s, x, y); \
    CHECK_MSG(same(got_, want), "pixel (%d,%d) is %d,%d,%d, want %d,%d,%d", (int)(x), (int)(y), \
              got_.r, got_.g, got_.b, (want).r, (want).g, (want).b); } while (0)

static pipeline_face face_at(int x, int y, int w, int h, int cls, float conf)
{
    pipeline_face f;
    memset(&f, 0, sizeof f);
    f.id = 1;
    f.box = (cvw_rect){x, y, w, h};
    f.cls = cls;
    f.conf = conf;
    for (int c = 0; c < 7; c++)
        f.probs[c] = c == cls ? conf : (1 - conf) / 6;
    return f;
}

static void clear(SDL_Renderer *r)
{
    SDL_SetRenderDrawBlendMode(r, SDL_BLENDMODE_NONE);
    SDL_SetRenderDrawColor(r, 128, 128, 128, 255);
    SDL_RenderClear(r);
}

static void check_panel(SDL_Surface *s, overlay_ctx *o, SDL_Rect panel, const pipeline_face *f)
{
    CHECK(panel.x >= 0 && panel.y >= 0);
    CHECK(panel.x + panel.w <= s->w && panel.y + panel.h <= s->h);
    SDL_Color track = {70, 70, 70, 255};
    for (int c = 0; c < 7; c++) {
        SDL_Rect full = overlay_bar_rect(o, panel, c, 1), bar = overlay_bar_rect(o, panel, c, f->probs[c]);
        CHECK(bar.h >= 2 && full.w > 20);
        int ym = bar.y + bar.h / 2;
        if (bar.w >= 3)
            CHECK_PX(s, bar.x + bar.w - 2, ym, overlay_class_color(names[c], c));
        if (full.w - bar.w >= 3)
            CHECK_PX(s, bar.x + bar.w + 1, ym, track);
    }
    /* The longest bar is the winning class's and proportional to it. */
    SDL_Rect win = overlay_bar_rect(o, panel, f->cls, f->probs[f->cls]);
    SDL_Rect full = overlay_bar_rect(o, panel, f->cls, 1);
    CHECK_NEAR((double)win.w / full.w, f->probs[f->cls], 0.02);
}

int main(void)
{
    SDL_setenv("SDL_VIDEODRIVER", "dummy", 1);
    CHECK(SDL_Init(SDL_INIT_VIDEO) == 0);
    CHECK(TTF_Init() == 0);
    const char *src = getenv("NN_TEST_SRCDIR");
    char font[4096], bold[4096];
    snprintf(font, sizeof font, "%s/assets/DejaVuSans.ttf", src ? src : ".");
    snprintf(bold, sizeof bold, "%s/assets/DejaVuSans-Bold.ttf", src ? src : ".");

    const int W = 640, H = 480;
    SDL_Surface *s = SDL_CreateRGBSurfaceWithFormat(0, W, H, 32, SDL_PIXELFORMAT_ARGB8888);
    SDL_Renderer *r = s ? SDL_CreateSoftwareRenderer(s) : NULL;
    CHECK(r != NULL);
    overlay_ctx *o = r ? overlay_new(r, font, bold) : NULL;
    CHECK_MSG(o != NULL, "%s", app_error());
    if (!o)
        return test_done("test_detect_render");
    overlay_set_screen(o, H);
    SDL_Color grey = {128, 128, 128, 255};
    SDL_Color happy = overlay_class_color("happy", 3);
    CHECK(happy.r == 250 && happy.g == 200 && happy.b == 0);

    /* One face in the open: box outline in the class colour, the inside
     * untouched, the label above, the panel to the right. */
    pipeline_result res;
    memset(&res, 0, sizeof res);
    res.n = 1;
    res.faces[0] = face_at(100, 150, 160, 160, 3, 0.8f);
    overlay_view v = overlay_fit(W, H, W, H, 0);
    clear(r);
    overlay_draw_faces(o, &v, &res, names, 7);
    SDL_RenderPresent(r);
    SDL_Rect box = overlay_map_box(&v, res.faces[0].box);
    CHECK(box.x == 100 && box.y == 150 && box.w == 160);
    CHECK_PX(s, 100, 230, happy);
    CHECK_PX(s, 101, 230, happy);
    CHECK_PX(s, 258, 230, happy);
    CHECK_PX(s, 180, 151, happy);
    CHECK_PX(s, 180, 308, happy);
    CHECK_PX(s, 180, 230, grey);
    CHECK_PX(s, 120, 200, grey);
    /* Label: a happy-coloured background just above the box, its right
     * margin (past the text) in the class colour. */
    int lh = overlay_line_height(o), tw, th, pad = lh / 4 > 2 ? lh / 4 : 2;
    overlay_text_size(o, "happy 80%", 1, &tw, &th);
    CHECK_PX(s, 100 + pad / 2 + tw + 1, 150 - th / 2, happy);
    CHECK_PX(s, 180, 150 - th - 2, grey);
    SDL_Rect panel = overlay_panel_rect(o, box, 7, W, H);
    CHECK(panel.x >= box.x + box.w);
    check_panel(s, o, panel, &res.faces[0]);

    /* At the right edge the panel goes left of the box; near the bottom it
     * moves up; always on screen. */
    res.n = 2;
    res.faces[0] = face_at(560, 380, 70, 90, 6, 0.6f);
    res.faces[1] = face_at(5, 5, 60, 60, 0, 0.9f);
    clear(r);
    overlay_draw_faces(o, &v, &res, names, 7);
    SDL_RenderPresent(r);
    SDL_Rect boxes[3] = {overlay_map_box(&v, res.faces[0].box), overlay_map_box(&v, res.faces[1].box)},
             panels[3];
    box = boxes[0];
    overlay_layout_panels(o, boxes, 2, 7, W, H, panels);
    panel = panels[0];
    CHECK(panel.x + panel.w <= box.x);
    CHECK(panel.y + panel.h <= H);
    check_panel(s, o, panel, &res.faces[0]);
    check_panel(s, o, panels[1], &res.faces[1]);

    /* Two faces side by side with room for one panel between them: the
     * second panel goes below its face instead of over the first panel. */
    boxes[0] = (SDL_Rect){90, 150, 118, 118};
    boxes[1] = (SDL_Rect){410, 140, 112, 112};
    overlay_layout_panels(o, boxes, 2, 7, W, H, panels);
    SDL_Rect inter;
    CHECK(!SDL_IntersectRect(&panels[0], &panels[1], &inter));
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
            CHECK_MSG(!SDL_IntersectRect(&panels[i], &boxes[j], &inter), "panel %d covers face %d", i, j);
    CHECK(panels[1].y >= boxes[1].y + boxes[1].h);
    CHECK_PX(s, 561, 420, overlay_class_color("neutral", 6));
    /* Label without room above goes inside the box, still on screen. */
    overlay_text_size(o, "angry 90%", 1, &tw, &th);
    CHECK_PX(s, 5 + pad / 2 + tw + 1, 5 + 2 + th / 2, overlay_class_color("angry", 0));

    /* Scaled and mirrored view: a 320x240 frame in a 640x480 screen. */
    v = overlay_fit(320, 240, W, H, 1);
    CHECK_NEAR(v.scale, 2.0, 1e-6);
    box = overlay_map_box(&v, (cvw_rect){10, 20, 50, 60});
    CHECK(box.x == 2 * (320 - 60) && box.y == 40 && box.w == 100 && box.h == 120);
    v = overlay_fit(320, 240, 1000, 480, 0); /* letterboxed sideways */
    CHECK(v.x0 == 180 && v.y0 == 0);

    /* The recording annotator: same drawing into a BGR frame in place. */
    overlay_annotator *a = overlay_annotator_new(font, bold);
    CHECK_MSG(a != NULL, "%s", app_error());
    uint8_t *bgr = malloc((size_t)W * H * 3);
    memset(bgr, 128, (size_t)W * H * 3);
    res.n = 0;
    CHECK(overlay_annotate(a, bgr, W, H, &res, names, 7) == 0);
    int untouched = 1;
    for (size_t i = 0; i < (size_t)W * H * 3; i++)
        untouched &= bgr[i] == 128;
    CHECK(untouched);
    res.n = 1;
    res.faces[0] = face_at(100, 150, 160, 160, 3, 0.8f);
    CHECK(overlay_annotate(a, bgr, W, H, &res, names, 7) == 0);
    const uint8_t *p = bgr + ((size_t)230 * W + 100) * 3;
    CHECK_MSG(p[0] == happy.b && p[1] == happy.g && p[2] == happy.r, "bgr %d,%d,%d", p[0], p[1], p[2]);
    p = bgr + ((size_t)230 * W + 180) * 3;
    CHECK(p[0] == 128 && p[1] == 128 && p[2] == 128);
    free(bgr);
    overlay_annotator_free(a);

    overlay_free(o);
    SDL_DestroyRenderer(r);
    SDL_FreeSurface(s);
    TTF_Quit();
    SDL_Quit();
    return test_done("test_detect_render");
}
