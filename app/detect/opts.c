/* opts.c - command-line parsing for emotion-detect; see opts.h. */
#include "opts.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "app_err.h"
#include "face.h"
#include "pipeline.h"

/* The extensions --log and --record take (help and checks agree). */
static int has_ext(const char *path, const char *const *exts)
{
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash))
        return 0;
    for (; *exts; exts++)
        if (!strcasecmp(dot + 1, *exts))
            return 1;
    return 0;
}
static const char *const log_exts[] = {"jsonl", "json", "csv", NULL};

/* An existing device, pipe or socket: written in place, its name is not a
 * format. */
static int is_device(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode);
}
static const char *const record_exts[] = {"avi", "mkv", "mp4", NULL};

#ifndef ED_VERSION
#define ED_VERSION "0.0.0"
#endif

void opts_defaults(opts *o)
{
    memset(o, 0, sizeof *o);
    o->camera = 0;
    o->threads = 2;
    o->precision = -1; /* auto */
    /* The detector dominates the frame time. A frame shrunk to 320 wide,
     * with tracked faces followed in windows between full passes (README,
     * "Speed" and "Footage"). On the generated footage
     * (bench/detect_footage.py) step 1.2 with 3 neighbours and a full pass
     * every 8th frame find more faces than 1.1 with 5 every 4th (61.4%
     * against 52.3% in one run) at half the detector's cost; the second
     * look keeps the laxer count's extra hits off the screen, and the ROI
     * windows keep their own finer step. */
    o->scale_factor = 1.2;
    o->min_neighbors = 3;
    o->min_face = 0.075;
    o->detect_width = 320;
    o->detect_every = 8;
    o->prep = 0;           /* none: equalizing the frame loses faces (README) */
    o->still_min_face = 0.04;
    o->max_faces = 16;
    o->margin = -1; /* by detector kind, see face.h */
    o->smooth = 0.6f;
}

void opts_usage(FILE *f)
{
    fputs(
"usage: emotion-detect [options]\n"
"Detects faces and labels their emotions, live from a camera or from files.\n"
"\n"
"Source (default: camera 0, or the bundled demo clip when there is no camera):\n"
"  -c, --camera N          camera index\n"
"  -i, --input PATH        a video file, an image, or a folder of images;\n"
"                          each image is its own scene (detected alone, at\n"
"                          full size, no tracking or smoothing across\n"
"                          images); logs of images name each record's file;\n"
"                          in a video, a scene cut starts fresh tracks\n"
"\n"
"Outputs and modes:\n"
"      --headless          no window: process as fast as possible, progress on\n"
"                          stderr and a summary at the end\n"
"      --log OUT.jsonl     one record per frame (.jsonl, or .csv); - for JSON\n"
"                          lines on stdout, flushed each frame\n"
"      --record OUT.avi    the annotated video: .avi (MJPG) or .mkv (MPEG-4)\n"
"                          stay playable if the program is killed; .mp4\n"
"                          (MPEG-4) is playable only once recording ends\n"
"      --overwrite         let --log, --record and --report (and --out-dir's\n"
"                          files) replace files an earlier run made; without\n"
"                          it a name that holds a file is refused\n"
"      --kiosk             fullscreen, no cursor, survive camera trouble\n"
"      --mirror            start mirrored (key m toggles)\n"
"      --max-frames N      stop after N frames\n"
"      --loop              start a video or folder over at its end (demo\n"
"                          kiosks, soak tests); ends with q, Ctrl-C or\n"
"                          --max-frames\n"
"  -q, --quiet             headless: no progress lines\n"
"      --report DIR        the session report into DIR at the end: timeline.png,\n"
"                          faces.png, summary.json, summary.csv, index.html\n"
"      --from-log LOG      with --report: the report from a .jsonl log instead of\n"
"                          a run (faces re-read from the source the log names,\n"
"                          or from --input, refused when it is not the log's);\n"
"                          - reads the log from standard input\n"
"\n"
"Cameras:\n"
"      --list-cameras      list the video devices, their names and sizes\n"
"      --camera-size WxH   ask the camera for this frame size\n"
"      --camera-fps N      ask the camera for this frame rate\n"
"\n"
"Many videos (headless):\n"
"      --out-dir DIR       each input (the --input and any paths after the\n"
"                          options; a folder gives the videos in it) gets\n"
"                          DIR/NAME.jsonl and the report DIR/NAME/; --log csv\n"
"                          and --record avi|mkv|mp4 pick the formats\n"
"      --jobs N            videos processed at a time (default 1, with all\n"
"                          --threads; N at a time share them)\n"
"\n"
"Model and detection:\n"
"  -m, --model PATH        emotion model (default: the bundled model)\n"
"      --roll-model PATH   roll estimator for tilted heads, trained by\n"
"                          emotion-train train --target roll (default: the\n"
"                          bundled models/roll.model; without one, a face's\n"
"                          roll is the angle of the pass that found it)\n"
"      --cascade PATH      face detector XML (default: Haar frontal face)\n"
"      --threads N         threads for the model and the detector (default 2)\n"
"      --precision P       auto, fp32 or int8 (int8 needs a model calibrated by\n"
"                          emotion-train quantize; auto: int8 for such a model\n"
"                          where it runs faster here, else fp32) (default auto)\n"
"      --scale-factor F    video: full-frame detector pyramid step, 1.01 to 4\n"
"                          (default 1.2; images always 1.1)\n"
"      --min-neighbors N   video: detector strictness (default 3; images 5)\n"
"      --min-face F        smallest face, fraction of the frame's shorter side\n"
"                          (default 0.075; in video, faces under a quarter\n"
"                          of that side are looked for on a copy 4/3 of\n"
"                          --detect-width wide, on the first frame of a\n"
"                          scene and at least every 8 x --detect-every frames)\n"
"      --detect-width N    detect on a frame scaled to N pixels wide, 0 = full\n"
"                          size (default 320)\n"
"      --detect-every N    a full-frame detection at least every N frames of a\n"
"                          video (also on the first frame after a scene cut\n"
"                          and whenever a face is lost; every second frame\n"
"                          while none is followed);\n"
"                          in between, each face is looked for only in a\n"
"                          window around its last box, as is a followed\n"
"                          face that a full detection misses (default 8)\n"
"      --prep P            preparing the detection frame: none, equalize or\n"
"                          clahe (default none: equalizing loses faces)\n"
"      --still-min-face F  images (--input an image or a folder): smallest\n"
"                          face, fraction of the shorter side (default 0.04)\n"
"      --without LIST      turn stages off, for comparison: roi (reuse the\n"
"                          tracked boxes between full detections), cuts (no\n"
"                          scene-cut test), roll (no turned passes for tilted\n"
"                          heads), confirm (show a new face without a\n"
"                          second look; in video two of three looks must\n"
"                          find it: its window turned a little, OpenCV's\n"
"                          frontalface_alt cascade, an eye), small (no\n"
"                          finer pass for small faces), rollnet (no roll\n"
"                          estimator: a face's roll is its pass's angle);\n"
"                          comma-separated\n"
"      --max-faces N       faces classified per frame (default 16)\n"
"      --margin F          enlarge face boxes by F before classifying (default:\n"
"                          0 for Haar boxes, which frame faces as FER2013\n"
"                          does; 0.25 for the tighter LBP boxes)\n"
"      --smooth A          smoothing of probabilities over time, 0 = off,\n"
"                          up to 0.99 (default 0.6)\n"
"      --views V           how a face is shown to the model: 2 = the face and\n"
"                          its mirror, probabilities averaged (about a point\n"
"                          more accurate on photos, twice the model's work);\n"
"                          alternate = mirrored on every second frame of a\n"
"                          video, for the smoothing to average; 1 = the face\n"
"                          only; auto (default) = 2 for images, 1 for video\n"
"\n"
"For the person in front of the camera:\n"
"      --calibrate SECONDS personal neutral calibration at start: look neutral\n"
"                          for SECONDS, and your resting face reads neutral from\n"
"                          then on (key c does it at any time; not the model's\n"
"                          probability calibration, emotion-train calibrate);\n"
"                          for a camera or a video (ignored, with a warning,\n"
"                          for images: each is classified on its own)\n"
"      --blur              blur every face in the window and in recordings (the\n"
"                          log keeps the boxes and emotions)\n"
"      --idle SECONDS      after SECONDS without a face, an attract screen\n"
"                          (\"Step closer\") in the window until one appears\n"
"                          (default: never; not with --headless)\n"
"\n"
"  -h, --help              this text\n"
"  -V, --version           version\n"
"\n"
"Keys: q/Esc quit, f fullscreen, space pause, s screenshot, r record,\n"
"      d debug overlay, m mirror, g what the model looks at (heat map),\n"
"      c personal neutral calibration (again: clear it).\n"
"Exit status: 0 done, 1 a file, camera or model problem, 2 a usage error.\n",
          f);
}

static opts_status bad(FILE *err, const char *opt, const char *val, const char *why)
{
    fprintf(err, "emotion-detect: bad value '%s' for %s: %s (try --help)\n", val, opt, why);
    return OPTS_BAD_USAGE;
}

static opts_status parse_long(FILE *err, const char *opt, const char *s, long lo, long hi,
                              long *out)
{
    if (cli_parse_long(opt, s, lo, hi, out) != 0) {
        fprintf(err, "emotion-detect: %s (try --help)\n", app_error());
        return OPTS_BAD_USAGE;
    }
    return OPTS_RUN;
}

static opts_status parse_double(FILE *err, const char *opt, const char *s, double lo, double hi,
                               double *out)
{
    if (cli_parse_double(opt, s, lo, hi, out) != 0) {
        fprintf(err, "emotion-detect: %s (try --help)\n", app_error());
        return OPTS_BAD_USAGE;
    }
    return OPTS_RUN;
}

enum {
    O_HEADLESS = 256, O_LOG, O_RECORD, O_KIOSK, O_MIRROR, O_MAX_FRAMES, O_LOOP, O_CASCADE,
    O_THREADS, O_SCALE, O_NEIGHBORS, O_MIN_FACE, O_DETECT_WIDTH, O_DETECT_EVERY,
    O_MAX_FACES, O_MARGIN, O_SMOOTH, O_WITHOUT, O_PREP, O_STILL_MIN_FACE, O_PRECISION,
    O_REPORT, O_FROM_LOG, O_LIST_CAMERAS, O_CAMERA_SIZE, O_CAMERA_FPS, O_OUT_DIR, O_JOBS,
    O_CALIBRATE, O_BLUR, O_IDLE, O_ROLL_MODEL, O_VIEWS, O_OVERWRITE, O_END,
};

/* --without roi,cuts,roll,confirm,small,rollnet: stages of the detector turned off. */
static opts_status parse_without(FILE *err, const char *val, unsigned *out)
{
    static const struct {
        const char *name;
        unsigned bit;
    } stages[] = {{"roi", PIPELINE_NO_ROI}, {"cuts", PIPELINE_NO_CUTS},
                  {"roll", PIPELINE_NO_ROLL}, {"confirm", PIPELINE_NO_CONFIRM},
                  {"small", PIPELINE_NO_FINE}, {"rollnet", PIPELINE_NO_ROLLNET}};
    unsigned bits = 0;
    const char *s = val;
    while (*s) {
        size_t len = strcspn(s, ",");
        size_t i = 0;
        for (; i < sizeof stages / sizeof *stages; i++)
            if (len == strlen(stages[i].name) && !strncmp(s, stages[i].name, len))
                break;
        if (i == sizeof stages / sizeof *stages)
            return bad(err, "--without", val, "a list of roi, cuts, roll, confirm, small and rollnet");
        bits |= stages[i].bit;
        s += len + (s[len] == ',');
    }
    *out = bits;
    return OPTS_RUN;
}

/* --without, --prep, --views and --still-min-face. OPTS_RUN or
 * OPTS_BAD_USAGE. */
static opts_status set_detector_option(opts *o, int c, const char *val, FILE *err)
{
    double dv = 0;
    opts_status rc = OPTS_RUN;
    if (c == O_WITHOUT)
        return parse_without(err, val, &o->without);
    if (c == O_VIEWS) {
        static const struct { const char *name; pipeline_views v; } views[] = {
            {"auto", PIPELINE_VIEWS_AUTO}, {"1", PIPELINE_VIEWS_ONE},
            {"2", PIPELINE_VIEWS_BOTH}, {"alternate", PIPELINE_VIEWS_ALTERNATE}};
        for (size_t i = 0; i < sizeof views / sizeof *views; i++)
            if (!strcmp(val, views[i].name)) {
                o->views = (int)views[i].v;
                return OPTS_RUN;
            }
        return bad(err, "--views", val, "must be auto, 1, 2 or alternate");
    }
    if (c == O_STILL_MIN_FACE) {
        rc = parse_double(err, "--still-min-face", val, 0.0, 1.0, &dv);
        o->still_min_face = dv;
        return rc;
    }
    if (!strcmp(val, "none"))
        o->prep = PIPELINE_PREP_NONE;
    else if (!strcmp(val, "equalize"))
        o->prep = PIPELINE_PREP_EQUALIZE;
    else if (!strcmp(val, "clahe"))
        o->prep = PIPELINE_PREP_CLAHE;
    else
        return bad(err, "--prep", val, "must be none, equalize or clahe");
    return OPTS_RUN;
}

/* The options of issue 14 (reports, cameras, many videos) and issue 15
 * (the person in front of the camera) that take a value. OPTS_RUN or
 * OPTS_BAD_USAGE. */
static opts_status set_session_option(opts *o, int c, const char *val, FILE *err)
{
    long lv = 0;
    double dv = 0;
    opts_status rc = OPTS_RUN;
    switch (c) {
    case O_CAMERA_SIZE: {
        char *x = strchr(val, 'x'), *end;
        long cw = x ? strtol(val, &end, 10) : 0;
        long ch = x && end == x ? strtol(x + 1, &end, 10) : 0;
        if (!x || *end || !isdigit((unsigned char)val[0]) || !isdigit((unsigned char)x[1]))
            rc = bad(err, "--camera-size", val, "must be WIDTHxHEIGHT, e.g. 1280x720");
        else if (cw < 16 || ch < 16 || cw > 16384 || ch > 16384)
            rc = bad(err, "--camera-size", val, "width and height must be between 16 and 16384");
        o->cam_w = (int)cw;
        o->cam_h = (int)ch;
        break;
    }
    case O_CAMERA_FPS:
        rc = parse_double(err, "--camera-fps", val, 0.0, 1000.0, &dv);
        if (rc == 0 && dv <= 0.0)
            rc = bad(err, "--camera-fps", val, "must be above 0");
        o->cam_fps = dv;
        break;
    case O_JOBS:
        rc = parse_long(err, "--jobs", val, 1, 64, &lv);
        o->jobs = (int)lv;
        break;
    case O_CALIBRATE:
        rc = parse_double(err, "--calibrate", val, 0.5, 60.0, &dv);
        o->calibrate_s = dv;
        break;
    case O_IDLE:
        rc = parse_double(err, "--idle", val, 0.0, 86400.0, &dv);
        if (rc == 0 && dv <= 0.0)
            rc = bad(err, "--idle", val, "must be above 0 seconds");
        o->idle_s = dv;
        break;
    default:
        break;
    }
    return rc;
}

static const struct option longopts[] = {
    {"camera", required_argument, 0, 'c'},
    {"input", required_argument, 0, 'i'},
    {"model", required_argument, 0, 'm'},
    {"roll-model", required_argument, 0, O_ROLL_MODEL},
    {"help", no_argument, 0, 'h'},
    {"version", no_argument, 0, 'V'},
    {"quiet", no_argument, 0, 'q'},
    {"headless", no_argument, 0, O_HEADLESS},
    {"log", required_argument, 0, O_LOG},
    {"record", required_argument, 0, O_RECORD},
    {"kiosk", no_argument, 0, O_KIOSK},
    {"mirror", no_argument, 0, O_MIRROR},
    {"max-frames", required_argument, 0, O_MAX_FRAMES},
    {"loop", no_argument, 0, O_LOOP},
    {"cascade", required_argument, 0, O_CASCADE},
    {"threads", required_argument, 0, O_THREADS},
    {"scale-factor", required_argument, 0, O_SCALE},
    {"min-neighbors", required_argument, 0, O_NEIGHBORS},
    {"min-face", required_argument, 0, O_MIN_FACE},
    {"detect-width", required_argument, 0, O_DETECT_WIDTH},
    {"detect-every", required_argument, 0, O_DETECT_EVERY},
    {"max-faces", required_argument, 0, O_MAX_FACES},
    {"margin", required_argument, 0, O_MARGIN},
    {"smooth", required_argument, 0, O_SMOOTH},
    {"without", required_argument, 0, O_WITHOUT},
    {"prep", required_argument, 0, O_PREP},
    {"views", required_argument, 0, O_VIEWS},
    {"still-min-face", required_argument, 0, O_STILL_MIN_FACE},
    {"precision", required_argument, 0, O_PRECISION},
    {"report", required_argument, 0, O_REPORT},
    {"from-log", required_argument, 0, O_FROM_LOG},
    {"list-cameras", no_argument, 0, O_LIST_CAMERAS},
    {"camera-size", required_argument, 0, O_CAMERA_SIZE},
    {"camera-fps", required_argument, 0, O_CAMERA_FPS},
    {"out-dir", required_argument, 0, O_OUT_DIR},
    {"jobs", required_argument, 0, O_JOBS},
    {"calibrate", required_argument, 0, O_CALIBRATE},
    {"blur", no_argument, 0, O_BLUR},
    {"idle", required_argument, 0, O_IDLE},
    {"overwrite", no_argument, 0, O_OVERWRITE},
    {0, 0, 0, 0},
};

/* The combinations of the options of issue 14 (reports, cameras, many
 * videos). With --out-dir, --log and --record name formats, not files:
 * they move to batch_log_ext and batch_record_ext. Returns OPTS_RUN to go
 * on, or OPTS_BAD_USAGE after one line. */
static opts_status opts_check_more(opts *o, FILE *err)
{
    const char *why = NULL;
    int camera_mode = o->cam_w > 0 || o->cam_fps > 0;
    if (o->list_cameras && (o->input || o->from_log || o->out_dir || o->report_dir))
        why = "--list-cameras lists and exits; it takes no input or output";
    else if (o->from_log && !o->report_dir)
        why = "--from-log needs --report DIR (the report it makes)";
    else if (o->from_log && (o->camera_given || o->log_path || o->record_path || o->out_dir ||
                             camera_mode || o->loop || o->n_more_inputs))
        why = "--from-log reads a log and runs no detection: give it only --report and "
              "optionally --input (the video to take the faces from)";
    else if (camera_mode && (o->input || o->out_dir))
        why = "--camera-size and --camera-fps are for a camera; they exclude --input";
    else if (o->jobs && !o->out_dir)
        why = "--jobs needs --out-dir (it runs several videos at a time)";
    else if (o->out_dir && !o->input && !o->n_more_inputs)
        why = "--out-dir needs inputs: --input PATH and any paths after the options";
    else if (o->out_dir && (o->report_dir || o->loop || o->camera_given || o->kiosk))
        why = "--out-dir writes each video's report itself, and excludes --report, --loop, "
              "--camera and --kiosk";
    if (why) {
        fprintf(err, "emotion-detect: %s (try --help)\n", why);
        return OPTS_BAD_USAGE;
    }
    if (!o->out_dir)
        return OPTS_RUN;
    o->headless = 1;
    if (!o->jobs)
        o->jobs = 1;
    o->batch_log_ext = "jsonl";
    if (o->log_path) {
        if (strcmp(o->log_path, "jsonl") && strcmp(o->log_path, "csv")) {
            fprintf(err, "emotion-detect: with --out-dir, --log takes a format, jsonl or csv, "
                    "not '%s' (try --help)\n", o->log_path);
            return OPTS_BAD_USAGE;
        }
        o->batch_log_ext = o->log_path;
        o->log_path = NULL;
    }
    if (o->record_path) {
        if (strcmp(o->record_path, "avi") && strcmp(o->record_path, "mkv") &&
            strcmp(o->record_path, "mp4")) {
            fprintf(err, "emotion-detect: with --out-dir, --record takes a format, avi, mkv "
                    "or mp4, not '%s' (try --help)\n", o->record_path);
            return OPTS_BAD_USAGE;
        }
        o->batch_record_ext = o->record_path;
        o->record_path = NULL;
    }
    return OPTS_RUN;
}

/* Options that cannot work together, or values that cannot work at all.
 * Returns OPTS_RUN when all is well, or OPTS_BAD_USAGE after one line to err. */
static opts_status check_together(opts *o, int argc, char **argv, FILE *err)
{
    if (optind < argc && !o->out_dir) {
        fprintf(err, "emotion-detect: unexpected argument '%s' (several inputs need --out-dir; "
                "try --help)\n", argv[optind]);
        return OPTS_BAD_USAGE;
    }
    o->more_inputs = argv + optind;
    o->n_more_inputs = argc - optind;
    opts_status rc = opts_check_more(o, err);
    if (rc != OPTS_RUN)
        return rc;
    if (o->input && !*o->input) {
        fprintf(err, "emotion-detect: --input needs a path (try --help)\n");
        return OPTS_BAD_USAGE;
    }
    if (o->input && o->camera_given) {
        fprintf(err, "emotion-detect: --input and --camera exclude each other\n");
        return OPTS_BAD_USAGE;
    }
    if (o->loop && !o->input) {
        fprintf(err, "emotion-detect: --loop needs --input (a camera has no end)\n");
        return OPTS_BAD_USAGE;
    }
    if (o->mirror && o->headless) {
        fprintf(err, "emotion-detect: --mirror flips the window; it excludes --headless\n");
        return OPTS_BAD_USAGE;
    }
    /* "-": JSON lines on standard output, for a program reading them live;
     * a device or pipe (/dev/null, a fifo) whatever its name: JSON lines
     * unless it ends in .csv. */
    if (o->log_path && strcmp(o->log_path, "-") && !has_ext(o->log_path, log_exts) &&
        !is_device(o->log_path)) {
        fprintf(err, "emotion-detect: --log '%s': use a .jsonl or .csv name (try --help)\n",
                o->log_path);
        return OPTS_BAD_USAGE;
    }
    if (o->record_path && !has_ext(o->record_path, record_exts)) {
        fprintf(err, "emotion-detect: --record '%s': use a .avi, .mkv or .mp4 name (try --help)\n",
                o->record_path);
        return OPTS_BAD_USAGE;
    }
    if (o->kiosk && o->headless) {
        fprintf(err, "emotion-detect: --kiosk needs a window; it excludes --headless\n");
        return OPTS_BAD_USAGE;
    }
    /* The attract screen is drawn in the window only (not recorded): taken
     * headless it did nothing, without a word. */
    if (o->idle_s > 0 && o->headless) {
        fprintf(err, "emotion-detect: --idle shows an attract screen in the window; it excludes "
                     "--headless%s\n", o->out_dir ? " (--out-dir runs headless)" : "");
        return OPTS_BAD_USAGE;
    }
    return OPTS_RUN;
}

/* Each option once: the last would win silently; say so instead. Returns
 * 1 after one line to err when c was seen before, and marks it seen. */
static int given_twice(unsigned char *seen, int c, const char *name, FILE *err)
{
    if (c <= 0 || c >= O_END || c == 'h' || c == 'V' || c == ':' || c == '?')
        return 0;
    if (!seen[c]) {
        seen[c] = 1;
        return 0;
    }
    for (int j = 0; longopts[j].name; j++)
        if (longopts[j].val == c)
            name = longopts[j].name;
    fprintf(err, "emotion-detect: option --%s given twice (try --help)\n", name);
    return 1;
}

/* Each option is taken once, so o->given has room for all. */
_Static_assert(sizeof longopts / sizeof *longopts <= OPTS_MAX_GIVEN, "opts.given too small");

/* Option c, just read by getopt, into o->given under its long name. */
static void record_given(opts *o, int c)
{
    for (int j = 0; longopts[j].name; j++)
        if (longopts[j].val == c && o->n_given < OPTS_MAX_GIVEN) {
            o->given[o->n_given].name = longopts[j].name;
            o->given[o->n_given++].value = longopts[j].has_arg == no_argument ? NULL : optarg;
            return;
        }
}

/* getopt's ':' (a value missing) or '?' (an unknown option), said in one line. */
static opts_status not_an_option(int c, const char *name, FILE *err)
{
    if (c == ':')
        fprintf(err, "emotion-detect: option %s needs a value (try --help)\n", name);
    else if (optopt && optopt < 256)
        fprintf(err, "emotion-detect: unknown option '-%c' (try --help)\n", optopt);
    else
        fprintf(err, "emotion-detect: unknown option '%s' (try --help)\n", name);
    return OPTS_BAD_USAGE;
}

opts_status opts_parse(opts *o, int argc, char **argv, FILE *out, FILE *err)
{
    unsigned char seen[O_END] = {0}; /* each option once */
    o->n_given = 0;
    opterr = 0; /* our own one-line messages */
    optind = 0; /* 0, not 1: makes glibc reset its state fully (tests parse twice) */
    for (;;) {
        int idx = 0;
        int c = getopt_long(argc, argv, ":c:i:m:hVq", longopts, &idx);
        if (c == -1)
            break;
        long lv = 0;
        double dv = 0;
        opts_status rc = OPTS_RUN;
        const char *name = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
        if (given_twice(seen, c, name, err))
            return OPTS_BAD_USAGE;
        switch (c) {
        case 'c':
            rc = parse_long(err, "--camera", optarg, 0, 63, &lv);
            o->camera = (int)lv;
            o->camera_given = 1;
            break;
        case 'i': o->input = optarg; break;
        case 'm': o->model = optarg; break;
        case O_ROLL_MODEL: o->roll_model = optarg; break;
        case 'h': opts_usage(out); return OPTS_EXIT_OK;
        case 'V':
            fprintf(out, "emotion-detect %s\n", ED_VERSION);
            return OPTS_EXIT_OK;
        case 'q': o->quiet = 1; break;
        case O_HEADLESS: o->headless = 1; break;
        case O_LOG: o->log_path = optarg; break;
        case O_RECORD: o->record_path = optarg; break;
        case O_KIOSK: o->kiosk = 1; break;
        case O_LOOP: o->loop = 1; break;
        case O_MIRROR: o->mirror = 1; break;
        case O_CASCADE: o->cascade = optarg; break;
        case O_MAX_FRAMES:
            rc = parse_long(err, "--max-frames", optarg, 1, 1000000000L, &lv);
            o->max_frames = lv;
            break;
        case O_THREADS:
            rc = parse_long(err, "--threads", optarg, 1, 256, &lv);
            o->threads = (int)lv;
            break;
        case O_PRECISION:
            if (!strcmp(optarg, "auto"))
                o->precision = -1;
            else if (!strcmp(optarg, "fp32"))
                o->precision = 0;
            else if (!strcmp(optarg, "int8"))
                o->precision = 2;
            else
                rc = bad(err, "--precision", optarg, "must be auto, fp32 or int8");
            break;
        case O_SCALE:
            /* Steps closer to 1 multiply the detector's work many times over
             * (1.0001: about 20 s a frame) for no better faces. */
            rc = parse_double(err, "--scale-factor", optarg, 1.01, 4.0, &dv);
            o->scale_factor = dv;
            break;
        case O_NEIGHBORS:
            rc = parse_long(err, "--min-neighbors", optarg, 0, 100, &lv);
            o->min_neighbors = (int)lv;
            break;
        case O_MIN_FACE:
            rc = parse_double(err, "--min-face", optarg, 0.0, 1.0, &dv);
            o->min_face = dv;
            break;
        case O_DETECT_WIDTH:
            rc = parse_long(err, "--detect-width", optarg, 0, 8192, &lv);
            if (!rc && lv > 0 && lv < 64)
                rc = bad(err, "--detect-width", optarg, "must be 0 or at least 64");
            o->detect_width = (int)lv;
            break;
        case O_DETECT_EVERY:
            rc = parse_long(err, "--detect-every", optarg, 1, 1000, &lv);
            o->detect_every = (int)lv;
            break;
        case O_MAX_FACES:
            rc = parse_long(err, "--max-faces", optarg, 1, 32, &lv);
            o->max_faces = (int)lv;
            break;
        case O_MARGIN:
            rc = parse_double(err, "--margin", optarg, 0.0, 2.0, &dv);
            o->margin = (float)dv;
            break;
        case O_WITHOUT:
        case O_PREP:
        case O_VIEWS:
        case O_STILL_MIN_FACE:
            rc = set_detector_option(o, c, optarg, err);
            break;
        case O_SMOOTH:
            rc = parse_double(err, "--smooth", optarg, 0.0, 0.99, &dv);
            o->smooth = (float)dv;
            break;
        case O_REPORT: o->report_dir = optarg; break;
        case O_FROM_LOG: o->from_log = optarg; break;
        case O_LIST_CAMERAS: o->list_cameras = 1; break;
        case O_CAMERA_SIZE:
        case O_CAMERA_FPS:
        case O_JOBS:
        case O_CALIBRATE:
        case O_IDLE:
            rc = set_session_option(o, c, optarg, err);
            break;
        case O_OUT_DIR: o->out_dir = optarg; break;
        case O_BLUR: o->blur = 1; break;
        case O_OVERWRITE: o->overwrite = 1; break;
        default:
            return not_an_option(c, name, err);
        }
        if (rc)
            return rc;
        record_given(o, c);
    }
    return check_together(o, argc, argv, err);
}
