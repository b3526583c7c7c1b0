/* test_bf16 - BF16 training GEMMs (engine/kernels/gemm_avx512bf16.c):
 *  - the scalar FP32 -> BF16 conversion (round to nearest even) on worked
 *    cases: ties both ways, NaN, infinities, subnormals, overflow;
 *  - the kernel's packing (vcvtne2ps2bf16 and friends) bit for bit against
 *    that scalar reference, both packing directions, every tail;
 *  - the BF16 GEMM against a reference on random shapes, edges included,
 *    all transposes, alpha/beta, threads, A packed ahead: the products of
 *    the BF16-rounded operands summed exactly (double), within a tolerance
 *    for the kernel's FP32 sums;
 *  - a net's gradients with nn_net_set_precision(BF16) against FP32's;
 *  - B^T kept in BF16 (the conversion and the packing from BF16 bit for
 *    bit against the FP32 ones, the product the same sums as nn_sgemm's),
 *    and Winograd's V kept from forward to backward: the same gradients
 *    bit for bit as transforming the input again.
 * The scalar part runs everywhere; the rest needs AVX512_BF16 and the test
 * exits 77 (skipped) with a message on a CPU without it. */
#include "nn_impl.h"
#include "kernels/gemm_internal.h"
#include "testutil.h"

#include <string.h>

static uint32_t bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static void test_scalar(void)
{
    static const struct { uint32_t in; uint16_t out; } cases[] = {
        {0x3F800000u, 0x3F80}, /* 1 */
        {0xBF800000u, 0xBF80}, /* -1 */
        {0x3F808000u, 0x3F80}, /* tie, even below: down */
        {0x3F818000u, 0x3F82}, /* tie, odd below: up */
        {0x3F808001u, 0x3F81}, /* above the tie: up */
        {0x3F807FFFu, 0x3F80}, /* below the tie: down */
        {0xBF818000u, 0xBF82}, /* negative tie: away from the odd one */
        {0x3FFFFFFFu, 0x4000}, /* carries into the exponent */
        {0x7F7F7FFFu, 0x7F7F}, /* largest that stays finite */
        {0x7F7FFFFFu, 0x7F80}, /* FLT_MAX rounds to infinity */
        {0xFF7FFFFFu, 0xFF80},
        {0x7F800000u, 0x7F80}, /* infinities */
        {0xFF800000u, 0xFF80},
        {0x7FC00000u, 0x7FC0}, /* quiet NaN */
        {0xFFC00000u, 0xFFC0},
        {0x7F800001u, 0x7FC0}, /* signalling NaN, low payload: made quiet */
        {0x7FA00000u, 0x7FE0}, /* signalling NaN, payload kept */
        {0x7F80FFFFu, 0x7FC0}, /* NaN must not round to infinity */
        {0x00000000u, 0x0000}, /* zeros */
        {0x80000000u, 0x8000},
        {0x00000001u, 0x0000}, /* subnormals: as zero of their sign */
        {0x007FFFFFu, 0x0000},
        {0x80400000u, 0x8000},
        {0x00800000u, 0x0080}, /* smallest normal */
        {0x00FF8000u, 0x0100}, /* tie at the bottom, odd: up */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint16_t got = nn_bf16_from_f32(from_bits(cases[i].in));
        CHECK_MSG(got == cases[i].out, "0x%08X -> 0x%04X, want 0x%04X", cases[i].in, got,
                  cases[i].out);
    }
    CHECK(nn_bf16_to_f32(0x3F80) == 1.0f);
    CHECK(bits(nn_bf16_to_f32(0xC0A0)) == 0xC0A00000u);
}

/* Values for the packing checks: every edge case, and random ones with
 * ties and near-ties in their low halves. */
static float edge_value(uint64_t *rng, int i)
{
    static const uint32_t edges[] = {
        0x3F808000u, 0x3F818000u, 0x3F808001u, 0x7F7FFFFFu, 0x7F800000u, 0xFF800000u,
        0x7FC00000u, 0x7F800001u, 0x7FA00000u, 0x00000001u, 0x807FFFFFu, 0x80000000u,
        0x00800000u, 0x3FFFFFFFu, 0xFF7FFFFFu, 0x7F80FFFFu,
    };
    uint64_t r = nn_rand_u64(rng);
    if (r % 4 == 0)
        return from_bits(edges[(size_t)i % (sizeof edges / sizeof edges[0])]);
    uint32_t u = (uint32_t)(r >> 16);
    if (r % 4 == 1) /* an exact tie */
        u = (u & 0xFFFF0000u) | 0x8000u;
    return from_bits(u);
}

/* Pair (q, j) of a packed panel of width w: (low, high) = k steps 2q, 2q+1. */
static uint16_t packed_half(const float *panel, int w, int q, int j, int half)
{
    uint32_t v;
    memcpy(&v, (const char *)panel + ((size_t)q * w + j) * 4, 4);
    return (uint16_t)(half ? v >> 16 : v & 0xFFFF);
}

static void test_packing(void)
{
    const nn_gemm_kernel *kr = nn__gemm_kernel(NN_GEMM_TRAIN | NN_GEMM_BF16);
    CHECK(kr->pairs == 1);
    uint64_t rng = test_seed(5) | 1;
    enum { LD = 80 };
    static float src[64 * LD], dst[64 * 64];
    for (int i = 0; i < 64 * LD; i++)
        src[i] = edge_value(&rng, i);
    static const int widths[] = {8, 12, 32};
    for (int wi = 0; wi < 3; wi++)
        for (int k = 1; k <= 37; k += (k < 18 ? 1 : 6))
            for (int nv = 1; nv <= widths[wi]; nv += (nv < 13 ? 1 : 5)) {
                int w = widths[wi], kq = (k + 1) / 2;
                for (int t = 0; t < 2; t++) {
                    memset(dst, 0xA5, sizeof dst); /* padding must be written as zeros */
                    if (t)
                        kr->pack_t(src, LD, k, nv, w, dst);
                    else
                        kr->pack_n(src, LD, k, nv, w, dst);
                    int bad = 0;
                    for (int q = 0; q < kq; q++)
                        for (int j = 0; j < w; j++)
                            for (int h = 0; h < 2; h++) {
                                int p = 2 * q + h;
                                uint16_t want = 0;
                                if (p < k && j < nv)
                                    want = nn_bf16_from_f32(t ? src[j * LD + p] : src[p * LD + j]);
                                bad += packed_half(dst, w, q, j, h) != want;
                            }
                    CHECK_MSG(bad == 0, "pack_%c k=%d nv=%d w=%d: %d values differ", t ? 't' : 'n',
                              k, nv, w, bad);
                }
            }
}

/* pack_t_part against pack_t, bit for bit, on the columns it makes, and
 * nothing written to the others; sources at odd offsets too. */
static void test_packing_part(void)
{
    const nn_gemm_kernel *kr = nn__gemm_kernel(NN_GEMM_TRAIN | NN_GEMM_BF16);
    CHECK(kr->pack_t_part != NULL);
    if (!kr->pack_t_part)
        return;
    uint64_t rng = test_seed(6) | 1;
    enum { LD = 81 };
    static float src[64 * LD], dst[64 * 64], want[64 * 64];
    for (int i = 0; i < 64 * LD; i++)
        src[i] = edge_value(&rng, i);
    static const int widths[] = {8, 12, 32};
    for (int off = 0; off < 2; off++)
        for (int wi = 0; wi < 3; wi++)
            for (int k = 1; k <= 37; k += (k < 18 ? 1 : 6))
                for (int nv = 1; nv <= widths[wi]; nv += (nv < 13 ? 1 : 5)) {
                    int w = widths[wi], kq = (k + 1) / 2, bad = 0;
                    memset(dst, 0xA5, sizeof dst);
                    memset(want, 0x5A, sizeof want);
                    kr->pack_t(src + off, LD, k, nv, w, want);
                    kr->pack_t_part(src + off, LD, k, nv, w, dst);
                    for (int q = 0; q < kq; q++)
                        for (int j = 0; j < w; j++) {
                            uint32_t d, e = 0xA5A5A5A5u;
                            memcpy(&d, dst + q * w + j, sizeof d);
                            if (j < nv)
                                memcpy(&e, want + q * w + j, sizeof e);
                            bad += d != e;
                        }
                    for (int i = kq * w; i < 64 * 64; i++) {
                        uint32_t d;
                        memcpy(&d, dst + i, sizeof d);
                        bad += d != 0xA5A5A5A5u; /* nothing past the last pair */
                    }
                    CHECK_MSG(bad == 0, "pack_t_part k=%d nv=%d w=%d offset %d: %d differ", k,
                              nv, w, off, bad);
                }
}

/* B^T kept packed (nn_sgemm_bt_kept_*): made in runs of columns and of
 * steps in any order, as Winograd's blocks make V, then products over runs
 * of its steps with nn_sgemm_packed_b, against nn_sgemm(0, 1, ...) on the
 * FP32 originals in BF16 mode: the same sums, so the same bits. */
static void test_bt_kept(void)
{
    static const int ms[] = {5, 8, 12, 16, 24, 48, 150};
    static const int ns[] = {1, 15, 16, 17, 32, 33, 100};
    static const int ks[] = {1, 2, 3, 17, 100, 511, 512};
    uint64_t r = test_seed(7) | 1;
    int saved = nn_gemm_set_mode(NN_GEMM_TRAIN | NN_GEMM_BF16);
    CHECK(!nn_sgemm_bt_kept_ok(4, 16, 16));  /* small M: nn_sgemm's FP32 path */
    CHECK(!nn_sgemm_bt_kept_ok(16, 513, 16)); /* past one block of K */
    for (int t = 0; t < 60; t++) {
        int M = ms[t % 7], N = ns[(t / 7) % 7], K = ks[(t * 3 + t / 7) % 7];
        int KT = K * 3 + (t & 1); /* all the steps kept: runs of K from 0, K, 2K */
        int ld = KT + 3;          /* rows of B^T */
        float beta = t % 3 ? 1.0f : 0.0f;
        CHECK(nn_sgemm_bt_kept_ok(M, K, N));
        size_t sz = nn_sgemm_bt_kept_size(KT, N);
        CHECK(sz > 0);
        float *A = malloc((size_t)M * K * sizeof *A), *B = malloc((size_t)N * ld * sizeof *B);
        float *C = malloc((size_t)M * N * sizeof *C), *R = malloc((size_t)M * N * sizeof *R);
        float *buf = malloc(sz * sizeof *buf);
        for (size_t i = 0; i < (size_t)M * K; i++)
            A[i] = nn_rand_normal(&r);
        for (size_t i = 0; i < (size_t)N * ld; i++)
            B[i] = nn_rand_normal(&r);
        for (size_t i = 0; i < sz; i++)
            buf[i] = nn_rand_normal(&r); /* what padding columns hold must not matter */
        nn_kept_bt kb;
        CHECK(nn_sgemm_bt_kept_begin(&kb, KT, N, buf) == 0);
        /* runs of even lengths (the last one to KT), columns in runs of up
         * to 8 from the last, as they come */
        for (int p0 = 0; p0 < KT;) {
            int pn = 2 * (int)(1 + nn_rand_u64(&r) % 40);
            pn = pn < KT - p0 ? pn : KT - p0;
            for (int j1 = N; j1 > 0;) {
                int jn = (int)(1 + nn_rand_u64(&r) % 8);
                jn = jn < j1 ? jn : j1;
                nn_sgemm_bt_kept_rows(&kb, j1 - jn, jn, p0, pn, B + (size_t)(j1 - jn) * ld + p0,
                                      ld);
                j1 -= jn;
            }
            p0 += pn;
        }
        for (int run = 0; run < 3; run++) {
            int p0 = run * K, pn = run < 2 ? K : KT - 2 * K;
            /* a run must start at an even step, and an odd one end at KT */
            int ok = !(p0 & 1) && (!(pn & 1) || p0 + pn == KT) && pn <= 512;
            nn_packed_b pb;
            int rc = nn_sgemm_bt_kept_view(&pb, &kb, M, p0, pn);
            CHECK_MSG((rc == 0) == ok, "view K=%d of %d at %d: %d", pn, KT, p0, rc);
            if (rc)
                continue;
            for (size_t i = 0; i < (size_t)M * N; i++)
                C[i] = R[i] = nn_rand_normal(&r);
            float *Ak = malloc((size_t)M * pn * sizeof *Ak);
            for (int i = 0; i < M; i++)
                for (int p = 0; p < pn; p++)
                    Ak[(size_t)i * pn + p] = A[(size_t)i * K + p % K] * (p < K ? 1.0f : -0.5f);
            nn_sgemm_packed_b(M, 0.5f, Ak, pn, &pb, beta, C, N);
            nn_sgemm(0, 1, M, N, pn, 0.5f, Ak, pn, B + p0, ld, beta, R, N);
            CHECK_MSG(!memcmp(C, R, (size_t)M * N * sizeof *C),
                      "kept B^T M=%d N=%d K=%d at %d of %d: not nn_sgemm's sums", M, N, pn, p0, KT);
            free(Ak);
        }
        free(A);
        free(B);
        free(C);
        free(R);
        free(buf);
    }
    nn_gemm_set_mode(saved);
}

/* Winograd's V kept in BF16 from forward to backward (nn__wino_keep_v):
 * the same gradients, bit for bit, as transforming the input again, with
 * F(2x2) (7 tile slots a row: blocks take an even number of rows) and
 * F(4x4); and an inference pass in between drops what was kept. The
 * first conv's 3 channels would fill a tenth of the kept panels: it keeps
 * nothing. */
static void test_kept_v(void)
{
    const char *spec = "input 12x12x3\n"
                       "conv 24 3x3 same\nbn\nrelu\n"
                       "conv 30 3x3 same\nrelu\n"
                       "conv 12 3x3 same\nrelu\nmaxpool 2\n"
                       "flatten\ndense classes softmax\n";
    enum { n = 11 };
    static float x[n * 3 * 12 * 12];
    int y[n];
    uint64_t s = 13;
    for (int i = 0; i < n * 3 * 12 * 12; i++)
        x[i] = nn_rand_normal(&s);
    for (int i = 0; i < n; i++)
        y[i] = i % 4;
    for (int algo = NN_CONV_WINO2; algo <= NN_CONV_WINO4; algo++) {
        float *g[2] = {0};
        size_t np = 0;
        for (int keep = 0; keep < 2; keep++) {
            nn_net *net = nn_net_from_spec(spec, 4);
            CHECK_MSG(net != NULL, "%s", nn_error());
            if (!net)
                return;
            nn_net_init(net, 9);
            CHECK(nn_net_set_threads(net, 2) == 0);
            CHECK(nn_net_set_precision(net, NN_PRECISION_BF16) == 0);
            int kept = 0;
            for (int i = 0; i < net->n_layers; i++)
                if (net->layers[i].kind == NN_L_CONV)
                    net->layers[i].algo = algo;
            nn__wino_keep_v = keep;
            for (int round = 0; round < 2; round++) {
                if (round) { /* a pass of inference in between drops it */
                    CHECK(nn_net_forward(net, x, n, 0) != NULL);
                    for (int i = 0; i < net->n_layers; i++)
                        CHECK(net->layers[i].wino_v_m == 0);
                }
                CHECK(nn_net_forward(net, x, n, 1) != NULL);
                for (int i = 0; i < net->n_layers; i++)
                    kept += net->layers[i].wino_v_m != 0;
            }
            nn__wino_keep_v = 1;
            CHECK(kept == (keep ? 4 : 0)); /* the two wider convs, both rounds */
            nn_net_zero_grad(net);
            CHECK(nn_net_backward(net, y, NULL) >= 0);
            np = nn_net_n_params(net);
            g[keep] = malloc(np * sizeof(float));
            memcpy(g[keep], nn_net_grads(net), np * sizeof(float));
            nn_net_free(net);
        }
        CHECK_MSG(g[0] && g[1] && !memcmp(g[0], g[1], np * sizeof(float)),
                  "F(%d) gradients with V kept differ from V made again", algo == NN_CONV_WINO2 ? 2 : 4);
        free(g[0]);
        free(g[1]);
    }
}

/* ---- the GEMM ------------------------------------------------------------------ */

static uint64_t rng;

/* C = alpha op(A) op(B) + beta C in BF16 mode, against the exact sum of
 * the BF16-rounded products. pool_mode: 0 nn_sgemm, 1 nn_sgemm_mt on
 * `pool` (the mode must reach the workers), 2 A packed ahead. */
static void check(int ta, int tb, int M, int N, int K, float alpha, float beta, int pool_mode,
                  nn_pool *pool)
{
    int ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;
    size_t na = (size_t)ar * ac, nb = (size_t)br * bc, nc = (size_t)M * N;
    float *A = malloc((na ? na : 1) * sizeof *A), *B = malloc((nb ? nb : 1) * sizeof *B);
    float *Ar = malloc((na ? na : 1) * sizeof *A), *Br = malloc((nb ? nb : 1) * sizeof *B);
    float *C = malloc(nc * sizeof *C), *R = malloc(nc * sizeof *R);
    double *S = malloc(nc * sizeof *S);
    for (size_t i = 0; i < na; i++) {
        A[i] = 2.0f * nn_rand_uniform(&rng) - 1.0f;
        Ar[i] = nn_bf16_to_f32(nn_bf16_from_f32(A[i]));
    }
    for (size_t i = 0; i < nb; i++) {
        B[i] = 2.0f * nn_rand_uniform(&rng) - 1.0f;
        Br[i] = nn_bf16_to_f32(nn_bf16_from_f32(B[i]));
    }
    for (size_t i = 0; i < nc; i++)
        C[i] = R[i] = 2.0f * nn_rand_uniform(&rng) - 1.0f;
    /* up to NN_SMALL_M rows take the FP32 small-M paths (no packing, so
     * nothing to convert, and no gain from BF16 there) */
    if (M <= NN_SMALL_M) {
        memcpy(Ar, A, na * sizeof *A);
        memcpy(Br, B, nb * sizeof *B);
    }
    nn_sgemm_naive(ta, tb, M, N, K, alpha, Ar, ac, Br, bc, beta, R, N);
    /* the size of the sum, for the tolerance: sum |a b| */
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int p = 0; p < K; p++)
                s += fabs((double)(ta ? Ar[p * ac + i] : Ar[i * ac + p]) *
                          (tb ? Br[j * bc + p] : Br[p * bc + j]));
            S[(size_t)i * N + j] = fabs(alpha) * s + fabs(beta) * 1.0;
        }
    int saved = nn_gemm_set_mode(NN_GEMM_TRAIN | NN_GEMM_BF16);
    if (pool_mode == 1) {
        nn_sgemm_mt(pool, ta, tb, M, N, K, alpha, A, ac, B, bc, beta, C, N);
    } else if (pool_mode == 2) {
        float *buf = malloc(nn_sgemm_packed_size(M, K) * sizeof *buf);
        nn_packed_a pa;
        nn_sgemm_pack_a(&pa, ta, M, K, A, ac, buf, 0);
        nn_sgemm_packed(&pa, tb, N, alpha, B, bc, beta, C, N);
        free(buf);
    } else {
        nn_sgemm(ta, tb, M, N, K, alpha, A, ac, B, bc, beta, C, N);
    }
    nn_gemm_set_mode(saved);
    int bad = 0;
    for (size_t i = 0; i < nc; i++)
        if (!(fabs((double)C[i] - R[i]) <= 1e-5 * S[i] + 1e-30))
            bad++;
    CHECK_MSG(bad == 0, "ta=%d tb=%d M=%d N=%d K=%d alpha=%g beta=%g mode=%d: %d of %zu wrong",
              ta, tb, M, N, K, alpha, beta, pool_mode, bad, nc);
    free(A);
    free(B);
    free(Ar);
    free(Br);
    free(C);
    free(R);
    free(S);
}

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

static int pick(const int *v, int n) { return v[nn_rand_u64(&rng) % (uint64_t)n]; }

static void test_gemm(void)
{
    rng = test_seed(0x5DEECE66DULL) | 1;
    nn_pool *pool = nn_pool_new(2);
    CHECK(pool != NULL);
    /* both sides of MR (8, 12), NR (16, 32), MC (144), KC (512), the small-M
     * limit (4), odd K (a half-empty last pair) */
    static const int ms[] = {1, 4, 5, 7, 8, 12, 13, 16, 24, 25, 64, 143, 145, 150};
    static const int ns[] = {1, 2, 15, 16, 17, 31, 32, 33, 47, 65, 100};
    static const int ks[] = {1, 2, 3, 15, 16, 17, 33, 255, 511, 512, 513, 700};
    static const float alphas[] = {1.0f, 1.0f, -0.5f, 2.0f};
    static const float betas[] = {0.0f, 1.0f, 0.25f, -1.0f};
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            for (int M = 5; M <= 14; M += 3)
                for (int N = 1; N <= 34; N += 11)
                    for (int K = 1; K <= 4; K++)
                        check(ta, tb, M, N, K, 1.0f, 0.0f, 0, NULL);
            for (int t = 0; t < 40; t++)
                check(ta, tb, pick(ms, COUNT(ms)), pick(ns, COUNT(ns)), pick(ks, COUNT(ks)),
                      alphas[t % 4], betas[t % 4], t % 3, pool);
            check(ta, tb, 96, 300, 96, 1.0f, 0.0f, 1, pool); /* threaded split */
            check(ta, tb, 40, 2100, 20, 1.0f, 1.0f, 0, NULL); /* N across NC */
        }
    nn_pool_free(pool);

    /* really BF16: 1 + 2^-10 is not a BF16 number, its product with 1
     * comes out as 1 */
    float a = 1.0f + 0x1p-10f, b = 1.0f, c = 0;
    float a12[12 * 2], b32[2 * 32], c12[12 * 32];
    for (int i = 0; i < 24; i++)
        a12[i] = a;
    for (int i = 0; i < 64; i++)
        b32[i] = b;
    int saved = nn_gemm_set_mode(NN_GEMM_TRAIN | NN_GEMM_BF16);
    nn_sgemm(0, 0, 12, 32, 2, 1.0f, a12, 2, b32, 32, 0.0f, c12, 32);
    nn_gemm_set_mode(saved);
    c = c12[5 * 32 + 7];
    CHECK(c == 2.0f);
    nn_sgemm(0, 0, 12, 32, 2, 1.0f, a12, 2, b32, 32, 0.0f, c12, 32);
    CHECK(c12[5 * 32 + 7] == 2.0f * a); /* FP32 mode keeps it */
}

/* A small net's gradients in BF16 against FP32's: close (the direction
 * and size of the gradient survive BF16 operands), and not identical
 * (BF16 really ran). The convolutions include Winograd ones. Measured
 * here: 6% apart by im2col, 11% by Winograd F(4,3), whose transforms
 * magnify the operands' rounding; batch norm's backward magnifies it too
 * (1.6% without it) - far less than the noise of a minibatch's gradient. */
static void test_net(void)
{
    const char *spec = "input 12x12x3\n"
                       "conv 8 3x3 same\nbn\nrelu\n"
                       "conv 16 3x3 same\nrelu\nmaxpool 2\n"
                       "conv 16 3x3 valid\nrelu\n"
                       "flatten\ndense 32\nrelu\n"
                       "dense classes softmax\n";
    double g32norm = 0, diff = 0, dot = 0, g16norm = 0;
    float *g[2] = {0};
    size_t np = 0;
    for (int prec = 0; prec < 2; prec++) {
        nn_net *net = nn_net_from_spec(spec, 5);
        CHECK_MSG(net != NULL, "%s", nn_error());
        if (!net)
            return;
        nn_net_init(net, 3);
        CHECK(nn_net_set_threads(net, 2) == 0);
        CHECK(nn_net_set_precision(net, prec ? NN_PRECISION_BF16 : NN_PRECISION_FP32) == 0);
        CHECK(nn_net_precision(net) == (prec ? NN_PRECISION_BF16 : NN_PRECISION_FP32));
        enum { n = 16 };
        static float x[n * 3 * 12 * 12];
        int y[n];
        uint64_t s = 11;
        for (int i = 0; i < n * 3 * 12 * 12; i++)
            x[i] = nn_rand_normal(&s);
        for (int i = 0; i < n; i++)
            y[i] = i % 5;
        CHECK(nn_net_forward(net, x, n, 1) != NULL);
        nn_net_zero_grad(net);
        CHECK(nn_net_backward(net, y, NULL) >= 0);
        np = nn_net_n_params(net);
        g[prec] = malloc(np * sizeof(float));
        memcpy(g[prec], nn_net_grads(net), np * sizeof(float));
        nn_net_free(net);
    }
    int same = 1;
    for (size_t i = 0; i < np; i++) {
        g32norm += (double)g[0][i] * g[0][i];
        g16norm += (double)g[1][i] * g[1][i];
        dot += (double)g[0][i] * g[1][i];
        diff += ((double)g[0][i] - g[1][i]) * ((double)g[0][i] - g[1][i]);
        same &= g[0][i] == g[1][i];
    }
    double rel = sqrt(diff / g32norm), cosine = dot / sqrt(g32norm * g16norm);
    printf("test_bf16: net gradients, BF16 against FP32: relative difference %.2e, cosine %.6f\n",
           rel, cosine);
    CHECK(rel < 0.25);
    CHECK(cosine > 0.98);
    CHECK(!same);
    free(g[0]);
    free(g[1]);
}

/* A short training in BF16 converges: two classes of 12x12 images (a
 * bright square left or right, on noise), loss and accuracy after 40
 * steps. */
static void test_training(nn_precision prec)
{
    nn_net *net = nn_net_from_spec("input 12x12x1\nconv 8 3x3 same\nbn\nrelu\nmaxpool 2\n"
                                   "conv 16 3x3 same\nrelu\nmaxpool 2\nflatten\ndense classes softmax\n", 2);
    CHECK_MSG(net != NULL, "%s", nn_error());
    if (!net)
        return;
    nn_net_init(net, 5);
    CHECK(nn_net_set_precision(net, prec) == 0);
    nn_optim_cfg oc = nn_optim_defaults(NN_ADAM);
    nn_optim *opt = nn_optim_new(net, &oc);
    CHECK(opt != NULL);
    enum { n = 32, P = 144 };
    static float x[n * P];
    int y[n];
    uint64_t s = 21;
    float first = 0, last = 0;
    int correct = 0;
    for (int step = 0; step < 40; step++) {
        for (int i = 0; i < n; i++) {
            y[i] = (int)(nn_rand_u64(&s) & 1);
            for (int p = 0; p < P; p++)
                x[i * P + p] = 0.3f * nn_rand_normal(&s);
            int r0 = 2 + (int)(nn_rand_u64(&s) % 6), c0 = y[i] ? 7 : 1;
            for (int r = r0; r < r0 + 4; r++)
                for (int c = c0; c < c0 + 4; c++)
                    x[i * P + r * 12 + c] += 1.0f;
        }
        const float *p = nn_net_forward(net, x, n, 1);
        CHECK(p != NULL);
        if (!p)
            break;
        if (step == 39)
            for (int i = 0; i < n; i++)
                correct += (p[2 * i + 1] > p[2 * i]) == (y[i] == 1);
        nn_net_zero_grad(net);
        float loss = nn_net_backward(net, y, NULL);
        if (step == 0)
            first = loss;
        last = loss;
        nn_optim_step(opt, 0.01f);
    }
    printf("test_bf16: training in %s: loss %.3f -> %.3f, last batch %d/%d right\n",
           prec ? "BF16" : "FP32", first, last, correct, n);
    CHECK(last < 0.5f * first);
    CHECK(correct >= n * 9 / 10);
    nn_optim_free(opt);
    nn_net_free(net);
}

int main(void)
{
    test_scalar();
    if (!nn_bf16_supported()) {
        test_done("test_bf16");
        printf("test_bf16: SKIP the BF16 kernel: this CPU has no AVX512_BF16 (or NN_KERNEL "
               "forces a kernel without it); only the scalar conversion was tested\n");
        nn_net *net = nn_net_from_spec("input 4x4x1\ndense classes softmax\n", 2);
        CHECK(net && nn_net_set_precision(net, NN_PRECISION_BF16) == -1);
        nn_net_free(net);
        return test_failures ? 1 : 77;
    }
    test_packing();
    test_packing_part();
    test_bt_kept();
    test_kept_v();
    test_gemm();
    test_net();
    test_training(NN_PRECISION_FP32);
    test_training(NN_PRECISION_BF16);
    return test_done("test_bf16");
}
