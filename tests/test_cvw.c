/* test_cvw.c - the OpenCV wrapper's image helpers (app/cv): colour and
 * gray reading agree, PNG round trips unchanged, colour writing, the
 * engine's equalization equal to OpenCV's on crops of a real picture, and
 * failures (missing, non-image and truncated files, JPEGs cut short,
 * unknown extensions, non-models for the DNN loader) that return -1 or
 * NULL and name the file.
 * Needs assets/astronaut.png under $NN_TEST_SRCDIR. */
#include "cvw.h"
#include "nn_impl.h"
#include "picture.h"
#include "runprog.h"
#include "testutil.h"

#include <stdint.h>
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
    if (rc == 0)
        check_images(&pic, asset);
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
