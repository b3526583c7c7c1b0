/* app.c - emotion-detect's setup, per-frame step and summary; see app.h. */
#include "app.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "face.h"
#include "paths.h"

volatile sig_atomic_t ed_stop;

#define DEFAULT_CASCADE "cascades/haarcascade_frontalface_default.xml"
#define DEMO_CLIP "assets/demo.mp4"

/* The checks cvw_writer_open makes, done before the source opens, so a bad
 * --record path fails at once and alone. */
static int check_record_path(const char *path)
{
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash) ||
        (strcasecmp(dot, ".mp4") && strcasecmp(dot, ".avi") && strcasecmp(dot, ".mkv") &&
         strcasecmp(dot, ".mov") && strcasecmp(dot, ".m4v"))) {
        ed_err("record '%s': unsupported video extension (use .mp4 or .avi)", path);
        return -1;
    }
    char dir[ED_PATH_MAX];
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else
        snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        ed_err("record '%s': cannot write: directory '%s' does not exist", path, dir);
        return -1;
    }
    if (access(dir, W_OK) != 0) {
        ed_err("record '%s': cannot write: directory '%s' is not writable", path, dir);
        return -1;
    }
    return 0;
}

int app_setup(app *a, const ed_opts *o)
{
    char buf[ED_PATH_MAX], err[512];
    a->o = *o;

    const char *model = o->model ? o->model : ed_default_model();
    struct stat st;
    if (stat(model, &st) != 0) {
        ed_err("model '%s': %s%s", model, errno == ENOENT ? "no such file" : strerror(errno),
               o->model ? "" : " (train one with emotion-train, or pass --model)");
        return ED_EXIT_FAIL;
    }
    a->net = nn_net_load(model);
    if (!a->net) {
        ed_err("model '%s': %s", model, nn_error());
        return ED_EXIT_FAIL;
    }
    a->k = nn_net_n_classes(a->net);
    for (int i = 0; i < a->k && i < NN_MAX_CLASSES; i++) {
        const char *n = nn_net_class(a->net, i);
        a->names[i] = n && *n ? n : "?";
    }
    nn_net_set_threads(a->net, o->threads);
    cvw_set_threads(o->threads);
    if (nn_net_set_precision(a->net, (nn_precision)o->precision)) {
        ed_err("--precision: model '%s': %s", model, nn_error());
        return ED_EXIT_FAIL;
    }

    const char *cascade = o->cascade ? o->cascade : ed_data_path(DEFAULT_CASCADE, buf, sizeof buf);
    a->cascade = cvw_cascade_load(cascade);
    if (!a->cascade) {
        ed_err("%s", cvw_error());
        return ED_EXIT_FAIL;
    }

    /* Frame crops as FER2013 does for this kind of detector (face.h). */
    int lbp = cvw_cascade_feature_type(a->cascade) == 1;
    pl_cfg cfg = {
        .scale_factor = o->scale_factor, .min_neighbors = o->min_neighbors,
        .min_face = o->min_face, .detect_width = o->detect_width,
        .detect_every = o->detect_every, .max_faces = o->max_faces,
        .margin = o->margin >= 0 ? o->margin : (lbp ? FACE_LBP_MARGIN : FACE_HAAR_MARGIN),
        .shift = lbp ? FACE_LBP_SHIFT : FACE_HAAR_SHIFT,
        .smooth = o->smooth,
    };
    a->pl = pl_new(a->net, a->cascade, &cfg, err, sizeof err);
    if (!a->pl) {
        ed_err("model '%s': %s", model, err);
        return ED_EXIT_FAIL;
    }

    ed_data_path("assets/DejaVuSans.ttf", a->font, sizeof a->font);
    ed_data_path("assets/DejaVuSans-Bold.ttf", a->bold, sizeof a->bold);
    if (stat(a->bold, &st) != 0)
        snprintf(a->bold, sizeof a->bold, "%s", a->font);

    /* Outputs are opened before any frame is read, so an unwritable path
     * fails at once instead of after a long run. */
    if (o->log_path) {
        a->log = elog_open(o->log_path, a->names, a->k, err, sizeof err);
        if (!a->log) {
            ed_err("%s", err);
            return ED_EXIT_FAIL;
        }
    }
    if (o->record_path && check_record_path(o->record_path) != 0)
        return ED_EXIT_FAIL;
    if (o->record_path || !o->headless) {
        if (TTF_Init() != 0) {
            ed_err("cannot start the font renderer: %s", TTF_GetError());
            return ED_EXIT_FAIL;
        }
        a->ann = ov_annotator_new(a->font, a->bold, err, sizeof err);
        if (!a->ann) {
            ed_err("%s", err);
            return ED_EXIT_FAIL;
        }
    }
    return -1;
}

int app_open_source(app *a)
{
    char err[512];
    const ed_opts *o = &a->o;
    if (o->input) {
        snprintf(a->input, sizeof a->input, "%s", o->input);
    } else {
        a->src = source_open_camera(o->camera, o->kiosk, err, sizeof err);
        if (a->src)
            return 0;
        if (o->camera_given) {
            ed_err("%s", err);
            return ED_EXIT_FAIL;
        }
        ed_data_path(DEMO_CLIP, a->input, sizeof a->input);
        ed_err("no camera (%s); playing the demo clip %s", err, a->input);
        a->demo = 1;
    }
    /* In a window the demo clip plays until the user quits. */
    int loop = o->loop || (a->demo && !o->headless);
    a->src = source_open_path(a->input, loop, err, sizeof err);
    if (!a->src) {
        ed_err("%s", err);
        return ED_EXIT_FAIL;
    }
    return 0;
}

int app_record_start(app *a, const char *path, char *err, size_t errlen)
{
    app_record_stop(a);
    int w = source_width(a->src), h = source_height(a->src);
    if (w <= 0 || h <= 0) {
        snprintf(err, errlen, "record '%s': no frame size yet", path);
        return -1;
    }
    /* mp4v and MJPG want even sizes. */
    a->rec_w = w & ~1;
    a->rec_h = h & ~1;
    a->rec_fps = source_fps(a->src);
    a->rec = cvw_writer_open(path, a->rec_fps, a->rec_w, a->rec_h);
    if (!a->rec) {
        snprintf(err, errlen, "record %s", cvw_error());
        return -1;
    }
    free(a->rec_buf);
    a->rec_buf = malloc((size_t)a->rec_w * a->rec_h * 3);
    if (!a->rec_buf) {
        cvw_writer_close(a->rec);
        a->rec = NULL;
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(a->rec_path, sizeof a->rec_path, "%s", path);
    a->rec_frames = 0;
    return 0;
}

void app_record_stop(app *a)
{
    if (!a->rec)
        return;
    if (cvw_writer_close(a->rec) != 0)
        ed_err("record '%s': %s", a->rec_path, cvw_error());
    a->rec = NULL;
}

/* The annotated frame into the recording, scaled when a folder's images
 * differ in size from the first. */
static int record_frame(app *a, const src_frame *f, char *err, size_t errlen)
{
    pl_result scaled;
    const pl_result *r = &a->last;
    if (f->w == a->rec_w && f->h == a->rec_h) {
        memcpy(a->rec_buf, f->bgr, (size_t)f->w * f->h * 3);
    } else {
        if (cvw_resize_bgr(f->bgr, f->w, f->h, a->rec_buf, a->rec_w, a->rec_h) != 0)
            goto cv_fail;
        scaled = a->last;
        double sx = (double)a->rec_w / f->w, sy = (double)a->rec_h / f->h;
        for (int i = 0; i < scaled.n; i++) {
            cvw_rect *b = &scaled.faces[i].box;
            *b = (cvw_rect){(int)(b->x * sx), (int)(b->y * sy), (int)(b->w * sx), (int)(b->h * sy)};
        }
        r = &scaled;
    }
    if (a->ann && ov_annotate(a->ann, a->rec_buf, a->rec_w, a->rec_h, r, a->names, a->k) != 0) {
        snprintf(err, errlen, "record: drawing failed: %s", SDL_GetError());
        return -1;
    }
    if (cvw_writer_write(a->rec, a->rec_buf) != 0)
        goto cv_fail;
    a->rec_frames++;
    return 0;
cv_fail:
    snprintf(err, errlen, "record '%s': %s", a->rec_path, cvw_error());
    return -1;
}

int app_step(app *a, const src_frame *f, char *err, size_t errlen)
{
    pl_result *r = &a->last;
    if (f->restarted)
        pl_reset(a->pl); /* a looped clip starts over: old tracks are stale */
    if (pl_process(a->pl, f->bgr, f->w, f->h, r, err, errlen) != 0)
        return -1;
    r->ms[PL_READ] = f->read_ms;
    r->ms[PL_DRAW] = 0; /* the window fills it when it draws */
    double t = nn_now();
    r->ms[PL_RECORD] = 0;
    if (a->rec) {
        if (record_frame(a, f, err, errlen) != 0)
            return -1;
        double t1 = nn_now();
        r->ms[PL_RECORD] = (t1 - t) * 1e3;
        t = t1;
    }
    r->ms[PL_LOG] = 0;
    if (a->log) {
        if (elog_frame(a->log, f->index, f->t_ms, r) != 0) {
            snprintf(err, errlen, "log '%s': write failed: %s", a->o.log_path, strerror(errno));
            return -1;
        }
        r->ms[PL_LOG] = (nn_now() - t) * 1e3;
    }
    a->frames++;
    a->faces += r->n;
    for (int i = 0; i < r->n; i++)
        a->hist[r->faces[i].cls]++;
    for (int s = 0; s < PL_N_STAGES; s++)
        a->ms_sum[s] += r->ms[s];
    return 0;
}

void app_summary(const app *a, FILE *f)
{
    double secs = a->t_end - a->t_start;
    fprintf(f, "emotion-detect: %ld frames, %ld faces in %.2f s: %.1f frames/s\n", a->frames,
            a->faces, secs, secs > 0 ? a->frames / secs : 0.0);
    if (a->frames > 0) {
        fprintf(f, "  ms per frame:");
        for (int s = 0; s < PL_N_STAGES; s++)
            fprintf(f, " %s %.2f", pl_stage_names[s], a->ms_sum[s] / a->frames);
        fputc('\n', f);
    }
    if (a->faces > 0) {
        fprintf(f, "  emotions:");
        for (int c = 0; c < a->k; c++)
            if (a->hist[c])
                fprintf(f, " %s %ld (%.0f%%)", a->names[c], a->hist[c],
                        100.0 * a->hist[c] / a->faces);
        fputc('\n', f);
    }
    if (a->rec_path[0])
        fprintf(f, "  recorded %ld frames to %s\n", a->rec_frames, a->rec_path);
}

void app_teardown(app *a)
{
    app_record_stop(a);
    if (a->log && elog_close(a->log) != 0)
        ed_err("log '%s': write failed", a->o.log_path);
    a->log = NULL;
    source_close(a->src);
    a->src = NULL;
    ov_annotator_free(a->ann);
    a->ann = NULL;
    free(a->rec_buf);
    a->rec_buf = NULL;
    pl_free(a->pl);
    a->pl = NULL;
    cvw_cascade_free(a->cascade);
    a->cascade = NULL;
    nn_net_free(a->net);
    a->net = NULL;
    if (TTF_WasInit())
        TTF_Quit();
}
