/* test_winograd.c - the Winograd convolution (F(2x2,3x3) and F(4x4,3x3))
 * against the im2col + GEMM reference on random shapes: forward output,
 * input, weight and bias gradients; 'same' and 'valid', odd sizes that
 * leave partial edge tiles, channel counts off the vector widths, one
 * image and several, one thread and two. Also the fused ReLU mask of the
 * backward pass (dy masked by the next layer's output). */
#include "nn_impl.h"
#include "testutil.h"

#include <string.h>

/* max |a - b| / max |b|: errors relative to the array's scale, since
 * single elements may be near zero after cancellation. */
static double rel_err(const float *a, const float *b, size_t n)
{
    double e = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        e = d > e ? d : e;
        s = fabs(b[i]) > s ? fabs(b[i]) : s;
    }
    return e / (s > 1e-30 ? s : 1e-30);
}

typedef struct {
    float *y, *ry, *dx, *dw, *db;
} result;

/* Forward (with the fused ReLU's output in r->ry) and backward of layer 1
 * by `algo`; with relu_y the backward takes dy at the ReLU's output. */
static void run(nn_net *net, int algo, const float *x, const float *dy, const float *relu_y,
                int n, result *r)
{
    nn_layer *l = &net->layers[1];
    size_t in = (size_t)n * l->in_c * l->in_h * l->in_w;
    l->algo = algo;
    nn_ctx c = {.pool = net->pool, .train = 1, .rng = &net->rng, .scratch = net->scratch,
                .scratch_len = net->scratch_len};
    nn_conv_forward_relu(l, &c, x, r->y, r->ry, n);
    nn_net_zero_grad(net);
    /* Poison dx: the backward pass must overwrite all of it. */
    for (size_t i = 0; i < in; i++)
        r->dx[i] = 1e30f;
    if (relu_y)
        nn_conv_backward_relu(l, &c, x, relu_y, dy, r->dx, n);
    else
        nn_conv_backward(l, &c, x, r->y, dy, r->dx, n);
    memcpy(r->dw, l->dw, l->nw * sizeof(float));
    memcpy(r->db, l->db, l->nb * sizeof(float));
}

static void alloc_result(result *r, size_t in, size_t out, const nn_layer *l)
{
    r->y = malloc(out * sizeof(float));
    r->ry = malloc(out * sizeof(float));
    r->dx = malloc(in * sizeof(float));
    r->dw = malloc(l->nw * sizeof(float));
    r->db = malloc(l->nb * sizeof(float));
}

static void free_result(result *r)
{
    free(r->y);
    free(r->ry);
    free(r->dx);
    free(r->dw);
    free(r->db);
}

static void check_shape(int C, int OC, int H, int W, int same, int n, int threads, int use_relu,
                        uint64_t *s)
{
    char spec[256];
    snprintf(spec, sizeof spec, "input %dx%dx%d\nconv %d 3x3 %s\nflatten\ndense classes softmax\n",
             W, H, C, OC, same ? "same" : "valid");
    nn_net *net = nn_net_from_spec(spec, 2);
    CHECK_MSG(net != NULL, "%s", nn_error());
    if (!net)
        return;
    nn_net_init(net, nn_rand_u64(s));
    nn_net_set_threads(net, threads);
    nn_layer *l = &net->layers[1];
    for (int i = 0; i < OC; i++)
        l->b[i] = nn_rand_normal(s);
    size_t in = (size_t)n * C * H * W, out = (size_t)n * OC * l->out_h * l->out_w;
    float *x = malloc(in * sizeof *x), *dy = malloc(out * sizeof *dy);
    float *relu_y = use_relu ? malloc(out * sizeof *relu_y) : NULL;
    for (size_t i = 0; i < in; i++)
        x[i] = nn_rand_normal(s);
    for (size_t i = 0; i < out; i++)
        dy[i] = nn_rand_normal(s);
    for (size_t i = 0; relu_y && i < out; i++)
        relu_y[i] = nn_rand_uniform(s) < 0.5f ? 0.0f : 1.0f;
    /* reserve the net's buffers for this batch */
    CHECK(nn_net_forward(net, x, n, 1) != NULL);
    result r[3];
    for (int k = 0; k < 3; k++)
        alloc_result(&r[k], in, out, l);
    run(net, NN_CONV_IM2COL, x, dy, relu_y, n, &r[0]);
    run(net, NN_CONV_WINO2, x, dy, relu_y, n, &r[1]);
    run(net, NN_CONV_WINO4, x, dy, relu_y, n, &r[2]);
    for (int k = 1; k < 3; k++) {
        double ey = rel_err(r[k].y, r[0].y, out), edx = rel_err(r[k].dx, r[0].dx, in);
        double ery = rel_err(r[k].ry, r[0].ry, out);
        int neg = 0; /* the ReLU output is max(y, 0) of this path's own y */
        for (size_t i = 0; i < out; i++)
            neg += r[k].ry[i] != (r[k].y[i] > 0.0f ? r[k].y[i] : 0.0f);
        CHECK_MSG(ery < 1e-4 && neg == 0, "F(%d,3): ReLU output error %.3g, %d mismatches", 2 * k,
                  ery, neg);
        double edw = rel_err(r[k].dw, r[0].dw, l->nw), edb = rel_err(r[k].db, r[0].db, l->nb);
        if (getenv("WINO_VERBOSE"))
            printf("F(%d,3) %s C=%d OC=%d %dx%d n=%d threads=%d relu=%d: y %.2g dx %.2g dw %.2g "
                   "db %.2g\n", 2 * k, same ? "same" : "valid", C, OC, H, W, n, threads, use_relu,
                   ey, edx, edw, edb);
        CHECK_MSG(ey < 1e-4 && edx < 1e-4 && edw < 1e-4 && edb < 1e-4,
                  "F(%d,3) %s C=%d OC=%d %dx%d n=%d threads=%d relu=%d: errors y %.3g dx %.3g "
                  "dw %.3g db %.3g",
                  2 * k, same ? "same" : "valid", C, OC, H, W, n, threads, use_relu, ey, edx,
                  edw, edb);
    }
    for (int k = 0; k < 3; k++)
        free_result(&r[k]);
    free(x);
    free(dy);
    free(relu_y);
    nn_net_free(net);
}

/* Two runs with the same thread count give identical weight gradients. */
static void reproducible(void)
{
    nn_net *net = nn_net_from_spec("input 13x11x7\nconv 9 3x3 same\nflatten\ndense classes softmax\n", 2);
    if (!net)
        return;
    nn_net_init(net, 5);
    nn_net_set_threads(net, 2);
    int n = 7;
    uint64_t s = 3;
    size_t in = (size_t)n * 7 * 11 * 13, out = (size_t)n * 9 * 11 * 13;
    float *x = malloc(in * sizeof *x), *dy = malloc(out * sizeof *dy);
    for (size_t i = 0; i < in; i++)
        x[i] = nn_rand_normal(&s);
    for (size_t i = 0; i < out; i++)
        dy[i] = nn_rand_normal(&s);
    nn_net_forward(net, x, n, 1);
    nn_layer *l = &net->layers[1];
    result r[2];
    for (int k = 0; k < 2; k++) {
        alloc_result(&r[k], in, out, l);
        run(net, NN_CONV_AUTO, x, dy, NULL, n, &r[k]);
    }
    CHECK(memcmp(r[0].dw, r[1].dw, l->nw * sizeof(float)) == 0);
    CHECK(memcmp(r[0].db, r[1].db, l->nb * sizeof(float)) == 0);
    CHECK(memcmp(r[0].dx, r[1].dx, in * sizeof(float)) == 0);
    for (int k = 0; k < 2; k++)
        free_result(&r[k]);
    free(x);
    free(dy);
    nn_net_free(net);
}

/* The transformed weights are kept between passes: writing the weights in
 * place (as callers may, through nn_net_params) must still be seen, at
 * batch 1 (inference) and in a training pass. */
static void weights_changed(void)
{
    nn_net *net = nn_net_from_spec("input 10x10x8\nconv 16 3x3\nflatten\ndense classes softmax\n", 2);
    if (!net)
        return;
    nn_net_init(net, 9);
    nn_layer *l = &net->layers[1];
    uint64_t s = 4;
    float x[800], want[16 * 8 * 8], got[16 * 8 * 8];
    for (int i = 0; i < 800; i++)
        x[i] = nn_rand_normal(&s);
    nn_ctx c = {.train = 1, .rng = &net->rng};
    for (int round = 0; round < 6; round++) {
        int algo = round < 3 ? NN_CONV_WINO4 : NN_CONV_WINO2;
        l->algo = algo;
        nn_net_forward(net, x, 1, round % 2);
        c.scratch = net->scratch;
        c.scratch_len = net->scratch_len;
        memcpy(got, net->act[1], sizeof got);
        l->algo = NN_CONV_IM2COL;
        nn_conv_forward(l, &c, x, want, 1);
        CHECK_MSG(rel_err(got, want, 16 * 64) < 1e-4, "round %d: stale transformed weights",
                  round);
        nn_net_params(net)[(size_t)(l->w - net->params) + 37 * round] += 1.0f;
    }
    /* An optimizer step changes the weights too. */
    l->algo = NN_CONV_WINO4;
    nn_optim_cfg oc = nn_optim_defaults(NN_SGD);
    nn_optim *opt = nn_optim_new(net, &oc);
    CHECK(opt != NULL);
    int label = 1;
    nn_net_forward(net, x, 1, 1);
    nn_net_zero_grad(net);
    CHECK(nn_net_backward(net, &label, NULL) >= 0);
    if (opt)
        nn_optim_step(opt, 0.5f);
    nn_net_forward(net, x, 1, 0);
    memcpy(got, net->act[1], sizeof got);
    l->algo = NN_CONV_IM2COL;
    nn_conv_forward(l, &c, x, want, 1);
    CHECK_MSG(rel_err(got, want, 16 * 64) < 1e-4, "stale transformed weights after a step");
    nn_optim_free(opt);
    nn_net_free(net);
}

int main(void)
{
    uint64_t s = test_seed(17);
    /* Edge cases first: the smallest planes, one channel, sizes that leave
     * one-pixel edge tiles, a layer with more tiles than one block. */
    check_shape(1, 1, 3, 3, 0, 1, 1, 0, &s);
    check_shape(1, 1, 1, 1, 1, 1, 1, 0, &s);
    check_shape(3, 5, 5, 7, 0, 2, 1, 0, &s);
    check_shape(3, 5, 5, 7, 1, 2, 2, 1, &s);
    check_shape(17, 33, 9, 13, 1, 3, 2, 0, &s);
    check_shape(32, 64, 46, 46, 0, 2, 2, 1, &s);
    check_shape(64, 128, 10, 10, 0, 9, 2, 1, &s);
    check_shape(8, 16, 48, 48, 1, 1, 1, 0, &s);
    /* wide: more output channels than the kernels' row blocks (the input
     * transform packs V for the GEMM itself), and backward blocks larger
     * than forward's (for dU), over several images each */
    check_shape(64, 200, 6, 6, 1, 9, 2, 1, &s);
    check_shape(50, 300, 7, 5, 0, 5, 1, 0, &s);
    for (int trial = 0; trial < 40; trial++) {
        int C = 1 + (int)(nn_rand_u64(&s) % 40), OC = 1 + (int)(nn_rand_u64(&s) % 40);
        int same = (int)(nn_rand_u64(&s) % 2);
        int H = (same ? 1 : 3) + (int)(nn_rand_u64(&s) % 18);
        int W = (same ? 1 : 3) + (int)(nn_rand_u64(&s) % 18);
        int n = 1 + (int)(nn_rand_u64(&s) % 5), threads = 1 + (int)(nn_rand_u64(&s) % 2);
        check_shape(C, OC, H, W, same, n, threads, (int)(nn_rand_u64(&s) % 2), &s);
    }
    reproducible();
    weights_changed();
    return test_done("test_winograd");
}
