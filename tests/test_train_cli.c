/* test_train_cli.c - emotion-train train and eval end to end on generated
 * data (no ../shared): a short run must beat chance by a wide margin and
 * write its report; a run interrupted mid-epoch and resumed from its
 * checkpoint must end with exactly the weights of an uninterrupted run;
 * eval must agree; --init must carry a model's weights into a new run;
 * bad input must fail cleanly; no command writes over an earlier one's
 * output (or report folder, or predict's pictures) without --overwrite.
 * argv[1] is the emotion-train binary. */

#include "cvw.h"
#include "nn.h"
#include "runprog.h"
#include "testutil.h"

#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *prog;
static char dir[256];

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
    char args[2048], cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "%s %s >>%s/log 2>&1 </dev/null", prog, args, dir);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Three classes of 32x32 faces-to-be: horizontal bars, vertical bars, a
 * bright disc; each with noise and random offsets, 80 per class. */
static void make_data(void)
{
    static const char *cls[3] = {"happy", "sad", "surprise"};
    char path[512];
    uint64_t s = 77;
    snprintf(path, sizeof path, "%s/data", dir);
    mkdir(path, 0755);
    for (int c = 0; c < 3; c++) {
        snprintf(path, sizeof path, "%s/data/%s", dir, cls[c]);
        mkdir(path, 0755);
        for (int i = 0; i < 80; i++) {
            uint8_t img[32 * 32];
            int off = i % 5;
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++) {
                    int v;
                    if (c == 0)
                        v = ((y + off) / 4) % 2 ? 200 : 60;
                    else if (c == 1)
                        v = ((x + off) / 4) % 2 ? 200 : 60;
                    else
                        v = (x - 14 - off) * (x - 14 - off) + (y - 14 - off) * (y - 14 - off) < 64 ? 220 : 70;
                    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
                    v += (int)(s >> 59) * 4 - 32;
                    img[y * 32 + x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
                }
            snprintf(path, sizeof path, "%s/data/%s/%03d.png", dir, cls[c], i);
            CHECK(cvw_write_image(path, img, 32, 32, 1) == 0);
        }
    }
    snprintf(path, sizeof path, "%s/arch.txt", dir);
    FILE *f = fopen(path, "w");
    fputs("input 24x24x1\nconv 8 3x3 same bn relu\nmaxpool 2\nconv 16 3x3 same relu\ngap\n"
          "dense classes softmax\n", f);
    fclose(f);
}

/* Cartoon faces for --target roll: a light oval, two dark eyes and a
 * mouth, each placed with a little jitter, noise over all; 160 of 32x32
 * in one folder (the emotion labels do not matter to a roll). */
static void make_faces(void)
{
    char path[512];
    uint64_t s = 91;
    snprintf(path, sizeof path, "%s/faces", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/faces/neutral", dir);
    mkdir(path, 0755);
    for (int i = 0; i < 160; i++) {
        uint8_t img[32 * 32];
        int jx = i % 3 - 1, jy = i / 3 % 3 - 1, eye = 5 + i % 2;
        for (int y = 0; y < 32; y++)
            for (int x = 0; x < 32; x++) {
                double ex = (x - 15.5 - jx) / 11.0, ey = (y - 15.5 - jy) / 14.0;
                int v = ex * ex + ey * ey < 1 ? 190 : 60;
                int dy = y - 12 - jy, dl = x - (15 - eye) - jx, dr = x - (16 + eye) - jx;
                if (dy * dy + dl * dl <= 5 || dy * dy + dr * dr <= 5)
                    v = 30;
                if (abs(y - 23 - jy) <= 1 && abs(x - 15 - jx) <= 5)
                    v = 50;
                s = s * 6364136223846793005ULL + 1442695040888963407ULL;
                v += (int)(s >> 59) * 2 - 16;
                img[y * 32 + x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
        snprintf(path, sizeof path, "%s/faces/neutral/%03d.png", dir, i);
        CHECK(cvw_write_image(path, img, 32, 32, 1) == 0);
    }
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static void clear(const char *path)
{
    FILE *f = fopen(path, "w");
    if (f)
        fclose(f);
}

/* Whether path is the file `before` was taken of, untouched since. */
static int unchanged(const char *path, const struct stat *before)
{
    struct stat st;
    return stat(path, &st) == 0 && st.st_ino == before->st_ino && st.st_size == before->st_size &&
           st.st_mtim.tv_sec == before->st_mtim.tv_sec && st.st_mtim.tv_nsec == before->st_mtim.tv_nsec;
}

/* Whether the log (cleared before the command) holds exactly one line,
 * containing want. */
static int said_once(const char *want)
{
    char logp[300];
    snprintf(logp, sizeof logp, "%s/log", dir);
    const char *msg = slurp(logp);
    int ok = msg && strstr(msg, want) && strchr(msg, '\n') == strrchr(msg, '\n');
    if (!ok)
        fprintf(stderr, "wanted one line with '%s', got: %s", want, msg ? msg : "(nothing)\n");
    return ok;
}

static void clear_log(void)
{
    char logp[300];
    snprintf(logp, sizeof logp, "%s/log", dir);
    clear(logp);
}

static double json_number(const char *json, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = json ? strstr(json, pat) : NULL;
    return p ? strtod(p + strlen(pat), NULL) : -1;
}

static int same_weights(const char *a, const char *b)
{
    nn_net *x = nn_net_load(a), *y = nn_net_load(b);
    int same = x && y && nn_net_n_params(x) == nn_net_n_params(y) &&
               !memcmp(nn_net_params(x), nn_net_params(y), nn_net_n_params(x) * sizeof(float)) &&
               !memcmp(nn_net_state(x), nn_net_state(y), nn_net_n_state(x) * sizeof(float));
    nn_net_free(x);
    nn_net_free(y);
    return same;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_train_cli EMOTION-TRAIN\n");
        return 2;
    }
    prog = argv[1];
    snprintf(dir, sizeof dir, "/tmp/test_train_cli.XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    make_data();
    /* --swa 2: the weight average is part of the checkpoint the resumed
     * run below must continue exactly. */
    const char *common = "--arch %s/arch.txt --epochs 6 --batch 16 --lr 0.01 --seed 3 --threads 2 --swa 2";
    char fmt[512];

    /* 1. a short run beats chance (33%) by far, and writes its report */
    snprintf(fmt, sizeof fmt, "train --data %%s/data --val-split 0.25 %s --out %%s/a.model --report %%s/rep", common);
    CHECK(run(fmt, dir, dir, dir, dir) == 0);
    char path[512];
    snprintf(path, sizeof path, "%s/rep/metrics.json", dir);
    const char *metrics = slurp(path);
    double best = json_number(metrics, "best_val_accuracy");
    const char *wa = metrics ? strstr(metrics, "\"weight_average\"") : NULL;
    double swa = json_number(wa, "val_accuracy"), swa_loss = json_number(wa, "val_loss");
    printf("best validation accuracy: %.3f, weight average of epochs 2-6: %.3f\n", best, swa);
    CHECK_MSG(best >= 0.8, "best_val_accuracy %.3f, want >= 0.8", best);
    CHECK_MSG(swa >= 0.8 && swa <= best, "weight average's accuracy %.3f", swa);
    CHECK(metrics && strstr(metrics, "\"from_epoch\": 2, \"to_epoch\": 6"));
    static const char *files[] = {"curves.png", "confusion.png", "filters.png", "feature_maps.png",
                                  "samples.png", "per_class.csv", "history.csv", "metrics.json"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(path, sizeof path, "%s/rep/%s", dir, files[i]);
        struct stat st;
        CHECK_MSG(stat(path, &st) == 0 && st.st_size > 0, "%s missing", path);
        if (strstr(files[i], ".png")) {
            uint8_t *px = NULL;
            int w = 0, h = 0;
            CHECK_MSG(cvw_read_gray(path, &px, &w, &h) == 0 && w >= 100 && h >= 100, "%s unreadable", path);
            free(px);
        }
    }
    snprintf(path, sizeof path, "%s/rep/history.csv", dir);
    const char *hist = slurp(path);
    int lines = 0;
    for (const char *p = hist; p && *p; p++)
        lines += *p == '\n';
    CHECK_MSG(lines == 7, "history.csv has %d lines, want header + 6 epochs", lines);

    /* 1b. Too little data for the options: each message names the option
     * to change ("fewer than one batch" did not say --limit made it so;
     * "no validation images" did not say why) */
    clear_log();
    CHECK(run("train --data %s/data --arch %s/arch.txt --limit 5 --batch 16 --out %s/l.model", dir, dir,
              dir) == 1);
    CHECK(said_once("--limit 5: 5 training images, fewer than one batch of 16"));
    clear_log();
    CHECK(run("train --data %s/data --arch %s/arch.txt --val-split 0.001 --batch 16 --out %s/l.model",
              dir, dir, dir) == 1);
    CHECK(said_once("--val-split 0.001: no validation images") && said_once("rounds to none"));
    snprintf(path, sizeof path, "%s/l.model.ckpt", dir);
    CHECK(access(path, F_OK) != 0);
    /* every face twice: no share can help, the copies stay in training */
    for (int c = 0; c < 2; c++)
        for (int i = 0; i < 8; i++) {
            uint8_t img[24 * 24];
            memset(img, 40 + 50 * c + 10 * (i / 2), sizeof img);
            if (i == 0) {
                snprintf(path, sizeof path, "%s/twins", dir);
                mkdir(path, 0755);
                snprintf(path, sizeof path, "%s/twins/%s", dir, c ? "sad" : "happy");
                CHECK(mkdir(path, 0755) == 0);
            }
            snprintf(path, sizeof path, "%s/twins/%s/%d.png", dir, c ? "sad" : "happy", i);
            CHECK(cvw_write_image(path, img, 24, 24, 1) == 0);
        }
    clear_log();
    CHECK(run("train --data %s/twins --arch %s/arch.txt --val-split 0.25 --batch 4 --out %s/l.model",
              dir, dir, dir) == 1);
    snprintf(path, sizeof path, "%s/log", dir);
    const char *said = slurp(path);
    CHECK_MSG(said && strstr(said, "no validation images: all 16 of") &&
                  strstr(said, "give --val-copies allow"), "%s", said ? said : "");

    /* 1a. A new run's report into that folder: refused at the start (two
     * runs' figures would mix), the report as it was, no model made. */
    {
        struct stat mj;
        snprintf(path, sizeof path, "%s/rep/metrics.json", dir);
        CHECK(stat(path, &mj) == 0);
        clear_log();
        snprintf(fmt, sizeof fmt, "train --data %%s/data --val-split 0.25 %s --out %%s/a2.model --report %%s/rep",
                 common);
        CHECK(run(fmt, dir, dir, dir, dir) == 2);
        CHECK(said_once("--report") && said_once("is not empty") && said_once("--overwrite"));
        CHECK(unchanged(path, &mj));
        snprintf(path, sizeof path, "%s/a2.model.ckpt", dir);
        CHECK(access(path, F_OK) != 0);
    }

    /* 2. interrupted mid-epoch, resumed: the same weights as run 1 */
    snprintf(fmt, sizeof fmt, "train --data %%s/data --val-split 0.25 %s --out %%s/b.model --report %%s/repb "
             "--interrupt-after 17", common);
    CHECK(run(fmt, dir, dir, dir, dir) == 130);
    snprintf(path, sizeof path, "%s/b.model.ckpt", dir);
    CHECK(access(path, R_OK) == 0);
    snprintf(path, sizeof path, "%s/b.model", dir);
    CHECK(access(path, F_OK) != 0); /* not finished yet */
    CHECK(run("train --resume %s/b.model.ckpt --interrupt-after 13", dir) == 130);
    /* Resuming may finish the report in its own run's folder, whatever is
     * there already, but not write into another run's. */
    clear_log();
    CHECK(run("train --resume %s/b.model.ckpt --report %s/rep", dir, dir) == 2);
    CHECK(said_once("--report"));
    /* a folder given for the checkpoint: said so ("read error" before) */
    clear_log();
    CHECK(run("train --resume %s", dir) == 1);
    CHECK(said_once("is a directory, not a checkpoint file"));
    snprintf(path, sizeof path, "%s/repb", dir);
    CHECK(mkdir(path, 0755) == 0);
    snprintf(path, sizeof path, "%s/repb/notes.txt", dir);
    FILE *notes = fopen(path, "w");
    CHECK(notes != NULL);
    if (notes) {
        fputs("run b: interrupted twice\n", notes);
        fclose(notes);
    }
    /* Options given again on resume replace the saved ones: the command
     * the model records has each once, and the validation split's rule
     * that the fresh run wrote out. */
    CHECK(run("train --resume %s/b.model.ckpt --threads 2 --seed 3", dir) == 0);
    char a[512], b[512];
    snprintf(a, sizeof a, "%s/a.model", dir);
    snprintf(b, sizeof b, "%s/b.model", dir);
    CHECK_MSG(same_weights(a, b), "resumed run's weights differ from the uninterrupted run's");
    {
        nn_net *m = nn_net_load(b);
        const char *cmd = m ? nn_net_meta(m)->command : NULL;
        const char *t = cmd ? strstr(cmd, "--threads 2") : NULL;
        CHECK_MSG(t && !strstr(t + 1, "--threads") && strstr(cmd, "--seed 3") &&
                      !strstr(strstr(cmd, "--seed") + 1, "--seed") && strstr(cmd, "--swa 2") &&
                      strstr(cmd, "--val-copies exclude") &&
                      !strstr(strstr(cmd, "--val-copies") + 1, "--val-copies"),
                  "resumed run's command: %s", cmd ? cmd : "(none)");
        nn_net_free(m);
    }
    /* The weight average too (saved in the checkpoint from epoch 2 on). */
    snprintf(path, sizeof path, "%s/repb/metrics.json", dir);
    const char *mb = slurp(path);
    double swa_loss_b = json_number(mb ? strstr(mb, "\"weight_average\"") : NULL, "val_loss");
    CHECK_MSG(swa_loss > 0 && swa_loss == swa_loss_b, "weight average's loss %g, resumed %g", swa_loss,
              swa_loss_b);

    /* 2a. The fresh command again (a forgotten --resume): refused before
     * anything loads, exit 2, the earlier run's checkpoint and model as
     * they were, and the message names the --resume that continues it. */
    {
        struct stat ck0, ck1, m0, m1;
        char ck[512], log[512];
        snprintf(ck, sizeof ck, "%s/b.model.ckpt", dir);
        snprintf(path, sizeof path, "%s/b.model", dir);
        snprintf(log, sizeof log, "%s/log", dir);
        CHECK(stat(ck, &ck0) == 0 && stat(path, &m0) == 0);
        snprintf(fmt, sizeof fmt, "train --data %%s/data --val-split 0.25 %s --out %%s/b.model", common);
        CHECK(run(fmt, dir, dir, dir) == 2);
        snprintf(fmt, sizeof fmt, "train --data %%s/data --val-split 0.25 %s --out %%s/b3.model "
                 "--checkpoint %%s/b.model.ckpt", common);
        CHECK(run(fmt, dir, dir, dir, dir) == 2);
        const char *said = slurp(log);
        char want[600];
        snprintf(want, sizeof want, "to continue that run: --resume %s", ck);
        CHECK_MSG(said && strstr(said, want), "no '%s' in the log", want);
        snprintf(fmt, sizeof fmt, "train --data %%s/data --val-split 0.25 %s --out %%s/a.model "
                 "--checkpoint %%s/other.ckpt", common);
        CHECK(run(fmt, dir, dir, dir, dir) == 2);
        CHECK(stat(ck, &ck1) == 0 && stat(path, &m1) == 0);
        CHECK(ck1.st_size == ck0.st_size && ck1.st_mtim.tv_sec == ck0.st_mtim.tv_sec &&
              ck1.st_mtim.tv_nsec == ck0.st_mtim.tv_nsec);
        CHECK(m1.st_mtim.tv_sec == m0.st_mtim.tv_sec && m1.st_mtim.tv_nsec == m0.st_mtim.tv_nsec);
        snprintf(path, sizeof path, "%s/other.ckpt", dir);
        CHECK(access(path, F_OK) != 0);
    }

    /* 2b. mixup and cutmix: still learns, and a resumed run repeats the
     * mixing exactly (its random choices come from the checkpointed RNG) */
    const char *mixopts = "--arch %s/arch.txt --epochs 5 --batch 16 --lr 0.01 --seed 3 --threads 2 "
                          "--mixup 0.4 --cutmix 1.0 --mix-prob 0.8 --label-smoothing 0.05";
    snprintf(fmt, sizeof fmt, "train --data %%s/data --val-split 0.25 %s --out %%s/m.model", mixopts);
    CHECK(run(fmt, dir, dir, dir) == 0);
    snprintf(fmt, sizeof fmt, "train --data %%s/data --val-split 0.25 %s --out %%s/m2.model --interrupt-after 20",
             mixopts);
    CHECK(run(fmt, dir, dir, dir) == 130);
    CHECK(run("train --resume %s/m2.model.ckpt", dir) == 0);
    snprintf(a, sizeof a, "%s/m.model", dir);
    snprintf(b, sizeof b, "%s/m2.model", dir);
    CHECK_MSG(same_weights(a, b), "resumed mixup run's weights differ from the uninterrupted run's");
    {
        nn_net *m = nn_net_load(a);
        double macc = m ? nn_net_meta(m)->val_accuracy : -1;
        printf("mixup and cutmix: best validation accuracy %.3f\n", macc);
        CHECK_MSG(macc >= 0.8, "mixup run's validation accuracy %.3f", macc);
        nn_net_free(m);
    }
    CHECK(run("train --data %s/data --out %s/x.model --mixup -1", dir, dir) == 2);

    /* 3. eval agrees with training's figure on the same data, as JSON (in
     * a folder it creates) */
    CHECK(run("eval --model %s/a.model --data %s/data --json %s/new/eval.json", dir, dir, dir) == 0);
    snprintf(path, sizeof path, "%s/new/eval.json", dir);
    const char *ej = slurp(path);
    CHECK_MSG(json_number(ej, "accuracy") >= 0.8, "eval accuracy %.3f", json_number(ej, "accuracy"));
    CHECK(json_number(ej, "n") == 240);
    CHECK(ej && strstr(ej, "\"confusion\"") && strstr(ej, "\"per_class\""));
    CHECK(run("eval --model %s/a.model --data %s/data --tta", dir, dir) == 0);
    CHECK(run("eval --model %s/a.model --data %s/data --mirror", dir, dir) == 0);
    CHECK(run("eval --model %s/a.model --data %s/data --mirror --tta", dir, dir) == 2);

    double acc32 = json_number(ej, "accuracy"); /* before slurp reuses its buffer */

    /* 3b. calibration: training fitted one (auto by default), eval reports
     * ECE and NLL, calibrate refits or removes it */
    {
        double ece = json_number(ej, "ece"), nll = json_number(ej, "nll");
        /* (this data is so easy that a calibrated model is sure and right) */
        CHECK_MSG(ece >= 0 && ece <= 1 && nll >= 0, "eval ece %g nll %g", ece, nll);
        CHECK(ej && strstr(ej, "\"calibration\": \"") && !strstr(ej, "\"calibration\": \"none\""));
        nn_net *m = nn_net_load(a);
        CHECK(m && nn_net_calib(m)->kind != NN_CALIB_NONE);
        nn_net_free(m);
        CHECK(run("calibrate --model %s/a.model --data %s/data --val-split 0.25 --seed 3 --method temperature "
                  "--out %s/t.model", dir, dir, dir) == 0);
        CHECK(run("calibrate --model %s/t.model --data %s/data --method none --out %s/u.model", dir, dir, dir) == 0);
        /* --seed without --val-split went unused without a word */
        clear_log();
        CHECK(run("calibrate --model %s/t.model --data %s/data --seed 3 --out %s/s.model", dir, dir, dir) == 2);
        CHECK(said_once("--seed only picks the faces of --val-split"));
        snprintf(path, sizeof path, "%s/t.model", dir);
        nn_net *t = nn_net_load(path);
        snprintf(path, sizeof path, "%s/u.model", dir);
        nn_net *u = nn_net_load(path);
        CHECK(t && nn_net_calib(t)->kind == NN_CALIB_TEMPERATURE && nn_calib_temperature(nn_net_calib(t)) > 0);
        CHECK(u && nn_net_calib(u)->kind == NN_CALIB_NONE);
        nn_net_free(t);
        nn_net_free(u);
        CHECK(run("eval --model %s/u.model --data %s/data --json %s/u.json", dir, dir, dir) == 0);
        snprintf(path, sizeof path, "%s/u.json", dir);
        double nll_u = json_number(slurp(path), "nll");
        CHECK(run("eval --model %s/a.model --data %s/data --uncalibrated --json %s/v.json", dir, dir, dir) == 0);
        snprintf(path, sizeof path, "%s/v.json", dir);
        CHECK_MSG(nll_u > 0 && json_number(slurp(path), "nll") == nll_u, "--uncalibrated nll vs none's %g",
                  nll_u);
        CHECK(run("calibrate --model %s/a.model --data %s/data --method magic --out %s/x.model", dir, dir, dir) == 2);
        /* 3 validation faces are too few to calibrate: the run still saves its model,
         * uncalibrated, and says how many it needed */
        clear_log();
        CHECK(run("train --data %s/data --val-split 0.01 --arch %s/arch.txt --epochs 1 --batch 16 --threads 2 "
                  "--out %s/s.model", dir, dir, dir) == 0);
        snprintf(path, sizeof path, "%s/log", dir);
        const char *few = slurp(path);
        CHECK_MSG(few && strstr(few, "3 validation images are too few for 3 classes (it needs at "
                                     "least 6, two a class)"),
                  "%s", few ? few : "");
        snprintf(path, sizeof path, "%s/s.model", dir);
        nn_net *sm = nn_net_load(path);
        CHECK(sm && nn_net_calib(sm)->kind == NN_CALIB_NONE);
        nn_net_free(sm);
        CHECK(run("calibrate --model %s/a.model --data %s/data", dir, dir) == 2);
    }

    /* quantize calibrates INT8 on training faces; eval in INT8 stays close
     * to FP32; a model without the calibration refuses INT8 */
    CHECK(run("quantize --model %s/a.model --data %s/data --count 100 --out %s/a8.model", dir, dir,
              dir) == 0);
    CHECK(run("eval --model %s/a8.model --data %s/data --precision int8 --json %s/e8.json", dir,
              dir, dir) == 0);
    snprintf(path, sizeof path, "%s/e8.json", dir);
    double acc8 = json_number(slurp(path), "accuracy");
    CHECK_MSG(acc8 >= acc32 - 0.03 && acc32 >= 0.8, "INT8 eval accuracy %.3f, FP32 %.3f", acc8,
              acc32);
    CHECK(run("eval --model %s/a.model --data %s/data --precision int8", dir, dir) == 1);
    CHECK(run("eval --model %s/a8.model --data %s/data --precision int4", dir, dir) == 2);
    CHECK(run("quantize --model %s/a.model --data %s/data", dir, dir) == 2);
    /* quantize and calibrate never write over their model, by any name, and
     * take each option once */
    {
        struct stat before, after;
        snprintf(path, sizeof path, "%s/a8.model", dir);
        CHECK(stat(path, &before) == 0);
        CHECK(run("quantize --model %s/a8.model --data %s/data --out %s/a8.model", dir, dir, dir) == 2);
        CHECK(run("calibrate --model %s/a8.model --data %s/data --out %s/./a8.model", dir, dir, dir) == 2);
        CHECK(run("calibrate --model %s/a8.model --data %s/data --out %s/q1.model --out %s/q2.model", dir,
                  dir, dir, dir) == 2);
        CHECK(run("quantize --model %s/a8.model --data %s/data --out %s/q1.model --count 5 --count 6", dir,
                  dir, dir) == 2);
        /* the other commands too (a flag twice, a value twice) */
        CHECK(run("eval --model %s/a8.model --data %s/data --json %s/q1.model --json %s/q2.json", dir, dir,
                  dir, dir) == 2);
        CHECK(run("eval --model %s/a8.model --tta --data %s/data --tta", dir, dir) == 2);
        CHECK(run("info --model %s/a8.model --json --json", dir) == 2);
        CHECK(run("export --model %s/a8.model --onnx %s/q1.onnx --onnx %s/q2.onnx", dir, dir, dir) == 2);
        CHECK(stat(path, &after) == 0);
        CHECK(before.st_size == after.st_size && before.st_ino == after.st_ino &&
              before.st_mtim.tv_sec == after.st_mtim.tv_sec &&
              before.st_mtim.tv_nsec == after.st_mtim.tv_nsec);
        snprintf(path, sizeof path, "%s/q1.model", dir);
        CHECK(access(path, F_OK) != 0); /* refused before anything was written */
    }

    /* 3c. An earlier command's output is not replaced by running it again:
     * refused at once (exit 2, one line, the file as it was) unless
     * --overwrite; eval's --report folder likewise once it holds anything. */
    {
        struct stat st;
        const char *redo[] = {
            "calibrate --model %s/a.model --data %s/data --val-split 0.25 --seed 3 --method temperature "
            "--out %s/t.model",
            "quantize --model %s/a.model --data %s/data --count 100 --out %s/a8.model",
            "eval --model %s/u.model --data %s/data --json %s/u.json",
            "export --model %s/a.model --onnx %s/a.onnx",
            "eval --model %s/a.model --data %s/data --report %s/evrep",
        };
        const char *out[] = {"t.model", "a8.model", "u.json", "a.onnx", "evrep/metrics.json"};
        const char *opt[] = {"calibrate: --out", "quantize: --out", "eval: --json", "export: --onnx",
                             "eval: --report"};
        CHECK(run(redo[3], dir, dir) == 0);
        CHECK(run(redo[4], dir, dir, dir) == 0);
        for (int i = 0; i < 5; i++) {
            char cmd[1024];
            snprintf(cmd, sizeof cmd, redo[i], dir, dir, dir);
            snprintf(path, sizeof path, "%s/%s", dir, out[i]);
            CHECK_MSG(stat(path, &st) == 0 && st.st_size > 0, "%s: no %s", cmd, path);
            clear_log();
            CHECK_MSG(run("%s", cmd) == 2, "run again: %s", cmd);
            CHECK_MSG(said_once(opt[i]) && said_once("--overwrite"), "%s", cmd);
            CHECK_MSG(unchanged(path, &st), "%s changed by a refused %s", out[i], cmd);
            CHECK_MSG(run("%s --overwrite", cmd) == 0, "%s --overwrite", cmd);
        }
        /* train's report folder too, with --overwrite */
        snprintf(path, sizeof path, "%s/evrep/metrics.json", dir);
        CHECK(run("train --data %s/data --arch %s/arch.txt --epochs 1 --batch 16 --threads 2 "
                  "--out %s/w.model --report %s/evrep", dir, dir, dir, dir) == 2);
        CHECK(run("train --data %s/data --arch %s/arch.txt --epochs 1 --batch 16 --threads 2 "
                  "--out %s/w.model --report %s/evrep --overwrite", dir, dir, dir, dir) == 0);
        CHECK(json_number(slurp(path), "best_val_accuracy") >= 0);
        /* --overwrite is a flag: once, and never a value */
        CHECK(run("export --model %s/a.model --onnx %s/a.onnx --overwrite --overwrite", dir, dir) == 2);
        CHECK(run("quantize --overwrite --model %s/a.model --data %s/data --count 100 --out %s/a8.model "
                  "--overwrite", dir, dir, dir) == 2);
    }

    /* 3d. predict --saliency DIR: never over a picture it reads, never over
     * an earlier run's file unless --overwrite, one file per picture (the
     * same file name twice gets NAME-2.png), folders made as needed. */
    {
        char pic[600], pic2[600], sal[600], cmd[4096], outp[600];
        struct stat st;
        snprintf(pic, sizeof pic, "%s/data/happy/000.png", dir);
        snprintf(pic2, sizeof pic2, "%s/data/sad/000.png", dir);
        snprintf(outp, sizeof outp, "%s/predict.out", dir);
        CHECK(stat(pic, &st) == 0);
        clear_log();
        CHECK(run("predict --model %s/a.model --saliency %s/data/happy %s", dir, dir, pic) == 2);
        CHECK(said_once("same file") && said_once("refusing to overwrite"));
        CHECK(run("predict --model %s/a.model --saliency %s/data/./happy/ --overwrite %s", dir, dir, pic) == 2);
        CHECK_MSG(unchanged(pic, &st), "predict --saliency wrote over its input %s", pic);
        /* two pictures named 000.png, into folders that do not exist yet */
        snprintf(sal, sizeof sal, "%s/sal/n1/n2/n3", dir);
        snprintf(cmd, sizeof cmd, "%s predict --model %s/a.model --saliency %s %s %s >%s 2>>%s/log", prog,
                 dir, sal, pic, pic2, outp, dir);
        CHECK(system(cmd) == 0);
        char first[700], second[700];
        snprintf(first, sizeof first, "%s/000.png", sal);
        snprintf(second, sizeof second, "%s/000-2.png", sal);
        uint8_t *p1 = NULL, *p2 = NULL;
        int w1 = 0, h1 = 0, w2 = 0, h2 = 0;
        CHECK_MSG(cvw_read_gray(first, &p1, &w1, &h1) == 0 && cvw_read_gray(second, &p2, &w2, &h2) == 0,
                  "%s", cvw_error());
        CHECK(p1 && p2 && w1 == w2 && h1 == h2 && memcmp(p1, p2, (size_t)w1 * h1)); /* two faces */
        free(p1);
        free(p2);
        const char *said = slurp(outp);
        char want[800];
        snprintf(want, sizeof want, "\"saliency\":\"%s\"}", second);
        CHECK_MSG(said && strstr(said, want), "predict printed: %s", said ? said : "(nothing)");
        /* the same again: refused, the earlier heat maps kept */
        CHECK(stat(first, &st) == 0);
        clear_log();
        CHECK(run("predict --model %s/a.model --saliency %s %s %s", dir, sal, pic, pic2) == 2);
        CHECK(said_once("--saliency") && said_once("exists") && said_once("--overwrite"));
        CHECK(unchanged(first, &st));
        CHECK(run("predict --model %s/a.model --saliency %s --overwrite %s %s", dir, sal, pic, pic2) == 0);
        /* predict's options once each (its pictures are not options) */
        CHECK(run("predict --model %s/a.model --model %s/a.model %s", dir, dir, pic) == 2);
        CHECK(run("predict --model %s/a.model --saliency %s --overwrite %s --overwrite", dir, sal, pic) == 2);
        CHECK(run("predict --model %s/a.model --saliency %s/sal2 --overwrite %s", dir, dir, pic) == 0);
        /* a heat map that cannot be written (a full disk: /dev/full behind
         * its name) is exit 1, and its line names no picture */
        char full_sal[700], full_png[800];
        snprintf(full_sal, sizeof full_sal, "%s/sal3", dir);
        snprintf(full_png, sizeof full_png, "%s/000.png", full_sal);
        CHECK(mkdir(full_sal, 0755) == 0 && symlink("/dev/full", full_png) == 0);
        snprintf(cmd, sizeof cmd, "%s predict --model %s/a.model --saliency %s %s >%s 2>>%s/log", prog,
                 dir, full_sal, pic, outp, dir);
        int st_sal = system(cmd);
        CHECK_MSG(WIFEXITED(st_sal) && WEXITSTATUS(st_sal) == 1, "--saliency on a full disk: status %d",
                  st_sal);
        said = slurp(outp);
        CHECK_MSG(said && strstr(said, "\"saliency\":null}"), "--saliency on a full disk printed: %s",
                  said ? said : "(nothing)");
        remove(full_png);
    }

    /* 5. --init starts from a model's weights: at a learning rate too small
     * to learn anything, one epoch keeps a.model's accuracy, where the same
     * run from scratch stays near chance. An --init run resumes too. */
    const char *tiny = "--data %s/data --val-split 0.25 --epochs 1 --batch 16 --lr 1e-7 --augment none "
                       "--seed 3 --threads 2";
    snprintf(fmt, sizeof fmt, "train --init %%s/a.model %s --out %%s/c.model --interrupt-after 5", tiny);
    CHECK(run(fmt, dir, dir, dir) == 130);
    CHECK(run("train --resume %s/c.model.ckpt", dir) == 0);
    snprintf(fmt, sizeof fmt, "train --arch %%s/arch.txt %s --out %%s/d.model", tiny);
    CHECK(run(fmt, dir, dir, dir) == 0);
    CHECK(run(fmt, dir, dir, dir) == 2); /* d.model exists */
    snprintf(fmt, sizeof fmt, "train --arch %%s/arch.txt %s --out %%s/d.model --overwrite", tiny);
    CHECK(run(fmt, dir, dir, dir) == 0);
    double acc_init = -1, acc_fresh = -1;
    if (run("eval --model %s/c.model --data %s/data --json %s/c.json", dir, dir, dir) == 0) {
        snprintf(path, sizeof path, "%s/c.json", dir);
        acc_init = json_number(slurp(path), "accuracy");
    }
    if (run("eval --model %s/d.model --data %s/data --json %s/d.json", dir, dir, dir) == 0) {
        snprintf(path, sizeof path, "%s/d.json", dir);
        acc_fresh = json_number(slurp(path), "accuracy");
    }
    printf("one near-zero-rate epoch: from a.model %.3f, from scratch %.3f\n", acc_init, acc_fresh);
    CHECK_MSG(acc_init >= 0.8, "--init run's accuracy %.3f", acc_init);
    CHECK_MSG(acc_fresh >= 0 && acc_fresh < 0.6, "fresh run's accuracy %.3f", acc_fresh);
    /* 6. distillation: with ALPHA 1 the labels play no part, so a student
     * that learns does so from its teacher; interrupted and resumed (the
     * teacher named in the checkpoint), it ends with the same weights */
    {
        const char *kd = "--data %s/data --val-split 0.25 --arch %s/arch.txt --epochs 4 --batch 16 --lr 0.01 "
                         "--seed 5 --threads 2 --teacher %s/a.model --distill 2:1 --mixup 0.2";
        snprintf(fmt, sizeof fmt, "train %s --out %%s/k.model", kd);
        CHECK(run(fmt, dir, dir, dir, dir) == 0);
        snprintf(fmt, sizeof fmt, "train %s --out %%s/k2.model --interrupt-after 9", kd);
        CHECK(run(fmt, dir, dir, dir, dir) == 130);
        CHECK(run("train --resume %s/k2.model.ckpt", dir) == 0);
        snprintf(a, sizeof a, "%s/k.model", dir);
        snprintf(b, sizeof b, "%s/k2.model", dir);
        CHECK_MSG(same_weights(a, b), "resumed distillation run's weights differ");
        nn_net *k = nn_net_load(a);
        double kacc = k ? nn_net_meta(k)->val_accuracy : -1;
        printf("distilled from a.model alone (no labels): best validation accuracy %.3f\n", kacc);
        CHECK_MSG(kacc >= 0.8, "distilled student's accuracy %.3f", kacc);
        nn_net_free(k);
        snprintf(a, sizeof a, "%s/a.model", dir);
        CHECK(run("train --data %s/data --out %s/x.model --distill 2", dir, dir) == 2);
        CHECK(run("train --data %s/data --out %s/x.model --teacher %s/a.model --distill 0:1", dir, dir, dir) == 2);
        /* the teacher's input size is not the student's (fer-vgg: 48x48) */
        CHECK(run("train --data %s/data --out %s/x.model --teacher %s/a.model --arch fer-vgg --epochs 1", dir, dir,
                  dir) == 1);
    }

    /* an ensemble of the two: eval runs it (its arithmetic: test_ensemble) */
    CHECK(run("eval --model %s/a.model,%s/d.model --data %s/data --json %s/ad.json", dir, dir, dir, dir) == 0);
    snprintf(path, sizeof path, "%s/ad.json", dir);
    CHECK(json_number(slurp(path), "n") == 240);
    CHECK(run("eval --model %s/a.model,%s/nope.model --data %s/data", dir, dir, dir) == 1);
    CHECK(run("train --init %s/a.model --arch fer-vgg --data %s/data --out %s/x.model", dir, dir, dir) == 2);
    CHECK(run("train --init %s/nope.model --data %s/data --out %s/x.model", dir, dir, dir) == 1);
    CHECK(run("train --init %s/arch.txt --data %s/data --out %s/x.model", dir, dir, dir) == 1);

    /* bench times a trained model file as well as a preset */
    {
        char cmd[1024], want[600];
        snprintf(path, sizeof path, "%s/bench.txt", dir);
        snprintf(cmd, sizeof cmd, "%s bench --model %s/a.model --threads 2 --batch 4 --seconds 0.02 >%s 2>&1",
                 prog, dir, path);
        CHECK(system(cmd) == 0);
        snprintf(want, sizeof want, "arch=%s/a.model\n", dir);
        const char *out = slurp(path);
        CHECK_MSG(out && strstr(out, want) && strstr(out, "infer_batch1_us=") &&
                      strstr(out, "train_batch4_img_per_s="),
                  "bench --model a.model printed: %s", out ? out : "(nothing)");
    }
    CHECK(run("bench --model %s/nope.model", dir) == 1);
    /* --layers: a time for each layer that runs, named */
    {
        char cmd[1024];
        snprintf(path, sizeof path, "%s/bench-layers.txt", dir);
        snprintf(cmd, sizeof cmd, "%s bench --model %s/a.model --batch 2 --seconds 0.02 --layers >%s 2>&1",
                 prog, dir, path);
        CHECK(system(cmd) == 0);
        const char *out = slurp(path);
        CHECK_MSG(out && strstr(out, "layer1_us=") && strstr(out, " conv ") && strstr(out, " dense "),
                  "bench --layers printed: %s", out ? out : "(nothing)");
    }

    /* 6. --precision bf16 trains (or falls back to fp32 and says so), and
     * a resumed run keeps it; bench prints the kernels and precision */
    {
        int bf16 = nn_bf16_supported();
        snprintf(fmt, sizeof fmt, "train %s --precision bf16 --out %%s/e.model --interrupt-after 3",
                 tiny);
        CHECK(run(fmt, dir, dir) == 130);
        char cmd[1024];
        snprintf(path, sizeof path, "%s/e.log", dir);
        snprintf(cmd, sizeof cmd, "%s train --resume %s/e.model.ckpt >%s 2>&1", prog, dir, path);
        CHECK(system(cmd) == 0);
        const char *out = slurp(path);
        CHECK_MSG(out && strstr(out, bf16 ? ", bf16\n" : "no BF16 instructions"),
                  "resumed bf16 run printed: %s", out ? out : "(nothing)");
        snprintf(path, sizeof path, "%s/bench2.txt", dir);
        snprintf(cmd, sizeof cmd, "%s bench --threads 2 --batch 4 --seconds 0.02 --precision auto >%s 2>&1",
                 prog, path);
        CHECK(system(cmd) == 0);
        out = slurp(path);
        CHECK_MSG(out && strstr(out, bf16 ? "precision=bf16\n" : "precision=fp32\n") &&
                      strstr(out, "kernel_single=") && strstr(out, "kernel_batch=") &&
                      strstr(out, "kernel_train="),
                  "bench --precision auto printed: %s", out ? out : "(nothing)");
        CHECK(run("bench --precision fp16 --seconds 0.01") == 2);
        snprintf(fmt, sizeof fmt, "train %s --precision fp16 --out %%s/x.model", tiny);
        CHECK(run(fmt, dir, dir) == 2);
    }

    /* 4. bad input: one message, non-zero exit */
    CHECK(run("train --data %s/nope --out %s/x.model", dir, dir) == 1);
    CHECK(run("train --data %s/data", dir) == 2);
    CHECK(run("train --data %s/data --out %s/x.model --epochs zero", dir, dir) == 2);
    CHECK(run("train --data %s/data --out %s/x.model --augment sparkle", dir, dir) == 2);
    CHECK(run("train --data %s/data --out %s/x.model --arch no-such-arch", dir, dir) == 2);
    CHECK(run("train --resume %s/arch.txt", dir) == 1);
    CHECK(run("train --data %s/data --out %s/x.model --epochs 3 --epochs 4", dir, dir) == 2);
    {
        /* Every default in the help. */
        char cmd[1024];
        snprintf(path, sizeof path, "%s/help.txt", dir);
        snprintf(cmd, sizeof cmd, "%s train --help >%s", prog, path);
        CHECK(system(cmd) == 0);
        const char *h = slurp(path);
        static const char *want[] = {"(default fer-vgg)", "(default 30)", "(default 64)",
                                     "(default adam)", "0.001 for adam", "(default cosine:1:0.01)",
                                     "(default crop,flip,rotate,zoom,erase)"};
        for (size_t i = 0; i < sizeof want / sizeof *want; i++)
            CHECK_MSG(h && strstr(h, want[i]), "train --help lacks '%s'", want[i]);
    }
    CHECK(run("eval --model %s/arch.txt --data %s/data", dir, dir) == 1);

    /* 5. Nothing the user owns is destroyed, nothing broken reported done. */
    {
        char logp[600], keep[600], csv[600];
        snprintf(logp, sizeof logp, "%s/log", dir);
        snprintf(keep, sizeof keep, "%s/a-copy.model", dir);
        char cmd[2048];
        snprintf(cmd, sizeof cmd, "cp %s/a.model %s", dir, keep);
        CHECK(system(cmd) == 0);
        /* An output that is an input: exit 2, the input intact. */
        snprintf(csv, sizeof csv, "%s/d.csv", dir);
        FILE *f = fopen(csv, "w");
        fputs("emotion,pixels,Usage\n", f);
        fclose(f);
        CHECK(run("train --data %s --out %s", csv, csv) == 2);
        const char *t = slurp(csv);
        CHECK_MSG(t && !strcmp(t, "emotion,pixels,Usage\n"), "train --out = --data changed it");
        CHECK(run("eval --model %s/a.model --data %s/data --json %s/a.model", dir, dir, dir) == 2);
        CHECK(run("export --model %s/a.model --onnx %s/./a.model", dir, dir) == 2);
        CHECK(run("train --data %s/data --out %s/o.model --checkpoint %s/o.model", dir, dir, dir) == 2);
        snprintf(path, sizeof path, "%s/a.model", dir);
        CHECK_MSG(same_weights(keep, path), "a.model changed by a refused command");
        /* Unwritable outputs refused in seconds, before the data loads. */
        const char *bad_out[] = {"--out %s/data", "--out /nonexistent/dir/m.model",
                                 "--out %s/m.model --report %s/arch.txt",
                                 "--out %s/m.model --checkpoint /nonexistent/c.ckpt"};
        for (int i = 0; i < 4; i++) {
            char opts[600], args[1600];
            snprintf(opts, sizeof opts, bad_out[i], dir, dir);
            snprintf(args, sizeof args, "train --data %s/data --arch %s/arch.txt --epochs 1 %s", dir,
                     dir, opts);
            clear(logp);
            double t0 = nn_now();
            int rc = run("%s", args);
            double secs = nn_now() - t0;
            const char *msg = slurp(logp);
            CHECK_MSG(rc != 0 && secs < 5 && msg && !strstr(msg, "data:") &&
                          strchr(msg, '\n') == strrchr(msg, '\n'),
                      "%s: exit %d after %.1f s: %s", opts, rc, secs, msg ? msg : "");
        }
        clear(logp);
        CHECK(run("train --data %s/data --out %s/m.model --schedule bogus", dir, dir) == 2);
        CHECK(run("train --data %s/data --out %s/m.model --epochs 3 --swa 4", dir, dir) == 2);
        const char *msg = slurp(logp);
        CHECK_MSG(msg && !strstr(msg, "data:"), "bad options refused after the data loaded: %s", msg);
        /* A folder as the model: said plainly. */
        clear(logp);
        CHECK(run("eval --model %s/data --data %s/data", dir, dir) == 1);
        msg = slurp(logp);
        CHECK_MSG(msg && strstr(msg, "is a directory"), "--model FOLDER: %s", msg ? msg : "");
        /* A full disk: exit 1 with one line naming the file. */
        clear(logp);
        CHECK(run("eval --model %s/a.model --data %s/data --json /dev/full", dir, dir) == 1);
        CHECK(run("export --model %s/a.model --onnx /dev/full", dir) == 1);
        msg = slurp(logp);
        CHECK_MSG(msg && strstr(msg, "--json: cannot write '/dev/full'") &&
                      strstr(msg, "export: cannot write '/dev/full'") && !strstr(msg, "wrote"),
                  "full disk: %s", msg ? msg : "");
        struct stat st;
        CHECK(stat("/dev/full", &st) == 0 && S_ISCHR(st.st_mode)); /* never replaced */
        /* calibrate and quantize too, through a link to /dev/full (the
         * link kept, not replaced by a file), and a file of the user's
         * named OUT.tmp is not their temporary file. */
        {
            char link[600], out_m[600], user_tmp[700];
            snprintf(link, sizeof link, "%s/full.model", dir);
            snprintf(out_m, sizeof out_m, "%s/t8.model", dir);
            snprintf(user_tmp, sizeof user_tmp, "%s.tmp", out_m);
            CHECK(symlink("/dev/full", link) == 0);
            clear(logp);
            CHECK(run("calibrate --model %s/a.model --data %s/data --out %s", dir, dir, link) == 1);
            CHECK(run("quantize --model %s/a.model --data %s/data --count 20 --out %s", dir, dir, link) == 1);
            msg = slurp(logp);
            CHECK_MSG(msg && strstr(msg, "cannot write '") && strstr(msg, "No space left") &&
                          !strstr(msg, "saved") && !strstr(msg, "wrote"),
                      "calibrate, quantize to /dev/full: %s", msg ? msg : "");
            CHECK(lstat(link, &st) == 0 && S_ISLNK(st.st_mode));
            FILE *u = fopen(user_tmp, "w");
            CHECK(u && fputs("the user's\n", u) >= 0 && fclose(u) == 0);
            CHECK(run("quantize --model %s/a.model --data %s/data --count 20 --out %s", dir, dir, out_m) == 0);
            msg = slurp(user_tmp);
            CHECK_MSG(msg && !strcmp(msg, "the user's\n"), "%s taken: %s", user_tmp, msg ? msg : "");
            remove(link);
            remove(user_tmp);
            remove(out_m);
        }
        /* Standard output on a full disk. */
        snprintf(cmd, sizeof cmd, "%s info --model %s/a.model >/dev/full 2>>%s", prog, dir, logp);
        int st_full = system(cmd);
        CHECK_MSG(WIFEXITED(st_full) && WEXITSTATUS(st_full) == 1, "info >/dev/full: status %d",
                  st_full);
        /* The final write fails anyway (its folder removed mid-run): the
         * message names the checkpoint and the command that recovers the
         * weights, and that command works. */
        {
            char outdir[600], out_model[700], ckpt[600], data[600], arch[600], eout[600],
                eerr[600];
            snprintf(outdir, sizeof outdir, "%s/gone", dir);
            snprintf(out_model, sizeof out_model, "%s/m.model", outdir);
            snprintf(ckpt, sizeof ckpt, "%s/keep.ckpt", dir);
            snprintf(data, sizeof data, "%s/data", dir);
            snprintf(arch, sizeof arch, "%s/arch.txt", dir);
            snprintf(eout, sizeof eout, "%s/late.out", dir);
            snprintf(eerr, sizeof eerr, "%s/late.err", dir);
            CHECK(mkdir(outdir, 0755) == 0);
            char *args[] = {(char *)prog, "train", "--data", data, "--arch", arch, "--epochs", "30",
                            "--batch", "16", "--threads", "1", "--out", out_model,
                            "--checkpoint", ckpt, NULL};
            pid_t pid = rp_start(args, eout, eerr);
            double t0 = nn_now();
            char *e = NULL;
            while (nn_now() - t0 < 120) {
                free(e);
                e = rp_slurp(eerr);
                if (e && strstr(e, "epoch 1/30:"))
                    break;
                usleep(20000);
            }
            snprintf(cmd, sizeof cmd, "rm -rf %s", outdir);
            CHECK(system(cmd) == 0);
            int rc = rp_wait(pid, 300, NULL);
            free(e);
            e = rp_slurp(eerr);
            char want[800];
            snprintf(want, sizeof want, "--resume %s --out NEW.model", ckpt);
            CHECK_MSG(rc == 1 && e && strstr(e, "m.model") && strstr(e, want),
                      "final write into a removed folder: exit %d: %s", rc, e ? e : "");
            free(e);
            CHECK(run("train --resume %s --out %s/recovered.model", ckpt, dir) == 0);
            snprintf(path, sizeof path, "%s/recovered.model", dir);
            nn_net *rec = nn_net_load(path);
            CHECK(rec != NULL);
            nn_net_free(rec);
        }

        /* A model whose output is not probabilities: refused at load. */
        nn_net *net = nn_net_from_arch("fer-compact", 3);
        CHECK(net != NULL);
        if (net) {
            nn_net_init(net, 1);
            /* Every number finite, so the file is well formed and its checksum
             * valid, but so large that the sums overflow to inf - inf = NaN. */
            float *w = nn_net_params(net);
            for (size_t i = 0; i < nn_net_n_params(net); i++)
                w[i] = 1e38f;
            nn_net_preproc(net)->scale = 1e38f;
            nn_net_preproc(net)->bias = 1e38f;
            snprintf(path, sizeof path, "%s/nan.model", dir);
            CHECK(nn_net_save(net, path) == 0);
            nn_net_free(net);
            snprintf(csv, sizeof csv, "%s/data/happy/000.png", dir);
            clear(logp);
            CHECK(run("predict --model %s %s", path, csv) == 1);
            msg = slurp(logp);
            CHECK_MSG(msg && strstr(msg, "no valid probabilities") && !strstr(msg, "null"),
                      "predict with a NaN model: %s", msg ? msg : "");
        }
    }

    /* --target roll: the same faces turned by random rolls; the model's
     * classes are the bins, eval measures its roll error, and what would
     * make wrong labels is refused. */
    {
        char logp2[600], mp[600];
        snprintf(logp2, sizeof logp2, "%s/log", dir);
        /* The layout kept to the end (flatten): a roll is where things are. */
        snprintf(mp, sizeof mp, "%s/roll_arch.txt", dir);
        FILE *f = fopen(mp, "w");
        CHECK(f != NULL);
        if (f) {
            fputs("input 24x24x1\nconv 8 3x3 same bn relu\nmaxpool 2\nconv 16 3x3 same bn relu\n"
                  "maxpool 2\nflatten\ndense 32 relu\ndense classes softmax\n", f);
            fclose(f);
        }
        make_faces();
        CHECK(run("train --data %s/faces --val-split 0.25 --arch %s --epochs 20 --batch 16 "
                  "--lr 0.003 --seed 3 --threads 2 --target roll:30:5 --out %s/roll.model",
                  dir, mp, dir) == 0);
        snprintf(mp, sizeof mp, "%s/roll.model", dir);
        nn_net *rn = nn_net_load(mp);
        CHECK(rn && nn_net_n_classes(rn) == 13 && !strcmp(nn_net_class(rn, 0), "roll-30") &&
              !strcmp(nn_net_class(rn, 6), "roll+0") && !strcmp(nn_net_class(rn, 12), "roll+30"));
        nn_net_free(rn);
        clear(logp2);
        CHECK(run("eval --model %s/roll.model --data %s/faces", dir, dir) == 0);
        const char *ev = slurp(logp2);
        const char *all = ev ? strstr(ev, "all: mean absolute error ") : NULL;
        double err = all ? atof(all + strlen("all: mean absolute error ")) : 99;
        printf("roll model on the generated faces: mean absolute error %.2f degrees\n", err);
        /* Guessing 0 errs by 15.6 degrees on average over -30..30. */
        CHECK_MSG(ev && strstr(ev, "a roll model") && err < 12, "roll eval: %s", ev ? ev : "");
        /* calibrate and quantize fit emotion models: a roll model is said
         * to be one (they said none of the data's classes matched) */
        const char *cmds[] = {"calibrate", "quantize"};
        for (int i = 0; i < 2; i++) {
            clear(logp2);
            CHECK(run("%s --model %s/roll.model --data %s/faces --out %s/rollx.model", cmds[i], dir,
                      dir, dir) == 1);
            ev = slurp(logp2);
            CHECK_MSG(ev && strstr(ev, "--model is a roll model") && !strstr(ev, "matches"),
                      "%s of a roll model: %s", cmds[i], ev ? ev : "");
        }
        clear(logp2);
        CHECK(run("train --data %s/data --arch %s/arch.txt --epochs 1 --target roll "
                  "--augment crop,rotate --out %s/x.model", dir, dir, dir) == 2);
        ev = slurp(logp2);
        CHECK(ev && strstr(ev, "leave rotate out"));
        CHECK(run("train --data %s/data --arch %s/arch.txt --epochs 1 --target roll:30:7 "
                  "--out %s/x.model", dir, dir, dir) == 2);
        CHECK(run("train --data %s/data --arch %s/arch.txt --epochs 1 --target roll --mixup 0.2 "
                  "--out %s/x.model", dir, dir, dir) == 2);
    }

    /* 8. Mistakes that once hung, leaked test rows or misled. */
    {
        char logp3[600], p3[600];
        snprintf(logp3, sizeof logp3, "%s/log", dir);
        /* A stray argument after a flag (a forgotten --model): a usage
         * error, not an endless loop. */
        CHECK(run("eval --tta %s/a.model", dir) == 2);
        /* "-" for an output made a file named '-' (eval --json -, as
         * emotion-detect's --log - would be standard output). */
        clear(logp3);
        CHECK(run("eval --model %s/a.model --data %s/data --json -", dir, dir) == 2);
        CHECK(run("export --model %s/a.model --onnx -", dir) == 2);
        {
            const int made = access("-", F_OK) == 0;
            if (made)
                remove("-"); /* or every later run would fail here */
            CHECK(!made);
        }
        {
            const char *lg = slurp(logp3);
            CHECK_MSG(lg && strstr(lg, "--json -: '-' is not standard output here") &&
                      strstr(lg, "--onnx -:"), "%s", lg ? lg : "");
        }
        /* The help or version asked for onto a full disk: exit 0, without
         * a word (the commands' output was checked, theirs was not). */
        {
            static const char *const asked[] = {"--help", "--version", "train --help"};
            for (int i = 0; i < 3; i++) {
                char cmd[1200];
                snprintf(cmd, sizeof cmd, "%s %s >/dev/full 2>%s", prog, asked[i], logp3);
                int st = system(cmd);
                CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 1, "%s onto /dev/full", asked[i]);
                const char *lg = slurp(logp3);
                CHECK_MSG(lg && strstr(lg, "cannot write standard output"), "%s", lg ? lg : "");
            }
        }
        CHECK(run("info --json %s/a.model", dir) == 2);
        /* A report inside the data folder would become a class of faces. */
        CHECK(run("train --data %s/data --report %s/data/rep --arch %s/arch.txt --out %s/in.model", dir, dir,
                  dir, dir) == 2);
        snprintf(p3, sizeof p3, "%s/data/rep", dir);
        CHECK(access(p3, F_OK) != 0);
        /* A resume may not change what the run is. */
        snprintf(p3, sizeof p3, "%s/b.model.ckpt", dir);
        CHECK(access(p3, R_OK) == 0);
        clear(logp3);
        CHECK(run("train --resume %s/b.model.ckpt --arch fer-compact --out %s/b2.model", dir, dir) == 2);
        const char *lg = slurp(logp3);
        CHECK_MSG(lg && strstr(lg, "--arch 'fer-compact' would change the run"), "%s", lg ? lg : "");
        CHECK(run("train --resume %s/b.model.ckpt --data %s/faces --out %s/b2.model", dir, dir, dir) == 2);
        /* Nor may its data have changed on disk: one face moved to another
         * class after a whole epoch (whose checkpoint has no order to count
         * against) was resumed without a word, on another validation split. */
        {
            char from[600], to[600];
            snprintf(from, sizeof from, "cp -rs %s/data %s/mv", dir, dir); /* links to the faces */
            CHECK(system(from) == 0);
            CHECK(run("train --data %s/mv --arch %s/arch.txt --epochs 1 --batch 16 --threads 1 --out %s/mv.model",
                      dir, dir, dir) == 0);
            snprintf(from, sizeof from, "%s/mv/happy/007.png", dir);
            snprintf(to, sizeof to, "%s/mv/sad/moved.png", dir);
            CHECK(rename(from, to) == 0);
            clear(logp3);
            CHECK(run("train --resume %s/mv.model.ckpt --epochs 2 --out %s/mv2.model", dir, dir) == 1);
            lg = slurp(logp3);
            CHECK_MSG(lg && strstr(lg, "the data has changed since the checkpoint"), "%s", lg ? lg : "");
            snprintf(p3, sizeof p3, "%s/mv2.model", dir);
            CHECK(access(p3, F_OK) != 0);
            /* The same data again: it resumes. */
            CHECK(rename(to, from) == 0);
            CHECK(run("train --resume %s/mv.model.ckpt --epochs 2 --out %s/mv2.model", dir, dir) == 0);
            CHECK(access(p3, R_OK) == 0);
        }
        /* Resumed under another --out, the run goes on writing the
         * checkpoint it read, not a second one beside the new model. */
        CHECK(run("train --data %s/data --arch %s/arch.txt --epochs 2 --batch 16 --out %s/rs.model "
                  "--interrupt-after 5", dir, dir, dir) == 130);
        CHECK(run("train --resume %s/rs.model.ckpt --out %s/rs2.model --interrupt-after 3", dir, dir) == 130);
        snprintf(p3, sizeof p3, "%s/rs2.model.ckpt", dir);
        CHECK(access(p3, F_OK) != 0);
        CHECK(run("train --resume %s/rs.model.ckpt --out %s/rs2.model", dir, dir) == 0);
        snprintf(p3, sizeof p3, "%s/rs2.model", dir);
        CHECK(access(p3, R_OK) == 0);
        /* A fer2013.csv: train takes its Training rows, not the test rows. */
        snprintf(p3, sizeof p3, "%s/f.csv", dir);
        FILE *csv = fopen(p3, "w");
        CHECK(csv != NULL);
        uint64_t s = 5;
        for (int r = 0; csv && r <= 50; r++) {
            if (!r) {
                fputs("emotion,pixels,Usage\n", csv);
                continue;
            }
            fprintf(csv, "%d,", r % 2 ? 3 : 4);
            for (int k = 0; k < 48 * 48; k++) {
                s = s * 6364136223846793005ULL + 1442695040888963407ULL;
                fprintf(csv, k ? " %d" : "%d", (int)(s >> 56));
            }
            fprintf(csv, ",%s\n", r <= 40 ? "Training" : "PublicTest");
        }
        if (csv)
            fclose(csv);
        clear(logp3);
        CHECK(run("train --data %s/f.csv --arch %s/arch.txt --epochs 1 --batch 16 --threads 1 --out %s/csv.model",
                  dir, dir, dir) == 0);
        lg = slurp(logp3);
        CHECK_MSG(lg && strstr(lg, "data: 36 training, 4 validation"), "%s", lg ? lg : "");
        /* The same file by a name not ending in ".csv" (the default split
         * went by the name): train took all 50 rows, test rows included,
         * and eval scored the Training rows with the test rows. */
        char upper[600];
        snprintf(upper, sizeof upper, "%s/F.CSV", dir);
        CHECK(link(p3, upper) == 0);
        clear(logp3);
        CHECK(run("train --data %s --arch %s/arch.txt --epochs 1 --batch 16 --threads 1 --out %s/csv2.model",
                  upper, dir, dir) == 0);
        lg = slurp(logp3);
        CHECK_MSG(lg && strstr(lg, "data: 36 training, 4 validation"), "%s", lg ? lg : "");
        clear(logp3);
        CHECK(run("eval --model %s/csv.model --data %s", dir, upper) == 0);
        lg = slurp(logp3);
        CHECK_MSG(lg && strstr(lg, "F.CSV split PublicTest (10 faces)"), "%s", lg ? lg : "");
        /* calibrate --val-split takes train's split, of the Training rows
         * (it split all 50 rows: 25 faces, test rows among them) */
        clear(logp3);
        CHECK(run("calibrate --model %s/csv.model --data %s --val-split 0.5 --method temperature "
                  "--out %s/csvcal.model", dir, p3, dir) == 0);
        lg = slurp(logp3);
        CHECK_MSG(lg && strstr(lg, "on 20 validation faces"), "%s", lg ? lg : "");
        /* Calibration on faces of one class: a temperature (it cannot change
         * the winner), never vector scaling, which would learn never to name
         * the missing classes. */
        snprintf(p3, sizeof p3, "%s/onecls", dir);
        mkdir(p3, 0755);
        char target[600];
        snprintf(target, sizeof target, "%s/data/happy", dir);
        snprintf(p3, sizeof p3, "%s/onecls/happy", dir);
        CHECK(symlink(target, p3) == 0);
        clear(logp3);
        CHECK(run("train --data %s/onecls --arch %s/arch.txt --epochs 1 --batch 16 --out %s/one0.model", dir,
                  dir, dir) == 1);
        lg = slurp(logp3);
        CHECK_MSG(lg && strstr(lg, "one class ('happy')"), "%s", lg ? lg : "");
        /* the same with an empty second class folder: a two-class model was
         * trained on one class (100% on validation) without a word */
        snprintf(p3, sizeof p3, "%s/onecls/sad", dir);
        CHECK(mkdir(p3, 0755) == 0);
        clear(logp3);
        CHECK(run("train --data %s/onecls --arch %s/arch.txt --epochs 1 --batch 16 --out %s/one1.model", dir,
                  dir, dir) == 1);
        lg = slurp(logp3);
        CHECK_MSG(lg && strstr(lg, "only class 'happy' has training images"), "%s", lg ? lg : "");
        snprintf(p3, sizeof p3, "%s/one1.model", dir);
        CHECK(access(p3, F_OK) != 0);
        /* with two classes of images beside it, the empty one is said */
        snprintf(target, sizeof target, "%s/data/surprise", dir);
        snprintf(p3, sizeof p3, "%s/onecls/surprise", dir);
        CHECK(symlink(target, p3) == 0);
        clear(logp3);
        CHECK(run("train --data %s/onecls --arch %s/arch.txt --epochs 1 --batch 16 --out %s/one1.model", dir,
                  dir, dir) == 0);
        lg = slurp(logp3);
        CHECK_MSG(lg && strstr(lg, "class 'sad' has no training images"), "%s", lg ? lg : "");
        CHECK(unlink(p3) == 0);
        snprintf(p3, sizeof p3, "%s/onecls/sad", dir);
        CHECK(rmdir(p3) == 0);
        clear(logp3);
        CHECK(run("calibrate --model %s/a.model --data %s/onecls --out %s/one.model", dir, dir, dir) == 0);
        lg = slurp(logp3);
        CHECK_MSG(lg && strstr(lg, "too few for vector scaling: a temperature"), "%s", lg ? lg : "");
        CHECK(run("calibrate --model %s/a.model --data %s/onecls --method vector --out %s/one2.model", dir,
                  dir, dir) == 1);
        clear(logp3);
        CHECK(run("eval --model %s/a.model --data %s/data", dir, dir) == 0);
        CHECK(run("eval --model %s/one.model --data %s/data", dir, dir) == 0);
        lg = slurp(logp3);
        const char *acc1 = lg ? strstr(lg, "accuracy ") : NULL, *acc2 = acc1 ? strstr(acc1 + 1, "accuracy ") : NULL;
        CHECK_MSG(acc1 && acc2 && !strncmp(acc1, acc2, 16), "accuracy changed by calibration: %s", lg ? lg : "");
    }

    if (!test_failures) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        CHECK(system(cmd) == 0);
    } else
        fprintf(stderr, "outputs kept in %s (see %s/log)\n", dir, dir);
    return test_done("test_train_cli");
}
