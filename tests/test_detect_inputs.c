/* test_detect_inputs.c - emotion-detect end to end on inputs new users
 * brought that were taken without a word and came out wrong: a video at a
 * high frame rate (its frame times), and one whose container reports no
 * usable rate (the guess said once); pictures whose names are not UTF-8
 * (the log stays valid JSON, --from-log still takes the folder); a report
 * on pictures (a count of pictures, not a made-up duration); pictures too
 * small for a face to be found (a note pointing at emotion-train predict).
 * Usage: test_detect_inputs PATH/TO/emotion-detect */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect_model.h"
#include "facegen.h"
#include "jsonw.h"
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

/* A folder of the test picture under names in Latin-1 and plain bytes:
 * the log and the report's JSON are valid UTF-8 (each bad byte U+FFFD),
 * and a report from the log finds the pictures again in the folder (it
 * compared the log's names with the raw ones and refused the folder). */
static void test_names_not_utf8(void)
{
    const char *srcdir = getenv("NN_TEST_SRCDIR");
    char pic[4200], folder[4300], log[4300], rep[4300], rep2[4300], path[4400];
    snprintf(pic, sizeof pic, "%s/assets/astronaut.png", srcdir ? srcdir : ".");
    snprintf(folder, sizeof folder, "%s/names", dir);
    snprintf(log, sizeof log, "%s/names.jsonl", dir);
    snprintf(rep, sizeof rep, "%s/names-report", dir);
    snprintf(rep2, sizeof rep2, "%s/names-report2", dir);
    CHECK(mkdir(folder, 0755) == 0);
    uint8_t *px = NULL;
    int w = 0, h = 0;
    CHECK_MSG(cvw_read_bgr(pic, &px, &w, &h) == 0, "%s (set NN_TEST_SRCDIR to the source tree)",
              cvw_error());
    const char *names[] = {"a.png", "caf\xe9.png", "\xff.png"};
    for (int i = 0; i < 3 && px; i++) {
        snprintf(path, sizeof path, "%s/%s", folder, names[i]);
        CHECK(cvw_write_image(path, px, w, h, 3) == 0);
    }
    free(px);
    char *e = NULL;
    int rc = rp_run_args(exe, out, err, 120, &e, "--headless", "-q", "--input", folder, "--model",
                         model, "--log", log, "--report", rep, NULL);
    CHECK_MSG(rc == 0, "exit %d: %s", rc, e ? e : "");
    free(e);
    snprintf(path, sizeof path, "%s/summary.json", rep);
    const char *outputs[] = {log, path};
    for (int i = 0; i < 2; i++) {
        char *text = rp_slurp(outputs[i]), fixed[1 << 16];
        size_t n = text ? jsonw_utf8(fixed, sizeof fixed, text) : 0;
        CHECK_MSG(text && n < sizeof fixed && !strcmp(fixed, text), "%s is not valid UTF-8",
                  outputs[i]);
        if (i == 0)
            CHECK_MSG(text && strstr(text, "/caf\\ufffd.png\"") && strstr(text, "/\\ufffd.png\"") &&
                          rp_count_lines(log) == 3,
                      "the log: %s", text ? text : "(none)");
        free(text);
    }
    rc = rp_run_args(exe, out, err, 120, &e, "--from-log", log, "--input", folder, "--model",
                     model, "--report", rep2, NULL);
    CHECK_MSG(rc == 0 && e && !strstr(e, "not the input") && !strstr(e, "No faces.png"),
              "--from-log: exit %d: %s", rc, e ? e : "");
    free(e);
    snprintf(path, sizeof path, "%s/faces.png", rep2);
    CHECK(access(path, F_OK) == 0);
}

/* A report on a folder of pictures, from the run and from its log, counts
 * pictures: it gave them a duration of one second each and a rate of 1
 * frame/s, figures of nothing. */
static void test_stills_report(void)
{
    const char *srcdir = getenv("NN_TEST_SRCDIR");
    char pic[4200], folder[4300], log[4300], rep[2][4300], path[8800];
    snprintf(pic, sizeof pic, "%s/assets/astronaut.png", srcdir ? srcdir : ".");
    snprintf(folder, sizeof folder, "%s/stills", dir);
    snprintf(log, sizeof log, "%s/stills.jsonl", dir);
    CHECK(mkdir(folder, 0755) == 0);
    uint8_t *px = NULL;
    int w = 0, h = 0;
    CHECK_MSG(cvw_read_bgr(pic, &px, &w, &h) == 0, "%s", cvw_error());
    for (int i = 0; i < 4 && px; i++) {
        snprintf(path, sizeof path, "%s/p%d.png", folder, i);
        CHECK(cvw_write_image(path, px, w, h, 3) == 0);
    }
    free(px);
    for (int run = 0; run < 2; run++) {
        snprintf(rep[run], sizeof rep[run], "%s/stills-report%d", dir, run);
        char *e = NULL;
        int rc = run ? rp_run_args(exe, out, err, 120, &e, "--from-log", log, "--report",
                                   rep[run], NULL)
                     : rp_run_args(exe, out, err, 120, &e, "--headless", "-q", "--input", folder,
                                   "--model", model, "--log", log, "--report", rep[run], NULL);
        CHECK_MSG(rc == 0 && e && strstr(e, "report of 4 pictures"), "run %d: exit %d: %s", run,
                  rc, e ? e : "");
        free(e);
        snprintf(path, sizeof path, "%s/summary.json", rep[run]);
        char *json = rp_slurp(path);
        CHECK_MSG(json && strstr(json, "\"pictures\": 4,") && strstr(json, "\"duration_s\": null") &&
                      strstr(json, "\"fps\": null"),
                  "run %d: %s", run, json ? json : "(no summary.json)");
        free(json);
        snprintf(path, sizeof path, "%s/index.html", rep[run]);
        char *html = rp_slurp(path);
        CHECK_MSG(html && strstr(html, ">pictures</th><td class=\"l\">4<") &&
                      !strstr(html, ">duration<") && !strstr(html, ">frames/s<"),
                  "run %d: the page's figures", run);
        free(html);
        snprintf(path, sizeof path, "%s/summary.csv", rep[run]);
        char *csv = rp_slurp(path);
        CHECK_MSG(csv && strstr(csv, ",4,,\n"), "run %d: %s", run, csv ? csv : "(none)");
        free(csv);
    }
}

/* A picture that is already a crop of a face shows the cascade no head
 * with room around it: a faceless run on small pictures points at
 * emotion-train predict; a picture where a face is found gets no note. */
static void test_small_faceless(void)
{
    const char *srcdir = getenv("NN_TEST_SRCDIR");
    char pic[4200], small[4300];
    snprintf(pic, sizeof pic, "%s/assets/astronaut.png", srcdir ? srcdir : ".");
    snprintf(small, sizeof small, "%s/small.png", dir);
    uint8_t *px = NULL, sm[48 * 48 * 3];
    int w = 0, h = 0;
    CHECK_MSG(cvw_read_bgr(pic, &px, &w, &h) == 0, "%s", cvw_error());
    if (!px)
        return;
    for (int y = 0; y < 48; y++) /* nearest neighbour is enough for a picture too small */
        for (int x = 0; x < 48; x++)
            memcpy(sm + (y * 48 + x) * 3, px + ((size_t)(y * h / 48) * w + x * w / 48) * 3, 3);
    free(px);
    CHECK(cvw_write_image(small, sm, 48, 48, 3) == 0);
    for (int run = 0; run < 2; run++) {
        char *e = NULL;
        int rc = rp_run_args(exe, out, err, 120, &e, "--headless", "-q", "--input",
                             run ? pic : small, "--model", model, NULL);
        const char *note = "note: no face found in 1 small picture";
        CHECK_MSG(rc == 0 && e && (run ? !strstr(e, note)
                                       : strstr(e, note) && strstr(e, "small.png', 48x48)") &&
                                             strstr(e, "emotion-train predict")),
                  "run %d: exit %d: %s", run, rc, e ? e : "");
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
    test_names_not_utf8();
    test_stills_report();
    test_small_faceless();
    int rc = test_done("test_detect_inputs");
    if (rc == 0)
        rp_rmdir(dir);
    return rc;
}
