/*
 * winograd.h - Winograd F(m x m, 3 x 3) transforms for stride-1 3x3
 * convolutions, m = 2 (4x4 input tiles) or m = 4 (6x6 tiles).
 *
 * A convolution over a tile of a x a inputs (a = m + 2) producing m x m
 * outputs is Y = A^T [(G g G^T) .* (B^T d B)] A. With U = G g G^T per
 * filter and V = B^T d B per input tile, the sum over input channels turns
 * into a^2 independent GEMMs M[xi] = U[xi] . V[xi] (xi < a^2 indexes the
 * tile's transformed elements), which need (a/m)^2 / 9 of the direct
 * method's multiplications (0.44 for m = 2, 0.25 for m = 4).
 *
 * Layouts: values of the transformed domain are arrays indexed by tile,
 * `ld` floats apart per element xi: V[xi*ld + t]. Tiles are numbered row
 * by row, `tx` per row. The backward routines are the exact adjoints of
 * the forward ones, so gradients are those of the function the forward
 * computes.
 */
#ifndef NN_WINOGRAD_H
#define NN_WINOGRAD_H

#include <stddef.h>

typedef struct nn_wino {
    int m, a;          /* output tile m x m, input tile a x a, a = m + 2 */
    int tx, ty;        /* tiles per row and per column */
    int slots, span;   /* tile slots per tile row (tx + 1), and span = m * slots */
    int H, W;          /* input plane */
    int OH, OW;        /* output plane */
    int pad_t, pad_l;  /* zero padding before the first input row/column */
} nn_wino;

/* Fill in a plan for a 3x3 stride-1 convolution. */
void nn_wino_plan(nn_wino *w, int m, int H, int W, int OH, int OW, int pad_t, int pad_l);

/* Floats of `work` any routine below needs. */
size_t nn_wino_work(const nn_wino *w);

/* u[xi*ld + p] = (G g_p G^T)[xi] for `pairs` filters g_p = w[9p .. 9p+8]. */
void nn_wino_weights(const nn_wino *w, const float *wt, size_t pairs, float *u, size_t ld,
                     float *work);
/* dw[9p .. 9p+8] += G^T du_p G, du_p[xi] = du[xi*ld + p]: the adjoint. */
void nn_wino_weights_grad(const nn_wino *w, const float *du, size_t ld, size_t pairs,
                          float *dw, float *work);

/*
 * The 2-D transforms are split into a column pass along image rows (per
 * tile row of one plane, vectors along the row) and a row pass across the
 * tiles of a whole block (all channels and tile rows at once, vectors
 * along the tile index), so the vectors stay long even for 8x8 images and
 * no pass gathers with a stride. In between, the `h` arrays hold, per tile
 * row, `span` = m * slots values: tile X's values at m*X .. m*X + a - 1.
 * Each tile row has one slot more than it has tiles, so that tile X + 1 of
 * a row starts m values after tile X even across rows; the spare slot
 * holds nothing useful (finite values; zero in gradients).
 *
 * Tile row Y of a call's `nr` rows sits at Y*span in h and at Y*slots in
 * the transformed arrays; arrays of one kind are `ld` floats apart.
 */

/* Forward input: h[i][x] = (B^T d)[i] along each column x of the padded
 * input of every tile row (rows past the image read as zeros); v[i*a+j] =
 * (h B)[i][j] per tile, for n slots. h arrays need ldh >= m*n + 2 with
 * zeros (any finite values) past m*n. */
void nn_wino_input_rows(const nn_wino *w, const float *x, int ty0, int nr, float *h, size_t ldh,
                        float *work);
void nn_wino_input_tiles(const nn_wino *w, size_t n, const float *h, size_t ldh, float *v,
                         size_t ldv);

/* Forward output: h[i][m*q + k] = (M A)[i][k] per slot q; y = A^T h +
 * bias for the output rows of tile rows [ty0, ty0+nr) (OH x OW plane),
 * and relu_y = max(y, 0) too unless relu_y is NULL. */
void nn_wino_output_tiles(const nn_wino *w, size_t n, const float *mt, size_t ldm, float *ho,
                          size_t ldho);
void nn_wino_output_rows(const nn_wino *w, const float *ho, size_t ldho, int ty0, int nr,
                         float bias, float *y, float *relu_y, float *work);

/* Backward, the adjoints in reverse. dy (times the mask relu_y > 0 when
 * relu_y is not NULL: the conv's own ReLU, fused) into h = A dy per
 * column; dM = h A^T per tile (zero in the spare slots). */
void nn_wino_output_grad_rows(const nn_wino *w, const float *dy, const float *relu_y, int ty0,
                              int nr, float *hd, size_t ldhd, float *work);
void nn_wino_output_grad_tiles(const nn_wino *w, size_t n, const float *hd, size_t ldhd,
                               float *dmt, size_t ldm);

/* Backward input: h = dV B^T per tile, overlapping tiles summing (dv[-1]
 * of every dv array must read as 0: the spare slot before it or a zero);
 * dx += B h along the columns, into the H x W plane. Each image row is
 * cleared by the first tile row that reaches it, so the tile rows of a
 * plane must come in order, starting from 0, and dx need not be zeroed. */
void nn_wino_input_grad_tiles(const nn_wino *w, size_t n, const float *dv, size_t ldv, float *hx,
                              size_t ldhx);
void nn_wino_input_grad_rows(const nn_wino *w, const float *hx, size_t ldhx, int ty0, int nr,
                             float *dx, float *work);

#endif /* NN_WINOGRAD_H */
