/* test_detect_cameras.c - the camera options without a camera: the list of
 * a folder without video devices says "no cameras found" (exit 0), a file
 * named like a device is said not to be one, the program's --list-cameras
 * exits 0 whatever this machine has, and --camera-size / --camera-fps are
 * checked before anything opens (a missing camera is exit 1, one line).
 * Usage: test_detect_cameras PATH/TO/emotion-detect */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devtools.h"
#include "runprog.h"
#include "testutil.h"

static const char *exe;
static char out[4200], err[4200];

/* Run emotion-detect with the arguments; the exit code, stderr in *e when
 * e is not NULL (runprog.h). */
#define RUN(e, ...) rp_run_args(exe, out, err, 60, e, __VA_ARGS__, (const char *)NULL)

/* cameras_list(dev_dir) into a string. */
static char *list(const char *dev_dir)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK(f != NULL);
    if (!f)
        return NULL;
    CHECK(cameras_list(dev_dir, f) == 0);
    fclose(f);
    return buf;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_detect_cameras EMOTION_DETECT\n");
        return 2;
    }
    exe = argv[1];
    char dir[4096], p[4200];
    CHECK(rp_tmpdir(dir, sizeof dir, "cameras") != NULL);
    snprintf(out, sizeof out, "%s/out.txt", dir);
    snprintf(err, sizeof err, "%s/err.txt", dir);

    char *s = list(dir);
    CHECK_MSG(s && !strcmp(s, "no cameras found\n"), "%s", s ? s : "");
    free(s);
    /* Not a device, and names that only look like one. */
    snprintf(p, sizeof p, "%s/video0", dir);
    CHECK(rp_write(p, "x", 1) == 0);
    snprintf(p, sizeof p, "%s/video-notes", dir);
    CHECK(rp_write(p, "x", 1) == 0);
    s = list(dir);
    CHECK_MSG(s && strstr(s, "/video0: not a V4L2 device") && !strstr(s, "video-notes") &&
                  strstr(s, "no cameras found\n"),
              "%s", s ? s : "");
    free(s);
    s = list("/nonexistent/dev");
    CHECK(s && !strcmp(s, "no cameras found\n"));
    free(s);

    /* The program: exit 0, on stdout either the cameras or the note. */
    char *e = NULL;
    int rc = RUN(&e, "--list-cameras");
    char *o = rp_slurp(out);
    CHECK_MSG(rc == 0 && o && (strstr(o, "no cameras found") || strstr(o, "/dev/video")),
              "exit %d: %s%s", rc, o ? o : "", e ? e : "");
    free(o);
    free(e);
    rc = RUN(&e, "--list-cameras", "--input", "x.mp4");
    CHECK_MSG(rc == 2 && e && strstr(e, "--list-cameras"), "exit %d: %s", rc, e ? e : "");
    free(e);

    /* Mode requests: checked before anything opens. */
    const char *bad_sizes[] = {"640", "640x", "x480", "640x480x2", "8x8", "640X480", "-640x480"};
    for (size_t i = 0; i < sizeof bad_sizes / sizeof *bad_sizes; i++) {
        rc = RUN(&e, "--camera-size", bad_sizes[i], "--headless");
        CHECK_MSG(rc == 2 && e && strstr(e, "--camera-size"), "%s: exit %d: %s", bad_sizes[i],
                  rc, e ? e : "");
        free(e);
    }
    /* A size of the right form but too small says what the rule is. */
    rc = RUN(&e, "--camera-size", "10x10", "--headless");
    CHECK_MSG(rc == 2 && e && strstr(e, "between 16 and 16384") && !strstr(e, "WIDTHxHEIGHT"),
              "10x10: exit %d: %s", rc, e ? e : "");
    free(e);
    rc = RUN(&e, "--camera-size", "640x", "--headless");
    CHECK_MSG(rc == 2 && e && strstr(e, "WIDTHxHEIGHT"), "640x: exit %d: %s", rc, e ? e : "");
    free(e);
    rc = RUN(&e, "--camera-fps", "0", "--headless");
    CHECK_MSG(rc == 2 && e && strstr(e, "--camera-fps"), "exit %d: %s", rc, e ? e : "");
    free(e);
    rc = RUN(&e, "--camera-size", "640x480", "--input", "x.mp4", "--headless");
    CHECK_MSG(rc == 2 && e && strstr(e, "exclude --input"), "exit %d: %s", rc, e ? e : "");
    free(e);
    /* A camera that is not there: one line, exit 1 (not the demo clip). */
    rc = RUN(&e, "--camera", "57", "--camera-size", "640x480", "--camera-fps", "30",
             "--headless", "--max-frames", "1");
    CHECK_MSG(rc == 1 && e && strstr(e, "camera 57") && !strchr(strchr(e, '\n') + 1, '\n'),
              "exit %d: %s", rc, e ? e : "");
    free(e);

    if (!test_failures)
        rp_rmdir(dir);
    return test_done("test_detect_cameras");
}
