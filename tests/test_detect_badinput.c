/* test_detect_badinput.c - every kind of bad input to emotion-detect gets
 * one line naming the problem, the documented exit code (2 for usage
 * errors, 1 for the rest), quickly, and no crash or hang.
 * Usage: test_detect_badinput PATH/TO/emotion-detect */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect_model.h"
#include "facegen.h"
#include "runprog.h"
#include "testutil.h"

static const char *exe, *dir;
static char out[4200], err[4200];

/* Run with the NULL-terminated arguments; check the exit code and that
 * stderr is one line holding `want` (stdout holds it when rc is 0). */
static void expect(int want_rc, const char *want, ...)
{
    char *argv[16];
    int n = 0;
    argv[n++] = (char *)exe;
    va_list ap;
    va_start(ap, want);
    for (const char *a; n < 15 && (a = va_arg(ap, const char *));)
        argv[n++] = (char *)a;
    va_end(ap);
    argv[n] = NULL;
    const char *a0 = argv[1], *a1 = n > 2 ? argv[2] : NULL;
    double secs = 0;
    int rc = rp_run(argv, out, err, 20, &secs);
    char *o = rp_slurp(out), *e = rp_slurp(err);
    const char *where = want_rc == 0 ? o : e;
    CHECK_MSG(rc == want_rc, "%s %s: exit %d, want %d; stderr: %s", a0, a1 ? a1 : "", rc, want_rc,
              e ? e : "");
    CHECK_MSG(where && strstr(where, want), "%s %s: '%s' not in: %s", a0, a1 ? a1 : "", want,
              where ? where : "(nothing)");
    if (want_rc != 0) {
        int lines = 0;
        for (const char *p = e; p && *p; p++)
            lines += *p == '\n';
        CHECK_MSG(lines == 1, "%s %s: %d lines on stderr: %s", a0, a1 ? a1 : "", lines, e ? e : "");
        CHECK_MSG(e && !strncmp(e, "emotion-detect: ", 16), "no program prefix: %s", e ? e : "");
    }
    CHECK_MSG(secs < 8, "%s %s took %.1f s", a0, a1 ? a1 : "", secs);
    free(o);
    free(e);
}

#define X(...) expect(__VA_ARGS__, (const char *)NULL)

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_detect_badinput EMOTION_DETECT\n");
        return 2;
    }
    exe = argv[1];
    char d[4096], model[4200], bad_model[4200], text[4200], bad_xml[4200], empty[4200],
        img[4200], roll[4200];
    CHECK(rp_tmpdir(d, sizeof d, "detect-bad") != NULL);
    dir = d;
    snprintf(out, sizeof out, "%s/out.txt", dir);
    snprintf(err, sizeof err, "%s/err.txt", dir);
    snprintf(model, sizeof model, "%s/ok.model", dir);
    snprintf(bad_model, sizeof bad_model, "%s/damaged.model", dir);
    snprintf(text, sizeof text, "%s/notes.mp4", dir);
    snprintf(bad_xml, sizeof bad_xml, "%s/bad.xml", dir);
    snprintf(empty, sizeof empty, "%s/empty", dir);
    snprintf(img, sizeof img, "%s/broken.png", dir);
    CHECK(make_test_model(model) == 0);
    snprintf(roll, sizeof roll, "%s/roll.model", dir);
    CHECK(make_test_roll_model(roll) == 0);
    /* A model with its middle overwritten: the checksum must catch it. */
    char *m = rp_slurp(model);
    struct stat st;
    CHECK(m && stat(model, &st) == 0);
    if (m) {
        for (off_t i = st.st_size / 2; i < st.st_size / 2 + 64 && i < st.st_size; i++)
            m[i] ^= 0x5a;
        CHECK(rp_write(bad_model, m, (size_t)st.st_size) == 0);
    }
    free(m);
    CHECK(rp_write(text, "just some notes, not a video\n", 29) == 0);
    CHECK(rp_write(bad_xml, "<?xml version=\"1.0\"?>\n<opencv_storage>\n</opencv_storage>\n", 57) == 0);
    CHECK(rp_write(img, "\x89PNG\r\n\x1a\nbroken", 14) == 0);
    CHECK(mkdir(empty, 0755) == 0);

    /* Usage errors: exit 2. */
    X(2, "unknown option '--bogus'", "--bogus");
    X(2, "unknown option '-z'", "-z");
    X(2, "bad value 'two' for --threads", "--threads", "two");
    X(2, "bad value '-3' for --max-frames", "--max-frames", "-3");
    X(2, "bad value '0.5' for --scale-factor", "--scale-factor", "0.5");
    X(2, "bad value '1.5' for --smooth", "--smooth", "1.5");
    X(2, "bad value 'x' for --camera", "--camera", "x");
    X(2, "bad value 'int4' for --precision", "--precision", "int4");
    X(2, "needs a value", "--input");
    X(2, "unexpected argument", "stray.mp4");
    X(2, "--loop needs --input", "--loop", "--camera", "0");
    /* Options that cannot work. */
    X(2, "bad value '1.0001' for --scale-factor", "--scale-factor", "1.0001");
    X(2, "--threads given twice", "--threads", "1", "--threads", "2");
    X(2, "--input given twice", "-i", "a.mp4", "--input", "b.mp4");
    X(2, "--headless given twice", "--headless", "--headless");
    X(2, "--mirror flips the window", "--mirror", "--headless");
    X(2, "--idle shows an attract screen in the window", "--idle", "5", "--headless");
    X(2, "(--out-dir runs headless)", "--idle", "5", "--out-dir", dir, "x.mp4");
    X(2, "use a .jsonl or .csv name", "--headless", "--log", "x.txt");
    X(2, "use a .avi, .mkv or .mp4 name", "--headless", "--record", "x.mov");
    X(1, "is a directory", "--headless", "--model", dir);
    X(0, "usage: emotion-detect", "--help");
    X(0, "emotion-detect ", "--version");

    /* Files, cameras, models: exit 1. */
    X(1, "no such file", "--headless", "--model", "/nonexistent/x.model");
    X(1, "damaged.model", "--headless", "--model", bad_model);
    X(1, "': not a model file", "--headless", "--model", text); /* the path said once */
    /* A model of the other kind: an emotion model as the roll estimator,
     * a roll estimator as the emotion model. */
    X(1, "is not a roll model", "--headless", "--model", model, "--roll-model", model);
    X(1, "is a roll model", "--headless", "--model", roll);
    X(1, "--roll-model '/nonexistent/r.model'", "--headless", "--model", model, "--roll-model",
      "/nonexistent/r.model");
    X(2, "bad value 'rolls' for --without", "--without", "rolls");
    X(1, "no such file", "--headless", "--model", model, "--input", "/nonexistent/clip.mp4");
    X(1, "not a video", "--headless", "--model", model, "--input", text);
    X(1, "broken.png", "--headless", "--model", model, "--input", img);
    X(1, "no images", "--headless", "--model", model, "--input", empty);
    X(1, "cascade '/nonexistent/c.xml': no such file", "--headless", "--model", model,
      "--cascade", "/nonexistent/c.xml");
    X(1, "not a valid cascade", "--headless", "--model", model, "--cascade", bad_xml);
    X(1, "not a valid cascade", "--headless", "--model", model, "--cascade", text);
    X(1, "cannot write '/nonexistent/dir/x.jsonl'", "--headless", "--model", model, "--log",
      "/nonexistent/dir/x.jsonl");
    X(1, "does not exist", "--headless", "--model", model, "--record", "/nonexistent/dir/x.mp4");
    /* A folder that exists but takes no files is not called missing. */
    X(1, "folder '/proc' does not take new files", "--headless", "--model", model, "--log",
      "/proc/x.jsonl");
    X(2, "use a .avi, .mkv or .mp4 name", "--headless", "--model", model, "--record", img);
    X(1, "camera 57", "--headless", "--model", model, "--camera", "57");
    X(1, "no INT8 calibration", "--headless", "--model", model, "--precision", "int8");

    /* No display: SDL would fall back to its offscreen driver, a window
     * nobody sees and a run that looks like a hang; refused, pointing at
     * --headless. Without DISPLAY and WAYLAND_DISPLAY only a console could
     * take the window: a machine that has one (/dev/dri) is skipped. */
    char clip[4200];
    snprintf(clip, sizeof clip, "%s/clip.avi", dir);
    CHECK(fg_write_raw_avi(clip, 64, 48, 3, 10) == 0);
    unsetenv("DISPLAY");
    unsetenv("WAYLAND_DISPLAY");
    unsetenv("SDL_VIDEODRIVER");
    if (access("/dev/dri", F_OK) == 0) {
        printf("skipped the no-display cases: /dev/dri exists (a console could take the window)\n");
    } else {
        X(1, "no display to open a window on (DISPLAY and WAYLAND_DISPLAY are not set", "--model",
          model, "--input", clip);
        /* A display named but not there: the same, after SDL tried it. */
        setenv("DISPLAY", ":97", 1);
        if (access("/tmp/.X11-unix/X97", F_OK) != 0)
            X(1, "(DISPLAY ':97' could not be reached, nor a console)", "--model", model, "--input",
              clip);
    }

    if (!test_failures)
        rp_rmdir(dir);
    else
        fprintf(stderr, "kept %s\n", dir);
    return test_done("test_detect_badinput");
}
