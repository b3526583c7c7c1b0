/* bench_q8.c - one thread of an INT8 kernel on the face net's GEMM shapes
 * (fer-vgg-wide, 48x48: eight 3x3 convolutions and the big dense layer at
 * batch 1 and 64), best of several passes each, so that another program
 * loading the machine shifts the figures less than a whole-net bench.
 * Usage: bench_q8 [kernel [reps]]; kernel is ref, avx2 or vnni. */
#include "nn_impl.h"
#include "kernels/q8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct shape {
    const char *name;
    int taps, cq, nb, P, side; /* side: input row width in pixels (conv) */
} shape;

static const shape shapes[] = {
    {"conv1 48x48 4->48", 9, 1, 3, 2304, 50},    {"conv2 48x48 48->48", 9, 12, 3, 2304, 50},
    {"conv3 24x24 48->96", 9, 12, 6, 576, 26},   {"conv4 24x24 96->96", 9, 24, 6, 576, 26},
    {"conv5 12x12 96->192", 9, 24, 12, 144, 14}, {"conv6 12x12 192->192", 9, 48, 12, 144, 14},
    {"conv7 6x6 192->384", 9, 48, 24, 36, 8},    {"conv8 6x6 384->384", 9, 96, 24, 36, 8},
    {"dense b1 13824->384", 1, 3456, 24, 1, 0},  {"dense b64 13824->384", 1, 3456, 24, 64, 0},
};

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "avx2";
    int reps = argc > 2 ? atoi(argv[2]) : 20;
    const nn_q8_kernel *k = nn__q8_kernel_named(name);
    if (!k) {
        printf("no '%s' INT8 kernel on this CPU\n", name);
        return 0;
    }
    uint64_t seed = 1;
    double total1 = 0;
    for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++) {
        const shape *s = &shapes[si];
        int dense = s->side == 0, out_w = dense ? 1 : s->side - 2;
        size_t cp = 4 * (size_t)s->cq;
        size_t img = dense ? cp : (size_t)s->side * s->side * cp;
        size_t in_len = (dense ? img * (size_t)s->P : img) + 64;
        size_t wlen = nn_q8_block_bytes(s->taps, s->cq) * s->nb;
        int oc = 16 * s->nb;
        uint8_t *in = malloc(in_len);
        int16_t *in16 = malloc(in_len * 2), *w16 = malloc(wlen * 2);
        int8_t *w = malloc(wlen);
        float *scale = malloc(sizeof(float) * oc), *bias = malloc(sizeof(float) * oc);
        int32_t *pix = malloc(sizeof(int32_t) * s->P), *opix = malloc(sizeof(int32_t) * s->P);
        int32_t tap[9];
        uint8_t *out = malloc((size_t)s->P * oc);
        for (size_t i = 0; i < in_len; i++)
            in[i] = (uint8_t)nn_rand_u64(&seed);
        for (size_t i = 0; i < wlen; i++)
            w[i] = (int8_t)((int)(nn_rand_u64(&seed) % 255) - 127);
        for (int j = 0; j < oc; j++) {
            scale[j] = 1e-4f;
            bias[j] = 100.0f;
        }
        nn_q8_widen_u8(in16, in, in_len);
        nn_q8_widen_s8(w16, w, wlen);
        for (int t = 0; t < s->taps; t++)
            tap[t] = (int32_t)(((t / 3) * s->side + t % 3) * cp);
        for (int p = 0; p < s->P; p++) {
            pix[p] = dense ? (int32_t)(p * img) : (int32_t)(((p / out_w) * s->side + p % out_w) * cp);
            opix[p] = p * oc;
        }
        nn_q8_gemm g = {.in = in, .pix = pix, .tap = tap, .P = s->P, .taps = s->taps, .cq = s->cq,
                        .w = w, .nb = s->nb, .oc = oc, .scale = scale, .bias = bias, .out8 = out,
                        .opix = opix, .in16 = k->wide ? in16 : NULL, .w16 = k->wide ? w16 : NULL};
        double best = -1;
        for (int r = 0; r < reps; r++) {
            double t0 = nn_now();
            k->gemm(&g, 0, s->nb, 0, s->P);
            double t = nn_now() - t0;
            best = best < 0 || t < best ? t : best;
        }
        double macs = (double)s->P * oc * s->taps * 4 * s->cq;
        printf("%-22s %9.1f us %6.1f GMAC/s\n", s->name, best * 1e6, macs / best * 1e-9);
        if (si != sizeof shapes / sizeof *shapes - 1)
            total1 += best;
        free(in), free(in16), free(w16), free(w), free(scale), free(bias), free(pix), free(opix),
            free(out);
    }
    printf("one face, one thread: %.1f us in the GEMMs\n", total1 * 1e6);
    return 0;
}
