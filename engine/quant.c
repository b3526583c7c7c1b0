/*
 * quant.c - INT8 inference: post-training quantization of a trained net,
 * calibration of its activation ranges, and the quantized forward pass.
 *
 * Scheme. Weights: symmetric int8 per output channel, scale max|w| / 127,
 * made from the FP32 weights whenever they change (they stay the master
 * copy; only the activation ranges are stored in the model file).
 * Activations: u8 with a zero point, scale (hi - lo) / 255 over each
 * layer output's calibrated range: the calibration images' [min, max]
 * (lo clamped to <= 0, so zero and padding are exact; after a ReLU the
 * zero point is 0), narrowed to where the expected squared error of
 * rounding plus clipping is least (see best_clip).
 *
 * Plan. A convolution or dense layer, with the batch norm and ReLU that
 * follow it folded in, is one quantized GEMM (kernels/q8.h) on NHWC u8
 * activations. Its output is requantized straight to u8 when the next
 * quantized layer can be reached through layers that work on u8 as well
 * (max pooling, which commutes with the quantization; global average
 * pooling and squeeze-and-excitation, which requantize; dropout and
 * flatten, which do nothing at inference); otherwise it is written in
 * float NCHW and the layers after it run in FP32 as usual (the softmax at
 * the end, say). Dense weights are
 * permuted once so that they read NHWC activations in place.
 *
 * In INT8 mode nn_net_layer_output shows only the layers that ran in
 * float: the u8 activations never exist as floats.
 */
#include "nn_impl.h"
#include "kernels/q8.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#ifdef NN_X86
#include <cpuid.h>
#endif

/* Batches of up to this many images run each convolution as one GEMM
 * (plan_gemm): the detector classifies a frame's few faces together. */
#define Q8_JOINT 4

/* ---- kernel choice --------------------------------------------------------- */

static const nn_q8_kernel *g_q8;
static pthread_once_t g_q8_once = PTHREAD_ONCE_INIT;

const nn_q8_kernel *nn__q8_kernel_named(const char *name)
{
    if (!strcmp(name, "ref"))
        return &nn_q8_kernel_ref;
#ifdef NN_X86
    __builtin_cpu_init();
    if (!strcmp(name, "vnni") && __builtin_cpu_supports("avx512f") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512vnni") && nn__os_saves(0xE6))
        return &nn_q8_kernel_vnni;
    if (!strcmp(name, "avx2") && __builtin_cpu_supports("avx2") &&
        __builtin_cpu_supports("fma") && nn__os_saves(0x6))
        return &nn_q8_kernel_avx2;
#endif
    return NULL;
}

static void q8_pick(void)
{
    const char *e = getenv("NN_INT8_KERNEL");
    const nn_q8_kernel *k = e ? nn__q8_kernel_named(e) : NULL;
    if (!k)
        k = nn__q8_kernel_named("vnni");
    if (!k)
        k = nn__q8_kernel_named("avx2");
    g_q8 = k ? k : &nn_q8_kernel_ref;
}

static const nn_q8_kernel *q8_kernel(void)
{
    pthread_once(&g_q8_once, q8_pick);
    return g_q8;
}

const char *nn_int8_kernel_name(void) { return q8_kernel()->name; }

/* The INT8 kernels this CPU runs, fastest first by cpuid's guess. */
static int q8_kernels_here(const nn_q8_kernel **out)
{
    int n = 0;
    const char *names[] = {"vnni", "avx2"};
    for (int i = 0; i < 2; i++)
        if ((out[n] = nn__q8_kernel_named(names[i])))
            n++;
    return n;
}

/* ---- the plan ---------------------------------------------------------------- */

/* A u8 NHWC activation: c channels stored in cp (a multiple of 4) bytes
 * per pixel, inside a border of the zero point for the convolution that
 * reads it. */
typedef struct q8_tensor {
    int c, h, w, cp;
    int pad_t, pad_l, hp, wp;
    float scale;
    int zp;
    size_t img; /* bytes per image */
    uint8_t *buf;
} q8_tensor;

enum { Q_QUANT, Q_GEMM, Q_MAXPOOL, Q_GAP, Q_SE, Q_FLOAT };

typedef struct q8_step {
    int kind;
    int layer, last;  /* layers covered; a float output goes to act[last] */
    int src, dst;     /* tensor indices, -1 when float */
    /* Q_GEMM */
    int dense, P, taps, cq, nb, oc, relu;
    int joint;        /* conv with u8 output: batches up to this many images run as one GEMM */
    /* integer Winograd (q8.h) instead of the GEMM: T tiles an image */
    int wino, T, cv;
    int16_t *u;
    int32_t *tin, *tout;
    uint8_t *tmask;
    int8_t *w;
    int16_t *w16;     /* w widened, for a `wide` kernel */
    float *scale, *bias, lo;
    int32_t *tap, *pix, *opix;
    float *tmp;       /* float NHWC output before its transpose to NCHW; Q_SE: scratch */
    int mid;          /* Q_SE fused with a max pool: the pooled, not yet gated, tensor */
} q8_step;

struct nn_q8 {
    int n_ranges;
    float *lo, *hi;   /* calibrated range of each layer's output */
    /* the plan, built from the ranges and the weights of params_gen */
    int built, cap;
    uint64_t gen;
    q8_step *steps;
    int n_steps;
    q8_tensor *t;
    int n_t;
    int16_t *in16;    /* a `wide` kernel's input widened: one image, or a dense layer's batch */
    size_t in16_len;  /* elements */
    int wino_mode;    /* the g_wino_mode the plan was built with */
    const nn_q8_kernel *k;      /* this net's kernel; NULL: the process's (q8_kernel) */
    const nn_q8_kernel *plan_k; /* the kernel the plan was built for */
    size_t wscr_each; /* Winograd scratch bytes a thread (0: no Winograd step) */
    uint8_t *wscr;    /* ... for wscr_threads threads */
    int wscr_threads;
};

/* Which 3x3 convolutions run as integer Winograd where the kernel has it:
 * WINO_AUTO those reading at least 16 channels (fewer waste most of the
 * 16-channel groups its transforms work in: a net's first layer on one
 * gray channel is faster as a GEMM), WINO_ALL every one (for tests),
 * WINO_OFF none. NN_INT8_WINOGRAD=0|all sets it at start; the result is
 * the same bit for bit either way. */
enum { WINO_OFF, WINO_AUTO, WINO_ALL };
static int g_wino_mode = -1;
static pthread_once_t g_wino_once = PTHREAD_ONCE_INIT;

static void wino_pick(void)
{
    const char *e = getenv("NN_INT8_WINOGRAD");
    g_wino_mode = !e ? WINO_AUTO : !strcmp(e, "0") ? WINO_OFF : !strcmp(e, "all") ? WINO_ALL : WINO_AUTO;
}

static int wino_mode(void)
{
    pthread_once(&g_wino_once, wino_pick);
    return g_wino_mode;
}

void nn__q8_set_winograd(int mode)
{
    pthread_once(&g_wino_once, wino_pick);
    g_wino_mode = mode < WINO_OFF || mode > WINO_ALL ? WINO_AUTO : mode;
}

static const nn_q8_kernel *net_kernel(const nn_q8 *q) { return q->k ? q->k : q8_kernel(); }

/* Whether conv layer l, reading cp bytes a pixel, runs as Winograd (when
 * its output is u8) with the plan's kernel. The 4 acc of q8.h must fit in
 * int32. */
static int wino_fits(const nn_q8 *q, const nn_layer *l, int cp)
{
    int mode = wino_mode();
    return q->plan_k->wino && l->kind == NN_L_CONV && l->k == 3 && l->stride == 1 &&
           mode != WINO_OFF && cp <= 1840 && (mode == WINO_ALL || cp >= 16);
}

static void free_plan(nn_q8 *q)
{
    for (int i = 0; i < q->n_steps; i++) {
        q8_step *s = &q->steps[i];
        nn_free(s->w);
        nn_free(s->w16);
        nn_free(s->scale);
        nn_free(s->bias);
        nn_free(s->tap);
        nn_free(s->pix);
        nn_free(s->opix);
        nn_free(s->tmp);
        nn_free(s->u);
        nn_free(s->tin);
        nn_free(s->tout);
        nn_free(s->tmask);
    }
    for (int i = 0; i < q->n_t; i++)
        nn_free(q->t[i].buf);
    free(q->steps);
    free(q->t);
    nn_free(q->in16);
    q->in16 = NULL;
    q->in16_len = 0;
    nn_free(q->wscr);
    q->wscr = NULL;
    q->wscr_each = 0;
    q->wscr_threads = 0;
    q->steps = NULL;
    q->t = NULL;
    q->n_steps = q->n_t = 0;
    q->built = 0;
}

void nn__q8_free(nn_q8 *q)
{
    if (!q)
        return;
    free_plan(q);
    free(q->lo);
    free(q->hi);
    free(q);
}

/* Scale and zero point for values in [lo, hi]. */
static void act_params(float lo, float hi, float *scale, int *zp)
{
    if (lo > 0.0f)
        lo = 0.0f;
    if (hi < 0.0f)
        hi = 0.0f;
    float s = (hi - lo) / 255.0f;
    if (!(s > 0.0f))
        s = 1.0f;
    int z = (int)nearbyintf(-lo / s);
    *scale = s;
    *zp = z < 0 ? 0 : z > 255 ? 255 : z;
}

/* The next layer after i that does something at inference (dropout and
 * flatten do not), or n_layers. */
static int next_real(const nn_net *net, int i)
{
    while (i < net->n_layers &&
           (net->layers[i].kind == NN_L_DROPOUT || net->layers[i].kind == NN_L_FLATTEN))
        i++;
    return i;
}

/* Whether the output of layer `last` can stay u8: a quantized layer is
 * reached through layers that work on u8 too. */
static int u8_reaches_gemm(const nn_net *net, int last)
{
    for (int i = next_real(net, last + 1); i < net->n_layers; i = next_real(net, i + 1)) {
        nn_layer_kind k = net->layers[i].kind;
        if (k == NN_L_CONV || k == NN_L_DENSE)
            return 1;
        if (k != NN_L_MAXPOOL && k != NN_L_GAP && k != NN_L_SE)
            return 0;
    }
    return 0;
}

/* Appends a tensor for c x h x w values in [lo, hi] that layer `consumer`
 * reads; returns its index or -1. */
static int add_tensor(nn_q8 *q, const nn_net *net, int c, int h, int w, int consumer, float lo,
                      float hi)
{
    q8_tensor *t = &q->t[q->n_t];
    memset(t, 0, sizeof *t);
    t->c = c;
    t->h = h;
    t->w = w;
    t->cp = (c + 3) & ~3;
    t->hp = h;
    t->wp = w;
    if (consumer < net->n_layers && net->layers[consumer].kind == NN_L_CONV) {
        const nn_layer *l = &net->layers[consumer];
        t->pad_t = l->pad_t;
        t->pad_l = l->pad_l;
        /* rows and columns the last output window reaches: Winograd's
         * last 4x4 window when the output's height or width is odd */
        int need_h = (l->out_h - 1) * l->stride + l->k, need_w = (l->out_w - 1) * l->stride + l->k;
        if (wino_fits(q, l, (c + 3) & ~3)) {
            need_h = 2 * ((l->out_h + 1) / 2) + 2;
            need_w = 2 * ((l->out_w + 1) / 2) + 2;
        }
        t->hp = need_h > h + l->pad_t ? need_h : h + l->pad_t;
        t->wp = need_w > w + l->pad_l ? need_w : w + l->pad_l;
    }
    act_params(lo, hi, &t->scale, &t->zp);
    t->img = (size_t)t->hp * t->wp * t->cp;
    size_t bytes;
    if (nn_mul_size(t->img, (size_t)q->cap, &bytes) < 0)
        return nn_fail("INT8 activations too large");
    if (!(t->buf = nn_alloc(bytes + 64)))
        return -1;
    memset(t->buf, t->zp, bytes + 64); /* the border stays the zero point */
    return q->n_t++;
}

/* Tensor t takes tensor src's scale and zero point (max pooling keeps
 * its input's), its border refilled with the new zero point. */
static void keep_scale(nn_q8 *q, int t, int src)
{
    q8_tensor *d = &q->t[t];
    d->scale = q->t[src].scale;
    d->zp = q->t[src].zp;
    memset(d->buf, d->zp, d->img * (size_t)q->cap + 64);
}

static size_t origin(const q8_tensor *t) /* byte offset of pixel (0, 0) */
{
    return ((size_t)t->pad_t * t->wp + t->pad_l) * t->cp;
}

/* Quantizes the weights of conv/dense layer l (and the batch norm `bn`
 * after it, if any) into step s reading tensor `in` (geometry of the
 * arriving data), writing scale and bias for an output of (oscale, ozp),
 * or float when oscale is 0. */
static int quantize_weights(q8_step *s, const nn_q8_kernel *k, const nn_layer *l,
                            const nn_layer *bn, const q8_tensor *in, float oscale, int ozp)
{
    const int oc = l->out_c, taps = s->taps, cq = s->cq;
    const size_t K = l->nw / (size_t)oc, bb = nn_q8_block_bytes(taps, cq);
    if (s->dense ? K != (size_t)in->c * in->h * in->w : in->c != l->in_c)
        return nn_fail("line %d: INT8 input geometry does not match the layer", l->line);
    s->nb = (oc + 15) / 16;
    s->oc = oc;
    if (!(s->w = nn_zalloc(bb * s->nb)) || !(s->scale = nn_zalloc(sizeof(float) * 16 * s->nb)) ||
        !(s->bias = nn_zalloc(sizeof(float) * 16 * s->nb)))
        return -1;
    for (int o = 0; o < oc; o++) {
        const float *row = l->w + (size_t)o * K;
        float mx = 0.0f;
        for (size_t i = 0; i < K; i++)
            mx = fmaxf(mx, fabsf(row[i]));
        double sw = mx > 0.0f ? mx / 127.0 : 1.0;
        int8_t *blk = s->w + (size_t)(o / 16) * bb;
        int j = o % 16;
        long wsum = 0;
        for (size_t i = 0; i < K; i++) {
            long v = lrint(row[i] / sw);
            v = v > 127 ? 127 : v < -127 ? -127 : v;
            wsum += v;
            /* logical index i -> input channel and tap in NHWC order */
            int ic, t;
            if (s->dense) { /* i = c*h*w + y*w + x of the arriving tensor */
                int hw = in->h * in->w, c = (int)(i / (size_t)hw), pix = (int)(i % (size_t)hw);
                ic = pix * in->cp + c;
                t = 0;
            } else { /* i = (c*k + ky)*k + kx */
                ic = (int)(i / (size_t)taps);
                t = (int)(i % (size_t)taps);
            }
            blk[((size_t)t * cq + ic / 4) * 64 + 4 * j + ic % 4] = (int8_t)v;
        }
        /* y = s_in*sw*(acc - zp_in*wsum) + b, then the batch norm */
        double a = (double)in->scale * sw, b = l->b[o] - a * in->zp * (double)wsum;
        if (bn) {
            double g = bn->w[o] * (1.0 / sqrt((double)bn->var[o] + bn->eps));
            a *= g;
            b = g * (b - bn->mean[o]) + bn->b[o];
        }
        if (oscale > 0.0f) {
            a /= oscale;
            b = b / oscale + ozp;
        }
        s->scale[o] = (float)a;
        s->bias[o] = (float)b;
    }
    if (k->wide && !s->wino) { /* widened once here, not on every use */
        if (!(s->w16 = nn_alloc(sizeof(int16_t) * bb * s->nb)))
            return -1;
        nn_q8_widen_s8(s->w16, s->w, bb * s->nb);
    }
    return 0;
}

/* Winograd's tile tables for conv step s (l, from `in` to `out`): the
 * 2x2 output tiles of s->joint images, row by row. */
static int plan_wino(nn_q8 *q, q8_step *s, const nn_layer *l, const q8_tensor *in,
                     const q8_tensor *out)
{
    const int th = (l->out_h + 1) / 2, tw = (l->out_w + 1) / 2;
    s->T = th * tw;
    s->cv = (in->cp + 15) & ~15;
    size_t n = (size_t)s->T * s->joint;
    if (!(s->tin = nn_alloc(sizeof(int32_t) * n)) || !(s->tout = nn_alloc(sizeof(int32_t) * n)) ||
        !(s->tmask = nn_alloc(n)))
        return -1;
    for (int j = 0; j < s->joint; j++)
        for (int t = 0; t < s->T; t++) {
            int ty = t / tw, tx = t % tw;
            size_t k = (size_t)j * s->T + t;
            s->tin[k] = (int32_t)(j * in->img + ((size_t)2 * ty * in->wp + 2 * tx) * in->cp);
            s->tout[k] = (int32_t)(j * out->img + origin(out) + ((size_t)2 * ty * out->wp + 2 * tx) * out->cp);
            s->tmask[k] = (uint8_t)((2 * tx + 1 < l->out_w) | (2 * ty + 1 < l->out_h) << 1);
        }
    size_t each = (nn_q8_wino_scratch(s->cv) + 63) & ~(size_t)63;
    if (each > q->wscr_each)
        q->wscr_each = each;
    return 0;
}

/* A quantized GEMM over layers [i, last] (conv or dense, then perhaps bn,
 * relu) reading tensor src; *dst_out receives its u8 output tensor or -1
 * (float output). Returns 0 or -1. */
static int plan_gemm(nn_q8 *q, const nn_net *net, int i, int last, int has_bn, int relu, int src,
                     int *dst_out)
{
    const nn_layer *l = &net->layers[i];
    q8_step *s = &q->steps[q->n_steps];
    memset(s, 0, sizeof *s);
    s->kind = Q_GEMM;
    s->layer = i;
    s->last = last;
    s->src = src;
    s->relu = relu;
    s->dense = l->kind == NN_L_DENSE;
    const q8_tensor *in = &q->t[src];
    int dst = -1;
    if (u8_reaches_gemm(net, last)) {
        const nn_layer *o = &net->layers[last];
        dst = add_tensor(q, net, o->out_c, o->out_h, o->out_w, next_real(net, last + 1),
                         q->lo[last], q->hi[last]);
        if (dst < 0)
            return -1;
    }
    s->dst = dst;
    *dst_out = dst;
    const q8_tensor *out = dst >= 0 ? &q->t[dst] : NULL;
    s->lo = out && relu ? (float)out->zp : 0.0f;
    /* the kernels take 32-bit offsets: a dense layer's span the whole batch */
    size_t span = (s->dense ? (size_t)q->cap : 1) * (in->img > (out ? out->img : 0) ? in->img : out->img);
    if (span >= ((size_t)1 << 31) || (!out && (size_t)l->out_c * l->out_h * l->out_w >= ((size_t)1 << 31)))
        return nn_fail("line %d: too large for INT8 (batch of %d)", l->line, q->cap);
    if (s->dense) {
        s->taps = 1;
        s->cq = (int)((size_t)in->h * in->w * in->cp / 4);
        s->P = q->cap; /* one pixel per image */
    } else {
        s->taps = l->k * l->k;
        s->cq = in->cp / 4;
        s->P = l->out_h * l->out_w;
    }
    /* A convolution into a u8 tensor runs a small batch (the detector's
     * few faces a frame) as one GEMM over all its images' pixels: one
     * pool wake-up and one pass over the weights instead of one per image.
     * Its pixel tables hold the images one after another. */
    s->joint = !s->dense && out ? (q->cap < Q8_JOINT ? q->cap : Q8_JOINT) : 1;
    if ((size_t)s->joint * span >= ((size_t)1 << 31))
        s->joint = 1;
    if (!(s->tap = nn_alloc(sizeof(int32_t) * s->taps)) ||
        !(s->pix = nn_alloc(sizeof(int32_t) * s->P * s->joint)) ||
        !(s->opix = nn_alloc(sizeof(int32_t) * s->P * s->joint)))
        return -1;
    if (s->dense) {
        s->tap[0] = 0;
        for (int p = 0; p < s->P; p++) {
            s->pix[p] = (int32_t)(p * in->img);
            s->opix[p] = (int32_t)(out ? p * out->img + origin(out) : (size_t)p * l->out_c);
        }
    } else {
        for (int t = 0; t < s->taps; t++)
            s->tap[t] = (int32_t)(((t / l->k) * in->wp + t % l->k) * in->cp);
        for (int p = 0; p < s->P; p++) {
            int oy = p / l->out_w, ox = p % l->out_w;
            s->pix[p] = (int32_t)(((size_t)oy * l->stride * in->wp + (size_t)ox * l->stride) * in->cp);
            s->opix[p] = (int32_t)(out ? origin(out) + ((size_t)oy * out->wp + ox) * out->cp
                                       : (size_t)p * l->out_c);
        }
        for (int j = 1; j < s->joint; j++)
            for (int p = 0; p < s->P; p++) {
                s->pix[(size_t)j * s->P + p] = (int32_t)(j * in->img) + s->pix[p];
                s->opix[(size_t)j * s->P + p] = (int32_t)(j * out->img) + s->opix[p];
            }
        if (!out && s->P > 1 &&
            !(s->tmp = nn_alloc(sizeof(float) * (size_t)s->P * l->out_c)))
            return -1;
    }
    s->wino = out && wino_fits(q, l, in->cp);
    if (s->wino && plan_wino(q, s, l, in, out) < 0)
        return -1;
    if (quantize_weights(s, q->plan_k, l, has_bn ? &net->layers[i + 1] : NULL, in,
                         out ? out->scale : 0.0f, out ? out->zp : 0) < 0)
        return -1;
    if (s->wino) {
        if (!(s->u = nn_alloc(sizeof(int16_t) * (size_t)s->nb * 16 * s->cv * 16)))
            return -1;
        nn_q8_wino_weights(s->u, s->w, s->cq, s->nb, s->cv);
    }
    size_t wide = in->img * (size_t)(s->dense ? q->cap : s->joint);
    if (q->plan_k->wide && !s->wino && wide > q->in16_len)
        q->in16_len = wide;
    q->n_steps++;
    return 0;
}

/* Squeeze-and-excitation at layer i on u8 tensor `src`, fused with a max
 * pool or global average pool right after it (run_se); *i moves to the
 * last layer covered. Returns the output tensor or -1. */
static int plan_se(nn_q8 *q, const nn_net *net, int src, int *i)
{
    const int first = *i, next = next_real(net, first + 1);
    const nn_layer *l = &net->layers[first];
    int last = first, mid = -1;
    if (next < net->n_layers &&
        (net->layers[next].kind == NN_L_GAP || net->layers[next].kind == NN_L_MAXPOOL))
        last = next;
    const nn_layer *o = &net->layers[last];
    if (o->kind == NN_L_MAXPOOL) { /* the pooled values, in the SE input's scale */
        if ((mid = add_tensor(q, net, o->out_c, o->out_h, o->out_w, net->n_layers, 0.0f, 0.0f)) < 0)
            return -1;
        keep_scale(q, mid, src);
    }
    int dst = add_tensor(q, net, o->out_c, o->out_h, o->out_w, next_real(net, last + 1),
                         q->lo[last], q->hi[last]);
    if (dst < 0)
        return -1;
    q8_step *s = &q->steps[q->n_steps++];
    *s = (q8_step){.kind = Q_SE, .layer = first, .last = last, .src = src, .dst = dst, .mid = mid};
    /* per image: means, gates, multipliers and offsets (float), sums (int32) */
    if (!(s->tmp = nn_alloc(sizeof(float) * 5 * (size_t)l->in_c + sizeof(float) * l->k)))
        return -1;
    *i = last;
    return dst;
}

static int build_plan(nn_q8 *q, nn_net *net, int cap)
{
    free_plan(q);
    q->plan_k = net_kernel(q);
    const int L = net->n_layers;
    /* at most two steps and one tensor per layer, plus the first */
    if (!(q->steps = calloc((size_t)2 * L, sizeof *q->steps)) ||
        !(q->t = calloc((size_t)2 * L, sizeof *q->t)))
        goto fail;
    q->cap = cap;
    int cur = -1; /* the u8 tensor holding the data, or -1: float in act[i-1] */
    for (int i = 1; i < L; i++) {
        const nn_layer *l = &net->layers[i];
        if (l->kind == NN_L_CONV || l->kind == NN_L_DENSE) {
            int last = i, has_bn = 0, relu = 0;
            if (last + 1 < L && net->layers[last + 1].kind == NN_L_BN) {
                has_bn = 1;
                last++;
            }
            if (last + 1 < L && net->layers[last + 1].kind == NN_L_RELU) {
                relu = 1;
                last++;
            }
            if (cur < 0) { /* quantize the float input */
                const nn_layer *p = &net->layers[i - 1];
                cur = add_tensor(q, net, p->out_c, p->out_h, p->out_w, i, q->lo[i - 1],
                                 q->hi[i - 1]);
                if (cur < 0)
                    goto fail;
                q->steps[q->n_steps++] = (q8_step){.kind = Q_QUANT, .layer = i - 1,
                                                   .last = i - 1, .src = -1, .dst = cur};
            }
            if (plan_gemm(q, net, i, last, has_bn, relu, cur, &cur) < 0) {
                q->n_steps++; /* so free_plan frees its partial buffers */
                goto fail;
            }
            i = last;
        } else if (cur >= 0 && l->kind == NN_L_SE) {
            if ((cur = plan_se(q, net, cur, &i)) < 0)
                goto fail;
        } else if (cur >= 0 && (l->kind == NN_L_MAXPOOL || l->kind == NN_L_GAP)) {
            int gap = l->kind == NN_L_GAP;
            int dst = add_tensor(q, net, l->out_c, l->out_h, l->out_w, next_real(net, i + 1),
                                 gap ? q->lo[i] : 0.0f, gap ? q->hi[i] : 0.0f);
            if (dst < 0)
                goto fail;
            if (!gap)
                keep_scale(q, dst, cur);
            q->steps[q->n_steps++] = (q8_step){.kind = gap ? Q_GAP : Q_MAXPOOL, .layer = i,
                                               .last = i, .src = cur, .dst = dst};
            cur = dst;
        } else if (cur >= 0) { /* u8 data only ever meets these (u8_reaches_gemm) */
            if (l->kind != NN_L_DROPOUT && l->kind != NN_L_FLATTEN) {
                nn_fail("line %d: INT8 plan has u8 data for a %s layer", l->line, l->ops->name);
                goto fail;
            }
        } else {
            q->steps[q->n_steps++] = (q8_step){.kind = Q_FLOAT, .layer = i, .last = i,
                                               .src = -1, .dst = -1};
        }
    }
    if (q->in16_len && !(q->in16 = nn_alloc(sizeof(int16_t) * q->in16_len)))
        goto fail;
    q->gen = net->params_gen;
    q->wino_mode = wino_mode();
    q->built = 1;
    return 0;
fail:
    free_plan(q);
    return -1;
}

/* ---- running it ----------------------------------------------------------------- */

typedef struct gemm_job {
    nn_q8_gemm g;
    const nn_q8_kernel *k;
    int by_pixel, tasks;
} gemm_job;

typedef struct wino_job {
    nn_q8_wino g;
    const nn_q8_kernel *k;
    int by_tile, tasks;
    uint8_t *scratch;
    size_t each;
} wino_job;

static void wino_task(void *arg, int task, int thread)
{
    wino_job *j = arg;
    void *scr = j->scratch + (size_t)thread * j->each;
    if (j->by_tile) {
        int t0 = j->g.T * task / j->tasks, t1 = j->g.T * (task + 1) / j->tasks;
        if (t0 < t1)
            j->k->wino(&j->g, 0, j->g.nb, t0, t1, scr);
    } else {
        int b0 = j->g.nb * task / j->tasks, b1 = j->g.nb * (task + 1) / j->tasks;
        if (b0 < b1)
            j->k->wino(&j->g, b0, b1, 0, j->g.T, scr);
    }
}

/* A Winograd step: every image's tiles, the batch's together when it is
 * small (joint), split between threads by tiles when each gets a good
 * share of them, else by output blocks (each thread then transforms all
 * the tiles' inputs: few, as the last layers of a face net have). */
static void run_wino(nn_q8 *q, const nn_ctx *c, const q8_step *s, int n)
{
    const q8_tensor *in = &q->t[s->src], *out = &q->t[s->dst];
    const int joint = n <= s->joint;
    wino_job j = {.g = {
        .tin = s->tin, .tout = s->tout, .tmask = s->tmask, .T = joint ? n * s->T : s->T,
        .cp = in->cp, .cv = s->cv, .row = in->wp * in->cp, .orow = out->wp * out->cp, .opx = out->cp,
        .u = s->u, .nb = s->nb, .oc = s->oc, .scale = s->scale, .bias = s->bias, .lo = s->lo,
    }, .k = q->plan_k, .scratch = q->wscr, .each = q->wscr_each};
    size_t work = (size_t)j.g.T * 16 * s->cv * s->nb * 16;
    nn_pool *pool = nn_pool_for(c->pool, work / 16);
    j.tasks = nn_pool_size(pool);
    j.by_tile = j.g.T >= 12 * j.tasks || s->nb < 2 * j.tasks;
    for (int img = 0; img < (joint ? 1 : n); img++) {
        j.g.in = in->buf + (size_t)img * in->img;
        j.g.out8 = out->buf + (size_t)img * out->img;
        if (j.tasks > 1)
            nn_pool_run(pool, j.tasks, wino_task, &j);
        else
            wino_task(&j, 0, 0);
    }
}

static void gemm_task(void *arg, int task, int thread)
{
    gemm_job *j = arg;
    const nn_q8_kernel *k = j->k;
    (void)thread;
    if (j->by_pixel) { /* chunks of 24 pixels: whole tiles of 6 or 8 */
        int tiles = (j->g.P + 23) / 24;
        int p0 = 24 * (tiles * task / j->tasks), p1 = 24 * (tiles * (task + 1) / j->tasks);
        if (p1 > j->g.P)
            p1 = j->g.P;
        if (p0 < p1)
            k->gemm(&j->g, 0, j->g.nb, p0, p1);
    } else {
        int b0 = j->g.nb * task / j->tasks, b1 = j->g.nb * (task + 1) / j->tasks;
        if (b0 < b1)
            k->gemm(&j->g, b0, b1, 0, j->g.P);
    }
}

static void run_gemm(nn_q8 *q, nn_net *net, const nn_ctx *c, const q8_step *s, int n)
{
    const q8_tensor *in = &q->t[s->src];
    const q8_tensor *out = s->dst >= 0 ? &q->t[s->dst] : NULL;
    const nn_layer *l = &net->layers[s->layer];
    gemm_job j = {.g = {
        .pix = s->pix, .tap = s->tap, .taps = s->taps, .cq = s->cq, .w = s->w, .nb = s->nb,
        .oc = s->oc, .scale = s->scale, .bias = s->bias, .lo = s->lo, .relu = s->relu,
        .opix = s->opix, .w16 = s->w16,
    }, .k = q->plan_k};
    const int wide = q->plan_k->wide;
    const int joint = !s->dense && n <= s->joint; /* the batch as one GEMM */
    int images = s->dense || joint ? 1 : n;
    j.g.P = s->dense ? n : joint ? n * s->P : s->P;
    size_t work = (size_t)j.g.P * s->nb * 16 * s->taps * s->cq;
    nn_pool *pool = nn_pool_for(c->pool, work / 16);
    j.tasks = nn_pool_size(pool);
    j.by_pixel = j.g.P >= 48 * j.tasks || s->nb < 2 * j.tasks;
    for (int img = 0; img < images; img++) {
        j.g.in = in->buf + (s->dense ? 0 : (size_t)img * in->img);
        if (wide) { /* the input once per image (or batch), not per tap and block */
            nn_q8_widen_u8(q->in16, j.g.in, s->dense || joint ? in->img * (size_t)n : in->img);
            j.g.in16 = q->in16;
        }
        float *yf = net->act[s->last] + (size_t)img * l->out_c * s->P;
        if (out) {
            j.g.out8 = out->buf + (s->dense ? 0 : (size_t)img * out->img);
            j.g.outf = NULL;
        } else {
            j.g.out8 = NULL;
            j.g.outf = s->tmp ? s->tmp : (s->dense ? net->act[s->last] : yf);
        }
        if (j.tasks > 1)
            nn_pool_run(pool, j.tasks, gemm_task, &j);
        else
            j.k->gemm(&j.g, 0, j.g.nb, 0, j.g.P);
        if (s->tmp) /* NHWC -> NCHW */
            for (int p = 0; p < s->P; p++)
                for (int o = 0; o < l->out_c; o++)
                    yf[(size_t)o * s->P + p] = s->tmp[(size_t)p * l->out_c + o];
    }
}

static void run_quant(nn_q8 *q, nn_net *net, const q8_step *s, int n)
{
    const q8_tensor *t = &q->t[s->dst];
    const float *x = net->act[s->layer];
    const float inv = 1.0f / t->scale, zp = (float)t->zp;
    const size_t hw = (size_t)t->h * t->w;
    for (int img = 0; img < n; img++)
        for (int c = 0; c < t->c; c++) {
            const float *xc = x + ((size_t)img * t->c + c) * hw;
            uint8_t *o = t->buf + (size_t)img * t->img + origin(t) + c;
            for (int y = 0; y < t->h; y++)
                for (int xx = 0; xx < t->w; xx++) {
                    float v = fminf(fmaxf(xc[y * t->w + xx] * inv + zp, 0.0f), 255.0f);
                    o[((size_t)y * t->wp + xx) * t->cp] = (uint8_t)nearbyintf(v);
                }
        }
}

static void maxpool_image(const nn_layer *l, const q8_tensor *a, const q8_tensor *b, int img)
{
    const int C = a->c;
    const uint8_t *src = a->buf + (size_t)img * a->img + origin(a);
    uint8_t *dst = b->buf + (size_t)img * b->img + origin(b);
    for (int oy = 0; oy < l->out_h; oy++)
        for (int ox = 0; ox < l->out_w; ox++) {
            uint8_t *restrict o = dst + ((size_t)oy * b->wp + ox) * b->cp;
            const uint8_t *w0 = src + ((size_t)oy * l->stride * a->wp + (size_t)ox * l->stride) * a->cp;
            memcpy(o, w0, (size_t)C);
            for (int ky = 0; ky < l->k; ky++)
                for (int kx = 0; kx < l->k; kx++) {
                    const uint8_t *restrict w = w0 + ((size_t)ky * a->wp + kx) * a->cp;
                    for (int ch = 0; ch < C; ch++)
                        o[ch] = w[ch] > o[ch] ? w[ch] : o[ch];
                }
        }
}

static void run_maxpool(nn_q8 *q, const nn_layer *l, const q8_step *s, int n)
{
    for (int img = 0; img < n; img++)
        maxpool_image(l, &q->t[s->src], &q->t[s->dst], img);
}

static void run_gap(nn_q8 *q, const q8_step *s, int n)
{
    const q8_tensor *a = &q->t[s->src], *b = &q->t[s->dst];
    const int C = a->c;
    const float k = a->scale / b->scale / (float)(a->h * a->w);
    int32_t sum[4096];
    for (int img = 0; img < n; img++) {
        const uint8_t *src = a->buf + (size_t)img * a->img + origin(a);
        uint8_t *dst = b->buf + (size_t)img * b->img + origin(b);
        for (int c0 = 0; c0 < C; c0 += 4096) {
            int cn = C - c0 < 4096 ? C - c0 : 4096;
            memset(sum, 0, sizeof(int32_t) * (size_t)cn);
            for (int y = 0; y < a->h; y++)
                for (int x = 0; x < a->w; x++) {
                    const uint8_t *p = src + ((size_t)y * a->wp + x) * a->cp + c0;
                    for (int c = 0; c < cn; c++)
                        sum[c] += p[c];
                }
            for (int c = 0; c < cn; c++) {
                float v = ((float)sum[c] - (float)a->zp * (float)(a->h * a->w)) * k + (float)b->zp;
                dst[c0 + c] = (uint8_t)nearbyintf(fminf(fmaxf(v, 0.0f), 255.0f));
            }
        }
    }
}

/* v + 0.5 (already added) clamped to [0, 255] and truncated: rounded to u8. */
static inline uint8_t trunc_u8(float v) { return (uint8_t)(int)(v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v); }

/* The gate of one image's channels, read from u8 tensor a: mean[c] gets
 * the channel's mean in a's u8 values, mul and add map a's values to the
 * gated ones in b's scale (add holds the half that makes truncation
 * round). The gate is computed in float as the FP32 layer does. */
static void se_gate(const nn_layer *l, const q8_tensor *a, const q8_tensor *b, int img,
                    float *scratch, float *mean, float *mul, float *add)
{
    const int C = a->c, P = a->h * a->w;
    const uint8_t *src = a->buf + (size_t)img * a->img + origin(a);
    float *g = scratch, *h = scratch + C;
    int32_t *sum = (int32_t *)(h + l->k);
    memset(sum, 0, sizeof(int32_t) * (size_t)C);
    for (int y = 0; y < a->h; y++)
        for (int x = 0; x < a->w; x++) {
            const uint8_t *p = src + ((size_t)y * a->wp + x) * a->cp;
            for (int c = 0; c < C; c++)
                sum[c] += p[c];
        }
    for (int c = 0; c < C; c++) {
        mean[c] = (float)sum[c] / (float)P;
        g[c] = (mean[c] - (float)a->zp) * a->scale;
    }
    nn__se_gate(l, g, h, mul);
    const float k = a->scale / b->scale;
    for (int c = 0; c < C; c++) {
        mul[c] *= k;
        add[c] = (float)b->zp + 0.5f - (float)a->zp * mul[c];
    }
}

/* b = a's image img with channel c as a[c] * mul[c] + add[c], clamped. */
static void se_scale(const q8_tensor *a, const q8_tensor *b, int img, const float *mul,
                     const float *add)
{
    const int C = a->c;
    const uint8_t *src = a->buf + (size_t)img * a->img + origin(a);
    uint8_t *dst = b->buf + (size_t)img * b->img + origin(b);
    for (int y = 0; y < a->h; y++)
        for (int x = 0; x < a->w; x++) {
            const uint8_t *restrict p = src + ((size_t)y * a->wp + x) * a->cp;
            uint8_t *restrict o = dst + ((size_t)y * b->wp + x) * b->cp;
            for (int c = 0; c < C; c++)
                o[c] = trunc_u8((float)p[c] * mul[c] + add[c]);
        }
}

/* Squeeze-and-excitation on u8 data, each channel requantized into the
 * output's range with its gate in the multiplier. Fused with the layer
 * after it: a global average pool needs only the gated means; a max pool
 * runs first (a positive gate commutes with it), so that the gating
 * reads a quarter of the pixels. */
static void run_se(nn_q8 *q, const nn_net *net, const q8_step *s, int n)
{
    const nn_layer *l = &net->layers[s->layer], *next = &net->layers[s->last];
    const q8_tensor *a = &q->t[s->src], *b = &q->t[s->dst];
    const int C = a->c;
    float *mean = s->tmp, *mul = mean + C, *add = mul + C, *scratch = add + C;
    for (int img = 0; img < n; img++) {
        se_gate(l, a, b, img, scratch, mean, mul, add);
        if (s->last == s->layer) {
            se_scale(a, b, img, mul, add);
        } else if (next->kind == NN_L_GAP) {
            uint8_t *dst = b->buf + (size_t)img * b->img + origin(b);
            for (int c = 0; c < C; c++)
                dst[c] = trunc_u8(mean[c] * mul[c] + add[c]);
        } else {
            maxpool_image(next, a, &q->t[s->mid], img);
            se_scale(&q->t[s->mid], b, img, mul, add);
        }
    }
}

int nn__q8_forward(nn_net *net, const nn_ctx *c, int n)
{
    nn_q8 *q = net->q8;
    if (!q->built || q->gen != net->params_gen || q->cap < n || q->wino_mode != wino_mode() ||
        q->plan_k != net_kernel(q)) {
        int cap = n > q->cap ? n : q->cap;
        if (build_plan(q, net, cap < net->cap_n ? net->cap_n : cap) < 0)
            return -1;
    }
    int threads = c->pool ? nn_pool_size(c->pool) : 1;
    if (q->wscr_each && q->wscr_threads < threads) { /* per-thread Winograd scratch */
        nn_free(q->wscr);
        if (!(q->wscr = nn_alloc(q->wscr_each * (size_t)threads))) {
            q->wscr_threads = 0;
            return -1;
        }
        q->wscr_threads = threads;
    }
    for (int i = 0; i < q->n_steps; i++) {
        const q8_step *s = &q->steps[i];
        nn_layer *l = &net->layers[s->layer];
        switch (s->kind) {
        case Q_QUANT: run_quant(q, net, s, n); break;
        case Q_GEMM:
            if (s->wino)
                run_wino(q, c, s, n);
            else
                run_gemm(q, net, c, s, n);
            break;
        case Q_MAXPOOL: run_maxpool(q, l, s, n); break;
        case Q_GAP: run_gap(q, s, n); break;
        case Q_SE: run_se(q, net, s, n); break;
        default:
            /* the float tail; the softmax through the model's calibration */
            if (s->layer == net->n_layers - 1 && nn_calib_forward(net, n))
                break;
            l->ops->forward(l, c, net->act[s->layer - 1], net->act[s->layer], n);
            break;
        }
    }
    return 0;
}

int nn__q8_float_steps(const nn_net *net)
{
    const nn_q8 *q = net->q8;
    if (!q || !q->built)
        return -1;
    int k = 0;
    for (int i = 0; i < q->n_steps; i++)
        k += q->steps[i].kind == Q_FLOAT;
    return k;
}

/* ---- calibration and the public calls --------------------------------------------- */

static nn_q8 *q8_new(int n_layers)
{
    nn_q8 *q = calloc(1, sizeof *q);
    if (!q || !(q->lo = calloc((size_t)n_layers, sizeof(float))) ||
        !(q->hi = calloc((size_t)n_layers, sizeof(float)))) {
        nn__q8_free(q);
        return nn_fail_null("out of memory");
    }
    q->n_ranges = n_layers;
    return q;
}

int nn__q8_set_ranges(nn_net *net, const float *lo, const float *hi, int n)
{
    if (n != net->n_layers)
        return nn_fail("INT8 ranges for %d layers, the net has %d", n, net->n_layers);
    nn_q8 *q = q8_new(n);
    if (!q)
        return -1;
    memcpy(q->lo, lo, sizeof(float) * (size_t)n);
    memcpy(q->hi, hi, sizeof(float) * (size_t)n);
    nn__q8_free(net->q8);
    net->q8 = q;
    return 0;
}

int nn__q8_ranges(const nn_net *net, const float **lo, const float **hi)
{
    if (!net->q8)
        return 0;
    *lo = net->q8->lo;
    *hi = net->q8->hi;
    return net->q8->n_ranges;
}

#define BINS 1024

/* Runs x[n] forward in FP32 in chunks and calls fn on every layer's
 * output of every chunk. */
typedef void (*act_fn)(void *ctx, int layer, const float *a, size_t count);

static int each_activation(nn_net *net, const float *x, int n, act_fn fn, void *ctx)
{
    const int chunk = 32;
    int c, h, w;
    nn_net_input_shape(net, &c, &h, &w);
    const size_t in = (size_t)c * h * w;
    int saved = net->precision, rc = 0;
    net->precision = NN_PRECISION_FP32;
    for (int b = 0; b < n; b += chunk) {
        int m = n - b < chunk ? n - b : chunk;
        if (!nn_net_forward(net, x + (size_t)b * in, m, 0)) {
            rc = -1;
            break;
        }
        for (int i = 0; i < net->n_layers; i++) {
            const nn_layer *l = &net->layers[i];
            fn(ctx, i, net->act[i], (size_t)m * l->out_c * l->out_h * l->out_w);
        }
    }
    net->precision = saved;
    return rc;
}

typedef struct calib {
    float *lo, *hi;
    double *hist;   /* [layers][BINS] over [lo, hi] (0 included), exact zeros left out */
} calib;

static void find_range(void *ctx, int i, const float *a, size_t count)
{
    calib *cb = ctx;
    float mn = cb->lo[i], mx = cb->hi[i];
    for (size_t k = 0; k < count; k++) {
        mn = fminf(mn, a[k]);
        mx = fmaxf(mx, a[k]);
    }
    cb->lo[i] = fminf(mn, 0.0f);
    cb->hi[i] = fmaxf(mx, 0.0f);
}

static void fill_hist(void *ctx, int i, const float *a, size_t count)
{
    calib *cb = ctx;
    double *h = cb->hist + (size_t)i * BINS;
    float lo = cb->lo[i], width = (cb->hi[i] - lo) / BINS;
    if (!(width > 0.0f))
        return;
    for (size_t k = 0; k < count; k++) {
        if (a[k] == 0.0f) /* quantized exactly, whatever the range */
            continue;
        int b = (int)((a[k] - lo) / width);
        h[b < 0 ? 0 : b >= BINS ? BINS - 1 : b]++;
    }
}

/* The share f of the range [lo, hi] with the least expected squared
 * quantization error over the histogram: rounding (step^2 / 12) inside,
 * clipping outside. Wide ranges set by a few outliers cost the many small
 * values their resolution; exact zeros (ReLU outputs) cost nothing. */
static float best_clip(const double *h, float lo, float hi)
{
    double width = ((double)hi - lo) / BINS, best = -1;
    float best_f = 1.0f;
    for (int step = 0; step <= 40; step++) {
        double f = 1.0 - 0.02 * step, clo = f * lo, chi = f * hi;
        double q = (chi - clo) / 255.0, err = 0;
        for (int b = 0; b < BINS; b++) {
            if (!h[b])
                continue;
            double v = lo + (b + 0.5) * width;
            double d = v > chi ? v - chi : v < clo ? clo - v : 0;
            err += h[b] * (d > 0 ? d * d : q * q / 12.0);
        }
        if (best < 0 || err < best) {
            best = err;
            best_f = (float)f;
        }
    }
    return best_f;
}

int nn_net_calibrate_int8(nn_net *net, const float *x, int n)
{
    if (n < 1)
        return nn_fail("calibration needs at least one image");
    const int L = net->n_layers;
    calib cb = {
        .lo = malloc(sizeof(float) * (size_t)L), .hi = malloc(sizeof(float) * (size_t)L),
        .hist = calloc((size_t)L * BINS, sizeof(double)),
    };
    int rc = cb.lo && cb.hi && cb.hist ? 0 : nn_fail("out of memory");
    for (int i = 0; rc == 0 && i < L; i++) {
        cb.lo[i] = FLT_MAX;
        cb.hi[i] = -FLT_MAX;
    }
    if (rc == 0)
        rc = each_activation(net, x, n, find_range, &cb);
    if (rc == 0)
        rc = each_activation(net, x, n, fill_hist, &cb);
    /* The input keeps its full range: it holds 8-bit pixels, which a full
     * range quantizes almost exactly. */
    for (int i = 1; rc == 0 && i < L; i++) {
        float f = best_clip(cb.hist + (size_t)i * BINS, cb.lo[i], cb.hi[i]);
        cb.lo[i] *= f;
        cb.hi[i] *= f;
    }
    if (rc == 0)
        rc = nn__q8_set_ranges(net, cb.lo, cb.hi, L);
    free(cb.lo);
    free(cb.hi);
    free(cb.hist);
    return rc;
}

int nn_net_has_int8(const nn_net *net) { return net->q8 != NULL; }


/* One one-face inference pass in precision p, seconds (< 0 on failure). */
static double timed_pass(nn_net *net, nn_precision p, const float *x)
{
    if (nn_net_set_precision(net, p) != 0)
        return -1;
    double t0 = nn_now();
    if (!nn_net_forward(net, x, 1, 0))
        return -1;
    return nn_now() - t0;
}

int nn_net_set_int8_kernel(nn_net *net, const char *name)
{
    if (!net->q8)
        return nn_fail("the model has no INT8 calibration");
    const nn_q8_kernel *k = name ? nn__q8_kernel_named(name) : NULL;
    if (name && !k)
        return nn_fail("no INT8 kernel '%s' on this CPU (ref, avx2, vnni)", name);
    net->q8->k = k;
    return 0;
}

const char *nn_net_int8_kernel(const nn_net *net)
{
    return net->q8 ? net_kernel(net->q8)->name : nn_int8_kernel_name();
}

/* Times INT8 passes of x with each of kernels ks[0..n) and keeps the
 * fastest for this net (any n; nothing to time for one). Switching kernels
 * rebuilds the plan, so each gets an untimed pass first, then blocks of
 * three, twice in turn. Returns 0 or -1. */
static int pick_int8_kernel(nn_net *net, const float *x, const nn_q8_kernel *const *ks, int n)
{
    double best[4] = {-1, -1, -1, -1};
    if (n > 4)
        n = 4;
    for (int round = 0; n > 1 && round < 2; round++)
        for (int i = 0; i < n; i++) {
            net->q8->k = ks[i];
            for (int r = -1; r < 3; r++) {
                double t = timed_pass(net, NN_PRECISION_INT8, x);
                if (t < 0) {
                    net->q8->k = NULL;
                    return -1;
                }
                if (r >= 0 && (best[i] < 0 || t < best[i]))
                    best[i] = t;
            }
        }
    int fast = 0;
    for (int i = 1; i < n; i++)
        fast = best[i] < best[fast] ? i : fast;
    if (n > 1)
        net->q8->k = ks[fast];
    return 0;
}

/* A mid-gray face in the net's input, or NULL. */
static float *gray_face(const nn_net *net)
{
    const nn_layer *in = &net->layers[0];
    size_t per = (size_t)in->out_c * in->out_h * in->out_w;
    float *x = malloc(per * sizeof *x);
    for (size_t i = 0; x && i < per; i++)
        x[i] = 128.0f * net->pre.scale + net->pre.bias;
    return x;
}

int nn__q8_pick_kernel(nn_net *net, const nn_q8_kernel *const *ks, int n)
{
    float *x = net->q8 ? gray_face(net) : NULL;
    int rc = x ? pick_int8_kernel(net, x, ks, n) : -1;
    free(x);
    return rc;
}

nn_precision nn_net_use_faster_precision(nn_net *net)
{
    nn_net_set_precision(net, NN_PRECISION_FP32);
    if (!net->q8)
        return NN_PRECISION_FP32;
    float *x = gray_face(net);
    if (!x)
        return NN_PRECISION_FP32;
    /* where the CPU has two INT8 kernels (VNNI's GEMM; AVX2's with integer
     * Winograd: which is faster depends on the core and the net), the
     * faster for this net, unless NN_INT8_KERNEL forces one */
    const nn_q8_kernel *ks[2];
    int nk = getenv("NN_INT8_KERNEL") ? 0 : q8_kernels_here(ks);
    /* A first pass of each builds buffers and packed weights. Then the two
     * alternate and each keeps its best: a start-up burst of other work
     * (the capture thread decoding its first frames) slows both alike.
     * Three passes of each in a row, FP32's first, once picked FP32 on a
     * Zen 3 where INT8 is 20% faster (emotion-detect, one start of seven). */
    nn_precision p = NN_PRECISION_FP32;
    double t32 = pick_int8_kernel(net, x, ks, nk) == 0 ? timed_pass(net, NN_PRECISION_FP32, x) : -1;
    double t8 = -1;
    if (t32 > 0)
        t8 = timed_pass(net, NN_PRECISION_INT8, x);
    for (int r = 0; r < 5 && t32 > 0 && t8 > 0; r++) {
        double a = timed_pass(net, NN_PRECISION_FP32, x);
        double b = a > 0 ? timed_pass(net, NN_PRECISION_INT8, x) : -1;
        if (a < 0 || b < 0) {
            t8 = -1;
            break;
        }
        t32 = r == 0 || a < t32 ? a : t32;
        t8 = r == 0 || b < t8 ? b : t8;
    }
    if (t32 > 0 && t8 > 0 && t8 < t32)
        p = NN_PRECISION_INT8;
    free(x);
    nn_net_set_precision(net, p);
    return p;
}
