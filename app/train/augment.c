/*
 * augment.c - seeded, one-pass augmentation of 8-bit gray faces.
 *
 * It runs on every training image every epoch, so it avoids floating point
 * per pixel: the inverse affine map is stepped in 16.16 fixed point along
 * each row and the bilinear weights are 8-bit, which makes whole-pixel
 * positions exact (weight 0) and keeps a 48x48 image to a few microseconds.
 */
#include "augment.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app_err.h"
#include "rng.h"


void augment_defaults(augment_cfg *cfg, int w, int h)
{
    memset(cfg, 0, sizeof *cfg);
    int side = w < h ? w : h;
    cfg->shift = (side + 6) / 12; /* about 8%: a face stays mostly in view */
    cfg->flip_p = 0.5f;
    cfg->rotate = 10.f;
    cfg->zoom_min = 0.9f;
    cfg->zoom_max = 1.1f;
    cfg->brightness = 0.2f * 128.f;
    cfg->contrast = 0.2f;
    cfg->erase_p = 0.5f;
    cfg->erase_min = 0.02f;
    cfg->erase_max = 0.2f;
    cfg->erase_aspect = 3.f;
    cfg->erase_noise = 1;
}

/* ---- parsing ---- */

static const struct { const char *name; unsigned op; } op_names[] = {
    {"crop", AUGMENT_CROP}, {"shift", AUGMENT_CROP}, {"translate", AUGMENT_CROP},
    {"flip", AUGMENT_FLIP}, {"hflip", AUGMENT_FLIP},
    {"rotate", AUGMENT_ROTATE}, {"rotation", AUGMENT_ROTATE},
    {"zoom", AUGMENT_ZOOM}, {"scale", AUGMENT_ZOOM},
    {"color", AUGMENT_COLOR}, {"colour", AUGMENT_COLOR}, {"brightness", AUGMENT_COLOR},
    {"contrast", AUGMENT_COLOR},
    {"erase", AUGMENT_ERASE}, {"erasing", AUGMENT_ERASE}, {"cutout", AUGMENT_ERASE},
};

int augment_parse(augment_cfg *cfg, const char *list)
{
    augment_cfg c = *cfg;
    c.ops = 0;
    const char *p = list ? list : "";
    while (*p) {
        while (*p == ',' || isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        char item[64];
        size_t n = 0;
        while (*p && *p != ',' && n + 1 < sizeof item)
            item[n++] = *p++;
        while (*p && *p != ',')
            p++; /* overlong item: the name check below rejects it */
        while (n > 0 && isspace((unsigned char)item[n - 1]))
            n--;
        item[n] = 0;
        char *val = strchr(item, ':');
        if (val)
            *val++ = 0;
        if (!strcasecmp(item, "none")) {
            c.ops = 0;
            continue;
        }
        if (!strcasecmp(item, "all")) {
            c.ops = AUGMENT_ALL;
            continue;
        }
        unsigned op = 0;
        for (size_t i = 0; i < sizeof op_names / sizeof op_names[0]; i++)
            if (!strcasecmp(item, op_names[i].name))
                op = op_names[i].op;
        if (!op)
            return app_fail("unknown augmentation '%s' (known: crop, flip, rotate, "
                             "zoom, color, erase, all, none)", item);
        c.ops |= op;
        if (!val)
            continue;
        char *end;
        double v = strtod(val, &end);
        if (end == val || *end || !isfinite(v) || v < 0)
            return app_fail("augmentation '%s': bad value '%s'", item, val);
        switch (op) {
        case AUGMENT_CROP:
            if (v > 1000 || v != floor(v))
                return app_fail("crop:%s: expected whole pixels", val);
            c.shift = (int)v;
            break;
        case AUGMENT_FLIP:
        case AUGMENT_ERASE:
            if (v > 1)
                return app_fail("%s:%s: expected a probability 0..1", item, val);
            if (op == AUGMENT_FLIP)
                c.flip_p = (float)v;
            else
                c.erase_p = (float)v;
            break;
        case AUGMENT_ROTATE:
            if (v > 180)
                return app_fail("rotate:%s: expected degrees 0..180", val);
            c.rotate = (float)v;
            break;
        case AUGMENT_ZOOM:
            if (v >= 1)
                return app_fail("zoom:%s: expected 0..1 (scale 1-F..1+F)", val);
            c.zoom_min = (float)(1 - v);
            c.zoom_max = (float)(1 + v);
            break;
        case AUGMENT_COLOR:
            if (v > 1)
                return app_fail("%s:%s: expected 0..1", item, val);
            c.brightness = (float)(v * 128);
            c.contrast = (float)v;
            break;
        }
    }
    *cfg = c;
    return 0;
}

char *augment_describe(const augment_cfg *c, char *buf, size_t len)
{
    if (!len)
        return buf;
    buf[0] = 0;
    size_t n = 0;
#define ADD(...) do { if (n < len) n += (size_t)snprintf(buf + n, len - n, __VA_ARGS__); } while (0)
    if (c->ops & AUGMENT_CROP)
        ADD("%scrop(%dpx)", n ? " " : "", c->shift);
    if (c->ops & AUGMENT_FLIP)
        ADD("%sflip(p%.2g)", n ? " " : "", c->flip_p);
    if (c->ops & AUGMENT_ROTATE)
        ADD("%srotate(%.3gdeg)", n ? " " : "", c->rotate);
    if (c->ops & AUGMENT_ZOOM)
        ADD("%szoom(%.3g-%.3g)", n ? " " : "", c->zoom_min, c->zoom_max);
    if (c->ops & AUGMENT_COLOR)
        ADD("%scolor(b%.3g,c%.3g)", n ? " " : "", c->brightness, c->contrast);
    if (c->ops & AUGMENT_ERASE)
        ADD("%serase(p%.2g,%.3g-%.3g,%s)", n ? " " : "", c->erase_p, c->erase_min,
            c->erase_max, c->erase_noise ? "noise" : "mean");
    if (!n)
        ADD("none");
#undef ADD
    return buf;
}

/* ---- geometry ---- */

void augment_flip(const uint8_t *src, uint8_t *dst, int w, int h)
{
    for (int y = 0; y < h; y++) {
        const uint8_t *s = src + (size_t)y * w;
        uint8_t *d = dst + (size_t)y * w;
        for (int x = 0; x < w; x++)
            d[x] = s[w - 1 - x];
    }
}

static inline int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

static const uint8_t *identity_lut(void);

/* Whole-pixel map: dst(x, y) = src(flip(x - dx), y - dy), edges replicated.
 * Rows are copied as runs (memcpy / memset), the table applied after. */
static void shift_flip(const uint8_t *src, uint8_t *dst, int w, int h, int flip,
                       int dx, int dy, const uint8_t *lut)
{
    /* Columns x with 0 <= x - dx < w read inside; the rest repeat an edge. */
    int xa = dx > 0 ? (dx < w ? dx : w) : 0;
    int xb = dx < 0 ? (w + dx > 0 ? w + dx : 0) : w; /* [xa, xb) inside */
    for (int y = 0; y < h; y++) {
        const uint8_t *s = src + (size_t)clampi(y - dy, 0, h - 1) * w;
        uint8_t *d = dst + (size_t)y * w;
        if (!flip) {
            memset(d, s[0], (size_t)xa);
            if (xb > xa)
                memcpy(d + xa, s + (xa - dx), (size_t)(xb - xa));
            memset(d + xb, s[w - 1], (size_t)(w - xb));
        } else {
            memset(d, s[w - 1], (size_t)xa);
            for (int x = xa; x < xb; x++)
                d[x] = s[w - 1 - (x - dx)];
            memset(d + xb, s[0], (size_t)(w - xb));
        }
    }
    if (lut != identity_lut())
        for (size_t i = 0, n = (size_t)w * h; i < n; i++)
            dst[i] = lut[dst[i]];
}

/* One bilinear sample at 16.16 position (fx, fy), clamped to the image
 * (edges replicated). 8-bit weights: whole-pixel positions are exact. */
static inline int sample_clamped(const uint8_t *src, int w, int h, int64_t fx,
                                 int64_t fy)
{
    const int64_t xmax = (int64_t)(w - 1) << 16, ymax = (int64_t)(h - 1) << 16;
    fx = fx < 0 ? 0 : fx > xmax ? xmax : fx;
    fy = fy < 0 ? 0 : fy > ymax ? ymax : fy;
    int x0 = fx >> 16, y0 = fy >> 16;
    int wx = (fx >> 8) & 255, wy = (fy >> 8) & 255;
    int x1 = x0 + (x0 < w - 1), y1 = y0 + (y0 < h - 1);
    const uint8_t *r0 = src + (size_t)y0 * w, *r1 = src + (size_t)y1 * w;
    int top = r0[x0] * 256 + (r0[x1] - r0[x0]) * wx;
    int bot = r1[x0] * 256 + (r1[x1] - r1[x0]) * wx;
    return (top * 256 + (bot - top) * wy + 32768) >> 16;
}

/* Is (fx, fy) inside, with its right and lower neighbours in the image? */
static inline int inside(int64_t fx, int64_t fy, int64_t xlim, int64_t ylim)
{
    return fx >= 0 && fx < xlim && fy >= 0 && fy < ylim;
}

/* General map: src point = (a x + b y + e, c x + d y + g) for dst (x, y).
 * Along a row the sample moves on a line, so the samples needing no
 * clamping form one run [xa, xb]; that run (most of the image) takes a
 * branch-free path, the rest the clamped one. */
static void affine_bilinear(const uint8_t *src, uint8_t *dst, int w, int h,
                            double a, double b, double e, double c, double d,
                            double g, const uint8_t *lut)
{
    const int64_t xlim = (int64_t)(w - 1) << 16, ylim = (int64_t)(h - 1) << 16;
    const int64_t ax = (int64_t)llrint(a * 65536), cx = (int64_t)llrint(c * 65536);
    for (int y = 0; y < h; y++) {
        /* Row starts are exact; only the within-row steps accumulate
         * rounding, under 1/256 px over a row of 48. */
        int64_t sx0 = (int64_t)llrint((b * y + e) * 65536);
        int64_t sy0 = (int64_t)llrint((d * y + g) * 65536);
        uint8_t *out = dst + (size_t)y * w;
        /* Guess the inside run from the real-valued line, then fix its ends
         * on the fixed-point values (inside is convex, so ends suffice). */
        double lo = 0, hi = w - 1;
        const double fx0 = sx0, fy0 = sy0;
        if (ax) {
            double t0 = -fx0 / ax, t1 = (xlim - fx0) / ax;
            lo = fmax(lo, fmin(t0, t1) - 1);
            hi = fmin(hi, fmax(t0, t1) + 1);
        } else if (sx0 < 0 || sx0 >= xlim) {
            hi = -1;
        }
        if (cx) {
            double t0 = -fy0 / cx, t1 = (ylim - fy0) / cx;
            lo = fmax(lo, fmin(t0, t1) - 1);
            hi = fmin(hi, fmax(t0, t1) + 1);
        } else if (sy0 < 0 || sy0 >= ylim) {
            hi = -1;
        }
        int xa = hi < lo ? w : (int)ceil(lo), xb = hi < lo ? w - 1 : (int)floor(hi);
        while (xa <= xb && !inside(sx0 + xa * ax, sy0 + xa * cx, xlim, ylim))
            xa++;
        while (xb >= xa && !inside(sx0 + xb * ax, sy0 + xb * cx, xlim, ylim))
            xb--;
        if (xa > xb) {
            xa = w;
            xb = w - 1;
        }
        int64_t sx = sx0, sy = sy0;
        int x = 0;
        for (; x < xa; x++, sx += ax, sy += cx)
            out[x] = lut[sample_clamped(src, w, h, sx, sy)];
        for (; x <= xb; x++, sx += ax, sy += cx) {
            const uint8_t *r0 = src + (size_t)(sy >> 16) * w + (sx >> 16);
            int wx = (sx >> 8) & 255, wy = (sy >> 8) & 255;
            int top = r0[0] * 256 + (r0[1] - r0[0]) * wx;
            int bot = r0[w] * 256 + (r0[w + 1] - r0[w]) * wx;
            out[x] = lut[(top * 256 + (bot - top) * wy + 32768) >> 16];
        }
        for (; x < w; x++, sx += ax, sy += cx)
            out[x] = lut[sample_clamped(src, w, h, sx, sy)];
    }
}

/* The identity table, built at compile time so threads share it safely. */
#define L4(i) (i), (i) + 1, (i) + 2, (i) + 3
#define L16(i) L4(i), L4((i) + 4), L4((i) + 8), L4((i) + 12)
#define L64(i) L16(i), L16((i) + 16), L16((i) + 32), L16((i) + 48)
static const uint8_t identity[256] = {L64(0), L64(64), L64(128), L64(192)};

static const uint8_t *identity_lut(void) { return identity; }

static void geometry(const uint8_t *src, uint8_t *dst, int w, int h, int flip,
                     float degrees, float scale, float dx, float dy,
                     const uint8_t *lut)
{
    /* Keep the fixed-point values far from overflow on absurd inputs. */
    scale = scale < 0.05f ? 0.05f : scale > 20.f ? 20.f : scale;
    dx = dx < -2.f * w ? -2.f * w : dx > 2.f * w ? 2.f * w : dx;
    dy = dy < -2.f * h ? -2.f * h : dy > 2.f * h ? 2.f * h : dy;
    if (degrees == 0 && scale == 1 && dx == floorf(dx) && dy == floorf(dy)) {
        shift_flip(src, dst, w, h, flip, (int)dx, (int)dy, lut);
        return;
    }
    /* Inverse map about the centre: undo the shift, the rotation, the
     * scale, then the flip. Rotation is counter-clockwise on screen (y
     * down), so the inverse of (x, y) -> (x cos + y sin, -x sin + y cos) is
     * (x cos - y sin, x sin + y cos). */
    double th = degrees * (M_PI / 180.0);
    double co = cos(th) / scale, si = sin(th) / scale, f = flip ? -1.0 : 1.0;
    double ccx = (w - 1) * 0.5, ccy = (h - 1) * 0.5;
    double a = f * co, b = -f * si, c = si, d = co;
    double ox = ccx + dx, oy = ccy + dy;
    double e = ccx - a * ox - b * oy, g = ccy - c * ox - d * oy;
    affine_bilinear(src, dst, w, h, a, b, e, c, d, g, lut);
}

void augment_affine(const uint8_t *src, uint8_t *dst, int w, int h, int flip,
                float degrees, float scale, float dx, float dy)
{
    geometry(src, dst, w, h, flip, degrees, scale > 0 ? scale : 1, dx, dy,
             identity_lut());
}

static int image_mean(const uint8_t *p, size_t n)
{
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += p[i];
    return n ? (int)((s + n / 2) / n) : 0;
}

/* augment_apply, and augment_apply_turned with turn not NULL: the
 * rotation is then *turn and draws nothing from the RNG. */
static void apply(const augment_cfg *cfg, const uint8_t *src, uint8_t *dst, int w, int h,
                  uint64_t *rng, const float *turn)
{
    unsigned ops = cfg->ops;
    size_t npx = (size_t)w * (size_t)h;
    int flip = (ops & AUGMENT_FLIP) && rng_unif(rng) < cfg->flip_p;
    int dx = 0, dy = 0;
    if ((ops & AUGMENT_CROP) && cfg->shift > 0) {
        dx = rng_below(rng, 2 * cfg->shift + 1) - cfg->shift;
        dy = rng_below(rng, 2 * cfg->shift + 1) - cfg->shift;
    }
    float deg = turn ? *turn : (ops & AUGMENT_ROTATE) ? (2 * rng_unif(rng) - 1) * cfg->rotate : 0.f;
    float scale = 1.f;
    if (ops & AUGMENT_ZOOM)
        scale = cfg->zoom_min + rng_unif(rng) * (cfg->zoom_max - cfg->zoom_min);
    if (!(scale > 0))
        scale = 1.f;

    uint8_t lutbuf[256];
    const uint8_t *lut = identity_lut();
    if (ops & AUGMENT_COLOR) {
        float bright = (2 * rng_unif(rng) - 1) * cfg->brightness;
        float contr = 1 + (2 * rng_unif(rng) - 1) * cfg->contrast;
        if (bright != 0 || contr != 1) {
            /* Contrast about the image mean keeps the face's mean level. */
            float m = (float)image_mean(src, npx);
            for (int v = 0; v < 256; v++) {
                float o = ((float)v - m) * contr + m + bright;
                lutbuf[v] = (uint8_t)(o < 0 ? 0 : o > 255 ? 255 : lrintf(o));
            }
            lut = lutbuf;
        }
    }
    geometry(src, dst, w, h, flip, deg, scale, (float)dx, (float)dy, lut);

    if ((ops & AUGMENT_ERASE) && cfg->erase_max > 0 && rng_unif(rng) < cfg->erase_p) {
        float share = cfg->erase_min + rng_unif(rng) * (cfg->erase_max - cfg->erase_min);
        float asp = cfg->erase_aspect >= 1 ? cfg->erase_aspect : 1;
        float r = expf((2 * rng_unif(rng) - 1) * logf(asp)); /* log-uniform h/w */
        float area = share * (float)npx;
        int rh = (int)lrintf(sqrtf(area * r)), rw = (int)lrintf(sqrtf(area / r));
        rh = clampi(rh, 0, h);
        rw = clampi(rw, 0, w);
        if (rh > 0 && rw > 0) {
            int x0 = rng_below(rng, w - rw + 1), y0 = rng_below(rng, h - rh + 1);
            int fill = cfg->erase_noise ? -1 : image_mean(dst, npx);
            for (int y = y0; y < y0 + rh; y++) {
                uint8_t *row = dst + (size_t)y * w + x0;
                if (fill >= 0) {
                    memset(row, fill, (size_t)rw);
                    continue;
                }
                uint64_t bits = 0;
                for (int x = 0; x < rw; x++) {
                    if ((x & 7) == 0)
                        bits = rng_next(rng);
                    row[x] = (uint8_t)bits;
                    bits >>= 8;
                }
            }
        }
    }
}

void augment_apply(const augment_cfg *cfg, const uint8_t *src, uint8_t *dst, int w, int h,
               uint64_t *rng)
{
    apply(cfg, src, dst, w, h, rng, NULL);
}

void augment_apply_turned(const augment_cfg *cfg, const uint8_t *src, uint8_t *dst, int w, int h,
                          float degrees, uint64_t *rng)
{
    apply(cfg, src, dst, w, h, rng, &degrees);
}
