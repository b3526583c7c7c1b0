/* test_q8_kernel.c - an INT8 kernel (named by the first argument: vnni or
 * avx2) against the scalar reference, bit for bit, on random shapes:
 * channel counts that are not multiples of 16, pixel counts that leave
 * partial tiles (1 to 3 pixels, as dense layers have), sub-ranges of
 * blocks and pixels, extreme values (255 x -127 summed over 9 x 96 quads),
 * both output kinds, and that nothing outside the valid outputs is
 * written; then every tile edge of a fixed list of shapes. Then the
 * kernel's integer Winograd (if it has one) against the reference's GEMM
 * of the same 3x3 convolution: 'same' and 'valid', odd and even sizes
 * (partial tiles), passes of more tiles than its scratch holds, channel
 * counts that end inside a group of 16, sub-ranges of tiles and blocks,
 * and sums that wrap int32 on the way (1,840 channels of 255 x +-127).
 * Exits 77 (skipped) when the CPU lacks the kernel's ISA. */
#include "nn_impl.h"
#include "kernels/q8.h"
#include "testutil.h"

#include <string.h>

static int rnd(uint64_t *s, int lo, int hi) /* [lo, hi] */
{
    return lo + (int)(nn_rand_u64(s) % (uint64_t)(hi - lo + 1));
}

/* A fixed shape for run_case; 0 fields are drawn at random. */
typedef struct shape {
    int taps, cq, oc, P;
} shape;

static int run_case(const nn_q8_kernel *k, uint64_t *s, int c, shape f)
{
    int extreme = c % 7 == 3;
    int taps = f.taps ? f.taps : (int[]){1, 4, 9}[rnd(s, 0, 2)];
    int cq = f.cq ? f.cq : extreme ? 96 : rnd(s, 1, 12);
    int nb = f.oc ? (f.oc + 15) / 16 : rnd(s, 1, 6);
    int oc = f.oc ? f.oc : extreme ? 16 * nb : rnd(s, 16 * (nb - 1) + 1, 16 * nb);
    int P = f.P ? f.P : c % 5 == 0 ? rnd(s, 1, 3) : rnd(s, 1, 70);
    size_t span = (size_t)rnd(s, 0, 300) * 4, ibytes = span + (size_t)taps * 4 * cq + 4 * (size_t)cq + 64;
    uint8_t *in = malloc(ibytes + 4 * (size_t)taps * 4 * cq);
    int32_t tap[9], *pix = malloc(sizeof(int32_t) * P), *opix = malloc(sizeof(int32_t) * P);
    size_t wbytes = nn_q8_block_bytes(taps, cq) * nb;
    int8_t *w = malloc(wbytes);
    float *scale = malloc(sizeof(float) * 16 * nb), *bias = malloc(sizeof(float) * 16 * nb);
    int ostride = oc + rnd(s, 0, 5);
    size_t olen = (size_t)P * ostride + 16;
    uint8_t *o8a = malloc(olen), *o8b = malloc(olen);
    float *ofa = malloc(olen * sizeof(float)), *ofb = malloc(olen * sizeof(float));
    size_t itot = ibytes + 4 * (size_t)taps * 4 * cq;
    for (size_t i = 0; i < itot; i++)
        in[i] = extreme ? 255 : (uint8_t)rnd(s, 0, 255);
    for (int t = 0; t < taps; t++)
        tap[t] = 4 * rnd(s, 0, taps * cq);
    for (int p = 0; p < P; p++) {
        pix[p] = rnd(s, 0, (int)span);
        opix[p] = p * ostride;
    }
    for (size_t i = 0; i < wbytes; i++)
        w[i] = extreme ? (int8_t)(i % 3 ? -127 : 127) : (int8_t)rnd(s, -127, 127);
    if (extreme)
        memset(w, -127, wbytes); /* the most negative sums */
    float unit = 1.0f / (float)(taps * cq * 4 * 60);
    for (int j = 0; j < 16 * nb; j++) {
        scale[j] = unit * (float)rnd(s, 1, 2000) / 100.0f * (rnd(s, 0, 3) ? 1.0f : -1.0f);
        bias[j] = (float)rnd(s, -20000, 40000) / 100.0f;
    }
    int b0 = rnd(s, 0, nb - 1), b1 = rnd(s, b0 + 1, nb);
    int p0 = rnd(s, 0, P - 1), p1 = rnd(s, p0 + 1, P);
    if (c % 3 == 0 || f.P) {
        b0 = 0, b1 = nb, p0 = 0, p1 = P;
    }
    /* a `wide` kernel's int16 copies (the reference ignores them) */
    int16_t *in16 = malloc(sizeof(int16_t) * itot), *w16 = malloc(sizeof(int16_t) * wbytes);
    nn_q8_widen_u8(in16, in, itot);
    nn_q8_widen_s8(w16, w, wbytes);
    nn_q8_gemm g = {.in = in, .pix = pix, .tap = tap, .P = P, .taps = taps, .cq = cq, .w = w,
                    .nb = nb, .oc = oc, .scale = scale, .bias = bias,
                    .lo = c % 4 == 2 ? (float)rnd(s, 0, 40) : 0.0f, .relu = c % 4 == 1, .opix = opix,
                    .in16 = k->wide ? in16 : NULL, .w16 = k->wide ? w16 : NULL};
    memset(o8a, 0xA5, olen);
    memset(o8b, 0xA5, olen);
    for (size_t i = 0; i < olen; i++)
        ofa[i] = ofb[i] = -12345.0f;
    int bad = 0;
    if (c % 2 == 0) {
        g.out8 = o8a;
        nn_q8_kernel_ref.gemm(&g, b0, b1, p0, p1);
        g.out8 = o8b;
        k->gemm(&g, b0, b1, p0, p1);
        bad = memcmp(o8a, o8b, olen) != 0;
        /* the reference itself wrote only the valid part */
        for (int p = 0; p < P && !bad; p++)
            for (int j = 0; j < ostride; j++) {
                int inside = p >= p0 && p < p1 && j >= 16 * b0 && j < 16 * b1 && j < oc;
                if (!inside && o8a[opix[p] + j] != 0xA5)
                    bad = 1;
            }
    } else {
        g.outf = ofa;
        nn_q8_kernel_ref.gemm(&g, b0, b1, p0, p1);
        g.outf = ofb;
        k->gemm(&g, b0, b1, p0, p1);
        bad = memcmp(ofa, ofb, olen * sizeof(float)) != 0;
    }
    CHECK_MSG(!bad, "case %d: taps %d cq %d nb %d oc %d P %d blocks [%d,%d) pixels [%d,%d) %s", c,
              taps, cq, nb, oc, P, b0, b1, p0, p1, c % 2 ? "float" : "u8");
    free(in);
    free(in16);
    free(w16);
    free(pix);
    free(opix);
    free(w);
    free(scale);
    free(bias);
    free(o8a);
    free(o8b);
    free(ofa);
    free(ofb);
    return bad;
}

/* A hand-worked case for the reference: 1 tap, 1 quad, one pixel. */
static void test_ref_by_hand(void)
{
    uint8_t in[4] = {1, 2, 3, 255};
    int32_t zero = 0;
    int8_t w[64] = {0};
    w[0] = 1, w[1] = -1, w[2] = 2, w[3] = -127; /* channel 0: 1 - 2 + 6 - 32385 = -32380 */
    w[4] = 127, w[7] = 1;                       /* channel 1: 127 + 255 = 382 */
    float scale[16] = {-0.001f, 0.5f}, bias[16] = {10.0f, 0.25f};
    uint8_t out[16] = {0};
    nn_q8_gemm g = {.in = in, .pix = &zero, .tap = &zero, .P = 1, .taps = 1, .cq = 1, .w = w,
                    .nb = 1, .oc = 2, .scale = scale, .bias = bias, .out8 = out, .opix = &zero};
    nn_q8_kernel_ref.gemm(&g, 0, 1, 0, 1);
    CHECK(out[0] == 42);  /* 32.38 + 10 = 42.38 */
    CHECK(out[1] == 191); /* 191.25 */
    float of[16];
    g.out8 = NULL;
    g.outf = of;
    g.relu = 1;
    scale[0] = 0.001f;
    nn_q8_kernel_ref.gemm(&g, 0, 1, 0, 1);
    CHECK(of[0] == 0.0f); /* -32.38 + 10 clamped by the ReLU */
    CHECK_NEAR(of[1], 191.25, 1e-4);
}

/* A 3x3 convolution of an h x w image of 4 cq channels with padding pad
 * (0 or 1) into oc channels, as the reference GEMM and as k's Winograd. */
static int wino_case(const nn_q8_kernel *k, uint64_t *s, int c, int h, int w, int pad, int cq, int oc,
                     int extreme)
{
    const int cp = 4 * cq, cv = (cp + 15) & ~15, nb = (oc + 15) / 16;
    const int oh = h + 2 * pad - 2, ow = w + 2 * pad - 2, th = (oh + 1) / 2, tw = (ow + 1) / 2;
    const int hp = 2 * th + 2, wp = 2 * tw + 2, P = oh * ow, T = th * tw;
    const int ocs = oc + rnd(s, 0, 5), owp = ow + rnd(s, 0, 2); /* output: channel and row strides */
    size_t ibytes = (size_t)hp * wp * cp + 64, wbytes = nn_q8_block_bytes(9, cq) * nb;
    size_t olen = (size_t)oh * owp * ocs + 16;
    uint8_t *in = malloc(ibytes), *oa = malloc(olen), *ob = malloc(olen), *tmask = malloc((size_t)T);
    int8_t *wt = malloc(wbytes);
    int16_t *u = malloc(sizeof(int16_t) * (size_t)nb * 16 * cv * 16);
    int32_t tap[9], *pix = malloc(sizeof(int32_t) * P), *opix = malloc(sizeof(int32_t) * P);
    int32_t *tin = malloc(sizeof(int32_t) * T), *tout = malloc(sizeof(int32_t) * T);
    float *scale = malloc(sizeof(float) * 16 * nb), *bias = malloc(sizeof(float) * 16 * nb);
    void *scratch = nn_alloc(nn_q8_wino_scratch(cv));
    for (size_t i = 0; i < ibytes; i++)
        in[i] = extreme ? (rnd(s, 0, 7) ? 255 : 0) : (uint8_t)rnd(s, 0, 255);
    for (size_t i = 0; i < wbytes; i++)
        wt[i] = extreme ? (int8_t)(rnd(s, 0, 7) ? -127 : 127) : (int8_t)rnd(s, -127, 127);
    float unit = 1.0f / (float)(9 * cp * 60);
    for (int j = 0; j < 16 * nb; j++) {
        scale[j] = unit * (float)rnd(s, 1, 2000) / 100.0f * (rnd(s, 0, 3) ? 1.0f : -1.0f);
        bias[j] = (float)rnd(s, -20000, 40000) / 100.0f;
    }
    for (int t = 0; t < 9; t++)
        tap[t] = ((t / 3) * wp + t % 3) * cp;
    for (int p = 0; p < P; p++) {
        pix[p] = ((p / ow) * wp + p % ow) * cp;
        opix[p] = ((p / ow) * owp + p % ow) * ocs;
    }
    for (int t = 0; t < T; t++) {
        int ty = t / tw, tx = t % tw;
        tin[t] = (2 * ty * wp + 2 * tx) * cp;
        tout[t] = (2 * ty * owp + 2 * tx) * ocs;
        tmask[t] = (uint8_t)((2 * tx + 1 < ow) | (2 * ty + 1 < oh) << 1);
    }
    nn_q8_wino_weights(u, wt, cq, nb, cv);
    float lo = c % 2 ? (float)rnd(s, 0, 40) : 0.0f;
    nn_q8_gemm g = {.in = in, .pix = pix, .tap = tap, .P = P, .taps = 9, .cq = cq, .w = wt,
                    .nb = nb, .oc = oc, .scale = scale, .bias = bias, .lo = lo, .out8 = oa,
                    .opix = opix};
    nn_q8_wino q = {.in = in, .tin = tin, .tout = tout, .tmask = tmask, .T = T, .cp = cp, .cv = cv,
                    .row = wp * cp, .orow = owp * ocs, .opx = ocs, .u = u, .nb = nb, .oc = oc,
                    .scale = scale, .bias = bias, .lo = lo, .out8 = ob};
    memset(oa, 0xA5, olen);
    memset(ob, 0xA5, olen);
    nn_q8_kernel_ref.gemm(&g, 0, nb, 0, P);
    /* in two calls: split by tiles, or by blocks */
    if (c % 3 == 0 || nb == 1) {
        int ts = rnd(s, 0, T);
        k->wino(&q, 0, nb, 0, ts, scratch);
        k->wino(&q, 0, nb, ts, T, scratch);
    } else {
        int bs = rnd(s, 1, nb - 1);
        k->wino(&q, bs, nb, 0, T, scratch);
        k->wino(&q, 0, bs, 0, T, scratch);
    }
    int bad = memcmp(oa, ob, olen) != 0;
    CHECK_MSG(!bad, "winograd case %d: %dx%d pad %d, %d channels -> %d%s", c, h, w, pad, cp, oc,
              extreme ? " (extreme)" : "");
    free(in); free(oa); free(ob); free(tmask); free(wt); free(u); free(pix); free(opix);
    free(tin); free(tout); free(scale); free(bias); nn_free(scratch);
    return bad;
}

int main(int argc, char **argv)
{
    test_ref_by_hand();
    const char *name = argc > 1 ? argv[1] : "ref";
    const nn_q8_kernel *k = nn__q8_kernel_named(name);
    if (!k) {
        printf("SKIP: this CPU has no '%s' INT8 kernel\n", name);
        return 77;
    }
    uint64_t s = test_seed(77);
    int fails = 0;
    for (int c = 0; c < 400 && fails < 5; c++)
        fails += run_case(k, &s, c, (shape){0});
    /* Edges of the SIMD kernels' tiles, every one: pixel counts around
     * tiles of 6 (and the 1-2 pixel path), channel counts ending inside
     * the first or second 8 of a block, one quad or a few, one tap or
     * nine; each with the four outputs c % 4 selects: u8 (0), u8 clamped
     * at a zero point (2), float (3), float through the ReLU (1). */
    static const int Ps[] = {1, 2, 3, 4, 5, 6, 7, 11, 12, 13}, ocs[] = {1, 7, 8, 9, 16, 17, 24, 33};
    for (int i = 0; i < (int)(sizeof Ps / sizeof *Ps) && fails < 5; i++)
        for (int j = 0; j < (int)(sizeof ocs / sizeof *ocs) && fails < 5; j++)
            for (int c = 0; c < 4; c++)
                fails += run_case(k, &s, c, (shape){(i + j) % 2 ? 9 : 1, 1 + (i + j + c) % 3, ocs[j], Ps[i]});
    if (k->wino) {
        for (int c = 0; c < 150 && fails < 5; c++) {
            int pad = c % 2, h = rnd(&s, 3 - 2 * pad, 16), w = rnd(&s, 3 - 2 * pad, 16);
            int nb = rnd(&s, 1, 4);
            fails += wino_case(k, &s, c, h, w, pad, rnd(&s, 1, 30), rnd(&s, 16 * (nb - 1) + 1, 16 * nb),
                               c % 10 == 7);
        }
        /* every channel count's end within a group of 16, and the widest input */
        for (int cq = 1; cq <= 8 && fails < 5; cq++)
            fails += wino_case(k, &s, cq, 6, 7, 1, cq, 8 + cq, 0);
        fails += wino_case(k, &s, 0, 4, 4, 1, 460, 16, 1);
    } else {
        printf("%s: no Winograd path\n", name);
    }
    return test_done(name);
}
