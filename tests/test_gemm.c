/* test_gemm - the packed SGEMM (whichever kernel is active: NN_KERNEL picks
 * ref, avx2 or avx512) against the naive triple loop: every transpose
 * combination, alpha/beta, edge sizes around the micro-tile and cache-block
 * boundaries of all kernels, padded leading dimensions, beta == 0 over a
 * NaN-filled C, the threaded split, A packed ahead, and B packed ahead
 * (bit for bit the same as packed by the product, FP32 and BF16). */
#include "nn_impl.h"
#include "testutil.h"

#include <string.h>

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

static uint64_t rng;

static void fill(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = 2.0f * nn_rand_uniform(&rng) - 1.0f;
}

static int pick(const int *v, int n)
{
    return v[nn_rand_u64(&rng) % (uint64_t)n];
}

/* One product checked against nn_sgemm_naive. `pad` adds columns to every
 * leading dimension; the padding of C must come back untouched. pool_mode:
 * 0 nn_sgemm, 1 nn_sgemm_mt with a NULL pool, 2 nn_sgemm_mt with `pool`,
 * 3 op(A) packed ahead (nn_sgemm_pack_a, nn_sgemm_packed; A is then
 * overwritten), 4 the same with the packed copy described again by a
 * second, reusing call.
 * The naive reference skips the padding, so it stays NaN-free. */
static void check(int ta, int tb, int M, int N, int K, float alpha, float beta, int pad,
                  int pool_mode, nn_pool *pool)
{
    int ar = ta ? K : M, ac = ta ? M : K; /* stored shapes */
    int br = tb ? N : K, bc = tb ? K : N;
    int lda = ac + pad, ldb = bc + pad, ldc = N + pad;
    size_t na = (size_t)ar * lda, nb = (size_t)br * ldb, nc = (size_t)M * ldc;
    float *A = malloc((na ? na : 1) * sizeof *A);
    float *B = malloc((nb ? nb : 1) * sizeof *B);
    float *C = malloc(nc * sizeof *C), *R = malloc(nc * sizeof *R);
    if (!A || !B || !C || !R) {
        CHECK(!"out of memory");
        goto out;
    }
    fill(A, na);
    fill(B, nb);
    fill(C, nc);
    /* NaN in A's and B's padding: reading past a row (and multiplying by
     * zero padding) would show in C */
    for (int i = 0; i < ar; i++)
        for (int j = ac; j < lda; j++)
            A[(size_t)i * lda + j] = NAN;
    for (int i = 0; i < br; i++)
        for (int j = bc; j < ldb; j++)
            B[(size_t)i * ldb + j] = NAN;
    if (beta == 0.0f) /* must be overwritten, never read */
        for (size_t i = 0; i < nc; i++)
            C[i] = NAN;
    for (int i = 0; i < M; i++) /* sentinel in C's padding */
        for (int j = N; j < ldc; j++)
            C[(size_t)i * ldc + j] = 12345.0f;
    memcpy(R, C, nc * sizeof *C);

    nn_sgemm_naive(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, R, ldc);
    if (pool_mode == 0) {
        nn_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    } else if (pool_mode >= 3) {
        float *buf = malloc(nn_sgemm_packed_size(M, K) * sizeof *buf);
        nn_packed_a pa;
        nn_sgemm_pack_a(&pa, ta, M, K, A, lda, buf, 0);
        if (pool_mode == 4) {
            memset(&pa, 0, sizeof pa);
            nn_sgemm_pack_a(&pa, ta, M, K, A, lda, buf, 1);
        }
        for (size_t i = 0; i < na; i++) /* the packed copy must not need A */
            A[i] = NAN;
        nn_sgemm_packed(&pa, tb, N, alpha, B, ldb, beta, C, ldc);
        free(buf);
    } else {
        nn_sgemm_mt(pool_mode == 2 ? pool : NULL, ta, tb, M, N, K, alpha, A, lda, B, ldb,
                    beta, C, ldc);
    }

    /* Float sums of K products of values in [-1,1] drift by ~K*eps at worst. */
    double tol = 1e-6 + 4e-7 * K * fabs(alpha);
    int bad = 0;
    for (int i = 0; i < M && bad < 3; i++)
        for (int j = 0; j < ldc && bad < 3; j++) {
            float c = C[(size_t)i * ldc + j], r = R[(size_t)i * ldc + j];
            double t = tol + 1e-6 * fabs(r);
            if (!(fabs((double)c - r) <= t)) {
                bad++;
                fprintf(stderr, "  C[%d][%d] = %.9g, expected %.9g\n", i, j, c, r);
            }
        }
    CHECK_MSG(bad == 0, "ta=%d tb=%d M=%d N=%d K=%d alpha=%g beta=%g pad=%d mode=%d", ta, tb,
              M, N, K, alpha, beta, pad, pool_mode);
out:
    free(A);
    free(B);
    free(C);
    free(R);
}

/* Sizes on both sides of every kernel's MR (4, 6, 8, 12), NR (8, 16, 32),
 * MC (128, 144), KC (256) and the small-M path's limit (4); multiples of 8
 * that are not of 12 take AVX-512's 8-row kernel. */
static const int ms[] = {1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 13, 16, 17, 24, 25, 40,
                         127, 129, 136, 145, 150};
static const int ns[] = {1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 65, 100};
static const int ks[] = {1, 2, 3, 9, 16, 17, 255, 256, 257, 300, 515};

static const float alphas[] = {1.0f, 1.0f, -0.5f, 2.0f, 1.0f};
static const float betas[] = {0.0f, 1.0f, 0.25f, 0.0f, -1.0f};

/* op(B) packed ahead (nn_sgemm_pack_b_rows, as Winograd's input
 * transform does it) gives the very bits of nn_sgemm_packed on the plain
 * B, in FP32 and, where the CPU has it, BF16 mode: rows packed in groups
 * of `group` (the last one short when K is odd), last group first.
 * Returns 1 when the product took B packed ahead, 0 when
 * nn_sgemm_pack_b_begin declined it (then nothing is compared). */
static int check_packed_b(int mode, int M, int N, int K, int ta, int group)
{
    int old = nn_gemm_set_mode(mode);
    int lda = ta ? M : K;
    float *A = malloc((size_t)M * K * sizeof *A), *B = malloc((size_t)K * N * sizeof *B);
    float *buf = malloc(nn_sgemm_packed_size(M, K) * sizeof *buf);
    float *pbuf = malloc(nn_sgemm_packed_b_size(K, N) * sizeof *pbuf);
    float *C0 = malloc((size_t)M * N * sizeof *C0), *C1 = malloc((size_t)M * N * sizeof *C1);
    CHECK(A && B && buf && pbuf && C0 && C1);
    fill(A, (size_t)M * K);
    fill(B, (size_t)K * N);
    nn_packed_a pa;
    nn_packed_b pb;
    nn_sgemm_pack_a(&pa, ta, M, K, A, lda, buf, 0);
    int took = nn_sgemm_pack_b_begin(&pb, &pa, N, pbuf) == 0;
    if (took) {
        for (int k0 = (K - 1) / group * group; k0 >= 0; k0 -= group)
            nn_sgemm_pack_b_rows(&pb, k0, K - k0 < group ? K - k0 : group, B + (size_t)k0 * N, N);
        fill(C0, (size_t)M * N);
        memcpy(C1, C0, (size_t)M * N * sizeof *C1);
        nn_sgemm_packed(&pa, 0, N, 0.5f, B, N, 1.0f, C0, N);
        nn_sgemm_packed_ab(&pa, &pb, 0.5f, 1.0f, C1, N);
        CHECK(memcmp(C0, C1, (size_t)M * N * sizeof *C0) == 0);
    }
    free(A);
    free(B);
    free(buf);
    free(pbuf);
    free(C0);
    free(C1);
    nn_gemm_set_mode(old);
    return took;
}

static void test_packed_b(void)
{
    /* Winograd's forward shapes (OC, tile slots, C), odd K and N included */
    static const int shapes[][3] = {{48, 130, 48}, {200, 77, 31}, {384, 512, 384},
                                    {13, 33, 1}, {300, 40, 96}};
    int modes[2] = {NN_GEMM_TRAIN, NN_GEMM_TRAIN | NN_GEMM_BF16};
    for (int b = 0; b < 1 + nn_bf16_supported(); b++) {
        int took = 0;
        for (int s = 0; s < COUNT(shapes); s++)
            for (int ta = 0; ta < 2; ta++)
                took += check_packed_b(modes[b], shapes[s][0], shapes[s][1], shapes[s][2], ta,
                                       2 << (s % 3));
        /* FP32 packs B ahead at least for M past its row blocks, BF16
         * always */
        CHECK(took >= (b ? 2 * COUNT(shapes) : 2));
        /* never: a few rows of A (not packed), K past a block */
        CHECK(!check_packed_b(modes[b], 3, 40, 20, 0, 2));
        CHECK(!check_packed_b(modes[b], 400, 40, 1500, 0, 8));
    }
}

int main(void)
{
    rng = test_seed(0x9E3779B97F4A7C15ULL) | 1;
    printf("test_gemm: kernel %s\n", nn_kernel_name());
    nn_pool *pool = nn_pool_new(2);
    CHECK(pool != NULL);

    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            /* exhaustive over the small sizes */
            for (int a = 0; a < 5; a++)
                for (int M = 1; M <= 13; M += 3)
                    for (int N = 1; N <= 34; N += 11)
                        check(ta, tb, M, N, 1 + (M * N) % 7, alphas[a], betas[a], a % 2, 0,
                              NULL);
            /* random edges */
            for (int t = 0; t < 100; t++) {
                int a = t % 5;
                check(ta, tb, pick(ms, COUNT(ms)), pick(ns, COUNT(ns)), pick(ks, COUNT(ks)),
                      alphas[a], betas[a],
                      (int)(nn_rand_u64(&rng) % 3) * 5, t % 5, pool);
            }
            /* a K crossing two KC blocks, N crossing NC (2048) */
            check(ta, tb, 13, 2100, 3, 1.0f, 0.0f, 1, 0, NULL);
            check(ta, tb, 3, 2100, 700, 1.0f, 0.5f, 0, 0, NULL);
            /* big enough for nn_sgemm_mt to split: by rows, by columns,
             * columns with the small-M path, ragged last chunks */
            check(ta, tb, 30, 70, 600, -1.0f, 1.0f, 3, 2, pool);
            check(ta, tb, 151, 37, 300, 1.0f, 0.0f, 1, 2, pool);
            check(ta, tb, 37, 1001, 40, 0.5f, 0.5f, 2, 2, pool);
            check(ta, tb, 3, 2100, 200, 1.0f, 0.0f, 0, 2, pool);
        }

    /* K == 0 and alpha == 0: C = beta*C, never reading C when beta == 0 */
    for (int ta = 0; ta < 2; ta++) {
        check(ta, 0, 20, 30, 0, 1.0f, 0.0f, 2, 0, NULL);
        check(ta, 1, 20, 30, 0, 1.0f, 0.5f, 0, 0, NULL);
        check(ta, 1, 20, 30, 5, 0.0f, 0.0f, 0, 0, NULL);
        check(ta, 0, 20, 30, 5, 0.0f, 2.0f, 1, 2, pool);
    }

    /* The engine's real shapes: conv forward (M, N, K) = (OC, OH*OW, C*9),
     * dense forward (batch, out, in) with B^T, conv backward dW and dcol. */
    static const int fwd[][3] = {{32, 2116, 9}, {64, 1936, 288}, {128, 400, 576},
                                 {128, 64, 1152}};
    for (int s = 0; s < 4; s++)
        for (int mode = 0; mode < 3; mode += 2) {
            const int *d = fwd[s];
            check(0, 0, d[0], d[1], d[2], 1.0f, 0.0f, 0, mode, pool);
            check(0, 1, d[0], d[2], d[1], 1.0f, 1.0f, 0, mode, pool);  /* dW += dY col^T */
            check(1, 0, d[2], d[1], d[0], 1.0f, 0.0f, 0, mode, pool);  /* dcol = W^T dY */
        }
    /* Winograd's: U[xi] . V[xi] and U[xi]^T . dM[xi] with A packed ahead,
     * dU[xi] += dM[xi] . V[xi]^T (OC, C, tile slots T) */
    static const int wino[][3] = {{64, 32, 60}, {128, 64, 30}, {128, 128, 96}, {256, 256, 64}};
    for (int s = 0; s < 4; s++) {
        const int *d = wino[s];
        check(0, 0, d[0], d[2], d[1], 1.0f, 0.0f, 0, 3, pool);
        check(1, 0, d[1], d[2], d[0], 1.0f, 0.0f, 0, 4, pool);
        check(0, 1, d[0], d[1], d[2], 1.0f, 1.0f, 0, 0, pool);
    }
    for (int mode = 0; mode < 3; mode += 2) {
        check(0, 1, 1, 1024, 2048, 1.0f, 0.0f, 0, mode, pool);
        check(0, 1, 64, 1024, 2048, 1.0f, 0.0f, 0, mode, pool);
        check(0, 1, 64, 512, 1024, 1.0f, 1.0f, 0, mode, pool);
        check(1, 0, 512, 1024, 64, 1.0f, 1.0f, 0, mode, pool); /* dense dW = dY^T x */
        check(0, 0, 64, 1024, 512, 1.0f, 0.0f, 0, mode, pool); /* dense dx = dY W */
    }

    test_packed_b();

    nn_pool_free(pool);
    printf("test_gemm: tested kernel %s\n", nn_kernel_name());
    return test_done("test_gemm");
}
