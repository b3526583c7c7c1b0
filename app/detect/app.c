/* app.c - emotion-detect's setup, per-frame step and summary; see app.h. */
#include "app.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app_err.h"
#include "cli.h"
#include "devtools.h"
#include "face.h"
#include "overlay.h"
#include "outpath.h"
#include "paths.h"
#include "rollest.h"
#include "sreport.h"

volatile sig_atomic_t app_interrupted;

#define DEFAULT_CASCADE "cascades/haarcascade_frontalface_default.xml"
#define DEMO_CLIP "assets/demo.mp4"
#define DEFAULT_ROLL_MODEL "models/roll.model"

/* nn_error() after a failed load, without the path it starts with (the
 * message here names the file once, as the option's value). */
static const char *engine_reason(const char *path)
{
    const char *e = nn_error();
    size_t n = strlen(path);
    return !strncmp(e, path, n) && !strncmp(e + n, ": ", 2) ? e + n + 2 : e;
}

/* The model, with its class names, threads and precision. */
static int load_model(app *a, const char *model)
{
    const opts *o = &a->o;
    struct stat st;
    if (stat(model, &st) != 0)
        return app_fail("model '%s': %s%s", model,
                        errno == ENOENT ? "no such file" : strerror(errno),
                        o->model ? "" : " (train one with emotion-train, or pass --model)");
    a->net = nn_net_load(model);
    if (!a->net)
        return app_fail("model '%s': %s", model, engine_reason(model));
    if (rollest_is_roll_model(a->net))
        return app_fail("model '%s' is a roll model (emotion-train train --target roll): give "
                        "it as --roll-model, and an emotion model as --model", model);
    a->k = nn_net_n_classes(a->net);
    for (int i = 0; i < a->k && i < NN_MAX_CLASSES; i++) {
        const char *n = nn_net_class(a->net, i);
        a->names[i] = n && *n ? n : "?";
    }
    nn_net_set_threads(a->net, o->threads);
    cvw_set_threads(o->threads);
    if (o->precision < 0)
        nn_net_use_faster_precision(a->net);
    else if (nn_net_set_precision(a->net, (nn_precision)o->precision))
        return app_fail("--precision: model '%s': %s", model, nn_error());
    return 0;
}

/* The roll estimator (rollest.h); a->roll. */
static int load_roll_model(app *a, const char *path)
{
    a->roll = nn_net_load(path);
    if (!a->roll)
        return app_fail("--roll-model '%s': %s", path, engine_reason(path));
    if (!rollest_is_roll_model(a->roll))
        return app_fail("--roll-model '%s' is not a roll model (its classes are not roll bins; "
                        "train one with emotion-train train --target roll)", path);
    nn_net_set_threads(a->roll, a->o.threads);
    return 0;
}

app_status app_setup(app *a, const opts *o)
{
    char buf[APP_PATH_MAX], err[512];
    a->o = *o;

    const char *model = o->model ? o->model : paths_default_model();
    const char *cascade = o->cascade ? o->cascade : paths_data(DEFAULT_CASCADE, buf, sizeof buf);
    /* Nothing is opened for writing until every input is checked and the
     * first frame is in hand (app_step): a failed start leaves earlier logs
     * and recordings as they were. */
    outpath_path files[] = {
        {"--input", o->input, 0}, {"--model", model, 0}, {"--cascade", cascade, 0},
        {"--roll-model", o->roll_model, 0},
        {"--log", o->log_path, 1}, {"--record", o->record_path, 1},
    };
    if (outpath_distinct(files, (int)(sizeof files / sizeof *files)) != 0)
        return APP_BAD_USAGE;
    /* A second run with the same names must not take the first run's
     * recording or log (a camera session cannot be made again). "-" is
     * standard output, whatever file of that name the folder holds. */
    for (size_t i = 4; i < sizeof files / sizeof *files && !o->overwrite; i++)
        if (files[i].path && strcmp(files[i].path, "-") &&
            outpath_refuse_existing(files[i].opt, files[i].path) != 0)
            return APP_BAD_USAGE;
    for (size_t i = 4; i < sizeof files / sizeof *files; i++)
        if (files[i].path && outpath_probe(files[i].path) != 0) {
            app_fail("%s: %s", files[i].opt, app_error());
            return APP_FAILED;
        }
    if (load_model(a, model) != 0)
        return APP_FAILED;
    const char *roll_model = o->roll_model;
    char roll_buf[APP_PATH_MAX];
    if (!roll_model && !(o->without & (PIPELINE_NO_ROLL | PIPELINE_NO_ROLLNET))) {
        struct stat rst;
        roll_model = paths_data(DEFAULT_ROLL_MODEL, roll_buf, sizeof roll_buf);
        if (stat(roll_model, &rst) != 0) {
            cli_err("note: no roll model at %s: a face's roll is the angle of the pass that "
                    "found it", roll_model);
            roll_model = NULL;
        }
    }
    if (roll_model && load_roll_model(a, roll_model) != 0)
        return APP_FAILED;

    a->cascade = cvw_cascade_load(cascade);
    if (!a->cascade) {
        app_fail("%s", cvw_error());
        return APP_FAILED;
    }

    /* Frame crops as FER2013 does for this kind of detector (face.h). */
    int lbp = cvw_cascade_feature_type(a->cascade) == 1;
    pipeline_cfg cfg = {
        .scale_factor = o->scale_factor, .min_neighbors = o->min_neighbors,
        .min_face = o->min_face, .detect_width = o->detect_width,
        .detect_every = o->detect_every, .max_faces = o->max_faces,
        .margin = o->margin >= 0 ? o->margin : (lbp ? FACE_LBP_MARGIN : FACE_HAAR_MARGIN),
        .shift = lbp ? FACE_LBP_SHIFT : FACE_HAAR_SHIFT,
        .smooth = o->smooth, .without = o->without, .prep = (pipeline_prep)o->prep,
        .still_min_face = o->still_min_face, .views = (pipeline_views)o->views,
    };
    a->pl = pipeline_new(a->net, a->cascade, &cfg);
    if (!a->pl) {
        snprintf(err, sizeof err, "%s", app_error()); /* not read while rewritten */
        app_fail("model '%s': %s", model, err);
        return APP_FAILED;
    }
    if (a->roll && pipeline_set_roll_net(a->pl, a->roll) != 0) {
        snprintf(err, sizeof err, "%s", app_error());
        app_fail("--roll-model: %s", err);
        return APP_FAILED;
    }

    /* The second look's cascades: without them (OpenCV's data not
     * installed) the second look of before, which loses more faces. */
    if (!(o->without & PIPELINE_NO_CONFIRM) && !lbp) {
        a->alt = cvw_cascade_load(ED_HAAR_DIR "/haarcascade_frontalface_alt.xml");
        a->eyes = cvw_cascade_load(ED_HAAR_DIR "/haarcascade_eye.xml");
        if (a->alt && a->eyes)
            pipeline_set_confirm_cascades(a->pl, a->alt, a->eyes);
        else
            cli_err("note: %s: OpenCV's cascades not found (opencv-data); new faces are "
                    "confirmed without them", ED_HAAR_DIR);
    }

    struct stat st;
    paths_data("assets/DejaVuSans.ttf", a->font, sizeof a->font);
    paths_data("assets/DejaVuSans-Bold.ttf", a->bold, sizeof a->bold);
    if (stat(a->bold, &st) != 0)
        snprintf(a->bold, sizeof a->bold, "%s", a->font);

    /* Only a recording draws outside the window (ui.c has its own). */
    if (o->record_path || !o->headless) {
        a->ann = overlay_annotator_new(a->font, a->bold);
        if (!a->ann)
            return APP_FAILED;
    }
    return APP_READY;
}

/* Warnings from the source (skipped files), on whichever thread. */
static void warn_stderr(void *ctx, const char *msg)
{
    (void)ctx;
    cli_err("%s", msg);
}

app_status app_open_source(app *a)
{
    const opts *o = &a->o;
    if (o->input) {
        snprintf(a->input, sizeof a->input, "%s", o->input);
    } else {
        a->src = source_open_camera(o->camera, o->kiosk);
        if (a->src)
            return APP_READY;
        if (o->camera_given)
            return APP_FAILED;
        paths_data(DEMO_CLIP, a->input, sizeof a->input);
        cli_err("no camera (%s); playing the demo clip %s", app_error(), a->input);
        a->demo = 1;
    }
    /* In a window the demo clip plays until the user quits. */
    int loop = o->loop || (a->demo && !o->headless);
    a->src = source_open_path(a->input, loop, warn_stderr, NULL);
    return a->src ? APP_READY : APP_FAILED;
}

int app_record_start(app *a, const char *path)
{
    if (app_record_stop(a) == APP_REC_FAILED)
        return -1;
    if (a->ended)
        return app_fail("the input has ended: no frames left to record");
    /* Checked now so a bad path is reported at once; the file itself is
     * created with the first frame, so a recording without frames leaves
     * nothing behind. */
    if (outpath_probe(path) != 0)
        return app_fail("record: %s", app_error());
    snprintf(a->rec_path, sizeof a->rec_path, "%s", path);
    a->rec_on = 1;
    a->rec_frames = 0;
    a->rec_done = 0;
    return 0;
}

/* Put the recording where the user asked for it: its first frame is in.
 * One that replaces an earlier recording waits for app_record_stop. */
static int rec_place(app *a)
{
    if (!a->rec || a->rec_out.placed || a->rec_out.direct)
        return 0;
    if (outpath_place_new(&a->rec_out) != 0) {
        char why[512]; /* app_fail must not read the buffer it writes */
        snprintf(why, sizeof why, "%s", app_error());
        return app_fail("record: %s", why);
    }
    if (a->rec_out.placed)
        cvw_writer_moved(a->rec, a->rec_out.path);
    return 0;
}

app_rec_status app_record_stop(app *a)
{
    if (!a->rec_on)
        return APP_REC_SAVED;
    a->rec_on = 0;
    if (!a->rec) {
        app_fail("record '%s': no frames came to record; nothing written", a->rec_path);
        a->rec_path[0] = 0;
        return APP_REC_EMPTY;
    }
    int rc = cvw_writer_close(a->rec);
    a->rec = NULL;
    if (rc != 0) {
        app_fail("record %s", cvw_error());
        outpath_abort(&a->rec_out); /* removes it when not yet in place */
        return APP_REC_FAILED;
    }
    if (!a->rec_out.placed && !a->rec_out.direct && outpath_place(&a->rec_out) != 0) {
        char why[512];
        snprintf(why, sizeof why, "%s", app_error());
        app_fail("record: %s", why);
        outpath_abort(&a->rec_out);
        return APP_REC_FAILED;
    }
    a->rec_done = 1;
    return APP_REC_SAVED;
}

/* The writer opens with the first frame large enough: its size and the
 * source's rate, under a temporary name until rec_place. Returns 0, 1 for
 * an image too small to start a video with (left out), or -1. */
static int record_open(app *a, const source_frame *f, int still)
{
    /* mp4v and MJPG want even sizes. */
    a->rec_w = f->w & ~1;
    a->rec_h = f->h & ~1;
    if (a->rec_w <= 0 || a->rec_h <= 0) {
        if (still)
            return 1;
        return app_fail("record '%s': frame too small (%dx%d): a video needs at least 2x2",
                        a->rec_path, f->w, f->h);
    }
    a->rec_fps = source_fps(a->src);
    free(a->rec_buf);
    /* Padded: the encoder's scaler reads past a frame's end (cvw.h). */
    a->rec_buf = calloc((size_t)a->rec_w * a->rec_h * 3 + CVW_WRITER_PAD, 1);
    if (!a->rec_buf)
        return app_fail("out of memory");
    char why[512]; /* app_fail must not read the buffer it writes */
    if (outpath_stage(&a->rec_out, a->rec_path) != 0) {
        snprintf(why, sizeof why, "%s", app_error());
        return app_fail("record: %s", why);
    }
    a->rec = cvw_writer_open_as(outpath_target(&a->rec_out), a->rec_path, a->rec_fps, a->rec_w,
                                a->rec_h);
    if (!a->rec) {
        outpath_abort(&a->rec_out);
        return app_fail("record %s", cvw_error());
    }
    return 0;
}

/* The annotated frame into the recording, scaled when a folder's images
 * differ in size from the first. Returns 0, 1 when an image was left out
 * (record_open), or -1. */
static int record_frame(app *a, const source_frame *f, int still)
{
    pipeline_result scaled;
    const pipeline_result *r = &a->last;
    if (!a->rec) {
        int got = record_open(a, f, still);
        if (got != 0)
            return got;
    }
    if (f->w == a->rec_w && f->h == a->rec_h) {
        memcpy(a->rec_buf, person_pixels(a, f), (size_t)f->w * f->h * 3);
    } else {
        if (cvw_resize_bgr(person_pixels(a, f), f->w, f->h, a->rec_buf, a->rec_w, a->rec_h) != 0)
            goto cv_fail;
        scaled = a->last;
        double sx = (double)a->rec_w / f->w, sy = (double)a->rec_h / f->h;
        for (int i = 0; i < scaled.n; i++) {
            cvw_rect *b = &scaled.faces[i].box;
            *b = (cvw_rect){(int)(b->x * sx), (int)(b->y * sy), (int)(b->w * sx), (int)(b->h * sy)};
        }
        r = &scaled;
    }
    if (a->ann &&
        overlay_annotate(a->ann, a->rec_buf, a->rec_w, a->rec_h, r, a->names, a->k) != 0) {
        char why[512]; /* app_fail must not read the buffer it writes */
        snprintf(why, sizeof why, "%s", app_error());
        return app_fail("record: %s", why);
    }
    if (cvw_writer_write(a->rec, a->rec_buf) != 0)
        goto cv_fail;
    a->rec_frames++;
    return 0;
cv_fail:
    return app_fail("record '%s': %s", a->rec_path, cvw_error());
}

/* An output that failed is closed without a second message: the one line
 * about it has been printed. Outputs not yet in place are removed. A
 * recording already in place stays when another output failed (a log on a
 * full disk): it is finished and checked like any, and app_close_outputs
 * and the summary say how it went; it used to be left unmentioned,
 * unplayable when the disk had filled. */
static void drop_outputs(app *a, int rec_failed)
{
    int kept = 0;
    if (a->rec) {
        kept = !rec_failed && (a->rec_out.placed || a->rec_out.direct);
        if (cvw_writer_close(a->rec) != 0 && kept) {
            snprintf(a->rec_note, sizeof a->rec_note, "record %s", cvw_error());
            kept = 0;
        }
        a->rec = NULL;
    }
    outpath_abort(&a->rec_out);
    a->rec_on = 0;
    a->rec_done = kept; /* the summary's "recorded N frames to" */
    if (!kept)
        a->rec_path[0] = 0;
    if (a->log) {
        elog_discard(a->log);
        a->log = NULL;
    }
    a->held = 0;
}

/* Once every output asked for at the start has its first frame, they
 * replace what their names held (app.h: held); a recording started later
 * (key r) goes in place with its first frame. */
static int place_outputs(app *a)
{
    if (a->held) {
        if (a->o.record_path && a->rec_on && !a->rec)
            return 0; /* --record waits for an image large enough */
        if (rec_place(a) != 0)
            return -1;
        if (elog_place(a->log) != 0) {
            char why[512];
            snprintf(why, sizeof why, "%s", app_error());
            return app_fail("log: %s", why);
        }
        a->held = 0;
        return 0;
    }
    return rec_place(a);
}

int app_close_outputs(app *a)
{
    int rc = 0;
    if (a->rec_note[0]) {
        cli_err("%s", a->rec_note);
        a->rec_note[0] = 0;
        rc = CLI_EXIT_FAIL;
    }
    if (a->held && a->o.record_path && !a->rec && a->rec_small > 0) {
        /* No image was large enough to start --record (also when the
         * window stopped it at the end of the input): the run made
         * nothing it was asked for, and replaces nothing. */
        cli_err("record '%s': no image large enough for a video (2x2 or more) came; %ld left "
                "out, nothing written", a->o.record_path, a->rec_small);
        drop_outputs(a, 1);
        return CLI_EXIT_FAIL;
    }
    app_rec_status st = app_record_stop(a);
    if (st != APP_REC_SAVED)
        cli_err("%s", app_error());
    if (st == APP_REC_FAILED)
        rc = CLI_EXIT_FAIL;
    if (a->log) {
        if (elog_close(a->log) != 0) {
            cli_err("log: %s", app_error());
            rc = CLI_EXIT_FAIL;
        }
        a->log = NULL;
    }
    return rc;
}

void app_input_ended(app *a)
{
    a->ended = 1;
    long stated = source_frame_count(a->src);
    if (source_kind_of(a->src) == SOURCE_VIDEO && !a->o.loop && stated > 0 && a->frames < stated)
        cli_err("warning: '%s' ended after %ld of the %ld frames it states (a damaged or truncated "
               "file?)", a->input, a->frames, stated);
}

int app_step(app *a, const source_frame *f)
{
    pipeline_result *r = &a->last;
    source_kind kind = source_kind_of(a->src);
    int still = kind == SOURCE_IMAGE || kind == SOURCE_FOLDER;
    if (f->restarted && !still)
        pipeline_reset(a->pl); /* a looped clip starts over: old tracks are stale */
    /* Each image is its own scene; a video's frames are one another's. */
    if ((still ? pipeline_process_still : pipeline_process)(a->pl, f->bgr, f->w, f->h, r) != 0)
        return -1;
    if (person_step(a, f) != 0)
        return -1;
    r->ms[PIPELINE_READ] = f->read_ms;
    r->ms[PIPELINE_DRAW] = 0; /* the window fills it when it draws */
    double t = nn_now();
    if (a->frames == 0 && !a->outputs_opened) {
        /* The first frame is in hand: now the outputs may be created. */
        a->outputs_opened = 1;
        a->held = a->o.log_path || a->o.record_path;
        if (a->o.log_path) {
            a->log = elog_open(a->o.log_path, a->names, a->k, still);
            if (!a->log)
                return -1;
            char src[APP_PATH_MAX + 32];
            elog_session(a->log, report_cmd_source_name(a, src, sizeof src), report_cmd_model_name(&a->o));
        }
        if (a->o.record_path && app_record_start(a, a->o.record_path) != 0) {
            drop_outputs(a, 1);
            return -1;
        }
    }
    r->ms[PIPELINE_RECORD] = 0;
    if (a->rec_on) {
        int got = record_frame(a, f, still);
        if (got < 0) {
            drop_outputs(a, 1);
            return -1;
        }
        if (got > 0) {
            a->rec_small++;
            cli_err("warning: record '%s': '%s' (%dx%d) is too small to start a video with; left "
                    "out of it", a->rec_path, f->file ? f->file : a->input, f->w, f->h);
        }
        double t1 = nn_now();
        r->ms[PIPELINE_RECORD] = (t1 - t) * 1e3;
        t = t1;
    }
    r->ms[PIPELINE_LOG] = 0;
    if (a->log) {
        if (elog_frame(a->log, f->index, f->t_ms, f->file, r) != 0) {
            if (errno != EPIPE || strcmp(a->o.log_path, "-")) {
                app_fail("log: cannot write '%s': %s", a->o.log_path, strerror(errno));
                drop_outputs(a, 0);
                return -1;
            }
            /* The program reading --log - has gone: that ends the run
             * normally, like a closed window, the other outputs finished. */
            elog_close(a->log);
            a->log = NULL;
            cli_err("--log -: the reader closed the pipe; stopping");
            app_interrupted = 1;
        }
        r->ms[PIPELINE_LOG] = (nn_now() - t) * 1e3;
    }
    if (a->report && sreport_add(a->report, f->index, f->t_ms, r, f->bgr, f->w, f->h, f->file) != 0) {
        char why[512]; /* app_fail must not read the buffer it writes */
        snprintf(why, sizeof why, "%s", app_error());
        app_fail("report: %s", why);
        drop_outputs(a, 0);
        return -1;
    }
    if (place_outputs(a) != 0) {
        drop_outputs(a, 0);
        return -1;
    }
    if (still && r->n == 0 && (f->w < f->h ? f->w : f->h) <= APP_CROP_SIDE &&
        a->small_faceless++ == 0) {
        snprintf(a->small_example, sizeof a->small_example, "%s", f->file ? f->file : a->input);
        a->small_w = f->w;
        a->small_h = f->h;
    }
    a->frames++;
    a->faces += r->n;
    for (int i = 0; i < r->n; i++)
        a->hist[r->faces[i].cls]++;
    for (int s = 0; s < PIPELINE_N_STAGES; s++)
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
        for (int s = 0; s < PIPELINE_N_STAGES; s++)
            fprintf(f, " %s %.2f", pipeline_stage_names[s], a->ms_sum[s] / a->frames);
        fputc('\n', f);
    }
    /* A crop of a face fills its picture: the cascade needs the head and
     * some room around it to find one, so crops come out faceless. */
    if (a->small_faceless > 0)
        fprintf(f, "  note: no face found in %ld small picture%s ('%s', %dx%d): if %s already "
                   "cropped to the face, classify %s with emotion-train predict PICTURE...\n",
                a->small_faceless, a->small_faceless == 1 ? "" : "s", a->small_example,
                a->small_w, a->small_h, a->small_faceless == 1 ? "it is" : "they are",
                a->small_faceless == 1 ? "it" : "them");
    if (a->faces > 0) {
        fprintf(f, "  emotions:");
        for (int c = 0; c < a->k; c++)
            if (a->hist[c])
                fprintf(f, " %s %ld (%.0f%%)", a->names[c], a->hist[c],
                        100.0 * a->hist[c] / a->faces);
        fputc('\n', f);
    }
    long stated = a->src ? source_frame_count(a->src) : 0;
    if (a->src && source_kind_of(a->src) == SOURCE_VIDEO && stated > 0 && !a->o.loop)
        fprintf(f, "  input: %ld of its %ld frames read\n", a->frames, stated);
    if (a->rec_done)
        fprintf(f, "  recorded %ld frames to %s\n", a->rec_frames, a->rec_path);
    int int8 = nn_net_precision(a->net) == NN_PRECISION_INT8;
    fprintf(f, "  model: %s, kernels %s%s%s\n", int8 ? "int8" : "fp32", nn_kernel_name(),
            int8 ? ", int8 kernel " : "", int8 ? nn_net_int8_kernel(a->net) : "");
}

void app_teardown(app *a)
{
    drop_outputs(a, 1); /* closed and reported by app_close_outputs on a normal end */
    person_free(&a->pers);
    source_close(a->src);
    a->src = NULL;
    overlay_annotator_free(a->ann);
    a->ann = NULL;
    free(a->rec_buf);
    a->rec_buf = NULL;
    pipeline_free(a->pl);
    a->pl = NULL;
    cvw_cascade_free(a->cascade);
    a->cascade = NULL;
    cvw_cascade_free(a->alt);
    cvw_cascade_free(a->eyes);
    a->alt = a->eyes = NULL;
    nn_net_free(a->net);
    a->net = NULL;
    nn_net_free(a->roll);
    a->roll = NULL;
}
