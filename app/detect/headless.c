/* headless.c - emotion-detect without a window: frames as fast as they
 * come, progress on stderr about once a second, a summary at the end. */
#include <stdio.h>
#include <unistd.h>

#include "app.h"
#include "app_err.h"
#include "cli.h"

int headless_run(app *a)
{
    char err[512];
    int tty = isatty(2);
    /* What 100% means: the file's length, or --max-frames when that comes
     * first or the input loops. */
    long total = a->o.loop ? -1 : source_frame_count(a->src);
    if (a->o.max_frames > 0 && (total <= 0 || a->o.max_frames < total))
        total = a->o.max_frames;
    double next_report = nn_now() + 1.0;
    int rc = CLI_EXIT_OK;
    a->t_start = nn_now();
    while (!app_interrupted && (a->o.max_frames == 0 || a->frames < a->o.max_frames)) {
        const source_frame *f;
        /* A short timeout keeps Ctrl-C responsive while a camera is slow. */
        source_status got = source_next(a->src, &f, 200);
        if (got == SOURCE_WAIT)
            continue;
        if (got == SOURCE_END) {
            app_input_ended(a);
            break;
        }
        if (got == SOURCE_ERROR) {
            cli_err("%s", source_message(a->src, err, sizeof err));
            rc = CLI_EXIT_FAIL;
            break;
        }
        if (app_step(a, f) != 0) {
            cli_err("%s", app_error());
            rc = CLI_EXIT_FAIL;
            break;
        }
        double now = nn_now();
        if (!a->o.quiet && now >= next_report) {
            double fps = a->frames / (now - a->t_start);
            if (total > 0)
                fprintf(stderr, "frame %ld/%ld (%.0f%%), %.1f frames/s, %d faces%s", a->frames,
                        total, 100.0 * a->frames / total, fps, a->last.n, tty ? "   \r" : "\n");
            else
                fprintf(stderr, "frame %ld, %.1f frames/s, %d faces%s", a->frames, fps,
                        a->last.n, tty ? "   \r" : "\n");
            next_report = now + 1.0;
        }
    }
    a->t_end = nn_now();
    if (!a->o.quiet && tty)
        fprintf(stderr, "%60s\r", "");
    if (app_interrupted)
        cli_err("interrupted; outputs closed");
    /* Outputs first: a failed one is the run's result, said once, and
     * the summary then claims only what was written. */
    if (app_close_outputs(a) != 0 && rc == CLI_EXIT_OK)
        rc = CLI_EXIT_FAIL;
    app_summary(a, stderr);
    return rc;
}
