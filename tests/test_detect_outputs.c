/* test_detect_outputs.c - emotion-detect never destroys what the user owns
 * and never reports a broken output as done: an output that is an input
 * (or another output, by inode, not by name) is refused with the input
 * intact; an earlier run's log or recording is not replaced without
 * --overwrite, and a new recording that fills it is exit 1; a failed start leaves an existing log untouched; a full disk
 * (/dev/full behind the name) is exit 1 with one line; a recording killed
 * with SIGKILL still decodes; every CSV row has the header's field count;
 * class names with commas and quotes are quoted, not changed;
 * a model whose output is NaN is refused; a video shorter than its header
 * says is reported; a run that fails once its first frame is in hand
 * (a 1x1 video to record, a full disk) replaces no earlier log or
 * recording and leaves no new file; a disk that fills in mid-run
 * (RLIMIT_FSIZE) keeps an earlier log, recording and report given
 * --overwrite;
 * /dev/null is a log; a failure's line
 * is not lost while the reader thread decodes a picture; under valgrind,
 * recording reads nothing past the frame buffer.
 * Usage: test_detect_outputs PATH/TO/emotion-detect */
#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cvw.h"
#include "detect_model.h"
#include "facegen.h"
#include "runprog.h"
#include "testutil.h"

static const char *exe;
enum { SREPORT_PARTS = 4 }; /* a report's files that every run writes */
static char out[4200], err[4200];

/* Run emotion-detect with the arguments; the exit code, stderr in *e when
 * e is not NULL (runprog.h). */
#define RUN(e, ...) rp_run_args(exe, out, err, 60, e, __VA_ARGS__, (const char *)NULL)

static int lines_of(const char *s)
{
    int n = 0;
    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

/* A failure: exit code rc, one line on stderr holding want. */
static void expect_one_line(int rc, int want_rc, char *e, const char *want, const char *what)
{
    CHECK_MSG(rc == want_rc, "%s: exit %d, want %d: %s", what, rc, want_rc, e ? e : "");
    CHECK_MSG(e && strstr(e, want), "%s: '%s' not in: %s", what, want, e ? e : "");
    CHECK_MSG(lines_of(e) == 1, "%s: %d lines on stderr: %s", what, lines_of(e), e ? e : "");
    free(e);
}

/* A run that failed once started: exit want_rc, its first line holding
 * want (the summary follows it). */
static void expect_first_line(int rc, int want_rc, char *e, const char *want, const char *what)
{
    const char *nl = e ? strchr(e, '\n') : NULL, *at = e ? strstr(e, want) : NULL;
    CHECK_MSG(rc == want_rc, "%s: exit %d, want %d: %s", what, rc, want_rc, e ? e : "");
    CHECK_MSG(at && nl && at < nl, "%s: '%s' not in the first line: %s", what, want, e ? e : "");
    free(e);
}

static int same_bytes(const char *a, const char *b)
{
    struct stat sa, sb;
    if (stat(a, &sa) != 0 || stat(b, &sb) != 0 || sa.st_size != sb.st_size)
        return 0;
    char *x = rp_slurp(a), *y = rp_slurp(b);
    int same = x && y && memcmp(x, y, (size_t)sa.st_size) == 0;
    free(x);
    free(y);
    return same;
}

/* Whether dir holds a temporary output ("NAME.tmp-XXXXXX..."). */
static int tmp_files(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *en; d && (en = readdir(d));)
        n += strstr(en->d_name, ".tmp-") != NULL;
    if (d)
        closedir(d);
    return n;
}

/* argv[0..31] = exe, then the NULL-terminated args (at most 30). */
static void exe_argv(char **argv, char *const *args)
{
    int n = 0;
    argv[n++] = (char *)exe;
    while (n < 31 && args[n - 1])
        argv[n] = args[n - 1], n++;
    argv[n] = NULL;
}
/* RUN with every file the program writes limited to limit bytes
 * (RLIMIT_FSIZE, SIGXFSZ ignored: writes past it fail with EFBIG), as on
 * a disk that fills partway through a run. */
static int run_limited(long limit, char **e, char *const *args)
{
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit rl = {(rlim_t)limit, (rlim_t)limit};
        signal(SIGXFSZ, SIG_IGN);
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
            _exit(126);
        char *argv[32];
        exe_argv(argv, args);
        _exit(rp_run(argv, out, err, 60, NULL) & 255);
    }
    int rc = pid < 0 ? -1 : rp_wait(pid, 90, NULL);
    if (e)
        *e = rp_slurp(err);
    return rc;
}

/* The program with args on a disk with no room at all (RLIMIT_FSIZE 0),
 * its stderr read through a pipe (a file could not take it either); the
 * exit code, stderr in *e. */
static int run_no_room(char **e, char *const *args)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit rl = {0, 0};
        signal(SIGXFSZ, SIG_IGN);
        int null = open("/dev/null", O_RDWR);
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0 || null < 0)
            _exit(126);
        dup2(null, 0);
        dup2(null, 1);
        dup2(fds[1], 2);
        close(fds[0]);
        char *argv[32];
        exe_argv(argv, args);
        execv(exe, argv);
        _exit(127);
    }
    close(fds[1]);
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    ssize_t got;
    while (buf && (got = read(fds[0], buf + len, cap - 1 - len)) > 0)
        if ((len += (size_t)got) == cap - 1)
            buf = realloc(buf, cap *= 2);
    if (buf)
        buf[len] = 0;
    close(fds[0]);
    *e = buf;
    return pid < 0 ? -1 : rp_wait(pid, 60, NULL);
}

/* One CSV line's fields as RFC 4180 reads them (quotes undone) into
 * f[0..max), each up to 128 bytes; returns the count. */
static int csv_split(const char *line, char f[][128], int max)
{
    int n = 0;
    for (const char *p = line;; p++) {
        char buf[128];
        size_t j = 0;
        if (*p == '"') {
            for (p++; *p && !(*p == '"' && p[1] != '"'); p++) {
                if (*p == '"')
                    p++;
                if (j + 1 < sizeof buf)
                    buf[j++] = *p;
            }
            if (*p == '"')
                p++;
        } else {
            for (; *p && *p != ',' && *p != '\n'; p++)
                if (j + 1 < sizeof buf)
                    buf[j++] = *p;
        }
        buf[j] = 0;
        if (n < max)
            memcpy(f[n], buf, j + 1);
        n++;
        if (*p != ',')
            return n;
    }
}

/* A model whose class names hold a comma and quotes (a user's class
 * folders 'smile, big' and 'say "no"'), beside one a comma would be
 * mistaken for: the CSV log names them as the model does, each column its
 * own ('smile, big' and 'smile_big' both became p_smile_big). */
static void check_csv_class_names(const char *dir, const char *vid)
{
    static const char *const names[3] = {"smile, big", "smile_big", "say \"no\""};
    char model[4200], csv[4200];
    snprintf(model, sizeof model, "%s/odd-names.model", dir);
    snprintf(csv, sizeof csv, "%s/odd-names.csv", dir);
    nn_net *net = nn_net_from_arch("fer-compact", 3);
    CHECK(net != NULL);
    if (!net)
        return;
    nn_net_init(net, 3);
    CHECK(nn_net_set_classes(net, names, 3) == 0 && nn_net_save(net, model) == 0);
    nn_net_free(net);
    char *e = NULL;
    int rc = RUN(&e, "--headless", "-q", "--model", model, "--input", vid, "--log", csv);
    CHECK_MSG(rc == 0, "odd names: exit %d: %s", rc, e ? e : "");
    free(e);
    char *c = rp_slurp(csv);
    CHECK(c != NULL);
    char head[32][128], row[32][128];
    int nh = c ? csv_split(c, head, 32) : 0, rows = 0, named = 0;
    CHECK_MSG(nh == 14, "odd names: header of %d fields, want 14", nh);
    for (int k = 0; k < 3 && nh == 14; k++) {
        char want[128];
        snprintf(want, sizeof want, "p_%s", names[k]);
        CHECK_MSG(!strcmp(head[9 + k], want), "odd names: column %d is '%s', want '%s'", 9 + k,
                  head[9 + k], want);
    }
    for (char *line = c ? strchr(c, '\n') : NULL; line && line[1]; line = strchr(line + 1, '\n')) {
        int n = csv_split(line + 1, row, 32);
        rows++;
        CHECK_MSG(n == nh, "odd names: a row of %d fields, the header %d", n, nh);
        for (int k = 0; k < 3 && n > 7; k++)
            named += !strcmp(row[7], names[k]);
    }
    CHECK_MSG(rows > 0 && named == rows, "odd names: %d of %d rows name one of the model's classes",
              named, rows);
    free(c);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_detect_outputs EMOTION_DETECT\n");
        return 2;
    }
    exe = argv[1];
    const char *src = getenv("NN_TEST_SRCDIR");
    char dir[4096], pic[4096], cas[4096], vid[4200], copy[4200], model[4200], nan_model[4200],
        log[4200], hlink[4200], rec[4200], rec2[4200], csv[4200], folder[4200], img[4400],
        errmsg[512];
    CHECK(rp_tmpdir(dir, sizeof dir, "detect-out") != NULL);
    snprintf(pic, sizeof pic, "%s/assets/astronaut.png", src ? src : ".");
    snprintf(cas, sizeof cas, "%s/cascades/haarcascade_frontalface_default.xml", src ? src : ".");
    snprintf(vid, sizeof vid, "%s/faces.avi", dir);
    snprintf(copy, sizeof copy, "%s/faces-copy.avi", dir);
    snprintf(model, sizeof model, "%s/test.model", dir);
    snprintf(nan_model, sizeof nan_model, "%s/nan.model", dir);
    snprintf(log, sizeof log, "%s/log.jsonl", dir);
    snprintf(hlink, sizeof hlink, "%s/link.jsonl", dir);
    snprintf(rec, sizeof rec, "%s/rec.avi", dir);
    snprintf(rec2, sizeof rec2, "%s/rec2.avi", dir);
    snprintf(csv, sizeof csv, "%s/log.csv", dir);
    snprintf(folder, sizeof folder, "%s/frames", dir);
    snprintf(out, sizeof out, "%s/out.txt", dir);
    snprintf(err, sizeof err, "%s/err.txt", dir);

    fg_scene sc;
    int ok = fg_init(&sc, pic, cas, 320, 240, 20, 1, errmsg, sizeof errmsg) == 0;
    CHECK_MSG(ok, "%s", errmsg);
    if (!ok)
        return test_done("test_detect_outputs");
    CHECK_MSG(fg_write_video(&sc, vid, 10) == 0, "%s", cvw_error());
    CHECK(make_test_model(model) == 0);
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", vid, copy);
    CHECK(system(cmd) == 0);
    char *e = NULL;
    int rc;
    struct stat st;

    /* 1. An output that is the input: refused, the input intact. By name,
     * by another name for it, and by a hard link (same inode). */
    rc = RUN(&e, "--headless", "-q", "--model", model, "--input", vid, "--record", vid);
    expect_one_line(rc, 2, e, "same file", "--record = --input");
    char other_name[4300];
    snprintf(other_name, sizeof other_name, "%s/./faces.avi", dir);
    rc = RUN(&e, "--headless", "-q", "--model", model, "--input", vid, "--record", other_name);
    expect_one_line(rc, 2, e, "same file", "--record = --input by another name");
    CHECK(link(vid, hlink) == 0);
    rc = RUN(&e, "--headless", "-q", "--model", model, "--input", vid, "--log", hlink);
    expect_one_line(rc, 2, e, "same file", "--log hard-linked to --input");
    CHECK(same_bytes(vid, copy));
    unlink(hlink);
    /* Two outputs, one file. */
    CHECK(rp_write(log, "old\n", 4) == 0);
    CHECK(link(log, rec2) == 0);
    rc = RUN(&e, "--headless", "-q", "--model", model, "--input", vid, "--log", log, "--record",
             rec2);
    expect_one_line(rc, 2, e, "same file", "--log = --record");
    unlink(rec2);

    /* 2. An earlier run's log and recording are not replaced without
     * --overwrite (one line naming it, exit 2); an empty file holds
     * nothing to keep. */
    CHECK(rp_write(rec, "old recording", 13) == 0);
    rc = RUN(&e, "--headless", "-q", "--model", model, "--input", vid, "--record", rec);
    expect_one_line(rc, 2, e, "--overwrite", "existing recording");
    rc = RUN(&e, "--headless", "-q", "--model", model, "--input", vid, "--log", log);
    expect_one_line(rc, 2, e, "exists", "existing log");
    char empty_log[4300];
    snprintf(empty_log, sizeof empty_log, "%s/empty.jsonl", dir);
    CHECK(rp_write(empty_log, "", 0) == 0);
    rc = RUN(NULL, "--headless", "-q", "--model", model, "--input", vid, "--log", empty_log);
    CHECK_MSG(rc == 0 && stat(empty_log, &st) == 0 && st.st_size > 0,
              "an empty log file: exit %d", rc);
    /* And a failed start with --overwrite leaves them untouched too. */
    rc = RUN(&e, "--headless", "-q", "--model", model, "--input", "/nonexistent/clip.mp4", "--log",
             log, "--record", rec, "--overwrite");
    expect_one_line(rc, 1, e, "no such file", "missing input");
    char *damaged = rp_slurp(model);
    CHECK(damaged && stat(model, &st) == 0);
    if (damaged) {
        damaged[st.st_size / 2] ^= 0x40;
        snprintf(img, sizeof img, "%s/damaged.model", dir);
        CHECK(rp_write(img, damaged, (size_t)st.st_size) == 0);
        free(damaged);
        rc = RUN(&e, "--headless", "-q", "--model", img, "--input", vid, "--log", log, "--record", rec,
                 "--overwrite");
        expect_one_line(rc, 1, e, "damaged.model", "damaged model");
    }
    /* Failures once the first frame is in hand, with --overwrite: a 1x1
     * video cannot be recorded (the log was about to be written), and a
     * log on a full disk (the recording had its first frame). Neither
     * replaces a thing. */
    char tiny[4300], full2[4300];
    snprintf(tiny, sizeof tiny, "%s/tiny1x1.avi", dir);
    snprintf(full2, sizeof full2, "%s/full2.jsonl", dir);
    CHECK(fg_write_raw_avi(tiny, 1, 1, 5, 10) == 0 && symlink("/dev/full", full2) == 0);
    rc = RUN(&e, "--headless", "-q", "--model", model, "--input", tiny, "--log", log, "--record", rec,
             "--overwrite");
    expect_first_line(rc, 1, e, "too small", "a 1x1 video recorded");
    rc = RUN(&e, "--headless", "-q", "--model", model, "--input", vid, "--log", full2, "--record", rec,
             "--overwrite");
    expect_first_line(rc, 1, e, "No space left", "a log on a full disk beside a recording");
    char *l = rp_slurp(log), *r = rp_slurp(rec);
    CHECK_MSG(l && !strcmp(l, "old\n"), "log changed by a failed start: '%s'", l ? l : "(gone)");
    CHECK_MSG(r && !strcmp(r, "old recording"), "recording changed by a failed start");
    free(l);
    free(r);
    /* Without --overwrite, new names: a failed start leaves no file behind
     * (nor a temporary one). */
    char new_log[4300], new_rec[4300];
    snprintf(new_log, sizeof new_log, "%s/new.jsonl", dir);
    snprintf(new_rec, sizeof new_rec, "%s/new.mkv", dir);
    rc = RUN(&e, "--headless", "-q", "--model", model, "--input", tiny, "--log", new_log,
             "--record", new_rec);
    expect_first_line(rc, 1, e, "too small", "a 1x1 video recorded, new names");
    rc = RUN(&e, "--headless", "-q", "--model", model, "--input", vid, "--log", full2, "--record",
             new_rec);
    expect_first_line(rc, 1, e, "No space left", "a log on a full disk, a new recording");
    CHECK_MSG(access(new_log, F_OK) != 0, "a failed start left %s", new_log);
    CHECK_MSG(access(new_rec, F_OK) != 0, "a failed start left %s", new_rec);
    CHECK_MSG(!tmp_files(dir), "a failed start left a temporary file in %s", dir);
    unlink(full2);
    /* With --overwrite a run that works replaces them. */
    snprintf(img, sizeof img, "%s/old.jsonl", dir);
    CHECK(rp_write(img, "old\n", 4) == 0);
    rc = RUN(NULL, "--headless", "-q", "--model", model, "--input", vid, "--log", img, "--overwrite");
    l = rp_slurp(img);
    CHECK_MSG(rc == 0 && l && strstr(l, "\"frame\""), "--overwrite: exit %d, log '%.40s'", rc,
              l ? l : "(gone)");
    free(l);

    /* A disk that fills in mid-run, with --overwrite: the earlier log and
     * recording (a whole run's) are kept as they were, not replaced by
     * the cut-short new ones; exit 1 naming the file; no temporary file
     * left. */
    {
        char good_log[4300], good_rec[4300], old_log[4300], old_rec[4300];
        snprintf(good_log, sizeof good_log, "%s/good.jsonl", dir);
        snprintf(good_rec, sizeof good_rec, "%s/good.avi", dir);
        snprintf(old_log, sizeof old_log, "%s/kept.jsonl", dir);
        snprintf(old_rec, sizeof old_rec, "%s/kept.avi", dir);
        rc = RUN(NULL, "--headless", "-q", "--model", model, "--input", vid, "--log", good_log,
                 "--record", good_rec);
        CHECK(rc == 0);
        char cp[18000];
        snprintf(cp, sizeof cp, "cp '%s' '%s' && cp '%s' '%s'", good_log, old_log, good_rec, old_rec);
        CHECK(system(cp) == 0);
        CHECK(stat(good_log, &st) == 0 && st.st_size > 2000);
        long log_size = (long)st.st_size;
        CHECK(stat(good_rec, &st) == 0);
        long rec_size = (long)st.st_size;
        /* the log's first frames fit, not all of them */
        char *a1[] = {"--headless", "-q", "--model", model, "--input", vid, "--log", old_log,
                      "--overwrite", NULL};
        char lim[32];
        snprintf(lim, sizeof lim, "%ld", log_size / 2);
        rc = run_limited(log_size / 2, &e, a1);
        expect_first_line(rc, 1, e, "kept.jsonl", "a log that fills the disk, --overwrite");
        CHECK_MSG(same_bytes(old_log, good_log), "an earlier log replaced by one cut short at %s bytes",
                  lim);
        /* the recording's first frame fits, not all of them */
        char *a2[] = {"--headless", "-q", "--model", model, "--input", vid, "--record", old_rec,
                      "--log", old_log, "--overwrite", NULL};
        rc = run_limited(rec_size / 2, &e, a2);
        expect_first_line(rc, 1, e, "kept.avi", "a recording that fills the disk, --overwrite");
        CHECK_MSG(same_bytes(old_rec, good_rec), "an earlier recording replaced by one cut short");
        CHECK_MSG(same_bytes(old_log, good_log), "an earlier log replaced when the recording failed");
        CHECK_MSG(!tmp_files(dir), "a failed run left a temporary file in %s", dir);
        /* A new recording (no --overwrite: it grows in place) that fills
         * the disk: its index or cues never get written, the seek to its
         * last frame fails quietly and the read gives the first. It was
         * "recorded 40 frames", exit 0; it must be exit 1 naming it. */
        static const char *const fill_ext[] = {"avi", "mkv"};
        for (int i = 0; i < 2; i++) {
            char fresh[4300];
            snprintf(fresh, sizeof fresh, "%s/fresh.%s", dir, fill_ext[i]);
            char *a3[] = {"--headless", "-q", "--model", model, "--input", vid, "--loop",
                          "--max-frames", "40", "--record", fresh, NULL};
            rc = run_limited(rec_size * 3 / 4, &e, a3); /* 40 frames do not fit */
            CHECK_MSG(rc == 1 && e && strstr(e, fresh) && strstr(e, "lacks frames"),
                      "a new .%s recording that fills the disk: exit %d: %s", fill_ext[i], rc,
                      e ? e : "");
            free(e);
            unlink(fresh);
        }
        /* A new log that fills the disk mid-run beside a new recording:
         * the log's failure ends the run, and the recording, in place and
         * cut short too, must be named as failed, not closed unmentioned. */
        {
            char flog[4300], frec[4300];
            snprintf(flog, sizeof flog, "%s/fresh.jsonl", dir);
            snprintf(frec, sizeof frec, "%s/fresh.avi", dir);
            char *a4[] = {"--headless", "-q", "--model", model, "--input", vid, "--log", flog,
                          "--record", frec, NULL};
            rc = run_limited(log_size / 2, &e, a4);
            const char *said = e ? strstr(e, frec) : NULL;
            CHECK_MSG(rc == 1 && e && strstr(e, "log: cannot write") && said &&
                          strstr(said, "disk full?"),
                      "a log that fills the disk beside a recording: exit %d: %s", rc, e ? e : "");
            free(e);
            unlink(flog);
            unlink(frec);
        }
        /* and a run that works replaces them */
        CHECK(rp_write(old_log, "old\n", 4) == 0);
        rc = RUN(NULL, "--headless", "-q", "--model", model, "--input", vid, "--log", old_log,
                 "--record", old_rec, "--overwrite");
        char *nl = rp_slurp(old_log);
        CHECK_MSG(rc == 0 && nl && strstr(nl, "\"frame\"") && !tmp_files(dir),
                  "--overwrite after the failures: exit %d", rc);
        free(nl);
        unlink(good_log);
        unlink(good_rec);
        unlink(old_log);
        unlink(old_rec);
    }

    /* A disk with no room at all: it still makes empty files, so the
     * probe passed and a --report failed only when the whole run had been
     * made. It must fail at the start, one line, no frame processed. */
    {
        char rep[4300];
        snprintf(rep, sizeof rep, "%s/noroom", dir);
        char *a[] = {"--headless", "-q", "--model", model, "--input", vid, "--report", rep, NULL};
        rc = run_no_room(&e, a);
        expect_one_line(rc, 1, e, "no room in folder", "--report on a disk with no room");
    }

    /* A report that fills the disk half-way, with --overwrite: the earlier
     * report is kept whole (not its summary new beside its old pictures),
     * exit 1 naming the file the user asked for; no staging folder left. */
    {
        char rep[4300], part[4400], kept[SREPORT_PARTS][4400];
        static const char *const parts[SREPORT_PARTS] = {"summary.json", "summary.csv", "timeline.png",
                                                         "index.html"};
        snprintf(rep, sizeof rep, "%s/rep", dir);
        rc = RUN(NULL, "--headless", "-q", "--model", model, "--input", vid, "--report", rep);
        CHECK(rc == 0);
        long size[SREPORT_PARTS];
        for (int i = 0; i < SREPORT_PARTS; i++) {
            snprintf(part, sizeof part, "%s/%s", rep, parts[i]);
            snprintf(kept[i], sizeof kept[i], "%s/kept-%s", dir, parts[i]);
            char cp[9000];
            snprintf(cp, sizeof cp, "cp '%.4399s' '%.4399s'", part, kept[i]);
            CHECK(system(cp) == 0);
            size[i] = stat(part, &st) == 0 ? (long)st.st_size : -1;
        }
        /* the summaries (written first) fit, the timeline picture does not */
        long limit = (size[0] > size[1] ? size[0] : size[1]) + 256;
        CHECK_MSG(limit < size[2], "timeline.png (%ld bytes) no larger than the summaries", size[2]);
        char *a[] = {"--headless", "-q", "--model", model, "--input", vid, "--max-frames", "4",
                     "--report", rep, "--overwrite", NULL};
        rc = run_limited(limit, &e, a);
        snprintf(part, sizeof part, "%s/timeline.png", rep);
        CHECK_MSG(rc == 1 && e && strstr(e, part), "a report that fills the disk, --overwrite: exit %d: %s",
                  rc, e ? e : "");
        free(e);
        for (int i = 0; i < SREPORT_PARTS; i++) {
            snprintf(part, sizeof part, "%s/%s", rep, parts[i]);
            CHECK_MSG(same_bytes(part, kept[i]), "the earlier report's %s replaced by a failed run's",
                      parts[i]);
            unlink(kept[i]);
        }
        DIR *d = opendir(rep);
        int staged = 0;
        for (struct dirent *en; d && (en = readdir(d));)
            staged += strncmp(en->d_name, ".report-", 8) == 0;
        if (d)
            closedir(d);
        CHECK_MSG(d && !staged, "a failed report left its staging folder in %s", rep);
        /* and a run that works replaces it */
        rc = RUN(NULL, "--headless", "-q", "--model", model, "--input", vid, "--max-frames", "4",
                 "--report", rep, "--overwrite");
        snprintf(part, sizeof part, "%s/summary.json", rep);
        CHECK_MSG(rc == 0 && !same_bytes(part, kept[0]), "--overwrite after the failure: exit %d", rc);
        char rm[4400];
        snprintf(rm, sizeof rm, "rm -r '%s'", rep);
        CHECK(system(rm) == 0);
    }

    /* 3. A full disk: exit 1, one line naming the file, no "recorded". */
    char full_log[4300], full_rec[4300];
    snprintf(full_log, sizeof full_log, "%s/full.jsonl", dir);
    snprintf(full_rec, sizeof full_rec, "%s/full.avi", dir);
    CHECK(symlink("/dev/full", full_log) == 0 && symlink("/dev/full", full_rec) == 0);
    rc = RUN(&e, "--headless", "-q", "--model", model, "--input", vid, "--log", full_log);
    CHECK_MSG(rc == 1 && e && strstr(e, "full.jsonl") && strstr(e, "No space left"),
              "log on a full disk: exit %d: %s", rc, e ? e : "");
    {
        /* The failure is said once. */
        int n = 0;
        for (const char *p = e; p && (p = strstr(p, "full.jsonl")); p++)
            n++;
        CHECK_MSG(n == 1, "the log failure said %d times: %s", n, e ? e : "");
    }
    free(e);
    rc = RUN(&e, "--headless", "-q", "--model", model, "--input", vid, "--record", full_rec);
    CHECK_MSG(rc == 1 && e && strstr(e, "full.avi") && !strstr(e, "recorded "),
              "recording on a full disk: exit %d: %s", rc, e ? e : "");
    free(e);

    /* 4. SIGKILL mid-recording: what was recorded before still decodes,
     * in both containers the help says survive it. */
    static const char *const killed[] = {"killed.avi", "killed.mkv"};
    for (int i = 0; i < 2; i++) {
        char kill_rec[4300];
        snprintf(kill_rec, sizeof kill_rec, "%s/%s", dir, killed[i]);
        char *kill_argv[] = {(char *)exe, "--headless", "-q", "--model", model, "--input", vid,
                             "--loop", "--threads", "1", "--record", kill_rec, NULL};
        pid_t pid = rp_start(kill_argv, out, err);
        double t0 = rp_now();
        while (rp_now() - t0 < 60 && !(stat(kill_rec, &st) == 0 && st.st_size > 400000))
            usleep(20000);
        kill(pid, SIGKILL);
        rc = rp_wait(pid, 10, NULL);
        CHECK(rc == 128 + SIGKILL);
        long got = fg_count_frames(kill_rec, NULL, NULL);
        printf("killed recording %s: %lld bytes, %ld frames decode\n", killed[i],
               (long long)st.st_size, got);
        CHECK_MSG(got >= 20, "a killed recording %s of %lld bytes decodes to %ld frames",
                  killed[i], (long long)st.st_size, got);
    }

    /* 5. CSV: every row has the header's field count, frames without faces
     * too (a folder: a blank image, then a face). */
    CHECK(mkdir(folder, 0755) == 0);
    uint8_t *frame = malloc((size_t)320 * 240 * 3);
    CHECK(frame != NULL);
    if (frame) {
        memset(frame, 90, (size_t)320 * 240 * 3);
        snprintf(img, sizeof img, "%s/a-blank.png", folder);
        CHECK(cvw_write_image(img, frame, 320, 240, 3) == 0);
        CHECK(fg_render(&sc, 0, frame) == 0);
        snprintf(img, sizeof img, "%s/b-face.png", folder);
        CHECK(cvw_write_image(img, frame, 320, 240, 3) == 0);
        free(frame);
    }
    rc = RUN(&e, "--headless", "-q", "--model", model, "--input", folder, "--log", csv);
    CHECK_MSG(rc == 0, "csv run: exit %d: %s", rc, e ? e : "");
    free(e);
    char *c = rp_slurp(csv);
    int rows = 0, bad = 0, empty_face_rows = 0, header_fields = -1;
    for (char *line = c; line && *line;) {
        char *nl = strchr(line, '\n');
        int fields = 1;
        for (char *p = line; p < (nl ? nl : line + strlen(line)); p++)
            fields += *p == ',';
        if (header_fields < 0)
            header_fields = fields;
        else {
            rows++;
            bad += fields != header_fields;
            empty_face_rows += !strncmp(strchr(line, ',') + 1, "0.0,,", 5) ||
                               strstr(line, ",,,,,,,") != NULL;
        }
        line = nl ? nl + 1 : NULL;
    }
    free(c);
    /* 9 fields, the file column of a log of images, 7 probabilities, hint and calibrated. */
    CHECK_MSG(header_fields == 19 && rows >= 2 && bad == 0 && empty_face_rows >= 1,
              "csv: header %d fields, %d rows, %d with another count, %d without faces",
              header_fields, rows, bad, empty_face_rows);

    check_csv_class_names(dir, vid);

    /* 6. A model whose output is NaN: every weight finite (the loader's
     * checks and the checksum pass) but so large the sums overflow. */
    nn_net *net = nn_net_load(model);
    CHECK(net != NULL);
    if (net) {
        /* Every number finite, so the file is well formed and its checksum
         * valid, but so large that the sums overflow to inf - inf = NaN. */
        float *w = nn_net_params(net);
        for (size_t i = 0; i < nn_net_n_params(net); i++)
            w[i] = 1e38f;
        nn_net_preproc(net)->scale = 1e38f;
        nn_net_preproc(net)->bias = 1e38f;
        CHECK(nn_net_save(net, nan_model) == 0);
        nn_net_free(net);
        CHECK(nn_net_load(nan_model) == NULL);
        rc = RUN(&e, "--headless", "-q", "--model", nan_model, "--input", vid, "--log", log,
                 "--overwrite");
        expect_one_line(rc, 1, e, "no valid probabilities", "NaN model");
    }

    /* 7. A video cut short of the frame count its header states: warned,
     * and the summary says how many frames were read. */
    char *bytes = rp_slurp(vid);
    CHECK(bytes && stat(vid, &st) == 0);
    if (bytes) {
        char cut[4300];
        snprintf(cut, sizeof cut, "%s/cut.avi", dir);
        CHECK(rp_write(cut, bytes, (size_t)st.st_size / 2) == 0);
        free(bytes);
        rc = RUN(&e, "--headless", "-q", "--model", model, "--input", cut);
        CHECK_MSG(rc == 0 && e && strstr(e, "ended after") && strstr(e, "of its 20 frames read"),
                  "cut video: exit %d: %s", rc, e ? e : "");
        free(e);
    }

    /* 8. A device is a log whatever its name (/dev/null: JSON lines to
     * nowhere). */
    rc = RUN(&e, "--headless", "-q", "--model", model, "--input", vid, "--log", "/dev/null");
    CHECK_MSG(rc == 0, "--log /dev/null: exit %d: %s", rc, e ? e : "");
    free(e);

    /* 9. A failure's line reaches stderr while the reader thread decodes
     * the next picture: a folder whose first image is quick to process,
     * the next one large (6000x4000: a small file, long to decode), and a
     * log on a full disk, which fails with the first frame. (Before, the
     * decoder's stderr was muted for the whole process meanwhile: the line
     * was lost in most runs.) */
    char slow[4300], full3[4300];
    snprintf(slow, sizeof slow, "%s/slow", dir);
    snprintf(full3, sizeof full3, "%s/full3.jsonl", dir);
    CHECK(mkdir(slow, 0755) == 0 && symlink("/dev/full", full3) == 0);
    int nw = 6000, nh = 4000;
    uint8_t *plain = malloc((size_t)nw * nh * 3);
    CHECK(plain != NULL);
    if (plain) {
        memset(plain, 100, (size_t)nw * nh * 3);
        snprintf(img, sizeof img, "%s/b-large.png", slow);
        CHECK(cvw_write_image(img, plain, nw, nh, 3) == 0);
        snprintf(img, sizeof img, "%s/a-first.png", slow);
        CHECK(cvw_write_image(img, plain, 320, 240, 3) == 0);
        free(plain);
    }
    for (int i = 0; i < 4; i++) {
        rc = RUN(&e, "--headless", "-q", "--model", model, "--input", slow, "--log", full3);
        expect_first_line(rc, 1, e, "No space left", "a failure while the next picture decodes");
    }
    CHECK_MSG(!tmp_files(dir), "a temporary file left in %s", dir);

    /* 10. Recording reads no byte outside the program's frame buffer:
     * FFmpeg's scaler reads up to 16 bytes past a frame's end, which the
     * buffer must hold (under valgrind, when it is installed; the
     * reference kernels spare it the kernel timing). */
    /* (an ASan build's binaries cannot run under valgrind) */
    const char *vg = access("/usr/bin/valgrind", X_OK) == 0 && !getenv("NN_TEST_SANITIZED")
                         ? "/usr/bin/valgrind" : NULL;
    if (vg) {
        char small[4300], vg_rec[4300];
        snprintf(small, sizeof small, "%s/small.avi", dir);
        snprintf(vg_rec, sizeof vg_rec, "%s/valgrind.avi", dir);
        uint8_t *px = calloc((size_t)64 * 48 * 3 + CVW_WRITER_PAD, 1);
        cvw_writer *wr = px ? cvw_writer_open(small, 10, 64, 48) : NULL;
        CHECK(wr != NULL);
        for (int i = 0; wr && i < 3; i++)
            CHECK(cvw_writer_write(wr, px) == 0);
        CHECK(cvw_writer_close(wr) == 0);
        free(px);
        setenv("NN_KERNEL", "ref", 1);
        rc = rp_run_args(vg, out, err, 280, &e, "-q", "--error-exitcode=99", exe, "--headless",
                         "-q", "--model", model, "--input", small, "--record", vg_rec,
                         "--threads", "1", "--without", "rollnet", "--max-frames", "2",
                         (const char *)NULL);
        unsetenv("NN_KERNEL");
        CHECK_MSG(rc == 0 && fg_count_frames(vg_rec, NULL, NULL) == 2,
                  "--record under valgrind: exit %d: %s", rc, e ? e : "");
        free(e);
    } else {
        printf("valgrind is not installed: the recording's over-read is not checked\n");
    }

    fg_free(&sc);
    if (!test_failures)
        rp_rmdir(dir);
    else
        fprintf(stderr, "kept %s\n", dir);
    return test_done("test_detect_outputs");
}
