/*
 * q8.h - the contract between the INT8 inference driver (quant.c) and its
 * per-ISA kernels (q8_ref.c, q8_avx2.c, q8_vnni.c).
 *
 * A quantized convolution (or dense layer, a 1x1 convolution of a 1x1
 * image) is an implicit GEMM over an NHWC u8 image whose borders already
 * hold the zero point, so no im2col buffer is formed: output pixel p reads
 * the window at in + pix[p], tap t of it at + tap[t], and there 4*cq
 * channel bytes (channels padded to a multiple of 4). The int32 sums
 *   acc[oc][p] = sum_t sum_c in[pix[p] + tap[t] + c] * w[oc][t][c]
 * (u8 x s8, exact) go through one per-channel affine map in float,
 *   v = fma((float)acc, scale[oc], bias[oc]),
 * which folds the weight and input scales, the input zero point, the bias
 * and any batch norm. Then either
 *   out8[opix[p] + oc] = (u8) rint(min(max(v, lo), 255))   (requantized), or
 *   outf[opix[p] + oc] = relu ? max(v, 0) : v               (float).
 * Every kernel computes exactly this, with the same rounding (FMA, round
 * half to even), so all agree bit for bit with the scalar reference.
 *
 * Weights are packed once per layer: w[nb][taps][cq][16][4] s8, 16 output
 * channels by 4 input channels per step (vpdpbusd's shape), zero-padded
 * past the real channels.
 *
 * A kernel with `wide` set also gets both operands sign/zero-extended to
 * int16 in the same layouts (w16, in16; offsets in elements, not bytes):
 * on AVX2 without VNNI the multiply is vpmaddwd, and widening once per
 * layer rather than per use takes the conversions out of its inner loop.
 */
#ifndef NN_Q8_H
#define NN_Q8_H

#include <stddef.h>
#include <stdint.h>

typedef struct nn_q8_gemm {
    const uint8_t *in;
    const int32_t *pix;   /* [P] byte offset of each output pixel's window */
    const int32_t *tap;   /* [taps] byte offset of each tap in a window */
    int P, taps, cq;      /* pixels, taps, input channel quads */
    const int8_t *w;      /* [nb][taps][cq][16][4] */
    int nb, oc;           /* 16-channel blocks, real output channels <= 16*nb */
    const float *scale, *bias; /* [16*nb] */
    float lo;             /* u8 output: lower clamp (the zero point after a ReLU) */
    int relu;             /* float output: clamp at 0 */
    uint8_t *out8;        /* exactly one of out8, outf is set */
    float *outf;
    const int32_t *opix;  /* [P] element offset of each pixel's channel 0 */
    /* set for kernels with `wide` (else NULL): in and w widened to int16 */
    const int16_t *in16;  /* in16[i] = in[i] over the bytes the call reads */
    const int16_t *w16;   /* w16[i] = w[i] */
} nn_q8_gemm;

/* Computes output blocks [b0, b1) (16 channels each) for pixels [p0, p1). */
typedef void (*nn_q8_fn)(const nn_q8_gemm *g, int b0, int b1, int p0, int p1);

/*
 * Winograd F(2x2, 3x3) in integers, for a 3x3 stride-1 convolution into u8:
 * the same sums acc[oc][p] as the GEMM above, exactly, from 16 products per
 * 2x2 output tile and input channel instead of 36. With B, G, A the usual
 * F(2, 3) matrices and G' = 2G (integer), a tile's 4x4 input window d and
 * a channel's 3x3 weights g give
 *   V = B^T d B      (u8 inputs: |V| <= 1020),
 *   U = G' g G'^T    (s8 weights: |U| <= 1143, four times the usual U),
 *   4 acc = A^T [sum over channels of U . V] A,
 * where int16 operands and int32 sums are exact, and the products summed
 * over channels may wrap in int32: the result, 4 acc, fits (|acc| <= 9 * 255
 * * 127 per input channel: up to 1,840 channels), and wrapping arithmetic is
 * exact modulo 2^32. So 4 acc >> 2 is the GEMM's acc bit for bit, and the
 * output goes through the same affine map and rounding.
 *
 * Tile t reads the 4x4 window at in + tin[t] (rows `row` bytes apart, pixels
 * cp bytes) and writes the pixels of its 2x2 outputs that tmask[t] keeps
 * (bit 0: the right column, bit 1: the bottom row; the top-left is always
 * written) at out8 + tout[t] (+ opx right, + orow down). Channels are read
 * in 16s: cv = cp rounded up to 16, and the bytes past cp that the last
 * group reads (up to 12, which the tensors' slack holds) meet zero weights.
 */
typedef struct nn_q8_wino {
    const uint8_t *in;
    const int32_t *tin, *tout;
    const uint8_t *tmask;
    int T, cp, cv, row;
    int orow, opx;
    const int16_t *u;     /* [nb][16][cv/2][16][2]: U of 16 output channels by pairs of inputs */
    int nb, oc;
    const float *scale, *bias; /* as in nn_q8_gemm */
    float lo;
    uint8_t *out8;
} nn_q8_wino;

/* Tiles per pass of a Winograd kernel: its scratch holds their V. */
#define NN_Q8_WINO_TILES 24

/* Computes output blocks [b0, b1) for tiles [t0, t1), with `scratch` of
 * nn_q8_wino_scratch(cv) bytes (32-byte aligned) to itself. */
typedef void (*nn_q8_wino_fn)(const nn_q8_wino *g, int b0, int b1, int t0, int t1, void *scratch);

static inline size_t nn_q8_wino_scratch(int cv)
{
    return (size_t)16 * NN_Q8_WINO_TILES * ((size_t)cv * 2 + 16 * 4);
}

/* U of packed 3x3 weights w ([nb][9][cq][16][4], as nn_q8_gemm's) into u
 * ([nb][16][cv/2][16][2]), channels from 4 cq up to cv zero (q8_ref.c). */
void nn_q8_wino_weights(int16_t *u, const int8_t *w, int cq, int nb, int cv);

typedef struct nn_q8_kernel {
    const char *name;
    nn_q8_fn gemm;
    int wide;             /* wants in16 and w16 (see above) */
    nn_q8_wino_fn wino;   /* NULL: no Winograd path */
} nn_q8_kernel;

extern const nn_q8_kernel nn_q8_kernel_ref;
#ifdef NN_X86
extern const nn_q8_kernel nn_q8_kernel_avx2;
extern const nn_q8_kernel nn_q8_kernel_vnni;
#endif

/* The kernel of that name ("ref", "avx2", "vnni") if this CPU runs it,
 * else NULL (quant.c). */
const nn_q8_kernel *nn__q8_kernel_named(const char *name);

/* Bytes of one 16-channel weight block. */
static inline size_t nn_q8_block_bytes(int taps, int cq)
{
    return (size_t)taps * cq * 64;
}

/* The widened copies for `wide` kernels. */
static inline void nn_q8_widen_u8(int16_t *restrict dst, const uint8_t *restrict src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = src[i];
}

static inline void nn_q8_widen_s8(int16_t *restrict dst, const int8_t *restrict src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = src[i];
}

#endif /* NN_Q8_H */
