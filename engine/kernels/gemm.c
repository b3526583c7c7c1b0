/*
 * gemm.c - the portable half of the engine's SGEMM, BLIS style: packing
 * (which absorbs the transposes), cache blocking and the thread split. The
 * per-ISA micro-kernels live in gemm_ref.c, gemm_avx2.c, gemm_avx512.c and
 * gemm_avx512bf16.c (see gemm_internal.h for the contract); which one runs
 * is chosen per shape class and precision in gemm_choice.c.
 *
 * Loop nest (C is M x N, row-major):
 *   jc over N by NC
 *     pc over K by KC          (beta applies on the first KC block only)
 *                              op(B) = B: pack the KC x NC panel row by row,
 *                              unless the micro-kernel reads B in place
 *       ic over M by MC        pack op(A)[ic:+MC][pc:+KC] into MR-row panels
 *         jr over NC by NR     op(B) = B^T: pack one micro-panel (first ic)
 *           ir over MC by MR   micro-kernel on one MR x NR tile of C
 * The B micro-panel (KC x NR) is reused from L1 by every ir; the packed A
 * block stays in L2. While the first ic block works on one micro-panel, the
 * next one's source is prefetched, so streaming a large B (an im2col
 * buffer, a dense layer's weights) overlaps the compute.
 *
 * Every buffer is per thread and only grows: once warmed up, a call
 * allocates nothing. M <= NN_SMALL_M skips packing (see nn_sgemm).
 */
#include "nn_impl.h"
#include "gemm_internal.h"

#include <assert.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- workspaces ---------------------------------------------------------- */

/* The kernel itself is chosen in gemm_choice.c (per shape class and
 * precision, by measurement); this file only drives the one it is given. */
static pthread_once_t g_ws_once = PTHREAD_ONCE_INIT;
static pthread_key_t g_ws_key;
static int g_ws_key_ok;

typedef struct gemm_ws {
    float *a, *b;     /* packed A block, packed B panel */
    size_t acap, bcap; /* floats */
} gemm_ws;

static void ws_free(void *p)
{
    gemm_ws *w = p;
    if (w) {
        free(w->a);
        free(w->b);
        free(w);
    }
}

static void ws_key_make(void)
{
    /* Workspaces are per thread and freed when the thread exits. */
    g_ws_key_ok = pthread_key_create(&g_ws_key, ws_free) == 0;
}

/* The kernel for the calling thread's mode (see nn_gemm_set_mode). */
static const nn_gemm_kernel *kernel(void)
{
    return nn__gemm_kernel(nn_gemm_mode());
}

/* The calling thread's workspace with room for na and nb floats, or NULL
 * when memory runs out. The first call sizes it for the kernel's largest
 * blocks, so whichever shapes a thread meets later, it allocates once. */
static gemm_ws *workspace(const nn_gemm_kernel *kr, size_t na, size_t nb)
{
    pthread_once(&g_ws_once, ws_key_make);
    if (!g_ws_key_ok)
        return NULL;
    size_t amax = (size_t)kr->mc * kr->kc, bmax = (size_t)kr->kc * kr->nc;
    na = na > amax ? na : amax;
    nb = nb > bmax ? nb : bmax;
    gemm_ws *w = pthread_getspecific(g_ws_key);
    if (!w) {
        w = calloc(1, sizeof *w);
        if (!w || pthread_setspecific(g_ws_key, w) != 0) {
            free(w);
            return NULL;
        }
    }
    if (na > w->acap) {
        size_t bytes = (na * sizeof(float) + 63) & ~(size_t)63;
        float *p = aligned_alloc(64, bytes);
        if (!p)
            return NULL;
        free(w->a);
        w->a = p;
        w->acap = na;
    }
    if (nb > w->bcap) {
        size_t bytes = (nb * sizeof(float) + 63) & ~(size_t)63;
        float *p = aligned_alloc(64, bytes);
        if (!p)
            return NULL;
        free(w->b);
        w->b = p;
        w->bcap = nb;
    }
    return w;
}

/* ---- packing ---------------------------------------------------------------- */

/* op(A)[i0:i0+mc][p0:p0+kc] into MR-row micro-panels: panel r holds, for
 * each p, the MR values op(A)[i0+r*MR+i][p0+p], zero past row mc. */
static void pack_a(const nn_gemm_kernel *kr, int ta, const float *A, ptrdiff_t lda, int i0,
                   int mc, int p0, int kc, float *dst)
{
    const int MR = kr->mr;
    if (!ta) {
        for (int ir = 0; ir < mc; ir += MR)
            kr->pack_t(A + (i0 + ir) * lda + p0, lda, kc, mc - ir < MR ? mc - ir : MR, MR,
                       dst + (size_t)(ir / MR) * kc * MR);
        return;
    }
    /* op(A) = A^T: the values of one p are contiguous in A; go along A's
     * rows 8 at a time across the panels (see pack_b_rows) */
    for (int p = 0; p < kc; p += 8) {
        int kp = kc - p < 8 ? kc - p : 8;
        for (int ir = 0; ir < mc; ir += MR)
            kr->pack_n(A + (p0 + p) * lda + i0 + ir, lda, kp, mc - ir < MR ? mc - ir : MR, MR,
                       dst + (size_t)(ir / MR) * kc * MR + (size_t)(p >> kr->pairs) * MR);
    }
}

/* op(B)[p0:p0+kc][j0:j0+nv] into one micro-panel: for each p, NR values
 * op(B)[p0+p][j0+j], zero past column nv. */
static void pack_b(const nn_gemm_kernel *kr, int tb, const float *B, ptrdiff_t ldb, int p0,
                   int kc, int j0, int nv, float *dst)
{
    if (tb)
        kr->pack_t(B + j0 * ldb + p0, ldb, kc, nv, kr->nr, dst);
    else
        kr->pack_n(B + p0 * ldb + j0, ldb, kc, nv, kr->nr, dst);
}

/* All of op(B)[p0:p0+kc][j0:j0+nb] = B's rows into NR-column panels, 8
 * rows at a time across the panels, so B is read along its rows: one
 * panel's short pieces of KC rows far apart would cost a TLB miss each. */
static void pack_b_rows(const nn_gemm_kernel *kr, const float *B, ptrdiff_t ldb, int p0,
                        int kc, int j0, int nb, float *dst)
{
    const int NR = kr->nr;
    for (int p = 0; p < kc; p += 8) {
        int kp = kc - p < 8 ? kc - p : 8;
        for (int jr = 0; jr < nb; jr += NR)
            kr->pack_n(B + (p0 + p) * ldb + j0 + jr, ldb, kp, nb - jr < NR ? nb - jr : NR, NR,
                       dst + (size_t)(jr / NR) * kc * NR + (size_t)(p >> kr->pairs) * NR);
    }
}

/* Prefetch part `part` of `parts` of the source lines of the B micro-panel
 * at column j0 into L2. B is often larger than L2 (an im2col buffer), and a
 * micro-panel's short pieces of many rows defeat the hardware prefetchers:
 * fetching the next panel while the micro-kernel works on this one hides
 * the memory latency that packing it (or reading it in place) would
 * otherwise stall on. */
static void prefetch_b(int tb, const float *B, ptrdiff_t ldb, int p0, int kc, int j0, int nv,
                       int part, int parts)
{
    if (!tb) { /* kc rows, nv floats each */
        int lo = (int)((long)kc * part / parts), hi = (int)((long)kc * (part + 1) / parts);
        for (int p = lo; p < hi; p++) {
            const float *r = B + (p0 + p) * ldb + j0;
            for (int j = 0; j < nv; j += 16)
                __builtin_prefetch(r + j, 0, 2);
            __builtin_prefetch(r + nv - 1, 0, 2);
        }
    } else { /* nv rows, kc floats each */
        int lo = (int)((long)nv * part / parts), hi = (int)((long)nv * (part + 1) / parts);
        for (int j = lo; j < hi; j++) {
            const float *r = B + (j0 + j) * ldb + p0;
            for (int p = 0; p < kc; p += 16)
                __builtin_prefetch(r + p, 0, 2);
            __builtin_prefetch(r + kc - 1, 0, 2);
        }
    }
}

/* ---- drivers ------------------------------------------------------------------- */

/* Split n into the fewest blocks of at most `max`, of near-equal size
 * rounded up to a multiple of `unit`: K = 288 with KC = 256 becomes two
 * blocks of 144 rather than 256 + 32. */
static int block_size(int n, int max, int unit)
{
    int nb = (n + max - 1) / max;
    int b = (n + nb - 1) / nb;
    b = (b + unit - 1) / unit * unit;
    return b < max ? b : max;
}

/* C = beta * C without reading C when beta == 0. */
static void scale_c(int M, int N, float beta, float *C, ptrdiff_t ldc)
{
    for (int i = 0; i < M; i++) {
        float *c = C + i * ldc;
        if (beta == 0.0f)
            memset(c, 0, (size_t)N * sizeof *c);
        else if (beta != 1.0f)
            for (int j = 0; j < N; j++)
                c[j] *= beta;
    }
}

/* pa: NULL, or op(A) packed ahead by nn_sgemm_pack_a for these blocks. */
/* pb: NULL, or op(B) packed ahead by nn_sgemm_pack_b_rows (one block of K
 * and of N, see nn_sgemm_pack_b_begin), used in place of ws->b. */
static void gemm_packed(const nn_gemm_kernel *kr, gemm_ws *ws, int ta, int tb, int M, int N,
                        int K, float alpha, const float *A, ptrdiff_t lda, const float *pa,
                        const float *pb, size_t pbs, const float *B, ptrdiff_t ldb, float beta,
                        float *C, ptrdiff_t ldc, int mc, int kc, int nc)
{
    const int MR = kr->mr, NR = kr->nr;
    /* With op(B) = B and one block of M, the micro-kernel reads full-width
     * B panels in place (edge panels are packed): packing would only copy
     * what the prefetch already brings to L2, and the copy costs more than
     * the strided reads. A leading dimension that is a multiple of 1 KiB
     * would map a panel's rows onto a few cache sets, so those are packed,
     * as is B for several blocks of M, which all reuse the packed panel. */
    int direct = !pb && !tb && M <= mc && ldb % 256 != 0 && !kr->pairs; /* BF16 must convert */
    float *bpanels = ws ? ws->b : NULL;
    for (int jc = 0; jc < N; jc += nc) {
        int nb = N - jc < nc ? N - jc : nc;
        for (int pc = 0; pc < K; pc += kc) {
            int kb = K - pc < kc ? K - pc : kc;
            float bet = pc == 0 ? beta : 1.0f;
            if (!pb && !tb && !direct)
                pack_b_rows(kr, B, ldb, pc, kb, jc, nb, bpanels);
            for (int ic = 0; ic < M; ic += mc) {
                int mb = M - ic < mc ? M - ic : mc;
                const float *ap = NULL;
                if (pa) /* blocks in order pc, ic: see nn_sgemm_pack_a */
                    ap = pa + (size_t)pc * ((M + MR - 1) / MR * MR) + (size_t)ic * kb;
                else
                    pack_a(kr, ta, A, lda, ic, mb, pc, kb, (float *)(ap = ws->a));
                for (int jr = 0; jr < nb; jr += NR) {
                    int nv = nb - jr < NR ? nb - jr : NR;
                    float *panel = pb ? NULL : bpanels + (size_t)(jr / NR) * kb * NR;
                    /* packed ahead: panels pbs floats apart (0: kb * NR) */
                    const float *bp = pb ? pb + (size_t)(jr / NR) * (pbs ? pbs : (size_t)kb * NR)
                                         : panel;
                    ptrdiff_t ldbp = NR;
                    /* B^T panels are packed on first use (ic == 0), while
                     * the next one is prefetched */
                    int first = !pb && ic == 0 && (tb || direct), nxt = jr + NR < nb;
                    int nvn = nb - jr - NR < NR ? nb - jr - NR : NR;
                    if (direct && nv == NR) {
                        bp = B + pc * ldb + jc + jr;
                        ldbp = ldb;
                    } else if (first) {
                        pack_b(kr, tb, B, ldb, pc, kb, jc + jr, nv, panel);
                    }
                    int tiles = (mb + MR - 1) / MR;
                    for (int ir = 0; ir < mb; ir += MR) {
                        int mv = mb - ir < MR ? mb - ir : MR;
                        if (first && nxt)
                            prefetch_b(tb, B, ldb, pc, kb, jc + jr + NR, nvn, ir / MR, tiles);
                        kr->ukr(kb, ap + (size_t)(ir / MR) * kb * MR, bp, ldbp,
                                C + (ptrdiff_t)(ic + ir) * ldc + jc + jr, ldc, alpha, bet,
                                mv, nv);
                    }
                }
            }
        }
    }
}

/* The kernel and blocks for an M x K op(A); the same for a product and
 * for packing A ahead, so the two always agree. */
static const nn_gemm_kernel *blocks(const nn_gemm_kernel *kr, int M, int N, int K, int *mc,
                                    int *kc, int *nc)
{
    /* M = 64 on 12-row tiles computes 72 rows; 8-row tiles fit exactly. */
    if (kr->alt && M % kr->alt->mr == 0 && M % kr->mr != 0 &&
        (M + kr->mr - 1) / kr->mr * kr->mr > M + M / 20)
        kr = kr->alt;
    *mc = block_size(M, kr->mc, kr->mr);
    *kc = block_size(K, kr->kc, 1);
    *nc = block_size(N > 0 ? N : 1, kr->nc, kr->nr);
    return kr;
}

/* The triple loop with op(A) read from its packed copy (see gemm_packed
 * and nn_sgemm_pack_a for the layout): the fallback when there is no
 * memory for a workspace. */
static void naive_packed(const nn_gemm_kernel *kr, int M, int N, int K, float alpha,
                         const float *pa, int tb, const float *B, ptrdiff_t ldb, float beta,
                         float *C, ptrdiff_t ldc)
{
    int mc, kc, nc;
    kr = blocks(kr, M, N, K, &mc, &kc, &nc);
    const int MR = kr->mr;
    const size_t mpad = (size_t)(M + MR - 1) / MR * MR;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double sum = 0;
            for (int p = 0; p < K; p++) {
                int pc = p / kc * kc, kb = K - pc < kc ? K - pc : kc, ic = i / mc * mc;
                int ir = (i - ic) / MR * MR;
                const float *panel = pa + pc * mpad + (size_t)ic * kb + (size_t)ir * kb;
                float a;
                if (kr->pairs) { /* BF16 pairs: see gemm_avx512bf16.c */
                    uint16_t h;
                    memcpy(&h, (const char *)panel + (((size_t)((p - pc) >> 1) * MR +
                                                       (size_t)(i - ic - ir)) * 2 + ((p - pc) & 1)) * 2,
                           sizeof h);
                    a = nn_bf16_to_f32(h);
                } else
                    a = panel[(size_t)(p - pc) * MR + (size_t)(i - ic - ir)];
                sum += (double)a * (tb ? B[(ptrdiff_t)j * ldb + p] : B[(ptrdiff_t)p * ldb + j]);
            }
            float *c = C + (ptrdiff_t)i * ldc + j;
            *c = (float)(alpha * sum + (beta == 0.0f ? 0.0 : (double)beta * *c));
        }
}

static void sgemm(const nn_gemm_kernel *kr, int ta, int tb, int M, int N, int K, float alpha,
                  const float *A, int lda, const float *pa, const float *B, int ldb, float beta,
                  float *C, int ldc)
{
    const nn_gemm_kernel *base = kr; /* before blocks() may pick its alternative */
    if (M <= 0 || N <= 0)
        return;
    if (K <= 0 || alpha == 0.0f) {
        scale_c(M, N, beta, C, ldc);
        return;
    }

    if (M <= NN_SMALL_M) {
        /* Packing B would cost as much as the product itself: stream B once
         * against the few rows of A (made contiguous when transposed). */
        const float *a = A;
        ptrdiff_t la = lda;
        if (ta) {
            gemm_ws *ws = workspace(kr, (size_t)M * K, 0);
            if (!ws)
                goto naive;
            for (int i = 0; i < M; i++)
                for (int p = 0; p < K; p++)
                    ws->a[(size_t)i * K + p] = A[(ptrdiff_t)p * lda + i];
            a = ws->a;
            la = K;
        }
        /* a kernel without small-M paths (BF16) uses FP32 ones */
        const nn_gemm_kernel *rk = kr->rows_bt ? kr : nn__gemm_kernel(NN_GEMM_TRAIN);
        (tb ? rk->rows_bt : rk->rows_bn)(M, N, K, alpha, a, la, B, ldb, beta, C, ldc);
        return;
    }

    int mc, kc, nc;
    kr = blocks(kr, M, N, K, &mc, &kc, &nc);
    gemm_ws *ws = workspace(base, (size_t)mc * kc, (size_t)kc * nc);
    if (!ws)
        goto naive;
    gemm_packed(kr, ws, ta, tb, M, N, K, alpha, A, lda, pa, NULL, 0, B, ldb, beta, C, ldc, mc, kc,
                nc);
    return;
naive:
    /* Out of memory for the workspace: slow but correct. */
    if (pa)
        naive_packed(base, M, N, K, alpha, pa, tb, B, ldb, beta, C, ldc);
    else
        nn_sgemm_naive(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void nn_sgemm(int ta, int tb, int M, int N, int K, float alpha,
              const float *A, int lda, const float *B, int ldb,
              float beta, float *C, int ldc)
{
    sgemm(kernel(), ta, tb, M, N, K, alpha, A, lda, NULL, B, ldb, beta, C, ldc);
}

void nn__sgemm_with(const nn_gemm_kernel *kr, int ta, int tb, int M, int N, int K, float alpha,
                    const float *A, int lda, const float *B, int ldb, float beta, float *C,
                    int ldc)
{
    sgemm(kr, ta, tb, M, N, K, alpha, A, lda, NULL, B, ldb, beta, C, ldc);
}

/* ---- A packed ahead ---------------------------------------------------------- */

static void pack_a_ahead(const nn_gemm_kernel *kr, nn_packed_a *pa, int ta, int M, int K,
                         const float *A, int lda, float *buf, int reuse);

size_t nn_sgemm_packed_size(int M, int K)
{
    /* Room for whichever kernel packs it, whatever the shape class or
     * precision (a layer sizes its buffer once): rows padded to the
     * largest MR, or to an alternative kernel's MR when that pads more;
     * K to even for BF16 pairs (which then take half the room). */
    size_t most = 0;
    for (const nn_gemm_kernel *const *k = nn__gemm_kernels_all(); *k; k++)
        for (const nn_gemm_kernel *kr = *k; kr; kr = kr->alt) {
            size_t pad = (size_t)(M + kr->mr - 1) / kr->mr * kr->mr;
            most = pad > most ? pad : most;
        }
    return (most > 0 ? most : 1) * (size_t)(K > 0 ? K + (K & 1) : 1);
}

const nn_gemm_kernel *nn_sgemm_pack_kernel(void) { return kernel(); }

void nn_sgemm_pack_a(nn_packed_a *pa, int ta, int M, int K, const float *A, int lda, float *buf,
                     int reuse)
{
    pack_a_ahead(kernel(), pa, ta, M, K, A, lda, buf, reuse);
}

void nn__sgemm_pack_a_with(const nn_gemm_kernel *kr, nn_packed_a *pa, int ta, int M, int K,
                           const float *A, int lda, float *buf)
{
    pack_a_ahead(kr, pa, ta, M, K, A, lda, buf, 0);
}

static void pack_a_ahead(const nn_gemm_kernel *kr, nn_packed_a *pa, int ta, int M, int K,
                         const float *A, int lda, float *buf, int reuse)
{
    pa->M = M;
    pa->K = K;
    pa->kr = kr;
    if (M <= NN_SMALL_M || K <= 0) {
        /* Those products do not pack A: keep a plain copy of op(A). */
        pa->A = buf;
        pa->ta = 0;
        pa->lda = K > 0 ? K : 1;
        pa->packed = NULL;
        for (int i = 0; i < M && !reuse; i++)
            for (int p = 0; p < K; p++)
                buf[(size_t)i * K + p] = ta ? A[(ptrdiff_t)p * lda + i] : A[(ptrdiff_t)i * lda + p];
        return;
    }
    pa->A = NULL;
    pa->ta = ta;
    pa->lda = 0;
    pa->packed = buf;
    if (reuse)
        return;
    int mc, kc, nc;
    kr = blocks(kr, M, 1, K, &mc, &kc, &nc);
    const int MR = kr->mr;
    for (int pc = 0; pc < K; pc += kc) {
        int kb = K - pc < kc ? K - pc : kc;
        for (int ic = 0; ic < M; ic += mc)
            pack_a(kr, ta, A, lda, ic, M - ic < mc ? M - ic : mc, pc, kb,
                   buf + (size_t)pc * ((M + MR - 1) / MR * MR) + (size_t)ic * kb);
    }
}

void nn_sgemm_packed(const nn_packed_a *pa, int tb, int N, float alpha, const float *B, int ldb,
                     float beta, float *C, int ldc)
{
    sgemm(pa->kr, pa->ta, tb, pa->M, N, pa->K, alpha, pa->A, pa->lda, pa->packed, B, ldb, beta,
          C, ldc);
}

/* ---- B packed ahead ---------------------------------------------------------- */

/* Only products of one block of K and of N (nothing to cut, the packed
 * panels are those gemm_packed would make) with A packed ahead (no small-M
 * path, which reads B as it is), and only where the alternative kernel
 * blocks could pick packs B the same way. */
int nn_sgemm_pack_b_begin(nn_packed_b *pb, const nn_packed_a *pa, int N, float *buf)
{
    const nn_gemm_kernel *kr = pa->kr, *alt = kr->alt;
    /* where the product would read B in place, packing it saves nothing */
    int packs_b = kr->pairs || pa->M > kr->mc;
    if (!packs_b || !pa->packed || N <= 0 || pa->K > kr->kc || N > kr->nc ||
        (alt && (alt->nr != kr->nr || alt->kc != kr->kc || alt->nc != kr->nc ||
                 alt->pack_n != kr->pack_n || alt->pairs != kr->pairs)))
        return -1;
    pb->packed = buf;
    pb->pstride = 0;
    pb->K = pa->K;
    pb->N = N;
    pb->kr = kr;
    return 0;
}

size_t nn_sgemm_packed_b_size(int K, int N)
{
    /* panels of the widest NR, each K rows of NR floats (BF16 pairs take
     * half of that; see gemm_packed's panel offsets) */
    int nr = 1;
    for (const nn_gemm_kernel *const *k = nn__gemm_kernels_all(); *k; k++)
        for (const nn_gemm_kernel *kr = *k; kr; kr = kr->alt)
            nr = kr->nr > nr ? kr->nr : nr;
    return (size_t)((N > 0 ? N : 1) + nr - 1) / nr * nr * (size_t)(K > 0 ? K + (K & 1) : 1);
}

void nn_sgemm_pack_b_rows(const nn_packed_b *pb, int k0, int kn, const float *src, int ld)
{
    const nn_gemm_kernel *kr = pb->kr;
    const int NR = kr->nr;
    /* an odd start would split a BF16 pair between two calls */
    assert(!kr->pairs || (k0 & 1) == 0);
    assert(k0 >= 0 && kn >= 0 && k0 + kn <= pb->K);
    for (int jr = 0; jr < pb->N; jr += NR)
        kr->pack_n(src + jr, ld, kn, pb->N - jr < NR ? pb->N - jr : NR, NR,
                   pb->packed + (size_t)(jr / NR) * pb->K * NR + (size_t)(k0 >> kr->pairs) * NR);
}

void nn_sgemm_packed_ab(const nn_packed_a *pa, const nn_packed_b *pb, float alpha, float beta,
                        float *C, int ldc)
{
    int M = pa->M, N = pb->N, K = pa->K, mc, kc, nc;
    assert(pb->kr == pa->kr && pb->K == K);
    if (M <= 0 || N <= 0)
        return;
    if (K <= 0 || alpha == 0.0f) {
        scale_c(M, N, beta, C, ldc);
        return;
    }
    const nn_gemm_kernel *kr = blocks(pa->kr, M, N, K, &mc, &kc, &nc);
    gemm_packed(kr, NULL, 0, 0, M, N, K, alpha, NULL, 0, pa->packed, pb->packed, pb->pstride, NULL,
                0, beta,
                C, ldc, mc, kc, nc);
}

/* ---- B^T kept packed ------------------------------------------------------------ */

/* The same conditions as nn_sgemm_pack_b_begin: one block of K and of N,
 * and the alternative kernel packing alike. */
static const nn_gemm_kernel *kept_kernel(int K, int N)
{
    const nn_gemm_kernel *kr = kernel(), *alt = kr->alt;
    if (!kr->pack_t_part || K <= 0 || N <= 0 || K > kr->kc || N > kr->nc ||
        (alt && (alt->nr != kr->nr || alt->kc != kr->kc || alt->nc != kr->nc ||
                 alt->pack_t_part != kr->pack_t_part || alt->pairs != kr->pairs)))
        return NULL;
    return kr;
}

int nn_sgemm_bt_kept_ok(int M, int K, int N)
{
    /* up to NN_SMALL_M rows, nn_sgemm would take an FP32 path */
    return M > NN_SMALL_M && kept_kernel(K, N) != NULL;
}

/* Panels of NR columns, each all K steps: in BF16 pairs (K + 1) / 2 slots
 * of NR, so any even step starts a block's panel part. */
static size_t kept_stride(const nn_gemm_kernel *kr, int K)
{
    return (size_t)(kr->pairs ? (K + 1) / 2 : K) * (size_t)kr->nr;
}

size_t nn_sgemm_bt_kept_size(int K, int N)
{
    const nn_gemm_kernel *kr = kernel();
    if (!kr->pack_t_part || K <= 0 || N <= 0)
        return 0;
    return (size_t)((N + kr->nr - 1) / kr->nr) * kept_stride(kr, K);
}

int nn_sgemm_bt_kept_begin(nn_kept_bt *kb, int K, int N, float *buf)
{
    const nn_gemm_kernel *kr = kernel();
    if (!kr->pack_t_part || !kr->pairs || K <= 0 || N <= 0)
        return -1;
    kb->buf = buf;
    kb->K = K;
    kb->N = N;
    kb->kr = kr;
    return 0;
}

void nn_sgemm_bt_kept_rows(const nn_kept_bt *kb, int j0, int jn, int p0, int pn, const float *src,
                           int ld)
{
    const nn_gemm_kernel *kr = kb->kr;
    const int NR = kr->nr;
    const size_t stride = kept_stride(kr, kb->K);
    /* an odd start would split a pair with the run before; an odd length
     * would leave half of the pair after it to a later call */
    assert((p0 & 1) == 0 && ((pn & 1) == 0 || p0 + pn == kb->K));
    assert(j0 >= 0 && jn >= 0 && j0 + jn <= kb->N && p0 >= 0 && p0 + pn <= kb->K);
    for (int j = j0; j < j0 + jn;) {
        int panel = j / NR, col = j % NR;
        int nv = NR - col < j0 + jn - j ? NR - col : j0 + jn - j;
        kr->pack_t_part(src + (ptrdiff_t)(j - j0) * ld, ld, pn, nv, NR,
                        kb->buf + (size_t)panel * stride + (size_t)(p0 >> 1) * NR + col);
        j += nv;
    }
}

int nn_sgemm_bt_kept_view(nn_packed_b *pb, const nn_kept_bt *kb, int M, int p0, int pn)
{
    if (M <= NN_SMALL_M || kept_kernel(pn, kb->N) != kb->kr || (p0 & 1) || p0 < 0 ||
        p0 + pn > kb->K || ((pn & 1) && p0 + pn != kb->K))
        return -1;
    pb->packed = kb->buf + (size_t)(p0 >> 1) * kb->kr->nr;
    pb->pstride = kept_stride(kb->kr, kb->K);
    pb->K = pn;
    pb->N = kb->N;
    pb->kr = kb->kr;
    return 0;
}

/* op(B)[p][j] of a packed B in BF16 pairs (see gemm_avx512bf16.c). */
static float packed_b_at(const nn_packed_b *pb, int p, int j)
{
    const int NR = pb->kr->nr;
    const float *panel =
        pb->packed + (size_t)(j / NR) * (pb->pstride ? pb->pstride : (size_t)pb->K * NR);
    uint16_t h;
    memcpy(&h, (const char *)panel + (((size_t)(p >> 1) * NR + (size_t)(j % NR)) * 2 + (p & 1)) * 2,
           sizeof h);
    return nn_bf16_to_f32(h);
}

void nn_sgemm_packed_b(int M, float alpha, const float *A, int lda, const nn_packed_b *pb,
                       float beta, float *C, int ldc)
{
    int N = pb->N, K = pb->K, mc, kc, nc;
    if (M <= 0)
        return;
    const nn_gemm_kernel *kr = blocks(pb->kr, M, N, K, &mc, &kc, &nc);
    gemm_ws *ws = workspace(pb->kr, (size_t)mc * kc, 0);
    if (ws) {
        gemm_packed(kr, ws, 0, 0, M, N, K, alpha, A, lda, NULL, pb->packed, pb->pstride, NULL, 0,
                    beta, C,
                    ldc, mc, kc, nc);
        return;
    }
    /* Out of memory for the workspace: slow but correct. */
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double sum = 0;
            for (int p = 0; p < K; p++)
                sum += (double)nn_bf16_to_f32(nn_bf16_from_f32(A[(ptrdiff_t)i * lda + p])) *
                       packed_b_at(pb, p, j);
            float *c = C + (ptrdiff_t)i * ldc + j;
            *c = (float)(alpha * sum + (beta == 0.0f ? 0.0 : (double)beta * *c));
        }
}

/* ---- threads ------------------------------------------------------------------- */

typedef struct mt_job {
    int ta, tb, M, N, K;
    float alpha, beta;
    const float *A, *B;
    float *C;
    int lda, ldb, ldc;
    int split_n; /* split along N (columns) or M (rows) */
    int chunk;   /* columns or rows per task */
} mt_job;

static void mt_task(void *ctx, int task, int thread)
{
    (void)thread; /* workspaces are per thread already */
    const mt_job *j = ctx;
    int s = task * j->chunk;
    int total = j->split_n ? j->N : j->M;
    if (s >= total)
        return;
    int len = total - s < j->chunk ? total - s : j->chunk;
    if (j->split_n) {
        const float *b = j->tb ? j->B + (ptrdiff_t)s * j->ldb : j->B + s;
        nn_sgemm(j->ta, j->tb, j->M, len, j->K, j->alpha, j->A, j->lda, b, j->ldb, j->beta,
                 j->C + s, j->ldc);
    } else {
        const float *a = j->ta ? j->A + s : j->A + (ptrdiff_t)s * j->lda;
        nn_sgemm(j->ta, j->tb, len, j->N, j->K, j->alpha, a, j->lda, j->B, j->ldb, j->beta,
                 j->C + (ptrdiff_t)s * j->ldc, j->ldc);
    }
}

void nn_sgemm_mt(nn_pool *pool, int ta, int tb, int M, int N, int K, float alpha,
                 const float *A, int lda, const float *B, int ldb,
                 float beta, float *C, int ldc)
{
    int nt = pool ? nn_pool_size(pool) : 1;
    /* Below ~1M multiply-adds (~10 us on one core) waking another thread
     * costs about what it saves: the first conv layer, measured. */
    if (nt <= 1 || M <= 0 || N <= 0 || (double)M * N * (K > 0 ? K : 1) < 1048576.0) {
        nn_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    const nn_gemm_kernel *kr = kernel();
    mt_job j = {ta, tb, M, N, K, alpha, beta, A, B, C, lda, ldb, ldc, 0, 0};
    /* Split the larger side; a row split makes every thread pack all of B,
     * a column split all of A, so prefer columns unless M dominates. Chunks
     * are whole micro-tiles so no thread gets a ragged edge in the middle. */
    j.split_n = N >= M || M <= NN_SMALL_M * nt;
    int total = j.split_n ? N : M, unit = j.split_n ? kr->nr : kr->mr;
    /* One task per thread: more tasks (for balance when another program
     * holds a core) measured no better, and each adds a ragged edge and
     * packs its A or B again. */
    int chunk = (total + nt - 1) / nt;
    chunk = (chunk + unit - 1) / unit * unit;
    j.chunk = chunk;
    int ntasks = (total + chunk - 1) / chunk;
    if (ntasks <= 1) {
        nn_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    nn_pool_run(pool, ntasks, mt_task, &j);
}
