/*
 * app.h - emotion-detect's state shared by the headless loop and the
 * window: the loaded model and detector, the source, the outputs, and the
 * running statistics. main.c sets it up; headless.c and ui.c drive it.
 */
#ifndef ED_APP_H
#define ED_APP_H

#include <signal.h>
#include <stddef.h>

#include "elog.h"
#include "nn.h"
#include "opts.h"
#include "outpath.h"
#include "person.h"
#include "pipeline.h"
#include "source.h"

#define APP_PATH_MAX 4096
/* a picture this small on its shorter side is likely a crop of a face */
#define APP_CROP_SIDE 128

typedef struct app {
    opts o;
    nn_net *net;
    nn_net *roll;             /* the roll estimator (rollest.h), NULL for none */
    cvw_cascade *cascade;
    cvw_cascade *alt, *eyes; /* the second look's (pipeline.h), NULL when not installed */
    pipeline *pl;
    source *src;
    int demo;                 /* playing the bundled demo clip */
    char input[APP_PATH_MAX];  /* what src reads ("" = camera) */
    const char *names[NN_MAX_CLASSES];
    int k;
    char font[APP_PATH_MAX], bold[APP_PATH_MAX];

    elog *log;
    /* recording (overlay.h draws; the core stays free of SDL) */
    struct overlay_annotator *ann;
    cvw_writer *rec;          /* opened with the first frame recorded */
    int rec_on;               /* recording to rec_path */
    int rec_done;             /* ... finished and checked */
    int outputs_opened;       /* --log and --record, at the first frame */
    /* --log and --record are written under temporary names beside their
     * places (outpath.h) and put in place once every one of them has its
     * first frame: a run that fails before replaces no earlier output and
     * leaves no new one behind. One that replaces an earlier file
     * (--overwrite) is put in place only when it is finished. */
    int held;
    outpath_file rec_out;     /* the recording's file */
    long rec_small;           /* images left out before the recording could start */
    int ended;                /* the input has no more frames */
    char rec_path[APP_PATH_MAX];
    /* how a recording in place went when another output failed (its
     * failure, said by app_close_outputs) */
    char rec_note[APP_PATH_MAX + 512];
    int rec_w, rec_h;
    double rec_fps;
    uint8_t *rec_buf;
    long rec_frames;

    /* statistics */
    long frames, faces;
    /* pictures at most APP_CROP_SIDE on their shorter side without a face:
     * likely crops of a face already, which the face finder cannot see
     * (app_summary points at emotion-train predict); the first one's name */
    long small_faceless;
    char small_example[APP_PATH_MAX];
    int small_w, small_h;
    double t_start, t_end;
    double ms_sum[PIPELINE_N_STAGES];
    long hist[NN_MAX_CLASSES];
    pipeline_result last;           /* the latest frame's result */
    struct sreport_session *report; /* --report: the session so far (sreport.h) */
    person pers;              /* calibration, hints, heat maps, --blur (person.h) */
} app;

/* Set by SIGINT/SIGTERM/SIGHUP: the loops finish the frame, close the
 * outputs and exit normally, so recordings stay playable. */
extern volatile sig_atomic_t app_interrupted;

/* What app_setup and app_open_source give: ready to run, or the reason
 * not to, with a message in app_error() that the caller prints. */
typedef enum { APP_READY, APP_FAILED, APP_BAD_USAGE } app_status;

/* Load everything the options ask for. */
app_status app_setup(app *a, const opts *o);
void app_teardown(app *a); /* closes outputs (finishing the recording) and frees */

/* Open the source the options name (the demo clip when there is no camera
 * and no input, saying so on stderr). Skipped files are warned about on
 * stderr as they come. */
app_status app_open_source(app *a);

/* Start recording to path (checked for writability now; the file is
 * created with the next frame, at its size and the source's rate; images
 * too small for a video, under 2x2, are left out until one is large
 * enough, each with a warning; a video's or camera's frame that small is
 * an error).
 * Returns 0, or -1 with a message in app_error() (also when the input has
 * ended). */
int app_record_start(app *a, const char *path);
/* How app_record_stop went. */
typedef enum {
    APP_REC_SAVED,  /* finished (or nothing was recording) */
    APP_REC_EMPTY,  /* no frame came to record: nothing written (app_error() says so) */
    APP_REC_FAILED, /* the file is not playable (app_error() says why) */
} app_rec_status;
/* Finish the recording (playable afterwards, checked by reading it back). */
app_rec_status app_record_stop(app *a);
/* Close --log and any recording, one line each for a failure (or an empty
 * recording). A run whose --record never started (no image large enough)
 * fails with one line, and its log is not put in place. Returns 0 or
 * CLI_EXIT_FAIL. */
int app_close_outputs(app *a);
/* The source has no more frames: warns when a video stopped short of the
 * frame count its header states. */
void app_input_ended(app *a);

/* Run the pipeline on a frame, then record and log it; fills a->last and
 * the statistics. The first frame opens --log and --record, and once it
 * is in all of them (app.h: held) they replace what their names held.
 * Returns 0, or -1 with a message in app_error() (the outputs are closed
 * without another message, and removed when not yet in place; a recording
 * in place when another output failed is finished, and app_close_outputs
 * says if it failed). */
int app_step(app *a, const source_frame *f);

/* The summary at the end of a run, to f. */
void app_summary(const app *a, FILE *f);

/* Loops. Both return an exit code. */
int headless_run(app *a);
int ui_run(app *a);

#endif
