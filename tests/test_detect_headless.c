/* test_detect_headless.c - emotion-detect end to end, headless, on a video
 * of real faces generated here (the committed astronaut picture pasted at
 * known positions): every frame logged, the faces found where they are, the
 * log's fields valid, the recording as long as the input; CSV logs, image
 * and folder inputs (a first image too small for a video left out of the
 * recording); Ctrl-C and SIGHUP leave a finished recording (SIGHUP
 * ignored under nohup). Last, the window
 * loop under SDL's dummy video driver, and kiosk mode without a camera.
 * Usage: test_detect_headless PATH/TO/emotion-detect */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cvw.h"
#include "detect_model.h"
#include "facegen.h"
#include "runprog.h"
#include "testutil.h"

#define N_FRAMES 40
#define N_FACES 2

static double iou(cvw_rect a, cvw_rect b)
{
    int x0 = a.x > b.x ? a.x : b.x, y0 = a.y > b.y ? a.y : b.y;
    int x1 = a.x + a.w < b.x + b.w ? a.x + a.w : b.x + b.w;
    int y1 = a.y + a.h < b.y + b.h ? a.y + a.h : b.y + b.h;
    if (x1 <= x0 || y1 <= y0)
        return 0;
    double in = (double)(x1 - x0) * (y1 - y0);
    return in / ((double)a.w * a.h + (double)b.w * b.h - in);
}

typedef struct logface {
    int id;
    cvw_rect box;
    char emotion[64];
    double conf, probs[7];
    int n_probs;
} logface;

/* Parse one JSON line of the log (our own fixed format). Returns the number
 * of faces, or -1 when the line does not have the documented shape. */
/* file (may be NULL) receives the record's "file", "" when it has none. */
static int parse_line_file(const char *line, char *file, size_t flen, long *frame, double *t_ms,
                           logface *faces, int max)
{
    int at = 0;
    if (sscanf(line, "{\"frame\":%ld,%n", frame, &at) != 1 || !at)
        return -1;
    const char *p = line + at;
    if (file && flen)
        file[0] = 0;
    if (!strncmp(p, "\"file\":\"", 8)) {
        const char *q = strchr(p + 8, '"');
        if (!q || q[1] != ',')
            return -1;
        if (file)
            snprintf(file, flen, "%.*s", (int)(q - p - 8), p + 8);
        p = q + 2;
    }
    if (sscanf(p, "\"t_ms\":%lf,\"faces\":[", t_ms) != 1)
        return -1;
    p = strstr(p, "\"faces\":[");
    if (!p)
        return -1;
    p += 9;
    int n = 0;
    while (*p == '{' || *p == ',') {
        if (*p == ',')
            p++;
        if (n == max)
            return -1;
        logface *f = &faces[n];
        int used = 0;
        if (sscanf(p, "{\"id\":%d,\"box\":[%d,%d,%d,%d],\"emotion\":\"%63[^\"]\",\"confidence\":%lf,"
                      "\"probs\":{%n",
                   &f->id, &f->box.x, &f->box.y, &f->box.w, &f->box.h, f->emotion, &f->conf,
                   &used) != 7 || !used)
            return -1;
        p += used;
        f->n_probs = 0;
        for (int c = 0; c < 7; c++) {
            char key[64];
            if (sscanf(p, "\"%63[^\"]\":%lf%n", key, &f->probs[c], &used) != 2 ||
                strcmp(key, fer_names[c]))
                return -1;
            p += used;
            f->n_probs++;
            if (*p == ',')
                p++;
        }
        if (strncmp(p, "}}", 2))
            return -1;
        p += 2;
        n++;
    }
    /* The first record may name the session (elog_session). */
    return strncmp(p, "]}", 2) && strncmp(p, "],\"session\":{", 13) ? -1 : n;
}

static int parse_line(const char *line, long *frame, double *t_ms, logface *faces, int max)
{
    return parse_line_file(line, NULL, 0, frame, t_ms, faces, max);
}

static void check_log(const char *log, const fg_scene *sc, long n_frames)
{
    char *text = rp_slurp(log);
    CHECK(text != NULL);
    if (!text)
        return;
    long expect = 0, found = 0, missed = 0, spurious = 0;
    int ids_ok = 1;
    int first_ids[N_FACES] = {0};
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        long frame;
        double t;
        logface f[8];
        int n = parse_line(line, &frame, &t, f, 8);
        CHECK_MSG(n >= 0, "bad log line: %.200s", line);
        if (n < 0)
            break;
        CHECK_MSG(frame == expect, "frame %ld where %ld was due", frame, expect);
        CHECK(t >= 0);
        expect++;
        cvw_rect pics[FG_MAX_FACES], truth[FG_MAX_FACES];
        fg_layout(sc, (int)frame, pics, truth);
        int matched[8] = {0};
        for (int j = 0; j < sc->n_faces; j++) {
            int hit = -1;
            for (int i = 0; i < n; i++)
                if (!matched[i] && iou(f[i].box, truth[j]) >= 0.4)
                    hit = i;
            if (hit < 0) {
                missed++;
                continue;
            }
            matched[hit] = 1;
            found++;
            /* Faces that never leave keep their track ids. */
            if (!first_ids[j])
                first_ids[j] = f[hit].id;
            else if (f[hit].id != first_ids[j])
                ids_ok = 0;
        }
        for (int i = 0; i < n; i++) {
            spurious += !matched[i];
            CHECK(f[i].id >= 1);
            CHECK(f[i].box.x >= 0 && f[i].box.y >= 0 && f[i].box.w > 0 && f[i].box.h > 0);
            CHECK(f[i].box.x + f[i].box.w <= sc->frame_w && f[i].box.y + f[i].box.h <= sc->frame_h);
            double sum = 0, best = -1;
            int arg = -1;
            for (int c = 0; c < 7; c++) {
                CHECK(f[i].probs[c] >= 0 && f[i].probs[c] <= 1);
                sum += f[i].probs[c];
                if (f[i].probs[c] > best) {
                    best = f[i].probs[c];
                    arg = c;
                }
            }
            CHECK_NEAR(sum, 1.0, 2e-3);
            CHECK_NEAR(f[i].conf, best, 1e-4);
            CHECK_MSG(arg >= 0 && (!strcmp(f[i].emotion, fer_names[arg]) ||
                                   fabs(f[i].probs[arg] - f[i].conf) < 1e-4),
                      "emotion %s is not the most likely class", f[i].emotion);
        }
    }
    CHECK_MSG(expect == n_frames, "%ld frames logged, want %ld", expect, n_frames);
    /* Haar misses the odd frame; the faces must be found nearly always and
     * nothing else found. */
    long total = n_frames * sc->n_faces;
    CHECK_MSG(found >= total * 9 / 10, "found %ld of %ld faces (missed %ld)", found, total, missed);
    CHECK_MSG(spurious <= n_frames / 10, "%ld boxes where there is no face", spurious);
    CHECK_MSG(ids_ok, "a face changed its track id");
    free(text);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_detect_headless EMOTION_DETECT\n");
        return 2;
    }
    const char *exe = argv[1];
    const char *src = getenv("NN_TEST_SRCDIR");
    char dir[4096], pic[4096], cas[4096], vid[4200], model[4200], log[4200], rec[4200],
        out[4200], err[4200], csv[4200], img[4400], folder[4200], errmsg[512];
    CHECK(rp_tmpdir(dir, sizeof dir, "detect") != NULL);
    snprintf(pic, sizeof pic, "%s/assets/astronaut.png", src ? src : ".");
    snprintf(cas, sizeof cas, "%s/cascades/haarcascade_frontalface_default.xml", src ? src : ".");
    snprintf(vid, sizeof vid, "%s/faces.avi", dir);
    snprintf(model, sizeof model, "%s/test.model", dir);
    snprintf(log, sizeof log, "%s/log.jsonl", dir);
    snprintf(rec, sizeof rec, "%s/rec.mp4", dir);
    snprintf(out, sizeof out, "%s/out.txt", dir);
    snprintf(err, sizeof err, "%s/err.txt", dir);
    snprintf(csv, sizeof csv, "%s/log.csv", dir);

    fg_scene sc;
    int ok = fg_init(&sc, pic, cas, 640, 480, N_FRAMES, N_FACES, errmsg, sizeof errmsg) == 0;
    CHECK_MSG(ok, "%s", errmsg);
    if (!ok)
        return test_done("test_detect_headless");
    CHECK_MSG(fg_write_video(&sc, vid, 10) == 0, "%s", cvw_error());
    CHECK(make_test_model(model) == 0);
    int w = 0, h = 0;
    CHECK(fg_count_frames(vid, &w, &h) == N_FRAMES);

    /* The main run: video in, JSON log and recording out. */
    char *run1[] = {(char *)exe, "--headless", "--input", vid, "--model", model, "--log", log,
                    "--record", rec, "--threads", "1", NULL};
    double secs;
    int rc = rp_run(run1, out, err, 120, &secs);
    char *e = rp_slurp(err);
    CHECK_MSG(rc == 0, "exit %d: %s", rc, e ? e : "");
    CHECK(e && strstr(e, "frames/s") && strstr(e, "ms per frame"));
    /* --precision auto (the default) has only FP32 for a model without an
     * INT8 calibration */
    CHECK_MSG(e && strstr(e, "model: fp32, kernels "), "%s", e ? e : "");
    free(e);
    check_log(log, &sc, N_FRAMES);
    int rw = 0, rh = 0;
    CHECK_MSG(fg_count_frames(rec, &rw, &rh) == N_FRAMES, "recording: %s", cvw_error());
    CHECK(rw == 640 && rh == 480);

    /* CSV and --max-frames. */
    char *run2[] = {(char *)exe, "--headless", "-q", "--input", vid, "--model", model, "--log", csv,
                    "--max-frames", "5", NULL};
    CHECK(rp_run(run2, out, err, 60, NULL) == 0);
    char *c = rp_slurp(csv);
    CHECK(c && !strncmp(c, "frame,t_ms,id,x,y,w,h,emotion,confidence,p_angry,", 49));
    int rows = 0, last_frame = -1;
    for (char *l = c ? strchr(c, '\n') : NULL; l && l[1]; l = strchr(l + 1, '\n')) {
        rows++;
        last_frame = atoi(l + 1);
    }
    CHECK_MSG(rows >= 5 && last_frame == 4, "%d rows, last frame %d", rows, last_frame);
    free(c);

    /* An image and a folder of images. */
    snprintf(folder, sizeof folder, "%s/imgs", dir);
    CHECK(mkdir(folder, 0755) == 0);
    uint8_t *frame = malloc((size_t)640 * 480 * 3);
    for (int i = 0; i < 3; i++) {
        snprintf(img, sizeof img, "%s/frame%d.png", folder, i);
        CHECK(fg_render(&sc, i * 10, frame) == 0);
        CHECK(cvw_write_image(img, frame, 640, 480, 3) == 0);
    }
    free(frame);
    char *run3[] = {(char *)exe, "--overwrite",
                    "--headless", "-q", "--input", img, "--model", model, "--log", log,
                    NULL};
    CHECK(rp_run(run3, out, err, 60, NULL) == 0);
    c = rp_slurp(log);
    long fr;
    double t;
    logface lf[8];
    CHECK(c && parse_line(c, &fr, &t, lf, 8) == N_FACES && fr == 0);
    CHECK(c && strchr(c, '\n') && !strchr(c, '\n')[1]); /* exactly one line */
    free(c);
    char *run4[] = {(char *)exe, "--overwrite",
                    "--headless", "-q", "--input", folder, "--model", model, "--log",
                    log, "--record", rec, NULL};
    CHECK(rp_run(run4, out, err, 60, NULL) == 0);
    c = rp_slurp(log);
    int lines = 0, ids_seen[64], n_ids = 0, shared = 0;
    for (char *l = c; l && *l; lines++) {
        /* Each record names its image; stills share no track ids. */
        char file[4400], want[4400];
        int nf = parse_line_file(l, file, sizeof file, &fr, &t, lf, 8);
        snprintf(want, sizeof want, "%s/frame%d.png", folder, lines);
        CHECK_MSG(nf == N_FACES && !strcmp(file, want), "image %d: %d faces, file '%s'", lines,
                  nf, file);
        for (int i = 0; i < nf; i++) {
            for (int j = 0; j < n_ids; j++)
                shared += ids_seen[j] == lf[i].id;
            if (n_ids < 64)
                ids_seen[n_ids++] = lf[i].id;
        }
        l = strchr(l, '\n');
        l = l ? l + 1 : NULL;
    }
    CHECK_MSG(lines == 3, "%d lines for 3 images", lines);
    CHECK_MSG(shared == 0, "%d track ids shared between images", shared);
    free(c);
    CHECK(fg_count_frames(rec, &rw, &rh) == 3);
    /* The CSV log of images has a file column. */
    char *run4c[] = {(char *)exe, "--overwrite",
                     "--headless", "-q", "--input", folder, "--model", model, "--log",
                     csv, NULL};
    CHECK(rp_run(run4c, out, err, 60, NULL) == 0);
    c = rp_slurp(csv);
    CHECK(c && !strncmp(c, "frame,file,t_ms,id,", 19));
    int csv_rows = 0, with_file = 0;
    for (char *l = c ? strchr(c, '\n') : NULL; l && l[1]; l = strchr(l + 1, '\n')) {
        char want[4400];
        long frn = strtol(l + 1, NULL, 10);
        snprintf(want, sizeof want, ",%s/frame%ld.png,", folder, frn);
        csv_rows++;
        with_file += !strncmp(strchr(l + 1, ','), want, strlen(want));
    }
    CHECK_MSG(csv_rows == 3 * N_FACES && with_file == csv_rows, "%d rows, %d with their file",
              csv_rows, with_file);
    free(c);

    /* A folder whose first image is too small for a video (1x1): it is
     * logged, left out of the recording with a warning, and the recording
     * starts with the next image, at its size. A folder of nothing but such
     * images records nothing: exit 1 with one line, the log not put in
     * place (an earlier one kept). */
    char tfolder[4300], tiny_img[4400], trec[4300], tlog[4300];
    snprintf(tfolder, sizeof tfolder, "%s/tinyfirst", dir);
    snprintf(trec, sizeof trec, "%s/tiny.mkv", dir);
    snprintf(tlog, sizeof tlog, "%s/tiny.jsonl", dir);
    CHECK(mkdir(tfolder, 0755) == 0);
    frame = malloc((size_t)640 * 480 * 3);
    CHECK(frame != NULL);
    if (frame) {
        memset(frame, 128, 3);
        snprintf(tiny_img, sizeof tiny_img, "%s/a-tiny.png", tfolder);
        CHECK(cvw_write_image(tiny_img, frame, 1, 1, 3) == 0);
        for (int i = 0; i < 2; i++) {
            snprintf(img, sizeof img, "%s/frame%d.png", tfolder, i);
            CHECK(fg_render(&sc, i * 10, frame) == 0);
            CHECK(cvw_write_image(img, frame, 640, 480, 3) == 0);
        }
        free(frame);
    }
    char *run_tiny[] = {(char *)exe, "--headless", "-q", "--input", tfolder, "--model", model,
                        "--log", tlog, "--record", trec, NULL};
    rc = rp_run(run_tiny, out, err, 60, NULL);
    e = rp_slurp(err);
    CHECK_MSG(rc == 0 && e && strstr(e, "a-tiny.png") && strstr(e, "too small") &&
                  strstr(e, "recorded 2 frames"),
              "a folder whose first image is 1x1: exit %d: %s", rc, e ? e : "");
    free(e);
    lines = rp_count_lines(tlog);
    CHECK_MSG(lines == 3, "%d lines logged for 3 images", lines);
    CHECK_MSG(fg_count_frames(trec, &rw, &rh) == 2 && rw == 640 && rh == 480,
              "the recording: %dx%d", rw, rh);
    for (int i = 0; i < 2; i++) {
        snprintf(img, sizeof img, "%s/frame%d.png", tfolder, i);
        unlink(img);
    }
    CHECK(rp_write(tlog, "old\n", 4) == 0);
    unlink(trec);
    char *run_tiny_only[] = {(char *)exe, "--headless", "-q", "--input", tfolder, "--model", model,
                             "--log", tlog, "--record", trec, "--overwrite", NULL};
    rc = rp_run(run_tiny_only, out, err, 60, NULL);
    e = rp_slurp(err);
    CHECK_MSG(rc == 1 && e && strstr(e, "no image large enough"),
              "a folder of one 1x1 image recorded: exit %d: %s", rc, e ? e : "");
    free(e);
    c = rp_slurp(tlog);
    CHECK_MSG(c && !strcmp(c, "old\n"), "the earlier log replaced: '%.40s'", c ? c : "(gone)");
    free(c);
    CHECK(access(trec, F_OK) != 0);

    /* --loop: the video starts over (frame numbers keep counting, the
     * faces are found again on every pass) until --max-frames; a folder
     * loops too. */
    char *run_loop[] = {(char *)exe, "--overwrite", "--headless", "-q", "--input", vid, "--model", model,
                        "--log", log, "--loop", "--max-frames", "100", "--threads", "1", NULL};
    CHECK(rp_run(run_loop, out, err, 120, NULL) == 0);
    c = rp_slurp(log);
    int in_order = 1, pass_faces[3] = {0, 0, 0};
    lines = 0;
    for (char *l = c; l && *l; lines++) {
        int nf = parse_line(l, &fr, &t, lf, 8);
        in_order &= fr == lines;
        if (nf > 0 && lines < 120)
            pass_faces[lines / N_FRAMES] += nf;
        l = strchr(l, '\n');
        l = l ? l + 1 : NULL;
    }
    free(c);
    CHECK_MSG(lines == 100 && in_order, "%d looped frames logged (in order: %d)", lines, in_order);
    /* Passes 1 and 2 see what pass 1 saw (pass 3 is 20 frames long). */
    CHECK_MSG(pass_faces[0] > 0 && pass_faces[1] == pass_faces[0],
              "faces per pass %d, %d", pass_faces[0], pass_faces[1]);
    char *run_loop_dir[] = {(char *)exe, "--overwrite",
                            "--headless", "-q", "--input", folder, "--model", model,
                            "--log", log, "--loop", "--max-frames", "7", NULL};
    CHECK(rp_run(run_loop_dir, out, err, 60, NULL) == 0);
    lines = rp_count_lines(log);
    CHECK_MSG(lines == 7, "%d lines for 7 looped images", lines);

    /* Ctrl-C mid-run: a clean exit and a playable recording of every frame
     * processed. A longer video so there is time to interrupt it. */
    fg_scene longer = sc;
    longer.n_frames = 400;
    longer.frame_w = 320;
    longer.frame_h = 240;
    longer.n_faces = 1;
    snprintf(vid, sizeof vid, "%s/long.avi", dir);
    CHECK(fg_write_video(&longer, vid, 25) == 0);
    char *run5[] = {(char *)exe, "--overwrite",
                    "--headless", "-q", "--input", vid, "--model", model, "--log", log,
                    "--record", rec, "--threads", "1", NULL};
    unlink(log); /* the wait below watches this run's log grow, not an old one */
    pid_t pid = rp_start(run5, out, err);
    double t0 = rp_now();
    for (;;) {
        /* Wait until some frames are through, then interrupt. */
        struct stat st;
        if ((stat(log, &st) == 0 && st.st_size > 2000) || rp_now() - t0 > 30)
            break;
        usleep(20000);
    }
    kill(pid, SIGINT);
    rc = rp_wait(pid, 30, NULL);
    e = rp_slurp(err);
    CHECK_MSG(rc == 0, "exit %d after SIGINT: %s", rc, e ? e : "");
    free(e);
    lines = rp_count_lines(log);
    long recorded = fg_count_frames(rec, &rw, &rh);
    CHECK_MSG(recorded == lines && lines > 0, "%ld frames recorded, %d logged", recorded, lines);

    /* SIGHUP (the terminal closed, ssh dropped) stops the run as Ctrl-C
     * does: exit 0, an .mp4 finished and playable, the report written.
     * Under nohup (SIGHUP ignored) the run goes on to its end. */
    char hup_rep[4300], hup_sum[4400];
    snprintf(hup_rep, sizeof hup_rep, "%s/hup-report", dir);
    snprintf(hup_sum, sizeof hup_sum, "%s/summary.json", hup_rep);
    char *run_hup[] = {(char *)exe, "--overwrite", "--headless", "-q", "--input", vid, "--model",
                       model, "--log", log, "--record", rec, "--report", hup_rep, "--threads", "1",
                       NULL};
    unlink(log);
    /* The test itself may run under nohup (SIGHUP ignored, which the
     * child would inherit and, as asked, keep): the child gets the default. */
    void (*hup_was)(int) = signal(SIGHUP, SIG_DFL);
    pid = rp_start(run_hup, out, err);
    signal(SIGHUP, hup_was);
    t0 = rp_now();
    for (struct stat st; rp_now() - t0 < 30 && !(stat(log, &st) == 0 && st.st_size > 2000);)
        usleep(20000);
    kill(pid, SIGHUP);
    rc = rp_wait(pid, 30, NULL);
    e = rp_slurp(err);
    CHECK_MSG(rc == 0 && e && strstr(e, "interrupted"), "exit %d after SIGHUP: %s", rc, e ? e : "");
    free(e);
    lines = rp_count_lines(log);
    recorded = fg_count_frames(rec, &rw, &rh);
    CHECK_MSG(recorded == lines && lines > 0 && lines < 400, "after SIGHUP: %ld frames recorded, "
              "%d logged", recorded, lines);
    CHECK_MSG(access(hup_sum, F_OK) == 0, "no report after SIGHUP");
    char *run_nohup[] = {(char *)exe, "--overwrite", "--headless", "-q", "--input", vid, "--model",
                         model, "--log", log, "--max-frames", "60", "--threads", "1", NULL};
    unlink(log);
    pid = fork();
    if (pid == 0) {
        signal(SIGHUP, SIG_IGN); /* what nohup does; kept across exec */
        int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fe, 2);
        execv(exe, run_nohup);
        _exit(127);
    }
    t0 = rp_now();
    for (struct stat st; rp_now() - t0 < 30 && !(stat(log, &st) == 0 && st.st_size > 200);)
        usleep(5000);
    kill(pid, SIGHUP);
    rc = rp_wait(pid, 60, NULL);
    lines = rp_count_lines(log);
    CHECK_MSG(rc == 0 && lines == 60, "under nohup, SIGHUP: exit %d, %d of 60 frames logged", rc,
              lines);

    /* The window loop under SDL's dummy video driver: the video plays at
     * its own frame rate, every frame is logged and recorded, the recording
     * is finished at the end of the input while the window stays open, and
     * Ctrl-C then quits cleanly. */
    fg_scene quick = sc;
    quick.n_frames = 20;
    snprintf(vid, sizeof vid, "%s/quick.avi", dir);
    CHECK(fg_write_video(&quick, vid, 40) == 0);
    setenv("SDL_VIDEODRIVER", "dummy", 1);
    char *run6[] = {(char *)exe, "--overwrite",
                    "--input", vid, "--model", model, "--log", log, "--record", rec,
                    NULL};
    unlink(log); /* the wait below watches this run's log grow, not an old one */
    pid = rp_start(run6, out, err);
    t0 = rp_now();
    for (;;) {
        char *l = rp_slurp(log);
        lines = 0;
        for (char *p = l; p && (p = strchr(p, '\n')); p++)
            lines++;
        free(l);
        if (lines >= 20 || rp_now() - t0 > 30)
            break;
        usleep(50000);
    }
    double played = rp_now() - t0;
    usleep(300000);
    int st;
    CHECK_MSG(waitpid(pid, &st, WNOHANG) == 0, "the window closed at the end of the input");
    kill(pid, SIGINT);
    rc = rp_wait(pid, 30, NULL);
    e = rp_slurp(err);
    CHECK_MSG(rc == 0, "window mode exit %d: %s", rc, e ? e : "");
    free(e);
    CHECK_MSG(lines == 20, "window mode logged %d frames of 20", lines);
    /* 20 frames at 40 frames/s take half a second when paced. */
    CHECK_MSG(played >= 0.4, "20 frames played in %.2f s", played);
    CHECK(fg_count_frames(rec, &rw, &rh) == 20);

    /* --max-frames in the window stops after N frames, as headless does
     * (it used to leave the window open, "end of input"), with the
     * recording finished. */
    char *run8[] = {(char *)exe, "--overwrite", "--input", vid, "--model", model, "--log", log,
                    "--record", rec, "--max-frames", "6", NULL};
    rc = rp_run(run8, out, err, 30, NULL);
    e = rp_slurp(err);
    CHECK_MSG(rc == 0, "window --max-frames 6: exit %d (-1: still open after 30 s): %s", rc,
              e ? e : "");
    free(e);
    c = rp_slurp(log);
    lines = 0;
    for (char *p = c; p && (p = strchr(p, '\n')); p++)
        lines++;
    free(c);
    CHECK_MSG(lines == 6 && fg_count_frames(rec, &rw, &rh) == 6, "window --max-frames 6: %d lines",
              lines);

    /* --kiosk never gives up on a camera: with none there, it keeps the
     * window up (retrying) until told to quit. */
    char *run7[] = {(char *)exe, "--kiosk", "--camera", "57", "--model", model, NULL};
    pid = rp_start(run7, out, err);
    usleep(2500000);
    CHECK_MSG(waitpid(pid, &st, WNOHANG) == 0, "kiosk mode exited without a camera");
    kill(pid, SIGINT);
    rc = rp_wait(pid, 30, NULL);
    e = rp_slurp(err);
    CHECK_MSG(rc == 0, "kiosk exit %d: %s", rc, e ? e : "");
    free(e);

    fg_free(&sc);
    if (!test_failures)
        rp_rmdir(dir);
    else
        fprintf(stderr, "kept %s\n", dir);
    return test_done("test_detect_headless");
}
