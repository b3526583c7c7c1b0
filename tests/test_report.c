/* test_report.c - metrics on a confusion matrix worked by hand, and a full
 * report folder: every file written, PNGs readable with sane sizes, CSV and
 * JSON contents exact; a report that fills the disk keeps the earlier one. */
#include <dirent.h>
#include <ftw.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "app_err.h"
#include "cvw.h"
#include "report.h"
#include "testutil.h"

static char tmpdir[256];

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st; (void)flag; (void)f;
    return remove(p);
}

/* 3 classes, 10 images:
 *   true  0 0 0 0 1 1 1 2 2 2
 *   pred  0 0 1 2 1 1 0 2 2 2
 * confusion rows (true) [2 1 1], [1 2 0], [0 0 3]; 7 right, accuracy 0.7.
 * precision (columns): 2/3, 2/3, 3/4; recall (rows): 2/4, 2/3, 3/3;
 * F1: 4/7, 2/3, 6/7; macro F1 = 44/63. */
static const int truth[10] = {0, 0, 0, 0, 1, 1, 1, 2, 2, 2};
static const int pred[10] = {0, 0, 1, 2, 1, 1, 0, 2, 2, 2};
static const char *const names[3] = {"angry", "happy", "sad"};

static void test_metrics(void)
{
    report_metrics m;
    CHECK(report_metrics_compute(&m, truth, pred, 10, 3) == 0);
    const int conf[9] = {2, 1, 1, 1, 2, 0, 0, 0, 3};
    CHECK(!memcmp(m.confusion, conf, sizeof conf));
    CHECK(m.n == 10 && m.correct == 7 && m.k == 3);
    CHECK_NEAR(m.accuracy, 0.7, 1e-12);
    CHECK_NEAR(m.precision[0], 2.0 / 3, 1e-12);
    CHECK_NEAR(m.precision[1], 2.0 / 3, 1e-12);
    CHECK_NEAR(m.precision[2], 0.75, 1e-12);
    CHECK_NEAR(m.recall[0], 0.5, 1e-12);
    CHECK_NEAR(m.recall[1], 2.0 / 3, 1e-12);
    CHECK_NEAR(m.recall[2], 1.0, 1e-12);
    CHECK_NEAR(m.f1[0], 4.0 / 7, 1e-12);
    CHECK_NEAR(m.f1[1], 2.0 / 3, 1e-12);
    CHECK_NEAR(m.f1[2], 6.0 / 7, 1e-12);
    CHECK_NEAR(m.macro_f1, 44.0 / 63, 1e-12);
    CHECK(m.support[0] == 4 && m.support[1] == 3 && m.support[2] == 3);
    CHECK(m.predicted[0] == 3 && m.predicted[2] == 4);

    /* A class nobody predicts and nobody is: zeros, no NaN. */
    const int t2[2] = {0, 0}, p2[2] = {0, 1};
    CHECK(report_metrics_compute(&m, t2, p2, 2, 3) == 0);
    CHECK(m.precision[2] == 0 && m.recall[2] == 0 && m.f1[2] == 0);
    CHECK(m.recall[1] == 0 && m.precision[1] == 0);
    CHECK_NEAR(m.macro_f1, 2.0 / 3, 1e-12); /* only class 0 has support */
    const int bad[1] = {3};
    CHECK(report_metrics_compute(&m, bad, p2, 1, 3) == -1 && m.n == 0);
    CHECK(report_metrics_compute(&m, t2, p2, 0, 0) == -1);

    /* Printed table. */
    CHECK(report_metrics_compute(&m, truth, pred, 10, 3) == 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    report_metrics_print(f, &m, names);
    fclose(f);
    CHECK(strstr(buf, "accuracy 0.7000 (7 of 10)") != NULL);
    CHECK(strstr(buf, "angry  0.6667     0.5000  0.5714  4") != NULL);
    CHECK(strstr(buf, "sad        0      0      3") != NULL);
    free(buf);
    /* Names beyond ASCII line up by characters, not bytes ("colère" is 7
     * bytes and was padded as if 7 columns wide) */
    const char *const accented[3] = {"colère", "joie", "triste"};
    f = open_memstream(&buf, &len);
    report_metrics_print(f, &m, accented);
    fclose(f);
    CHECK_MSG(strstr(buf, "\ncolère  0.6667") && strstr(buf, "\njoie    0.") &&
                  strstr(buf, "class   precision") && strstr(buf, " colère   joie triste\n") &&
                  strstr(buf, "\ncolère      2"),
              "%s", buf);
    free(buf);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = 0;
    fclose(f);
    return s;
}

static void check_png(const char *dir, const char *name, int min_w, int min_h)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    uint8_t *px = NULL;
    int w = 0, h = 0;
    int rc = cvw_read_gray(p, &px, &w, &h);
    CHECK_MSG(rc == 0, "%s: %s", name, cvw_error());
    CHECK_MSG(w >= min_w && h >= min_h && w <= 4000 && h <= 4000, "%s is %dx%d", name, w, h);
    /* Not blank: a picture has both ink and paper. */
    int dark = 0, light = 0;
    for (int i = 0; px && i < w * h; i++) {
        dark += px[i] < 80;
        light += px[i] > 200;
    }
    CHECK_MSG(dark > 100 && light > w * h / 4, "%s looks blank", name);
    free(px);
}

static void test_report(void)
{
    report_metrics m;
    report_metrics_compute(&m, truth, pred, 10, 3);
    report_epoch hist[5];
    for (int e = 0; e < 5; e++) {
        hist[e] = (report_epoch){
            .epoch = e + 1, .lr = 0.01f / (float)(e + 1),
            .train_loss = 1.5f - 0.2f * e, .train_acc = 0.3f + 0.1f * e,
            .val_loss = 1.6f - 0.15f * e, .val_acc = 0.25f + 0.1f * e, .seconds = 10.5,
        };
    }
    hist[2].val_loss = NAN; /* a gap in the chart, an empty CSV field */

    enum { NF = 8, K = 3, FW = 48, MW = 46, NS = 10 };
    float wts[NF * 1 * K * K];
    for (int i = 0; i < NF * K * K; i++)
        wts[i] = sinf((float)i * 0.7f) * 0.3f;
    uint8_t faces[NS * FW * FW];
    for (int i = 0; i < NS * FW * FW; i++)
        faces[i] = (uint8_t)((i % FW) * 5 + (i / FW % FW) * 2);
    float *maps = malloc(sizeof(float) * 2 * NF * MW * MW);
    for (int i = 0; i < 2 * NF * MW * MW; i++)
        maps[i] = cosf((float)i * 0.01f);
    int idx[6];
    int got = report_pick_samples(truth, pred, 10, 3, 6, 1, idx);
    CHECK(got == 6);
    int wrong = 0;
    for (int i = 0; i < got; i++) {
        wrong += truth[idx[i]] != pred[idx[i]];
        for (int j = 0; j < i; j++)
            CHECK(idx[i] != idx[j]);
        if (i)
            CHECK(truth[idx[i - 1]] <= truth[idx[i]]);
    }
    CHECK(wrong == 3);
    int st[NS], sp[NS];
    float sc[NS];
    for (int i = 0; i < NS; i++) {
        st[i] = truth[i];
        sp[i] = pred[i];
        sc[i] = 0.5f + 0.05f * i;
    }

    char dir[512];
    snprintf(dir, sizeof dir, "%s/run/report", tmpdir); /* parents created */
    report_content r = {
        .title = "test-net", .classes = names, .n_classes = 3,
        .history = hist, .n_epochs = 5,
        .metrics = &m, .metrics_of = "validation", .best_val_accuracy = 0.7, .best_epoch = 4,
        .conv1_w = wts, .conv1_out = NF, .conv1_in = 1, .conv1_k = K,
        .fm_faces = faces, .fm_n = 2, .face_w = FW, .face_h = FW,
        .fm_maps = maps, .fm_c = NF, .fm_h = MW, .fm_w = MW,
        .sample_faces = faces, .n_samples = NS, .sample_true = st, .sample_pred = sp,
        .sample_conf = sc,
        .model = "m.model", .data = "data \"quoted\"", .train_seconds = 52.5,
    };
    CHECK_MSG(report_write(dir, &r) == 0, "%s", app_error());
    free(maps);

    check_png(dir, "curves.png", 1000, 400);
    check_png(dir, "confusion.png", 300, 300);
    check_png(dir, "filters.png", 200, 100);
    check_png(dir, "feature_maps.png", 500, 150);
    check_png(dir, "samples.png", 400, 200);

    char p[600];
    snprintf(p, sizeof p, "%s/per_class.csv", dir);
    char *s = slurp(p);
    CHECK(s && !strcmp(s, "class,precision,recall,f1,support\n"
                          "angry,0.666667,0.500000,0.571429,4\n"
                          "happy,0.666667,0.666667,0.666667,3\n"
                          "sad,0.750000,1.000000,0.857143,3\n"));
    free(s);

    snprintf(p, sizeof p, "%s/history.csv", dir);
    s = slurp(p);
    CHECK(s && strstr(s, "epoch,lr,train_loss,train_acc,val_loss,val_acc,seconds\n"
                         "1,0.01,1.500000,0.300000,1.600000,0.250000,10.50\n") == s);
    CHECK(s && strstr(s, "\n3,0.00333333,1.100000,0.500000,,0.450000,10.50\n"));
    int lines = 0;
    for (char *q = s; q && *q; q++)
        lines += *q == '\n';
    CHECK(lines == 6);
    free(s);

    snprintf(p, sizeof p, "%s/metrics.json", dir);
    s = slurp(p);
    CHECK(s != NULL);
    if (s) {
        CHECK(strstr(s, "\"best_val_accuracy\": 0.7,"));
        CHECK(strstr(s, "\"best_epoch\": 4,"));
        CHECK(strstr(s, "\"classes\": [\"angry\", \"happy\", \"sad\"]"));
        CHECK(strstr(s, "\"accuracy\": 0.7,"));
        CHECK(strstr(s, "\"n\": 10,"));
        CHECK(strstr(s, "\"data\": \"data \\\"quoted\\\"\""));
        CHECK(strstr(s, "\"angry\": {\"precision\": 0.666667, \"recall\": 0.5, "
                        "\"f1\": 0.571429, \"support\": 4}"));
        CHECK(strstr(s, "\"confusion\": [\n    [2, 1, 1],\n    [1, 2, 0],\n    [0, 0, 3]\n  ]"));
        /* Balanced brackets outside strings: a cheap well-formedness check. */
        int depth = 0, in_str = 0, min_depth = 0;
        for (char *q = s; *q; q++) {
            if (in_str) {
                if (*q == '\\')
                    q++;
                else if (*q == '"')
                    in_str = 0;
                continue;
            }
            if (*q == '"')
                in_str = 1;
            else if (*q == '{' || *q == '[')
                depth++;
            else if (*q == '}' || *q == ']')
                depth--;
            if (depth < min_depth)
                min_depth = depth;
        }
        CHECK(depth == 0 && min_depth == 0 && !in_str);
        free(s);
    }
    /* No temporary file left behind. */
    snprintf(p, sizeof p, "%s/metrics.json.tmp", dir);
    CHECK(access(p, F_OK) != 0);

    /* Eval-style JSON without history: best accuracy omitted. */
    report_content e = {.classes = names, .n_classes = 3, .metrics = &m};
    snprintf(p, sizeof p, "%s/eval.json", tmpdir);
    CHECK(report_write_metrics_json(p, &e) == 0);
    s = slurp(p);
    CHECK(s && !strstr(s, "best_val_accuracy") && strstr(s, "\"accuracy\": 0.7"));
    free(s);

    /* A report that fills the disk half-way (RLIMIT_FSIZE in a child:
     * history.csv fits, curves.png does not) leaves the earlier report
     * in the folder as it was, names the file, and no staging folder. */
    {
        snprintf(p, sizeof p, "%s/history.csv", dir);
        char *old_hist = slurp(p);
        struct stat sh, sc;
        char curves[600];
        snprintf(curves, sizeof curves, "%s/curves.png", dir);
        CHECK(old_hist && stat(p, &sh) == 0 && stat(curves, &sc) == 0 && sh.st_size + 256 < sc.st_size);
        report_content shorter = r;
        shorter.n_epochs = 4; /* another history.csv */
        shorter.fm_maps = NULL; /* freed above */
        shorter.fm_n = 0;
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            struct rlimit rl = {(rlim_t)sh.st_size + 256, (rlim_t)sh.st_size + 256};
            signal(SIGXFSZ, SIG_IGN);
            int ok = setrlimit(RLIMIT_FSIZE, &rl) == 0 && report_write(dir, &shorter) == -1 &&
                     strstr(app_error(), curves) != NULL;
            _exit(ok ? 0 : 1);
        }
        int status = -1;
        CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
        CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "a report on a full disk did not fail naming curves.png");
        char *now = slurp(p);
        CHECK_MSG(now && !strcmp(now, old_hist), "the earlier report's history.csv was replaced");
        free(now);
        free(old_hist);
        DIR *d = opendir(dir);
        int staged = 0;
        for (struct dirent *en; d && (en = readdir(d));)
            staged += strncmp(en->d_name, ".report-", 8) == 0;
        if (d)
            closedir(d);
        CHECK_MSG(d && !staged, "a failed report left its staging folder in %s", dir);
    }

    /* A report folder that cannot be made. */
    snprintf(p, sizeof p, "%s/metrics.json/sub", dir);
    CHECK(report_write(p, &r) == -1 && app_error()[0]);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "%s/ed_test_report_XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_metrics();
    test_report();
    if (getenv("ED_TEST_KEEP")) /* to look at the pictures */
        printf("report kept in %s/run/report\n", tmpdir);
    else
        nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    return test_done("test_report");
}
