/*
 * winograd.c - the Winograd transforms of winograd.h, in portable C.
 *
 * Each 2-D transform is two passes of a 1-D one: down the image columns,
 * a tile row at a time (vectors along the image row), and across the tiles
 * of a block (vectors along the tile index, reading or writing each tile's
 * values at m*q + k). Every operand is its own restrict pointer, so these
 * are plain loops the compiler vectorizes with whatever ISA the build
 * targets; measured, wider vectors gain nothing: the passes are bound by
 * moving the data, not by arithmetic.
 *
 * Matrices (Lavin and Gray, "Fast Algorithms for Convolutional Neural
 * Networks"): for m = 2, points 0, 1, -1; for m = 4, points 0, 1, -1, 2, -2,
 * each with the point at infinity.
 */
#include "winograd.h"

#include <string.h>

#define R restrict
typedef void (*tr1d_fn)(int n, const float *const *in, float *const *out);

/* ---- 1-D transforms ---------------------------------------------------------- */

/* Each transform comes as a column kernel over whole rows (vectors along
 * the image row, one pointer per operand) and, where needed, as a row
 * kernel over tiles, reading or writing the m or a values of tile q at
 * s[m*q + k]. Matrices for m = 2 and m = 4:
 *
 *   B^T (4x4)      1  0 -1  0      B^T (6x6)  4  0 -5  0  1  0
 *                  0  1  1  0                 0 -4 -4  1  1  0
 *                  0 -1  1  0                 0  4 -4 -1  1  0
 *                  0  1  0 -1                 0 -2 -1  2  1  0
 *                                             0  2 -1 -2  1  0
 *   A^T (2x4)      1  1  1  0                 0  4  0 -5  0  1
 *                  0  1 -1 -1
 *                                  A^T (4x6)  1  1  1  1  1  0
 *   G (4x3)        1    0    0                0  1 -1  2 -2  0
 *                 1/2  1/2  1/2               0  1  1  4  4  0
 *                 1/2 -1/2  1/2               0  1 -1  8 -8  1
 *                  0    0    1
 *                                  G (6x3)   1/4    0     0
 *                                           -1/6  -1/6  -1/6
 *                                           -1/6   1/6  -1/6
 *                                           1/24  1/12   1/6
 *                                           1/24 -1/12   1/6
 *                                             0     0     1
 */

/* B^T, columns */
static void bt4_k(int n, const float *R d0, const float *R d1, const float *R d2,
                  const float *R d3, float *R o0, float *R o1, float *R o2, float *R o3)
{
    for (int k = 0; k < n; k++) {
        o0[k] = d0[k] - d2[k];
        o1[k] = d1[k] + d2[k];
        o2[k] = d2[k] - d1[k];
        o3[k] = d1[k] - d3[k];
    }
}

static void bt6_k(int n, const float *R d0, const float *R d1, const float *R d2,
                  const float *R d3, const float *R d4, const float *R d5, float *R o0,
                  float *R o1, float *R o2, float *R o3, float *R o4, float *R o5)
{
    for (int k = 0; k < n; k++) {
        float a = d4[k] - 4.0f * d2[k], b = d3[k] - 4.0f * d1[k];
        float c = d4[k] - d2[k], e = 2.0f * (d3[k] - d1[k]);
        o0[k] = 4.0f * d0[k] - 5.0f * d2[k] + d4[k];
        o1[k] = a + b;
        o2[k] = a - b;
        o3[k] = c + e;
        o4[k] = c - e;
        o5[k] = 4.0f * d1[k] - 5.0f * d3[k] + d5[k];
    }
}

/* B^T, rows: o_j[q] = (B^T s[m*q .. m*q+a-1])_j */
static void bt4_row(int n, const float *R s, float *R o0, float *R o1, float *R o2, float *R o3)
{
    for (int q = 0; q < n; q++) {
        float d0 = s[2 * q], d1 = s[2 * q + 1], d2 = s[2 * q + 2], d3 = s[2 * q + 3];
        o0[q] = d0 - d2;
        o1[q] = d1 + d2;
        o2[q] = d2 - d1;
        o3[q] = d1 - d3;
    }
}

static void bt6_row(int n, const float *R s, float *R o0, float *R o1, float *R o2, float *R o3,
                    float *R o4, float *R o5)
{
    for (int q = 0; q < n; q++) {
        float d0 = s[4 * q], d1 = s[4 * q + 1], d2 = s[4 * q + 2];
        float d3 = s[4 * q + 3], d4 = s[4 * q + 4], d5 = s[4 * q + 5];
        float a = d4 - 4.0f * d2, b = d3 - 4.0f * d1, c = d4 - d2, e = 2.0f * (d3 - d1);
        o0[q] = 4.0f * d0 - 5.0f * d2 + d4;
        o1[q] = a + b;
        o2[q] = a - b;
        o3[q] = c + e;
        o4[q] = c - e;
        o5[q] = 4.0f * d1 - 5.0f * d3 + d5;
    }
}

/* B (the adjoint of B^T), columns, adding into the outputs */
static void b4_k_add(int n, const float *R h0, const float *R h1, const float *R h2,
                     const float *R h3, float *R o0, float *R o1, float *R o2, float *R o3)
{
    for (int k = 0; k < n; k++) {
        o0[k] += h0[k];
        o1[k] += h1[k] - h2[k] + h3[k];
        o2[k] += h1[k] + h2[k] - h0[k];
        o3[k] -= h3[k];
    }
}

static void b6_k_add(int n, const float *R h0, const float *R h1, const float *R h2,
                     const float *R h3, const float *R h4, const float *R h5, float *R o0,
                     float *R o1, float *R o2, float *R o3, float *R o4, float *R o5)
{
    for (int k = 0; k < n; k++) {
        float p12 = h1[k] + h2[k], m12 = h1[k] - h2[k];
        float p34 = h3[k] + h4[k], m34 = h3[k] - h4[k];
        o0[k] += 4.0f * h0[k];
        o1[k] += -4.0f * m12 - 2.0f * m34 + 4.0f * h5[k];
        o2[k] += -5.0f * h0[k] - 4.0f * p12 - p34;
        o3[k] += m12 + 2.0f * m34 - 5.0f * h5[k];
        o4[k] += h0[k] + p12 + p34;
        o5[k] += h5[k];
    }
}

/* B, rows: the a values of tile q land on s[m*q .. m*q+a-1], so slot
 * m*q + k (k < m) sums (B h_q)_k and, for k < a - m, (B h_(q-1))_(k+m);
 * h_(-1) must be readable (the driver keeps a zero before every array). */
static void b4_row(int n, const float *R h0, const float *R h1, const float *R h2,
                   const float *R h3, float *R o)
{
    for (int q = 0; q < n; q++) {
        o[2 * q] = h0[q] + h1[q - 1] + h2[q - 1] - h0[q - 1];
        o[2 * q + 1] = h1[q] - h2[q] + h3[q] - h3[q - 1];
    }
}

static void b6_row(int n, const float *R h0, const float *R h1, const float *R h2,
                   const float *R h3, const float *R h4, const float *R h5, float *R o)
{
    for (int q = 0; q < n; q++) {
        float p12 = h1[q] + h2[q], m12 = h1[q] - h2[q];
        float p34 = h3[q] + h4[q], m34 = h3[q] - h4[q];
        float prev4 = h0[q - 1] + h1[q - 1] + h2[q - 1] + h3[q - 1] + h4[q - 1];
        o[4 * q] = 4.0f * h0[q] + prev4;
        o[4 * q + 1] = -4.0f * m12 - 2.0f * m34 + 4.0f * h5[q] + h5[q - 1];
        o[4 * q + 2] = -5.0f * h0[q] - 4.0f * p12 - p34;
        o[4 * q + 3] = m12 + 2.0f * m34 - 5.0f * h5[q];
    }
}

/* A^T, columns, plus a bias */
static void at4_k(int n, const float *R m0, const float *R m1, const float *R m2,
                  const float *R m3, float bias, float *R o0, float *R o1)
{
    for (int k = 0; k < n; k++) {
        o0[k] = m0[k] + m1[k] + m2[k] + bias;
        o1[k] = m1[k] - m2[k] - m3[k] + bias;
    }
}

static void at6_k(int n, const float *R m0, const float *R m1, const float *R m2,
                  const float *R m3, const float *R m4, const float *R m5, float bias,
                  float *R o0, float *R o1, float *R o2, float *R o3)
{
    for (int k = 0; k < n; k++) {
        float p12 = m1[k] + m2[k], d12 = m1[k] - m2[k];
        float p34 = m3[k] + m4[k], d34 = m3[k] - m4[k];
        o0[k] = m0[k] + p12 + p34 + bias;
        o1[k] = d12 + 2.0f * d34 + bias;
        o2[k] = p12 + 4.0f * p34 + bias;
        o3[k] = d12 + 8.0f * d34 + m5[k] + bias;
    }
}

/* A^T, rows: o[m*q + k] = (A^T m_q)_k */
static void at4_row(int n, const float *R m0, const float *R m1, const float *R m2,
                    const float *R m3, float *R o)
{
    for (int q = 0; q < n; q++) {
        o[2 * q] = m0[q] + m1[q] + m2[q];
        o[2 * q + 1] = m1[q] - m2[q] - m3[q];
    }
}

static void at6_row(int n, const float *R m0, const float *R m1, const float *R m2,
                    const float *R m3, const float *R m4, const float *R m5, float *R o)
{
    for (int q = 0; q < n; q++) {
        float p12 = m1[q] + m2[q], d12 = m1[q] - m2[q];
        float p34 = m3[q] + m4[q], d34 = m3[q] - m4[q];
        o[4 * q] = m0[q] + p12 + p34;
        o[4 * q + 1] = d12 + 2.0f * d34;
        o[4 * q + 2] = p12 + 4.0f * p34;
        o[4 * q + 3] = d12 + 8.0f * d34 + m5[q];
    }
}

/* A (the adjoint of A^T), columns */
static void a4_k(int n, const float *R y0, const float *R y1, float *R o0, float *R o1,
                 float *R o2, float *R o3)
{
    for (int k = 0; k < n; k++) {
        o0[k] = y0[k];
        o1[k] = y0[k] + y1[k];
        o2[k] = y0[k] - y1[k];
        o3[k] = -y1[k];
    }
}

static void a6_k(int n, const float *R y0, const float *R y1, const float *R y2,
                 const float *R y3, float *R o0, float *R o1, float *R o2, float *R o3,
                 float *R o4, float *R o5)
{
    for (int k = 0; k < n; k++) {
        float e1 = y0[k] + y2[k], d1 = y1[k] + y3[k];
        float e2 = y0[k] + 4.0f * y2[k], d2 = 2.0f * y1[k] + 8.0f * y3[k];
        o0[k] = y0[k];
        o1[k] = e1 + d1;
        o2[k] = e1 - d1;
        o3[k] = e2 + d2;
        o4[k] = e2 - d2;
        o5[k] = y3[k];
    }
}

/* A, rows: o_j[q] = (A s[m*q .. m*q+m-1])_j */
static void a4_row(int n, const float *R s, float *R o0, float *R o1, float *R o2, float *R o3)
{
    for (int q = 0; q < n; q++) {
        float y0 = s[2 * q], y1 = s[2 * q + 1];
        o0[q] = y0;
        o1[q] = y0 + y1;
        o2[q] = y0 - y1;
        o3[q] = -y1;
    }
}

static void a6_row(int n, const float *R s, float *R o0, float *R o1, float *R o2, float *R o3,
                   float *R o4, float *R o5)
{
    for (int q = 0; q < n; q++) {
        float y0 = s[4 * q], y1 = s[4 * q + 1], y2 = s[4 * q + 2], y3 = s[4 * q + 3];
        float e1 = y0 + y2, d1 = y1 + y3, e2 = y0 + 4.0f * y2, d2 = 2.0f * y1 + 8.0f * y3;
        o0[q] = y0;
        o1[q] = e1 + d1;
        o2[q] = e1 - d1;
        o3[q] = e2 + d2;
        o4[q] = e2 - d2;
        o5[q] = y3;
    }
}

/* G (3 -> a) and G^T (a -> 3), for the weights */
static void g4_k(int n, const float *R g0, const float *R g1, const float *R g2, float *R o0,
                 float *R o1, float *R o2, float *R o3)
{
    for (int k = 0; k < n; k++) {
        float s = 0.5f * (g0[k] + g2[k]), d = 0.5f * g1[k];
        o0[k] = g0[k];
        o1[k] = s + d;
        o2[k] = s - d;
        o3[k] = g2[k];
    }
}

static void gt4_k(int n, const float *R u0, const float *R u1, const float *R u2,
                  const float *R u3, float *R o0, float *R o1, float *R o2)
{
    for (int k = 0; k < n; k++) {
        float s = 0.5f * (u1[k] + u2[k]);
        o0[k] = u0[k] + s;
        o1[k] = 0.5f * (u1[k] - u2[k]);
        o2[k] = s + u3[k];
    }
}

static void g6_k(int n, const float *R g0, const float *R g1, const float *R g2, float *R o0,
                 float *R o1, float *R o2, float *R o3, float *R o4, float *R o5)
{
    for (int k = 0; k < n; k++) {
        float s = (-1.0f / 6.0f) * (g0[k] + g2[k]), d = (1.0f / 6.0f) * g1[k];
        float s2 = (1.0f / 24.0f) * g0[k] + (1.0f / 6.0f) * g2[k], d2 = (1.0f / 12.0f) * g1[k];
        o0[k] = 0.25f * g0[k];
        o1[k] = s - d;
        o2[k] = s + d;
        o3[k] = s2 + d2;
        o4[k] = s2 - d2;
        o5[k] = g2[k];
    }
}

static void gt6_k(int n, const float *R u0, const float *R u1, const float *R u2,
                  const float *R u3, const float *R u4, const float *R u5, float *R o0,
                  float *R o1, float *R o2)
{
    for (int k = 0; k < n; k++) {
        float p12 = u1[k] + u2[k], m12 = u2[k] - u1[k];
        float p34 = u3[k] + u4[k], m34 = u3[k] - u4[k];
        o0[k] = 0.25f * u0[k] - (1.0f / 6.0f) * p12 + (1.0f / 24.0f) * p34;
        o1[k] = (1.0f / 6.0f) * m12 + (1.0f / 12.0f) * m34;
        o2[k] = (1.0f / 6.0f) * (p34 - p12) + u5[k];
    }
}

/* Uniform signatures over pointer arrays, for tr2d. */
static void g4(int n, const float *const *i, float *const *o) { g4_k(n, i[0], i[1], i[2], o[0], o[1], o[2], o[3]); }
static void gt4(int n, const float *const *i, float *const *o) { gt4_k(n, i[0], i[1], i[2], i[3], o[0], o[1], o[2]); }
static void g6(int n, const float *const *i, float *const *o) { g6_k(n, i[0], i[1], i[2], o[0], o[1], o[2], o[3], o[4], o[5]); }
static void gt6(int n, const float *const *i, float *const *o) { gt6_k(n, i[0], i[1], i[2], i[3], i[4], i[5], o[0], o[1], o[2]); }

/* The weight transforms take CHUNK filters at a time, so tr2d's
 * intermediate stays in L1. */
#define CHUNK 256

/* L X L'^T for p x p arrays of n <= CHUNK values in, q x q out (in[r*p +
 * j], out[i*q + j]): rows first into tmp (p*q*CHUNK floats), then columns. */
static void tr2d(tr1d_fn f, int p, int q, int n, const float *const *in, float *const *out,
                 float *tmp)
{
    float *t[36] = {0};
    const float *col[6] = {0};
    float *dst[6] = {0};
    for (int k = 0; k < p * q; k++)
        t[k] = tmp + (size_t)k * CHUNK;
    for (int r = 0; r < p; r++)
        f(n, in + r * p, t + r * q);
    for (int j = 0; j < q; j++) {
        for (int r = 0; r < p; r++)
            col[r] = t[r * q + j];
        for (int i = 0; i < q; i++)
            dst[i] = out[i * q + j];
        f(n, col, dst);
    }
}

/* ---- plans and weights ---------------------------------------------------------- */

void nn_wino_plan(nn_wino *w, int m, int H, int W, int OH, int OW, int pad_t, int pad_l)
{
    w->m = m;
    w->a = m + 2;
    w->H = H;
    w->W = W;
    w->OH = OH;
    w->OW = OW;
    w->pad_t = pad_t;
    w->pad_l = pad_l;
    w->tx = (OW + m - 1) / m;
    w->ty = (OH + m - 1) / m;
    w->slots = w->tx + 1;
    w->span = m * w->slots;
}

size_t nn_wino_work(const nn_wino *w)
{
    size_t weights = (size_t)(9 + 3 * w->a) * CHUNK;
    int wide = w->W > w->OW ? w->W : w->OW;
    wide = wide > w->span ? wide : w->span;
    size_t rows = (size_t)(w->a + w->m + 1) * ((size_t)wide + 16);
    return (weights > rows ? weights : rows) + 64;
}

void nn_wino_weights(const nn_wino *w, const float *wt, size_t pairs, float *u, size_t ld,
                     float *work)
{
    const int a = w->a;
    tr1d_fn g = w->m == 2 ? g4 : g6;
    float *gk = work, *tmp = gk + 9 * CHUNK;
    const float *in[9] = {0};
    float *out[36] = {0};
    for (int k = 0; k < 9; k++)
        in[k] = gk + k * CHUNK;
    for (size_t p0 = 0; p0 < pairs; p0 += CHUNK) {
        int n = pairs - p0 < CHUNK ? (int)(pairs - p0) : CHUNK;
        for (int i = 0; i < n; i++)
            for (int k = 0; k < 9; k++)
                gk[k * CHUNK + i] = wt[(p0 + i) * 9 + k];
        for (int xi = 0; xi < a * a; xi++)
            out[xi] = u + xi * ld + p0;
        tr2d(g, 3, a, n, in, out, tmp);
    }
}

void nn_wino_weights_grad(const nn_wino *w, const float *du, size_t ld, size_t pairs,
                          float *dw, float *work)
{
    const int a = w->a;
    tr1d_fn gt = w->m == 2 ? gt4 : gt6;
    float *gk = work, *tmp = gk + 9 * CHUNK;
    const float *in[36] = {0};
    float *out[9] = {0};
    for (int k = 0; k < 9; k++)
        out[k] = gk + k * CHUNK;
    for (size_t p0 = 0; p0 < pairs; p0 += CHUNK) {
        int n = pairs - p0 < CHUNK ? (int)(pairs - p0) : CHUNK;
        for (int xi = 0; xi < a * a; xi++)
            in[xi] = du + xi * ld + p0;
        tr2d(gt, a, 3, n, in, out, tmp);
        for (int i = 0; i < n; i++)
            for (int k = 0; k < 9; k++)
                dw[(p0 + i) * 9 + k] += gk[k * CHUNK + i];
    }
}

/* ---- tiles ----------------------------------------------------------------------- */

/* Columns [lo, hi) of a row of `span` values hold image columns [0, hi -
 * lo); the rest is zero padding. */
static void col_range(const nn_wino *w, int *lo, int *hi)
{
    *lo = w->pad_l < w->span ? w->pad_l : w->span;
    *hi = w->pad_l + w->W < w->span ? w->pad_l + w->W : w->span;
}

static void zero_outside(float *row, int lo, int hi, int span)
{
    memset(row, 0, (size_t)lo * sizeof *row);
    memset(row + hi, 0, (size_t)(span - hi) * sizeof *row);
}

void nn_wino_input_rows(const nn_wino *w, const float *x, int ty0, int nr, float *h, size_t ldh,
                        float *work)
{
    const int m = w->m, a = w->a;
    int lo, hi;
    col_range(w, &lo, &hi);
    float *zero = work;
    memset(zero, 0, (size_t)w->W * sizeof *zero);
    const float *in[6] = {0};
    float *o[6] = {0};
    for (int Y = 0; Y < nr; Y++) {
        for (int r = 0; r < a; r++) {
            int iy = m * (ty0 + Y) + r - w->pad_t;
            in[r] = iy >= 0 && iy < w->H ? x + (size_t)iy * w->W : zero;
        }
        for (int i = 0; i < a; i++) {
            o[i] = h + i * ldh + (size_t)Y * w->span;
            zero_outside(o[i], lo, hi, w->span);
        }
        if (m == 2)
            bt4_k(hi - lo, in[0], in[1], in[2], in[3], o[0] + lo, o[1] + lo, o[2] + lo, o[3] + lo);
        else
            bt6_k(hi - lo, in[0], in[1], in[2], in[3], in[4], in[5], o[0] + lo, o[1] + lo,
                  o[2] + lo, o[3] + lo, o[4] + lo, o[5] + lo);
    }
}

void nn_wino_input_tiles(const nn_wino *w, size_t n, const float *h, size_t ldh, float *v,
                         size_t ldv)
{
    const int a = w->a;
    for (int i = 0; i < a; i++) {
        float *o = v + (size_t)i * a * ldv;
        if (w->m == 2)
            bt4_row((int)n, h + i * ldh, o, o + ldv, o + 2 * ldv, o + 3 * ldv);
        else
            bt6_row((int)n, h + i * ldh, o, o + ldv, o + 2 * ldv, o + 3 * ldv, o + 4 * ldv,
                    o + 5 * ldv);
    }
}

void nn_wino_output_tiles(const nn_wino *w, size_t n, const float *mt, size_t ldm, float *ho,
                          size_t ldho)
{
    const int a = w->a;
    for (int i = 0; i < a; i++) {
        const float *s = mt + (size_t)i * a * ldm;
        if (w->m == 2)
            at4_row((int)n, s, s + ldm, s + 2 * ldm, s + 3 * ldm, ho + i * ldho);
        else
            at6_row((int)n, s, s + ldm, s + 2 * ldm, s + 3 * ldm, s + 4 * ldm, s + 5 * ldm,
                    ho + i * ldho);
    }
}

void nn_wino_output_rows(const nn_wino *w, const float *ho, size_t ldho, int ty0, int nr,
                         float bias, float *y, float *relu_y, float *work)
{
    const int m = w->m, OW = w->OW;
    const float *in[6] = {0};
    float *o[4] = {0};
    for (int Y = 0; Y < nr; Y++) {
        for (int i = 0; i < w->a; i++)
            in[i] = ho + i * ldho + (size_t)Y * w->span;
        for (int k = 0; k < m; k++) { /* rows past the image go to scratch */
            int oy = m * (ty0 + Y) + k;
            o[k] = oy < w->OH ? y + (size_t)oy * OW : work + (size_t)k * (OW + 16);
        }
        if (m == 2)
            at4_k(OW, in[0], in[1], in[2], in[3], bias, o[0], o[1]);
        else
            at6_k(OW, in[0], in[1], in[2], in[3], in[4], in[5], bias, o[0], o[1], o[2], o[3]);
        for (int k = 0; relu_y && k < m; k++) { /* while the row is in L1 */
            int oy = m * (ty0 + Y) + k;
            if (oy >= w->OH)
                break;
            const float *R v = o[k];
            float *R r = relu_y + (size_t)oy * OW;
            for (int i = 0; i < OW; i++)
                r[i] = v[i] > 0.0f ? v[i] : 0.0f;
        }
    }
}

void nn_wino_output_grad_rows(const nn_wino *w, const float *dy, const float *relu_y, int ty0,
                              int nr, float *hd, size_t ldhd, float *work)
{
    const int m = w->m, a = w->a, OW = w->OW;
    float *zero = work, *masked = zero + OW + 16;
    memset(zero, 0, (size_t)OW * sizeof *zero);
    const float *in[4] = {0};
    float *o[6] = {0};
    for (int Y = 0; Y < nr; Y++) {
        for (int k = 0; k < m; k++) {
            int oy = m * (ty0 + Y) + k;
            if (oy >= w->OH) {
                in[k] = zero;
            } else if (relu_y) {
                const float *R g = dy + (size_t)oy * OW, *R yr = relu_y + (size_t)oy * OW;
                float *R b = masked + (size_t)k * (OW + 16);
                for (int i = 0; i < OW; i++) {
                    float gv = g[i], rv = yr[i]; /* loads first: the select vectorizes */
                    b[i] = rv > 0.0f ? gv : 0.0f;
                }
                in[k] = b;
            } else {
                in[k] = dy + (size_t)oy * OW;
            }
        }
        for (int i = 0; i < a; i++) {
            o[i] = hd + i * ldhd + (size_t)Y * w->span;
            zero_outside(o[i], 0, OW, w->span);
        }
        if (m == 2)
            a4_k(OW, in[0], in[1], o[0], o[1], o[2], o[3]);
        else
            a6_k(OW, in[0], in[1], in[2], in[3], o[0], o[1], o[2], o[3], o[4], o[5]);
    }
}

void nn_wino_output_grad_tiles(const nn_wino *w, size_t n, const float *hd, size_t ldhd,
                               float *dmt, size_t ldm)
{
    const int a = w->a;
    for (int i = 0; i < a; i++) {
        float *o = dmt + (size_t)i * a * ldm;
        if (w->m == 2)
            a4_row((int)n, hd + i * ldhd, o, o + ldm, o + 2 * ldm, o + 3 * ldm);
        else
            a6_row((int)n, hd + i * ldhd, o, o + ldm, o + 2 * ldm, o + 3 * ldm, o + 4 * ldm,
                   o + 5 * ldm);
    }
}

void nn_wino_input_grad_tiles(const nn_wino *w, size_t n, const float *dv, size_t ldv, float *hx,
                              size_t ldhx)
{
    const int a = w->a;
    for (int i = 0; i < a; i++) {
        const float *s = dv + (size_t)i * a * ldv;
        if (w->m == 2)
            b4_row((int)n, s, s + ldv, s + 2 * ldv, s + 3 * ldv, hx + i * ldhx);
        else
            b6_row((int)n, s, s + ldv, s + 2 * ldv, s + 3 * ldv, s + 4 * ldv, s + 5 * ldv,
                   hx + i * ldhx);
    }
}

void nn_wino_input_grad_rows(const nn_wino *w, const float *hx, size_t ldhx, int ty0, int nr,
                             float *dx, float *work)
{
    const int m = w->m, a = w->a;
    int lo, hi;
    col_range(w, &lo, &hi);
    const float *in[6] = {0};
    float *o[6] = {0};
    for (int Y = 0; Y < nr; Y++) {
        for (int i = 0; i < a; i++)
            in[i] = hx + i * ldhx + (size_t)Y * w->span + lo;
        for (int r = 0; r < a; r++) {
            int iy = m * (ty0 + Y) + r - w->pad_t, inside = iy >= 0 && iy < w->H;
            /* rows in the padding go to scratch */
            o[r] = inside ? dx + (size_t)iy * w->W : work + (size_t)r * (w->span + 16);
            /* A row's first tile row clears it just before adding: the
             * first tile row of the image, or rows below the overlap. */
            if (!inside || ty0 + Y == 0 || r >= a - m)
                memset(o[r], 0, (size_t)(hi - lo) * sizeof(float));
        }
        if (m == 2)
            b4_k_add(hi - lo, in[0], in[1], in[2], in[3], o[0], o[1], o[2], o[3]);
        else
            b6_k_add(hi - lo, in[0], in[1], in[2], in[3], in[4], in[5], o[0], o[1], o[2], o[3],
                     o[4], o[5]);
    }
}
