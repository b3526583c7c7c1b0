/* bench_gemm - GFLOPS of the batch class's GEMM kernel on the engine's real shapes
 * (fer-classic conv layers via im2col, dense layers, their backward GEMMs).
 *
 *   bench_gemm [threads [seconds_per_shape]]     (defaults 1, 0.2)
 *   NN_KERNEL=ref|avx2|avx512 bench_gemm ...     forces a kernel
 *
 * Prints one key=value line per shape; threads > 1 uses nn_sgemm_mt. */
#include "nn_impl.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* CPU seconds of the whole process: with one thread, immune to other
 * programs taking the core (the wall clock is reported too). */
static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

typedef struct shape {
    const char *name;
    int ta, tb, M, N, K;
} shape;

static const shape shapes[] = {
    /* forward conv: M = OC, N = OH*OW, K = C*9 */
    {"conv1_fwd", 0, 0, 32, 2116, 9},
    {"conv2_fwd", 0, 0, 64, 1936, 288},
    {"conv3_fwd", 0, 0, 128, 400, 576},
    {"conv4_fwd", 0, 0, 128, 64, 1152},
    /* dense forward: x[batch][in] * W[out][in]^T */
    {"dense1_b1", 0, 1, 1, 1024, 2048},
    {"dense1_b64", 0, 1, 64, 1024, 2048},
    {"dense2_b1", 0, 1, 1, 512, 1024},
    {"dense2_b64", 0, 1, 64, 512, 1024},
    /* backward dW = dY * col^T: M = OC, N = C*9, K = OH*OW */
    {"conv1_dw", 0, 1, 32, 9, 2116},
    {"conv2_dw", 0, 1, 64, 288, 1936},
    {"conv3_dw", 0, 1, 128, 576, 400},
    {"conv4_dw", 0, 1, 128, 1152, 64},
    /* backward dcol = W^T * dY: M = C*9, N = OH*OW, K = OC */
    {"conv2_dcol", 1, 0, 288, 1936, 64},
    {"conv3_dcol", 1, 0, 576, 400, 128},
    {"conv4_dcol", 1, 0, 1152, 64, 128},
    /* dense backward: dW = dY^T x, dx = dY W */
    {"dense1_dw_b64", 1, 0, 1024, 2048, 64},
    {"dense1_dx_b64", 0, 0, 64, 2048, 1024},
    /* a big square one for the peak */
    {"square_1024", 0, 0, 1024, 1024, 1024},
};

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    double secs = argc > 2 ? atof(argv[2]) : 0.2;
    if (threads < 1)
        threads = 1;
    nn_pool *pool = threads > 1 ? nn_pool_new(threads) : NULL;
    uint64_t rng = 42;
    int nshapes = (int)(sizeof shapes / sizeof shapes[0]);
    double fwd_time = 0; /* seconds for one image's conv GEMMs */

    for (int s = 0; s < nshapes; s++) {
        const shape *sh = &shapes[s];
        int ar = sh->ta ? sh->K : sh->M, ac = sh->ta ? sh->M : sh->K;
        int br = sh->tb ? sh->N : sh->K, bc = sh->tb ? sh->K : sh->N;
        float *A = nn_alloc((size_t)ar * ac * sizeof(float));
        float *B = nn_alloc((size_t)br * bc * sizeof(float));
        float *C = nn_alloc((size_t)sh->M * sh->N * sizeof(float));
        if (!A || !B || !C) {
            fprintf(stderr, "bench_gemm: %s\n", nn_error());
            return 1;
        }
        for (size_t i = 0; i < (size_t)ar * ac; i++)
            A[i] = nn_rand_uniform(&rng) - 0.5f;
        for (size_t i = 0; i < (size_t)br * bc; i++)
            B[i] = nn_rand_uniform(&rng) - 0.5f;
        memset(C, 0, (size_t)sh->M * sh->N * sizeof(float));

        /* Best of repeated batches: the machine is shared, noise is one-sided. */
        double best = 1e30, best_cpu = 1e30, t_end = nn_now() + secs;
        int reps = 1;
        do {
            double t0 = nn_now(), c0 = cpu_now();
            for (int r = 0; r < reps; r++)
                nn_sgemm_mt(pool, sh->ta, sh->tb, sh->M, sh->N, sh->K, 1.0f, A, ac, B, bc,
                            0.0f, C, sh->N);
            double dt = (nn_now() - t0) / reps, dc = (cpu_now() - c0) / reps / threads;
            if (dt < best)
                best = dt;
            if (dc < best_cpu)
                best_cpu = dc;
            if (dt * reps < 2e-3)
                reps *= 2;
        } while (nn_now() < t_end);
        double flop = 2.0 * sh->M * sh->N * sh->K;
        /* cpu_gflops: flop over (process CPU seconds / threads), what gflops
         * would be if each thread had a core to itself: equals gflops on an
         * idle machine, stays meaningful on a busy one. It overstates shapes
         * too small for nn_sgemm_mt to split (they run on one thread). */
        printf("kernel=%s threads=%d shape=%s ta=%d tb=%d M=%d N=%d K=%d us=%.1f gflops=%.1f"
               " cpu_gflops=%.1f\n", nn_kernel_for(NN_SHAPES_BATCH), threads, sh->name, sh->ta, sh->tb,
               sh->M, sh->N, sh->K, best * 1e6, flop / best * 1e-9, flop / best_cpu * 1e-9);
        if (strstr(sh->name, "_fwd") || strcmp(sh->name, "dense1_b1") == 0 ||
            strcmp(sh->name, "dense2_b1") == 0)
            fwd_time += best;
        nn_free(A);
        nn_free(B);
        nn_free(C);
    }
    printf("kernel=%s threads=%d one_image_gemm_us=%.1f\n", nn_kernel_for(NN_SHAPES_BATCH), threads,
           fwd_time * 1e6);
    nn_pool_free(pool);
    return 0;
}
