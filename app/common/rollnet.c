/* rollnet.c - see rollnet.h. */
#include "rollnet.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rollnet_bin_name(char *buf, size_t len, float deg)
{
    /* "+0", never "-0": the middle bin has one name. */
    snprintf(buf, len, "roll%+g", deg == 0 ? 0.0 : (double)deg);
}

static int parse_bin(const char *name, float *deg)
{
    if (!name || strncmp(name, "roll", 4) != 0 || (name[4] != '+' && name[4] != '-'))
        return 0;
    char *end;
    double v = strtod(name + 4, &end);
    if (end == name + 4 || *end || !isfinite(v) || fabs(v) > 180)
        return 0;
    *deg = (float)v;
    return 1;
}

int rollnet_centres(const char *const *names, int k, float *centres)
{
    if (k < 2)
        return 0;
    for (int i = 0; i < k; i++)
        if (!parse_bin(names[i], &centres[i]))
            return 0;
    return 1;
}

float rollnet_estimate(const float *probs, const float *centres, int k)
{
    double s = 0, m = 0;
    for (int i = 0; i < k; i++) {
        s += probs[i];
        m += (double)probs[i] * centres[i];
    }
    return s > 0 ? (float)(m / s) : 0.0f;
}

/* [1 2 1]/4 along rows, then columns, edges replicated; in place. */
static void blur(unsigned char *img, int w, int h)
{
    unsigned char *row = malloc((size_t)(w > h ? w : h));
    if (!row)
        return; /* unblurred: a small difference, not an error */
    for (int y = 0; y < h; y++) {
        unsigned char *p = img + (size_t)y * w;
        memcpy(row, p, (size_t)w);
        for (int x = 0; x < w; x++) {
            int l = row[x > 0 ? x - 1 : 0], r = row[x < w - 1 ? x + 1 : w - 1];
            p[x] = (unsigned char)((l + 2 * row[x] + r + 2) / 4);
        }
    }
    for (int x = 0; x < w; x++) {
        for (int y = 0; y < h; y++)
            row[y] = img[(size_t)y * w + x];
        for (int y = 0; y < h; y++) {
            int u = row[y > 0 ? y - 1 : 0], d = row[y < h - 1 ? y + 1 : h - 1];
            img[(size_t)y * w + x] = (unsigned char)((u + 2 * row[y] + d + 2) / 4);
        }
    }
    free(row);
}

void rollnet_prepare(unsigned char *img, int w, int h)
{
    blur(img, w, h);
    double r = ROLLNET_DISC * (w < h ? w : h), cx = (w - 1) / 2.0, cy = (h - 1) / 2.0;
    unsigned long sum = 0, n = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            if ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r) {
                sum += img[(size_t)y * w + x];
                n++;
            }
    unsigned char fill = (unsigned char)(n ? (sum + n / 2) / n : 128);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            if ((x - cx) * (x - cx) + (y - cy) * (y - cy) > r * r)
                img[(size_t)y * w + x] = fill;
}
