/* test_saliency.c - the engine's input gradient (nn_net_input_grad): equal
 * to finite differences of the class's logit on inference passes through
 * every layer kind (batch norm with running statistics, dropout, residual
 * adds, squeeze-and-excitation, a calibration that must not count; an
 * INT8 net differentiated in FP32); and,
 * on generated faces whose class is decided by the mouth alone, a trained
 * net's saliency falls mostly on the mouth. */
#include "nn_impl.h"
#include "testutil.h"
#include "tinynet.h"

#include <string.h>

static float logit_at(nn_net *net, const float *x, int cls)
{
    const float *p = nn_net_forward(net, x, 1, 0);
    return p ? nn_net_logits(net)[cls] : NAN;
}

static void check_fd(const char *name, const char *spec)
{
    nn_net *net = nn_net_from_spec(spec, 3);
    CHECK_MSG(net != NULL, "%s: %s", name, nn_error());
    if (!net)
        return;
    nn_net_init(net, test_seed(5));
    uint64_t s = test_seed(17);
    /* running statistics and BN scales away from 0 and 1, and a vector
     * calibration, which the logit's gradient must ignore */
    for (int i = 0; i < net->n_layers; i++)
        if (net->layers[i].kind == NN_L_BN)
            for (int ch = 0; ch < net->layers[i].in_c; ch++) {
                net->layers[i].w[ch] = 0.5f + nn_rand_uniform(&s);
                net->layers[i].b[ch] = nn_rand_normal(&s) * 0.1f;
                net->layers[i].mean[ch] = nn_rand_normal(&s) * 0.2f;
                net->layers[i].var[ch] = 0.3f + nn_rand_uniform(&s);
            }
    (void)nn_net_params(net);
    nn_calib cal = {.kind = NN_CALIB_VECTOR, .n_classes = 3,
                    .scale = {0.5f, 2.0f, 1.5f}, .bias = {0.3f, -0.2f, 0.1f}};
    CHECK(nn_net_set_calib(net, &cal) == 0);
    int c, h, w;
    nn_net_input_shape(net, &c, &h, &w);
    const size_t per = (size_t)c * h * w;
    float *x = malloc(per * sizeof *x), *dx = malloc(per * sizeof *dx);
    for (size_t i = 0; i < per; i++)
        x[i] = nn_rand_normal(&s);
    int bad = 0, checked = 0, kinks = 0;
    for (int cls = -1; cls < 3; cls++) {
        int got = nn_net_input_grad(net, x, cls, dx);
        CHECK_MSG(got >= 0, "%s: %s", name, nn_error());
        if (got < 0)
            break;
        if (cls < 0) { /* the top class */
            const float *p = nn_net_forward(net, x, 1, 0);
            for (int k = 0; k < 3; k++)
                CHECK(p[k] <= p[got]);
            continue;
        }
        CHECK(got == cls);
        for (size_t j = 0; j < per; j++) {
            /* smaller steps first (fewer ReLUs switch), then a larger one
             * where float noise swamps their quotients */
            const float steps[3] = {2e-3f, 5e-4f, 1e-2f};
            const float orig = x[j];
            const double l0 = logit_at(net, x, cls), an = dx[j];
            double num = 0, err = 1;
            int kink = 0;
            for (int si = 0; si < 3 && err > 2e-2; si++) {
                const float eps = steps[si];
                x[j] = orig + eps;
                const double lp = logit_at(net, x, cls);
                x[j] = orig - eps;
                const double lm = logit_at(net, x, cls);
                x[j] = orig;
                num = (lp - lm) / (2 * eps);
                const double fwd = (lp - l0) / eps, bwd = (l0 - lm) / eps;
                kink = fabs(fwd - bwd) > 0.05 * fmax(0.05, fabs(fwd) + fabs(bwd));
                /* float passes leave ~1e-3 of noise in a quotient, as in test_grad */
                err = fabs(num - an) / (0.075 + fabs(num) + fabs(an));
            }
            if (err > 2e-2 && kink) {
                kinks++; /* ReLU at 0 or a max changing hands: no derivative */
                continue;
            }
            checked++;
            if (err > 2e-2 && bad++ < 5)
                fprintf(stderr, "%s: class %d input %zu: numeric %.6g analytic %.6g\n", name, cls, j,
                        num, an);
        }
    }
    CHECK_MSG(bad == 0, "%s: %d of %d input gradients differ", name, bad, checked);
    CHECK_MSG(checked > 0 && kinks * 5 <= checked, "%s: %d checked, %d at kinks", name, checked,
              kinks);
    free(x);
    free(dx);
    nn_net_free(net);
}

/* ---- faces whose class is their mouth ------------------------------------ */

#define S TINYNET_S
/* the mouth's box, where the class is drawn */
#define MX0 9
#define MX1 23
#define MY0 20
#define MY1 28

/* A gray face: an oval of random brightness on a random background, two
 * eyes and brows at random sizes and heights, pixel noise; and a mouth
 * that curves up (class 0, smiling) or down (class 1). Everything but the
 * mouth is independent of the class. */
static void draw_face(uint8_t *img, int cls, uint64_t *s)
{
    const float bg = 20 + 80 * nn_rand_uniform(s), skin = 130 + 80 * nn_rand_uniform(s);
    const float eye_r = 1.5f + 2.0f * nn_rand_uniform(s), eye_y = 11 + 3 * nn_rand_uniform(s);
    const float brow = nn_rand_uniform(s) - 0.5f;
    const float bend = (cls == 0 ? 1.0f : -1.0f) * (2.0f + 1.5f * nn_rand_uniform(s));
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            const float dx = (x - 15.5f) / 13.0f, dy = (y - 16.0f) / 15.5f;
            float v = dx * dx + dy * dy <= 1.0f ? skin : bg;
            for (int e = 0; e < 2; e++) {
                const float ex = e ? 21.5f : 9.5f;
                if ((x - ex) * (x - ex) + (y - eye_y) * (y - eye_y) <= eye_r * eye_r)
                    v = 40;
                const float by = eye_y - eye_r - 2 + brow * (x - ex) * (e ? 1 : -1);
                if (fabsf(x - ex) <= 3 && fabsf(y - by) < 0.7f)
                    v = 60;
            }
            /* the mouth: y = 24 - bend * (1 - ((x - 15.5) / 5.5)^2) */
            if (x >= 10 && x <= 21) {
                const float u = (x - 15.5f) / 5.5f, my = 24.0f - bend * (1 - u * u) + bend * 0.5f;
                if (fabsf(y - my) < 0.9f)
                    v = 50;
            }
            v += 12 * nn_rand_normal(s);
            img[y * S + x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
}

static int sample_mouth(uint8_t *img, uint64_t *s)
{
    const int smile = (int)(nn_rand_u64(s) & 1);
    draw_face(img, smile, s);
    return smile;
}

static void check_mouth(void)
{
    enum { B = 16, TESTS = 40 };
    uint64_t s = test_seed(11);
    nn_net *net = tinynet_train(2, 600, sample_mouth, &s);
    if (!net)
        return;
    float x[B * S * S];
    uint8_t img[S * S];
    /* an INT8 net's gradient is its FP32 pass's, and the INT8 setting stays */
    float x8[S * S], d32[S * S], d8[S * S];
    for (int i = 0; i < B; i++) {
        draw_face(img, i & 1, &s);
        nn_preprocess_u8(net, img, x + (size_t)i * S * S);
    }
    memcpy(x8, x, sizeof x8);
    CHECK(nn_net_calibrate_int8(net, x, B) == 0);
    CHECK(nn_net_input_grad(net, x8, 0, d32) == 0);
    CHECK(nn_net_set_precision(net, NN_PRECISION_INT8) == 0);
    CHECK(nn_net_input_grad(net, x8, 0, d8) == 0);
    CHECK(memcmp(d32, d8, sizeof d8) == 0);
    CHECK(nn_net_precision(net) == NN_PRECISION_INT8);
    CHECK(nn_net_set_precision(net, NN_PRECISION_FP32) == 0);
    /* Mass as the gradient's energy, sum of dx^2 (the map's |dx| alone
     * spreads a low floor of ReLU-switching noise over the whole image),
     * and the map's plain sum only more concentrated than the box's area. */
    int right = 0;
    double e_in = 0, e_total = 0, m_in = 0, m_total = 0;
    float dx[S * S], map[S * S];
    for (int t = 0; t < TESTS; t++) {
        const int cls = t & 1;
        draw_face(img, cls, &s);
        nn_preprocess_u8(net, img, x);
        int got = nn_net_input_grad(net, x, -1, dx);
        CHECK(got >= 0);
        right += got == cls;
        nn_saliency_map(dx, 1, S, S, map);
        for (int yy = 0; yy < S; yy++)
            for (int xx = 0; xx < S; xx++) {
                const int in = yy >= MY0 && yy < MY1 && xx >= MX0 && xx < MX1;
                const double e = (double)dx[yy * S + xx] * dx[yy * S + xx];
                e_total += e;
                m_total += map[yy * S + xx];
                if (in) {
                    e_in += e;
                    m_in += map[yy * S + xx];
                }
            }
    }
    const double area = (double)(MY1 - MY0) * (MX1 - MX0) / (S * S);
    printf("mouth faces: %d/%d right; in the mouth box (%.2f of the area): %.2f of the gradient's "
           "energy, %.2f of the map\n", right, TESTS, area, e_in / e_total, m_in / m_total);
    CHECK_MSG(right >= TESTS * 9 / 10, "the net learnt the mouths: %d of %d", right, TESTS);
    CHECK_MSG(e_in / e_total > 0.5, "most of the gradient's energy in the mouth box: %.2f",
              e_in / e_total);
    CHECK_MSG(m_in / m_total > 2 * area, "the map concentrated on the mouth: %.2f", m_in / m_total);
    nn_net_free(net);
}

int main(void)
{
    check_fd("dense", "input 5x4x1\nflatten\ndense 6 relu\ndense classes softmax\n");
    check_fd("conv relu maxpool",
             "input 8x7x2\nconv 4 3x3 same relu\nmaxpool 2\nflatten\ndense classes softmax\n");
    check_fd("bn dropout avgpool",
             "input 8x8x1\nconv 4 3x3 same\nbn\nrelu\navgpool 2\ndropout 0.5\nflatten\n"
             "dense 5\nbn\nrelu\ndense classes softmax\n");
    check_fd("residual se gap",
             "input 7x7x2\nconv 3 3x3 same relu\nresidual\nconv 4 3x3 stride 2 same bn relu\n"
             "conv 4 3x3 same\nend relu\nse 2\ngap\ndense classes softmax\n");
    check_fd("residual from the input",
             "input 6x6x3\nresidual\nconv 3 3x3 same relu\nconv 3 3x3 same\nend relu\n"
             "flatten\ndense classes softmax\n");
    check_mouth();
    return test_done("test_saliency");
}
