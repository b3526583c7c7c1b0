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

void rollnet_mask(unsigned char *img, int w, int h)
{
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
