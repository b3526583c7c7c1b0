/* preprocess.c - a gray face (8-bit) into a network's input: histogram
 * equalization, scaling and bias as the model's preprocessing says. */
#include "nn_impl.h"

#include <math.h>
#include <string.h>

/* Same arithmetic as OpenCV's equalizeHist: the LUT maps the cumulative
 * histogram above the darkest occupied bin onto 0..255, rounded with
 * lrintf (cvRound), so faces equalized here match faces OpenCV equalized.
 * A single-valued image maps to itself. */
static void equalize_lut(const uint8_t *img, size_t total, uint8_t lut[256])
{
    size_t hist[256] = {0};
    memset(lut, 0, 256);
    for (size_t i = 0; i < total; i++)
        hist[img[i]]++;
    int i = 0;
    while (i < 255 && !hist[i])
        i++;
    if (hist[i] == total) {
        lut[i] = (uint8_t)i;
        return;
    }
    float scale = 255.0f / (float)(total - hist[i]);
    size_t sum = 0;
    for (i++; i < 256; i++) {
        sum += hist[i];
        long v = lrintf((float)sum * scale);
        lut[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
}

void nn_equalize_u8(uint8_t *img, int w, int h)
{
    size_t total = (size_t)w * h;
    uint8_t lut[256];
    if (total == 0)
        return;
    equalize_lut(img, total, lut);
    for (size_t k = 0; k < total; k++)
        img[k] = lut[img[k]];
}

void nn_preprocess_u8(const nn_net *net, const uint8_t *gray, float *out)
{
    int c, h, w;
    nn_net_input_shape(net, &c, &h, &w);
    const size_t n = (size_t)h * w;
    const nn_preproc *p = nn_net_preproc_c(net);
    /* Equalization, scaling and bias folded into one table. */
    float table[256];
    uint8_t lut[256];
    if (p->equalize)
        equalize_lut(gray, n, lut);
    for (int v = 0; v < 256; v++)
        table[v] = (p->equalize ? lut[v] : v) * p->scale + p->bias;
    for (size_t i = 0; i < n; i++)
        out[i] = table[gray[i]];
    /* Colour models get the gray face in every channel. */
    for (int ch = 1; ch < c; ch++)
        memcpy(out + ch * n, out, n * sizeof *out);
}
