/* test_detect_keys.c - keys g and c pressed in emotion-detect's window: the
 * real window loop (ui_run) under SDL's dummy video driver, with key
 * presses pushed as SDL events from a second thread, paced by the frame
 * log the window writes. On a clip of one still face:
 *  - c: no frame is calibrated before the key; after its 3 seconds of
 *    frame time the face is ("calibrated":true in the log), and c again
 *    clears it;
 *  - g: screenshots (key s) before and after it differ inside the face
 *    box, where the heat map is drawn in colour (without g nothing there
 *    changes, though a third of the face's pixels pass for coloured
 *    already), and hardly anywhere beside the face and its panel.
 * Generated data only: the committed astronaut picture and an untrained
 * model (a heat map and a calibration need no trained one). */
#include <dirent.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <SDL.h>

#include "app.h"
#include "app_err.h"
#include "cvw.h"
#include "detect_model.h"
#include "facegen.h"
#include "overlay.h"
#include "runprog.h"
#include "testutil.h"

#define FPS 20
#define N_FRAMES 240 /* 12 s of clip: more than the key sequence needs */

static char log_path[4300];

static int log_lines(void)
{
    char *t = rp_slurp(log_path);
    int n = 0;
    for (char *p = t; p && (p = strchr(p, '\n')); p++)
        n++;
    free(t);
    return n;
}

/* Wait until the log has at least n lines (or 120 s pass). */
static int wait_lines(int n)
{
    const double t0 = rp_now();
    int got;
    while ((got = log_lines()) < n && rp_now() - t0 < 120)
        usleep(20000);
    return got;
}

static void press(SDL_Keycode key)
{
    SDL_Event e;
    memset(&e, 0, sizeof e);
    e.type = SDL_KEYDOWN;
    e.key.state = SDL_PRESSED;
    e.key.keysym.sym = key;
    SDL_PushEvent(&e);
}

/* Press s and wait for the screenshot (emotion-detect-STAMP.png in the
 * working folder), then rename it to name. */
static int screenshot(const char *name)
{
    press(SDLK_s);
    const double t0 = rp_now();
    while (rp_now() - t0 < 120) {
        DIR *d = opendir(".");
        struct dirent *de;
        char found[300] = "";
        /* written as NAME.png.tmp-XXXXXX, renamed into place whole */
        while (d && (de = readdir(d))) {
            const size_t n = strlen(de->d_name);
            if (!strncmp(de->d_name, "emotion-detect-", 15) && n > 19 &&
                !strcmp(de->d_name + n - 4, ".png"))
                snprintf(found, sizeof found, "%s", de->d_name);
        }
        if (d)
            closedir(d);
        if (found[0])
            return rename(found, name);
        usleep(20000);
    }
    return -1;
}

/* Log lines at the key presses, for the checks after the run. */
static int at_c1, at_calibrated, at_c2, at_end, shots_ok;

static void *keys(void *arg)
{
    (void)arg;
    wait_lines(5);
    at_c1 = log_lines();
    press(SDLK_c);
    /* calibrated once 3 s of frames (60) have been recorded */
    const double t0 = rp_now();
    while (rp_now() - t0 < 120) {
        char *t = rp_slurp(log_path);
        int found = t && strstr(t, "\"calibrated\":true") != NULL;
        free(t);
        if (found)
            break;
        usleep(20000);
    }
    at_calibrated = log_lines();
    shots_ok = screenshot("before.png") == 0;
    press(SDLK_g);
    wait_lines(log_lines() + 3);
    shots_ok &= screenshot("after.png") == 0;
    at_c2 = log_lines();
    press(SDLK_c);
    at_end = wait_lines(at_c2 + 10);
    press(SDLK_q);
    return NULL;
}

/* The n-th line of text (0-based), or NULL. */
static const char *line_at(const char *text, int n)
{
    for (const char *p = text; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (n-- == 0)
            return *p ? p : NULL;
    return NULL;
}

static int calibrated(const char *line)
{
    const char *nl = strchr(line, '\n'), *c = strstr(line, "\"calibrated\":true");
    return c && (!nl || c < nl);
}

static void check_log(void)
{
    char *t = rp_slurp(log_path);
    CHECK(t != NULL);
    int before = 0, during = 0, cleared = 0, n = 0;
    for (const char *l; t && (l = line_at(t, n)); n++) {
        if (n < at_c1)
            before += calibrated(l);
        if (n >= at_calibrated && n < at_c2)
            during += calibrated(l);
        if (n >= at_c2 + 3)
            cleared += calibrated(l);
    }
    CHECK_MSG(at_c1 >= 5 && before == 0, "calibrated before c: %d of %d lines", before, at_c1);
    CHECK_MSG(at_c2 > at_calibrated && during == at_c2 - at_calibrated,
              "after calibrating: %d of %d lines calibrated", during, at_c2 - at_calibrated);
    CHECK_MSG(n >= at_c2 + 8 && cleared == 0, "c again: %d of %d lines still calibrated", cleared,
              n - at_c2 - 3);
    free(t);
}

/* The face box of the log's line n: "box":[x,y,w,h]. */
static int box_at(int n, cvw_rect *b)
{
    char *t = rp_slurp(log_path);
    const char *l = t ? line_at(t, n) : NULL, *p = l ? strstr(l, "\"box\":[") : NULL;
    int ok = p && sscanf(p, "\"box\":[%d,%d,%d,%d]", &b->x, &b->y, &b->w, &b->h) == 4;
    free(t);
    return ok ? 0 : -1;
}

static void check_heat(int frame_w, int frame_h)
{
    uint8_t *a = NULL, *b = NULL;
    int w = 0, h = 0, w2 = 0, h2 = 0;
    CHECK_MSG(shots_ok && cvw_read_bgr("before.png", &a, &w, &h) == 0 &&
                  cvw_read_bgr("after.png", &b, &w2, &h2) == 0,
              "screenshots: %s", cvw_error());
    cvw_rect fb;
    CHECK(box_at(at_c2 - 1, &fb) == 0);
    if (!a || !b || w != w2 || h != h2 || box_at(at_c2 - 1, &fb) != 0) {
        free(a);
        free(b);
        return;
    }
    /* the face box on screen, its inner 70% (labels and panels are
     * outside it); outside: the rest of the picture's rows the box spans,
     * left and right of the box and its panel */
    overlay_view v = overlay_fit(frame_w, frame_h, w, h, 0);
    SDL_Rect box = overlay_map_box(&v, fb);
    const int mx = box.w * 15 / 100, my = box.h * 15 / 100;
    long in = 0, in_changed = 0, in_colour = 0, out = 0, out_changed = 0;
    for (int y = box.y + my; y < box.y + box.h - my; y++)
        for (int x = 0; x < w; x++) {
            const uint8_t *p = a + ((size_t)y * w + x) * 3, *q = b + ((size_t)y * w + x) * 3;
            const int d = abs(p[0] - q[0]) + abs(p[1] - q[1]) + abs(p[2] - q[2]);
            if (x >= box.x + mx && x < box.x + box.w - mx) {
                const int hi = q[0] > q[1] ? (q[0] > q[2] ? q[0] : q[2]) : (q[1] > q[2] ? q[1] : q[2]);
                const int lo = q[0] < q[1] ? (q[0] < q[2] ? q[0] : q[2]) : (q[1] < q[2] ? q[1] : q[2]);
                in++;
                in_changed += d > 30;
                in_colour += hi - lo > 60;
            } else if (x < box.x - box.w / 2 || x >= box.x + box.w * 5 / 2) {
                out++;
                out_changed += d > 30;
            }
        }
    CHECK_MSG(in > 0 && in_changed > in / 4 && in_colour > in / 2,
              "g: %ld of %ld face pixels changed, %ld coloured", in_changed, in, in_colour);
    CHECK_MSG(out > 0 && out_changed < out / 50, "g: %ld of %ld pixels beside the face changed",
              out_changed, out);
    free(a);
    free(b);
}

int main(void)
{
    const char *src = getenv("NN_TEST_SRCDIR");
    char dir[4096], pic[4200], cas[4200], vid[4300], model[4300], errmsg[512];
    snprintf(pic, sizeof pic, "%s/assets/astronaut.png", src ? src : ".");
    snprintf(cas, sizeof cas, "%s/cascades/haarcascade_frontalface_default.xml", src ? src : ".");
    char cwd[4096];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    if (!rp_tmpdir(dir, sizeof dir, "detect-keys"))
        return test_done("test_detect_keys");
    /* a clip of one still face, 320 x 240 */
    fg_scene sc;
    memset(&sc, 0, sizeof sc);
    int ok = fg_init(&sc, pic, cas, 320, 240, 2, 1, errmsg, sizeof errmsg) == 0;
    CHECK_MSG(ok, "%s", errmsg);
    snprintf(vid, sizeof vid, "%s/face.avi", dir);
    snprintf(model, sizeof model, "%s/test.model", dir);
    snprintf(log_path, sizeof log_path, "%s/log.jsonl", dir);
    uint8_t *px = ok ? calloc((size_t)320 * 240 * 3 + CVW_WRITER_PAD, 1) : NULL;
    cvw_writer *wr = px ? cvw_writer_open(vid, FPS, 320, 240) : NULL;
    ok = wr && fg_render(&sc, 0, px) == 0;
    for (int i = 0; ok && i < N_FRAMES; i++)
        ok = cvw_writer_write(wr, px) == 0;
    ok = cvw_writer_close(wr) == 0 && ok;
    free(px);
    ok = ok && make_test_model(model) == 0;
    CHECK(ok);

    /* the window, as emotion-detect --input face.avi --log log.jsonl runs it */
    setenv("SDL_VIDEODRIVER", "dummy", 1);
    char *args[] = {"emotion-detect", "--input", vid, "--model", model, "--log", log_path,
                    "--detect-every", "1", NULL};
    opts o;
    opts_defaults(&o);
    CHECK(opts_parse(&o, 9, args, stdout, stderr) == OPTS_RUN);
    static app a;
    app_status st = ok ? app_setup(&a, &o) : APP_FAILED;
    if (st == APP_READY)
        st = app_open_source(&a);
    CHECK_MSG(st == APP_READY, "setup: %s", app_error());
    int rc = st == APP_READY ? 0 : 1;
    pthread_t th;
    if (rc == 0 && chdir(dir) == 0 && pthread_create(&th, NULL, keys, NULL) == 0) {
        rc = ui_run(&a);
        pthread_join(th, NULL);
        CHECK_MSG(rc == CLI_EXIT_OK, "window: exit %d", rc);
        check_log();
        check_heat(320, 240);
        CHECK(chdir(cwd) == 0);
    }
    app_teardown(&a);
    if (sc.pic)
        fg_free(&sc);
    if (!test_failures)
        rp_rmdir(dir);
    return test_done("test_detect_keys");
}
