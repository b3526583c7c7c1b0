/* conv_winograd.c - 3x3 stride-1 convolution by Winograd F(m x m, 3 x 3),
 * the fast path of conv2d.c (which keeps im2col + GEMM for everything else
 * and as the reference).
 *
 * Work goes in blocks of whole tile rows, gathered over as many images as
 * it takes to give the GEMMs enough columns (a late 8x8 layer has only 4
 * tiles per image). Per block of T tiles, with a = m + 2:
 *   forward   V[xi] (C x T) = input transform, M[xi] = U[xi] . V[xi],
 *             y = output transform of M (+ bias)
 *   backward  dM[xi] (OC x T) = adjoint output transform of dy,
 *             dU[xi] += dM[xi] . V[xi]^T      (weight gradient, per thread)
 *             dV[xi] = U[xi]^T . dM[xi],      dx += adjoint input transform
 * for xi < a^2, U = the transformed weights G g G^T (packed once per pass,
 * shared read-only). The bias gradient is a by-product: element a+1 of dM
 * is the sum of the tile's dy. Each tile row carries one spare tile slot
 * (see winograd.h), which the GEMMs compute and the transforms drop.
 *
 * BF16 training keeps the forward pass's V, rounded to BF16, in
 * l->wino_v (per xi, V^T of all the batch's tile slots as the weight
 * gradient's product takes its packed B, see nn_sgemm_bt_kept_rows: a^2 /
 * m^2 times the input's size, at half its bytes, channels rounded up to
 * the kernel's panel width), and that product reads it in place: backward
 * then skips the input transform, which re-reads the FP32 input, and
 * packs nothing. The values are those the product would have rounded V
 * to, so the results are the same either way. */
#include "nn_impl.h"
#include "kernels/winograd.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static double ceil_to(double x, double unit) { return ceil(x / unit) * unit; }

/* Floats of V and M a block may hold, sized for the L2 cache with room to
 * spare for the GEMM's packed operands. */
#define BLOCK_FLOATS (384 * 1024)
#define MAX_SEGMENTS 64

/* Rough cost, in multiply-adds, of a batch of n by im2col (m = 0) or by
 * F(m x m, 3 x 3): the GEMMs' work as the micro-kernel does it (columns in
 * panels of 32) plus the passes over the data. An 8x8 layer has 4 tiles
 * of 4x4 per image: for one image their GEMMs would be mostly padding. */
static double cost(const nn_layer *l, int n, int m)
{
    const double C = l->in_c, OC = l->out_c;
    if (!m) {
        double P = (double)l->out_h * l->out_w;
        return n * (OC * 9 * C * (ceil_to(P, 32)) + 2 * 9 * C * P);
    }
    nn_wino w;
    nn_wino_plan(&w, m, l->in_h, l->in_w, l->out_h, l->out_w, l->pad_t, l->pad_l);
    double a2 = (double)(m + 2) * (m + 2), slots = (double)n * w.ty * w.slots;
    double blocks = ceil(slots / 128.0);
    return a2 * OC * C * blocks * ceil_to(slots / blocks, 32) + 4 * a2 * (C + OC) * slots;
}

/* NN_CONV=im2col turns the fast path off, for comparisons; read once,
 * not on every pass. */
static pthread_once_t g_env_once = PTHREAD_ONCE_INIT;
static int g_im2col_only;
static void read_env(void)
{
    const char *e = getenv("NN_CONV");
    g_im2col_only = e && strcmp(e, "im2col") == 0;
}

int nn_conv_wino_m(const nn_layer *l, int n)
{
    if (l->k != 3 || l->stride != 1)
        return 0;
    switch (l->algo) {
    case NN_CONV_IM2COL: return 0;
    case NN_CONV_WINO2: return 2;
    case NN_CONV_WINO4: return 4;
    default: break;
    }
    pthread_once(&g_env_once, read_env);
    if (g_im2col_only)
        return 0;
    double c0 = cost(l, n, 0), c2 = cost(l, n, 2), c4 = cost(l, n, 4);
    return c4 <= c2 && c4 < c0 ? 4 : c2 < c0 ? 2 : 0;
}

typedef struct {
    nn_wino w;
    int a2, rows; /* a^2; tile rows per block */
    size_t tmax;  /* tiles per block, at most */
    size_t n1, n2, n3, nu, nwork; /* floats of the three block buffers, U, work */
} wino_geom;

/* Blocks for forward (bwd = 0) or backward (1). */
static void geom(const nn_layer *l, int m, int bwd, wino_geom *g)
{
    nn_wino_plan(&g->w, m, l->in_h, l->in_w, l->out_h, l->out_w, l->pad_t, l->pad_l);
    const int C = l->in_c, OC = l->out_c, slots = g->w.slots;
    g->a2 = g->w.a * g->w.a;
    long per_slot = (long)g->a2 * (C + OC);
    /* The most tile slots that fit the budget, then the row count within
     * a factor of two of it that wastes least of the GEMM's 32-column
     * panels (5 rows of 12 slots fill 2 panels at 94%, 4 rows at 75%). */
    long tmax = BLOCK_FLOATS / per_slot;
    /* Backward reads and writes all of dU (a^2 * OC * C) once per block,
     * against a^2 * (C + OC) values of V and dM per tile slot: for a wide
     * late layer (384 x 384 channels: 21 MB of dU), blocks that fit the
     * cache would move dU several times more than the data, and bound the
     * weight-gradient GEMMs by memory, BF16 ones the most (they compute
     * twice as fast). So backward blocks have at least 2 OC C / (C + OC)
     * slots, which keeps dU's traffic below about half the data's. */
    long du_min = 2L * OC * C / (C + OC);
    if (bwd && tmax < du_min)
        tmax = du_min;
    tmax = tmax < 32 ? 32 : tmax > 512 ? 512 : tmax;
    int rmax = (int)(tmax / slots) > 0 ? (int)(tmax / slots) : 1, best = rmax;
    double best_use = 0;
    for (int r = rmax; r >= (rmax + 1) / 2; r--) {
        long t = (long)r * slots;
        double use = (double)t / (double)((t + 31) / 32 * 32);
        if (use > best_use + 1e-9) {
            best_use = use;
            best = r;
        }
    }
    /* Blocks list their per-image runs in a fixed array (see segments). */
    if (best > (MAX_SEGMENTS - 2) * g->w.ty)
        best = (MAX_SEGMENTS - 2) * g->w.ty;
    g->rows = best;
    g->tmax = (size_t)best * slots;
    size_t packed = (size_t)g->a2 * nn_sgemm_packed_b_size(C, (int)g->tmax);
    g->n1 = ((size_t)g->a2 * C * g->tmax > packed ? (size_t)g->a2 * C * g->tmax : packed) + 16;
    g->n2 = (size_t)g->a2 * OC * g->tmax;
    g->n3 = (size_t)g->w.a * ((size_t)m * g->tmax + 16);
    g->nu = (size_t)g->a2 * OC * C;
    g->nwork = nn_wino_work(&g->w);
}

size_t nn_conv_wino_scratch(const nn_layer *l)
{
    size_t most = 0;
    for (int m = 2; m <= 4; m += 2)
        for (int bwd = 0; bwd <= 1; bwd++) {
            wino_geom g;
            geom(l, m, bwd, &g);
            size_t s = g.n1 + g.n2 + g.n3 + g.nu + (size_t)l->out_c + g.nwork + 64;
            most = s > most ? s : most;
        }
    return most;
}

typedef struct {
    float *b1, *b2, *b3, *du, *db, *work;
} wino_bufs;
static wino_bufs bufs(const wino_geom *g, const nn_layer *l, float *scratch);

/* The transformed weights U = G g G^T, [xi][OC][C], are made in thread
 * 0's dU area (the same size) and kept only packed for the GEMMs: U[xi] in
 * l->aux, reused while the net's parameter generation (bumped by every
 * optimizer step and every nn_net_params call) stays the one they were
 * made for; U[xi]^T, for backward only, in l->wino_t. Room for a^2 = 36. */
static size_t packed_u(const nn_layer *l) { return nn_sgemm_packed_size(l->out_c, l->in_c); }
static size_t packed_ut(const nn_layer *l) { return nn_sgemm_packed_size(l->in_c, l->out_c); }

size_t nn_conv_wino_aux(const nn_layer *l)
{
    if (l->k != 3 || l->stride != 1)
        return 0;
    return 36 * packed_u(l);
}

/* The per-layer weight work (transforming the weights, packing U and U^T,
 * adding the threads' dU shares, transforming dU back) over the pool: for
 * a 384-channel layer it is a few million values each time, which one
 * thread would do while the others wait. Every split is of independent
 * values (pairs of channels, xi, elements), so the results do not depend
 * on it. */
enum { W_TRANSFORM, W_PACK, W_PACK_T, W_SUM, W_GRAD };

typedef struct {
    nn_layer *l;
    const nn_ctx *c;
    const wino_geom *g;
    int op, tasks, reuse, threads; /* threads: W_SUM's shares */
    nn_packed_a *p;
} weights_job;

static void weights_task(void *arg, int task, int thread)
{
    const weights_job *j = arg;
    nn_layer *l = j->l;
    const wino_geom *g = j->g;
    const int C = l->in_c, OC = l->out_c;
    const size_t pairs = (size_t)OC * C;
    wino_bufs b0 = bufs(g, l, j->c->scratch[0]), bt = bufs(g, l, j->c->scratch[thread]);
    size_t n = j->op == W_SUM ? g->nu + (size_t)OC : pairs;
    size_t i0 = n * (size_t)task / (size_t)j->tasks, i1 = n * (size_t)(task + 1) / (size_t)j->tasks;
    switch (j->op) {
    case W_TRANSFORM:
        nn_wino_weights(&g->w, l->w + i0 * 9, i1 - i0, b0.du + i0, pairs, bt.work);
        break;
    case W_PACK: /* one xi per task */
        nn_sgemm_pack_a(&j->p[task], 0, OC, C, b0.du + task * pairs, C,
                        l->aux + task * packed_u(l), j->reuse);
        break;
    case W_PACK_T:
        nn_sgemm_pack_a(&j->p[task], 1, C, OC, b0.du + task * pairs, C,
                        l->wino_t + task * packed_ut(l), j->reuse);
        break;
    case W_SUM: /* thread shares added in a fixed order */
        for (int t = 1; t < j->threads; t++) {
            const float *share = bufs(g, l, j->c->scratch[t]).du;
            for (size_t i = i0; i < i1; i++)
                b0.du[i] += share[i];
        }
        break;
    case W_GRAD:
        nn_wino_weights_grad(&g->w, b0.du + i0, pairs, i1 - i0, l->dw + i0 * 9, bt.work);
        break;
    default:
        break;
    }
}

static void weights_run(weights_job *j, int op, int tasks)
{
    j->op = op;
    j->tasks = tasks;
    /* Packs that only point at panels aux already holds are a few
     * assignments: waking the pool for them cost single-face inference
     * 7-9% (3.2 against 2.95 ms for fer-vgg-wide on a Zen 4). */
    if ((op == W_PACK || op == W_PACK_T) && j->reuse) {
        for (int t = 0; t < tasks; t++)
            weights_task(j, t, 0);
        return;
    }
    const size_t pairs = (size_t)j->l->out_c * j->l->in_c;
    nn_pool_run(nn_pool_for(j->c->pool, pairs * (size_t)j->g->a2), tasks, weights_task, j);
}

/* Packed U[xi] into p, remade unless aux holds it for these weights, and
 * packed U[xi]^T into pt when pt is not NULL (backward). Returns -1 when
 * there is no memory for the transposes. */
static int prepare_weights(nn_layer *l, const nn_ctx *c, const wino_geom *g, nn_packed_a *p,
                           nn_packed_a *pt)
{
    const int threads = nn_pool_size(c->pool);
    weights_job j = {.l = l, .c = c, .g = g};
    if (pt && !l->wino_t) {
        if (!(l->wino_t = nn_alloc(36 * packed_ut(l) * sizeof(float))))
            return -1;
        l->wino_ut = 0;
    }
    /* the packing kernel too: another shape class or precision may have
     * another tile height or element */
    int same = l->wino_m == g->w.m && l->wino_gen == c->params_gen &&
               l->wino_kr == nn_sgemm_pack_kernel();
    int made = 0;
    if (!same) {
        weights_run(&j, W_TRANSFORM, threads);
        made = 1;
        l->wino_gen = c->params_gen;
        l->wino_m = g->w.m;
        l->wino_kr = nn_sgemm_pack_kernel();
        l->wino_ut = 0;
    }
    j.p = p;
    j.reuse = same;
    weights_run(&j, W_PACK, g->a2);
    if (!pt)
        return 0;
    if (!l->wino_ut && !made)
        weights_run(&j, W_TRANSFORM, threads);
    j.p = pt;
    j.reuse = l->wino_ut;
    weights_run(&j, W_PACK_T, g->a2);
    l->wino_ut = 1;
    return 0;
}

/* A thread's scratch: block buffers b1 (V, dV), b2 (M, dM), b3 (the row
 * passes' arrays), the weight-gradient share dU and db, transform work. */
static wino_bufs bufs(const wino_geom *g, const nn_layer *l, float *scratch)
{
    wino_bufs b;
    b.b1 = scratch + 16; /* b1[-1] is read as a zero, see nn_wino_input_grad_tiles */
    b.b2 = scratch + g->n1;
    b.b3 = b.b2 + g->n2;
    b.du = b.b3 + g->n3;
    b.db = b.du + g->nu;
    b.work = b.db + l->out_c;
    return b;
}

typedef struct {
    nn_layer *l;
    const nn_ctx *c;
    const wino_geom *g;
    const float *x, *dy, *relu_y; /* relu_y: the fused ReLU's output (backward) */
    float *y, *dx, *relu_out;     /* relu_out: where it goes (forward), or NULL */
    int n, rows;        /* batch; tile rows per block (forward) */
    int keep;           /* V kept in l->wino_v (forward) or read from there */
    nn_kept_bt kv[36];  /* with keep: V^T per xi there */
    nn_packed_a u[36], ut[36]; /* U[xi] and U[xi]^T, packed */
} wino_job;

/* A run of tile rows of one image within a block; its first tile slot is
 * column t0 of the block's arrays. */
typedef struct {
    int img, ty0, nr;
    size_t t0;
} segment;

/* The segments of global tile rows [r0, r1) (image-major); *tiles gets
 * the block's tile slots. */
static int segments(const wino_geom *g, long r0, long r1, segment *seg, size_t *tiles)
{
    int ns = 0;
    size_t t = 0;
    for (long r = r0; r < r1;) {
        int img = (int)(r / g->w.ty), ty0 = (int)(r % g->w.ty);
        int nr = g->w.ty - ty0 < r1 - r ? g->w.ty - ty0 : (int)(r1 - r);
        seg[ns++] = (segment){img, ty0, nr, t};
        t += (size_t)nr * g->w.slots;
        r += nr;
    }
    *tiles = t;
    return ns;
}

/* The row passes of one channel go through b3 (a arrays of m*T values
 * and a few zeros, small enough for L1), then straight into the block's
 * arrays by the tile pass over all T slots. */
static size_t hld(const wino_geom *g, size_t T) { return (size_t)g->w.m * T + 16; }

/* V of a block's input tiles into b1. */
static void transform_input(const wino_job *j, const wino_bufs *b, const segment *seg, int ns,
                            size_t T)
{
    const nn_layer *l = j->l;
    const nn_wino *w = &j->g->w;
    const size_t plane = (size_t)l->in_h * l->in_w, ld = (size_t)l->in_c * T, ldh = hld(j->g, T);
    for (int i = 0; i < w->a; i++) /* what the last slot reads past its row */
        memset(b->b3 + i * ldh + w->m * T, 0, 16 * sizeof(float));
    for (int ch = 0; ch < l->in_c; ch++) {
        for (int s = 0; s < ns; s++)
            nn_wino_input_rows(w, j->x + ((size_t)seg[s].img * l->in_c + ch) * plane, seg[s].ty0,
                               seg[s].nr, b->b3 + w->m * seg[s].t0, ldh, b->work);
        nn_wino_input_tiles(w, T, b->b3, ldh, b->b1 + ch * T, ld);
    }
}

/* Channels of V transform_input_packed makes before packing them: an
 * even number (BF16 pairs), few enough to stay in L2 ([a^2][group][T]),
 * enough that each packing call has a few rows to do. */
#define PACK_GROUP 8

/* transform_input for a product that packs V anyway (BF16 always, FP32
 * for a layer wider than one block of rows): V of a few channels at a
 * time goes to b2 (which M overwrites only later), then straight into the
 * GEMM's packed panels for each xi, so V never makes the round trip
 * through memory in full, and BF16 has no separate conversion pass. V
 * goes to l->wino_v too when kept (columns from col0: the block's first tile
 * slot in the batch: even, as the kept layout's pairs ask). */
static void transform_input_packed(const wino_job *j, const wino_bufs *b, const segment *seg,
                                   int ns, size_t T, const nn_packed_b *pb, size_t col0)
{
    const nn_layer *l = j->l;
    const nn_wino *w = &j->g->w;
    const size_t plane = (size_t)l->in_h * l->in_w, ldh = hld(j->g, T);
    const int group = l->out_c >= PACK_GROUP ? PACK_GROUP : 2;
    float *vg = b->b2; /* [xi][group][T] */
    for (int i = 0; i < w->a; i++)
        memset(b->b3 + i * ldh + w->m * T, 0, 16 * sizeof(float));
    for (int ch = 0; ch < l->in_c; ch += group) {
        int kn = l->in_c - ch < group ? l->in_c - ch : group;
        for (int k = 0; k < kn; k++) {
            for (int s = 0; s < ns; s++)
                nn_wino_input_rows(w, j->x + ((size_t)seg[s].img * l->in_c + ch + k) * plane,
                                   seg[s].ty0, seg[s].nr, b->b3 + w->m * seg[s].t0, ldh, b->work);
            nn_wino_input_tiles(w, T, b->b3, ldh, vg + k * T, group * T);
        }
        for (int xi = 0; xi < j->g->a2; xi++) {
            nn_sgemm_pack_b_rows(&pb[xi], ch, kn, vg + (size_t)xi * group * T, (int)T);
            if (j->keep)
                nn_sgemm_bt_kept_rows(&j->kv[xi], ch, kn, (int)col0, (int)T,
                                      vg + (size_t)xi * group * T, (int)T);
        }
    }
}

static void forward_block(void *arg, int task, int thread)
{
    const wino_job *j = arg;
    const nn_layer *l = j->l;
    const wino_geom *g = j->g;
    wino_bufs b = bufs(g, l, j->c->scratch[thread]);
    long total = (long)j->n * g->w.ty, r0 = (long)task * j->rows;
    long r1 = r0 + j->rows < total ? r0 + j->rows : total;
    segment seg[MAX_SEGMENTS];
    size_t T;
    int ns = segments(g, r0, r1, seg, &T);
    const int C = l->in_c, OC = l->out_c;
    nn_packed_b pb[36];
    const size_t pv = nn_sgemm_packed_b_size(C, (int)g->tmax);
    int fused = OC >= 2; /* b2 holds two or more channels' V */
    for (int xi = 0; fused && xi < g->a2; xi++)
        fused = !nn_sgemm_pack_b_begin(&pb[xi], &j->u[xi], (int)T, b.b1 + xi * pv);
    const size_t col0 = (size_t)r0 * g->w.slots;
    if (fused) {
        transform_input_packed(j, &b, seg, ns, T, pb, col0);
    } else {
        transform_input(j, &b, seg, ns, T);
        for (int xi = 0; j->keep && xi < g->a2; xi++)
            nn_sgemm_bt_kept_rows(&j->kv[xi], 0, C, (int)col0, (int)T, b.b1 + (size_t)xi * C * T,
                                  (int)T);
    }
    for (int xi = 0; xi < g->a2; xi++) {
        float *mt = b.b2 + (size_t)xi * OC * T;
        if (fused)
            nn_sgemm_packed_ab(&j->u[xi], &pb[xi], 1.0f, 0.0f, mt, (int)T);
        else
            nn_sgemm_packed(&j->u[xi], 0, (int)T, 1.0f, b.b1 + (size_t)xi * C * T, (int)T, 0.0f,
                            mt, (int)T);
    }
    const size_t plane = (size_t)l->out_h * l->out_w, ld = (size_t)OC * T, ldh = hld(g, T);
    for (int oc = 0; oc < OC; oc++) {
        nn_wino_output_tiles(&g->w, T, b.b2 + oc * T, ld, b.b3, ldh);
        for (int s = 0; s < ns; s++) {
            size_t p = ((size_t)seg[s].img * OC + oc) * plane;
            nn_wino_output_rows(&g->w, b.b3 + g->w.m * seg[s].t0, ldh, seg[s].ty0, seg[s].nr,
                                l->b[oc], j->y + p, j->relu_out ? j->relu_out + p : NULL,
                                b.work);
        }
    }
}

/* Whether backward can take V from l->wino_v (see the top of the file):
 * BF16 training, with a weight-gradient product that takes B^T kept for
 * backward's blocks, and channels that fill most of the kernel's panels
 * (3 channels would take a 32-wide panel's room). */
static int v_keepable(const nn_layer *l, const nn_ctx *c, int m)
{
    if (!c->train)
        return 0;
    wino_geom gb;
    geom(l, m, 1, &gb);
    size_t slots = (size_t)gb.tmax, padded = nn_sgemm_bt_kept_size((int)slots, l->in_c);
    return nn_sgemm_bt_kept_ok(l->out_c, (int)gb.tmax, l->in_c) &&
           2 * padded <= 3 * ((slots + 1) / 2) * (size_t)l->in_c;
}

/* Test hook: 0 turns keeping V off (backward transforms the input again). */
int nn__wino_keep_v = 1;

/* j->kv over l->wino_v for the batch's V, `slots` tile slots (made
 * room for when `make`): 0, or -1 when there is no memory. */
static int kept_views(nn_layer *l, const wino_geom *g, size_t slots, int make, wino_job *j)
{
    size_t per = nn_sgemm_bt_kept_size((int)slots, l->in_c), need;
    if (!per || slots > INT32_MAX || nn_mul_size(per, (size_t)g->a2, &need))
        return -1;
    if (need > l->wino_v_cap) {
        if (!make)
            return -1;
        nn_free(l->wino_v);
        l->wino_v_cap = 0;
        if (!(l->wino_v = nn_alloc(need * sizeof(float))))
            return -1;
        l->wino_v_cap = need;
    }
    for (int xi = 0; xi < g->a2; xi++)
        if (nn_sgemm_bt_kept_begin(&j->kv[xi], (int)slots, l->in_c, l->wino_v + xi * per))
            return -1;
    return 0;
}

/* Sets j->keep when V is worth keeping and there is room for it (else
 * backward transforms the input again). The kept layout pairs tile slots
 * from the first: every block must start at an even one, so blocks of an
 * odd number of slots take a tile row less. */
static void keep_v(nn_layer *l, const nn_ctx *c, const wino_geom *g, int n, wino_job *j)
{
    j->keep = 0;
    if (!nn__wino_keep_v || !v_keepable(l, c, g->w.m))
        return;
    long total = (long)n * g->w.ty;
    if ((j->rows & 1) && (g->w.slots & 1) && total > j->rows) {
        if (j->rows == 1)
            return;
        j->rows--;
    }
    j->keep = !kept_views(l, g, (size_t)total * g->w.slots, 1, j);
}

void nn_conv_wino_forward(nn_layer *l, const nn_ctx *c, const float *x, float *y, float *relu_y,
                          int n, int m)
{
    wino_geom g;
    geom(l, m, 0, &g);
    wino_job j = {.l = l, .c = c, .g = &g, .x = x, .y = y, .relu_out = relu_y, .n = n};
    /* Training packs U^T for backward too, while U is at hand: backward
     * would transform the weights again to make it. Without memory for it
     * (-1, nothing done), backward tries again. */
    if (!c->train || prepare_weights(l, c, &g, j.u, j.ut))
        (void)prepare_weights(l, c, &g, j.u, NULL); /* cannot fail without transposes */
    long total = (long)n * g.w.ty;
    /* Threads pay from about a million multiply-adds (as for nn_sgemm_mt),
     * which even one image of most layers has. */
    double macs = (double)g.a2 * l->out_c * l->in_c * total * g.w.slots;
    nn_pool *pool = macs >= 1048576.0 ? c->pool : NULL;
    int rows = g.rows, threads = nn_pool_size(pool);
    /* A small batch still gives every thread a block. */
    if (total < (long)rows * threads)
        rows = (int)((total + threads - 1) / threads);
    j.rows = rows;
    keep_v(l, c, &g, n, &j);
    nn_pool_run(pool, (int)((total + j.rows - 1) / j.rows), forward_block, &j);
    l->wino_v_m = j.keep ? m : 0;
    l->wino_v_n = n;
}

/* Task t owns images [t*n/T, (t+1)*n/T) and scratch[t], in blocks of
 * g->rows tile rows: a fixed split, so the weight-gradient sums never
 * depend on scheduling. */
static void backward_task(void *arg, int task, int thread)
{
    const wino_job *j = arg;
    const nn_layer *l = j->l;
    const wino_geom *g = j->g;
    (void)thread;
    int threads = nn_pool_size(j->c->pool);
    int i0 = j->n * task / threads, i1 = j->n * (task + 1) / threads;
    wino_bufs b = bufs(g, l, j->c->scratch[task]);
    const int C = l->in_c, OC = l->out_c, a2 = g->a2, sum_xi = g->w.a + 1;
    const size_t in_plane = (size_t)l->in_h * l->in_w, out_plane = (size_t)l->out_h * l->out_w;
    /* dU is written by the first block's GEMMs (beta 0), not cleared: for
     * a 384-channel layer it is 21 MB. A task without images clears it. */
    if (i0 == i1)
        memset(b.du, 0, g->nu * sizeof(float));
    memset(b.db, 0, (size_t)OC * sizeof(float));
    for (long r0 = (long)i0 * g->w.ty; r0 < (long)i1 * g->w.ty; r0 += g->rows) {
        long r1 = r0 + g->rows < (long)i1 * g->w.ty ? r0 + g->rows : (long)i1 * g->w.ty;
        segment seg[MAX_SEGMENTS];
        size_t T;
        int ns = segments(g, r0, r1, seg, &T);
        const size_t ldi = (size_t)C * T, ldo = (size_t)OC * T, ldh = hld(g, T);
        /* V kept for these slots: the block starts at an even slot and
         * ends at one or at the batch's end (T <= tmax, which
         * nn_conv_wino_backward checked: the kernel takes the product) */
        const int col0 = (int)(r0 * g->w.slots);
        nn_packed_b pv;
        const int kept = j->keep && !nn_sgemm_bt_kept_view(&pv, &j->kv[0], OC, col0, (int)T);
        if (!kept)
            transform_input(j, &b, seg, ns, T);
        for (int oc = 0; oc < OC; oc++) {
            for (int s = 0; s < ns; s++) {
                size_t p = ((size_t)seg[s].img * OC + oc) * out_plane;
                nn_wino_output_grad_rows(&g->w, j->dy + p, j->relu_y ? j->relu_y + p : NULL,
                                         seg[s].ty0, seg[s].nr, b.b3 + g->w.m * seg[s].t0, ldh,
                                         b.work);
            }
            nn_wino_output_grad_tiles(&g->w, T, b.b3, ldh, b.b2 + oc * T, ldo);
        }
        /* element a+1 of dM: the sum of each tile's dy */
        for (int oc = 0; oc < OC; oc++) {
            const float *r = b.b2 + (size_t)sum_xi * ldo + oc * T;
            float sum = 0.0f;
            for (size_t t = 0; t < T; t++)
                sum += r[t];
            b.db[oc] += sum;
        }
        for (int xi = 0; xi < a2; xi++) {
            float *v = b.b1 + (size_t)xi * ldi;
            const float *dm = b.b2 + (size_t)xi * ldo;
            float beta = r0 == (long)i0 * g->w.ty ? 0.0f : 1.0f;
            if (kept && !nn_sgemm_bt_kept_view(&pv, &j->kv[xi], OC, col0, (int)T))
                nn_sgemm_packed_b(OC, 1.0f, dm, (int)T, &pv, beta, b.du + (size_t)xi * OC * C, C);
            else
                nn_sgemm(0, 1, OC, C, (int)T, 1.0f, dm, (int)T, v, (int)T, beta,
                         b.du + (size_t)xi * OC * C, C);
            if (j->dx) /* dV replaces V, which this xi no longer needs */
                nn_sgemm_packed(&j->ut[xi], 0, (int)T, 1.0f, dm, (int)T, 0.0f, v, (int)T);
        }
        if (!j->dx)
            continue;
        b.b1[-1] = 0.0f;
        for (int ch = 0; ch < C; ch++) {
            nn_wino_input_grad_tiles(&g->w, T, b.b1 + ch * T, ldi, b.b3, ldh);
            for (int s = 0; s < ns; s++)
                nn_wino_input_grad_rows(&g->w, b.b3 + g->w.m * seg[s].t0, ldh, seg[s].ty0,
                                        seg[s].nr, j->dx + ((size_t)seg[s].img * C + ch) * in_plane,
                                        b.work);
        }
    }
}

int nn_conv_wino_backward(nn_layer *l, const nn_ctx *c, const float *x, const float *relu_y,
                          const float *dy, float *dx, int n, int m)
{
    wino_geom g;
    geom(l, m, 1, &g);
    wino_job j = {.l = l, .c = c, .g = &g, .x = x, .dy = dy, .relu_y = relu_y, .dx = dx, .n = n};
    if (prepare_weights(l, c, &g, j.u, dx ? j.ut : NULL))
        return -1;
    /* Blocks start at even slots where V could be kept (see keep_v),
     * kept or not: the weight gradient's sums go block by block, and
     * are then the same either way. */
    if (v_keepable(l, c, m) && (g.rows & 1) && (g.w.slots & 1) && g.rows > 1)
        g.rows--;
    /* V kept by this batch's forward pass, if it took blocks of this
     * geometry's size (the same test as there) */
    if (l->wino_v_m == m && l->wino_v_n == n && l->wino_v && v_keepable(l, c, m))
        j.keep = !kept_views(l, &g, (size_t)n * g.w.ty * g.w.slots, 0, &j);
    int threads = nn_pool_size(c->pool);
    nn_pool_run(c->pool, threads, backward_task, &j);
    /* Thread shares added in a fixed order, then one transform back. */
    weights_job wj = {.l = l, .c = c, .g = &g, .threads = threads};
    if (threads > 1)
        weights_run(&wj, W_SUM, threads);
    weights_run(&wj, W_GRAD, threads);
    wino_bufs b0 = bufs(&g, l, c->scratch[0]);
    for (int oc = 0; oc < l->out_c; oc++)
        l->db[oc] += b0.db[oc];
    return 0;
}
