/* test_kernel_choice - the GEMM kernel chooser (engine/kernels/gemm_choice.c):
 * it picks the faster of two fake kernels, NN_KERNEL forces one kernel for
 * every class, and the per-CPU cache is written, read back, and ignored
 * when corrupt, stale or turned off. */
#include "nn_impl.h"
#include "kernels/gemm_internal.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- fake kernels: the reference kernel, one of them slowed down -------- */

static volatile unsigned g_sink;

/* Far more than the product itself costs, so that the slow kernel stays
 * slower by a wide margin on a loaded machine or under the sanitizers
 * (2,000 was within their noise: the test failed twice under ASan). */
static void spin(void)
{
    for (unsigned i = 0; i < 40000; i++)
        g_sink += i;
}

static void ukr_slow(int k, const float *a, const float *b, ptrdiff_t ldb, float *c,
                     ptrdiff_t ldc, float alpha, float beta, int m, int n)
{
    spin();
    nn_gemm_kernel_ref.ukr(k, a, b, ldb, c, ldc, alpha, beta, m, n);
}

static void rows_bt_slow(int m, int N, int K, float alpha, const float *A, ptrdiff_t lda,
                         const float *B, ptrdiff_t ldb, float beta, float *C, ptrdiff_t ldc)
{
    for (int j = 0; j < N; j++)
        spin();
    nn_gemm_kernel_ref.rows_bt(m, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

static void rows_bn_slow(int m, int N, int K, float alpha, const float *A, ptrdiff_t lda,
                         const float *B, ptrdiff_t ldb, float beta, float *C, ptrdiff_t ldc)
{
    for (int j = 0; j < N; j++)
        spin();
    nn_gemm_kernel_ref.rows_bn(m, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

static void test_fastest(void)
{
    nn_gemm_kernel fast = nn_gemm_kernel_ref, slow = nn_gemm_kernel_ref;
    fast.name = "fast";
    slow.name = "slow";
    slow.ukr = ukr_slow;
    slow.rows_bt = rows_bt_slow;
    slow.rows_bn = rows_bn_slow;
    for (int cls = 0; cls < NN_GEMM_CLASSES; cls++) {
        const nn_gemm_kernel *ab[2] = {&slow, &fast}, *ba[2] = {&fast, &slow};
        double secs[2];
        CHECK(nn__gemm_fastest(ab, 2, cls, secs) == 1);
        CHECK(secs[0] > secs[1]);
        CHECK(nn__gemm_fastest(ba, 2, cls, secs) == 0);
        CHECK(secs[1] > secs[0]);
    }
}

/* ---- the choice itself ------------------------------------------------------------ */

static const char *klass(int c)
{
    return nn_kernel_for(c == NN_GEMM_SINGLE ? NN_SHAPES_SINGLE
                         : c == NN_GEMM_TRAIN ? NN_SHAPES_TRAIN
                                              : NN_SHAPES_BATCH);
}

static void test_forced(void)
{
    setenv("NN_KERNEL", "ref", 1);
    nn__gemm_rechoose();
    CHECK(strcmp(nn__gemm_choice_source(), "NN_KERNEL") == 0);
    for (int c = 0; c < NN_GEMM_CLASSES; c++) {
        CHECK(strcmp(klass(c), "ref") == 0);
        int saved = nn_gemm_set_mode(c);
        CHECK(strcmp(nn_sgemm_pack_kernel()->name, "ref") == 0);
        nn_gemm_set_mode(saved);
    }
    CHECK(strstr(nn_kernel_name(), "single:ref batch:ref train:ref") != NULL);
#ifdef NN_X86
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        setenv("NN_KERNEL", "avx2", 1);
        nn__gemm_rechoose();
        for (int c = 0; c < NN_GEMM_CLASSES; c++)
            CHECK(strcmp(klass(c), "avx2") == 0);
    }
#endif
    setenv("NN_KERNEL", "no-such-kernel", 1); /* ignored */
    nn__gemm_rechoose();
    CHECK(strcmp(nn__gemm_choice_source(), "NN_KERNEL") != 0);
    CHECK(strstr(nn_kernel_name(), "NN_KERNEL=no-such-kernel ignored") != NULL);
    unsetenv("NN_KERNEL");
    nn__gemm_rechoose();
    CHECK(strstr(nn_kernel_name(), "ignored") == NULL);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    static char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fputs(text, f);
    fclose(f);
}

static void test_cache(void)
{
    char dir[] = "/tmp/test_kernel_choice_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    setenv("XDG_CACHE_HOME", dir, 1);
    unsetenv("NN_KERNEL");
    unsetenv("NN_KERNEL_CACHE");
    nn__gemm_rechoose();
    if (strcmp(nn__gemm_choice_source(), "only one") == 0) {
        printf("test_kernel_choice: one kernel on this CPU, nothing to measure or cache\n");
        CHECK(nn__gemm_cache_path()[0] == '\0');
        rmdir(dir);
        return;
    }
    /* first use: measured, then written */
    CHECK(strcmp(nn__gemm_choice_source(), "measured") == 0);
    char path[4096];
    snprintf(path, sizeof path, "%s", nn__gemm_cache_path());
    CHECK(strncmp(path, dir, strlen(dir)) == 0);
    char *text = slurp(path);
    CHECK(text != NULL);
    char want[64];
    for (int c = 0; c < NN_GEMM_CLASSES; c++) {
        static const char *const key[] = {"single", "batch", "train"};
        snprintf(want, sizeof want, "\n%s=%s\n", key[c], klass(c));
        CHECK(strstr(text, want) != NULL);
    }
    CHECK(strstr(text, "version=1\n") != NULL);
    const char *cl = strstr(text, "\ncandidates=");
    CHECK(cl != NULL);
    char cands[256];
    CHECK(sscanf(cl + 1, "candidates=%255s", cands) == 1);
    char *cpu = strstr(text, "\ncpu=");
    CHECK(cpu != NULL);
    char cpuline[128];
    CHECK(sscanf(cpu + 1, "%127[^\n]", cpuline) == 1);

    /* later starts read it */
    nn__gemm_rechoose();
    CHECK(strcmp(nn__gemm_choice_source(), "cache") == 0);

    /* and take what it says (a choice that timing would not make: the
     * first candidate for single, the last for the others) */
    char first[64], last[64];
    CHECK(sscanf(cands, "%63[^,]", first) == 1);
    snprintf(last, sizeof last, "%s", strrchr(cands, ',') + 1);
    char body[1024];
    snprintf(body, sizeof body, "# a comment\n%s\nversion=1\ncandidates=%s\nsingle=%s\nbatch=%s\n"
             "train=%s\n", cpuline, cands, first, last, last);
    put(path, body);
    nn__gemm_rechoose();
    CHECK(strcmp(nn__gemm_choice_source(), "cache") == 0);
    CHECK(strcmp(klass(NN_GEMM_SINGLE), first) == 0);
    CHECK(strcmp(klass(NN_GEMM_BATCH), last) == 0);
    CHECK(strcmp(klass(NN_GEMM_TRAIN), last) == 0);
    snprintf(body, sizeof body, "%s\nversion=1\ncandidates=%s\nsingle=%s\nbatch=%s\ntrain=%s\n",
             cpuline, cands, last, first, last);
    put(path, body);
    nn__gemm_rechoose();
    CHECK(strcmp(klass(NN_GEMM_SINGLE), last) == 0);
    CHECK(strcmp(klass(NN_GEMM_BATCH), first) == 0);

    /* corrupt or stale files are ignored, measured again and rewritten */
    static const char *const bad[] = {
        "garbage\n",
        "",
        "version=2\n", /* completed below */
        "cpu=Some Other CPU\n",
        "candidates=ref\n",
        "single=no-such-kernel\n",
        "colour=blue\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (i < 2) {
            snprintf(body, sizeof body, "%s", bad[i]);
        } else {
            /* a valid file with one line replaced or added */
            snprintf(body, sizeof body, "%s%s%s%s%s%s", i == 3 ? bad[i] : cpuline,
                     i == 3 ? "" : "\n", i == 2 ? bad[i] : "version=1\n",
                     i == 4 ? bad[i] : "", i == 4 ? "" : "candidates=", i == 4 ? "" : cands);
            size_t n = strlen(body);
            snprintf(body + n, sizeof body - n, "\nsingle=%s\nbatch=%s\ntrain=%s\n%s", first,
                     first, first, i >= 5 ? bad[i] : "");
        }
        put(path, body);
        nn__gemm_rechoose();
        CHECK(strcmp(nn__gemm_choice_source(), "measured") == 0);
        text = slurp(path);
        CHECK(text != NULL && strstr(text, "version=1\n") != NULL);
    }
    /* one class missing */
    snprintf(body, sizeof body, "%s\nversion=1\ncandidates=%s\nsingle=%s\nbatch=%s\n", cpuline,
             cands, first, first);
    put(path, body);
    nn__gemm_rechoose();
    CHECK(strcmp(nn__gemm_choice_source(), "measured") == 0);

    /* NN_KERNEL_CACHE=0: neither read nor written */
    nn__gemm_rechoose();
    CHECK(strcmp(nn__gemm_choice_source(), "cache") == 0);
    setenv("NN_KERNEL_CACHE", "0", 1);
    nn__gemm_rechoose();
    CHECK(strcmp(nn__gemm_choice_source(), "measured") == 0);
    CHECK(remove(path) == 0);
    nn__gemm_rechoose();
    CHECK(access(path, F_OK) != 0);
    unsetenv("NN_KERNEL_CACHE");

    /* a cache that cannot be written is no error */
    setenv("XDG_CACHE_HOME", "/proc/no/such/dir", 1);
    nn__gemm_rechoose();
    CHECK(strcmp(nn__gemm_choice_source(), "measured") == 0);

    char sub[4200];
    snprintf(sub, sizeof sub, "%s/emotion-detector", dir);
    CHECK(rmdir(sub) == 0);
    CHECK(rmdir(dir) == 0);
    unsetenv("XDG_CACHE_HOME");
}

/* Products give the same results whichever class's kernel runs them. */
static void test_modes_agree(void)
{
    enum { M = 37, N = 45, K = 29 };
    static float A[M * K], B[K * N], C[M * N], R[M * N];
    uint64_t rng = 7;
    for (int i = 0; i < M * K; i++)
        A[i] = nn_rand_uniform(&rng) - 0.5f;
    for (int i = 0; i < K * N; i++)
        B[i] = nn_rand_uniform(&rng) - 0.5f;
    nn_sgemm_naive(0, 0, M, N, K, 1.0f, A, K, B, N, 0.0f, R, N);
    for (int c = 0; c < NN_GEMM_CLASSES; c++) {
        int saved = nn_gemm_set_mode(c);
        nn_sgemm(0, 0, M, N, K, 1.0f, A, K, B, N, 0.0f, C, N);
        nn_gemm_set_mode(saved);
        for (int i = 0; i < M * N; i++)
            CHECK(fabsf(C[i] - R[i]) < 1e-4f);
    }
}

int main(void)
{
    test_fastest();
    test_forced();
    test_cache();
    test_modes_agree();
    printf("test_kernel_choice: %s\n", nn_kernel_name());
    return test_done("test_kernel_choice");
}
