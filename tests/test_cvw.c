/* test_cvw.c - the OpenCV wrapper's image helpers (app/cv): colour and
 * gray reading agree, PNG round trips unchanged, colour writing, the
 * engine's equalization equal to OpenCV's on crops of a real picture, and
 * failures (missing, non-image and truncated files, JPEGs cut short,
 * unknown extensions, non-models for the DNN loader) that return -1 or
 * NULL and name the file; damaged PNGs named with a reason and odd ones
 * read, without a word from the decoders on stderr, and stderr never
 * taken from the other threads while a picture decodes; 16-bit PNGs and
 * float TIFFs read as their 8-bit picture.
 * Needs assets/astronaut.png under $NN_TEST_SRCDIR. */
#include "cvw.h"
#include "nn_impl.h"
#include "picture.h"
#include "runprog.h"
#include "testutil.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[256];

static void tmp_path(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", tmpdir, name);
}



/* Writes the first n bytes of data, then extra bytes of junk, to name. */
static void write_cut(const char *name, const char *data, size_t n, size_t extra, char *path, size_t len)
{
    tmp_path(path, len, name);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f)
        return;
    fwrite(data, 1, n, f);
    for (size_t i = 0; i < extra; i++)
        fputc((int)(i * 37 % 251), f);
    fclose(f);
}

/* A JPEG cut short decodes in OpenCV without an error (missing rows gray):
 * the reader must refuse it by name, yet take a whole JPEG with data
 * appended after its end (as phones' motion photos have). */
static void check_jpeg_cut(const char *jpg)
{
    size_t len;
    char *data = slurp(jpg, &len);
    CHECK(data != NULL && len > 1000);
    if (!data)
        return;
    char path[512];
    uint8_t *px = NULL;
    int w = 0, h = 0;
    const size_t cuts[] = {len / 2, len * 9 / 10, len - 2};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        write_cut("cut.jpg", data, cuts[i], 0, path, sizeof path);
        CHECK_MSG(cvw_read_bgr(path, &px, &w, &h) == -1, "a JPEG cut to %zu of %zu bytes was read", cuts[i], len);
        CHECK_MSG(strstr(cvw_error(), "cut.jpg") && strstr(cvw_error(), "truncated"), "message: %s", cvw_error());
        CHECK(px == NULL);
        CHECK(cvw_read_gray(path, &px, &w, &h) == -1); /* the trainer's reader too */
    }
    write_cut("cut.jpg", data, len, 5000, path, sizeof path);
    CHECK_MSG(cvw_read_bgr(path, &px, &w, &h) == 0, "%s", cvw_error());
    free(px);
    remove(path);
    free(data);
}

static void check_images(const picture *pic, const char *asset)
{
    char path[512];
    uint8_t *bgr = NULL, *gray2 = NULL;
    int w = 0, h = 0;

    /* colour read then conversion is what cvw_read_gray does */
    CHECK(cvw_read_bgr(asset, &bgr, &w, &h) == 0);
    if (bgr) {
        CHECK(w == pic->w && h == pic->h);
        uint8_t *g = malloc((size_t)w * h);
        CHECK(cvw_bgr_to_gray(bgr, w, h, g) == 0);
        CHECK(memcmp(g, pic->gray, (size_t)w * h) == 0);
        /* the picture is in colour: its channels differ somewhere */
        int colour = 0;
        for (size_t i = 0; i < (size_t)w * h && !colour; i++)
            colour = bgr[3 * i] != bgr[3 * i + 2];
        CHECK(colour);
        free(g);
    }

    /* write a crop, read it back unchanged (PNG is lossless) */
    uint8_t crop[48 * 48];
    CHECK(make_crop(pic, 0, 48, 48, crop) == 0);
    tmp_path(path, sizeof path, "crop.png");
    CHECK_MSG(cvw_write_image(path, crop, 48, 48, 1) == 0, "%s", cvw_error());
    CHECK(cvw_read_gray(path, &gray2, &w, &h) == 0);
    if (gray2) {
        CHECK(w == 48 && h == 48);
        CHECK(memcmp(gray2, crop, sizeof crop) == 0);
        free(gray2);
        gray2 = NULL;
    }
    /* colour write and read (jpg: lossy, so only the size is checked) */
    if (bgr) {
        tmp_path(path, sizeof path, "colour.jpg");
        CHECK_MSG(cvw_write_image(path, bgr, pic->w, pic->h, 3) == 0, "%s", cvw_error());
        CHECK(cvw_read_gray(path, &gray2, &w, &h) == 0);
        CHECK(w == pic->w && h == pic->h);
        free(gray2);
        gray2 = NULL;
        check_jpeg_cut(path);
    }
    free(bgr);

    /* the engine's equalization matches OpenCV's */
    uint8_t a[48 * 48], b[48 * 48];
    for (int i = 0; i < N_CROPS; i++) {
        CHECK(make_crop(pic, i, 48, 48, a) == 0);
        memcpy(b, a, sizeof a);
        nn_equalize_u8(a, 48, 48);
        CHECK(cvw_equalize_gray(b, 48, 48) == 0);
        CHECK_MSG(memcmp(a, b, sizeof a) == 0, "crop %d: nn_equalize_u8 differs from equalizeHist", i);
    }

    /* failures name the file */
    tmp_path(path, sizeof path, "missing.png");
    CHECK(cvw_read_gray(path, &gray2, &w, &h) == -1);
    CHECK(gray2 == NULL);
    CHECK_MSG(strstr(cvw_error(), "missing.png") != NULL, "message: %s", cvw_error());
    tmp_path(path, sizeof path, "not-an-image.png");
    FILE *f = fopen(path, "wb");
    if (f) {
        fputs("this is text, not a picture\n", f);
        fclose(f);
    }
    CHECK(cvw_read_gray(path, &gray2, &w, &h) == -1);
    CHECK_MSG(strstr(cvw_error(), "not-an-image.png") != NULL, "message: %s", cvw_error());
    /* a truncated picture: the decoder fails cleanly */
    size_t alen;
    char *png = slurp(asset, &alen);
    CHECK(png != NULL);
    if (png) {
        tmp_path(path, sizeof path, "truncated.png");
        f = fopen(path, "wb");
        if (f) {
            fwrite(png, 1, alen / 3, f);
            fclose(f);
        }
        free(png);
        CHECK(cvw_read_gray(path, &gray2, &w, &h) == -1);
        CHECK_MSG(strstr(cvw_error(), "truncated.png") != NULL, "message: %s", cvw_error());
        remove(path);
    }
    tmp_path(path, sizeof path, "out.unknown-extension");
    CHECK(cvw_write_image(path, crop, 48, 48, 1) == -1);
    CHECK(cvw_error()[0] != 0);
    CHECK(cvw_dnn_load_onnx(path) == NULL); /* no such file */
    CHECK(cvw_error()[0] != 0);
    tmp_path(path, sizeof path, "not-an-image.png");
    CHECK(cvw_dnn_load_onnx(path) == NULL); /* not a model */
    CHECK(cvw_error()[0] != 0);
}

/* ---- PNG: damaged files named, decoders kept off stderr ------------------ */

static uint32_t crc32_png(const unsigned char *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xFFFFFFFFu;
}

/* data[0..at) + a chunk of type with body + data[at..len) into path. */
static void write_with_chunk(const char *path, const char *data, size_t len, size_t at,
                             const char *type, const char *body, size_t blen)
{
    unsigned char head[8], crc[4];
    unsigned char *tb = malloc(4 + blen);
    CHECK(tb != NULL);
    if (!tb)
        return;
    memcpy(tb, type, 4);
    memcpy(tb + 4, body, blen);
    uint32_t c = crc32_png(tb, 4 + blen);
    for (int i = 0; i < 4; i++) {
        head[i] = (unsigned char)(blen >> (24 - 8 * i));
        crc[i] = (unsigned char)(c >> (24 - 8 * i));
    }
    memcpy(head + 4, type, 4);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) {
        fwrite(data, 1, at, f);
        fwrite(head, 1, 8, f);
        fwrite(body, 1, blen, f);
        fwrite(crc, 1, 4, f);
        fwrite(data + at, 1, len - at, f);
        fclose(f);
    }
    free(tb);
}

/* ---- Pictures of other depths, scaled to 8 bits ---------------------------- */

static void put_be32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (24 - 8 * i));
}

/* One PNG chunk: length, type, body, CRC of type and body. */
static void put_chunk(FILE *f, const char *type, const unsigned char *body, size_t len)
{
    unsigned char be[4], *tb = malloc(4 + len);
    CHECK(tb != NULL);
    if (!tb)
        return;
    memcpy(tb, type, 4);
    if (len)
        memcpy(tb + 4, body, len); /* IEND has no body */
    put_be32(be, (uint32_t)len);
    fwrite(be, 1, 4, f);
    fwrite(tb, 1, 4 + len, f);
    put_be32(be, crc32_png(tb, 4 + len));
    fwrite(be, 1, 4, f);
    free(tb);
}

/* gray as a 16-bit gray PNG, each value v stored as v * 257 (so 255 is
 * 65535), the image data in stored (uncompressed) deflate blocks. */
static int write_png16(const char *path, const uint8_t *gray, int w, int h)
{
    size_t row = 1 + (size_t)w * 2, raw_len = row * h;
    size_t n_blocks = (raw_len + 65534) / 65535;
    unsigned char *raw = malloc(raw_len), *z = malloc(2 + raw_len + 5 * n_blocks + 4);
    FILE *f = raw && z ? fopen(path, "wb") : NULL;
    if (!f) {
        free(raw);
        free(z);
        return -1;
    }
    for (int y = 0; y < h; y++) {
        unsigned char *r = raw + row * y;
        r[0] = 0; /* no filter */
        for (int x = 0; x < w; x++)
            r[1 + 2 * x] = r[2 + 2 * x] = gray[(size_t)y * w + x]; /* v * 257, big-endian */
    }
    size_t zn = 0;
    uint32_t a = 1, b = 0; /* Adler-32 of the raw data */
    z[zn++] = 0x78;
    z[zn++] = 0x01;
    for (size_t at = 0; at < raw_len; at += 65535) {
        size_t n = raw_len - at < 65535 ? raw_len - at : 65535;
        z[zn++] = at + n == raw_len; /* BFINAL, stored */
        z[zn++] = (unsigned char)n, z[zn++] = (unsigned char)(n >> 8);
        z[zn++] = (unsigned char)~n, z[zn++] = (unsigned char)(~n >> 8);
        memcpy(z + zn, raw + at, n);
        zn += n;
    }
    for (size_t i = 0; i < raw_len; i++) {
        a = (a + raw[i]) % 65521;
        b = (b + a) % 65521;
    }
    put_be32(z + zn, b << 16 | a);
    zn += 4;
    unsigned char ihdr[13] = {0};
    put_be32(ihdr, (uint32_t)w);
    put_be32(ihdr + 4, (uint32_t)h);
    ihdr[8] = 16; /* bits per sample; colour type 0, gray */
    fwrite("\x89PNG\r\n\x1a\n", 1, 8, f);
    put_chunk(f, "IHDR", ihdr, sizeof ihdr);
    put_chunk(f, "IDAT", z, zn);
    put_chunk(f, "IEND", NULL, 0);
    free(raw);
    free(z);
    return fclose(f) == 0 ? 0 : -1;
}

static void put_le(FILE *f, uint32_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        fputc((int)(v >> (8 * i)) & 0xFF, f);
}

/* gray as a 32-bit float gray TIFF, v stored as v / 255 (0..1), one
 * uncompressed strip after the one directory. */
static int write_tiff_float(const char *path, const uint8_t *gray, int w, int h)
{
    static const uint16_t tags[10] = {256, 257, 258, 259, 262, 273, 277, 278, 279, 339};
    const uint32_t data_at = 8 + 2 + 10 * 12 + 4, bytes = (uint32_t)w * h * 4;
    const uint32_t values[10] = {(uint32_t)w, (uint32_t)h, 32, 1 /* uncompressed */,
                                 1 /* black is zero */, data_at, 1, (uint32_t)h, bytes,
                                 3 /* IEEE float */};
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    fwrite("II*\0", 1, 4, f);
    put_le(f, 8, 4);
    put_le(f, 10, 2);
    for (int i = 0; i < 10; i++) {
        int is_long = tags[i] <= 257 || tags[i] == 273 || tags[i] == 278 || tags[i] == 279;
        put_le(f, tags[i], 2);
        put_le(f, is_long ? 4 : 3, 2); /* LONG or SHORT */
        put_le(f, 1, 4);
        put_le(f, values[i], 4); /* a SHORT fills the field's first two bytes */
    }
    put_le(f, 0, 4); /* no next directory */
    for (size_t i = 0; i < (size_t)w * h; i++) {
        float v = gray[i] / 255.0f;
        uint32_t u;
        memcpy(&u, &v, 4);
        put_le(f, u, 4);
    }
    return fclose(f) == 0 ? 0 : -1;
}

/* A 16-bit PNG and a float TIFF of the picture read as the 8-bit picture
 * (16-bit values were divided by 256, off by one from 128 up; floats,
 * 0..1, were taken as 0..255: black). */
static void check_depths(const picture *pic)
{
    int w = pic->w < 200 ? pic->w : 200, h = pic->h < 150 ? pic->h : 150;
    uint8_t *crop = malloc((size_t)w * h);
    CHECK(crop != NULL);
    if (!crop)
        return;
    for (int y = 0; y < h; y++)
        memcpy(crop + (size_t)y * w, pic->gray + (size_t)y * pic->w, (size_t)w);
    /* every value too, so each is scaled right */
    for (int v = 0; v < 256 && v < w * h; v++)
        crop[v] = (uint8_t)v;
    char path[512];
    for (int kind = 0; kind < 2; kind++) {
        tmp_path(path, sizeof path, kind ? "float.tiff" : "deep.png");
        CHECK(kind ? write_tiff_float(path, crop, w, h) == 0 : write_png16(path, crop, w, h) == 0);
        uint8_t *got = NULL, *bgr = NULL;
        int gw = 0, gh = 0, bw = 0, bh = 0;
        int rc = cvw_read_gray(path, &got, &gw, &gh);
        CHECK_MSG(rc == 0 && gw == w && gh == h, "%s: %s", path, cvw_error());
        long wrong = 0, first = -1;
        for (size_t i = 0; rc == 0 && i < (size_t)w * h; i++)
            if (got[i] != crop[i] && wrong++ == 0)
                first = (long)i;
        CHECK_MSG(rc == 0 && wrong == 0, "%s: %ld of %d pixels differ, first %ld: %d, not %d",
                  path, wrong, w * h, first, first >= 0 ? got[first] : 0,
                  first >= 0 ? crop[first] : 0);
        rc = cvw_read_bgr(path, &bgr, &bw, &bh);
        CHECK(rc == 0 && bw == w && bh == h && bgr[0] == crop[0] && bgr[3 * 200] == crop[200] &&
              bgr[3 * 200 + 2] == crop[200]);
        free(got);
        free(bgr);
        remove(path);
    }
    free(crop);
}

/* A JPEG whose EXIF orientation says "turn 90 degrees clockwise to view"
 * (a phone's upright portrait, stored sideways) reads upright: it was read
 * as stored, and the detector found no face in a sideways photo. An RGBA
 * PNG still reads, its colours kept. */
static void check_orientation(void)
{
    enum { W = 40, H = 20 };
    uint8_t px[W * H];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            px[y * W + x] = x < W / 2 ? 255 : 0; /* stored: left half white */
    char path[512];
    tmp_path(path, sizeof path, "stored.jpg");
    CHECK_MSG(cvw_write_image(path, px, W, H, 1) == 0, "%s", cvw_error());
    FILE *f = fopen(path, "rb");
    unsigned char jpg[65536];
    size_t n = f ? fread(jpg, 1, sizeof jpg, f) : 0;
    if (f)
        fclose(f);
    remove(path);
    CHECK(n > 2 && n < sizeof jpg && jpg[0] == 0xFF && jpg[1] == 0xD8);
    if (n <= 2 || n >= sizeof jpg)
        return;
    /* APP1 "Exif": a big-endian TIFF header, IFD0 with one entry,
     * Orientation (0x0112) SHORT 6 */
    static const unsigned char app1[] = {
        0xFF, 0xE1, 0x00, 0x22, 'E', 'x', 'i', 'f', 0, 0,
        'M', 'M', 0x00, 0x2A, 0x00, 0x00, 0x00, 0x08,
        0x00, 0x01, 0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x06, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00,
    };
    tmp_path(path, sizeof path, "portrait.jpg");
    f = fopen(path, "wb");
    CHECK(f && fwrite(jpg, 1, 2, f) == 2 && fwrite(app1, 1, sizeof app1, f) == sizeof app1 &&
          fwrite(jpg + 2, 1, n - 2, f) == n - 2);
    if (f)
        fclose(f);
    uint8_t *got = NULL;
    int w = 0, h = 0;
    CHECK_MSG(cvw_read_gray(path, &got, &w, &h) == 0, "%s", cvw_error());
    CHECK_MSG(w == H && h == W, "read %dx%d, not turned to %dx%d", w, h, H, W);
    if (got && w == H && h == W) /* turned clockwise: the stored left is the top */
        CHECK_MSG(got[(W / 4) * H + H / 2] > 200 && got[(3 * W / 4) * H + H / 2] < 55,
                  "top %d, bottom %d", got[(W / 4) * H + H / 2], got[(3 * W / 4) * H + H / 2]);
    free(got);
    remove(path);

    uint8_t rgba[4 * 4 * 4];
    for (int i = 0; i < 16; i++) {
        rgba[4 * i] = 10, rgba[4 * i + 1] = 100, rgba[4 * i + 2] = 200;
        rgba[4 * i + 3] = (uint8_t)(i * 17); /* transparent to opaque */
    }
    tmp_path(path, sizeof path, "alpha.png");
    CHECK_MSG(cvw_write_image(path, rgba, 4, 4, 4) == 0, "%s", cvw_error());
    uint8_t *bgr = NULL;
    CHECK_MSG(cvw_read_bgr(path, &bgr, &w, &h) == 0, "%s", cvw_error());
    CHECK(bgr && w == 4 && h == 4 && bgr[0] == 10 && bgr[1] == 100 && bgr[2] == 200 &&
          bgr[45] == 10 && bgr[47] == 200);
    free(bgr);
    remove(path);
}

/* A small JPEG whose header claims 60000x60000 pixels: one line naming the
 * file and why (it was "cannot read image read image: OpenCV(4.6.0)
 * .../loadsave.cpp:77: error: (-215:Assertion failed) pixels <= ...",
 * without the file's name). */
static void check_claimed_size(void)
{
    uint8_t px[16 * 16];
    memset(px, 128, sizeof px);
    char path[512];
    tmp_path(path, sizeof path, "claims.jpg");
    CHECK_MSG(cvw_write_image(path, px, 16, 16, 1) == 0, "%s", cvw_error());
    FILE *f = fopen(path, "r+b");
    unsigned char jpg[8192];
    size_t n = f ? fread(jpg, 1, sizeof jpg, f) : 0;
    int patched = 0;
    for (size_t i = 2; i + 9 < n && jpg[i] == 0xFF;) { /* SOFn: height, width at +5 */
        if (jpg[i + 1] == 0xC0 || jpg[i + 1] == 0xC2) {
            jpg[i + 5] = jpg[i + 7] = 60000 >> 8;
            jpg[i + 6] = jpg[i + 8] = 60000 & 255;
            patched = 1;
            break;
        }
        i += 2 + ((size_t)jpg[i + 2] << 8 | jpg[i + 3]);
    }
    CHECK(patched);
    if (f) {
        rewind(f);
        CHECK(fwrite(jpg, 1, n, f) == n);
        fclose(f);
    }
    uint8_t *got = NULL;
    int w = 0, h = 0;
    CHECK(cvw_read_gray(path, &got, &w, &h) == -1 && got == NULL);
    CHECK_MSG(strstr(cvw_error(), "claims.jpg': too large to decode") &&
              !strstr(cvw_error(), "OpenCV(") && !strchr(cvw_error(), '\n'), "%s", cvw_error());
    remove(path);
}

/* Pictures of formats this OpenCV does not decode are named for what they
 * are (a phone's HEIC photo and a GIF were "not an image file"). */
static void check_formats(void)
{
    static const struct {
        const char *name, *bytes, *want;
        size_t len;
    } cases[] = {
        {"a.gif", "GIF89a\x01\0\x01\0\x80\0\0", "a.gif': a GIF, which is not decoded here", 13},
        {"a.heic", "\0\0\0\x18" "ftypheic\0\0\0\0mif1heic", "a HEIC/HEIF picture", 24},
        {"a.jpg", "hello, not a picture", "a.jpg': not an image file", 20},
    };
    char path[512];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tmp_path(path, sizeof path, cases[i].name);
        FILE *f = fopen(path, "wb");
        CHECK(f && fwrite(cases[i].bytes, 1, cases[i].len, f) == cases[i].len);
        if (f)
            fclose(f);
        uint8_t *px = NULL;
        int w = 0, h = 0;
        CHECK(cvw_read_gray(path, &px, &w, &h) == -1 && px == NULL);
        CHECK_MSG(strstr(cvw_error(), cases[i].want), "%s: %s", cases[i].name, cvw_error());
        remove(path);
    }
}

/* Standard error (fd 2) into a file while f runs; returns what it got. */
static char *stderr_of(void (*f)(void *), void *arg)
{
    char path[512];
    tmp_path(path, sizeof path, "stderr.txt");
    fflush(stderr);
    int saved = dup(2), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    close(fd);
    f(arg);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char *got = rp_slurp(path);
    remove(path);
    return got;
}

typedef struct {
    const char *png;  /* a whole PNG */
    size_t len;
    int failures;     /* damaged files not refused by name */
    int differ;       /* whole files with extra chunks decoding differently */
} png_case;

/* Damaged and odd PNGs through the reader (run with stderr captured). */
static void png_cases(void *arg)
{
    png_case *c = arg;
    char path[512];
    uint8_t *px = NULL, *ref = NULL;
    int w = 0, h = 0, rw = 0, rh = 0;
    tmp_path(path, sizeof path, "odd.png");
    /* Cut short at several places, one bit flipped in the header, in the
     * image data, and junk after the signature: refused, by name, with a
     * reason. */
    size_t cuts[] = {9, 20, 33, 40, c->len / 2, c->len - 5};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        write_cut("odd.png", c->png, cuts[i], 0, path, sizeof path);
        if (cvw_read_bgr(path, &px, &w, &h) != -1 || !strstr(cvw_error(), "odd.png") ||
            !strstr(cvw_error(), "PNG")) {
            c->failures++;
            printf("cut at %zu: %s\n", cuts[i], cvw_error());
        }
        free(px);
        px = NULL;
    }
    size_t flips[] = {20, 30, c->len / 2};
    char *bad = malloc(c->len);
    for (size_t i = 0; bad && i < sizeof flips / sizeof *flips; i++) {
        memcpy(bad, c->png, c->len);
        bad[flips[i]] ^= 0x10;
        CHECK(rp_write(path, bad, c->len) == 0);
        if (cvw_read_bgr(path, &px, &w, &h) != -1 || !strstr(cvw_error(), "damaged PNG")) {
            c->failures++;
            printf("flip at %zu: %s\n", flips[i], cvw_error());
        }
        free(px);
        px = NULL;
    }
    if (bad) {
        memcpy(bad, c->png, 8);
        memset(bad + 8, 'g', 100);
        CHECK(rp_write(path, bad, 108) == 0);
        c->failures += cvw_read_bgr(path, &px, &w, &h) != -1;
    }
    free(bad);
    /* Whole files with chunks libpng warns about (a broken colour profile,
     * a stray text chunk after the data): the same picture, no word. */
    CHECK(rp_write(path, c->png, c->len) == 0);
    CHECK(cvw_read_bgr(path, &ref, &rw, &rh) == 0);
    static const char junk[] = "sRGB\0x\x9c\x01\x02\x03\x04\x05";
    write_with_chunk(path, c->png, c->len, 33, "iCCP", junk, sizeof junk - 1);
    int ok = cvw_read_bgr(path, &px, &w, &h) == 0;
    c->differ += !ok || !ref || w != rw || h != rh || memcmp(px, ref, (size_t)w * h * 3);
    free(px);
    px = NULL;
    write_with_chunk(path, c->png, c->len, c->len - 12, "zTXt", "k\0\0garbage", 11);
    ok = cvw_read_bgr(path, &px, &w, &h) == 0;
    c->differ += !ok || !ref || w != rw || h != rh || memcmp(px, ref, (size_t)w * h * 3);
    free(px);
    free(ref);
    remove(path);
}

typedef struct {
    const char *path;
    volatile int stop;
    int decoded;
} decode_loop;

static void *decode_until_stopped(void *arg)
{
    decode_loop *d = arg;
    while (!d->stop) {
        uint8_t *px = NULL;
        int w, h;
        if (cvw_read_bgr(d->path, &px, &w, &h) == 0)
            d->decoded++;
        free(px);
    }
    return NULL;
}

/* Lines the main thread prints while another decodes pictures, over and
 * over: every one must reach stderr (a reader thread decoding the next
 * picture must not swallow a fatal message). */
static void lines_while_decoding(void *arg)
{
    decode_loop *d = arg;
    pthread_t t;
    CHECK(pthread_create(&t, NULL, decode_until_stopped, d) == 0);
    for (int i = 0; i < 200; i++) {
        fprintf(stderr, "line %d\n", i);
        usleep(1000);
    }
    d->stop = 1;
    pthread_join(t, NULL);
}

static void check_png_quiet(const char *asset)
{
    png_case c = {0};
    char *png = slurp(asset, &c.len);
    CHECK(png != NULL && c.len > 1000);
    if (!png)
        return;
    c.png = png;
    char *said = stderr_of(png_cases, &c);
    CHECK_MSG(c.failures == 0, "%d damaged PNGs read or not named", c.failures);
    CHECK_MSG(c.differ == 0, "%d PNGs with extra chunks decoded differently", c.differ);
    CHECK_MSG(said && !said[0], "the decoders printed: %s", said ? said : "(nothing captured)");
    free(said);
    free(png);

    /* A large noisy picture (slow to decode) decoded on a thread. */
    char big[512];
    tmp_path(big, sizeof big, "noise.png");
    int bw = 1600, bh = 1200;
    uint8_t *noise = malloc((size_t)bw * bh * 3);
    CHECK(noise != NULL);
    if (!noise)
        return;
    uint32_t x = 12345;
    for (size_t i = 0; i < (size_t)bw * bh * 3; i++) {
        x = x * 1103515245u + 12345u;
        noise[i] = (uint8_t)(x >> 24);
    }
    CHECK(cvw_write_image(big, noise, bw, bh, 3) == 0);
    free(noise);
    decode_loop d = {big, 0, 0};
    said = stderr_of(lines_while_decoding, &d);
    int lines = 0;
    for (const char *q = said; q && (q = strchr(q, '\n')); q++)
        lines++;
    printf("200 lines printed while %d pictures were decoded: %d arrived\n", d.decoded, lines);
    CHECK_MSG(lines == 200 && d.decoded > 0, "%d of 200 lines reached stderr while %d pictures "
              "were decoded", lines, d.decoded);
    free(said);
    remove(big);
}

/* A recording of frames too large for its encoder (a 9000 px picture to
 * .mkv): the encoder said why only on the console, the program just
 * "cannot open a video writer". Now the limit is named, and nothing made. */
static void check_writer_limits(void)
{
    char path[512];
    tmp_path(path, sizeof path, "wide.mkv");
    cvw_writer *wr = cvw_writer_open(path, 25, 9000, 16);
    CHECK_MSG(!wr && strstr(cvw_error(), "9000x16 are too large for MPEG-4") &&
                  strstr(cvw_error(), ".avi"),
              "a 9000 px wide .mkv: %s", cvw_error());
    CHECK(access(path, F_OK) != 0);
    tmp_path(path, sizeof path, "wide.avi");
    wr = cvw_writer_open(path, 25, 16, 70000);
    CHECK_MSG(!wr && strstr(cvw_error(), "too large for MJPG"), "a 70000 px high .avi: %s",
              cvw_error());
    CHECK(access(path, F_OK) != 0);
    /* the largest MPEG-4 takes still opens */
    tmp_path(path, sizeof path, "wide-ok.mkv");
    wr = cvw_writer_open(path, 25, 8190, 16);
    CHECK_MSG(wr != NULL, "an 8190 px wide .mkv: %s", cvw_error());
    cvw_writer_close(wr);
    remove(path);
}

/* An .mp4 cut short while written (ftyp and mdat boxes, no moov: a
 * recording killed, a full disk) was "not a video file"; it is named for
 * what it is. A text file with that name is still not a video. */
static void check_mp4_without_index(void)
{
    static const unsigned char head[] = {0, 0, 0, 0x18, 'f', 't', 'y', 'p', 'i', 's', 'o', 'm',
                                         0, 0, 2, 0,    'i', 's', 'o', 'm', 'm', 'p', '4', '1',
                                         0, 0, 0, 0x10, 'm', 'd', 'a', 't', 1, 2, 3, 4,
                                         5, 6, 7, 8};
    char path[512];
    tmp_path(path, sizeof path, "cut.mp4");
    CHECK(rp_write(path, (const char *)head, sizeof head) == 0);
    CHECK_MSG(!cvw_capture_open_file(path) && strstr(cvw_error(), "without its index"),
              "an .mp4 without moov: %s", cvw_error());
    CHECK(rp_write(path, "hello\n", 6) == 0);
    CHECK_MSG(!cvw_capture_open_file(path) && strstr(cvw_error(), "not a video file"),
              "text named .mp4: %s", cvw_error());
    remove(path);
}

int main(void)
{
    if (!rp_tmpdir(tmpdir, sizeof tmpdir, "test_cvw")) {
        perror("mkdtemp");
        return 1;
    }
    picture pic = {0};
    char asset[512];
    int rc = read_test_picture(&pic, asset, sizeof asset);
    CHECK_MSG(rc == 0, "%s (set NN_TEST_SRCDIR to the source tree)", cvw_error());
    if (rc == 0) {
        check_images(&pic, asset);
        check_png_quiet(asset);
        check_depths(&pic);
    }
    check_orientation();
    check_claimed_size();
    check_formats();
    check_writer_limits();
    check_mp4_without_index();
    free(pic.gray);
    /* leave nothing behind */
    const char *names[] = {"crop.png", "colour.jpg", "not-an-image.png"};
    char path[512];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        tmp_path(path, sizeof path, names[i]);
        remove(path);
    }
    rmdir(tmpdir);
    return test_done("test_cvw");
}
