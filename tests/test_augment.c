/* test_augment.c - augmentation invariants: "none" and zero magnitudes are
 * the identity, flip twice is the identity and mirrors exactly, whole-pixel
 * shifts and 90-degree turns move pixels exactly, colour changes saturate
 * instead of wrapping, erasing touches one rectangle only, a seed fixes the
 * result; the list parser; and speed. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "app_err.h"
#include "augment.h"
#include "rng.h"
#include "testutil.h"

enum { W = 48, H = 48, NPX = W * H };

static void random_image(uint8_t *img, int n, uint64_t seed)
{
    uint64_t s = seed;
    for (int i = 0; i < n; i++)
        img[i] = (uint8_t)(rng_next(&s) >> 56);
}

static int same(const uint8_t *a, const uint8_t *b, int n) { return !memcmp(a, b, (size_t)n); }

static void test_identity(void)
{
    uint8_t src[NPX], dst[NPX];
    random_image(src, NPX, test_seed(1));
    augment_cfg cfg;
    augment_defaults(&cfg, W, H);
    CHECK(cfg.shift == 4);
    CHECK(augment_parse(&cfg, "none") == 0 && cfg.ops == 0);
    uint64_t rng = 9;
    int ok = 1;
    for (int i = 0; i < 50; i++) {
        augment_apply(&cfg, src, dst, W, H, &rng);
        ok &= same(src, dst, NPX);
    }
    CHECK(ok);

    /* Each operation with a zero magnitude changes nothing. */
    static const char *const ops[] = {"crop", "flip", "rotate", "zoom", "color", "erase"};
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        augment_defaults(&cfg, W, H);
        CHECK(augment_parse(&cfg, ops[k]) == 0);
        cfg.shift = 0;
        cfg.flip_p = 0;
        cfg.rotate = 0;
        cfg.zoom_min = cfg.zoom_max = 1;
        cfg.brightness = 0;
        cfg.contrast = 0;
        cfg.erase_min = cfg.erase_max = 0;
        ok = 1;
        for (int i = 0; i < 50; i++) {
            augment_apply(&cfg, src, dst, W, H, &rng);
            ok &= same(src, dst, NPX);
        }
        CHECK_MSG(ok, "%s with zero magnitude is not the identity", ops[k]);
    }
    /* All of them at once, too. */
    CHECK(augment_parse(&cfg, "all") == 0 && cfg.ops == AUGMENT_ALL);
    augment_apply(&cfg, src, dst, W, H, &rng);
    CHECK(same(src, dst, NPX));
    /* The deterministic map with neutral parameters. */
    augment_affine(src, dst, W, H, 0, 0, 1, 0, 0);
    CHECK(same(src, dst, NPX));
}

static void test_flip(void)
{
    /* Odd width: the middle column stays. */
    enum { w = 7, h = 5 };
    uint8_t src[w * h], a[w * h], b[w * h];
    for (int i = 0; i < w * h; i++)
        src[i] = (uint8_t)(i * 3); /* asymmetric */
    augment_flip(src, a, w, h);
    int mirror = 1;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            mirror &= a[y * w + x] == src[y * w + (w - 1 - x)];
    CHECK(mirror);
    CHECK(!same(a, src, w * h));
    augment_flip(a, b, w, h);
    CHECK(same(b, src, w * h));

    /* Through augment_apply with p = 1, and through augment_affine. */
    augment_cfg cfg;
    augment_defaults(&cfg, w, h);
    CHECK(augment_parse(&cfg, "flip:1") == 0 && cfg.flip_p == 1);
    uint64_t rng = 3;
    augment_apply(&cfg, src, b, w, h, &rng);
    CHECK(same(a, b, w * h));
    augment_affine(src, b, w, h, 1, 0, 1, 0, 0);
    CHECK(same(a, b, w * h));
    augment_affine(a, b, w, h, 1, 0, 1, 0, 0);
    CHECK(same(src, b, w * h));
}

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

static void test_geometry(void)
{
    uint8_t src[NPX], dst[NPX];
    random_image(src, NPX, test_seed(2));
    /* Whole-pixel shift, edges replicated. */
    augment_affine(src, dst, W, H, 0, 0, 1, 3, -2);
    int ok = 1;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            ok &= dst[y * W + x] == src[clampi(y + 2, 0, H - 1) * W + clampi(x - 3, 0, W - 1)];
    CHECK(ok);

    /* 90 degrees counter-clockwise: dst(x, y) = src(w-1-y, x). Goes through
     * the bilinear path; whole-pixel positions must stay exact. */
    augment_affine(src, dst, W, H, 0, 90, 1, 0, 0);
    ok = 1;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            ok &= dst[y * W + x] == src[x * W + (W - 1 - y)];
    CHECK(ok);

    /* Zoom 2 about the centre of a 2-pixel-wide ramp halves its slope. */
    uint8_t ramp[NPX], out[NPX];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            ramp[y * W + x] = (uint8_t)(x * 4);
    augment_affine(ramp, out, W, H, 0, 0, 2, 0, 0);
    /* dst x maps to src 23.5 + (x - 23.5) / 2. */
    for (int x = 10; x < 40; x += 7) {
        double want = 4 * (23.5 + (x - 23.5) / 2);
        CHECK_NEAR(out[20 * W + x], want, 1.01);
    }
}

static void test_color(void)
{
    uint8_t src[NPX], dst[NPX];
    random_image(src, NPX, test_seed(3));
    augment_cfg cfg;
    augment_defaults(&cfg, W, H);
    CHECK(augment_parse(&cfg, "color") == 0);
    cfg.brightness = 120; /* far past saturation */
    cfg.contrast = 0.9f;
    uint64_t rng = 11;
    int monotone = 1, changed = 0;
    for (int t = 0; t < 20; t++) {
        augment_apply(&cfg, src, dst, W, H, &rng);
        changed += !same(src, dst, NPX);
        /* One increasing table for all pixels: a wrap-around past 255 or
         * below 0 would break the order. */
        for (int i = 1; i < NPX; i++)
            if ((src[i] < src[0] && dst[i] > dst[0]) || (src[i] > src[0] && dst[i] < dst[0]))
                monotone = 0;
    }
    CHECK(monotone);
    CHECK(changed == 20);
}

static void test_erase(void)
{
    uint8_t src[NPX], dst[NPX];
    random_image(src, NPX, test_seed(4));
    augment_cfg cfg;
    augment_defaults(&cfg, W, H);
    CHECK(augment_parse(&cfg, "erase:1") == 0 && cfg.erase_p == 1);
    for (int mode = 0; mode < 2; mode++) {
        cfg.erase_noise = mode;
        uint64_t rng = 100 + mode;
        for (int t = 0; t < 30; t++) {
            augment_apply(&cfg, src, dst, W, H, &rng);
            int x0 = W, y0 = H, x1 = -1, y1 = -1;
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++)
                    if (dst[y * W + x] != src[y * W + x]) {
                        x0 = x < x0 ? x : x0;
                        x1 = x > x1 ? x : x1;
                        y0 = y < y0 ? y : y0;
                        y1 = y > y1 ? y : y1;
                    }
            CHECK(x1 >= 0); /* p = 1: something was erased */
            if (x1 < 0)
                continue;
            int area = (x1 - x0 + 1) * (y1 - y0 + 1);
            /* Rounding each side can add about half a pixel per side. */
            CHECK_MSG(area <= cfg.erase_max * NPX * 1.15 + 48, "area %d", area);
            if (mode == 0) { /* mean fill: the box is one value */
                int v = dst[y0 * W + x0], flat = 1;
                for (int y = y0; y <= y1; y++)
                    for (int x = x0; x <= x1; x++)
                        flat &= dst[y * W + x] == v;
                CHECK(flat);
            }
        }
    }
}

static void test_determinism(void)
{
    uint8_t src[NPX], a[NPX], b[NPX], c[NPX];
    random_image(src, NPX, test_seed(5));
    augment_cfg cfg;
    augment_defaults(&cfg, W, H);
    CHECK(augment_parse(&cfg, "crop,flip,rotate,zoom,color,erase") == 0 && cfg.ops == AUGMENT_ALL);
    uint64_t r1 = 77, r2 = 77, r3 = 78;
    int all_same = 1, differs = 0;
    for (int t = 0; t < 20; t++) {
        augment_apply(&cfg, src, a, W, H, &r1);
        augment_apply(&cfg, src, b, W, H, &r2);
        augment_apply(&cfg, src, c, W, H, &r3);
        all_same &= same(a, b, NPX);
        differs += !same(a, c, NPX);
    }
    CHECK(all_same && r1 == r2);
    CHECK(differs >= 19);
}

static void test_parse(void)
{
    augment_cfg cfg;
    augment_defaults(&cfg, W, H);
    CHECK(augment_parse(&cfg, "crop, flip") == 0 && cfg.ops == (AUGMENT_CROP | AUGMENT_FLIP));
    CHECK(augment_parse(&cfg, "flop") == -1 && strstr(app_error(), "'flop'"));
    CHECK(cfg.ops == (AUGMENT_CROP | AUGMENT_FLIP)); /* unchanged on error */
    CHECK(augment_parse(&cfg, "rotate:15,shift:6,zoom:0.2") == 0);
    CHECK(cfg.rotate == 15 && cfg.shift == 6 && cfg.zoom_min == 0.8f);
    CHECK(cfg.ops == (AUGMENT_ROTATE | AUGMENT_CROP | AUGMENT_ZOOM));
    CHECK(augment_parse(&cfg, "zoom:2") == -1);
    CHECK(augment_parse(&cfg, "rotate:abc") == -1 && strstr(app_error(), "abc"));
    CHECK(augment_parse(&cfg, "") == 0 && cfg.ops == 0);
    CHECK(augment_parse(&cfg, NULL) == 0 && cfg.ops == 0);
    CHECK(augment_parse(&cfg, "all,none,flip") == 0 && cfg.ops == AUGMENT_FLIP);
    char buf[256];
    CHECK(!strcmp(augment_describe(&cfg, buf, sizeof buf), "flip(p0.5)"));
    /* Random lists: no crash, and ops stay within AUGMENT_ALL. */
    uint64_t rng = 99;
    static const char alphabet[] = "cropflipzoomerasecolorall:,.0123456789 -";
    for (int it = 0; it < 2000; it++) {
        char list[48];
        int n = (int)(rng_next(&rng) % (sizeof list - 1));
        for (int i = 0; i < n; i++)
            list[i] = alphabet[rng_next(&rng) % (sizeof alphabet - 1)];
        list[n] = 0;
        augment_cfg c2;
        augment_defaults(&c2, W, H);
        if (augment_parse(&c2, list) == 0)
            CHECK((c2.ops & ~(unsigned)AUGMENT_ALL) == 0);
        else
            CHECK(app_error()[0] != 0);
    }
    cfg.ops = 0;
    CHECK(!strcmp(augment_describe(&cfg, buf, sizeof buf), "none"));
}

static void test_speed(void)
{
    enum { N = 28709 };
    uint8_t src[NPX], dst[NPX];
    random_image(src, NPX, 6);
    augment_cfg cfg;
    augment_defaults(&cfg, W, H);
    augment_parse(&cfg, "all");
    uint64_t rng = 1;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    unsigned sink = 0;
    for (int i = 0; i < N; i++) {
        augment_apply(&cfg, src, dst, W, H, &rng);
        sink += dst[i % NPX];
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double us = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 1e3 / N;
    printf("augment_apply all, 48x48: %.2f us per image (%u)\n", us, sink & 1);
    /* Only optimised builds are timed (sanitizers are ~10x slower); the
     * bound is loose because test machines are often busy. */
#if defined(__OPTIMIZE__) && !defined(__SANITIZE_ADDRESS__)
    CHECK_MSG(us < 100, "%.1f us per image", us);
#endif
}

int main(void)
{
    test_identity();
    test_flip();
    test_geometry();
    test_color();
    test_erase();
    test_determinism();
    test_parse();
    test_speed();
    return test_done("test_augment");
}
