/*
 * ui.c - emotion-detect's window: the video scaled to fit, the overlay drawn
 * at the window's own resolution (sharp text at any size), keys for
 * fullscreen, pause, screenshots, recording, a debug overlay and mirroring.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "app_err.h"
#include "cli.h"
#include "outpath.h"
#include "overlay.h"
#include "ui_person.h"

typedef struct ui {
    app *a;
    SDL_Window *win;
    SDL_Renderer *ren;
    SDL_Texture *tex;
    int tex_w, tex_h;
    overlay_ctx *ov;
    int have_frame, paused, mirror, debug, fullscreen, ended;
    SDL_Rect win_rect; /* the window's place before fullscreen */
    int want_shot;
    double help_until;
    char toast[APP_PATH_MAX + 600];
    double toast_until;
    double fps;          /* smoothed frames per second */
    double last_frame_t;
    double draw_ms;
} ui;

static const SDL_Color WHITE = {255, 255, 255, 255};
static const SDL_Color SHADE = {0, 0, 0, 170};

static void stamp(char *buf, size_t len, const char *prefix, const char *ext)
{
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    char ts[32];
    strftime(ts, sizeof ts, "%Y%m%d-%H%M%S", &tm);
    char stem[96];
    snprintf(stem, sizeof stem, "%s-%s", prefix, ts);
    outpath_free_name(buf, len, stem, ext);
}

static void toast(ui *u, const char *msg)
{
    snprintf(u->toast, sizeof u->toast, "%s", msg);
    u->toast_until = nn_now() + 3;
}

static void upload(ui *u, const source_frame *f)
{
    if (!u->tex || u->tex_w != f->w || u->tex_h != f->h) {
        if (u->tex)
            SDL_DestroyTexture(u->tex);
        u->tex = SDL_CreateTexture(u->ren, SDL_PIXELFORMAT_BGR24, SDL_TEXTUREACCESS_STREAMING,
                                   f->w, f->h);
        u->tex_w = f->w;
        u->tex_h = f->h;
    }
    if (u->tex) /* the heat maps and --blur are in the shown copy */
        SDL_UpdateTexture(u->tex, NULL, person_pixels(u->a, f), f->w * 3);
    u->have_frame = 1;
}

static void red_dot(ui *u, int sw)
{
    int lh = overlay_line_height(u->ov), rad = lh / 3 + 2;
    int cx = sw - lh - rad, cy = lh / 2 + rad;
    SDL_SetRenderDrawBlendMode(u->ren, SDL_BLENDMODE_NONE);
    SDL_SetRenderDrawColor(u->ren, 230, 0, 0, 255);
    for (int dy = -rad; dy <= rad; dy++) {
        int dx = (int)sqrt((double)(rad * rad - dy * dy));
        SDL_RenderDrawLine(u->ren, cx - dx, cy + dy, cx + dx, cy + dy);
    }
    SDL_Color red = {230, 0, 0, 255};
    overlay_text(u->ov, cx - rad - lh / 3, cy - lh / 2, "REC", red, &SHADE, 2, 1);
}

/* Frame rate, per-stage times and detector settings, top left. */
static void draw_debug(ui *u, int lh)
{
    const app *a = u->a;
    const pipeline_result *r = &a->last;
    char msg[512];
    snprintf(msg, sizeof msg, "%.1f fps   %d face%s   %s", u->fps, r->n, r->n == 1 ? "" : "s",
             r->detected ? "detected" : "tracked");
    overlay_text(u->ov, lh / 2, lh / 2, msg, WHITE, &SHADE, 0, 0);
    int y = lh / 2 + lh;
    for (int s = 0; s < PIPELINE_N_STAGES; s++) {
        double ms = s == PIPELINE_DRAW ? u->draw_ms : r->ms[s];
        snprintf(msg, sizeof msg, "%-9s %6.2f ms", pipeline_stage_names[s], ms);
        overlay_text(u->ov, lh / 2, y, msg, WHITE, &SHADE, 0, 0);
        y += lh;
    }
    snprintf(msg, sizeof msg, "detect width %d, scale %.2f, neighbours %d, every %d",
             a->o.detect_width, a->o.scale_factor, a->o.min_neighbors, a->o.detect_every);
    overlay_text(u->ov, lh / 2, y, msg, WHITE, &SHADE, 0, 0);
    int int8 = nn_net_precision(a->net) == NN_PRECISION_INT8;
    snprintf(msg, sizeof msg, "kernels %s, model %s%s", nn_kernel_name(), int8 ? "int8 " : "fp32",
             int8 ? nn_net_int8_kernel(a->net) : "");
    overlay_text(u->ov, lh / 2, y + lh, msg, WHITE, &SHADE, 0, 0);
}

/* The keys, bottom centre: one line, or two in a window too narrow for it;
 * at the top instead when a face, its label or its panel is down there
 * (the key help is there for a few seconds, the panels are the product). */
static void draw_help(ui *u, int sw, int sh, int lh)
{
    static const char keys1[] = "q quit   f fullscreen   space pause   s screenshot",
                      keys2[] = "r record   d debug   m mirror   g heat map   c calibrate";
    char line[128];
    snprintf(line, sizeof line, "%s   %s", keys1, keys2);
    int tw = 0, th = 0;
    const int two = overlay_text_size(u->ov, line, 0, &tw, &th) == 0 && tw + lh > sw;
    const int lines = two ? 2 : 1;
    SDL_Rect avoid[UI_PERSON_AVOID_MAX];
    int n = 0;
    if (u->have_frame) {
        overlay_view v = overlay_fit(u->tex_w, u->tex_h, sw, sh, u->mirror);
        n = ui_person_avoid(u->ov, u->a, &v, lh, avoid);
    }
    const int y = ui_person_help_y(lines, avoid, n, sw, sh, lh);
    if (two) {
        overlay_text(u->ov, sw / 2, y, keys1, WHITE, &SHADE, 1, 0);
        overlay_text(u->ov, sw / 2, y + lh, keys2, WHITE, &SHADE, 1, 0);
    } else {
        overlay_text(u->ov, sw / 2, y, line, WHITE, &SHADE, 1, 0);
    }
}

/* A message for the user: on screen for a few seconds and, when it is a
 * failure, on stderr too (the window may be gone before it is read). */
static void tell(ui *u, const char *msg, int failure)
{
    toast(u, msg);
    if (failure)
        cli_err("%s", msg);
}

/* text centred and broken at spaces (or anywhere, for a long path) into
 * lines that fit the window, the last line's baseline at y_last. */
static void draw_wrapped(ui *u, const char *text, int sw, int y_last, int lh)
{
    enum { MAX_LINES = 8 };
    char lines[MAX_LINES][APP_PATH_MAX + 600];
    int n = 0, max_w = sw - lh > 2 * lh ? sw - lh : 2 * lh;
    const char *p = text;
    while (*p && n < MAX_LINES) {
        /* The longest prefix that fits, preferring to end at a space. */
        size_t len = strlen(p), fit = 0, at_space = 0;
        for (size_t k = 1; k <= len; k++) {
            char buf[APP_PATH_MAX + 600];
            snprintf(buf, sizeof buf, "%.*s", (int)k, p);
            int tw = 0, th = 0;
            if (overlay_text_size(u->ov, buf, 0, &tw, &th) != 0 || tw > max_w)
                break;
            fit = k;
            if (p[k] == ' ' || p[k] == 0)
                at_space = k;
        }
        size_t take = at_space ? at_space : fit ? fit : 1;
        snprintf(lines[n++], sizeof lines[0], "%.*s", (int)take, p);
        p += take;
        while (*p == ' ')
            p++;
    }
    for (int i = 0; i < n; i++)
        overlay_text(u->ov, sw / 2, y_last - (n - 1 - i) * lh, lines[i], WHITE, &SHADE, 1, 0);
}

static void draw(ui *u)
{
    app *a = u->a;
    int sw, sh;
    SDL_GetRendererOutputSize(u->ren, &sw, &sh);
    overlay_set_screen(u->ov, sh);
    int lh = overlay_line_height(u->ov);
    double t0 = nn_now();

    SDL_SetRenderDrawColor(u->ren, 0, 0, 0, 255);
    SDL_RenderClear(u->ren);
    if (u->have_frame && u->tex) {
        overlay_view v = overlay_fit(u->tex_w, u->tex_h, sw, sh, u->mirror);
        SDL_Rect dst = {(int)v.x0, (int)v.y0, (int)lround(u->tex_w * v.scale),
                        (int)lround(u->tex_h * v.scale)};
        SDL_RenderCopyEx(u->ren, u->tex, NULL, &dst, 0, NULL,
                         u->mirror ? SDL_FLIP_HORIZONTAL : SDL_FLIP_NONE);
        /* Debug text first so face labels and bars stay readable over it. */
        if (u->debug)
            draw_debug(u, lh);
        overlay_draw_faces(u->ov, &v, &a->last, a->names, a->k);
        if (ui_person_draw(u->ren, u->ov, u->a, &v, lh)) {
            /* the attract screen or a hint says it */
        } else if (a->last.n == 0)
            overlay_text(u->ov, sw / 2, sh - 3 * lh, "No face found - face the camera", WHITE,
                    &SHADE, 1, 1);
    }

    char msg[512];
    if (!source_ok(a->src)) {
        /* Kiosk: the camera is gone; say so big and plain. */
        SDL_Color bg = {160, 0, 0, 220};
        source_message(a->src, msg, sizeof msg);
        overlay_text(u->ov, sw / 2, sh / 2 - lh, msg[0] ? msg : "camera not available", WHITE,
                     &bg, 1, 1);
    } else if (u->paused) {
        overlay_text(u->ov, sw / 2, lh / 2, "paused - space to resume", WHITE, &SHADE, 1, 1);
    } else if (u->ended) {
        overlay_text(u->ov, sw / 2, lh / 2, "end of input - q to quit", WHITE, &SHADE, 1, 1);
    }

    if (a->rec_on)
        red_dot(u, sw);
    double now = nn_now();
    if (now < u->help_until)
        draw_help(u, sw, sh, lh);
    if (now < u->toast_until)
        draw_wrapped(u, u->toast, sw, sh - 9 * lh / 2, lh);

    if (u->want_shot) {
        /* Read back before presenting: after it the back buffer is undefined. */
        u->want_shot = 0;
        uint8_t *px = malloc((size_t)sw * sh * 3);
        char name[128];
        stamp(name, sizeof name, "emotion-detect", "png");
        if (px && SDL_RenderReadPixels(u->ren, NULL, SDL_PIXELFORMAT_BGR24, px, sw * 3) == 0 &&
            cvw_write_image(name, px, sw, sh, 3) == 0) {
            snprintf(msg, sizeof msg, "screenshot saved: %s", name);
            toast(u, msg);
        } else {
            snprintf(msg, sizeof msg, "screenshot failed: %s", px ? cvw_error() : "out of memory");
            tell(u, msg, 1);
        }
        free(px);
    }
    u->draw_ms = (nn_now() - t0) * 1e3;
    SDL_RenderPresent(u->ren);
}

static void stop_recording(ui *u)
{
    app *a = u->a;
    if (!a->rec_on)
        return;
    char msg[APP_PATH_MAX + 600], path[APP_PATH_MAX];
    snprintf(path, sizeof path, "%s", a->rec_path);
    app_rec_status st = app_record_stop(a);
    if (st == APP_REC_FAILED)
        snprintf(msg, sizeof msg, "recording failed: %s", app_error());
    else if (st == APP_REC_EMPTY)
        snprintf(msg, sizeof msg, "nothing recorded: %s", app_error());
    else
        snprintf(msg, sizeof msg, "recording saved: %s", path);
    tell(u, msg, !a->rec_done);
}

static void toggle_record(ui *u)
{
    app *a = u->a;
    char msg[APP_PATH_MAX + 600];
    if (a->rec_on) {
        stop_recording(u);
        return;
    }
    char name[128];
    stamp(name, sizeof name, "emotion-detect", "avi");
    if (app_record_start(a, name) == 0) {
        snprintf(msg, sizeof msg, "recording to %s", name);
        tell(u, msg, 0);
    } else {
        snprintf(msg, sizeof msg, "cannot record: %s", app_error());
        tell(u, msg, 1);
    }
}

/* Fullscreen on or off. Without a window manager (a bare X server) the
 * fullscreen request alone does nothing visible, so the window is also
 * moved and sized to cover the display, and put back when leaving. */
static void set_fullscreen(ui *u, int on)
{
    if (on == u->fullscreen)
        return;
    u->fullscreen = on;
    if (on) {
        SDL_Rect r;
        SDL_GetWindowPosition(u->win, &u->win_rect.x, &u->win_rect.y);
        SDL_GetWindowSize(u->win, &u->win_rect.w, &u->win_rect.h);
        int d = SDL_GetWindowDisplayIndex(u->win);
        if (SDL_GetDisplayBounds(d < 0 ? 0 : d, &r) == 0) {
            SDL_SetWindowBordered(u->win, SDL_FALSE);
            SDL_SetWindowPosition(u->win, r.x, r.y);
            SDL_SetWindowSize(u->win, r.w, r.h);
        }
        SDL_SetWindowFullscreen(u->win, SDL_WINDOW_FULLSCREEN_DESKTOP);
    } else {
        SDL_SetWindowFullscreen(u->win, 0);
        SDL_SetWindowBordered(u->win, SDL_TRUE);
        if (u->win_rect.w > 0) {
            SDL_SetWindowSize(u->win, u->win_rect.w, u->win_rect.h);
            SDL_SetWindowPosition(u->win, u->win_rect.x, u->win_rect.y);
        }
    }
}

/* Returns 1 to quit. */
static int handle(ui *u, const SDL_Event *e)
{
    if (e->type == SDL_QUIT)
        return 1;
    if (e->type != SDL_KEYDOWN || e->key.repeat)
        return 0;
    switch (e->key.keysym.sym) {
    case SDLK_q:
    case SDLK_ESCAPE:
        return 1;
    case SDLK_f:
        set_fullscreen(u, !u->fullscreen);
        break;
    case SDLK_SPACE:
        u->paused = !u->paused;
        break;
    case SDLK_s:
        u->want_shot = 1;
        break;
    case SDLK_r:
        toggle_record(u);
        break;
    case SDLK_d:
        u->debug = !u->debug;
        break;
    case SDLK_m:
        u->mirror = !u->mirror;
        break;
    case SDLK_g:
        u->a->pers.heat = !u->a->pers.heat;
        toast(u, u->a->pers.heat ? "heat map: what the model looks at" : "heat map off");
        break;
    case SDLK_c: {
        const char *m = person_toggle_calibration(u->a);
        if (*m) /* starting: the countdown says it */
            toast(u, m);
        break;
    }
    default:
        break;
    }
    return 0;
}

static int env_set(const char *name)
{
    const char *v = SDL_getenv(name);
    return v && *v;
}

/* SDL's drivers that draw on no screen at all. */
static int screenless(const char *driver)
{
    return driver && (!strcmp(driver, "offscreen") || !strcmp(driver, "dummy"));
}

#define NO_DISPLAY_HINT "use --headless (with --log or --record to keep the results)"

/* SDL's video. With no display, SDL 2.26 ends at its offscreen driver: a
 * window nobody sees and a run that looks like a hang. So unless
 * SDL_VIDEODRIVER names a driver (the tests' dummy one), only the drivers
 * that can show a window are tried: without WAYLAND_DISPLAY that is X
 * (with DISPLAY) and a console (kmsdrm, a kiosk without X), which also
 * keeps libwayland's complaint about its default socket off stderr; and
 * a screenless driver SDL still falls back to is refused. 0, or
 * CLI_EXIT_FAIL after one line. */
static int init_video(void)
{
    if (env_set("SDL_VIDEODRIVER")) {
        if (SDL_Init(SDL_INIT_VIDEO) != 0) {
            cli_err("cannot open a window: %s (use --headless without a display)", SDL_GetError());
            return CLI_EXIT_FAIL;
        }
        return 0;
    }
    const int has_x = env_set("DISPLAY"), has_w = env_set("WAYLAND_DISPLAY");
    if (!has_w)
        SDL_SetHint(SDL_HINT_VIDEODRIVER, has_x ? "x11,kmsdrm" : "kmsdrm");
    int ok = SDL_Init(SDL_INIT_VIDEO) == 0;
    if (ok && !screenless(SDL_GetCurrentVideoDriver()))
        return 0;
    if (ok)
        SDL_Quit();
    if (!has_x && !has_w) {
        cli_err("no display to open a window on (DISPLAY and WAYLAND_DISPLAY are not set, and no "
                "console display): " NO_DISPLAY_HINT);
        return CLI_EXIT_FAIL;
    }
    char what[512];
    if (has_x && has_w)
        snprintf(what, sizeof what, "DISPLAY '%s' and WAYLAND_DISPLAY '%s'", SDL_getenv("DISPLAY"),
                 SDL_getenv("WAYLAND_DISPLAY"));
    else
        snprintf(what, sizeof what, "%s '%s'", has_x ? "DISPLAY" : "WAYLAND_DISPLAY",
                 SDL_getenv(has_x ? "DISPLAY" : "WAYLAND_DISPLAY"));
    cli_err("no display to open a window on (%s could not be reached%s): " NO_DISPLAY_HINT, what,
            ok ? "; SDL offered only a driver that draws on no screen" : ", nor a console");
    return CLI_EXIT_FAIL;
}

/* SDL, the window (sized to the video, within the display) and its
 * renderer. 0, or CLI_EXIT_FAIL after one line (SDL shut down again). */
static int open_window(ui *u)
{
    /* Our SIGINT handler stays: it stops the loop like q does. */
    SDL_SetHint(SDL_HINT_NO_SIGNAL_HANDLERS, "1");
    if (init_video())
        return CLI_EXIT_FAIL;
    /* Start at the video's size, kept between 640 and 1280 pixels wide. */
    int fw = source_width(u->a->src) > 0 ? source_width(u->a->src) : 640;
    int fh = source_height(u->a->src) > 0 ? source_height(u->a->src) : 480;
    double s = fw < 640 ? 640.0 / fw : (fw > 1280 ? 1280.0 / fw : 1.0);
    Uint32 flags = SDL_WINDOW_RESIZABLE | SDL_WINDOW_ALLOW_HIGHDPI;
    int x = SDL_WINDOWPOS_CENTERED, y = SDL_WINDOWPOS_CENTERED;
    int ww = (int)(fw * s), wh = (int)(fh * s);
    /* ... and no larger than the display's usable area (a tall photo
     * would otherwise put labels off-screen, with no window manager to
     * shrink it). */
    SDL_Rect usable;
    if (SDL_GetDisplayUsableBounds(0, &usable) == 0 && usable.w > 0 && usable.h > 0) {
        double fit = fmin((double)usable.w / ww, (double)usable.h / wh);
        if (fit < 1) {
            ww = (int)(ww * fit);
            wh = (int)(wh * fit);
        }
    }
    SDL_DisplayMode dm;
    if (u->a->o.kiosk && SDL_GetDesktopDisplayMode(0, &dm) == 0) {
        /* A kiosk's bare X server may have no window manager to honour the
         * fullscreen request, so also cover the screen by size. */
        flags |= SDL_WINDOW_FULLSCREEN_DESKTOP | SDL_WINDOW_BORDERLESS;
        u->win_rect = (SDL_Rect){x, y, ww, wh}; /* where `f` goes back to */
        x = y = 0;
        ww = dm.w;
        wh = dm.h;
    }
    u->win = SDL_CreateWindow("Emotion detector", x, y, ww, wh, flags);
    if (!u->win) {
        cli_err("cannot open a window: %s (use --headless without a display)", SDL_GetError());
        SDL_Quit();
        return CLI_EXIT_FAIL;
    }
    u->ren = SDL_CreateRenderer(u->win, -1, SDL_RENDERER_ACCELERATED);
    if (!u->ren)
        u->ren = SDL_CreateRenderer(u->win, -1, SDL_RENDERER_SOFTWARE);
    if (!u->ren) {
        cli_err("cannot draw in the window: %s", SDL_GetError());
        SDL_DestroyWindow(u->win);
        SDL_Quit();
        return CLI_EXIT_FAIL;
    }
    return 0;
}

int ui_run(app *a)
{
    char err[512];
    ui u;
    memset(&u, 0, sizeof u);
    u.a = a;
    u.mirror = a->o.mirror;
    u.fullscreen = a->o.kiosk;
    int rc = CLI_EXIT_OK;

    if (open_window(&u) != 0)
        return CLI_EXIT_FAIL;
    SDL_SetHint(SDL_HINT_RENDER_SCALE_QUALITY, "linear");
    if (a->o.kiosk)
        SDL_ShowCursor(SDL_DISABLE);
    u.ov = overlay_new(u.ren, a->font, a->bold);
    if (!u.ov) {
        cli_err("%s", app_error());
        rc = CLI_EXIT_FAIL;
        goto done;
    }

    u.help_until = nn_now() + 8;
    a->t_start = nn_now();
    double fps = source_fps(a->src);
    int live = source_kind_of(a->src) == SOURCE_CAMERA;
    double next_due = 0;    /* files play at their own frame rate */
    double next_redraw = 0;
    int was_ok = 1;
    int quit = 0;
    while (!quit && !app_interrupted) {
        int dirty = 0;
        SDL_Event e;
        while (SDL_PollEvent(&e)) {
            quit |= handle(&u, &e);
            dirty = 1;
        }
        if (quit)
            break;
        double now = nn_now();
        int ok = source_ok(a->src);
        if (ok && !was_ok)
            pipeline_reset(a->pl); /* a reconnected camera may show other people */
        was_ok = ok;
        int can_take = !u.paused && !u.ended && (live || now >= next_due) &&
                       (a->o.max_frames == 0 || a->frames < a->o.max_frames);
        if (can_take) {
            const source_frame *f;
            source_status got = source_next(a->src, &f, 0);
            if (got == SOURCE_FRAME) {
                if (app_step(a, f) != 0) {
                    cli_err("%s", app_error());
                    rc = CLI_EXIT_FAIL;
                    break;
                }
                a->last.ms[PIPELINE_DRAW] = u.draw_ms;
                upload(&u, f);
                if (u.last_frame_t > 0) {
                    double inst = 1.0 / fmax(now - u.last_frame_t, 1e-6);
                    u.fps = u.fps > 0 ? 0.9 * u.fps + 0.1 * inst : inst;
                }
                u.last_frame_t = now;
                next_due = (next_due > 0 && now - next_due < 0.5 ? next_due : now) + 1.0 / fps;
                dirty = 1;
            } else if (got == SOURCE_END) {
                u.ended = 1;
                app_input_ended(a);
                stop_recording(&u); /* the recording is complete now */
                dirty = 1;
            } else if (got == SOURCE_ERROR) {
                cli_err("%s", source_message(a->src, err, sizeof err));
                rc = CLI_EXIT_FAIL;
                break;
            }
            /* --max-frames: stop after N frames, as headless does (the
             * frame is drawn first; the outputs are closed below) */
            if (a->o.max_frames && a->frames >= a->o.max_frames)
                quit = 1;
        }
        if (dirty || now >= next_redraw) {
            draw(&u);
            next_redraw = now + 0.25; /* help line, toasts, kiosk status */
        } else {
            SDL_WaitEventTimeout(NULL, 3);
        }
    }
    a->t_end = nn_now();
    if (app_interrupted)
        cli_err("interrupted; outputs closed");
    if (app_close_outputs(a) != 0 && rc == CLI_EXIT_OK)
        rc = CLI_EXIT_FAIL;
done:
    overlay_free(u.ov);
    if (u.tex)
        SDL_DestroyTexture(u.tex);
    SDL_DestroyRenderer(u.ren);
    SDL_DestroyWindow(u.win);
    SDL_Quit();
    return rc;
}
