/* test_detect_inputs.c - emotion-detect end to end on inputs new users
 * brought that were taken without a word and came out wrong: a video at a
 * high frame rate (its frame times), and one whose container reports no
 * usable rate (the guess said once).
 * Usage: test_detect_inputs PATH/TO/emotion-detect */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect_model.h"
#include "facegen.h"
#include "runprog.h"
#include "testutil.h"

static const char *exe, *dir;
static char model[4200], out[4200], err[4200];

/* The t_ms of frame `frame` in a JSON log, or -1. */
static double log_t_ms(const char *log, long frame)
{
    char *text = rp_slurp(log), want[64];
    double t = -1;
    snprintf(want, sizeof want, "{\"frame\":%ld,", frame);
    for (char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        char *tm = strstr(l, "\"t_ms\":");
        if (!strncmp(l, want, strlen(want)) && tm)
            t = atof(tm + 7);
    }
    free(text);
    return t;
}

/* Occurrences of needle in hay. */
static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; p && (p = strstr(p, needle)); p++)
        n++;
    return n;
}

/* A 1000 frames/s video is timed at 1000 frames/s (it was read as 25, so
 * frame 5 was at 200 ms); a rate no video has is replaced by 25, and the
 * run says so once. */
static void test_frame_rates(void)
{
    const struct { double fps; double t5; int warned; } cases[] = {
        {1000, 5.0, 0},
        {240, 5000.0 / 240, 0},
        {2e6, 200.0, 1}, /* past CVW_FPS_MAX */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char vid[4300], log[4300];
        snprintf(vid, sizeof vid, "%s/rate%zu.avi", dir, i);
        snprintf(log, sizeof log, "%s/rate%zu.jsonl", dir, i);
        CHECK(fg_write_raw_avi(vid, 64, 48, 8, cases[i].fps) == 0);
        char *e = NULL;
        int rc = rp_run_args(exe, out, err, 60, &e, "--headless", "-q", "--input", vid,
                             "--model", model, "--log", log, NULL);
        CHECK_MSG(rc == 0, "%g frames/s: exit %d: %s", cases[i].fps, rc, e ? e : "");
        double t5 = log_t_ms(log, 5);
        CHECK_MSG(t5 >= 0 && t5 - cases[i].t5 < 0.051 && cases[i].t5 - t5 < 0.051,
                  "%g frames/s: frame 5 at %.1f ms, want %.1f", cases[i].fps, t5, cases[i].t5);
        int said = count(e, "frames/s, which cannot be its rate");
        CHECK_MSG(said == cases[i].warned && (!said || strstr(e, "assume 25 frames/s")),
                  "%g frames/s: the fallback said %d times: %s", cases[i].fps, said, e ? e : "");
        free(e);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_detect_inputs EMOTION_DETECT\n");
        return 2;
    }
    exe = argv[1];
    static char tmp[4096];
    dir = rp_tmpdir(tmp, sizeof tmp, "detect-inputs");
    CHECK(dir != NULL);
    if (!dir)
        return test_done("test_detect_inputs");
    snprintf(model, sizeof model, "%s/test.model", dir);
    snprintf(out, sizeof out, "%s/out.txt", dir);
    snprintf(err, sizeof err, "%s/err.txt", dir);
    CHECK(make_test_model(model) == 0);
    test_frame_rates();
    int rc = test_done("test_detect_inputs");
    if (rc == 0)
        rp_rmdir(dir);
    return rc;
}
