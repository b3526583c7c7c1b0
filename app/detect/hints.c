/* hints.c - guidance for the person in front of the camera; see hints.h. */
#include "hints.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Thresholds, on 0..255 luminance. A face darker than DARK on average, or
 * flat (spread below FLAT) and darker than mid-gray, is too dark; the same
 * mirrored for bright. Sharpness below BLUR_FACE (a face at HINTS_SIDE
 * pixels) or BLUR_FRAME (a frame at 320 pixels wide) is blurred: a sharp
 * face measures several hundred, one blurred by a few pixels a few tens. */
#define DARK 60.0
#define BRIGHT 200.0
#define FLAT 20.0
#define BLUR_FACE 40.0
#define BLUR_FRAME 15.0
#define SMALL_FRAC 0.15 /* a face side below this share of the shorter side */
#define SMALL_PX 48     /* ... or below the model's input */
#define EDGE_PX 2
/* The frontal cascades' window side (24 px; 20 for haarcascade_frontalface_alt,
 * whose bound below is then only looser): no smaller face is found. */
#define HINTS_WINDOW 24

static const char *const texts[HINTS_KINDS] = {
    "",
    "Too dark: turn a light towards your face",
    "Too bright: move out of the glare or away from the window",
    "Come closer",
    "Too blurred: hold still, or clean the lens",
    "Cut off by the edge: move to the middle of the picture",
    "Head turned or tilted: face the camera, head straight",
};
static const char *const names[HINTS_KINDS] = {"", "too dark", "too bright", "too small",
                                              "too blurred", "cut off", "turned"};

const char *hints_text(hints_kind h) { return h > 0 && h < HINTS_KINDS ? texts[h] : ""; }
const char *hints_name(hints_kind h) { return h > 0 && h < HINTS_KINDS ? names[h] : ""; }

void hints_luma(const uint8_t *gray, int stride, int w, int h, double *mean, double *spread)
{
    double s = 0, ss = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double v = gray[(size_t)y * stride + x];
            s += v;
            ss += v * v;
        }
    double n = (double)w * h > 0 ? (double)w * h : 1;
    *mean = s / n;
    double var = ss / n - *mean * *mean;
    *spread = var > 0 ? sqrt(var) : 0;
}

double hints_sharpness(const uint8_t *g, int w, int h)
{
    double s = 0, ss = 0;
    long n = 0;
    for (int y = 1; y + 1 < h; y++)
        for (int x = 1; x + 1 < w; x++) {
            const size_t i = (size_t)y * w + x;
            double l = (double)g[i - 1] + g[i + 1] + g[i - w] + g[i + w] - 4.0 * g[i];
            s += l;
            ss += l * l;
            n++;
        }
    if (!n)
        return 0;
    return ss / n - (s / n) * (s / n);
}

void hints_rotate(const uint8_t *src, int w, int h, double deg, uint8_t *dst)
{
    double mean, spread;
    hints_luma(src, w, w, h, &mean, &spread);
    const double a = deg * M_PI / 180, c = cos(a), s = sin(a);
    const double cx = (w - 1) / 2.0, cy = (h - 1) / 2.0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            /* where dst's pixel comes from: the inverse rotation */
            const double dx = x - cx, dy = y - cy;
            const double sx = c * dx + s * dy + cx, sy = -s * dx + c * dy + cy;
            const int ix = (int)floor(sx), iy = (int)floor(sy);
            double v = mean;
            if (ix >= 0 && iy >= 0 && ix + 1 < w && iy + 1 < h) {
                const double fx = sx - ix, fy = sy - iy;
                const uint8_t *p = src + (size_t)iy * w + ix;
                v = (1 - fy) * ((1 - fx) * p[0] + fx * p[1]) + fy * ((1 - fx) * p[w] + fx * p[w + 1]);
            }
            dst[(size_t)y * w + x] = (uint8_t)lrint(v);
        }
}

static int at_edge(cvw_rect b, int w, int h)
{
    return b.x <= EDGE_PX || b.y <= EDGE_PX || b.x + b.w >= w - EDGE_PX || b.y + b.h >= h - EDGE_PX;
}

static hints_kind light(double mean, double spread)
{
    if (mean < DARK || (spread < FLAT && mean < 128))
        return HINTS_DARK;
    if (mean > BRIGHT || (spread < FLAT && mean >= 128))
        return HINTS_BRIGHT;
    return HINTS_NONE;
}

static hints_kind judge_face(const uint8_t *gray, int w, int h, cvw_rect b)
{
    if (at_edge(b, w, h))
        return HINTS_EDGE;
    const int shorter = w < h ? w : h;
    if (b.w < SMALL_PX || b.h < SMALL_PX || b.w < SMALL_FRAC * shorter)
        return HINTS_SMALL;
    double mean, spread;
    hints_luma(gray + (size_t)b.y * w + b.x, w, b.w, b.h, &mean, &spread);
    hints_kind k = light(mean, spread);
    if (k)
        return k;
    uint8_t face[HINTS_SIDE * HINTS_SIDE];
    if (cvw_crop_resize_gray(gray, w, h, b, face, HINTS_SIDE, HINTS_SIDE) == 0 &&
        hints_sharpness(face, HINTS_SIDE, HINTS_SIDE) < BLUR_FACE)
        return HINTS_BLUR;
    return HINTS_NONE;
}

hints_kind hints_assess(const uint8_t *gray, int w, int h, const cvw_rect *boxes, int n,
                      const cvw_rect *last, cvw_cascade *cascade, unsigned looks,
                      double min_face)
{
    if (w < 8 || h < 8)
        return HINTS_NONE;
    if (n > 0) {
        int big = 0;
        for (int i = 1; i < n; i++)
            if ((long)boxes[i].w * boxes[i].h > (long)boxes[big].w * boxes[big].h)
                big = i;
        return judge_face(gray, w, h, boxes[big]);
    }
    /* a plain wall is flat without being badly lit: the frame's mean only */
    double mean, spread;
    hints_luma(gray, w, w, h, &mean, &spread);
    hints_kind k = mean < DARK ? HINTS_DARK : mean > BRIGHT ? HINTS_BRIGHT : HINTS_NONE;
    if (k)
        return k;
    /* the rest on a copy 320 wide, as the pipeline detects */
    const int sw = w > 320 ? 320 : w, sh = (int)lround((double)h * sw / w);
    uint8_t *small = malloc((size_t)sw * sh * 2);
    if (!small || cvw_resize_gray(gray, w, h, small, sw, sh) != 0) {
        free(small);
        return HINTS_NONE;
    }
    uint8_t *turned = small + (size_t)sw * sh;
    k = HINTS_NONE;
    cvw_rect found[1];
    const int min_side = (int)lround(min_face * (sw < sh ? sw : sh));
    if (hints_sharpness(small, sw, sh) < BLUR_FRAME)
        k = HINTS_BLUR;
    else if (last && at_edge(*last, w, h))
        k = HINTS_EDGE;
    else if (cascade) {
        cvw_equalize_gray(small, sw, sh);
        for (int s = -1; s <= 1 && !k && (looks & HINTS_LOOK_TILT); s += 2) {
            hints_rotate(small, sw, sh, s * HINTS_TILT_DEG, turned);
            if (cvw_cascade_detect(cascade, turned, sw, sh, 1.1, 4, min_side, 0, found, 1) > 0)
                k = HINTS_TILT;
        }
        /* faces too small for the pipeline's 320-wide copy: on the frame
         * at up to 640 wide, up to 1.5 times the smallest face the 320-wide
         * copy shows the cascade (larger ones were the pipeline's to find).
         * The step stays 1.05: at 1.08 or 1.1 (half the cost) a 36-px face
         * in a 640x480 frame is missed (test_detect_person). */
        if (!k && (looks & HINTS_LOOK_SMALL)) {
            const int bw = w > 640 ? 640 : w, bh = (int)lround((double)h * bw / w);
            const int pipe_min = min_side > HINTS_WINDOW ? min_side : HINTS_WINDOW;
            const int max_side = (int)lround(1.5 * pipe_min * bw / sw);
            uint8_t *big = malloc((size_t)bw * bh);
            if (big && cvw_resize_gray(gray, w, h, big, bw, bh) == 0 &&
                cvw_equalize_gray(big, bw, bh) == 0 &&
                cvw_cascade_detect(cascade, big, bw, bh, 1.05, 3, 12, max_side, found, 1) > 0)
                k = HINTS_SMALL;
            free(big);
        }
    }
    /* a face lately in the middle of the picture, well lit and sharp, that
     * no look finds any more: turned away (the frontal detector sees no
     * profile) */
    if (!k && last)
        k = HINTS_TILT;
    free(small);
    return k;
}
