/* track.c - IoU track matching and EMA smoothing; see track.h. */
#include "track.h"

#include <string.h>

void track_init(track_state *s, int n_classes, float alpha, float iou_min, int max_missed)
{
    memset(s, 0, sizeof *s);
    s->next_id = 1;
    s->n_classes = n_classes < 1                   ? 1
                   : n_classes > TRACK_MAX_CLASSES ? TRACK_MAX_CLASSES
                                                   : n_classes;
    s->alpha = alpha < 0 ? 0 : (alpha >= 1 ? 0.99f : alpha);
    s->iou_min = iou_min;
    s->max_missed = max_missed < 0 ? 0 : max_missed;
}

void track_forget(track_state *s)
{
    s->n = 0;
}

float track_iou(track_box a, track_box b)
{
    if (a.w <= 0 || a.h <= 0 || b.w <= 0 || b.h <= 0)
        return 0;
    float x0 = a.x > b.x ? a.x : b.x, y0 = a.y > b.y ? a.y : b.y;
    float x1 = a.x + a.w < b.x + b.w ? a.x + a.w : b.x + b.w;
    float y1 = a.y + a.h < b.y + b.h ? a.y + a.h : b.y + b.h;
    if (x1 <= x0 || y1 <= y0)
        return 0;
    float inter = (x1 - x0) * (y1 - y0);
    return inter / (a.w * a.h + b.w * b.h - inter);
}

int track_update(track_state *s, const track_box *boxes, const float *probs, int n,
               int *ids, float *smoothed)
{
    int det_track[TRACK_MAX_TRACKS]; /* detection -> track index, -1 none */
    int track_taken[TRACK_MAX_TRACKS] = {0};
    int k = s->n_classes;
    if (n > TRACK_MAX_TRACKS)
        n = TRACK_MAX_TRACKS; /* callers cap faces well below this */

    /* Greedy matching, best overlap first: with few faces this is as good as
     * an optimal assignment and needs no solver. Candidates are few, so a
     * repeated scan for the best pair costs less than sorting them. */
    for (int i = 0; i < n; i++)
        det_track[i] = -1;
    for (;;) {
        float best = -1;
        int bi = -1, bj = -1;
        for (int i = 0; i < n; i++) {
            if (det_track[i] >= 0)
                continue;
            for (int j = 0; j < s->n; j++) {
                if (track_taken[j])
                    continue;
                float v = track_iou(boxes[i], s->t[j].box);
                if (v > 0 && v >= s->iou_min && v > best) {
                    best = v;
                    bi = i;
                    bj = j;
                }
            }
        }
        if (bi < 0)
            break;
        det_track[bi] = bj;
        track_taken[bj] = 1;
    }

    /* Age the tracks nobody continued and drop the stale ones. Compaction
     * moves tracks, so remap the matches as we go. */
    int remap[TRACK_MAX_TRACKS];
    int m = 0;
    for (int j = 0; j < s->n; j++) {
        if (!track_taken[j] && ++s->t[j].missed > s->max_missed) {
            remap[j] = -1;
            continue;
        }
        remap[j] = m;
        if (m != j)
            s->t[m] = s->t[j];
        m++;
    }
    s->n = m;
    for (int i = 0; i < n; i++)
        if (det_track[i] >= 0)
            det_track[i] = remap[det_track[i]];

    for (int i = 0; i < n; i++) {
        const float *p = probs + (size_t)i * k;
        track_item *t;
        if (det_track[i] >= 0) {
            t = &s->t[det_track[i]];
            float a = s->alpha;
            for (int c = 0; c < k; c++)
                t->probs[c] = a * t->probs[c] + (1 - a) * p[c];
        } else if (s->n < TRACK_MAX_TRACKS) {
            t = &s->t[s->n++];
            memset(t, 0, sizeof *t);
            t->id = s->next_id++;
            memcpy(t->probs, p, sizeof(float) * (size_t)k);
        } else {
            ids[i] = 0;
            if (smoothed)
                memcpy(smoothed + (size_t)i * k, p, sizeof(float) * (size_t)k);
            continue;
        }
        t->box = boxes[i];
        t->missed = 0;
        t->age++;
        ids[i] = t->id;
        if (smoothed)
            memcpy(smoothed + (size_t)i * k, t->probs, sizeof(float) * (size_t)k);
    }
    return n;
}

int track_visible(const track_state *s, track_box *boxes, int max)
{
    int n = 0;
    for (int j = 0; j < s->n && n < max; j++)
        if (s->t[j].missed == 0)
            boxes[n++] = s->t[j].box;
    return n;
}
