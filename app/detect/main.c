/*
 * emotion-detect - live facial-emotion detection: faces found with a Haar
 * cascade, each classified by the CNN engine, shown in an SDL2 window with
 * boxes and probability bars, or processed headless into logs and videos.
 * See --help; app.h has the structure.
 */
#include <signal.h>
#include <string.h>

#include "app.h"
#include "app_err.h"
#include "cli.h"
#include "devtools.h"

/* --from-log -: the log comes down a pipe from a run that the same Ctrl-C
 * stops; the read is restarted rather than failed with EINTR, to the end
 * the stopped run writes, and the report is made (it was "cannot read
 * 'standard input': Interrupted system call", no report). A second
 * signal ends it. */
static volatile sig_atomic_t reading_stdin_log;

static void on_signal(int sig)
{
    if (app_interrupted && reading_stdin_log) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    app_interrupted = 1;
}

int main(int argc, char **argv)
{
    cli_prog = "emotion-detect";
    opts o;
    opts_defaults(&o);
    opts_status ost = opts_parse(&o, argc, argv, stdout, stderr);
    if (ost != OPTS_RUN)
        return ost == OPTS_EXIT_OK ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    int rc;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (o.from_log && !strcmp(o.from_log, "-")) {
        reading_stdin_log = 1;
        sa.sa_flags = SA_RESTART;
    }
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* A closed terminal or a dropped ssh session: stop as for Ctrl-C, so
     * the recording is finished (an .mp4 is unplayable without its end)
     * and the report written, rather than die mid-file. Under nohup
     * (SIGHUP ignored) the run goes on, as asked. */
    struct sigaction old;
    if (sigaction(SIGHUP, NULL, &old) == 0 && old.sa_handler != SIG_IGN)
        sigaction(SIGHUP, &sa, NULL);
    /* A closed --log - pipe is an EPIPE from the write, handled there. */
    signal(SIGPIPE, SIG_IGN);

    /* Commands that run no live session (devtools.h). */
    if (o.list_cameras)
        return cameras_list("/dev", stdout);
    if (o.from_log)
        return report_cmd_from_log(&o);
    if (o.out_dir)
        return batch_run(&o, "/proc/self/exe");
    if ((rc = report_cmd_check(&o)) != 0)
        return rc;
    source_camera_mode(o.cam_w, o.cam_h, o.cam_fps);

    static app a; /* large: keep it off the stack */
    app_status st = app_setup(&a, &o);
    if (st == APP_READY)
        st = app_open_source(&a);
    if (st == APP_READY && (o.cam_w > 0 || o.cam_fps > 0))
        cameras_granted(&a);
    /* Like the hints, not for stills (person.h); said, as it was asked for. */
    if (st == APP_READY && o.calibrate_s > 0 && person_stills(&a))
        cli_err("warning: --calibrate ignored: '%s' is %s, each classified on its own (the "
                "calibration is for one person followed by a camera or through a video)",
                a.input, source_kind_of(a.src) == SOURCE_FOLDER ? "a folder of images" : "an image");
    if (st == APP_READY) {
        /* report_cmd_begin prints its own line when it fails */
        rc = report_cmd_begin(&a) != 0 ? CLI_EXIT_FAIL : o.headless ? headless_run(&a) : ui_run(&a);
    } else {
        cli_err("%s", app_error());
        rc = st == APP_BAD_USAGE ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
    }
    rc = report_cmd_end(&a, rc);
    app_teardown(&a);
    return rc;
}
