/* test_detect_batch.c - many videos in one command: a folder of videos and
 * more paths after the options, one of them broken and one missing; each
 * good video gets its log and report (and recording) named after it in
 * --out-dir, the broken ones are reported and the rest go on, exit 1 at
 * the end; the same with --jobs 2; two inputs of one name stay apart; the
 * same batch again is refused unless --overwrite.
 * Usage: test_detect_batch PATH/TO/emotion-detect */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>

#include "cvw.h"
#include "detect_model.h"
#include "facegen.h"
#include "runprog.h"
#include "testutil.h"

static int lines_in(const char *path)
{
    char *s = rp_slurp(path);
    int n = 0;
    for (char *p = s; p && (p = strchr(p, '\n')); p++)
        n++;
    free(s);
    return n;
}

static int exists(const char *dir, const char *name)
{
    char p[8400];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) == 0 && st.st_size > 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_detect_batch EMOTION_DETECT\n");
        return 2;
    }
    const char *exe = argv[1], *src = getenv("NN_TEST_SRCDIR");
    char exe_abs[4096]; /* one part runs in another folder */
    if (realpath(exe, exe_abs))
        exe = exe_abs;
    char dir[4096], pic[4096], cas[4096], vids[4200], p[4400], model[4200], outd[4200],
        extra[4200], broken[4400], missing[4200], out[4200], err[4200], errmsg[512];
    CHECK(rp_tmpdir(dir, sizeof dir, "batch") != NULL);
    snprintf(pic, sizeof pic, "%s/assets/astronaut.png", src ? src : ".");
    snprintf(cas, sizeof cas, "%s/cascades/haarcascade_frontalface_default.xml", src ? src : ".");
    snprintf(model, sizeof model, "%s/test.model", dir);
    snprintf(vids, sizeof vids, "%s/videos", dir);
    snprintf(extra, sizeof extra, "%s/extra.avi", dir);
    snprintf(missing, sizeof missing, "%s/missing.mp4", dir);
    snprintf(out, sizeof out, "%s/out.txt", dir);
    snprintf(err, sizeof err, "%s/err.txt", dir);
    CHECK(mkdir(vids, 0755) == 0);
    fg_scene sc;
    int ok = fg_init(&sc, pic, cas, 320, 240, 8, 1, errmsg, sizeof errmsg) == 0;
    CHECK_MSG(ok, "%s", errmsg);
    if (!ok)
        return test_done("test_detect_batch");
    CHECK(make_test_model(model) == 0);
    snprintf(p, sizeof p, "%s/a.avi", vids);
    CHECK(fg_write_video(&sc, p, 10) == 0);
    snprintf(p, sizeof p, "%s/b.mkv", vids);
    CHECK(fg_write_video(&sc, p, 10) == 0);
    snprintf(p, sizeof p, "%s/notes.txt", vids); /* not a video: not an input */
    CHECK(rp_write(p, "hello", 5) == 0);
    snprintf(broken, sizeof broken, "%s/broken.mp4", vids);
    CHECK(rp_write(broken, "this is not a video at all", 26) == 0);
    CHECK(fg_write_video(&sc, extra, 10) == 0);

    for (int jobs = 1; jobs <= 2; jobs++) {
        snprintf(outd, sizeof outd, "%s/out%d/nested", dir, jobs);
        char nj[8];
        snprintf(nj, sizeof nj, "%d", jobs);
        char *run[] = {(char *)exe, "--model", model, "--out-dir", outd, "--jobs", nj,
                       "--record", "avi", "--input", vids, extra, missing, "--threads", "2",
                       NULL};
        int rc = rp_run(run, out, err, 240, NULL);
        char *e = rp_slurp(err);
        CHECK_MSG(rc == 1, "jobs %d: exit %d: %s", jobs, rc, e ? e : "");
        /* Each good video: its log of all its frames, its report, its
         * recording. */
        const char *good[] = {"a", "b", "extra"};
        for (int i = 0; i < 3; i++) {
            char name[64];
            snprintf(name, sizeof name, "%s.jsonl", good[i]);
            snprintf(p, sizeof p, "%s/%s", outd, name);
            CHECK_MSG(lines_in(p) == 8, "jobs %d: %s has %d lines", jobs, p, lines_in(p));
            snprintf(name, sizeof name, "%s/summary.json", good[i]);
            CHECK_MSG(exists(outd, name), "jobs %d: %s", jobs, name);
            snprintf(name, sizeof name, "%s/timeline.png", good[i]);
            CHECK_MSG(exists(outd, name), "jobs %d: %s", jobs, name);
            snprintf(name, sizeof name, "%s.avi", good[i]);
            CHECK_MSG(exists(outd, name), "jobs %d: %s", jobs, name);
        }
        CHECK(!exists(outd, "notes.jsonl"));
        CHECK(!exists(outd, "broken/summary.json") && !exists(outd, "missing/summary.json"));
        /* The failures named with their reasons; the summary counts. */
        CHECK_MSG(e && strstr(e, "broken.mp4: FAILED") && strstr(e, "missing.mp4: FAILED") &&
                      strstr(e, "5 inputs: 3 done, 2 failed"),
                  "jobs %d: %s", jobs, e ? e : "");
        CHECK(e && strstr(e, "not a video") && strstr(e, "a.avi: done"));
        free(e);
    }

    /* --out-dir the videos' own folder with --record of their format:
     * a.avi's recording would be a.avi itself. Said at the start as what
     * it is, with or without --overwrite (it was "exists: give
     * --overwrite", and with it a failure in that video's child alone). */
    for (int ow = 0; ow < 2; ow++) {
        char *run[] = {(char *)exe, "--model", model, "--out-dir", vids, "--record", "avi",
                       "--input", vids, ow ? "--overwrite" : NULL, NULL};
        int rc = rp_run(run, out, err, 120, NULL);
        char *e = rp_slurp(err);
        CHECK_MSG(rc == 2 && e && strstr(e, "which is the input") && !strstr(e, "give --overwrite"),
                  "--out-dir the input folder%s: exit %d: %s", ow ? ", --overwrite" : "", rc,
                  e ? e : "");
        free(e);
        CHECK(!exists(vids, "b.jsonl") && !exists(vids, "b"));
    }

    /* All good: exit 0. Two inputs of one name: NAME and NAME-2. */
    snprintf(outd, sizeof outd, "%s/same", dir);
    snprintf(p, sizeof p, "%s/a.avi", vids);
    char twin[4200];
    snprintf(twin, sizeof twin, "%s/a.avi", dir);
    CHECK(fg_write_video(&sc, twin, 10) == 0);
    char *run2[] = {(char *)exe, "--model", model, "--out-dir", outd, p, twin, NULL};
    int rc = rp_run(run2, out, err, 120, NULL);
    char *e = rp_slurp(err);
    CHECK_MSG(rc == 0, "exit %d: %s", rc, e ? e : "");
    free(e);
    CHECK(exists(outd, "a.jsonl") && exists(outd, "a-2.jsonl") &&
          exists(outd, "a/summary.json") && exists(outd, "a-2/summary.json"));
    /* The same batch again: refused before any video starts, the first
     * run's logs as they were; with --overwrite it runs. */
    char lp[4300];
    snprintf(lp, sizeof lp, "%s/a-2.jsonl", outd);
    CHECK(rp_write(lp, "kept\n", 5) == 0);
    rc = rp_run(run2, out, err, 120, NULL);
    e = rp_slurp(err);
    CHECK_MSG(rc == 2 && e && strstr(e, "exists") && strstr(e, "--overwrite") && !strstr(e, "done"),
              "a batch again: exit %d: %s", rc, e ? e : "");
    free(e);
    char *kept = rp_slurp(lp);
    CHECK(kept && !strcmp(kept, "kept\n"));
    free(kept);
    /* Its reports count too: with the logs gone, a report folder left
     * from before is refused, the report as it was. */
    char page[4400];
    snprintf(page, sizeof page, "%s/a.jsonl", outd);
    CHECK(unlink(page) == 0 && unlink(lp) == 0);
    snprintf(page, sizeof page, "%s/a/index.html", outd);
    CHECK(rp_write(page, "MINE\n", 5) == 0);
    rc = rp_run(run2, out, err, 120, NULL);
    e = rp_slurp(err);
    CHECK_MSG(rc == 2 && e && strstr(e, "/same/a/") && strstr(e, "exists") && !strstr(e, "done"),
              "a batch over its reports: exit %d: %s", rc, e ? e : "");
    free(e);
    kept = rp_slurp(page);
    CHECK_MSG(kept && !strcmp(kept, "MINE\n"), "the report replaced: '%.40s'", kept ? kept : "");
    free(kept);
    char *run2o[] = {(char *)exe, "--model", model, "--out-dir", outd, "--overwrite", p, twin, NULL};
    rc = rp_run(run2o, out, err, 120, NULL);
    char *after = rp_slurp(lp);
    CHECK_MSG(rc == 0 && after && lines_in(lp) == 8 && !strncmp(after, "{\"frame\"", 8),
              "--overwrite: exit %d, the log made again: '%.40s'", rc, after ? after : "(gone)");
    free(after);

    /* Usage errors, before anything runs. */
    char *run3[] = {(char *)exe, "--model", model, "--input", p, twin, NULL};
    rc = rp_run(run3, out, err, 60, NULL);
    e = rp_slurp(err);
    CHECK_MSG(rc == 2 && e && strstr(e, "need --out-dir"), "exit %d: %s", rc, e ? e : "");
    free(e);
    char *run4[] = {(char *)exe, "--out-dir", outd, "--log", "x.jsonl", p, NULL};
    rc = rp_run(run4, out, err, 60, NULL);
    e = rp_slurp(err);
    CHECK_MSG(rc == 2 && e && strstr(e, "takes a format"), "exit %d: %s", rc, e ? e : "");
    free(e);
    char *run5[] = {(char *)exe, "--jobs", "2", "--input", p, NULL};
    rc = rp_run(run5, out, err, 60, NULL);
    e = rp_slurp(err);
    CHECK_MSG(rc == 2 && e && strstr(e, "--jobs needs --out-dir"), "exit %d: %s", rc, e ? e : "");
    free(e);

    /* The children get the options as the parent read them, not its
     * command line's text: inputs after "--" (one named -x.avi) and
     * abbreviated long options run as spelled out. */
    char here[4096], dash[4200];
    CHECK(getcwd(here, sizeof here) != NULL);
    snprintf(p, sizeof p, "%s/-x.avi", dir);
    CHECK(fg_write_video(&sc, p, 10) == 0);
    snprintf(dash, sizeof dash, "%s/dash", dir);
    CHECK(chdir(dir) == 0); /* -x.avi as a relative name, as typed */
    char *run7[] = {(char *)exe, "--model", model, "--out-dir", dash, "--threads", "1", "--",
                    "-x.avi", twin, NULL};
    rc = rp_run(run7, out, err, 120, NULL);
    CHECK(chdir(here) == 0);
    e = rp_slurp(err);
    snprintf(p, sizeof p, "%s/-x.jsonl", dash);
    CHECK_MSG(rc == 0 && lines_in(p) == 8 && exists(dash, "a.jsonl") &&
                  e && strstr(e, "2 inputs: 2 done, 0 failed"),
              "after --: exit %d: %s", rc, e ? e : "");
    free(e);
    /* "." and "sub/..": named after the folder they are (shots, shots-2),
     * not "." and "..", which made a hidden log and a report in the
     * out-dir itself. */
    char shots[4200], face[4300];
    snprintf(shots, sizeof shots, "%s/shots", dir);
    snprintf(p, sizeof p, "%s/shots/sub", dir);
    CHECK(mkdir(shots, 0755) == 0 && mkdir(p, 0755) == 0);
    uint8_t *px = malloc((size_t)sc.frame_w * sc.frame_h * 3);
    snprintf(face, sizeof face, "%s/face.png", shots);
    CHECK(px && fg_render(&sc, 0, px) == 0 &&
          cvw_write_image(face, px, sc.frame_w, sc.frame_h, 3) == 0);
    free(px);
    snprintf(outd, sizeof outd, "%s/dots", dir);
    CHECK(chdir(shots) == 0);
    char *run9[] = {(char *)exe, "--model", model, "--out-dir", outd, "--threads", "1", ".",
                    "sub/..", NULL};
    rc = rp_run(run9, out, err, 120, NULL);
    CHECK(chdir(here) == 0);
    e = rp_slurp(err);
    snprintf(p, sizeof p, "%s/shots.jsonl", outd);
    CHECK_MSG(rc == 0 && lines_in(p) == 1 && exists(outd, "shots-2.jsonl") &&
                  exists(outd, "shots/summary.json") && exists(outd, "shots-2/summary.json"),
              "'.': exit %d: %s", rc, e ? e : "");
    CHECK(!exists(outd, "..jsonl") && !exists(outd, "...jsonl") && !exists(outd, "summary.json"));
    free(e);

    snprintf(outd, sizeof outd, "%s/abbrev", dir);
    char *run8[] = {(char *)exe, "--mod", model, "--out-d", outd, "--inp", twin, "--rec", "avi",
                    "--thr", "1", "--jo", "1", "--headl", "--qui", NULL};
    rc = rp_run(run8, out, err, 120, NULL);
    e = rp_slurp(err);
    snprintf(p, sizeof p, "%s/a.jsonl", outd);
    CHECK_MSG(rc == 0 && lines_in(p) == 8 && exists(outd, "a.avi") && exists(outd, "a/summary.json"),
              "abbreviated options: exit %d: %s", rc, e ? e : "");
    free(e);

    /* SIGTERM to the parent alone: passed on, the running child closes its
     * outputs (a complete log, every line whole), the rest are not started
     * and the exit status says so. */
    fg_scene longer = sc;
    longer.n_frames = 300;
    char l1[4200], l2[4200];
    snprintf(l1, sizeof l1, "%s/long1.avi", dir);
    snprintf(l2, sizeof l2, "%s/long2.avi", dir);
    CHECK(fg_write_video(&longer, l1, 25) == 0 && fg_write_video(&longer, l2, 25) == 0);
    snprintf(outd, sizeof outd, "%s/term", dir);
    char *run6[] = {(char *)exe, "--model", model, "--out-dir", outd, "--threads", "1", l1, l2,
                    NULL};
    pid_t pid = rp_start(run6, out, err);
    snprintf(p, sizeof p, "%s/long1.jsonl", outd);
    double t0 = rp_now();
    struct stat st;
    while (rp_now() - t0 < 60 && !(stat(p, &st) == 0 && st.st_size > 1000))
        usleep(20000);
    kill(pid, SIGTERM);
    rc = rp_wait(pid, 60, NULL);
    e = rp_slurp(err);
    CHECK_MSG(rc == 1 && e && strstr(e, "long1.avi: interrupted") &&
                  strstr(e, "1 input not started") &&
                  strstr(e, "2 inputs: 0 done, 1 interrupted, 0 failed"),
              "exit %d: %s", rc, e ? e : "");
    free(e);
    char *log1 = rp_slurp(p);
    size_t len1 = log1 ? strlen(log1) : 0;
    CHECK_MSG(len1 > 0 && log1[len1 - 1] == '\n' && lines_in(p) < 300, "%zu bytes, %d lines",
              len1, lines_in(p));
    free(log1);
    CHECK(!exists(outd, "long2.jsonl"));
    CHECK(exists(outd, "long1/summary.json"));

    fg_free(&sc);
    if (!test_failures)
        rp_rmdir(dir);
    else
        fprintf(stderr, "kept %s\n", dir);
    return test_done("test_detect_batch");
}
