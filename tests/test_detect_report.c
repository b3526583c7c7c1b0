/* test_detect_report.c - emotion-detect for programs that consume it, end
 * to end on a face video generated here: `--log -` streams one JSON record
 * per frame on stdout and nothing else, and a reader that goes away ends
 * the run cleanly (exit 0, recording finished); `--report DIR` writes the
 * session report, whose summary agrees with the log it came with, and
 * `--from-log` rebuilds the same summary from that log (faces re-read from
 * the source the log names, or a note when it is gone); report files are
 * never an input, and an unwritable folder stops the run before it starts.
 * Usage: test_detect_report PATH/TO/emotion-detect */
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_err.h"
#include "cvw.h"
#include "detect_model.h"
#include "facegen.h"
#include "jsonr.h"
#include "runprog.h"
#include "testutil.h"

#define N_FRAMES 30

static const char *exe;
static char out[4200], err[4200];

/* Run emotion-detect with the arguments; the exit code, stderr in *e when
 * e is not NULL (runprog.h). */
#define RUN(e, ...) rp_run_args(exe, out, err, 120, e, __VA_ARGS__, (const char *)NULL)

/* Per track, from a log: frames seen and frames per top class. */
typedef struct tally {
    int id;
    long frames, per_class[7];
} tally;

/* Every line of text one JSON frame record, frames numbered 0, 1, ...;
 * fills the tallies. Returns the number of records, -1 on a bad line. */
static long parse_stream(const char *text, tally *t, int *n_t)
{
    long n = 0;
    *n_t = 0;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        if (!nl) {
            fprintf(stderr, "a record without its newline: %.80s\n", p);
            return -1;
        }
        jsonr_val *v = jsonr_parse(p, (size_t)(nl - p));
        const jsonr_val *faces = jsonr_get(v, "faces");
        if (!v || jsonr_num(jsonr_get(v, "frame"), -1) != n || !faces || faces->type != JSONR_ARR) {
            fprintf(stderr, "line %ld is not frame %ld's record: %.120s (%s)\n", n + 1, n, p,
                    v ? "" : app_error());
            jsonr_free(v);
            return -1;
        }
        for (int i = 0; i < faces->n; i++) {
            int id = (int)jsonr_num(jsonr_get(&faces->items[i], "id"), 0);
            const char *emo = jsonr_str(jsonr_get(&faces->items[i], "emotion"));
            int k = 0;
            while (k < *n_t && t[k].id != id)
                k++;
            if (k == *n_t && k < 16) {
                memset(&t[k], 0, sizeof t[k]);
                t[k].id = id;
                (*n_t)++;
            }
            if (k < 16) {
                t[k].frames++;
                for (int c = 0; c < 7; c++)
                    if (emo && !strcmp(emo, fer_names[c]))
                        t[k].per_class[c]++;
            }
        }
        jsonr_free(v);
        n++;
        p = nl + 1;
    }
    return n;
}

/* summary.json against the log's tallies: every track, its frames, its
 * shares (summing to 1, each its frame count over the track's). */
/* From /proc/PID/status: whether it catches SIGINT, has no signal
 * pending and sleeps (blocked in its read of the pipe). */
static int waiting_for_input(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    unsigned long long caught = 0, pend = 1, shpend = 1;
    int asleep = 0;
    while (f && fgets(line, sizeof line, f)) {
        sscanf(line, "SigCgt: %llx", &caught);
        sscanf(line, "SigPnd: %llx", &pend);
        sscanf(line, "ShdPnd: %llx", &shpend);
        asleep |= !strncmp(line, "State:\tS", 8);
    }
    if (f)
        fclose(f);
    return (caught & (1ull << (SIGINT - 1))) && !pend && !shpend && asleep;
}

/* --from-log - fed by a pipe, as from a live run, when Ctrl-C stops both:
 * the read it was blocked in failed with EINTR ("cannot read 'standard
 * input': Interrupted system call", exit 1, no report). It must read on to
 * the end the stopped run writes and make the report. */
static void check_interrupted_stdin(const char *dir, const char *log)
{
    char fifo[4300], rep[4300];
    snprintf(fifo, sizeof fifo, "%s/live.fifo", dir);
    snprintf(rep, sizeof rep, "%s/from-interrupted", dir);
    CHECK(mkfifo(fifo, 0600) == 0);
    char *argv_in[] = {(char *)exe, "--report", rep, "--from-log", "-", NULL};
    pid_t pid = rp_start_in(argv_in, fifo, out, err);
    int fd = pid > 0 ? open(fifo, O_WRONLY) : -1; /* the reader has it open */
    char *text = rp_slurp(log);
    CHECK(fd >= 0 && text);
    if (fd < 0 || !text) {
        free(text);
        return;
    }
    size_t half = strchr(text + strlen(text) / 2, '\n') - text + 1;
    CHECK(write(fd, text, half) == (ssize_t)half);
    int n = 0; /* until it has read them and waits for more (at most ~30 s) */
    while (n++ < 6000 && !waiting_for_input(pid))
        usleep(5000);
    kill(pid, SIGINT);
    int st = 0, gone = 0; /* it may end here (it did: EINTR) */
    for (n = 0; n < 6000 && !waiting_for_input(pid) && !gone; n++) {
        gone = waitpid(pid, &st, WNOHANG) == pid;
        usleep(5000);
    }
    /* the stopped run's last records, then its end (a reader gone: EPIPE) */
    signal(SIGPIPE, SIG_IGN);
    if (write(fd, text + half, strlen(text) - half) < 0) { /* the reader has gone: checked below */ }
    close(fd);
    int rc = gone ? (WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st)) : rp_wait(pid, 120, NULL);
    char *e = rp_slurp(err);
    char p[4400];
    snprintf(p, sizeof p, "%s/summary.json", rep);
    CHECK_MSG(rc == 0 && access(p, F_OK) == 0,
              "--from-log - interrupted while reading: exit %d: %s", rc, e ? e : "");
    free(e);
    free(text);
    unlink(fifo);
}

/* A log whose run was killed mid-write ends in half a record: the report
 * leaves it out, and says so (on stderr and in the report), for its
 * figures are one frame short of what the run saw. */
static void check_cut_log(const char *dir, const char *log)
{
    char cut[4300], rep[4300], p[4400];
    snprintf(cut, sizeof cut, "%s/cut.jsonl", dir);
    snprintf(rep, sizeof rep, "%s/from-cut", dir);
    char *text = rp_slurp(log);
    CHECK(text && strlen(text) > 2);
    if (!text)
        return;
    size_t len = strlen(text), lines = 0;
    char *last = text + len - 1; /* the last line's start */
    while (last > text && last[-1] != '\n')
        last--;
    for (const char *q = text; *q; q++)
        lines += *q == '\n';
    CHECK(rp_write(cut, text, (size_t)(last - text) + (len - (size_t)(last - text)) / 2) == 0);
    free(text);
    char *e = NULL;
    int rc = RUN(&e, "--report", rep, "--from-log", cut);
    char want[64];
    snprintf(want, sizeof want, "last line (%zu) is cut short", lines);
    CHECK_MSG(rc == 0 && e && strstr(e, want), "a cut log: exit %d: %s", rc, e ? e : "");
    free(e);
    snprintf(p, sizeof p, "%s/index.html", rep);
    char *html = rp_slurp(p);
    CHECK_MSG(html && strstr(html, want), "the report of a cut log does not say it was cut");
    free(html);
}

static void check_summary(const char *path, const tally *t, int n_t, long frames)
{
    char *text = rp_slurp(path);
    jsonr_val *v = text ? jsonr_parse(text, strlen(text)) : NULL;
    CHECK_MSG(v != NULL, "%s does not parse: %s", path, app_error());
    free(text);
    if (!v)
        return;
    CHECK(jsonr_num(jsonr_get(v, "frames"), -1) == frames);
    CHECK(jsonr_str(jsonr_get(v, "source")) && jsonr_str(jsonr_get(v, "model")));
    CHECK_NEAR(jsonr_num(jsonr_get(v, "fps"), 0), 10.0, 0.01); /* the video's rate */
    CHECK_NEAR(jsonr_num(jsonr_get(v, "duration_s"), 0), frames / 10.0, 0.01);
    const jsonr_val *tracks = jsonr_get(v, "tracks");
    CHECK(tracks && tracks->type == JSONR_ARR && tracks->n == n_t);
    for (int i = 0; tracks && i < tracks->n; i++) {
        const jsonr_val *tr = &tracks->items[i];
        int id = (int)jsonr_num(jsonr_get(tr, "id"), -1);
        const tally *m = NULL;
        for (int k = 0; k < n_t; k++)
            if (t[k].id == id)
                m = &t[k];
        CHECK_MSG(m != NULL, "track %d is not in the log", id);
        if (!m)
            continue;
        CHECK_MSG(jsonr_num(jsonr_get(tr, "frames"), -1) == m->frames, "track %d: frames", id);
        const jsonr_val *share = jsonr_get(tr, "share");
        double sum = 0;
        int best = 0;
        for (int c = 0; c < 7; c++) {
            double s = jsonr_num(jsonr_get(share, fer_names[c]), -1);
            sum += s;
            CHECK_NEAR(s * m->frames, (double)m->per_class[c], 1e-3);
            if (m->per_class[c] > m->per_class[best])
                best = c;
        }
        CHECK_NEAR(sum, 1.0, 1e-4);
        const char *dom = jsonr_str(jsonr_get(tr, "dominant"));
        CHECK_MSG(dom && !strcmp(dom, fer_names[best]), "track %d dominant %s", id, dom);
        double first = jsonr_num(jsonr_get(tr, "first_s"), -1), last = jsonr_num(jsonr_get(tr, "last_s"), -1);
        CHECK(first >= 0 && last >= first && last <= frames / 10.0);
        double mc = jsonr_num(jsonr_get(tr, "mean_confidence"), -1);
        CHECK(mc > 0 && mc <= 1);
    }
    jsonr_free(v);
}

/* The report's files exist and are readable: the pictures decode, the
 * page names them, the CSV has a row per track. */
static void check_files(const char *dir, int n_tracks, int want_faces)
{
    char p[4400];
    uint8_t *px = NULL;
    int w = 0, h = 0;
    snprintf(p, sizeof p, "%s/timeline.png", dir);
    CHECK_MSG(cvw_read_gray(p, &px, &w, &h) == 0 && w >= 800 && h >= 200, "%s", p);
    free(px);
    px = NULL;
    snprintf(p, sizeof p, "%s/faces.png", dir);
    int faces_ok = cvw_read_gray(p, &px, &w, &h) == 0;
    free(px);
    if (want_faces)
        CHECK_MSG(faces_ok && w > 100 && h > 100, "%s", p);
    snprintf(p, sizeof p, "%s/index.html", dir);
    char *html = rp_slurp(p);
    CHECK(html && strstr(html, "<img src=\"timeline.png\"") && strstr(html, "summary.json") &&
          strstr(html, "</html>"));
    if (html)
        CHECK(want_faces == (strstr(html, "<img src=\"faces.png\"") != NULL));
    free(html);
    snprintf(p, sizeof p, "%s/summary.csv", dir);
    char *csv = rp_slurp(p);
    CHECK(csv && !strncmp(csv, "id,first_s,last_s,frames,dominant,mean_confidence,", 50));
    int rows = -1;
    for (char *l = csv; l && *l; rows++) {
        l = strchr(l, '\n');
        l = l ? l + 1 : NULL;
    }
    CHECK_MSG(rows == (n_tracks ? n_tracks : 1), "%d CSV rows for %d tracks", rows, n_tracks);
    free(csv);
}

/* --from-log with an --input that is not the log's: each way the log can
 * tell is refused with exit 2 and one line (it used to write a report
 * whose faces came from the other file, exit 0); the log's input moved,
 * under its name or another, still gives the faces. vid is the video the
 * log was made from (10 frames/s, 480x360, two faces). */
static void check_wrong_input(const char *dir, const char *vid, const char *log,
                              const char *model, const char *pic, const char *cas)
{
    char other[4200], small[4200], gone[4200], imgs[4200], imgs2[4200], ilog[4200],
        rep[4200], p[4400], elsewhere[4200], errmsg[512];
    snprintf(other, sizeof other, "%s/other25.avi", dir);
    snprintf(small, sizeof small, "%s/small.avi", dir);
    snprintf(gone, sizeof gone, "%s/gone.avi", dir);
    snprintf(imgs, sizeof imgs, "%s/imgs", dir);
    snprintf(imgs2, sizeof imgs2, "%s/imgs2", dir);
    snprintf(ilog, sizeof ilog, "%s/imgs.jsonl", dir);
    snprintf(rep, sizeof rep, "%s/wrong-input", dir);
    snprintf(elsewhere, sizeof elsewhere, "%s/elsewhere", dir);
    fg_scene big, tiny;
    CHECK(fg_init(&big, pic, cas, 480, 360, N_FRAMES, 2, errmsg, sizeof errmsg) == 0);
    CHECK(fg_init(&tiny, pic, cas, 200, 150, N_FRAMES, 2, errmsg, sizeof errmsg) == 0);
    CHECK(fg_write_video(&big, other, 25) == 0 && fg_write_video(&tiny, small, 10) == 0);
    CHECK(mkdir(imgs, 0755) == 0 && mkdir(imgs2, 0755) == 0 && mkdir(elsewhere, 0755) == 0);
    uint8_t *px = malloc((size_t)480 * 360 * 3);
    for (int i = 0; px && i < 3; i++) {
        CHECK(fg_render(&big, i * 10, px) == 0);
        snprintf(p, sizeof p, "%s/%c.png", imgs, 'a' + i);
        CHECK(cvw_write_image(p, px, 480, 360, 3) == 0);
        snprintf(p, sizeof p, "%s/%c.png", imgs2, 'x' + i); /* the same pictures, other names */
        CHECK(cvw_write_image(p, px, 480, 360, 3) == 0);
    }
    free(px);
    fg_free(&big);
    fg_free(&tiny);
    char *e = NULL;
    int rc;
    /* Every run below writes or is refused into the one folder: --overwrite
     * lets a later one replace the report an earlier one wrote (the
     * refusals here are about the input, and write nothing either way). */

    /* the log's video still there, another one given */
    rc = RUN(&e, "--overwrite", "--report", rep, "--from-log", log, "--input", other);
    CHECK_MSG(rc == 2 && e && strstr(e, "is not the input of the log") && strstr(e, "still there"),
              "another video beside the log's: exit %d: %s", rc, e ? e : "");
    free(e);
    /* the log's video gone: another frame rate, another frame size, images */
    CHECK(rename(vid, gone) == 0);
    rc = RUN(&e, "--overwrite", "--report", rep, "--from-log", log, "--input", other);
    CHECK_MSG(rc == 2 && e && strstr(e, "is not the input of the log") && strstr(e, "frames/s"),
              "another frame rate: exit %d: %s", rc, e ? e : "");
    free(e);
    rc = RUN(&e, "--overwrite", "--report", rep, "--from-log", log, "--input", small);
    CHECK_MSG(rc == 2 && e && strstr(e, "lies outside the 200x150 frames"),
              "another frame size: exit %d: %s", rc, e ? e : "");
    free(e);
    rc = RUN(&e, "--overwrite", "--report", rep, "--from-log", log, "--input", imgs);
    CHECK_MSG(rc == 2 && e && strstr(e, "the log is of a video") && strstr(e, "a folder of images"),
              "images for a video: exit %d: %s", rc, e ? e : "");
    free(e);
    snprintf(p, sizeof p, "%s/summary.json", rep);
    char *written = rp_slurp(p);
    CHECK(written == NULL); /* nothing written by the refusals */
    free(written);
    /* the log's video moved under its own name: the faces, no note */
    snprintf(p, sizeof p, "%s/faces.avi", elsewhere);
    CHECK(rename(gone, p) == 0);
    rc = RUN(&e, "--overwrite", "--report", rep, "--from-log", log, "--input", p);
    CHECK_MSG(rc == 0 && e && !strstr(e, "note:") && !strstr(e, "No faces.png"), "moved: exit %d: %s",
              rc, e ? e : "");
    free(e);
    snprintf(p, sizeof p, "%s/faces.png", rep);
    written = rp_slurp(p);
    CHECK(written != NULL);
    free(written);
    snprintf(p, sizeof p, "%s/faces.avi", elsewhere);
    CHECK(rename(p, vid) == 0);

    /* a log of images names its pictures: another folder of the same
     * pictures under other names is refused, the folder moved is not */
    rc = RUN(&e, "--headless", "-q", "--input", imgs, "--model", model, "--log", ilog);
    CHECK_MSG(rc == 0, "images: exit %d: %s", rc, e ? e : "");
    free(e);
    rc = RUN(&e, "--overwrite", "--report", rep, "--from-log", ilog, "--input", imgs2);
    CHECK_MSG(rc == 2 && e && strstr(e, "still there"), "another folder: exit %d: %s", rc,
              e ? e : "");
    free(e);
    snprintf(p, sizeof p, "%s/moved-imgs", elsewhere);
    CHECK(rename(imgs, p) == 0);
    rc = RUN(&e, "--overwrite", "--report", rep, "--from-log", ilog, "--input", imgs2);
    CHECK_MSG(rc == 2 && e && strstr(e, "is not the input of the log") &&
                  strstr(e, "the picture 'a.png'"),
              "another folder, the log's gone: exit %d: %s", rc, e ? e : "");
    free(e);
    rc = RUN(&e, "--overwrite", "--report", rep, "--from-log", ilog, "--input", vid);
    CHECK_MSG(rc == 2 && e && strstr(e, "the log is of images"), "a video for images: exit %d: %s",
              rc, e ? e : "");
    free(e);
    rc = RUN(&e, "--overwrite", "--report", rep, "--from-log", ilog, "--input", p);
    CHECK_MSG(rc == 0 && e && !strstr(e, "No faces.png") && !strstr(e, "shows"),
              "images moved: exit %d: %s", rc, e ? e : "");
    free(e);
    CHECK(rename(p, imgs) == 0);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_detect_report EMOTION_DETECT\n");
        return 2;
    }
    exe = argv[1];
    const char *src = getenv("NN_TEST_SRCDIR");
    char dir[4096], pic[4096], cas[4096], vid[4200], model[4200], rec[4200], rep[4200],
        rep2[4200], log[4200], p[4400], errmsg[512];
    CHECK(rp_tmpdir(dir, sizeof dir, "report") != NULL);
    snprintf(pic, sizeof pic, "%s/assets/astronaut.png", src ? src : ".");
    snprintf(cas, sizeof cas, "%s/cascades/haarcascade_frontalface_default.xml", src ? src : ".");
    snprintf(vid, sizeof vid, "%s/faces.avi", dir);
    snprintf(model, sizeof model, "%s/test.model", dir);
    snprintf(rec, sizeof rec, "%s/rec.avi", dir);
    snprintf(rep, sizeof rep, "%s/report", dir);
    snprintf(rep2, sizeof rep2, "%s/from-log/nested", dir);
    snprintf(log, sizeof log, "%s/stream.jsonl", dir);
    snprintf(out, sizeof out, "%s/out.txt", dir);
    snprintf(err, sizeof err, "%s/err.txt", dir);
    fg_scene sc;
    int ok = fg_init(&sc, pic, cas, 480, 360, N_FRAMES, 2, errmsg, sizeof errmsg) == 0;
    CHECK_MSG(ok, "%s", errmsg);
    if (!ok)
        return test_done("test_detect_report");
    CHECK_MSG(fg_write_video(&sc, vid, 10) == 0, "%s", cvw_error());
    CHECK(make_test_model(model) == 0);

    /* --log - and --report together: stdout is the log, line by line, and
     * nothing else; the report agrees with it. */
    char *e = NULL;
    int rc = RUN(&e, "--headless", "--input", vid, "--model", model, "--threads", "1", "--log",
                 "-", "--report", rep);
    CHECK_MSG(rc == 0, "exit %d: %s", rc, e ? e : "");
    CHECK(e && strstr(e, "frames/s")); /* progress and summary stay on stderr */
    free(e);
    char *text = rp_slurp(out);
    tally t[16];
    int n_t = 0;
    long n = text ? parse_stream(text, t, &n_t) : -1;
    CHECK_MSG(n == N_FRAMES, "%ld records on stdout for %d frames", n, N_FRAMES);
    CHECK_MSG(n_t >= 2, "%d tracks", n_t);
    CHECK(text && strstr(text, "\"session\":{\"source\":"));
    CHECK(rp_write(log, text ? text : "", text ? strlen(text) : 0) == 0);
    free(text);
    snprintf(p, sizeof p, "%s/summary.json", rep);
    check_summary(p, t, n_t, N_FRAMES);
    check_files(rep, n_t, 1);

    /* --from-log: the same summary, to the byte, and the faces re-read
     * from the video the log names (a folder made with its parents). */
    rc = RUN(&e, "--report", rep2, "--from-log", log);
    CHECK_MSG(rc == 0, "--from-log exit %d: %s", rc, e ? e : "");
    free(e);
    char p2[4400];
    snprintf(p2, sizeof p2, "%s/summary.json", rep2);
    char *a = rp_slurp(p), *b = rp_slurp(p2);
    CHECK_MSG(a && b && !strcmp(a, b), "--from-log summary differs:\n%s\n%s", a, b);
    free(a);
    free(b);
    snprintf(p, sizeof p, "%s/summary.csv", rep);
    snprintf(p2, sizeof p2, "%s/summary.csv", rep2);
    a = rp_slurp(p), b = rp_slurp(p2);
    CHECK(a && b && !strcmp(a, b));
    free(a);
    free(b);
    check_files(rep2, n_t, 1);
    check_interrupted_stdin(dir, log);
    check_cut_log(dir, log);

    /* A run without a face: the log named the classes only in faces'
     * probabilities, so --from-log's summary.csv lacked the share_ columns
     * and summary.json its classes. The same files, to the byte. */
    {
        char blank[4300], blog[4300], brep[4300], brep2[4300];
        snprintf(blank, sizeof blank, "%s/blank.avi", dir);
        snprintf(blog, sizeof blog, "%s/blank.jsonl", dir);
        snprintf(brep, sizeof brep, "%s/blank-run", dir);
        snprintf(brep2, sizeof brep2, "%s/blank-log", dir);
        cvw_writer *wr = cvw_writer_open(blank, 10, 64, 48);
        unsigned char *grey = calloc((size_t)64 * 48 * 3 + CVW_WRITER_PAD, 1);
        CHECK(wr && grey);
        for (int i = 0; wr && grey && i < 3; i++)
            CHECK(cvw_writer_write(wr, (memset(grey, 90 + i, (size_t)64 * 48 * 3), grey)) == 0);
        CHECK(cvw_writer_close(wr) == 0);
        free(grey);
        rc = RUN(&e, "--headless", "-q", "--input", blank, "--model", model, "--log", blog,
                 "--report", brep);
        CHECK_MSG(rc == 0, "a faceless run: exit %d: %s", rc, e ? e : "");
        free(e);
        rc = RUN(&e, "--report", brep2, "--from-log", blog);
        CHECK_MSG(rc == 0, "--from-log of a faceless run: exit %d: %s", rc, e ? e : "");
        free(e);
        static const char *const sums[] = {"summary.json", "summary.csv"};
        for (int i = 0; i < 2; i++) {
            snprintf(p, sizeof p, "%s/%s", brep, sums[i]);
            snprintf(p2, sizeof p2, "%s/%s", brep2, sums[i]);
            a = rp_slurp(p), b = rp_slurp(p2);
            CHECK_MSG(a && b && !strcmp(a, b) && strstr(a, "angry"),
                      "a faceless run's %s from its log differs:\n%s\n%s", sums[i], a, b);
            free(a);
            free(b);
        }
    }

    /* An earlier report is not replaced without --overwrite: a folder
     * holding any file a report writes (not empty) is refused at the start,
     * exit 2 and one line, for a run and for --from-log; other files in the
     * folder, or an empty one, are no report. */
    char mine[4300], mine_page[4400];
    snprintf(mine, sizeof mine, "%s/mine", dir);
    snprintf(mine_page, sizeof mine_page, "%s/index.html", mine);
    CHECK(mkdir(mine, 0755) == 0 && rp_write(mine_page, "MINE\n", 5) == 0);
    rc = RUN(&e, "--headless", "-q", "--input", vid, "--model", model, "--report", mine);
    CHECK_MSG(rc == 2 && e && strstr(e, "index.html") && strstr(e, "exists") &&
                  strstr(e, "--overwrite") && !strchr(strchr(e, '\n') + 1, '\n'),
              "a run over a report: exit %d: %s", rc, e ? e : "");
    free(e);
    rc = RUN(&e, "--report", mine, "--from-log", log);
    CHECK_MSG(rc == 2 && e && strstr(e, "exists"), "--from-log over a report: exit %d: %s", rc,
              e ? e : "");
    free(e);
    text = rp_slurp(mine_page);
    CHECK_MSG(text && !strcmp(text, "MINE\n"), "index.html replaced: '%.40s'", text ? text : "");
    free(text);
    snprintf(p2, sizeof p2, "%s/timeline.png", mine);
    CHECK_MSG(access(p2, F_OK) != 0, "a refused run wrote %s", p2);
    snprintf(p2, sizeof p2, "%s/summary.json", rep2);
    a = rp_slurp(p2);
    rc = RUN(&e, "--report", rep2, "--from-log", log); /* rep2: the report made above */
    CHECK_MSG(rc == 2 && e && strstr(e, "exists"), "--from-log again: exit %d: %s", rc, e ? e : "");
    free(e);
    b = rp_slurp(p2);
    CHECK(a && b && !strcmp(a, b));
    free(a);
    free(b);
    /* Other files, and an empty page, are not a report. */
    snprintf(p2, sizeof p2, "%s/notes.txt", mine);
    CHECK(rp_write(p2, "notes", 5) == 0 && rp_write(mine_page, "", 0) == 0);
    rc = RUN(&e, "--report", mine, "--from-log", log);
    CHECK_MSG(rc == 0, "a folder with other files: exit %d: %s", rc, e ? e : "");
    free(e);
    check_files(mine, n_t, 1);
    text = rp_slurp(p2);
    CHECK(text && !strcmp(text, "notes"));
    free(text);
    /* --overwrite replaces it. */
    CHECK(rp_write(mine_page, "MINE\n", 5) == 0);
    rc = RUN(&e, "--headless", "-q", "--input", vid, "--model", model, "--report", mine,
             "--overwrite");
    CHECK_MSG(rc == 0, "--overwrite: exit %d: %s", rc, e ? e : "");
    free(e);
    check_files(mine, n_t, 1);

    /* The source gone: the report without faces.png, saying why. */
    char moved[4400];
    snprintf(moved, sizeof moved, "%s/moved.avi", dir);
    CHECK(rename(vid, moved) == 0);
    snprintf(rep2, sizeof rep2, "%s/nofaces", dir);
    rc = RUN(&e, "--report", rep2, "--from-log", log);
    CHECK_MSG(rc == 0 && e && strstr(e, "No faces.png"), "exit %d: %s", rc, e ? e : "");
    free(e);
    check_files(rep2, n_t, 0);
    snprintf(p, sizeof p, "%s/index.html", rep2);
    text = rp_slurp(p);
    CHECK(text && strstr(text, "cannot be read again"));
    free(text);
    /* ... and with --input naming where it went, the faces again (over
     * the report just made: --overwrite). */
    rc = RUN(&e, "--report", rep2, "--from-log", log, "--input", moved, "--overwrite");
    CHECK_MSG(rc == 0, "exit %d: %s", rc, e ? e : "");
    free(e);
    check_files(rep2, n_t, 1);
    /* A report without faces replacing one with them leaves no faces.png
     * of the other beside its page. */
    rc = RUN(&e, "--report", rep2, "--from-log", log, "--overwrite");
    CHECK_MSG(rc == 0, "exit %d: %s", rc, e ? e : "");
    free(e);
    check_files(rep2, n_t, 0);
    snprintf(p, sizeof p, "%s/faces.png", rep2);
    CHECK_MSG(access(p, F_OK) != 0, "the earlier report's faces.png is still there");
    CHECK(rename(moved, vid) == 0);

    /* --input that is not the log's input: refused (exit 2, one line) where
     * the log tells, rather than a faces.png of another video's frames. */
    check_wrong_input(dir, vid, log, model, pic, cas);
    /* --from-log -: the log on standard input, the same report. */
    snprintf(rep2, sizeof rep2, "%s/from-stdin", dir);
    char *argv_in[] = {(char *)exe, "--report", rep2, "--from-log", "-", NULL};
    pid_t in_pid = rp_start_in(argv_in, log, out, err);
    rc = in_pid < 0 ? -1 : rp_wait(in_pid, 120, NULL);
    e = rp_slurp(err);
    CHECK_MSG(rc == 0, "--from-log -: exit %d: %s", rc, e ? e : "");
    free(e);
    snprintf(p, sizeof p, "%s/summary.json", rep);
    snprintf(p2, sizeof p2, "%s/summary.json", rep2);
    a = rp_slurp(p), b = rp_slurp(p2);
    CHECK_MSG(a && b && !strcmp(a, b), "--from-log - summary differs:\n%s\n%s", a, b);
    free(a);
    free(b);
    check_files(rep2, n_t, 1);

    /* A closed pipe: the reader takes one record and leaves; the run ends
     * with exit 0 and a finished recording. A looping input keeps it busy
     * until then. */
    int fds[2];
    CHECK(pipe(fds) == 0);
    char *argv_pipe[] = {(char *)exe, "--headless", "-q", "--input", vid, "--loop", "--model",
                         model, "--threads", "1", "--log", "-", "--record", rec, NULL};
    pid_t pid = fork();
    if (pid == 0) {
        int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fds[1], 1);
        dup2(fe, 2);
        close(fds[0]);
        close(fds[1]);
        execv(exe, argv_pipe);
        _exit(127);
    }
    close(fds[1]);
    FILE *rd = fdopen(fds[0], "r");
    char line[8192];
    CHECK(rd && fgets(line, sizeof line, rd) && !strncmp(line, "{\"frame\":0,", 11));
    fclose(rd); /* the reader goes */
    rc = rp_wait(pid, 60, NULL);
    e = rp_slurp(err);
    CHECK_MSG(rc == 0, "exit %d after the reader left: %s", rc, e ? e : "");
    CHECK(e && strstr(e, "closed the pipe"));
    free(e);
    CHECK_MSG(fg_count_frames(rec, NULL, NULL) >= 1, "the recording is not playable: %s", cvw_error());

    /* Report files are never an input; an unwritable folder stops the
     * run before it starts. */
    snprintf(p, sizeof p, "%s/index.html", rep);
    rc = RUN(&e, "--report", rep, "--from-log", p);
    CHECK_MSG(rc == 2 && e && strstr(e, "same file"), "exit %d: %s", rc, e ? e : "");
    free(e);
    rc = RUN(&e, "--headless", "--input", vid, "--model", model, "--report", "/proc/no/report");
    CHECK_MSG(rc == 1 && e && strstr(e, "--report") && !strstr(e, "frames/s"), "exit %d: %s", rc,
              e ? e : "");
    free(e);
    rc = RUN(&e, "--from-log", log);
    CHECK_MSG(rc == 2 && e && strstr(e, "needs --report"), "exit %d: %s", rc, e ? e : "");
    free(e);
    /* A CSV log cannot be read back; a log that is not one is refused with
     * its line. */
    snprintf(p, sizeof p, "%s/bad.jsonl", dir);
    const char *bad = "{\"frame\":0,\"faces\":[]}\n{\"frame\":1,\"faces\":[\n";
    CHECK(rp_write(p, bad, strlen(bad)) == 0);
    rc = RUN(&e, "--report", rep2, "--from-log", p, "--overwrite");
    CHECK_MSG(rc == 1 && e && strstr(e, "line 2"), "exit %d: %s", rc, e ? e : "");
    free(e);
    const char *csv = "frame,t_ms,id,x,y,w,h,emotion,confidence\n0,0.0,,,,,,,\n";
    CHECK(rp_write(p, csv, strlen(csv)) == 0);
    rc = RUN(&e, "--report", rep2, "--from-log", p, "--overwrite");
    CHECK_MSG(rc == 1 && e && strstr(e, "cannot be read back"), "exit %d: %s", rc, e ? e : "");
    free(e);
    /* Other text is not called a CSV log; a log saved again with a UTF-8
     * byte-order mark is read (both were "a .csv log cannot be read back") */
    CHECK(rp_write(p, "hello\n", 6) == 0);
    rc = RUN(&e, "--report", rep2, "--from-log", p, "--overwrite");
    CHECK_MSG(rc == 1 && e && strstr(e, "line 1 is not a JSON object") && !strstr(e, "CSV"),
              "exit %d: %s", rc, e ? e : "");
    free(e);
    char *whole = rp_slurp(log);
    CHECK(whole != NULL);
    if (whole) {
        size_t n = strlen(whole);
        char *marked = malloc(n + 3);
        CHECK(marked != NULL);
        if (marked) {
            memcpy(marked, "\xEF\xBB\xBF", 3);
            memcpy(marked + 3, whole, n);
            CHECK(rp_write(p, marked, n + 3) == 0);
            rc = RUN(&e, "--report", rep2, "--from-log", p, "--overwrite");
            CHECK_MSG(rc == 0, "exit %d: %s", rc, e ? e : "");
            free(e);
            free(marked);
        }
        free(whole);
    }
    CHECK(rp_write(p, "", 0) == 0);
    rc = RUN(&e, "--report", rep2, "--from-log", p, "--overwrite");
    CHECK_MSG(rc == 1 && e && strstr(e, "no frame records"), "exit %d: %s", rc, e ? e : "");
    free(e);
    /* numbers no log holds, which would not convert to integers (found by
     * fuzz_fromlog): refused, with the line */
    const char *huge[2] = {
        "{\"frame\":0,\"t_ms\":0.0,\"faces\":[]}\n"
        "{\"frame\":1,\"t_ms\":40.0,\"faces\":[{\"id\":1,\"box\":[1e300,0,9,9],"
        "\"emotion\":\"a\",\"confidence\":1,\"probs\":{\"a\":1}}]}\n",
        "{\"frame\":1e300,\"t_ms\":0.0,\"faces\":[]}\n"};
    for (int i = 0; i < 2; i++) {
        CHECK(rp_write(p, huge[i], strlen(huge[i])) == 0);
        rc = RUN(&e, "--report", rep2, "--from-log", p, "--overwrite");
        CHECK_MSG(rc == 1 && e && strstr(e, i ? "line 1: frame number out of range" :
                                                "line 2: a face's id or box out of range"),
                  "exit %d: %s", rc, e ? e : "");
        free(e);
    }

    /* More faces in a frame than any run logs (a hand-made log): refused
     * with its line, not cut to the first 32 without a word. */
    {
        char many[8192];
        int len = snprintf(many, sizeof many, "{\"frame\":0,\"t_ms\":0.0,\"faces\":[");
        for (int i = 0; i < 40; i++)
            len += snprintf(many + len, sizeof many - (size_t)len,
                            "%s{\"id\":%d,\"box\":[%d,0,9,9],\"emotion\":\"a\",\"confidence\":1,"
                            "\"probs\":{\"a\":1}}", i ? "," : "", i + 1, 10 * i);
        len += snprintf(many + len, sizeof many - (size_t)len, "]}\n");
        CHECK(rp_write(p, many, (size_t)len) == 0);
        rc = RUN(&e, "--report", rep2, "--from-log", p, "--overwrite");
        CHECK_MSG(rc == 1 && e && strstr(e, "line 1: 40 faces in one frame; a log holds at most 32"),
                  "exit %d: %s", rc, e ? e : "");
        free(e);
    }

    /* One face id twice in a frame (a hand-made log): refused with its
     * line, not merged into one track. */
    const char *twice = "{\"frame\":0,\"t_ms\":0.0,\"faces\":[]}\n"
        "{\"frame\":1,\"t_ms\":40.0,\"faces\":["
        "{\"id\":3,\"box\":[0,0,9,9],\"emotion\":\"a\",\"confidence\":1,\"probs\":{\"a\":1}},"
        "{\"id\":3,\"box\":[20,0,9,9],\"emotion\":\"a\",\"confidence\":1,\"probs\":{\"a\":1}}"
        "]}\n";
    CHECK(rp_write(p, twice, strlen(twice)) == 0);
    rc = RUN(&e, "--report", rep2, "--from-log", p, "--overwrite");
    CHECK_MSG(rc == 1 && e && strstr(e, "line 2: face id 3 twice in frame 1"), "exit %d: %s", rc,
              e ? e : "");
    free(e);

    /* The window (SDL's dummy driver) writes its report too, when it is
     * closed (here by Ctrl-C once every frame is logged). */
    setenv("SDL_VIDEODRIVER", "dummy", 1);
    char wlog[4300], wrep[4300];
    snprintf(wlog, sizeof wlog, "%s/window.jsonl", dir);
    snprintf(wrep, sizeof wrep, "%s/window-report", dir);
    char *argv_win[] = {(char *)exe, "--input", vid, "--model", model, "--log", wlog,
                        "--report", wrep, NULL};
    pid = rp_start(argv_win, out, err);
    double t0 = rp_now();
    int lines = 0;
    while (rp_now() - t0 < 60) {
        text = rp_slurp(wlog);
        lines = 0;
        for (char *q = text; q && (q = strchr(q, '\n')); q++)
            lines++;
        free(text);
        if (lines >= N_FRAMES)
            break;
        usleep(50000);
    }
    kill(pid, SIGINT);
    rc = rp_wait(pid, 30, NULL);
    e = rp_slurp(err);
    CHECK_MSG(rc == 0 && lines == N_FRAMES, "window: exit %d, %d lines: %s", rc, lines,
              e ? e : "");
    free(e);
    text = rp_slurp(wlog);
    n = text ? parse_stream(text, t, &n_t) : -1;
    free(text);
    CHECK(n == N_FRAMES);
    snprintf(p, sizeof p, "%s/summary.json", wrep);
    check_summary(p, t, n_t, N_FRAMES);
    check_files(wrep, n_t, 1);

    fg_free(&sc);
    if (!test_failures)
        rp_rmdir(dir);
    else
        fprintf(stderr, "kept %s\n", dir);
    return test_done("test_detect_report");
}
