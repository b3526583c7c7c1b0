/* test_sreport.c - the session report of a model trained on other classes
 * than FER2013's: every class gets a colour of its own (on the page, in the
 * timeline's legend), whatever the names and however many there are, and
 * long names stay inside their faces' tiles and left of the timeline's plots. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_err.h"
#include "cvw.h"
#include "runprog.h"
#include "sreport.h"
#include "testutil.h"

/* A session of one face seen over ten frames, classes names[0..k), the
 * first always the most likely: the timeline's dominant band is all its
 * colour, and the others' colours fill blocks only in the legend. */
static sreport_session *session(const char *const *names, int k)
{
    sreport_session *s = sreport_new(names, k);
    CHECK(s != NULL);
    if (!s)
        return NULL;
    sreport_set_info(s, "clip.mp4", "own.model");
    for (int f = 0; f < 10; f++) {
        pipeline_result r;
        memset(&r, 0, sizeof r);
        r.n = 1;
        r.faces[0].id = 1;
        r.faces[0].box = (cvw_rect){10, 10, 40, 40};
        r.faces[0].cls = 0;
        for (int c = 0; c < k; c++)
            r.faces[0].probs[c] = c == 0 ? 0.5f : 0.5f / (k - 1);
        r.faces[0].conf = 0.5f;
        CHECK(sreport_add(s, f, f * 100.0, &r, NULL, 0, 0, NULL) == 0);
    }
    return s;
}

/* The class colours index.html's table header shows, in class order. */
static int page_colours(const char *dir, unsigned *rgb, int max)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/index.html", dir);
    char *page = rp_slurp(path);
    CHECK(page != NULL);
    if (!page)
        return 0;
    int n = 0;
    const char *tag = "<th><span class=\"sw\" style=\"background:#";
    for (const char *p = strstr(page, tag); p && n < max; p = strstr(p + 1, tag))
        sscanf(p + strlen(tag), "%6x", &rgb[n++]);
    free(page);
    return n;
}

/* Whether timeline.png has a solid 12x8 block of colour rgb somewhere: a
 * legend swatch (16x12); the probability lines are too thin for one. */
static int has_swatch(const uint8_t *px, int w, int h, unsigned rgb)
{
    for (int y = 0; y + 8 <= h; y++)
        for (int x = 0; x + 12 <= w; x++) {
            int all = 1;
            for (int dy = 0; dy < 8 && all; dy++)
                for (int dx = 0; dx < 12 && all; dx++) {
                    const uint8_t *p = px + ((size_t)(y + dy) * w + x + dx) * 3;
                    all = p[2] == (rgb >> 16 & 255) && p[1] == (rgb >> 8 & 255) && p[0] == (rgb & 255);
                }
            if (all)
                return 1;
        }
    return 0;
}

static void check_distinct(const char *what, const char *const *names, int k)
{
    char dir[256];
    CHECK(rp_tmpdir(dir, sizeof dir, "sreport") != NULL);
    sreport_session *s = session(names, k);
    if (!s)
        return;
    CHECK_MSG(sreport_write(s, dir) == 0, "%s", app_error());
    unsigned rgb[64];
    int n = page_colours(dir, rgb, 64);
    CHECK_MSG(n == k, "%s: %d colours on the page, want %d", what, n, k);
    for (int a = 0; a < n; a++)
        for (int b = a + 1; b < n; b++)
            CHECK_MSG(rgb[a] != rgb[b], "%s: '%s' and '%s' share the colour #%06x", what,
                      names[a], names[b], rgb[a]);
    /* Each class in the legend, however many or long the names: the
     * first (the band's colour) aside. */
    char path[4300];
    snprintf(path, sizeof path, "%s/timeline.png", dir);
    uint8_t *px = NULL;
    int w = 0, h = 0;
    CHECK_MSG(cvw_read_bgr(path, &px, &w, &h) == 0, "%s", cvw_error());
    for (int c = 1; px && c < n; c++)
        CHECK_MSG(has_swatch(px, w, h, rgb[c]), "%s: class '%s' (#%06x) is not in the legend",
                  what, names[c], rgb[c]);
    free(px);
    sreport_free(s);
    rp_rmdir(dir);
}

/* Whether a pixel is near colour rgb (anti-aliased text's cores are). */
static int near_rgb(const uint8_t *p, unsigned rgb)
{
    return abs(p[2] - (int)(rgb >> 16 & 255)) + abs(p[1] - (int)(rgb >> 8 & 255)) +
               abs(p[0] - (int)(rgb & 255)) < 40;
}

/* faces.png of two faces side by side, their dominant classes long names:
 * each face's label stays on its own half of the sheet and inside it (a
 * label as wide as the name ran over its neighbour's and off the edges). */
static void check_tile_labels(void)
{
    static const char *const names[] = {"neutral", "surprised_with_an_open_mouth_and_raised_brows",
                                        "angry_with_lowered_brows_and_pressed_lips_tight"};
    char dir[256];
    CHECK(rp_tmpdir(dir, sizeof dir, "sreport") != NULL);
    sreport_session *s = sreport_new(names, 3);
    CHECK(s != NULL);
    if (!s)
        return;
    enum { W = 240, H = 100 };
    static uint8_t frame[W * H * 3];
    memset(frame, 128, sizeof frame);
    for (int f = 0; f < 5; f++) {
        pipeline_result r;
        memset(&r, 0, sizeof r);
        r.n = 2;
        for (int i = 0; i < 2; i++) {
            pipeline_face *fc = &r.faces[i];
            fc->id = i + 1;
            fc->box = fc->crop = (cvw_rect){20 + 120 * i, 20, 60, 60};
            fc->cls = i + 1;
            fc->probs[i + 1] = fc->conf = 0.8f;
            fc->probs[0] = fc->probs[2 - i] = 0.1f;
        }
        CHECK(sreport_add(s, f, f * 100.0, &r, frame, W, H, NULL) == 0);
    }
    CHECK_MSG(sreport_write(s, dir) == 0, "%s", app_error());
    unsigned rgb[3];
    CHECK(page_colours(dir, rgb, 3) == 3);
    char path[4300];
    snprintf(path, sizeof path, "%s/faces.png", dir);
    uint8_t *px = NULL;
    int w = 0, h = 0;
    CHECK_MSG(cvw_read_bgr(path, &px, &w, &h) == 0, "%s", cvw_error());
    int seen[2] = {0, 0}, across[2] = {0, 0}, off[2] = {0, 0};
    for (int y = 0; px && y < h; y++)
        for (int x = 0; x < w; x++) {
            const uint8_t *p = px + ((size_t)y * w + x) * 3;
            for (int i = 0; i < 2; i++)
                if (near_rgb(p, rgb[i + 1])) {
                    seen[i]++;
                    across[i] += i == 0 ? x >= w / 2 : x < w / 2;
                    off[i] += x == 0 || x == w - 1;
                }
        }
    CHECK(seen[0] > 0 && seen[1] > 0);
    for (int i = 0; i < 2; i++) {
        CHECK_MSG(!across[i], "face %d: %d pixels of its colour on the other face's half", i + 1,
                  across[i]);
        CHECK_MSG(!off[i], "face %d: its label runs off the sheet (%d pixels at the edges)", i + 1,
                  off[i]);
    }
    free(px);
    sreport_free(s);
    rp_rmdir(dir);
}

/* timeline.png of a face whose dominant class has a long name: the name
 * under "face 1" stays left of the plot (it ran over the plot's left edge
 * and into the chart). The edge is the first column with a long run of
 * the axis grey; the few columns before it stay blank at the label's
 * height. */
static void check_row_label(void)
{
    static const char *const names[] = {"surprised_with_an_open_mouth", "neutral"};
    char dir[256];
    CHECK(rp_tmpdir(dir, sizeof dir, "sreport") != NULL);
    sreport_session *s = session(names, 2);
    if (!s)
        return;
    CHECK_MSG(sreport_write(s, dir) == 0, "%s", app_error());
    char path[4300];
    snprintf(path, sizeof path, "%s/timeline.png", dir);
    uint8_t *px = NULL;
    int w = 0, h = 0;
    CHECK_MSG(cvw_read_bgr(path, &px, &w, &h) == 0, "%s", cvw_error());
    const unsigned grey = 0x5A5A5A; /* the axes' and labels' colour */
    int edge = -1, y0 = 0;
    for (int x = 0; px && x < w / 2 && edge < 0; x++) {
        int run = 0;
        for (int y = 0; y < h && edge < 0; y++) {
            run = near_rgb(px + ((size_t)y * w + x) * 3, grey) ? run + 1 : 0;
            if (run >= 30) { /* taller than any letter; the curves may cut it lower down */
                edge = x;
                y0 = y - run + 1;
            }
        }
    }
    CHECK_MSG(edge > 10, "no plot edge found in timeline.png");
    int over = 0; /* ink where the label sits, 28 px below the plot's top, between the tick
                   * labels 1 and 0.5; the curves' smoothed ends touch edge - 1 */
    for (int y = y0 + 20; px && edge > 10 && y < y0 + 45 && y < h; y++)
        for (int x = edge - 5; x < edge - 1; x++) {
            const uint8_t *p = px + ((size_t)y * w + x) * 3;
            over += p[0] + p[1] + p[2] < 3 * 255 - 90;
        }
    CHECK_MSG(over == 0, "the row's label runs into the plot's edge (%d inked pixels before it)", over);
    free(px);
    sreport_free(s);
    rp_rmdir(dir);
}

int main(void)
{
    /* Known names keep their colours; a model's own classes beside them
     * must not take one (the fourth class took angry's red). */
    static const char *const mixed[] = {"angry", "calm", "bored", "tired", "sad"};
    check_distinct("known and own names", mixed, 5);
    /* More classes than the palette has colours. */
    static const char *const many[] = {
        "class_01", "class_02", "class_03", "class_04", "class_05", "class_06", "class_07",
        "class_08", "class_09", "class_10", "class_11", "class_12", "class_13", "class_14"};
    check_distinct("14 classes", many, 14);
    /* Long names: a row of them is wider than the picture. */
    static const char *const longer[] = {
        "surprised_with_an_open_mouth_and_raised_brows", "angry_with_lowered_brows_and_pressed_lips",
        "happy_with_a_wide_open_smile_and_raised_cheeks", "sad_with_the_corners_of_the_mouth_down",
        "afraid_with_wide_eyes_and_stretched_lips"};
    check_distinct("long names", longer, 5);
    check_tile_labels();
    check_row_label();
    return test_done("test_sreport");
}
