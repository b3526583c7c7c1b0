/* heatmap.c - a saliency map blended over a picture; see heatmap.h. */
#include "heatmap.h"

#include <math.h>
#include <string.h>

/* One box-blur pass along rows (dx = 1) or columns, src into dst. */
static void box_pass(const float *src, float *dst, int w, int h, int r, int rows)
{
    const int n = rows ? w : h, lines = rows ? h : w;
    for (int l = 0; l < lines; l++)
        for (int i = 0; i < n; i++) {
            const int lo = i - r < 0 ? 0 : i - r, hi = i + r >= n ? n - 1 : i + r;
            float s = 0;
            for (int j = lo; j <= hi; j++)
                s += rows ? src[l * w + j] : src[j * w + l];
            *(rows ? &dst[l * w + i] : &dst[i * w + l]) = s / (float)(hi - lo + 1);
        }
}

void heatmap_smooth(float *map, int w, int h, int r, float *scratch)
{
    /* three box passes come close to a Gaussian of sigma ~ r */
    for (int pass = 0; pass < 3 && r > 0; pass++) {
        box_pass(map, scratch, w, h, r, 1);
        box_pass(scratch, map, w, h, r, 0);
    }
    float top = 0;
    for (int i = 0; i < w * h; i++)
        top = map[i] > top ? map[i] : top;
    if (top > 0)
        for (int i = 0; i < w * h; i++)
            map[i] /= top;
}

void heatmap_colour(float v, uint8_t bgr[3])
{
    v = v < 0 ? 0 : v > 1 ? 1 : v;
    /* blue -> cyan -> green -> yellow -> red in four equal steps */
    static const float stops[5][3] = {
        {255, 0, 0}, {255, 255, 0}, {0, 255, 0}, {0, 255, 255}, {0, 0, 255}};
    float t = v * 4;
    int i = (int)t;
    if (i > 3)
        i = 3;
    t -= (float)i;
    for (int c = 0; c < 3; c++)
        bgr[c] = (uint8_t)lrintf(stops[i][c] + t * (stops[i + 1][c] - stops[i][c]));
}

void heatmap_blend_bgr(uint8_t *bgr, int fw, int fh, int bx, int by, int bw, int bh,
                    const float *map, int w, int h, float alpha)
{
    if (bw <= 0 || bh <= 0 || w <= 0 || h <= 0)
        return;
    const int x0 = bx < 0 ? 0 : bx, y0 = by < 0 ? 0 : by;
    const int x1 = bx + bw > fw ? fw : bx + bw, y1 = by + bh > fh ? fh : by + bh;
    for (int y = y0; y < y1; y++) {
        float my = ((float)(y - by) + 0.5f) * (float)h / (float)bh - 0.5f;
        my = my < 0 ? 0 : my > (float)(h - 1) ? (float)(h - 1) : my;
        const int iy = (int)my, iy1 = iy + 1 < h ? iy + 1 : iy;
        const float fy = my - (float)iy;
        for (int x = x0; x < x1; x++) {
            float mx = ((float)(x - bx) + 0.5f) * (float)w / (float)bw - 0.5f;
            mx = mx < 0 ? 0 : mx > (float)(w - 1) ? (float)(w - 1) : mx;
            const int ix = (int)mx, ix1 = ix + 1 < w ? ix + 1 : ix;
            const float fx = mx - (float)ix;
            const float v = (1 - fy) * ((1 - fx) * map[iy * w + ix] + fx * map[iy * w + ix1]) +
                            fy * ((1 - fx) * map[iy1 * w + ix] + fx * map[iy1 * w + ix1]);
            uint8_t col[3];
            heatmap_colour(v, col);
            const float a = alpha * v * v; /* the low floor stays see-through */
            uint8_t *px = bgr + ((size_t)y * fw + x) * 3;
            for (int c = 0; c < 3; c++)
                px[c] = (uint8_t)lrintf((1 - a) * px[c] + a * col[c]);
        }
    }
}
