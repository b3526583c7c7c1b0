/*
 * nn_impl.h - engine internals shared by the engine's own files and its
 * tests. Not installed; applications use nn.h only.
 */
#ifndef NN_IMPL_H
#define NN_IMPL_H

#include "nn.h"

#include <stdarg.h>
#include <stdio.h>

/* Set the thread's error message; returns -1 so `return nn_fail(...)`
 * works in int functions. */
int nn_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void *nn_fail_null(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* malloc/calloc that set the error message on failure; aligned to 64 bytes. */
void *nn_alloc(size_t bytes);      /* uninitialised */
void *nn_zalloc(size_t bytes);     /* zeroed */
void nn_free(void *p);

/* len bytes as the whole of path, written to PATH.tmp, synced and renamed
 * into place: a failure leaves the old file untouched and no PATH.tmp.
 * Returns 0, or -1 with nn_error() naming path and what failed. */
int nn__write_file(const char *path, const void *data, size_t len);

/* Overflow-checked a*b (returns 0 and sets *out, or -1). */
int nn_mul_size(size_t a, size_t b, size_t *out);

/* Parameter and state counts a spec would give, without allocating them
 * (the model loader checks a file's counts before building its net). */
int nn_spec_counts(const char *spec, int n_classes, size_t *n_params, size_t *n_state);

/* ---- floating-point mode --------------------------------------------------- */

/* Subnormal floats cost a microcode assist per operation on x86, and
 * weight decay leaves weights of unused filters down there, which slows a
 * trained model down measurably (commit history). The engine's compute runs
 * with them flushed to zero (FTZ) and read as zero (DAZ), which moves no
 * result by more than the smallest normal float, 1.2e-38, per term.
 * nn_fp_enter sets the mode on the calling thread and returns the old one
 * for nn_fp_leave, so callers' own arithmetic is untouched. */
unsigned nn_fp_enter(void);
void nn_fp_leave(unsigned saved);

#ifdef NN_X86
/* Whether the OS saves the vector state of XCR0 bits `need` (0x6: AVX;
 * 0xE6: AVX-512): without it, using the registers faults even though
 * cpuid lists the instructions. */
int nn__os_saves(uint64_t need);
#endif

/* ---- thread pool ---------------------------------------------------------- */

typedef struct nn_pool nn_pool;
/* A pool of n-1 worker threads plus the caller. */
nn_pool *nn_pool_new(int n);
void nn_pool_free(nn_pool *pool);
int nn_pool_size(const nn_pool *pool);
/* Run fn(ctx, task, thread) for task in [0, ntasks) on all threads and
 * wait. `thread` is in [0, nn_pool_size) and identifies per-thread scratch.
 * A NULL pool runs everything on the caller as thread 0. */
typedef void (*nn_task_fn)(void *ctx, int task, int thread);
void nn_pool_run(nn_pool *pool, int ntasks, nn_task_fn fn, void *ctx);

/* The pool when `work` (elements touched) is worth waking threads for,
 * else NULL: for a single face, fanning out costs more than it saves. */
static inline nn_pool *nn_pool_for(nn_pool *pool, size_t work)
{
    return work >= ((size_t)1 << 17) ? pool : NULL;
}

/* ---- GEMM ------------------------------------------------------------------ */

/*
 * The GEMM mode of the calling thread: a shape class (which kernel is
 * fastest depends on it, so each has its own, see gemm_choice.c) and
 * optionally NN_GEMM_BF16 (BF16 operands, FP32 accumulation, where the CPU
 * has it; else FP32). nn_net_forward and nn_net_backward set it for their
 * GEMMs, and nn_pool_run hands the caller's mode to its workers. Threads
 * start in NN_GEMM_BATCH. nn_gemm_set_mode returns the previous mode.
 */
enum { NN_GEMM_SINGLE = 0, NN_GEMM_BATCH = 1, NN_GEMM_TRAIN = 2, NN_GEMM_CLASSES = 3 };
enum { NN_GEMM_CLASS_MASK = 3, NN_GEMM_BF16 = 4 };
int nn_gemm_mode(void);
int nn_gemm_set_mode(int mode);

/*
 * C[M][N] = alpha * op(A)[M][K] * op(B)[K][N] + beta * C, row-major with
 * leading dimensions lda, ldb, ldc. op(X) = X or X^T (ta, tb non-zero).
 * beta == 0 overwrites C without reading it (NaNs in C do not propagate).
 * Single-threaded; callers parallelise above it or use nn_sgemm_mt.
 */
void nn_sgemm(int ta, int tb, int M, int N, int K, float alpha,
              const float *A, int lda, const float *B, int ldb,
              float beta, float *C, int ldc);
/* The same split over the pool's threads (by blocks of C). */
void nn_sgemm_mt(nn_pool *pool, int ta, int tb, int M, int N, int K, float alpha,
                 const float *A, int lda, const float *B, int ldb,
                 float beta, float *C, int ldc);
/* op(A) packed once for many products with different B (a layer's
 * weights against blocks of data): nn_sgemm_pack_a packs M x K op(A) into
 * buf (nn_sgemm_packed_size floats; A is not needed afterwards), and
 * nn_sgemm_packed computes C = alpha * op(A) op(B) + beta * C with it,
 * exactly as nn_sgemm would. With `reuse`, buf already holds this A from
 * an earlier call and only *pa is filled in. */
typedef struct nn_packed_a {
    const float *A, *packed;
    int ta, lda, M, K;
    const struct nn_gemm_kernel *kr; /* the kernel that packed it */
} nn_packed_a;
/* The kernel nn_sgemm_pack_a would pack with now: a caller keeping packed
 * copies across calls repacks when it changes (another shape class or
 * precision may have another kernel). */
const struct nn_gemm_kernel *nn_sgemm_pack_kernel(void);
size_t nn_sgemm_packed_size(int M, int K);
void nn_sgemm_pack_a(nn_packed_a *pa, int ta, int M, int K, const float *A, int lda, float *buf,
                     int reuse);
void nn_sgemm_packed(const nn_packed_a *pa, int tb, int N, float alpha, const float *B, int ldb,
                     float beta, float *C, int ldc);
/* op(B) = B packed ahead, for a product with A packed ahead whose B comes
 * from another pass anyway (Winograd's input transform): that pass packs
 * its rows as it makes them, saving a round trip of B through memory, and
 * in BF16 the separate conversion. nn_sgemm_pack_b_begin sets up *pb for a
 * K x N op(B) (K = pa's) in buf (nn_sgemm_packed_b_size floats), or returns
 * -1 where pa's product would not take B packed in one piece (K or N past
 * the kernel's blocks, M small enough not to pack) or would read B in place
 * (FP32 with one block of M: packing saves nothing); then use
 * nn_sgemm_packed. nn_sgemm_pack_b_rows packs rows [k0, k0+kn) of op(B),
 * src[(k - k0)*ld + j], every row exactly once (k0 even: BF16 pairs two
 * rows); nn_sgemm_packed_ab is nn_sgemm_packed with it, the same sums. */
typedef struct nn_packed_b {
    float *packed;
    size_t pstride; /* floats between panels; 0: K * NR */
    int K, N;
    const struct nn_gemm_kernel *kr;
} nn_packed_b;
int nn_sgemm_pack_b_begin(nn_packed_b *pb, const nn_packed_a *pa, int N, float *buf);
size_t nn_sgemm_packed_b_size(int K, int N);
void nn_sgemm_pack_b_rows(const nn_packed_b *pb, int k0, int kn, const float *src, int ld);
void nn_sgemm_packed_ab(const nn_packed_a *pa, const nn_packed_b *pb, float alpha, float beta,
                        float *C, int ldc);
/* A product's B^T kept packed, in BF16, by the pass that made B (Winograd's
 * V, from the forward pass to the weight gradient's product in backward),
 * in BF16 training only: the later product then reads it in place, with
 * no packing pass. The layout is the mode's kernel's packed B for all
 * K steps (the batch's tile slots) at once, so any run of them starting
 * at an even step is a packed B of its own.
 * nn_sgemm_bt_kept_ok says whether the mode's kernel takes an M x N x K
 * product that way (a BF16 kernel, one block of K and of N, M past the
 * small-M paths); nn_sgemm_bt_kept_size gives the floats a K x N op(B)
 * takes (0: the mode's kernel keeps none); nn_sgemm_bt_kept_begin sets up
 * *kb on them (-1: not a BF16 kernel); nn_sgemm_bt_kept_rows packs op(B)
 * = B^T for columns [j0, j0+jn) and steps [p0, p0+pn) from src[(j - j0)
 * * ld + p - p0], p0 even, pn even unless the run ends at K;
 * nn_sgemm_bt_kept_view makes *pb the steps [p0, p0+pn) for an M-row
 * product, or returns -1 where nn_sgemm_bt_kept_ok says no or the run
 * starts at an odd step or ends at one before K; nn_sgemm_packed_b
 * computes C = alpha * A pb + beta * C with A (M x K, not transposed)
 * packed as it goes: the same sums as nn_sgemm(0, 1, ...) on B's FP32
 * originals. */
typedef struct nn_kept_bt {
    float *buf;
    int K, N;
    const struct nn_gemm_kernel *kr;
} nn_kept_bt;
int nn_sgemm_bt_kept_ok(int M, int K, int N);
size_t nn_sgemm_bt_kept_size(int K, int N);
int nn_sgemm_bt_kept_begin(nn_kept_bt *kb, int K, int N, float *buf);
void nn_sgemm_bt_kept_rows(const nn_kept_bt *kb, int j0, int jn, int p0, int pn, const float *src,
                           int ld);
int nn_sgemm_bt_kept_view(nn_packed_b *pb, const nn_kept_bt *kb, int M, int p0, int pn);
void nn_sgemm_packed_b(int M, float alpha, const float *A, int lda, const nn_packed_b *pb,
                       float beta, float *C, int ldc);
/* Straightforward triple loop, the reference for tests. */
void nn_sgemm_naive(int ta, int tb, int M, int N, int K, float alpha,
                    const float *A, int lda, const float *B, int ldb,
                    float beta, float *C, int ldc);

/* ---- layers ------------------------------------------------------------------ */

typedef enum {
    NN_L_INPUT, NN_L_CONV, NN_L_MAXPOOL, NN_L_AVGPOOL, NN_L_GAP, NN_L_DENSE,
    NN_L_RELU, NN_L_DROPOUT, NN_L_BN, NN_L_FLATTEN, NN_L_SOFTMAX,
    NN_L_ADD, /* the end of a residual block: input + (projected) skip */
    NN_L_SE,  /* squeeze-and-excitation (k: hidden units) */
    NN_L_CROP, /* a window of the image: random in training, else centred */
    NN_L_KINDS
} nn_layer_kind;

typedef struct nn_layer nn_layer;

/* Per-call context handed to layer functions. */
typedef struct nn_ctx {
    nn_pool *pool;
    int train;        /* batch statistics, active dropout */
    uint64_t *rng;    /* for dropout masks */
    float **scratch;  /* per-thread scratch buffers ... */
    size_t scratch_len; /* ... of this many floats each */
    uint64_t params_gen; /* the net's, see nn_net */
} nn_ctx;

typedef struct nn_layer_ops {
    const char *name;
    /* floats of per-thread scratch needed for a batch of n */
    size_t (*scratch)(const nn_layer *l, int n);
    void (*forward)(nn_layer *l, const nn_ctx *c, const float *x, float *y, int n);
    /* dx may be NULL for the first layer. Accumulates parameter gradients. */
    void (*backward)(nn_layer *l, const nn_ctx *c, const float *x, const float *y,
                     const float *dy, float *dx, int n);
} nn_layer_ops;

enum { NN_PAD_VALID = 0, NN_PAD_SAME = 1 };

/* How a convolution is computed: AUTO picks Winograd for 3x3 stride-1
 * layers where it pays, im2col + GEMM otherwise; tests force one. */
enum { NN_CONV_AUTO = 0, NN_CONV_IM2COL, NN_CONV_WINO2, NN_CONV_WINO4 };

struct nn_layer {
    nn_layer_kind kind;
    const nn_layer_ops *ops;
    int line;                 /* spec line it came from */
    int in_c, in_h, in_w;     /* input geometry per image */
    int out_c, out_h, out_w;  /* output geometry per image */
    /* conv and pool */
    int k, stride, pad;       /* pad: NN_PAD_VALID or NN_PAD_SAME */
    int pad_t, pad_l;         /* resolved top/left padding (bottom/right follow) */
    int algo;                 /* conv: NN_CONV_* */
    /* dropout */
    float rate;
    /* batch norm */
    float eps, momentum;      /* running = momentum*running + (1-momentum)*batch */
    /* parameters: views into the net's flat buffers (NULL when none).
     * conv: w[out_c][in_c][k][k], b[out_c]; dense: w[out][in], b[out];
     * bn: w = gamma[c], b = beta[c]. */
    float *w, *b, *dw, *db;
    size_t nw, nb;
    float *mean, *var;        /* bn running statistics (views into state) */
    /* per-layer buffers owned by the net: bn batch stats, dropout masks,
     * a conv's Winograd-transformed weights */
    float *aux;
    size_t aux_len;           /* floats per image in aux (dropout mask) or total */
    int wino_m, wino_ut;      /* conv: tile size aux holds weights for (0 none),
                                 and whether wino_t holds their transposes */
    uint64_t wino_gen;        /* conv: the parameter generation they were made at */
    const struct nn_gemm_kernel *wino_kr; /* conv: ... and the kernel that packed them */
    float *wino_t;            /* conv: the transposes, allocated by the first
                                 backward pass that needs them */
    float *wino_v;            /* conv, BF16 training: the forward pass's V in
                                 BF16, packed for backward (conv_winograd.c) */
    size_t wino_v_cap;        /* its room, in floats */
    int wino_v_m, wino_v_n;   /* the tile size and batch it holds V for (0: none) */
    /* add (residual): the layer whose output is the skip, its geometry,
     * and the 1x1 projection (w[out_c][src_c], b[out_c], stride `stride`)
     * when it differs from the block's output; aux holds the skip's
     * gradient between the add's backward and the source's */
    int src, src_c, src_h, src_w;
    int skip_src;             /* some add reads this layer's output */
};

extern const nn_layer_ops nn_conv_ops, nn_maxpool_ops, nn_avgpool_ops, nn_gap_ops,
    nn_dense_ops, nn_relu_ops, nn_dropout_ops, nn_bn_ops, nn_flatten_ops, nn_crop_ops,
    nn_softmax_ops, nn_add_ops, nn_se_ops;

/* Widest input a squeeze-and-excitation layer takes (channels). */
#define NN_SE_MAX_C 4096

/* A squeeze-and-excitation layer's gate s[in_c] from one image's channel
 * means g[in_c]; h[k] receives the hidden units. The FP32 forward and the
 * INT8 pass (quant.c) share it. */
void nn__se_gate(const nn_layer *l, const float *g, float *h, float *s);
/* floats of an SE layer's aux per image of the batch */
size_t nn__se_aux_per_image(const nn_layer *l);

/* Residual add (layers/add.c): y = x + skip, or x + proj(skip) when the
 * add has a projection. Backward: dx = dy, the skip's gradient into dskip
 * (overwritten; NULL: not needed), projection gradients accumulated.
 * nn_add_proj describes the projection as a 1x1 conv layer sharing the
 * add's parameters, for the conv code and for scratch sizing. */
void nn_add_forward(nn_layer *l, const nn_ctx *c, const float *x, const float *skip, float *y, int n);
void nn_add_backward(nn_layer *l, const nn_ctx *c, const float *skip, const float *dy, float *dx,
                     float *dskip, int n);
void nn_add_proj(const nn_layer *l, nn_layer *conv);

/* Layer math as free functions, callable directly by tests. Shapes come
 * from the layer's geometry fields. */
void nn_conv_forward(nn_layer *l, const nn_ctx *c, const float *x, float *y, int n);
void nn_conv_backward(nn_layer *l, const nn_ctx *c, const float *x, const float *y,
                      const float *dy, float *dx, int n);
/* A conv and the ReLU after it in one pass over the data: forward writes
 * the conv's output y and the ReLU's, relu_y; backward takes dy at the
 * ReLU's output and relu_y, and never forms the gradient between them. */
void nn_conv_forward_relu(nn_layer *l, const nn_ctx *c, const float *x, float *y, float *relu_y,
                          int n);
void nn_conv_backward_relu(nn_layer *l, const nn_ctx *c, const float *x, const float *relu_y,
                           const float *dy, float *dx, int n);

/* Batch norm and the ReLU after it at once, as for convolutions above. */
void nn_bn_forward_relu(nn_layer *l, const nn_ctx *c, const float *x, float *y, float *relu_y,
                        int n);
void nn_bn_backward_relu(nn_layer *l, const nn_ctx *c, const float *x, const float *relu_y,
                         const float *dy, float *dx, int n);

/* Max pooling's backward; with `relu`, also that of a ReLU right before
 * the pool (whose output x is): dx is then the ReLU's input gradient. */
void nn_maxpool_backward_relu(nn_layer *l, const nn_ctx *c, const float *x, const float *y,
                              const float *dy, float *dx, int n, int relu);

/* The Winograd path (conv_winograd.c). nn_conv_wino_m: the tile size m
 * (2 or 4) to use for a batch of n, or 0 for im2col. relu_y: NULL, or the
 * output of a ReLU right after the conv whose mask dy still needs. */
int nn_conv_wino_m(const nn_layer *l, int n);
size_t nn_conv_wino_scratch(const nn_layer *l); /* floats per thread */
size_t nn_conv_wino_aux(const nn_layer *l);     /* floats of l->aux */
void nn_conv_wino_forward(nn_layer *l, const nn_ctx *c, const float *x, float *y, float *relu_y,
                          int n, int m);
/* Test hook: 0 stops BF16 training keeping V for backward (default 1). */
extern int nn__wino_keep_v;
/* Returns -1, having done nothing, when out of memory (then im2col can). */
int nn_conv_wino_backward(nn_layer *l, const nn_ctx *c, const float *x, const float *relu_y,
                          const float *dy, float *dx, int n, int m);

/* INT8 inference (quant.c). nn_net.q8 holds the calibrated activation
 * ranges (one per layer output, from nn_net_calibrate_int8 or a model
 * file's QNT8 section) and the quantized plan made from them. */
typedef struct nn_q8 nn_q8;
void nn__q8_free(nn_q8 *q);
/* The INT8 forward pass of n images already copied into act[0]. */
int nn__q8_forward(nn_net *net, const nn_ctx *c, int n);
/* Ranges for n layers (copied), replacing any; returns 0 or -1. */
int nn__q8_set_ranges(nn_net *net, const float *lo, const float *hi, int n);
/* The net's ranges and their count, or 0 when it has none. */
int nn__q8_ranges(const nn_net *net, const float **lo, const float **hi);
/* Which 3x3 convolutions of later INT8 plans run as integer Winograd
 * (0 none, 1 the default choice, 2 all it can run): the outputs are the
 * same bit for bit, so this is for tests and measurements. */
void nn__q8_set_winograd(int mode);
/* Layers the INT8 plan built by the last forward runs in float (for
 * tests); -1 when there is no plan. */
int nn__q8_float_steps(const nn_net *net);
/* Times INT8 passes of a mid-gray face with each of the n kernels and
 * sets the fastest for this net (nn_net_set_int8_kernel); 0 or -1.
 * nn_net_use_faster_precision does this with the CPU's kernels. */
struct nn_q8_kernel;
int nn__q8_pick_kernel(nn_net *net, const struct nn_q8_kernel *const *ks, int n);

struct nn_net {
    int n_layers;
    nn_layer *layers;         /* layers[0] is the input */
    char *spec;               /* normalized spec text */
    int n_classes;
    char (*classes)[NN_NAME_MAX];
    nn_preproc pre;
    nn_meta meta;
    float *params, *grads;    /* n_params each */
    /* Bumped whenever the parameters may have changed (optimizer steps,
     * nn_net_params, nn_net_init), so caches derived from them (Winograd
     * weights) know to be rebuilt without comparing every weight. */
    uint64_t params_gen;
    size_t n_params;
    float *state;             /* bn running mean/var */
    size_t n_state;
    /* run-time buffers, sized for cap_n images */
    int cap_n;
    int last_n, last_train;
    float **act;              /* act[i]: output of layer i (act[0] = input copy) */
    float **dact;             /* gradients w.r.t. act[i] */
    float **scratch;          /* per-thread scratch */
    size_t scratch_len;
    int threads;
    nn_pool *pool;
    uint64_t rng;
    nn_precision precision;   /* FP32, BF16 (training GEMMs) or INT8 (inference) */
    nn_q8 *q8;                /* NULL unless calibrated for INT8 */
    nn_calib calib;           /* applied by inference passes (calib.c) */
    double *layer_seconds;    /* NULL, or nn_net_time_layers' sums */
};

/* Inference's calibrated softmax: when the net has a calibration and ends
 * in softmax, computes its last layer from act[L-2] through the calibration
 * (using dact[L-2], idle in inference, for the calibrated logits) and
 * returns 1; otherwise 0 (the layer runs as usual). */
int nn_calib_forward(nn_net *net, int n);

/* xorshift64* random numbers */
static inline uint64_t nn_rand_u64(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}
static inline float nn_rand_uniform(uint64_t *s) /* [0,1) */
{
    return (float)(nn_rand_u64(s) >> 40) * (1.0f / 16777216.0f);
}
float nn_rand_normal(uint64_t *s);

#endif /* NN_IMPL_H */
