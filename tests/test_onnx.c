/* test_onnx.c - the ONNX exporter against an independent implementation:
 * export small nets covering every layer kind (and the presets), load them
 * with OpenCV's DNN module and compare its probabilities with
 * nn_net_forward, on crops of a real picture and on random inputs, for
 * batches of one and of several. The cvw image helpers the comparison
 * relies on are checked by test_cvw.c. Needs assets/astronaut.png under
 * $NN_TEST_SRCDIR. */
#include "cvw.h"
#include "nn_impl.h"
#include "picture.h"
#include "runprog.h"
#include "testutil.h"

#include <stdint.h>
#include <string.h>
#include <unistd.h>

#define TOL 1e-4 /* absolute, on probabilities */

static const char *const fer_classes[] = {
    "angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"
};

static char tmpdir[256];
static double worst_diff; /* largest engine vs OpenCV difference seen */

/* ---- helpers ---------------------------------------------------------------- */

static void tmp_path(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", tmpdir, name);
}

static int file_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* Random but meaningful BN statistics and biases: an exporter that dropped
 * or swapped them would then change the output. */
static void perturb(nn_net *net, uint64_t seed)
{
    uint64_t s = seed | 1;
    for (int i = 0; i < net->n_layers; i++) {
        nn_layer *l = &net->layers[i];
        if (l->kind == NN_L_BN) {
            for (int c = 0; c < l->in_c; c++) {
                l->w[c] = 0.5f + nn_rand_uniform(&s);          /* gamma */
                l->b[c] = 0.4f * (nn_rand_uniform(&s) - 0.5f); /* beta */
                l->mean[c] = nn_rand_uniform(&s) - 0.5f;
                l->var[c] = 0.3f + 2.0f * nn_rand_uniform(&s);
            }
        } else if (l->kind == NN_L_CONV || l->kind == NN_L_DENSE) {
            for (size_t j = 0; j < l->nb; j++)
                l->b[j] = 0.1f * (nn_rand_uniform(&s) - 0.5f);
        }
    }
}

/* Export net, run it through OpenCV on raw (0..255, NCHW) inputs and the
 * engine on the matching preprocessed inputs, and compare. */
static void compare(nn_net *net, const char *what, const float *raw, const float *pre, int n)
{
    int c, h, w, k = nn_net_n_classes(net);
    nn_net_input_shape(net, &c, &h, &w);
    char path[512], tmp[600];
    tmp_path(path, sizeof path, "net.onnx");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);

    int rc = nn_export_onnx(net, path);
    CHECK_MSG(rc == 0, "%s: export: %s", what, nn_error());
    if (rc)
        return;
    CHECK_MSG(!file_exists(tmp), "%s: %s left behind", what, tmp);

    cvw_dnn *dnn = cvw_dnn_load_onnx(path);
    CHECK_MSG(dnn != NULL, "%s: OpenCV load: %s", what, cvw_error());
    if (!dnn)
        return;
    float *cv_out = malloc((size_t)n * k * sizeof(float));
    float *nn_out = malloc((size_t)n * k * sizeof(float));
    rc = cvw_dnn_forward(dnn, raw, n, c, h, w, cv_out, k);
    CHECK_MSG(rc == 0, "%s: OpenCV forward: %s", what, cvw_error());
    const float *p = nn_net_forward(net, pre, n, 0);
    CHECK_MSG(p != NULL, "%s: engine forward: %s", what, nn_error());
    if (rc == 0 && p) {
        memcpy(nn_out, p, (size_t)n * k * sizeof(float));
        double maxd = 0, maxp = 0;
        int argmax_agree = 1;
        for (int i = 0; i < n; i++) {
            int a = 0, b = 0;
            for (int j = 0; j < k; j++) {
                double d = fabs((double)nn_out[i * k + j] - cv_out[i * k + j]);
                if (!(d <= maxd)) /* NaN counts as the worst */
                    maxd = isnan(d) ? INFINITY : d;
                if (nn_out[i * k + j] > nn_out[i * k + a])
                    a = j;
                if (cv_out[i * k + j] > cv_out[i * k + b])
                    b = j;
                if (nn_out[i * k + j] > maxp)
                    maxp = nn_out[i * k + j];
            }
            if (a != b && fabs((double)nn_out[i * k + a] - nn_out[i * k + b]) > TOL)
                argmax_agree = 0;
        }
        CHECK_MSG(maxd <= TOL, "%s: engine and OpenCV differ by %g", what, maxd);
        CHECK_MSG(argmax_agree, "%s: engine and OpenCV pick different classes", what);
        if (maxd > worst_diff)
            worst_diff = maxd;
        printf("  %-34s n=%d  max |diff| %.3g  (largest prob %.3f)\n", what, n, maxd, maxp);
    }
    free(cv_out);
    free(nn_out);
    cvw_dnn_free(dnn);
}

/* Random raw pixels in [0, 255] and their preprocessed version. */
static void random_inputs(const nn_net *net, int n, uint64_t *s, float **raw, float **pre)
{
    int c, h, w;
    nn_net_input_shape(net, &c, &h, &w);
    size_t len = (size_t)n * c * h * w;
    const nn_preproc *pp = nn_net_preproc_c(net);
    *raw = malloc(len * sizeof(float));
    *pre = malloc(len * sizeof(float));
    for (size_t i = 0; i < len; i++) {
        (*raw)[i] = 255.0f * nn_rand_uniform(s);
        (*pre)[i] = (*raw)[i] * pp->scale + pp->bias;
    }
}

static void check_random(nn_net *net, const char *name, uint64_t *s)
{
    static const int batches[] = {1, 5};
    for (size_t b = 0; b < sizeof batches / sizeof *batches; b++) {
        float *raw, *pre;
        char what[128];
        random_inputs(net, batches[b], s, &raw, &pre);
        snprintf(what, sizeof what, "%s, random", name);
        compare(net, what, raw, pre, batches[b]);
        free(raw);
        free(pre);
    }
}

/* ---- the picture ------------------------------------------------------------ */


/* All crops as a batch: raw = equalized (if the model wants it) pixels, the
 * ONNX input; pre = nn_preprocess_u8, the engine input. */
static void check_picture(nn_net *net, const char *name, const picture *pic)
{
    int c, h, w;
    nn_net_input_shape(net, &c, &h, &w);
    if (c != 1)
        return; /* gray crops only feed one-channel nets */
    size_t px = (size_t)h * w;
    float *raw = malloc(N_CROPS * px * sizeof(float));
    float *pre = malloc(N_CROPS * px * sizeof(float));
    uint8_t *img = malloc(px);
    for (int i = 0; i < N_CROPS; i++) {
        int rc = make_crop(pic, i, w, h, img);
        CHECK_MSG(rc == 0, "crop %d: %s", i, cvw_error());
        nn_preprocess_u8(net, img, pre + i * px);
        if (nn_net_preproc_c(net)->equalize)
            nn_equalize_u8(img, w, h);
        for (size_t j = 0; j < px; j++)
            raw[i * px + j] = img[j];
    }
    char what[128];
    snprintf(what, sizeof what, "%s, picture crop", name);
    compare(net, what, raw, pre, 1);
    snprintf(what, sizeof what, "%s, picture crops", name);
    compare(net, what, raw, pre, N_CROPS);
    free(raw);
    free(pre);
    free(img);
}

/* ---- the nets ---------------------------------------------------------------- */

static const struct {
    const char *name, *spec;
} specs[] = {
    /* same padding with batch norm, stride 2 with asymmetric same padding
     * (5x5 over 48: 1 before, 2 after), pools, bn on images and on flat
     * data, dropouts, explicit flatten */
    {"all-kinds",
     "input 48x48x1\n"
     "conv 8 3x3 same bn relu\n"
     "conv 8 5x5 stride 2 same relu\n"
     "maxpool 2\n"
     "conv 12 3x3 valid relu\n"
     "avgpool 2\n"
     "bn\n"
     "dropout 0.3\n"
     "flatten\n"
     "dense 32 bn relu\n"
     "dropout 0.5\n"
     "dense classes softmax\n"},
    /* non-square input (catches W/H swaps), strided valid conv, overlapping
     * pools, global average pooling then dense */
    {"gap",
     "input 40x32x1\n"
     "conv 6 3x3 stride 2 valid relu\n"
     "avgpool 3 stride 2\n"
     "conv 10 3x3 same bn relu\n"
     "maxpool 2 stride 1\n"
     "gap\n"
     "dense classes softmax\n"},
    /* even kernel with same padding (1 before, 2 after), dense straight
     * after a pool (implicit flatten) */
    {"implicit-flatten",
     "input 24x20x1\n"
     "conv 4 4x4 same relu\n"
     "conv 5 3x3 stride 2 valid\n"
     "maxpool 3 stride 2\n"
     "dense 16 relu\n"
     "dense classes softmax\n"},
    /* residual blocks: a skip from the input through a projection, an
     * identity skip, nested blocks, a strided projection on an odd size,
     * a skip from a dropout (the identity: the tensor before it) */
    {"residual",
     "input 25x23x1\n"
     "residual\n"
     "conv 6 3x3 same bn relu\n"
     "end\n"
     "dropout 0.1\n"
     "residual\n"
     "conv 6 3x3 same bn relu\n"
     "residual\n"
     "conv 6 3x3 same relu\n"
     "end relu\n"
     "end relu\n"
     "residual\n"
     "conv 10 3x3 stride 2 same bn relu\n"
     "conv 10 3x3 same bn\n"
     "end relu\n"
     "gap\n"
     "dense classes softmax\n"},
    /* a crop (the centre at inference: Slice), odd margins on one side */
    {"crop",
     "input 48x48x1\n"
     "crop 40x37\n"
     "conv 8 3x3 same bn relu\n"
     "maxpool 2\n"
     "conv 8 3x3 same relu\n"
     "gap\n"
     "dense classes softmax\n"},
    /* colour input, stride-2 same conv on an odd size, bn after gap */
    {"colour",
     "input 17x15x3\n"
     "conv 6 3x3 stride 2 same\n"
     "relu\n"
     "conv 8 2x2 same bn relu\n"
     "gap\n"
     "bn\n"
     "dense classes softmax\n"},
};

static void check_spec(const char *name, const char *spec, nn_net *(*make)(const char *, int),
                       const picture *pic, uint64_t seed, float scale, float bias)
{
    nn_net *net = make(spec, 7);
    CHECK_MSG(net != NULL, "%s: %s", name, nn_error());
    if (!net)
        return;
    CHECK(nn_net_set_classes(net, fer_classes, 7) == 0);
    nn_net_init(net, seed);
    perturb(net, seed * 7 + 1);
    nn_net_preproc(net)->scale = scale;
    nn_net_preproc(net)->bias = bias;
    uint64_t s = seed * 31 + 5;
    check_random(net, name, &s);
    if (pic)
        check_picture(net, name, pic);
    nn_net_free(net);
}

/* ---- exporter edge cases ---------------------------------------------------- */


static void check_export_errors(void)
{
    nn_net *net = nn_net_from_arch("fer-compact", 7);
    CHECK(net != NULL);
    if (!net)
        return;
    nn_net_init(net, 1);
    char path[512];
    tmp_path(path, sizeof path, "no/such/dir/net.onnx");
    CHECK(nn_export_onnx(net, path) == -1);
    CHECK_MSG(strstr(nn_error(), "no/such/dir") != NULL, "message: %s", nn_error());

    /* metadata: class names and preprocessing travel with the model */
    tmp_path(path, sizeof path, "meta.onnx");
    CHECK(nn_net_set_classes(net, fer_classes, 7) == 0);
    CHECK(nn_export_onnx(net, path) == 0);
    size_t len;
    char *buf = slurp(path, &len);
    CHECK(buf != NULL);
    if (buf) {
        CHECK(len > 4);
        CHECK(buf[0] == 0x08 && buf[1] == 8); /* ir_version 8 first */
        const char *want[] = {"angry,disgust,fear,happy,sad,surprise,neutral",
                              "equalize", "true", "probs", "input", "Gemm", "Softmax"};
        for (size_t i = 0; i < sizeof want / sizeof *want; i++)
            CHECK_MSG(memmem(buf, len, want[i], strlen(want[i])) != NULL, "missing '%s'", want[i]);
        free(buf);
    }

    /* a comma inside a class name is escaped, not taken for a separator */
    static const char *const odd[] = {"a,b", "c\\d", "e", "f", "g", "h", "i"};
    CHECK(nn_net_set_classes(net, odd, 7) == 0);
    CHECK(nn_export_onnx(net, path) == 0);
    buf = slurp(path, &len);
    CHECK(buf != NULL);
    if (buf) {
        const char *want = "a\\,b,c\\\\d,e,f,g,h,i";
        CHECK_MSG(memmem(buf, len, want, strlen(want)) != NULL, "missing '%s'", want);
        free(buf);
    }
    remove(path);
    nn_net_free(net);
}

/* ---- main ------------------------------------------------------------------- */

static nn_net *from_spec(const char *spec, int k) { return nn_net_from_spec(spec, k); }
static nn_net *from_arch(const char *name, int k) { return nn_net_from_arch(name, k); }
/* A net with vector-scaling calibration, which the export must carry
 * (as Mul and Add before the Softmax). */
static nn_net *calibrated(const char *spec, int k)
{
    nn_net *net = nn_net_from_spec(spec, k);
    nn_calib cal = {.kind = NN_CALIB_VECTOR, .n_classes = k};
    for (int j = 0; j < k; j++) {
        cal.scale[j] = 0.4f + 0.25f * (float)j;
        cal.bias[j] = 0.3f * (float)(j % 3) - 0.3f;
    }
    CHECK_MSG(net && nn_net_set_calib(net, &cal) == 0, "%s", nn_error());
    return net;
}

int main(void)
{
    if (!rp_tmpdir(tmpdir, sizeof tmpdir, "test_onnx")) {
        perror("mkdtemp");
        return 1;
    }

    picture pic = {0};
    char asset[512];
    int rc = read_test_picture(&pic, asset, sizeof asset);
    CHECK_MSG(rc == 0, "%s (set NN_TEST_SRCDIR to the source tree)", cvw_error());

    uint64_t seed = test_seed(20261121);
    printf("seed %llu, kernel %s\n", (unsigned long long)seed, nn_kernel_name());
    check_export_errors();

    for (size_t i = 0; i < sizeof specs / sizeof *specs; i++)
        check_spec(specs[i].name, specs[i].spec, from_spec, rc == 0 ? &pic : NULL,
                   seed + i, i == 1 ? 1.0f / 128 : 1.0f / 255, i == 1 ? -1.0f : 0.0f);
    /* batches too: OpenCV 4.6 multiplies by N x C x 1 x 1 gates only for
     * N = 1, so the export spreads them over H x W first */
    check_spec("se",
               "input 25x23x1\nconv 6 3x3 same bn relu\nse 2\nresidual\nconv 10 3x3 stride 2 same bn relu\n"
               "conv 10 3x3 same bn\nse 3\nend relu\ngap\ndense classes softmax\n",
               from_spec, rc == 0 ? &pic : NULL, seed + 60, 1.0f / 255, 0.0f);
    check_spec("calibrated", specs[1].spec, calibrated, rc == 0 ? &pic : NULL, seed + 50, 1.0f / 255,
               0.0f);
    for (int i = 0; nn_preset_names[i]; i++)
        check_spec(nn_preset_names[i], nn_preset_names[i], from_arch, rc == 0 ? &pic : NULL,
                   seed + 100 + (uint64_t)i, 1.0f / 255, 0.0f);

    printf("largest engine vs OpenCV DNN difference: %.3g\n", worst_diff);
    free(pic.gray);
    /* leave nothing behind */
    const char *names[] = {"net.onnx", "meta.onnx"};
    char path[512];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        tmp_path(path, sizeof path, names[i]);
        remove(path);
    }
    rmdir(tmpdir);
    return test_done("test_onnx");
}
