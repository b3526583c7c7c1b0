/* neutral.c - personal neutral calibration; see neutral.h. */
#include "neutral.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "app_err.h"

int neutral_init(neutral_state *s, const char *const *names, int k)
{
    memset(s, 0, sizeof *s);
    s->k = k;
    s->neutral = -1;
    for (int i = 0; i < k; i++)
        if (names[i] && !strcmp(names[i], "neutral"))
            s->neutral = i;
    return s->neutral < 0 ? app_fail("the model has no 'neutral' class to calibrate to") : 0;
}

void neutral_start(neutral_state *s, double seconds)
{
    if (s->neutral < 0)
        return;
    s->pending = 1;
    s->seconds = seconds;
}

void neutral_clear(neutral_state *s)
{
    s->n = 0;
    s->pending = 0;
}

int neutral_active(const neutral_state *s)
{
    return s->pending || s->n > 0;
}

void neutral_offsets(const float *m, int k, int neutral, float *offset)
{
    const float other = k > 1 ? (1.0f - NEUTRAL_REF_NEUTRAL) / (float)(k - 1) : 1.0f;
    for (int j = 0; j < k; j++) {
        const float u = j == neutral ? NEUTRAL_REF_NEUTRAL : other;
        offset[j] = logf(u) - logf(m[j] > NEUTRAL_FLOOR ? m[j] : NEUTRAL_FLOOR);
    }
}

static neutral_track *find(neutral_state *s, int id)
{
    for (int i = 0; i < s->n; i++)
        if (s->t[i].id == id)
            return &s->t[i];
    return NULL;
}

static void correct(const neutral_state *s, const neutral_track *t, pipeline_face *f)
{
    float z[NN_MAX_CLASSES], top = -INFINITY, sum = 0;
    for (int j = 0; j < s->k; j++) {
        z[j] = logf(f->probs[j] > 1e-30f ? f->probs[j] : 1e-30f) + t->offset[j];
        top = z[j] > top ? z[j] : top;
    }
    for (int j = 0; j < s->k; j++)
        sum += (z[j] = expf(z[j] - top));
    f->cls = 0;
    for (int j = 0; j < s->k; j++) {
        f->probs[j] = z[j] / sum;
        if (f->probs[j] > f->probs[f->cls])
            f->cls = j;
    }
    f->conf = f->probs[f->cls];
    f->calibrated = 1;
}

static int overlaps(cvw_rect a, cvw_rect b)
{
    return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

/* A face with an id no calibration knows, where a calibrated face (or one
 * being calibrated) whose id is not in this frame was lately: the same
 * person, re-found under a new id (the tracker lost it, or a scene-cut test
 * fired on a quick movement); the calibration follows the person. */
static neutral_track *refound(neutral_state *s, double t_ms, const pipeline_result *r, const pipeline_face *f)
{
    for (int i = 0; i < s->n; i++) {
        neutral_track *t = &s->t[i];
        if (t_ms - t->t_seen > NEUTRAL_REFIND_MS || !overlaps(t->box, f->box))
            continue;
        int present = 0;
        for (int j = 0; j < r->n && !present; j++)
            present = r->faces[j].id == t->id;
        if (!present)
            return t;
    }
    return NULL;
}

void neutral_update(neutral_state *s, double t_ms, pipeline_result *r)
{
    if (s->pending && r->n > 0) {
        /* the person in front: the largest face */
        int big = 0;
        for (int i = 1; i < r->n; i++)
            if ((long)r->faces[i].box.w * r->faces[i].box.h >
                (long)r->faces[big].box.w * r->faces[big].box.h)
                big = i;
        neutral_track *t = find(s, r->faces[big].id);
        if (!t) {
            if (s->n == NEUTRAL_MAX_TRACKS) { /* the oldest goes */
                memmove(s->t, s->t + 1, sizeof s->t[0] * (NEUTRAL_MAX_TRACKS - 1));
                s->n--;
            }
            t = &s->t[s->n++];
        }
        memset(t, 0, sizeof *t);
        t->id = r->faces[big].id;
        t->t_end = t_ms + s->seconds * 1e3;
        s->pending = 0;
    }
    for (int i = 0; i < r->n; i++) {
        pipeline_face *f = &r->faces[i];
        f->calibrated = 0;
        neutral_track *t = find(s, f->id);
        if (!t && (t = refound(s, t_ms, r, f)) != NULL)
            t->id = f->id;
        if (!t)
            continue;
        t->box = f->box;
        t->t_seen = t_ms;
        if (!t->done) {
            for (int j = 0; j < s->k; j++)
                t->sum[j] += f->probs[j];
            t->count++;
            if (t_ms >= t->t_end) {
                float m[NN_MAX_CLASSES];
                for (int j = 0; j < s->k; j++)
                    m[j] = (float)(t->sum[j] / (double)t->count);
                neutral_offsets(m, s->k, s->neutral, t->offset);
                t->done = 1;
            }
            continue;
        }
        correct(s, t, f);
    }
}

int neutral_message(const neutral_state *s, double t_ms, char *msg, size_t len)
{
    msg[0] = 0;
    if (s->pending) {
        snprintf(msg, len, "calibrating: look neutral for %.0f seconds", s->seconds);
        return 1;
    }
    for (int i = 0; i < s->n; i++)
        if (!s->t[i].done) {
            double left = (s->t[i].t_end - t_ms) / 1e3;
            snprintf(msg, len, "look neutral for %.0f more second%s", left > 0 ? ceil(left) : 0,
                     left > 1 ? "s" : "");
            return 1;
        }
    return 0;
}
