/* test_layers.c - small cases worked by hand, and the im2col+GEMM
 * convolution against a direct loop on random shapes (run with every
 * kernel: meson runs this test again with NN_KERNEL=ref). */
#include "nn_impl.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static nn_net *make(const char *spec, int classes)
{
    nn_net *net = nn_net_from_spec(spec, classes);
    CHECK_MSG(net != NULL, "%s", nn_error());
    return net;
}

/* A 3x3 image, one 2x2 filter, worked by hand. */
static void conv_by_hand(void)
{
    nn_net *net = make("input 3x3x1\nconv 1 2x2 valid\nflatten\ndense classes softmax\n", 2);
    if (!net)
        return;
    nn_layer *conv = &net->layers[1];
    const float w[4] = {1, 2, 3, 4};
    memcpy(conv->w, w, sizeof w);
    conv->b[0] = 0.5f;
    const float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    nn_net_forward(net, x, 1, 0);
    /* [1 2;4 5].[1 2;3 4] = 1+4+12+20 = 37, then 2+6+15+24 = 47, 4+10+21+32 = 67, 5+12+24+36 = 77 */
    const float want[4] = {37.5f, 47.5f, 67.5f, 77.5f};
    for (int i = 0; i < 4; i++)
        CHECK_NEAR(net->act[1][i], want[i], 1e-5);
    nn_net_free(net);

    /* 'same' with stride 2 on 4x4: output 2x2, pad total 1 -> top/left 0. */
    net = make("input 4x4x1\nconv 1 3x3 stride 2 same\nflatten\ndense classes softmax\n", 2);
    if (!net)
        return;
    conv = &net->layers[1];
    CHECK(conv->out_h == 2 && conv->out_w == 2 && conv->pad_t == 0 && conv->pad_l == 0);
    for (int i = 0; i < 9; i++)
        conv->w[i] = 1;
    const float x4[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    nn_net_forward(net, x4, 1, 0);
    /* windows rows 0-2/cols 0-2 = 54; rows 0-2/cols 2-3 = 3+4+7+8+11+12 = 45;
     * rows 2-3/cols 0-2 = 9+10+11+13+14+15 = 72; rows 2-3/cols 2-3 = 11+12+15+16 = 54 */
    const float want4[4] = {54, 45, 72, 54};
    for (int i = 0; i < 4; i++)
        CHECK_NEAR(net->act[1][i], want4[i], 1e-5);
    nn_net_free(net);
}

static void pools_by_hand(void)
{
    nn_net *net = make("input 4x4x1\nmaxpool 2\navgpool 2\nflatten\ndense classes softmax\n", 2);
    if (!net)
        return;
    const float x[16] = {1, 5, 2, 0, 3, 4, 8, 1, 0, 0, 9, 9, 7, 2, 9, -1};
    nn_net_forward(net, x, 1, 0);
    const float mp[4] = {5, 8, 7, 9};
    for (int i = 0; i < 4; i++)
        CHECK_NEAR(net->act[1][i], mp[i], 0);
    CHECK_NEAR(net->act[2][0], 29.0 / 4, 1e-6);
    nn_net_free(net);

    net = make("input 2x2x2\ngap\ndense classes softmax\n", 2);
    if (!net)
        return;
    const float g[8] = {1, 2, 3, 4, -1, -1, -1, 3};
    nn_net_forward(net, g, 1, 0);
    CHECK_NEAR(net->act[1][0], 2.5, 1e-6);
    CHECK_NEAR(net->act[1][1], 0.0, 1e-6);
    nn_net_free(net);
}

/* 2x2 pooling on a 5x5 plane: the last row and column are in no window.
 * Backward sends dy to the first maximum; with the ReLU before the pool
 * fused in, a window whose maximum is 0 passes nothing. */
static void maxpool_2x2_by_hand(void)
{
    nn_net *net = make("input 5x5x1\nmaxpool 2\nflatten\ndense classes softmax\n", 2);
    if (!net)
        return;
    const float x[25] = {1, 3, 0, 0, 9,
                         3, 2, 0, 0, 9,
                         4, 4, 5, 1, 9,
                         1, 4, 5, 2, 9,
                         9, 9, 9, 9, 9};
    nn_net_forward(net, x, 1, 0);
    const float y[4] = {3, 0, 4, 5};
    for (int i = 0; i < 4; i++)
        CHECK_NEAR(net->act[1][i], y[i], 0);
    nn_layer *l = &net->layers[1];
    nn_ctx c = {0};
    const float dy[4] = {10, 20, 30, 40};
    float dx[25];
    for (int relu = 0; relu < 2; relu++) {
        for (int i = 0; i < 25; i++)
            dx[i] = -1; /* every value must be written */
        nn_maxpool_backward_relu(l, &c, x, net->act[1], dy, dx, 1, relu);
        float want[25] = {0};
        want[1] = 10;              /* first 3 of the window (3 at [1] and [5]) */
        want[2] = relu ? 0 : 20;   /* maximum 0: the ReLU passed nothing */
        want[10] = 30;             /* first 4 */
        want[12] = 40;             /* first 5 */
        for (int i = 0; i < 25; i++)
            CHECK_MSG(dx[i] == want[i], "relu %d: dx[%d] = %g, want %g", relu, i, dx[i], want[i]);
    }
    nn_net_free(net);
}

/* Dropout masks depend on the RNG state only, not on the thread count;
 * about 1 - rate of the values are kept, scaled by 1/(1 - rate). */
static void dropout_masks(void)
{
    nn_net *net = make("input 16x16x8\ndropout 0.3\nflatten\ndense classes softmax\n", 2);
    if (!net)
        return;
    nn_net_init(net, 3);
    const int n = 9, per = 16 * 16 * 8;
    float *x = malloc((size_t)n * per * sizeof *x), *y1 = malloc((size_t)n * per * sizeof *y1);
    for (int i = 0; i < n * per; i++)
        x[i] = 1.0f + (float)(i % 7);
    uint64_t rng = net->rng;
    nn_net_forward(net, x, n, 1);
    memcpy(y1, net->act[1], (size_t)n * per * sizeof *y1);
    nn_net_set_threads(net, 2);
    net->rng = rng;
    nn_net_forward(net, x, n, 1);
    CHECK(memcmp(y1, net->act[1], (size_t)n * per * sizeof *y1) == 0);
    int kept = 0, bad = 0;
    for (int i = 0; i < n * per; i++) {
        if (y1[i] != 0.0f) {
            kept++;
            bad += fabsf(y1[i] - x[i] / 0.7f) > 1e-5f * x[i];
        }
    }
    double share = (double)kept / (n * per);
    CHECK_MSG(share > 0.68 && share < 0.72, "kept %.3f of the values", share);
    CHECK(bad == 0);
    /* the next pass draws new masks */
    nn_net_forward(net, x, n, 1);
    CHECK(memcmp(y1, net->act[1], (size_t)n * per * sizeof *y1) != 0);
    free(x);
    free(y1);
    nn_net_free(net);
}

/* Whether y (h x w per channel) is x's window at (oy, ox), for every channel. */
static int is_window(const float *x, const float *y, int C, int H, int W, int h, int w, int oy,
                     int ox)
{
    for (int c = 0; c < C; c++)
        for (int r = 0; r < h; r++)
            for (int q = 0; q < w; q++)
                if (y[(c * h + r) * w + q] != x[(c * H + oy + r) * W + ox + q])
                    return 0;
    return 1;
}

/* A crop takes the centre at inference, and in training a window that
 * moves from image to image and pass to pass over every place it fits,
 * the same again from the same RNG state. */
static void crop_windows(void)
{
    nn_net *net = make("input 6x5x2\ncrop 4x3\nflatten\ndense classes softmax\n", 2);
    if (!net)
        return;
    nn_net_init(net, 5);
    enum { N = 4, C = 2, H = 5, W = 6, h = 3, w = 4, PER = C * H * W, OUT = C * h * w };
    float x[N * PER], y1[N * OUT];
    for (int i = 0; i < N * PER; i++)
        x[i] = (float)i;
    nn_net_forward(net, x, N, 0);
    for (int i = 0; i < N; i++)
        CHECK(is_window(x + i * PER, net->act[1] + i * OUT, C, H, W, h, w, 1, 1));
    int seen[3][3] = {{0}}, wrong = 0;
    uint64_t rng = net->rng;
    for (int pass = 0; pass < 40; pass++) {
        nn_net_forward(net, x, N, 1);
        if (pass == 0)
            memcpy(y1, net->act[1], sizeof y1);
        for (int i = 0; i < N; i++) {
            int oy = (int)net->layers[1].aux[2 * i], ox = (int)net->layers[1].aux[2 * i + 1];
            if (oy < 0 || oy > H - h || ox < 0 || ox > W - w) {
                wrong++;
                continue;
            }
            seen[oy][ox]++;
            wrong += !is_window(x + i * PER, net->act[1] + i * OUT, C, H, W, h, w, oy, ox);
        }
    }
    CHECK(wrong == 0);
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++)
            CHECK_MSG(seen[a][b] > 0, "window at (%d, %d) never drawn", a, b);
    net->rng = rng;
    nn_net_forward(net, x, N, 1);
    CHECK(memcmp(y1, net->act[1], sizeof y1) == 0);
    nn_net_free(net);
}

static void dense_softmax_by_hand(void)
{
    nn_net *net = make("input 2x1x1\ndense classes softmax\n", 2);
    if (!net)
        return;
    nn_layer *d = &net->layers[1];
    const float w[4] = {1, 0, 0, 2}; /* out0 = x0, out1 = 2 x1 */
    memcpy(d->w, w, sizeof w);
    d->b[0] = 0;
    d->b[1] = 1;
    const float x[2] = {1, 0};
    const float *p = nn_net_forward(net, x, 1, 0);
    /* logits (1, 1): equal probabilities */
    CHECK_NEAR(p[0], 0.5, 1e-6);
    CHECK_NEAR(p[1], 0.5, 1e-6);
    int y = 0;
    CHECK_NEAR(nn_xent(p, &y, 1, 2, NULL, NULL), log(2.0), 1e-6);
    nn_net_free(net);
}

static void bn_inference_by_hand(void)
{
    nn_net *net = make("input 1x1x2\nbn\nflatten\ndense classes softmax\n", 2);
    if (!net)
        return;
    nn_layer *bn = &net->layers[1];
    bn->w[0] = 2; bn->b[0] = 1; bn->mean[0] = 3; bn->var[0] = 4 - bn->eps;
    bn->w[1] = 1; bn->b[1] = 0; bn->mean[1] = 0; bn->var[1] = 1 - bn->eps;
    const float x[2] = {5, -2};
    nn_net_forward(net, x, 1, 0);
    CHECK_NEAR(net->act[1][0], 2 * (5 - 3) / 2.0 + 1, 1e-5);
    CHECK_NEAR(net->act[1][1], -2, 1e-5);
    nn_net_free(net);
}

/* Re-estimated statistics are the plain mean over the batches of each
 * batch's mean and unbiased variance, whatever they were before; the
 * running-average momentum is back to normal afterwards. */
static void bn_reestimate_by_hand(void)
{
    nn_net *net = make("input 1x1x1\nbn\nflatten\ndense classes softmax\n", 2);
    if (!net)
        return;
    nn_layer *bn = &net->layers[1];
    bn->mean[0] = 100;
    bn->var[0] = 100;
    const float b1[2] = {1, 3}, b2[2] = {5, 5}, b3[2] = {0, 4}; /* means 2, 5, 2; vars 2, 0, 8 */
    nn_net_bn_reset(net);
    CHECK(bn->mean[0] == 0 && bn->var[0] == 0);
    CHECK(nn_net_bn_accumulate(net, b1, 2, 1) == 0);
    CHECK_NEAR(bn->mean[0], 2, 1e-6);
    CHECK_NEAR(bn->var[0], 2, 1e-6);
    CHECK(nn_net_bn_accumulate(net, b2, 2, 2) == 0);
    CHECK(nn_net_bn_accumulate(net, b3, 2, 3) == 0);
    CHECK_NEAR(bn->mean[0], 3, 1e-5);
    CHECK_NEAR(bn->var[0], 10.0 / 3, 1e-5);
    CHECK(nn_net_bn_accumulate(net, b1, 2, 0) == -1);
    CHECK(bn->momentum == 0.9f);
    nn_net_free(net);
}

/* Direct convolution, the definition. */
static void conv_direct(const nn_layer *l, const float *x, float *y)
{
    for (int oc = 0; oc < l->out_c; oc++)
        for (int oy = 0; oy < l->out_h; oy++)
            for (int ox = 0; ox < l->out_w; ox++) {
                double s = l->b[oc];
                for (int c = 0; c < l->in_c; c++)
                    for (int ky = 0; ky < l->k; ky++)
                        for (int kx = 0; kx < l->k; kx++) {
                            int iy = oy * l->stride - l->pad_t + ky, ix = ox * l->stride - l->pad_l + kx;
                            if (iy < 0 || iy >= l->in_h || ix < 0 || ix >= l->in_w)
                                continue;
                            s += (double)l->w[((oc * l->in_c + c) * l->k + ky) * l->k + kx] *
                                 x[(c * l->in_h + iy) * l->in_w + ix];
                        }
                y[(oc * l->out_h + oy) * l->out_w + ox] = (float)s;
            }
}

static void conv_random_shapes(void)
{
    uint64_t s = test_seed(3);
    for (int trial = 0; trial < 40; trial++) {
        int c = 1 + (int)(nn_rand_u64(&s) % 5), oc = 1 + (int)(nn_rand_u64(&s) % 19);
        int k = 1 + (int)(nn_rand_u64(&s) % 5), stride = 1 + (int)(nn_rand_u64(&s) % 3);
        int h = k + (int)(nn_rand_u64(&s) % 13), w = k + (int)(nn_rand_u64(&s) % 13);
        int same = (int)(nn_rand_u64(&s) % 2), n = 1 + (int)(nn_rand_u64(&s) % 3);
        int threads = 1 + (int)(nn_rand_u64(&s) % 2);
        char spec[256];
        snprintf(spec, sizeof spec, "input %dx%dx%d\nconv %d %dx%d stride %d %s\nflatten\ndense classes softmax\n",
                 w, h, c, oc, k, k, stride, same ? "same" : "valid");
        nn_net *net = make(spec, 2);
        if (!net)
            continue;
        nn_net_init(net, trial);
        nn_net_set_threads(net, threads);
        nn_layer *l = &net->layers[1];
        for (int i = 0; i < oc; i++)
            l->b[i] = nn_rand_normal(&s);
        size_t per = (size_t)c * h * w, outper = (size_t)oc * l->out_h * l->out_w;
        float *x = malloc(n * per * sizeof *x), *want = malloc(outper * sizeof *want);
        for (size_t i = 0; i < n * per; i++)
            x[i] = nn_rand_normal(&s);
        nn_net_forward(net, x, n, 0);
        double maxerr = 0;
        for (int img = 0; img < n; img++) {
            conv_direct(l, x + img * per, want);
            for (size_t i = 0; i < outper; i++) {
                double e = fabs(want[i] - net->act[1][img * outper + i]) / (1 + fabs(want[i]));
                if (e > maxerr)
                    maxerr = e;
            }
        }
        CHECK_MSG(maxerr < 1e-4, "%s threads %d batch %d: max error %g", spec, threads, n, maxerr);
        free(x);
        free(want);
        nn_net_free(net);
    }
}

/* The same input classified alone and inside a batch, with 1 or 2 threads,
 * gives the same answer. */
static void batch_consistency(void)
{
    nn_net *net = make(nn_preset_spec("fer-compact"), 7);
    if (!net)
        return;
    nn_net_init(net, 11);
    const int n = 5;
    float *x = malloc(n * 48 * 48 * sizeof *x), one[7 * 5];
    uint64_t s = 8;
    for (int i = 0; i < n * 48 * 48; i++)
        x[i] = nn_rand_uniform(&s);
    for (int i = 0; i < n; i++)
        memcpy(one + i * 7, nn_net_forward(net, x + i * 48 * 48, 1, 0), 7 * sizeof(float));
    for (int threads = 1; threads <= 2; threads++) {
        nn_net_set_threads(net, threads);
        const float *p = nn_net_forward(net, x, n, 0);
        for (int i = 0; i < n * 7; i++)
            CHECK_NEAR(p[i], one[i], 1e-5);
    }
    free(x);
    nn_net_free(net);
}

/* nn_net_time_layers: every layer that runs gets time, a ReLU fused into
 * the layer before gets none, the sums stay within the passes' wall
 * time, the outputs are those of an untimed pass, and NULL stops it. */
static void layer_timer(void)
{
    nn_net *net = make("input 12x12x1\nconv 8 3x3 same bn relu\nmaxpool 2\nconv 8 3x3 same relu\n"
                       "gap\ndense classes softmax\n", 3);
    if (!net)
        return;
    nn_net_init(net, 5);
    float x[144], untimed[3];
    uint64_t s = 3;
    for (int i = 0; i < 144; i++)
        x[i] = nn_rand_uniform(&s);
    memcpy(untimed, nn_net_forward(net, x, 1, 0), sizeof untimed);
    const int n = nn_net_n_layers(net);
    double t[16] = {0};
    CHECK(n <= 16);
    nn_net_time_layers(net, t);
    double t0 = nn_now();
    const float *p = NULL;
    for (int r = 0; r < 3; r++)
        p = nn_net_forward(net, x, 1, 0);
    double wall = nn_now() - t0, sum = 0;
    for (int k = 0; k < 3; k++)
        CHECK(p[k] == untimed[k]);
    for (int i = 0; i < n; i++) {
        char d[128];
        int fused_relu = net->layers[i].kind == NN_L_RELU &&
                         (net->layers[i - 1].kind == NN_L_CONV || net->layers[i - 1].kind == NN_L_BN);
        CHECK_MSG(i == 0 || fused_relu ? t[i] == 0 : t[i] > 0, "layer %d (%s): %g s", i,
                  nn_net_layer_desc(net, i, d, sizeof d), t[i]);
        sum += t[i];
    }
    CHECK_MSG(sum > 0 && sum <= wall, "layer times sum to %g s over passes of %g s", sum, wall);
    nn_net_time_layers(net, NULL);
    double before = t[1];
    nn_net_forward(net, x, 1, 0);
    CHECK(t[1] == before);
    nn_net_free(net);
}

/* Subnormal products must come out as zero inside the engine, on every
 * thread, and stay subnormal in the caller's own arithmetic afterwards. */
static volatile float subnormal = 1e-39f;

static int flushes(void) { return subnormal * 1.0f == 0.0f; }

typedef struct { int flushed[64], ran_on_worker; } fp_job;

static void fp_task(void *ctx, int task, int thread)
{
    fp_job *j = ctx;
    volatile float acc = 0; /* enough work that both threads take tasks */
    for (int i = 0; i < 20000; i++)
        acc += 1e-3f;
    j->flushed[task] = flushes() && acc > 0;
    if (thread)
        j->ran_on_worker = 1;
}

static void subnormals_flushed(void)
{
    CHECK(fpclassify(subnormal) == FP_SUBNORMAL);
    CHECK(!flushes());
#if defined(__x86_64__)
    unsigned fp = nn_fp_enter();
    CHECK(flushes());
    nn_fp_leave(fp);
    CHECK(!flushes());

    nn_pool *pool = nn_pool_new(2);
    fp_job j = {{0}, 0};
    fp = nn_fp_enter();
    nn_pool_run(pool, 64, fp_task, &j);
    nn_fp_leave(fp);
    int all = 1;
    for (int t = 0; t < 64; t++)
        all &= j.flushed[t];
    CHECK_MSG(all, "a task ran without flushing (worker took tasks: %d)", j.ran_on_worker);
    nn_pool_free(pool);

    /* A dense layer whose weights are all subnormal: 4096 of them times 1
     * make a normal 4e-36 unless they read as zero. */
    nn_net *net = make("input 64x64x1\nflatten\ndense classes softmax\n", 4);
    if (!net)
        return;
    nn_layer *d = &net->layers[2];
    for (int i = 0; i < 4096 * 4; i++)
        d->w[i] = subnormal;
    memset(d->b, 0, 4 * sizeof(float));
    float *x = malloc(64 * 4096 * sizeof(float));
    for (int i = 0; i < 64 * 4096; i++)
        x[i] = 1.0f;
    for (int threads = 1; threads <= 2; threads++) {
        nn_net_set_threads(net, threads);
        for (int n = 1; n <= 64; n += 63) {
            CHECK(nn_net_forward(net, x, n, 0) != NULL);
            int c, h, w, zero = 1;
            const float *logits = nn_net_layer_output(net, 2, &c, &h, &w);
            for (int i = 0; i < n * c * h * w; i++)
                zero &= logits[i] == 0.0f;
            CHECK_MSG(zero, "subnormal weights counted (threads %d, batch %d)", threads, n);
            CHECK(!flushes()); /* the caller's mode is back */
        }
    }
    free(x);
    nn_net_free(net);
#endif
}

/* Batch norm's backward with its ReLU fused remakes the ReLU's mask from
 * its input: dx, dgamma and dbeta must be those of the unfused backward
 * given dy masked by relu_y > 0, bit for bit, on planes below, at and past
 * the 512 values the backward works in (odd sizes for the tails). */
static void bn_relu_backward_masks_like_relu_y(void)
{
    static const int hw[][2] = {{1, 1}, {5, 7}, {16, 32}, {23, 25}, {48, 48}};
    uint64_t s = 11;
    for (size_t k = 0; k < sizeof hw / sizeof hw[0]; k++) {
        char spec[128];
        snprintf(spec, sizeof spec, "input %dx%dx3\nbn\nrelu\nflatten\ndense classes softmax\n",
                 hw[k][0], hw[k][1]);
        nn_net *net = make(spec, 2);
        if (!net)
            return;
        nn_net_init(net, 5);
        const int n = 3, C = 3, per = hw[k][0] * hw[k][1] * C;
        float *x = malloc((size_t)n * per * sizeof *x), *dy = malloc((size_t)n * per * sizeof *dy);
        float *md = malloc((size_t)n * per * sizeof *md), *dx1 = malloc((size_t)n * per * sizeof *dx1);
        float *dx2 = malloc((size_t)n * per * sizeof *dx2);
        for (int i = 0; i < n * per; i++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            x[i] = (float)(s >> 40) / 8388608.0f - 1.0f + 0.3f * (float)(i % 5);
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            dy[i] = (float)(s >> 40) / 8388608.0f - 1.0f;
        }
        nn_layer *bn = &net->layers[1];
        for (int ch = 0; ch < C; ch++) { /* some channels mostly cut, some mostly passed */
            bn->w[ch] = 0.5f + 0.4f * (float)ch;
            bn->b[ch] = 0.6f * (float)(ch - 1);
        }
        CHECK(nn_net_forward(net, x, n, 1) != NULL);
        const float *relu_y = net->act[2];
        int cut = 0;
        for (int i = 0; i < n * per; i++) {
            md[i] = relu_y[i] > 0.0f ? dy[i] : 0.0f;
            cut += relu_y[i] <= 0.0f;
        }
        CHECK(cut > 0 && cut < n * per);
        nn_ctx c = {.train = 1, .rng = &net->rng, .scratch = net->scratch,
                    .scratch_len = net->scratch_len};
        float dw1[3], db1[3];
        memset(bn->dw, 0, C * sizeof(float));
        memset(bn->db, 0, C * sizeof(float));
        nn_bn_backward_relu(bn, &c, net->act[0], relu_y, dy, dx1, n);
        memcpy(dw1, bn->dw, sizeof dw1);
        memcpy(db1, bn->db, sizeof db1);
        memset(bn->dw, 0, C * sizeof(float));
        memset(bn->db, 0, C * sizeof(float));
        nn_bn_backward_relu(bn, &c, net->act[0], NULL, md, dx2, n);
        CHECK_MSG(memcmp(dx1, dx2, (size_t)n * per * sizeof *dx1) == 0, "%dx%d: dx differs",
                  hw[k][0], hw[k][1]);
        CHECK_MSG(memcmp(dw1, bn->dw, sizeof dw1) == 0 && memcmp(db1, bn->db, sizeof db1) == 0,
                  "%dx%d: dgamma or dbeta differs", hw[k][0], hw[k][1]);
        free(x);
        free(dy);
        free(md);
        free(dx1);
        free(dx2);
        nn_net_free(net);
    }
}

/* Batch statistics against a double-precision two-pass reference (and
 * the outputs against the scalar formula), also
 * for channels far off zero with a small spread (1000 +- 0.01: a variance
 * from raw sums of squares would be mostly rounding), on planes with tails
 * and groups of channels that do not divide C. */
static void bn_batch_stats_vs_double(void)
{
    static const int hw[][3] = {{7, 5, 3}, {48, 48, 12}, {3, 3, 37}, {1, 1, 70}};
    uint64_t s = 3;
    for (size_t k = 0; k < sizeof hw / sizeof hw[0]; k++) {
        const int H = hw[k][0], W = hw[k][1], C = hw[k][2], n = 5, P = H * W;
        char spec[128];
        snprintf(spec, sizeof spec, "input %dx%dx1\nconv %d 1x1\nbn\nflatten\ndense classes softmax\n",
                 H, W, C);
        nn_net *net = make(spec, 2);
        if (!net)
            return;
        nn_net_init(net, 5);
        nn_layer *bn = &net->layers[2];
        float *x = malloc((size_t)n * C * P * sizeof *x), *y = malloc((size_t)n * C * P * sizeof *y);
        for (int i = 0; i < n * C * P; i++) {
            int ch = (i / P) % C;
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            float u = (float)(s >> 40) / 16777216.0f - 0.5f;
            x[i] = ch % 2 ? 1000.0f + 0.02f * u : (float)(ch - 1) + 3.0f * u;
        }
        /* a pass through the net first: it allocates the layer's state */
        CHECK(nn_net_forward(net, x, n, 1) != NULL);
        nn_ctx c = {.train = 1, .rng = &net->rng};
        float *r = malloc((size_t)n * C * P * sizeof *r);
        for (int i = 0; i < n * C * P; i++)
            y[i] = 12345.0f;
        nn_bn_forward_relu(bn, &c, x, y, r, n);
        /* the ReLU's output exactly as the scalar formula has it, on planes
         * at any alignment (the vector path starts at 16 bytes); in
         * training nothing reads the norm's own output, so it is not
         * written */
        int wrong = 0, written = 0;
        for (int i = 0; i < n * C * P; i++) {
            int ch = (i / P) % C;
            float g = bn->w[ch] * bn->aux[C + ch], b = bn->b[ch] - bn->aux[ch] * g;
            float v = x[i] * g + b;
            wrong += r[i] != (v > 0.0f ? v : 0.0f);
            written += y[i] != 12345.0f;
        }
        CHECK_MSG(wrong == 0, "%dx%dx%d: %d outputs differ from x * g + b", H, W, C, wrong);
        CHECK_MSG(written == 0, "%dx%dx%d: training wrote %d of the norm's outputs", H, W, C, written);
        /* inference writes both, with the running statistics */
        nn_ctx ci = {.train = 0, .rng = &net->rng};
        float *ri = malloc((size_t)n * C * P * sizeof *ri);
        nn_bn_forward_relu(bn, &ci, x, y, ri, n);
        wrong = 0;
        for (int i = 0; i < n * C * P; i++) {
            int ch = (i / P) % C;
            float g = bn->w[ch] * (1.0f / sqrtf(bn->var[ch] + bn->eps)), b = bn->b[ch] - bn->mean[ch] * g;
            float v = x[i] * g + b;
            wrong += y[i] != v || ri[i] != (v > 0.0f ? v : 0.0f);
        }
        CHECK_MSG(wrong == 0, "%dx%dx%d: %d inference outputs differ from x * g + b", H, W, C, wrong);
        free(ri);
        /* the same with two threads sharing the channel groups (48x48x12
         * is enough work to wake them) */
        float *aux1 = malloc(2 * (size_t)C * sizeof *aux1), *y2 = malloc((size_t)n * C * P * sizeof *y2);
        memcpy(aux1, bn->aux, 2 * (size_t)C * sizeof *aux1);
        memcpy(y, r, (size_t)n * C * P * sizeof *y); /* one thread's ReLU output */
        CHECK(nn_net_set_threads(net, 2) == 0);
        nn_ctx c2 = {.pool = net->pool, .train = 1, .rng = &net->rng};
        nn_bn_forward_relu(bn, &c2, x, y2, r, n);
        CHECK_MSG(memcmp(aux1, bn->aux, 2 * (size_t)C * sizeof *aux1) == 0 &&
                      memcmp(y, r, (size_t)n * C * P * sizeof *y) == 0,
                  "%dx%dx%d: two threads differ from one", H, W, C);
        free(aux1);
        free(y2);
        free(r);
        for (int ch = 0; ch < C; ch++) {
            double sum = 0, sq = 0;
            for (int i = 0; i < n; i++)
                for (int p = 0; p < P; p++)
                    sum += x[((size_t)i * C + ch) * P + p];
            double mu = sum / ((double)n * P);
            for (int i = 0; i < n; i++)
                for (int p = 0; p < P; p++) {
                    double d = x[((size_t)i * C + ch) * P + p] - mu;
                    sq += d * d;
                }
            double var = sq / ((double)n * P), inv = 1.0 / sqrt(var + bn->eps);
            CHECK_MSG(fabs(bn->aux[ch] - mu) <= 1e-6 * (fabs(mu) + 1), "%dx%dx%d ch %d: mean %.9g, want %.9g",
                      H, W, C, ch, bn->aux[ch], mu);
            CHECK_MSG(fabs(bn->aux[C + ch] - inv) <= 2e-3 * inv, "%dx%dx%d ch %d: 1/std %.7g, want %.7g",
                      H, W, C, ch, bn->aux[C + ch], inv);
        }
        free(x);
        free(y);
        nn_net_free(net);
    }
}

/* Squeeze-and-excitation against a double-precision reference, forward and
 * backward, on planes whose size is no multiple of the sums' eight lanes;
 * the batch is large enough to be spread over the pool, and one thread and
 * two give bit-identical outputs and gradients. */
static void se_vs_double_and_threads(void)
{
    enum { W = 13, H = 11, C = 64, M = 8, N = 15, P = W * H };
    char spec[96];
    snprintf(spec, sizeof spec, "input %dx%dx%d\nse %d\nflatten\ndense classes softmax\n", W, H, C, M);
    nn_net *net = make(spec, 2);
    if (!net)
        return;
    nn_net_init(net, 21);
    nn_layer *l = &net->layers[1];
    uint64_t s = 31;
    for (int i = 0; i < M + C; i++) /* biases too, so some hidden units stay cut */
        l->b[i] = 0.3f * nn_rand_normal(&s);
    const size_t per = (size_t)C * P, all = per * N;
    float *x = malloc(all * sizeof *x), *dy = malloc(all * sizeof *dy), *y1 = malloc(all * sizeof *y1);
    float *dx1 = malloc(all * sizeof *dx1), *dx2 = malloc(all * sizeof *dx2);
    float *dp1 = malloc((size_t)l->nw * sizeof *dp1);
    double *ref_dw = calloc((size_t)l->nw, sizeof *ref_dw), *ref_db = calloc(M + C, sizeof *ref_db);
    for (size_t i = 0; i < all; i++) {
        x[i] = nn_rand_normal(&s) + 0.5f * (float)(i / P % 3); /* channel means off zero */
        dy[i] = nn_rand_normal(&s);
    }
    const float *w1 = l->w, *w2 = l->w + M * C, *b1 = l->b, *b2 = l->b + M;
    double maxy = 0, maxdx = 0;
    for (int threads = 1; threads <= 2; threads++) {
        nn_net_set_threads(net, threads);
        CHECK(nn_net_forward(net, x, N, 1) != NULL);
        nn_ctx c = {.pool = net->pool, .train = 1, .rng = &net->rng, .scratch = net->scratch,
                    .scratch_len = net->scratch_len};
        memset(l->dw, 0, (size_t)l->nw * sizeof(float));
        memset(l->db, 0, (size_t)(M + C) * sizeof(float));
        float *dx = threads == 1 ? dx1 : dx2;
        l->ops->backward(l, &c, x, net->act[1], dy, dx, N);
        if (threads == 1) {
            memcpy(y1, net->act[1], all * sizeof *y1);
            memcpy(dp1, l->dw, (size_t)l->nw * sizeof *dp1);
            continue;
        }
        CHECK_MSG(memcmp(y1, net->act[1], all * sizeof *y1) == 0, "se: forward differs between 1 and 2 threads");
        CHECK_MSG(memcmp(dx1, dx2, all * sizeof *dx1) == 0, "se: dx differs between 1 and 2 threads");
        CHECK_MSG(memcmp(dp1, l->dw, (size_t)l->nw * sizeof *dp1) == 0, "se: dw differs between 1 and 2 threads");
    }
    for (int i = 0; i < N; i++) {
        const float *xi = x + i * per, *dyi = dy + i * per;
        double g[C], h[M], sg[C], dz2[C], dh[M];
        for (int ch = 0; ch < C; ch++) {
            g[ch] = 0;
            for (int p = 0; p < P; p++)
                g[ch] += xi[ch * P + p];
            g[ch] /= P;
        }
        for (int m = 0; m < M; m++) {
            double v = b1[m];
            for (int ch = 0; ch < C; ch++)
                v += (double)w1[m * C + ch] * g[ch];
            h[m] = v > 0 ? v : 0;
        }
        for (int ch = 0; ch < C; ch++) {
            double v = b2[ch], ds = 0;
            for (int m = 0; m < M; m++)
                v += (double)w2[ch * M + m] * h[m];
            sg[ch] = 1 / (1 + exp(-v));
            for (int p = 0; p < P; p++) {
                double e = fabs(y1[i * per + ch * P + p] - xi[ch * P + p] * sg[ch]);
                maxy = e > maxy ? e : maxy;
                ds += (double)dyi[ch * P + p] * xi[ch * P + p];
            }
            dz2[ch] = ds * sg[ch] * (1 - sg[ch]);
            ref_db[M + ch] += dz2[ch];
            for (int m = 0; m < M; m++)
                ref_dw[M * C + ch * M + m] += dz2[ch] * h[m];
        }
        for (int m = 0; m < M; m++) {
            double v = 0;
            for (int ch = 0; ch < C; ch++)
                v += (double)w2[ch * M + m] * dz2[ch];
            dh[m] = h[m] > 0 ? v : 0;
            ref_db[m] += dh[m];
            for (int ch = 0; ch < C; ch++)
                ref_dw[m * C + ch] += dh[m] * g[ch];
        }
        for (int ch = 0; ch < C; ch++) {
            double dg = 0;
            for (int m = 0; m < M; m++)
                dg += (double)w1[m * C + ch] * dh[m];
            for (int p = 0; p < P; p++) {
                double want = dyi[ch * P + p] * sg[ch] + dg / P;
                double e = fabs(dx1[i * per + ch * P + p] - want) / (1 + fabs(want));
                maxdx = e > maxdx ? e : maxdx;
            }
        }
    }
    double maxdw = 0, maxdb = 0, cut = 0;
    for (size_t k = 0; k < l->nw; k++) {
        double e = fabs(l->dw[k] - ref_dw[k]) / (1 + fabs(ref_dw[k]));
        maxdw = e > maxdw ? e : maxdw;
    }
    for (int k = 0; k < M + C; k++) {
        double e = fabs(l->db[k] - ref_db[k]) / (1 + fabs(ref_db[k]));
        maxdb = e > maxdb ? e : maxdb;
        cut += k < M && ref_db[k] == 0;
    }
    CHECK_MSG(maxy < 1e-5 && maxdx < 1e-5, "se: forward error %g, dx error %g", maxy, maxdx);
    CHECK_MSG(maxdw < 1e-4 && maxdb < 1e-4, "se: dw error %g, db error %g", maxdw, maxdb);
    CHECK_MSG(cut < M, "se: every hidden unit cut; the test exercises nothing");
    free(x);
    free(dy);
    free(y1);
    free(dx1);
    free(dx2);
    free(dp1);
    free(ref_dw);
    free(ref_db);
    nn_net_free(net);
}

int main(void)
{
    printf("kernel: %s\n", nn_kernel_name());
    conv_by_hand();
    pools_by_hand();
    maxpool_2x2_by_hand();
    dropout_masks();
    crop_windows();
    dense_softmax_by_hand();
    bn_inference_by_hand();
    bn_reestimate_by_hand();
    bn_relu_backward_masks_like_relu_y();
    bn_batch_stats_vs_double();
    conv_random_shapes();
    batch_consistency();
    layer_timer();
    se_vs_double_and_threads();
    subnormals_flushed();
    return test_done("test_layers");
}
