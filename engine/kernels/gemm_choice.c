/*
 * gemm_choice.c - which GEMM micro-kernel runs, per shape class and
 * precision.
 *
 * The kernel a CPU "supports best" is not always the fastest: on AMD Zen 4
 * a 512-bit FMA is two 256-bit halves, so AVX-512 brings no more
 * multiply-adds per cycle than AVX2 and loses where its wider tiles compute
 * padding (a single face's small products). So on first use every kernel
 * the CPU supports is timed on a few products representative of each shape
 * class (NN_GEMM_SINGLE: one face's inference; NN_GEMM_BATCH: a batch's;
 * NN_GEMM_TRAIN: training's forward and transposed backward products), a
 * few milliseconds in all, and the fastest per class is kept. The choice is
 * cached per CPU model, so later starts skip the timing:
 *
 *   $XDG_CACHE_HOME/emotion-detector/kernels-<cpu>.txt
 *   (or ~/.cache/emotion-detector/...), text, one key=value a line:
 *     version=1                   this format
 *     cpu=<cpuid brand string>    must be this CPU's
 *     candidates=avx2,avx512      kernels timed, in order: must be this
 *                                 build's and CPU's, or the file is stale
 *     single=<kernel>             one line per class, each a candidate
 *     batch=<kernel>
 *     train=<kernel>
 *   Lines starting with '#' are comments. A file that breaks any of this
 *   is ignored (and rewritten); one that cannot be written is no error.
 *
 * Environment: NN_KERNEL=ref|avx2|avx512 forces one kernel for every class
 * (an unsupported name is ignored, and nn_kernel_name says so);
 * NN_KERNEL_CACHE=0 neither reads nor writes the cache (tests). BF16 (NN_GEMM_BF16 in the mode) has a single
 * kernel where the CPU has AVX512_BF16 (unless NN_KERNEL forces ref or
 * avx2), else falls back to FP32.
 */
#include "nn_impl.h"
#include "gemm_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifdef NN_X86
#include <cpuid.h>
#endif

/* ---- the calling thread's mode ---------------------------------------------- */

static _Thread_local int t_mode = NN_GEMM_BATCH;

int nn_gemm_mode(void) { return t_mode; }

int nn_gemm_set_mode(int mode)
{
    int old = t_mode;
    t_mode = mode;
    return old;
}

/* ---- what the CPU has --------------------------------------------------------- */

static const nn_gemm_kernel *const all_kernels[] = {
    &nn_gemm_kernel_ref,
#ifdef NN_X86
    &nn_gemm_kernel_avx2,
    &nn_gemm_kernel_avx512,
    &nn_gemm_kernel_avx512bf16,
#endif
    NULL,
};

const nn_gemm_kernel *const *nn__gemm_kernels_all(void) { return all_kernels; }

#ifdef NN_X86
static int have_avx2(void)
{
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && nn__os_saves(0x6);
}

static int have_avx512(void)
{
    /* 0xE6: SSE, AVX, opmask, ZMM0-15 upper halves, ZMM16-31 */
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma") &&
           nn__os_saves(0xE6);
}

/* AVX512_BF16 is cpuid leaf 7 subleaf 1, EAX bit 5. */
static int have_avx512bf16(void)
{
    unsigned a, b, c, d;
    if (!have_avx512() || !__builtin_cpu_supports("avx512bw") ||
        __get_cpuid_max(0, NULL) < 7)
        return 0;
    __cpuid_count(7, 1, a, b, c, d);
    return (a >> 5) & 1;
}
#endif

/* The CPU's model string (cpuid brand), trimmed, or "unknown". */
static void cpu_model(char *out, size_t cap)
{
    snprintf(out, cap, "unknown");
#ifdef NN_X86
    unsigned r[12];
    if ((unsigned)__get_cpuid_max(0x80000000u, NULL) < 0x80000004u)
        return;
    for (unsigned i = 0; i < 3; i++)
        __get_cpuid(0x80000002u + i, &r[4 * i], &r[4 * i + 1], &r[4 * i + 2], &r[4 * i + 3]);
    char s[49];
    memcpy(s, r, 48);
    s[48] = '\0';
    char *b = s;
    while (*b == ' ')
        b++;
    size_t n = strlen(b);
    while (n > 0 && b[n - 1] == ' ')
        b[--n] = '\0';
    if (n > 0)
        snprintf(out, cap, "%s", b);
#endif
}

/* ---- timing --------------------------------------------------------------------- */

/* Representative products per class, from the shipped models (48x48
 * faces, 48 to 384 channels): Winograd's [OC x C] x [C x tiles] with
 * weights packed ahead, dense layers, and for training the backward
 * products with a transposed operand. M = 0 ends a list. Kept small: all
 * classes for two kernels take a few milliseconds. */
#define MAX_SHAPES 6

typedef struct tshape {
    int ta, tb, M, N, K, packed;
} tshape;

static const tshape class_shapes[NN_GEMM_CLASSES][MAX_SHAPES] = {
    /* one face: few tiles per product (N small), the first conv by im2col,
     * the dense layer at M = 1 */
    {{0, 0, 48, 144, 48, 1}, {0, 0, 96, 36, 96, 1}, {0, 0, 192, 9, 192, 1},
     {0, 0, 384, 4, 384, 1}, {0, 0, 48, 2304, 9, 0}, {0, 1, 1, 384, 384, 0}},
    /* a batch: many tiles per product, the dense layer at M = 64 */
    {{0, 0, 96, 288, 96, 1}, {0, 0, 192, 72, 192, 1}, {0, 0, 384, 32, 384, 1},
     {0, 1, 64, 384, 192, 0}, {0, 0, 0, 0, 0, 0}},
    /* training: forward, dX = W^T dY, dW = dY X^T, a dense layer's dW */
    {{0, 0, 96, 288, 96, 1}, {1, 0, 96, 288, 96, 1}, {0, 1, 96, 96, 288, 0},
     {1, 0, 384, 192, 64, 0}, {0, 0, 0, 0, 0, 0}},
};

static double thread_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* One product with kernel kr, and A packed ahead by it (pa) for the
 * shapes that have it. */
static double time_shape(const nn_gemm_kernel *kr, const tshape *s, const nn_packed_a *pa,
                         const float *A, const float *B, float *C)
{
    double t0 = thread_seconds();
    if (s->packed)
        nn_sgemm_packed(pa, s->tb, s->N, 1.0f, B, s->tb ? s->K : s->N, 0.0f, C, s->N);
    else
        nn__sgemm_with(kr, s->ta, s->tb, s->M, s->N, s->K, 1.0f, A, s->ta ? s->M : s->K, B,
                       s->tb ? s->K : s->N, 0.0f, C, s->N);
    return thread_seconds() - t0;
}

#define MAX_CAND 8

int nn__gemm_fastest(const nn_gemm_kernel *const *cand, int n, int cls, double *secs)
{
    if (n <= 1)
        return 0;
    n = n > MAX_CAND ? MAX_CAND : n;
    const tshape *sh = class_shapes[cls];
    size_t na = 0, nb = 0, nc = 0, np = 0;
    for (int s = 0; s < MAX_SHAPES && sh[s].M; s++) {
        size_t a = (size_t)sh[s].M * sh[s].K, b = (size_t)sh[s].K * sh[s].N,
               c = (size_t)sh[s].M * sh[s].N, p = nn_sgemm_packed_size(sh[s].M, sh[s].K);
        na = a > na ? a : na;
        nb = b > nb ? b : nb;
        nc = c > nc ? c : nc;
        np = p > np ? p : np;
    }
    /* one packed copy of A per kernel, so each shape packs once */
    float *A = malloc(na * sizeof *A), *B = malloc(nb * sizeof *B), *C = malloc(nc * sizeof *C),
          *P = malloc(np * (size_t)n * sizeof *P);
    int best = 0;
    if (A && B && C && P) {
        uint32_t r = 12345;
        for (size_t i = 0; i < na; i++)
            A[i] = (float)((r = r * 1664525u + 1013904223u) >> 8) * 0x1p-24f - 0.5f;
        for (size_t i = 0; i < nb; i++)
            B[i] = (float)((r = r * 1664525u + 1013904223u) >> 8) * 0x1p-24f - 0.5f;
        /* Best of a few rounds per kernel and product, the kernels taking
         * turns, so a burst of load elsewhere hits them alike; thread CPU
         * time, so time spent descheduled does not count. The first round
         * warms caches and workspaces. */
        double t[MAX_CAND][MAX_SHAPES];
        for (int k = 0; k < n; k++)
            for (int s = 0; s < MAX_SHAPES; s++)
                t[k][s] = 1e30;
        for (int s = 0; s < MAX_SHAPES && sh[s].M; s++) {
            nn_packed_a pa[MAX_CAND];
            for (int k = 0; k < n && sh[s].packed; k++)
                nn__sgemm_pack_a_with(cand[k], &pa[k], sh[s].ta, sh[s].M, sh[s].K, A,
                                      sh[s].ta ? sh[s].M : sh[s].K, P + np * (size_t)k);
            for (int round = 0; round < 3; round++)
                for (int k = 0; k < n; k++) {
                    double dt = time_shape(cand[k], &sh[s], &pa[k], A, B, C);
                    t[k][s] = dt < t[k][s] ? dt : t[k][s];
                }
        }
        double best_t = 1e30;
        for (int k = 0; k < n; k++) {
            double sum = 0;
            for (int s = 0; s < MAX_SHAPES && sh[s].M; s++)
                sum += t[k][s];
            if (secs)
                secs[k] = sum;
            if (sum < best_t) {
                best_t = sum;
                best = k;
            }
        }
    }
    free(A);
    free(B);
    free(C);
    free(P);
    return best;
}

/* ---- the cache ------------------------------------------------------------------ */

static const char *const class_names[NN_GEMM_CLASSES] = {"single", "batch", "train"};

/* Makes the directory if missing; 0 when it exists afterwards. */
static int make_dir(const char *path)
{
    return mkdir(path, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

/* The cache file for this CPU into out (out[0] = 0 when there is none),
 * making its directories when `create`. */
static void cache_path(const char *cpu, char *out, size_t cap, int create)
{
    out[0] = '\0';
    const char *off = getenv("NN_KERNEL_CACHE");
    if (off && strcmp(off, "0") == 0)
        return;
    char dir[3072];
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (xdg && xdg[0] == '/')
        snprintf(dir, sizeof dir, "%s", xdg);
    else if (home && home[0])
        snprintf(dir, sizeof dir, "%s/.cache", home);
    else
        return;
    if (create && make_dir(dir))
        return;
    size_t n = strlen(dir);
    snprintf(dir + n, sizeof dir - n, "/emotion-detector");
    if (create && make_dir(dir))
        return;
    char name[64];
    size_t j = 0;
    for (const char *c = cpu; *c && j + 1 < sizeof name; c++) /* a safe file name */
        name[j++] = (char)((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                                   (*c >= '0' && *c <= '9') || *c == '-' || *c == '.'
                               ? *c
                               : '_');
    name[j] = '\0';
    if (snprintf(out, cap, "%s/kernels-%s.txt", dir, name) >= (int)cap)
        out[0] = '\0';
}

static void cand_list(const nn_gemm_kernel *const *cand, int n, char *out, size_t cap)
{
    out[0] = '\0';
    for (int k = 0; k < n; k++) {
        size_t l = strlen(out);
        snprintf(out + l, cap - l, "%s%s", k ? "," : "", cand[k]->name);
    }
}

/* Reads a choice for this CPU and candidate list into choice[]; 0 when the
 * file exists and is entirely valid. */
static int cache_read(const char *path, const char *cpu, const nn_gemm_kernel *const *cand,
                      int n, const nn_gemm_kernel **choice)
{
    FILE *f = path[0] ? fopen(path, "r") : NULL;
    if (!f)
        return -1;
    char want[256], line[512];
    cand_list(cand, n, want, sizeof want);
    int version = 0, cpu_ok = 0, cand_ok = 0, bad = 0;
    const nn_gemm_kernel *got[NN_GEMM_CLASSES] = {0};
    while (fgets(line, sizeof line, f)) {
        size_t l = strlen(line);
        if (l == sizeof line - 1 && line[l - 1] != '\n') {
            bad = 1; /* a line this long is not ours */
            break;
        }
        while (l > 0 && (line[l - 1] == '\n' || line[l - 1] == '\r'))
            line[--l] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        char *eq = strchr(line, '=');
        if (!eq) {
            bad = 1;
            break;
        }
        *eq = '\0';
        const char *key = line, *val = eq + 1;
        if (!strcmp(key, "version"))
            version = !strcmp(val, "1");
        else if (!strcmp(key, "cpu"))
            cpu_ok = !strcmp(val, cpu);
        else if (!strcmp(key, "candidates"))
            cand_ok = !strcmp(val, want);
        else {
            int c = 0;
            while (c < NN_GEMM_CLASSES && strcmp(key, class_names[c]))
                c++;
            int k = 0;
            while (k < n && strcmp(val, cand[k]->name))
                k++;
            if (c == NN_GEMM_CLASSES || k == n) {
                bad = 1;
                break;
            }
            got[c] = cand[k];
        }
    }
    fclose(f);
    if (bad || !version || !cpu_ok || !cand_ok)
        return -1;
    for (int c = 0; c < NN_GEMM_CLASSES; c++)
        if (!got[c])
            return -1;
    memcpy(choice, got, sizeof got);
    return 0;
}

/* Writes the choice through a temporary file renamed into place, so a
 * reader never sees half a file; any failure just leaves no cache. */
static void cache_write(const char *path, const char *cpu, const nn_gemm_kernel *const *cand,
                        int n, const nn_gemm_kernel *const *choice)
{
    if (!path[0])
        return;
    char tmp[4200], list[256];
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
    cand_list(cand, n, list, sizeof list);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return;
    fprintf(f, "# GEMM kernels of the emotion detector's engine, fastest per shape class as\n"
               "# measured on this CPU. Delete to measure again.\n"
               "version=1\ncpu=%s\ncandidates=%s\n", cpu, list);
    for (int c = 0; c < NN_GEMM_CLASSES; c++)
        fprintf(f, "%s=%s\n", class_names[c], choice[c]->name);
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        remove(tmp);
}

/* ---- the choice --------------------------------------------------------------- */

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static const nn_gemm_kernel *g_choice[NN_GEMM_CLASSES];
static const nn_gemm_kernel *g_bf16; /* NULL: no BF16, FP32 serves */
static const char *g_source = "";
static char g_name[192];
static char g_cache[4096];

static void choose(void)
{
    const nn_gemm_kernel *cand[MAX_CAND];
    int n = 0;
    g_bf16 = NULL;
#ifdef NN_X86
    __builtin_cpu_init();
    if (have_avx2())
        cand[n++] = &nn_gemm_kernel_avx2;
    if (have_avx512())
        cand[n++] = &nn_gemm_kernel_avx512;
    if (have_avx512bf16())
        g_bf16 = &nn_gemm_kernel_avx512bf16;
#endif
    if (n == 0)
        cand[n++] = &nn_gemm_kernel_ref;
    g_cache[0] = '\0';

    const char *e = getenv("NN_KERNEL");
    const nn_gemm_kernel *forced = NULL;
    if (e && strcmp(e, "ref") == 0)
        forced = &nn_gemm_kernel_ref;
    for (int k = 0; e && k < n; k++)
        if (strcmp(e, cand[k]->name) == 0)
            forced = cand[k];
    if (forced) {
        for (int c = 0; c < NN_GEMM_CLASSES; c++)
            g_choice[c] = forced;
        /* the BF16 kernel is AVX-512: "ref" and "avx2" rule it out */
        if (strcmp(forced->name, "avx512") != 0)
            g_bf16 = NULL;
        g_source = "NN_KERNEL";
    } else if (n == 1) {
        for (int c = 0; c < NN_GEMM_CLASSES; c++)
            g_choice[c] = cand[0];
        g_source = "only one";
    } else {
        char cpu[64];
        cpu_model(cpu, sizeof cpu);
        cache_path(cpu, g_cache, sizeof g_cache, 0);
        if (cache_read(g_cache, cpu, cand, n, g_choice) == 0) {
            g_source = "cache";
        } else {
            for (int c = 0; c < NN_GEMM_CLASSES; c++)
                g_choice[c] = cand[nn__gemm_fastest(cand, n, c, NULL)];
            g_source = "measured";
            cache_path(cpu, g_cache, sizeof g_cache, 1);
            cache_write(g_cache, cpu, cand, n, g_choice);
        }
    }
    /* A forced kernel this CPU cannot run is ignored, and the name says so:
     * NN_KERNEL=avx512 on an AVX2-only machine otherwise read as obeyed. */
    int n_name = snprintf(g_name, sizeof g_name, "single:%s batch:%s train:%s (%s)",
                          g_choice[0]->name, g_choice[1]->name, g_choice[2]->name, g_source);
    if (e && !forced && n_name > 0 && (size_t)n_name < sizeof g_name)
        snprintf(g_name + n_name, sizeof g_name - (size_t)n_name,
                 " NN_KERNEL=%.24s ignored: no such kernel on this CPU", e);
}

static void choose_once(void) { choose(); }

const nn_gemm_kernel *nn__gemm_kernel(int mode)
{
    pthread_once(&g_once, choose_once);
    if ((mode & NN_GEMM_BF16) && g_bf16)
        return g_bf16;
    int c = mode & NN_GEMM_CLASS_MASK;
    return g_choice[c < NN_GEMM_CLASSES ? c : NN_GEMM_BATCH];
}

void nn__gemm_rechoose(void)
{
    pthread_once(&g_once, choose_once);
    choose();
}

const char *nn__gemm_choice_source(void)
{
    pthread_once(&g_once, choose_once);
    return g_source;
}

const char *nn__gemm_cache_path(void)
{
    pthread_once(&g_once, choose_once);
    return g_cache;
}

const char *nn_kernel_name(void)
{
    pthread_once(&g_once, choose_once);
    return g_name;
}

const char *nn_kernel_for(nn_shape_class c)
{
    int m = c == NN_SHAPES_SINGLE ? NN_GEMM_SINGLE
          : c == NN_SHAPES_TRAIN  ? NN_GEMM_TRAIN
                                  : NN_GEMM_BATCH;
    return nn__gemm_kernel(m)->name;
}

int nn_bf16_supported(void)
{
    pthread_once(&g_once, choose_once);
    return g_bf16 != NULL;
}
