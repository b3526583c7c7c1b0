/* scene.c - the scene-cut test; see scene.h. */
#include "scene.h"

#include <string.h>

void scene_init(scene_state *s, float threshold)
{
    memset(s, 0, sizeof *s);
    s->threshold = threshold;
}

static float mean(const uint8_t *a, int n)
{
    long sum = 0;
    for (int i = 0; i < n; i++)
        sum += a[i];
    return n > 0 ? (float)sum / n : 0;
}

float scene_difference(const uint8_t *a, const uint8_t *b, int n)
{
    if (n <= 0)
        return 0;
    float ma = mean(a, n), mb = mean(b, n), d = 0;
    for (int i = 0; i < n; i++) {
        float v = (a[i] - ma) - (b[i] - mb);
        d += v < 0 ? -v : v;
    }
    return d / n;
}

int scene_cut(scene_state *s, const uint8_t *thumb)
{
    int n = SCENE_W * SCENE_H, cut = 0;
    if (s->have_prev) {
        s->last = scene_difference(s->prev, thumb, n);
        cut = s->last > s->threshold;
    }
    memcpy(s->prev, thumb, (size_t)n);
    s->have_prev = 1;
    return cut;
}
