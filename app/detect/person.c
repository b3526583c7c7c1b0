/* person.c - calibration, hints, heat maps and --blur once a frame; see
 * person.h. */
#include "person.h"

#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "app_err.h"
#include "heatmap.h"
#include "privacy.h"

#define HINT_EVERY 5  /* frames between second looks when no face is found */
#define HINT_AGREE 3  /* assessments in a row before a hint shows or goes */
/* Face-free assessments per run of the second looks (the frame at 640
 * wide with a 1.05 step; the turned copies with --without roll): they
 * cost more than all the pipeline's other passes of a face-free stretch
 * (profiled on generated footage); the assessments in between reuse
 * their verdict. */
#define HINT_LOOK_EVERY 12
/* Face-free assessments in a row before the first look. A face missing
 * for a moment (a cut in edited footage, the frame or two before a new
 * face is confirmed, a missed detection) is back before a hint could
 * show, and one look costs more than a tenth of a 96-frame clip
 * (generated footage of cuts every 8 frames: bench/detect_footage.py). */
#define HINT_LOOK_AFTER HINT_AGREE
#define LAST_MS 1500  /* how long a lost face's box counts */
#define PRIVACY_KEEP 15    /* frames a face's box stays blurred after it was seen */

/* The boxes --blur covers in this frame: its faces, and those seen in the
 * last PRIVACY_KEEP frames of a video (a still: its own faces only).
 * Returns how many are in out. */
static int blur_boxes(person *p, const pipeline_result *r, cvw_rect *out, int max)
{
    int n = 0;
    if (p->still) /* another picture: the last one's faces are not in it */
        p->n_kept = 0;
    for (int i = 0; i < p->n_kept; i++)
        if (++p->kept_age[i] <= PRIVACY_KEEP) {
            p->kept[n] = p->kept[i];
            p->kept_age[n++] = p->kept_age[i];
        }
    p->n_kept = n;
    const int cap = (int)(sizeof p->kept / sizeof p->kept[0]);
    for (int i = 0; i < r->n; i++) {
        if (p->n_kept == cap) { /* the oldest goes */
            memmove(p->kept, p->kept + 1, sizeof p->kept[0] * (size_t)(cap - 1));
            memmove(p->kept_age, p->kept_age + 1, sizeof p->kept_age[0] * (size_t)(cap - 1));
            p->n_kept--;
        }
        p->kept[p->n_kept] = r->faces[i].box;
        p->kept_age[p->n_kept++] = 0;
    }
    n = 0;
    for (int i = 0; i < p->n_kept && n < max; i++)
        out[n++] = p->kept[i];
    return n;
}

int person_stills(const app *a)
{
    const source_kind kind = a->src ? source_kind_of(a->src) : SOURCE_CAMERA;
    return kind == SOURCE_IMAGE || kind == SOURCE_FOLDER;
}

int person_init(app *a)
{
    person *p = &a->pers;
    const int heat = p->heat; /* g may come before the first frame */
    memset(p, 0, sizeof *p);
    p->heat = heat;
    p->last_t = -1;
    p->still = person_stills(a);
    p->neutral_ok = neutral_init(&p->nt, a->names, a->k) == 0;
    /* Stills are unrelated pictures, each classified on its own: one
     * person's calibration must not reach the next picture (main.c warns
     * that --calibrate is ignored). */
    if (a->o.calibrate_s > 0 && !p->still) {
        if (!p->neutral_ok)
            return app_fail("--calibrate: %s", app_error());
        neutral_start(&p->nt, a->o.calibrate_s);
    }
    /* A still image cannot follow advice. */
    p->hints = !p->still;
    int c, h, w;
    nn_net_input_shape(a->net, &c, &h, &w);
    p->x = malloc(sizeof(float) * c * h * w);
    p->dx = malloc(sizeof(float) * c * h * w);
    p->map = malloc(sizeof(float) * 2 * h * w);
    p->face = malloc((size_t)h * w);
    p->heat_maps = malloc(sizeof(float) * PIPELINE_MAX_FACES * h * w);
    if (!p->x || !p->dx || !p->map || !p->face || !p->heat_maps)
        return app_fail("out of memory");
    p->face_wall = nn_now();
    p->ready = 1;
    return 0;
}

void person_free(person *p)
{
    free(p->gray);
    free(p->shown);
    free(p->face);
    free(p->x);
    free(p->dx);
    free(p->map);
    free(p->heat_maps);
    memset(p, 0, sizeof *p);
}

/* The count goes on across faces: footage whose faces come and go would
 * otherwise pay for a look at each long absence. */
int person_look_due(person *p, int faces)
{
    p->free_run = faces > 0 ? 0 : p->free_run + 1;
    if (p->free_run < HINT_LOOK_AFTER)
        return 0;
    return p->looks_skipped++ % HINT_LOOK_EVERY == 0;
}

static void assess(app *a, const source_frame *f)
{
    person *p = &a->pers;
    const pipeline_result *r = &a->last;
    if (r->n > 0) {
        p->last = r->faces[0].box;
        p->last_t = f->t_ms;
    } else if (p->frame % HINT_EVERY != 0) {
        return; /* the second looks cost detector runs: not every frame */
    }
    cvw_rect boxes[PIPELINE_MAX_FACES];
    for (int i = 0; i < r->n; i++)
        boxes[i] = r->faces[i].box;
    const int lately = p->last_t >= 0 && f->t_ms - p->last_t < LAST_MS && r->n == 0;
    /* Frame-level problems (light, blur, edge) are judged every time; the
     * cascade looks only once the face has been missing for HINT_LOOK_AFTER
     * assessments in a row, and then every HINT_LOOK_EVERY-th time. */
    int look = person_look_due(p, r->n);
    /* With the pipeline's own turned passes on, a tilted head is found
     * and classified, not hinted at: the turned look would repeat them. */
    const unsigned looks =
        HINTS_LOOK_SMALL | (a->o.without & PIPELINE_NO_ROLL ? HINTS_LOOK_TILT : 0u);
    hints_kind k = hints_assess(p->gray, f->w, f->h, boxes, r->n, lately ? &p->last : NULL,
                              look ? a->cascade : NULL, looks, a->o.min_face);
    if (r->n > 0) {
        p->looked = HINTS_NONE;
    } else {
        if (look)
            p->looked = k == HINTS_TILT || k == HINTS_SMALL ? k : HINTS_NONE;
        else if (k == HINTS_NONE || (k == HINTS_TILT && p->looked == HINTS_SMALL))
            k = p->looked;
    }
    p->cand_n = k == p->cand ? p->cand_n + 1 : 1;
    p->cand = k;
    if (p->cand_n >= HINT_AGREE)
        p->hint = k;
}

/* Face fc's smoothed saliency map into out (h*w). */
static int make_heat(app *a, const source_frame *f, const pipeline_face *fc, float *out)
{
    person *p = &a->pers;
    int c, h, w;
    nn_net_input_shape(a->net, &c, &h, &w);
    if (cvw_crop_resize_gray(p->gray, f->w, f->h, fc->crop, p->face, w, h) != 0)
        return app_fail("%s", cvw_error());
    nn_preprocess_u8(a->net, p->face, p->x);
    if (nn_net_input_grad(a->net, p->x, fc->cls, p->dx) < 0)
        return app_fail("saliency: %s", nn_error());
    nn_saliency_map(p->dx, c, h, w, out);
    heatmap_smooth(out, w, h, 2, p->map);
    return 0;
}

/* The heat map of every face over the shown copy. */
static int heat_faces(app *a, const source_frame *f)
{
    person *p = &a->pers;
    const pipeline_result *r = &a->last;
    int c, h, w;
    nn_net_input_shape(a->net, &c, &h, &w);
    const size_t per = (size_t)h * w;
    /* each face's slot: kept by id; slots of faces gone are reused */
    int slot[PIPELINE_MAX_FACES], used[PIPELINE_MAX_FACES] = {0};
    for (int i = 0; i < r->n; i++) {
        slot[i] = -1;
        for (int j = 0; j < PIPELINE_MAX_FACES && slot[i] < 0; j++)
            if (p->heat_made[j] > 0 && p->heat_id[j] == r->faces[i].id && !used[j])
                slot[i] = j;
        if (slot[i] >= 0)
            used[slot[i]] = 1;
    }
    int stalest = -1;
    for (int i = 0; i < r->n; i++) {
        if (slot[i] < 0) { /* new: a free slot, made now */
            for (int j = 0; j < PIPELINE_MAX_FACES && slot[i] < 0; j++)
                if (!used[j])
                    slot[i] = j;
            used[slot[i]] = 1;
            p->heat_made[slot[i]] = 0;
            p->heat_id[slot[i]] = r->faces[i].id;
        } else if (stalest < 0 || p->heat_made[slot[i]] < p->heat_made[slot[stalest]]) {
            stalest = i;
        }
    }
    for (int i = 0; i < r->n; i++) {
        const pipeline_face *fc = &r->faces[i];
        float *m = p->heat_maps + per * (size_t)slot[i];
        if (p->heat_made[slot[i]] == 0 || i == stalest) {
            if (make_heat(a, f, fc, m) != 0)
                return -1;
            p->heat_made[slot[i]] = p->frame + 1;
        }
        heatmap_blend_bgr(p->shown, f->w, f->h, fc->crop.x, fc->crop.y, fc->crop.w, fc->crop.h, m, w,
                       h, 0.6f);
    }
    return 0;
}

int person_step(app *a, const source_frame *f)
{
    person *p = &a->pers;
    pipeline_result *r = &a->last;
    const size_t px = (size_t)f->w * f->h;
    if (!p->ready && person_init(a) != 0)
        return -1;
    p->shown_valid = 0;
    if (px > p->cap) {
        free(p->gray);
        free(p->shown);
        p->gray = malloc(px);
        p->shown = malloc(px * 3);
        if (!p->gray || !p->shown) {
            p->cap = 0;
            return app_fail("out of memory");
        }
        p->cap = px;
    }
    p->t_ms = f->t_ms;
    if (r->n > 0)
        p->face_wall = nn_now();
    if (!p->still)
        neutral_update(&p->nt, f->t_ms, r);
    const int need_gray = p->hints || (p->heat && r->n > 0);
    if (need_gray && cvw_bgr_to_gray(f->bgr, f->w, f->h, p->gray) != 0)
        return app_fail("%s", cvw_error());
    if (p->hints)
        assess(a, f);
    r->hint = p->hint ? hints_name(p->hint) : NULL;
    p->frame++;
    if (!p->heat) /* maps made before g was pressed again are stale */
        memset(p->heat_made, 0, sizeof p->heat_made);
    cvw_rect boxes[PIPELINE_MAX_FACES * 4];
    const int n_blur = a->o.blur ? blur_boxes(p, r, boxes, PIPELINE_MAX_FACES * 4) : 0;
    if ((p->heat && r->n > 0) || n_blur > 0) {
        memcpy(p->shown, f->bgr, px * 3);
        p->shown_valid = 1;
        if (p->heat && heat_faces(a, f) != 0)
            return -1;
        privacy_blur_faces(p->shown, f->w, f->h, boxes, n_blur);
    }
    return 0;
}

const uint8_t *person_pixels(const app *a, const source_frame *f)
{
    return a->pers.shown_valid ? a->pers.shown : f->bgr;
}

int person_idle(const app *a, double now)
{
    return a->o.idle_s > 0 && a->pers.ready && now - a->pers.face_wall >= a->o.idle_s;
}

const char *person_toggle_calibration(app *a)
{
    person *p = &a->pers;
    if (!p->ready && person_init(a) != 0)
        return app_error();
    if (p->still)
        return "no calibration for still images: each is classified on its own";
    if (!p->neutral_ok)
        return "no calibration: the model has no neutral class";
    if (neutral_active(&p->nt)) {
        neutral_clear(&p->nt);
        return "calibration cleared";
    }
    neutral_start(&p->nt, a->o.calibrate_s > 0 ? a->o.calibrate_s : 3.0);
    return "";
}
