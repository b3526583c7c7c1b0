/* test_int8.c - INT8 inference of whole nets. Small nets are trained
 * here on generated 48x48 faces (a face oval, two eyes, and a mouth that
 * smiles, frowns, gapes or lies flat: four classes, with random position,
 * size, contrast and noise), calibrated on 300 of the training faces, and
 * run on 600 fresh ones. Trained rather than random nets, so that their
 * decisions depend on the faces (a random net tends to answer one class
 * for all); the checks that the nets learned (FP32 accuracy) and answer
 * every class keep the agreement meaningful. Checked:
 *  - INT8 and FP32 predictions agree on at least 99% of the faces, and the
 *    probabilities are close but not identical (INT8 really ran);
 *  - only the layers that must (a crop first, the softmax last) run in
 *    float between the quantized ones;
 *  - a batch gives bit for bit what single faces do, on 1 and 2 threads,
 *    small batches (one GEMM over their images) too;
 *  - integer Winograd for none, some or all of the 3x3 convolutions gives
 *    the same bits;
 *  - the calibration round-trips through save and load (QNT8 section) and
 *    gives the same outputs; a file without it loads as FP32 only; a
 *    damaged QNT8 section is refused.
 * Nets: one VGG-like (bn, gap, dense bn relu, a conv with 20 channels and
 * valid padding), one with a strided 5x5 conv, flatten and dense layers,
 * one behind a crop, one with squeeze-and-excitation blocks. */
#include "nn_impl.h"
#include "kernels/q8.h"
#include "testutil.h"

#include <string.h>

#define S 48
#define CLASSES 4

static void make_face(int cls, uint64_t *s, float *img)
{
    float cx = 24 + 6 * (nn_rand_uniform(s) - 0.5f), cy = 24 + 6 * (nn_rand_uniform(s) - 0.5f);
    float sc = 0.85f + 0.3f * nn_rand_uniform(s);
    float bg = 0.2f + 0.3f * nn_rand_uniform(s), skin = bg + 0.25f + 0.3f * nn_rand_uniform(s);
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            float u = (x - cx) / sc, v = (y - cy) / sc, val = bg;
            if (u * u / 256.0f + v * v / 400.0f < 1.0f)
                val = skin;
            for (int e = -1; e <= 1; e += 2) { /* eyes */
                float du = u - 7.0f * e, dv = v + 5.0f;
                if (du * du + dv * dv < 6.0f)
                    val = bg * 0.5f;
            }
            float mu = u, mv = v - 9.0f; /* mouth */
            int mouth = 0;
            if (fabsf(mu) < 8.0f) {
                float curve = 0.06f * mu * mu;
                if (cls == 0) /* smile: corners up */
                    mouth = fabsf(mv + curve - 2.0f) < 1.2f;
                else if (cls == 1) /* frown: corners down */
                    mouth = fabsf(mv - curve + 2.0f) < 1.2f;
                else if (cls == 2) /* open */
                    mouth = mu * mu / 25.0f + mv * mv / 12.0f < 1.0f;
                else /* flat */
                    mouth = fabsf(mv) < 1.0f;
            }
            if (mouth)
                val = bg * 0.4f;
            /* 8-bit pixels, preprocessed as the app does (x = p / 127.5 - 1) */
            float pix = nearbyintf(fminf(fmaxf(val + 0.15f * nn_rand_normal(s), 0.0f), 1.0f) * 255.0f);
            img[y * S + x] = pix / 127.5f - 1.0f;
        }
}

static const char *spec_vgg =
    "input 48x48x1\n"
    "conv 8 3x3 same bn relu\n"
    "maxpool 2\n"
    "conv 16 3x3 same bn relu\n"
    "maxpool 2\n"
    "dropout 0.1\n"
    "conv 24 3x3 same relu\n"
    "maxpool 2\n"
    "conv 20 3x3 valid bn relu\n"
    "gap\n"
    "dense 32 bn relu\n"
    "dropout 0.2\n"
    "dense classes softmax\n";

static const char *spec_flat =
    "input 48x48x1\n"
    "conv 12 5x5 stride 2 same relu\n"
    "conv 16 3x3 valid relu\n"
    "maxpool 2\n"
    "flatten\n"
    "dense 24 relu\n"
    "dense classes softmax\n";

/* a crop first: float, then quantized from its centre window */
static const char *spec_crop =
    "input 48x48x1\n"
    "crop 44\n"
    "conv 8 3x3 same bn relu\n"
    "maxpool 2\n"
    "conv 16 3x3 same bn relu\n"
    "maxpool 2\n"
    "conv 24 3x3 same relu\n"
    "maxpool 2\n"
    "conv 20 3x3 valid bn relu\n"
    "gap\n"
    "dense 32 bn relu\n"
    "dense classes softmax\n";

/* squeeze-and-excitation between quantized layers: before a max pool,
 * before a Winograd convolution's input, before the global pool */
static const char *spec_se =
    "input 48x48x1\n"
    "conv 8 3x3 same bn relu\n"
    "conv 16 3x3 same bn relu\n"
    "se 4\n"
    "maxpool 2\n"
    "conv 24 3x3 same bn relu\n"
    "se 4\n"
    "conv 24 3x3 same bn relu\n"
    "maxpool 2\n"
    "conv 20 3x3 valid bn relu\n"
    "se 4\n"
    "gap\n"
    "dense 32 bn relu\n"
    "dense classes softmax\n";

static int argmax(const float *p)
{
    int b = 0;
    for (int k = 1; k < CLASSES; k++)
        if (p[k] > p[b])
            b = k;
    return b;
}

static nn_net *train_net(const char *spec, int epochs, const float *x, const int *y, int n)
{
    nn_net *net = nn_net_from_spec(spec, CLASSES);
    nn_net_init(net, 3);
    nn_net_set_threads(net, 2);
    nn_optim_cfg cfg = nn_optim_defaults(NN_ADAM);
    cfg.lr = 2e-3f;
    nn_optim *opt = nn_optim_new(net, &cfg);
    const int batch = 32;
    for (int e = 0; e < epochs; e++)
        for (int b = 0; b + batch <= n; b += batch) {
            nn_net_forward(net, x + (size_t)b * S * S, batch, 1);
            nn_net_zero_grad(net);
            nn_net_backward(net, y + b, NULL);
            nn_optim_step(opt, cfg.lr);
        }
    nn_optim_free(opt);
    return net;
}

/* Probabilities of n faces in batches of 50. */
static void classify(nn_net *net, const float *x, int n, float *p)
{
    for (int b = 0; b < n; b += 50) {
        int m = n - b < 50 ? n - b : 50;
        const float *o = nn_net_forward(net, x + (size_t)b * S * S, m, 0);
        CHECK(o != NULL);
        if (o)
            memcpy(p + (size_t)b * CLASSES, o, sizeof(float) * m * CLASSES);
    }
}

/* float_steps: the layers the INT8 plan should leave in float (the
 * softmax at the end, a crop at the start) */
static void check_net(const char *name, const char *spec, int epochs, int float_steps,
                      const float *x, const int *y, int n_train, const float *xt, const int *yt,
                      int n_test)
{
    nn_net *net = train_net(spec, epochs, x, y, n_train);
    float *p32 = malloc(sizeof(float) * n_test * CLASSES);
    float *p8 = malloc(sizeof(float) * n_test * CLASSES);
    float *q = malloc(sizeof(float) * n_test * CLASSES);

    CHECK(!nn_net_has_int8(net));
    CHECK(nn_net_set_precision(net, NN_PRECISION_INT8) < 0); /* not calibrated yet */
    CHECK(nn_net_use_faster_precision(net) == NN_PRECISION_FP32); /* nothing else to pick */
    CHECK(nn_net_precision(net) == NN_PRECISION_FP32);
    CHECK(nn_net_calibrate_int8(net, x, 300) == 0);
    CHECK(nn_net_has_int8(net));
    /* the faster of the two for one face: either, but the one it says it set */
    nn_precision fast = nn_net_use_faster_precision(net);
    CHECK(fast == NN_PRECISION_FP32 || fast == NN_PRECISION_INT8);
    /* its INT8 kernel is one this CPU runs, and not the scalar one where
     * a SIMD kernel exists */
    CHECK(nn_net_set_int8_kernel(net, nn_net_int8_kernel(net)) == 0);
    CHECK(!strcmp(nn_net_int8_kernel(net), "ref") == !strcmp(nn_int8_kernel_name(), "ref"));
    CHECK(nn_net_precision(net) == fast);
    printf("%s: the faster precision here: %s\n", name, fast == NN_PRECISION_INT8 ? "int8" : "fp32");
    CHECK(nn_net_set_precision(net, NN_PRECISION_FP32) == 0);
    CHECK(nn_net_precision(net) == NN_PRECISION_FP32);
    classify(net, xt, n_test, p32);
    CHECK(nn_net_set_precision(net, NN_PRECISION_INT8) == 0);
    classify(net, xt, n_test, p8);
    CHECK_MSG(nn__q8_float_steps(net) == float_steps, "%s: %d layers in float in INT8, not %d", name,
              nn__q8_float_steps(net), float_steps);

    int correct = 0, agree = 0, counts[CLASSES] = {0};
    double diff = 0, maxdiff = 0;
    for (int i = 0; i < n_test; i++) {
        int a = argmax(p32 + i * CLASSES), b = argmax(p8 + i * CLASSES);
        correct += a == yt[i];
        agree += a == b;
        counts[b]++;
        for (int k = 0; k < CLASSES; k++) {
            double d = fabs(p32[i * CLASSES + k] - p8[i * CLASSES + k]);
            diff += d;
            maxdiff = d > maxdiff ? d : maxdiff;
        }
    }
    diff /= n_test * CLASSES;
    printf("%s (INT8 kernel %s): FP32 accuracy %.1f%%, INT8 agrees on %.2f%%, mean |dp| %.4f, "
           "max %.4f\n", name, nn_int8_kernel_name(), 100.0 * correct / n_test,
           100.0 * agree / n_test, diff, maxdiff);
    CHECK_MSG(correct >= n_test * 0.8, "%s: FP32 accuracy %d/%d: the net did not learn", name,
              correct, n_test);
    for (int k = 0; k < CLASSES; k++)
        CHECK_MSG(counts[k] >= n_test / 10, "%s: class %d predicted %d times", name, k, counts[k]);
    CHECK_MSG(agree >= n_test * 0.99, "%s: INT8 agrees with FP32 on %d of %d", name, agree, n_test);
    CHECK(diff < 0.02);
    CHECK(maxdiff > 0.0); /* the INT8 path really ran */

    /* the 3x3 convolutions as integer Winograd, as GEMMs, or the default
     * mix (where the kernel has Winograd): the same bits */
    for (int mode = 0; mode <= 2; mode += 2) {
        nn__q8_set_winograd(mode);
        classify(net, xt, n_test, q);
        CHECK_MSG(!memcmp(q, p8, sizeof(float) * n_test * CLASSES), "%s: Winograd %s changes the outputs",
                  name, mode ? "everywhere" : "nowhere");
        nn_net_set_threads(net, 2);
        for (int b = 1; b <= 5; b++) {
            const float *o = nn_net_forward(net, xt, b, 0);
            CHECK_MSG(o && !memcmp(o, p8, sizeof(float) * CLASSES * (size_t)b),
                      "%s: Winograd %s changes a batch of %d", name, mode ? "everywhere" : "nowhere", b);
        }
        nn_net_set_threads(net, 1);
    }
    nn__q8_set_winograd(1);

    /* every INT8 kernel this CPU has, set for this net: the same bits */
    static const char *kernels[] = {"ref", "avx2", "vnni"};
    for (int i = 0; i < 3; i++) {
        if (nn_net_set_int8_kernel(net, kernels[i]) != 0) {
            CHECK(strstr(nn_error(), kernels[i]) != NULL);
            continue;
        }
        CHECK(!strcmp(nn_net_int8_kernel(net), kernels[i]));
        classify(net, xt, n_test, q);
        CHECK_MSG(!memcmp(q, p8, sizeof(float) * n_test * CLASSES), "%s: INT8 kernel %s differs",
                  name, kernels[i]);
    }
    /* the chooser keeps the faster of two kernels for the net, in either
     * order: AVX2 against the scalar reference, many times slower */
    const nn_q8_kernel *avx2 = nn__q8_kernel_named("avx2");
    for (int order = 0; avx2 && order < 2; order++) {
        const nn_q8_kernel *ks[2] = {order ? avx2 : &nn_q8_kernel_ref, order ? &nn_q8_kernel_ref : avx2};
        CHECK(nn__q8_pick_kernel(net, ks, 2) == 0);
        CHECK_MSG(!strcmp(nn_net_int8_kernel(net), "avx2"), "%s: picked %s over avx2", name,
                  nn_net_int8_kernel(net));
    }
    CHECK(nn_net_set_int8_kernel(net, "sse9") < 0);
    CHECK(nn_net_set_int8_kernel(net, NULL) == 0);
    CHECK(!strcmp(nn_net_int8_kernel(net), nn_int8_kernel_name()));

    /* a batch is its faces one by one, on one thread or two */
    for (int threads = 1; threads <= 2; threads++) {
        nn_net_set_threads(net, threads);
        int same = 1;
        for (int i = 0; i < 7; i++) {
            const float *o = nn_net_forward(net, xt + (size_t)i * S * S, 1, 0);
            same &= o && !memcmp(o, p8 + i * CLASSES, sizeof(float) * CLASSES);
        }
        CHECK_MSG(same, "%s: single faces differ from the batch on %d threads", name, threads);
        /* small batches run each convolution as one GEMM over their images */
        for (int b = 2; b <= 5; b++) {
            const float *o = nn_net_forward(net, xt, b, 0);
            CHECK_MSG(o && !memcmp(o, p8, sizeof(float) * CLASSES * (size_t)b),
                      "%s: a batch of %d differs from its faces on %d threads", name, b, threads);
        }
    }

    /* a probability calibration applies in INT8 as in FP32: the outputs are
     * the calibrated softmax of the (INT8) logits, and sharper than before */
    {
        nn_calib cal = {.kind = NN_CALIB_TEMPERATURE, .n_classes = CLASSES};
        for (int k = 0; k < CLASSES; k++)
            cal.scale[k] = 1.0f / 0.5f;
        CHECK(nn_net_set_calib(net, &cal) == 0);
        const float *o = nn_net_forward(net, xt, 4, 0);
        const float *z = nn_net_logits(net);
        CHECK(o && z);
        if (o && z) {
            float want[4 * CLASSES];
            nn_calib_probs(&cal, z, want, 4, CLASSES);
            double d = 0;
            for (int i = 0; i < 4 * CLASSES; i++)
                d = fmax(d, fabs(want[i] - o[i]));
            CHECK_MSG(d < 1e-5, "%s: INT8 outputs are not the calibrated softmax (%g)", name, d);
            CHECK(o[argmax(o)] > p8[argmax(p8)] || o[argmax(o)] > 0.999f);
        }
        CHECK(nn_net_set_calib(net, NULL) == 0);
    }

    /* save and load: the calibration comes back and gives the same outputs */
    size_t len;
    void *buf = nn_net_save_mem(net, &len);
    CHECK(buf != NULL);
    nn_net *back = buf ? nn_net_load_mem(buf, len) : NULL;
    CHECK(back && nn_net_has_int8(back));
    if (back) {
        CHECK(nn_net_set_precision(back, NN_PRECISION_INT8) == 0);
        classify(back, xt, n_test, q);
        CHECK(!memcmp(q, p8, sizeof(float) * n_test * CLASSES));
        nn_net_free(back);
    }
    /* a damaged QNT8 section (a wrong layer count, CRC fixed up) is refused */
    uint8_t *b = buf;
    for (size_t i = 20; buf && i + 16 < len; i++)
        if (!memcmp(b + i, "QNT8", 4)) {
            b[i + 12]++;
            uint32_t crc = nn_crc32(0, b, len - 4);
            for (int k = 0; k < 4; k++)
                b[len - 4 + k] = (uint8_t)(crc >> (8 * k));
            back = nn_net_load_mem(buf, len);
            CHECK(back == NULL);
            CHECK(strstr(nn_error(), "QNT8") != NULL);
            nn_net_free(back);
            break;
        }
    free(buf);
    nn_net_free(net);
    free(p32);
    free(p8);
    free(q);
}

/* A file without the section (all files before INT8) loads, as FP32. */
static void check_old_file(void)
{
    nn_net *net = nn_net_from_spec(spec_flat, CLASSES);
    nn_net_init(net, 1);
    size_t len;
    void *buf = nn_net_save_mem(net, &len);
    CHECK(buf && !memmem(buf, len, "QNT8", 4));
    nn_net *back = buf ? nn_net_load_mem(buf, len) : NULL;
    CHECK(back != NULL);
    if (back) {
        CHECK(!nn_net_has_int8(back));
        CHECK(nn_net_set_precision(back, NN_PRECISION_INT8) < 0);
        CHECK(nn_net_set_precision(back, NN_PRECISION_FP32) == 0);
    }
    nn_net_free(back);
    nn_net_free(net);
    free(buf);
}

/* Every preset runs in INT8 (their shapes: 5x5 and strided convs, 128x128
 * inputs, flatten and gap heads), close to FP32 on smooth images even
 * with random weights. */
static void check_presets(void)
{
    for (int i = 0; nn_preset_names[i]; i++) {
        nn_net *net = nn_net_from_arch(nn_preset_names[i], 7);
        int c, h, w;
        nn_net_input_shape(net, &c, &h, &w);
        size_t per = (size_t)c * h * w;
        float *x = malloc(sizeof(float) * 8 * per), p32[4 * 7];
        for (size_t j = 0; j < 8 * per; j++)
            x[j] = 0.5f * sinf((float)(j % (size_t)w) * 0.3f + (float)(j / per)) +
                   0.3f * cosf((float)(j / (size_t)w % (size_t)h) * 0.2f);
        nn_net_init(net, 9);
        CHECK(nn_net_calibrate_int8(net, x + 4 * per, 4) == 0);
        const float *o = nn_net_forward(net, x, 4, 0);
        CHECK(o != NULL);
        if (o)
            memcpy(p32, o, sizeof p32);
        CHECK(nn_net_set_precision(net, NN_PRECISION_INT8) == 0);
        o = nn_net_forward(net, x, 4, 0);
        CHECK(o != NULL);
        double maxdiff = 0;
        for (int k = 0; o && k < 4 * 7; k++)
            maxdiff = fmax(maxdiff, fabs(o[k] - p32[k]));
        printf("%s: max |dp| %.4f\n", nn_preset_names[i], maxdiff);
        CHECK_MSG(o && maxdiff < 0.05, "%s: INT8 probabilities off by %g", nn_preset_names[i],
                  maxdiff);
        free(x);
        nn_net_free(net);
    }
}

int main(void)
{
    const int n_train = 960, n_test = 600;
    float *x = malloc(sizeof(float) * (n_train + n_test) * S * S);
    int *y = malloc(sizeof(int) * (n_train + n_test));
    uint64_t s = test_seed(11);
    for (int i = 0; i < n_train + n_test; i++) {
        y[i] = i % CLASSES;
        make_face(y[i], &s, x + (size_t)i * S * S);
    }
    const float *xt = x + (size_t)n_train * S * S;
    check_net("vgg", spec_vgg, 4, 1, x, y, n_train, xt, y + n_train, n_test);
    check_net("flat", spec_flat, 4, 1, x, y, n_train, xt, y + n_train, n_test);
    check_net("crop", spec_crop, 4, 2, x, y, n_train, xt, y + n_train, n_test);
    /* its gates start near one half: it learns more slowly */
    check_net("se", spec_se, 6, 1, x, y, n_train, xt, y + n_train, n_test);
    check_old_file();
    check_presets();
    free(x);
    free(y);
    return test_done("test_int8");
}
