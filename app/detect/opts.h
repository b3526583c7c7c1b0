/*
 * opts.h - emotion-detect's command line.
 */
#ifndef ED_OPTS_H
#define ED_OPTS_H

#include <stdio.h>

#include "cli.h" /* exit codes */

/* Options opts_parse can record (each is taken once; there are fewer). */
#define OPTS_MAX_GIVEN 64

typedef struct opts {
    const char *input;   /* video, image or folder; NULL = camera */
    int camera;          /* camera index */
    int camera_given;    /* --camera was on the command line */
    const char *model;   /* NULL = the default model */
    const char *roll_model; /* NULL = models/roll.model when there is one */
    const char *cascade; /* NULL = the default Haar cascade */
    const char *log_path;
    const char *record_path;
    int overwrite;       /* --log and --record may replace an existing file */
    int headless;
    int kiosk;
    int mirror;
    long max_frames;     /* 0 = all */
    int loop;            /* start a file or folder over at its end */
    int threads;         /* engine and detector threads */
    int precision;       /* nn_precision of the model: 0 FP32, 2 INT8; -1 auto */
    /* detection */
    double scale_factor;
    int min_neighbors;
    double min_face;     /* smallest face side, fraction of the frame's shorter side */
    int detect_width;    /* detect on a frame this wide (0 = full size) */
    int detect_every;    /* full-frame detection at least every Nth frame */
    unsigned without;    /* stages turned off: PIPELINE_NO_* */
    int prep;            /* pipeline_prep of the detection copy */
    double still_min_face; /* images: smallest face, fraction of the shorter side */
    int max_faces;
    /* classification */
    float margin;        /* crop margin, see face.h; < 0 = by detector kind */
    float smooth;        /* EMA alpha, 0 = off */
    int views;           /* pipeline_views: a face, its mirror, both */
    int quiet;           /* headless: no progress lines */
    /* for people who build on it (issue 14) */
    const char *report_dir;  /* --report DIR: the session report (sreport.h) */
    const char *from_log;    /* --from-log LOG: the report from a log, no detection */
    int list_cameras;        /* --list-cameras */
    int cam_w, cam_h;        /* --camera-size WxH; 0 = the camera's default */
    double cam_fps;          /* --camera-fps N; 0 = the camera's default */
    const char *out_dir;     /* --out-dir DIR: one log and report per video (batch.h) */
    int jobs;                /* --jobs N: videos at a time (batch) */
    const char *batch_log_ext;    /* with --out-dir: "jsonl" or "csv" */
    const char *batch_record_ext; /* with --out-dir: "avi", "mkv", "mp4" or NULL */
    char **more_inputs;      /* inputs after the options (into argv) */
    int n_more_inputs;
    /* Every option as getopt read it, in order: its full long name (an
     * abbreviation spelled out, -i as "input") and its value (NULL for a
     * flag), pointing into argv and the option table. --out-dir's children
     * are given these, not the command line's text (batch.c). */
    struct opts_given {
        const char *name, *value;
    } given[OPTS_MAX_GIVEN];
    int n_given;
    /* for the person in front of the camera (person.h) */
    double calibrate_s;  /* personal neutral calibration at start, seconds (0 = none) */
    int blur;            /* blur every face in the window and recordings */
    double idle_s;       /* kiosk attract screen after this long without a face (0 = never) */
} opts;

void opts_defaults(opts *o);

/* What opts_parse found: options to run with, --help or --version done
 * (exit CLI_EXIT_OK), or a usage error (exit CLI_EXIT_USAGE). */
typedef enum { OPTS_RUN, OPTS_EXIT_OK, OPTS_BAD_USAGE } opts_status;

/* Parse argv. OPTS_EXIT_OK after printing --help or --version to out,
 * OPTS_BAD_USAGE after printing one line naming the problem to err. */
opts_status opts_parse(opts *o, int argc, char **argv, FILE *out, FILE *err);

void opts_usage(FILE *f);

#endif
