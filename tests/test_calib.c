/* test_calib.c - probability calibration: the model file carries it (round
 * trip, files without it still load, damaged sections refused), inference
 * applies it and training does not, fitting recovers a known temperature
 * and known per-class scales, and ECE and NLL on cases worked by hand. */
#include "nn_impl.h"
#include "testutil.h"

#include <string.h>

static const char *const spec =
    "input 8x8x1\nconv 4 3x3 same bn relu\nmaxpool 2\nflatten\ndense classes softmax\n";
static const char *const names[] = {"angry", "happy", "sad", "neutral"};
enum { K = 4 };

static nn_net *make_net(void)
{
    nn_net *net = nn_net_from_spec(spec, K);
    CHECK_MSG(net != NULL, "%s", nn_error());
    nn_net_init(net, 3);
    float *p = nn_net_params(net);
    uint64_t s = 5;
    for (size_t i = 0; i < nn_net_n_params(net); i++)
        p[i] += 0.3f * nn_rand_normal(&s); /* biases too, so logits differ */
    nn_net_set_classes(net, names, K);
    return net;
}

static nn_calib vector_calib(void)
{
    nn_calib c = {.kind = NN_CALIB_VECTOR, .n_classes = K,
                  .scale = {0.5f, 0.8f, 1.25f, 2.0f}, .bias = {0.1f, -0.2f, 0.0f, 0.3f}};
    return c;
}

/* Offset of section `tag`'s payload in a model file, or 0. */
static size_t find_sec(const uint8_t *b, size_t len, const char *tag, size_t *plen)
{
    size_t pos = 20;
    while (pos + 12 <= len - 4) {
        uint64_t sl = 0;
        for (int i = 7; i >= 0; i--)
            sl = sl << 8 | b[pos + 4 + i];
        if (!memcmp(b + pos, tag, 4)) {
            *plen = (size_t)sl;
            return pos + 12;
        }
        pos += 12 + (size_t)sl;
    }
    return 0;
}

static void fix_crc(uint8_t *b, size_t len)
{
    uint32_t c = nn_crc32(0, b, len - 4);
    for (int i = 0; i < 4; i++)
        b[len - 4 + i] = (uint8_t)(c >> (8 * i));
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void test_inference(void)
{
    nn_net *net = make_net();
    float x[2 * 64];
    uint64_t s = 9;
    for (int i = 0; i < 128; i++)
        x[i] = nn_rand_normal(&s);
    float raw[2 * K], want[2 * K], logits[2 * K];
    memcpy(raw, nn_net_forward(net, x, 2, 0), sizeof raw);
    memcpy(logits, nn_net_logits(net), sizeof logits);
    nn_calib c = vector_calib();
    CHECK(nn_net_set_calib(net, &c) == 0);
    const float *p = nn_net_forward(net, x, 2, 0);
    nn_calib_probs(&c, logits, want, 2, K);
    double d = 0, moved = 0;
    for (int i = 0; i < 2 * K; i++) {
        d = fmax(d, fabs(p[i] - want[i]));
        moved = fmax(moved, fabs(p[i] - raw[i]));
    }
    CHECK(d < 1e-6 && moved > 1e-3);
    /* by hand for image 0 */
    double e[K], sum = 0;
    for (int j = 0; j < K; j++)
        sum += e[j] = exp(c.scale[j] * logits[j] + c.bias[j]);
    for (int j = 0; j < K; j++)
        CHECK_NEAR(p[j], e[j] / sum, 1e-6);
    /* The logits stay raw; training passes are uncalibrated. */
    CHECK(!memcmp(nn_net_logits(net), logits, sizeof logits));
    p = nn_net_forward(net, x, 2, 1);
    float tr[2 * K];
    memcpy(tr, p, sizeof tr);
    nn_net_set_calib(net, NULL);
    CHECK(!memcmp(tr, nn_net_forward(net, x, 2, 1), sizeof tr));
    CHECK(nn_net_calib(net)->kind == NN_CALIB_NONE);
    /* Bad calibrations are refused. */
    nn_calib bad = c;
    bad.scale[2] = -1;
    CHECK(nn_net_set_calib(net, &bad) < 0 && strstr(nn_error(), "class 2"));
    bad = c;
    bad.n_classes = 3;
    CHECK(nn_net_set_calib(net, &bad) < 0);
    bad = c;
    bad.bias[0] = NAN;
    CHECK(nn_net_set_calib(net, &bad) < 0);
    CHECK(nn_calib_temperature(&c) == 0.0f);
    nn_calib t = {.kind = NN_CALIB_TEMPERATURE, .n_classes = K, .scale = {0.5f, 0.5f, 0.5f, 0.5f}};
    CHECK(nn_calib_temperature(&t) == 2.0f && nn_calib_temperature(NULL) == 1.0f);
    bad = c;
    bad.kind = (nn_calib_kind)9;
    CHECK(nn_net_set_calib(net, &bad) < 0 && strstr(nn_error(), "kind 9"));
    nn_net_free(net);
}

static void test_file(void)
{
    nn_net *a = make_net();
    size_t len0, len;
    uint8_t *plain = nn_net_save_mem(a, &len0);
    nn_calib c = vector_calib();
    CHECK(nn_net_set_calib(a, &c) == 0);
    uint8_t *buf = nn_net_save_mem(a, &len);
    CHECK(plain && buf);
    if (!plain || !buf)
        return;
    size_t pl;
    /* An uncalibrated net writes no CALB: the file of the format before it. */
    CHECK(find_sec(plain, len0, "CALB", &pl) == 0);
    size_t off = find_sec(buf, len, "CALB", &pl);
    CHECK(off > 0 && pl == 12 + 8 * K && len == len0 + 12 + pl);

    nn_net *b = nn_net_load_mem(buf, len);
    CHECK_MSG(b != NULL, "%s", nn_error());
    if (b) {
        const nn_calib *cb = nn_net_calib(b);
        CHECK(cb->kind == NN_CALIB_VECTOR && cb->n_classes == K &&
              !memcmp(cb->scale, c.scale, sizeof c.scale) && !memcmp(cb->bias, c.bias, sizeof c.bias));
        float x[64];
        for (int i = 0; i < 64; i++)
            x[i] = (float)(i % 7) - 3;
        float pa[K];
        memcpy(pa, nn_net_forward(a, x, 1, 0), sizeof pa);
        CHECK(!memcmp(pa, nn_net_forward(b, x, 1, 0), sizeof pa));
        size_t len2;
        uint8_t *again = nn_net_save_mem(b, &len2);
        CHECK(again && len2 == len && !memcmp(again, buf, len));
        free(again);
        nn_net_free(b);
    }
    /* The file without the section loads uncalibrated. */
    b = nn_net_load_mem(plain, len0);
    CHECK(b && nn_net_calib(b)->kind == NN_CALIB_NONE);
    nn_net_free(b);

    /* Damaged sections: a newer section version, a wrong class count, a
     * negative scale, an unknown kind, a short payload. */
    uint8_t *bad = malloc(len);
    struct { size_t at; uint32_t v; const char *msg; } cases[] = {
        {0, 2, "version 2"}, {8, 5, "classes"}, {12, 0xBF800000u, "not finite"}, {4, 7, "kind 7"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        memcpy(bad, buf, len);
        put32(bad + off + cases[i].at, cases[i].v);
        fix_crc(bad, len);
        nn_net *n = nn_net_load_mem(bad, len);
        const char *e = nn_error();
        /* a negative scale is finite: the message is the scale check's */
        int ok = !n && strstr(e, "CALB") && (strstr(e, cases[i].msg) || (i == 2 && strstr(e, "scale")));
        CHECK_MSG(ok, "case %zu: %s", i, n ? "loaded" : e);
        nn_net_free(n);
    }
    free(bad);
    free(buf);
    free(plain);
    nn_net_free(a);
}

/* The model committed before calibration existed still loads. */
static void test_committed_model(void)
{
    const char *src = getenv("NN_TEST_SRCDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/models/fer-vgg.model", src ? src : ".");
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("skipped: %s not found\n", path);
        return;
    }
    fclose(f);
    nn_net *net = nn_net_load(path);
    CHECK_MSG(net != NULL, "%s", nn_error());
    if (net)
        CHECK(nn_net_calib(net)->kind == NN_CALIB_NONE && nn_net_n_classes(net) == 7);
    nn_net_free(net);
}

/* Labels drawn from softmax(u) for true logits u; the model reports
 * z = u / scale_j - bias_j / scale_j per class, i.e. its calibrated logits
 * would be scale_j * z_j + bias_j = u_j. Fitting must find scale and bias. */
static void make_logits(float *z, int *y, int n, const float *scale, const float *bias, uint64_t *s)
{
    for (int i = 0; i < n; i++) {
        double u[K], p[K], sum = 0;
        for (int j = 0; j < K; j++)
            sum += p[j] = exp(u[j] = 2.0 * nn_rand_normal(s));
        double r = nn_rand_uniform(s) * sum, acc = 0;
        y[i] = K - 1;
        for (int j = 0; j < K; j++)
            if ((acc += p[j]) > r) {
                y[i] = j;
                break;
            }
        for (int j = 0; j < K; j++)
            z[i * K + j] = (float)((u[j] - bias[j]) / scale[j]);
    }
}

static void test_fit(void)
{
    enum { N = 20000 };
    float *z = malloc(sizeof(float) * N * K), *p = malloc(sizeof(float) * N * K);
    int *y = malloc(sizeof(int) * N);
    uint64_t s = test_seed(17);
    const float t0 = 2.5f, sc[K] = {1 / t0, 1 / t0, 1 / t0, 1 / t0}, zero[K] = {0};
    make_logits(z, y, N, sc, zero, &s);
    nn_calib c;
    CHECK(nn_calib_fit(&c, NN_CALIB_TEMPERATURE, z, y, N, K, 0) == 0);
    float t = nn_calib_temperature(&c);
    printf("known temperature %.3f, fitted %.4f\n", (double)t0, (double)t);
    CHECK_NEAR(t, t0, 0.05 * t0);
    /* the fit lowers NLL and ECE from the overconfident raw logits */
    nn_calib_probs(NULL, z, p, N, K);
    double nll0 = nn_nll(p, y, N, K), ece0 = nn_ece(p, y, N, K, 15);
    nn_calib_probs(&c, z, p, N, K);
    double nll1 = nn_nll(p, y, N, K), ece1 = nn_ece(p, y, N, K, 15);
    printf("NLL %.4f -> %.4f, ECE %.4f -> %.4f\n", nll0, nll1, ece0, ece1);
    CHECK(nll1 < nll0 && ece1 < 0.02 && ece0 > 0.1);

    /* per-class scales and biases */
    const float vs[K] = {0.3f, 0.6f, 1.2f, 2.0f}, vb[K] = {0.5f, -0.4f, 0.0f, 0.3f};
    make_logits(z, y, N, vs, vb, &s);
    CHECK(nn_calib_fit(&c, NN_CALIB_VECTOR, z, y, N, K, 1e-5f) == 0);
    /* biases are known only up to a common shift */
    double shift = 0;
    for (int j = 0; j < K; j++)
        shift += (c.bias[j] - vb[j]) / K;
    for (int j = 0; j < K; j++) {
        printf("class %d: scale %.3f (%.3f) bias %.3f (%.3f)\n", j, (double)c.scale[j], (double)vs[j],
               (double)(c.bias[j] - shift), (double)vb[j]);
        CHECK_NEAR(c.scale[j], vs[j], 0.1 * vs[j]);
        CHECK_NEAR(c.bias[j] - shift, vb[j], 0.1);
    }
    nn_calib ct;
    nn_calib_fit(&ct, NN_CALIB_TEMPERATURE, z, y, N, K, 0);
    nn_calib_probs(&ct, z, p, N, K);
    double nll_t = nn_nll(p, y, N, K);
    nn_calib_probs(&c, z, p, N, K);
    double nll_v = nn_nll(p, y, N, K);
    CHECK(nll_v < nll_t - 0.01);
    /* bad input */
    y[3] = K;
    CHECK(nn_calib_fit(&c, NN_CALIB_TEMPERATURE, z, y, N, K, 0) < 0);
    free(z);
    free(p);
    free(y);
}

static void test_figures(void)
{
    /* 5 images, 2 classes, 10 bins:
     * conf 0.95 right, 0.92 wrong -> bin 9: acc 0.5, conf 0.935, |.|=0.435, weight 2/5
     * conf 0.65 right              -> bin 6: |1 - 0.65| = 0.35, weight 1/5
     * conf 0.55 wrong, 0.6 right   -> 0.6 falls in bin 6, 0.55 in bin 5
     * bin 6 then holds 0.65 (right) and 0.6 (right): acc 1, conf 0.625 -> 0.375, weight 2/5
     * bin 5: 0.55 wrong: |0 - 0.55| = 0.55, weight 1/5
     * ECE = 0.4*0.435 + 0.4*0.375 + 0.2*0.55 = 0.434 */
    const float p[10] = {0.95f, 0.05f, 0.08f, 0.92f, 0.65f, 0.35f, 0.45f, 0.55f, 0.6f, 0.4f};
    const int y[5] = {0, 0, 0, 0, 0};
    CHECK_NEAR(nn_ece(p, y, 5, 2, 10), 0.434, 1e-6);
    double nll = -(log(0.95) + log(0.08) + log(0.65) + log(0.45) + log(0.6)) / 5;
    CHECK_NEAR(nn_nll(p, y, 5, 2), nll, 1e-6);
    /* confidence exactly 1 lands in the last bin, perfectly calibrated */
    const float one[2] = {1.0f, 0.0f};
    CHECK_NEAR(nn_ece(one, y, 1, 2, 15), 0.0, 1e-12);
}

int main(void)
{
    test_inference();
    test_file();
    test_committed_model();
    test_fit();
    test_figures();
    return test_done("test_calib");
}
