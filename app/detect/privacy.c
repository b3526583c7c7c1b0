/* privacy.c - faces blurred beyond recognition; see privacy.h. */
#include "privacy.h"

#include <math.h>

cvw_rect privacy_region(cvw_rect b, int w, int h)
{
    const int gx = (int)lroundf(b.w * PRIVACY_GROW), gy = (int)lroundf(b.h * PRIVACY_GROW);
    int x0 = b.x - gx, y0 = b.y - gy, x1 = b.x + b.w + gx, y1 = b.y + b.h + gy;
    x0 = x0 < 0 ? 0 : x0;
    y0 = y0 < 0 ? 0 : y0;
    x1 = x1 > w ? w : x1;
    y1 = y1 > h ? h : y1;
    return (cvw_rect){x0, y0, x1 > x0 ? x1 - x0 : 0, y1 > y0 ? y1 - y0 : 0};
}

static void blur_region(uint8_t *bgr, int w, cvw_rect r)
{
    enum { N = PRIVACY_CELLS };
    double cell[N][N][3] = {{{0}}};
    long count[N][N] = {{0}};
    for (int y = 0; y < r.h; y++)
        for (int x = 0; x < r.w; x++) {
            const int cy = y * N / r.h, cx = x * N / r.w;
            const uint8_t *p = bgr + ((size_t)(r.y + y) * w + r.x + x) * 3;
            for (int c = 0; c < 3; c++)
                cell[cy][cx][c] += p[c];
            count[cy][cx]++;
        }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            for (int c = 0; c < 3; c++)
                cell[i][j][c] /= count[i][j] ? (double)count[i][j] : 1.0;
    for (int y = 0; y < r.h; y++) {
        /* between the centres of the cells, clamped at the borders */
        double fy = ((y + 0.5) * N / r.h) - 0.5;
        fy = fy < 0 ? 0 : fy > N - 1 ? N - 1 : fy;
        const int iy = (int)fy < N - 1 ? (int)fy : N - 2;
        const double ty = fy - iy;
        for (int x = 0; x < r.w; x++) {
            double fx = ((x + 0.5) * N / r.w) - 0.5;
            fx = fx < 0 ? 0 : fx > N - 1 ? N - 1 : fx;
            const int ix = (int)fx < N - 1 ? (int)fx : N - 2;
            const double tx = fx - ix;
            uint8_t *p = bgr + ((size_t)(r.y + y) * w + r.x + x) * 3;
            for (int c = 0; c < 3; c++) {
                const double v = (1 - ty) * ((1 - tx) * cell[iy][ix][c] + tx * cell[iy][ix + 1][c]) +
                                 ty * ((1 - tx) * cell[iy + 1][ix][c] + tx * cell[iy + 1][ix + 1][c]);
                p[c] = (uint8_t)lround(v);
            }
        }
    }
}

void privacy_blur_faces(uint8_t *bgr, int w, int h, const cvw_rect *boxes, int n)
{
    for (int i = 0; i < n; i++) {
        cvw_rect r = privacy_region(boxes[i], w, h);
        if (r.w >= PRIVACY_CELLS && r.h >= PRIVACY_CELLS)
            blur_region(bgr, w, r);
    }
}
