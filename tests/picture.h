/* picture.h - what test_onnx and test_cvw share: crops of the committed
 * public-domain picture, and reading a whole file. */
#ifndef TESTS_PICTURE_H
#define TESTS_PICTURE_H

#include "cvw.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct picture {
    uint8_t *gray;
    int w, h;
} picture;

/* Crops of the picture in fractions of its size (so a resized asset still
 * works): the face, a tight face, the whole picture, a corner, and one
 * smaller than 48x48 so the resize enlarges. */
static const float crops[][4] = {
    {0.31f, 0.06f, 0.29f, 0.31f},
    {0.36f, 0.14f, 0.19f, 0.20f},
    {0.00f, 0.00f, 1.00f, 1.00f},
    {0.70f, 0.60f, 0.30f, 0.40f},
    {0.45f, 0.25f, 0.10f, 0.12f},
};
#define N_CROPS ((int)(sizeof crops / sizeof *crops))

/* Crop i of the picture resized to w x h (gray). */
static inline int make_crop(const picture *pic, int i, int w, int h, uint8_t *out)
{
    int x0 = (int)(crops[i][0] * pic->w), y0 = (int)(crops[i][1] * pic->h);
    int cw = (int)(crops[i][2] * pic->w), ch = (int)(crops[i][3] * pic->h);
    if (cw < 1) cw = 1;
    if (ch < 1) ch = 1;
    if (x0 + cw > pic->w) cw = pic->w - x0;
    if (y0 + ch > pic->h) ch = pic->h - y0;
    uint8_t *buf = malloc((size_t)cw * ch);
    for (int y = 0; y < ch; y++)
        memcpy(buf + (size_t)y * cw, pic->gray + (size_t)(y0 + y) * pic->w + x0, (size_t)cw);
    int rc = cvw_resize_gray(buf, cw, ch, out, w, h);
    free(buf);
    return rc;
}

/* Whole file in a malloc'd buffer, or NULL. */
static inline char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        if (size >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)size + 1)))
            *len = fread(buf, 1, (size_t)size, f);
    }
    fclose(f);
    return buf;
}

/* Read the committed picture (assets/astronaut.png under NN_TEST_SRCDIR,
 * or the current folder) into pic; its path goes to path. Returns
 * cvw_read_gray's 0 or -1 (cvw_error() says why). */
static inline int read_test_picture(picture *pic, char *path, size_t len)
{
    const char *src = getenv("NN_TEST_SRCDIR");
    snprintf(path, len, "%s/assets/astronaut.png", src ? src : ".");
    return cvw_read_gray(path, &pic->gray, &pic->w, &pic->h);
}

#endif
