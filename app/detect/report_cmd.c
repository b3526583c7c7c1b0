/* report_cmd.c - the session report tied to emotion-detect's runs: checks
 * before the start, collection during the run (app_step feeds a->report),
 * writing at the end, and --from-log; see devtools.h and sreport.h. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "app_err.h"
#include "cli.h"
#include "devtools.h"
#include "paths.h"
#include "sreport.h"

const char *report_cmd_model_name(const opts *o)
{
    return o->model ? o->model : paths_default_model();
}

const char *report_cmd_source_name(const app *a, char *buf, size_t len)
{
    if (a->input[0])
        snprintf(buf, len, "%s", a->input);
    else
        snprintf(buf, len, "camera %d", a->o.camera);
    return buf;
}

int report_cmd_refuse_existing(const char *opt, const char *dir)
{
    char files[SREPORT_N_FILES][4200];
    sreport_paths(dir, files);
    for (int i = 0; i < SREPORT_N_FILES; i++)
        if (outpath_refuse_existing(opt, files[i]) != 0)
            return -1;
    return 0;
}

/* The report's files may not be any input or other output; the folder
 * must be writable; an earlier report in it is kept unless --overwrite.
 * 0 to go on, or the exit code after one line. */
static int check(const opts *o, const char *input, const char *model)
{
    char files[SREPORT_N_FILES][4200];
    sreport_paths(o->report_dir, files);
    outpath_path p[16] = {
        {"--input", input, OUTPATH_INPUT}, {"--model", model, OUTPATH_INPUT},
        {"--cascade", o->cascade, OUTPATH_INPUT}, {"--from-log", o->from_log, OUTPATH_INPUT},
        {"--log", o->log_path && strcmp(o->log_path, "-") ? o->log_path : NULL, OUTPATH_FILE},
        {"--record", o->record_path, OUTPATH_FILE},
    };
    int n = 6;
    for (int i = 0; i < SREPORT_N_FILES; i++)
        p[n++] = (outpath_path){"--report", files[i], OUTPATH_FILE_MKDIRS};
    p[n++] = (outpath_path){"--report", o->report_dir, OUTPATH_FOLDER};
    int rc = outpath_check_outputs(p, n);
    if (rc == 0 && !o->overwrite && report_cmd_refuse_existing("--report", o->report_dir) != 0) {
        cli_err("%s", app_error());
        rc = CLI_EXIT_USAGE;
    }
    return rc;
}

int report_cmd_check(const opts *o)
{
    if (!o->report_dir)
        return 0;
    return check(o, o->input, report_cmd_model_name(o));
}

int report_cmd_begin(app *a)
{
    if (!a->o.report_dir)
        return 0;
    a->report = sreport_new(a->names, a->k);
    if (!a->report) {
        cli_err("--report: %s", app_error());
        return CLI_EXIT_FAIL;
    }
    char src[APP_PATH_MAX + 32];
    sreport_set_info(a->report, report_cmd_source_name(a, src, sizeof src), report_cmd_model_name(&a->o));
    return 0;
}

int report_cmd_end(app *a, int rc)
{
    if (!a->report)
        return rc;
    if (sreport_frames(a->report) == 0) {
        cli_err("--report '%s': no frames came; nothing written", a->o.report_dir);
    } else if (sreport_write(a->report, a->o.report_dir) != 0) {
        cli_err("--report: %s", app_error());
        rc = CLI_EXIT_FAIL;
    } else {
        cli_err("report of %ld %s, %d faces tracked: %s/index.html", sreport_frames(a->report),
                sreport_stills(a->report) ? "pictures" : "frames", sreport_n_tracks(a->report),
                a->o.report_dir);
    }
    sreport_free(a->report);
    a->report = NULL;
    return rc;
}

/* The last component of a path. */
static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* --input given beside a log that names its source: refused (exit 2,
 * after one line) when that source is still there and --input is another
 * file of another name, which cannot be the log's input moved; 0 to go
 * on (sreport_fetch_faces then compares what the log holds with it). */
static int other_input(const opts *o, const char *logged)
{
    struct stat a, b;
    if (!o->input || !logged || !*logged || stat(logged, &a) != 0 || stat(o->input, &b) != 0 ||
        (a.st_dev == b.st_dev && a.st_ino == b.st_ino) ||
        !strcmp(base_name(logged), base_name(o->input)))
        return 0;
    cli_err("--input '%s' is not the input of the log '%s': it names '%s', which is still "
            "there (leave --input out to take the faces from it)", o->input, o->from_log, logged);
    return CLI_EXIT_USAGE;
}

int report_cmd_from_log(const opts *o)
{
    int rc = check(o, o->input, NULL);
    if (rc != 0)
        return rc;
    sreport_session *s = sreport_read_log(o->from_log);
    if (!s) {
        cli_err("--from-log %s", app_error());
        return CLI_EXIT_FAIL;
    }
    /* The faces come from the video the log was made from: --input, or
     * the source its first record names when that file is still there. */
    const char *logged = sreport_source(s);
    const char *video = o->input ? o->input : logged;
    char note[APP_PATH_MAX + 600];
    struct stat st;
    note[0] = 0;
    if ((rc = other_input(o, logged)) != 0) {
        sreport_free(s);
        return rc;
    }
    if (!video || !*video) {
        snprintf(note, sizeof note, "No faces.png: the log does not name its source (an older "
                 "log); give the video with --input to add it.");
    } else if (stat(video, &st) != 0) {
        snprintf(note, sizeof note, "No faces.png: the source '%s' cannot be read again (a "
                 "camera, or a file moved); give the video with --input to add it.", video);
    } else {
        int got = sreport_fetch_faces(s, video);
        if (got == SREPORT_NOT_THE_SOURCE && o->input) {
            /* A report with another video's faces under this log's
             * figures would be wrong without a word: refused. */
            cli_err("--input '%s' is not the input of the log '%s': %s (give the file the log "
                    "was made from%s)", o->input, o->from_log, app_error(),
                    logged && *logged ? ", or leave --input out" : "");
            sreport_free(s);
            return CLI_EXIT_USAGE;
        }
        if (got == SREPORT_NOT_THE_SOURCE)
            snprintf(note, sizeof note, "No faces.png: '%s' is no longer what the log was made "
                     "from: %s; give that video with --input to add it.", video, app_error());
        else if (got < 0)
            snprintf(note, sizeof note, "No faces.png: %s", app_error());
        else if (got == 0 && sreport_n_tracks(s) > 0)
            snprintf(note, sizeof note, "No faces.png: none of the faces' frames is in '%s' "
                     "(another file, or a looped run).", video);
        else if (got < sreport_n_tracks(s))
            snprintf(note, sizeof note, "faces.png shows %d of the %d faces: the others' frames "
                     "are not in '%s' (another file, or a looped run).", got, sreport_n_tracks(s), video);
        if (got >= 0 && o->input && logged && *logged && stat(logged, &st) != 0 &&
            strcmp(base_name(logged), base_name(o->input)))
            cli_err("note: faces.png takes its faces from --input '%s'; the log names '%s' "
                    "(gone), and its frames agree with the log's", o->input, logged);
    }
    if (sreport_cut_line(s)) {
        /* a killed run's last line: said, as the report has one frame less */
        size_t used = strlen(note);
        snprintf(note + used, sizeof note - used, "%sThe log's last line (%ld) is cut short (the "
                 "run was stopped while writing it): left out.", used ? " " : "",
                 sreport_cut_line(s));
    }
    if (note[0]) {
        sreport_set_note(s, note);
        cli_err("%s", note);
    }
    if (sreport_write(s, o->report_dir) != 0) {
        cli_err("--report: %s", app_error());
        rc = CLI_EXIT_FAIL;
    } else {
        cli_err("report of %ld %s, %d faces tracked: %s/index.html", sreport_frames(s),
                sreport_stills(s) ? "pictures" : "frames", sreport_n_tracks(s), o->report_dir);
        rc = CLI_EXIT_OK;
    }
    sreport_free(s);
    return rc;
}
