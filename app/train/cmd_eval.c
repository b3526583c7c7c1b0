/* cmd_eval.c - `emotion-train eval [--model M] --data PATH [--split NAME]
 * [--tta|--mirror] [--json FILE] [--report DIR]`: accuracy, per-class precision,
 * recall and F1, and the confusion matrix of a model on a data set whose
 * classes are matched to the model's by name. */
#include "app_err.h"
#include "augment.h"
#include "calibrate.h"
#include "cli.h"
#include "commands.h"
#include "outpath.h"
#include "ensemble.h"
#include "paths.h"
#include "report.h"
#include "cmd_common.h"
#include "roll_target.h"
#include "rollnet.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Test-time augmentation: the face, its mirror, and both shifted by a
 * couple of pixels each way; the probabilities are averaged. */
static const struct { int flip; float dx, dy; } tta_views[] = {
    {0, 0, 0}, {1, 0, 0}, {0, 2, 0}, {0, -2, 0}, {0, 0, 2}, {0, 0, -2},
    {1, 2, 0}, {1, -2, 0}, {1, 0, 2}, {1, 0, -2},
};
#define N_TTA ((int)(sizeof tta_views / sizeof *tta_views))

static void tta_view(int v, const uint8_t *src, uint8_t *dst, int w, int h)
{
    augment_affine(src, dst, w, h, tta_views[v].flip, 0, 1, tta_views[v].dx, tta_views[v].dy);
}

typedef struct eval_opts {
    const char *model, *data, *split, *json, *report;
    int views, threads, uncalibrated, precision; /* views: 1, 2 (--mirror), N_TTA (--tta) */
    int overwrite;
} eval_opts;

/* What parse found: options to run with, --help printed, or a usage error
 * said in one line (as train_opts_parse). */
typedef enum { EVAL_RUN, EVAL_HELP, EVAL_BAD } eval_status;

static eval_status parse(int argc, char **argv, eval_opts *o)
{
    memset(o, 0, sizeof *o);
    o->threads = 2;
    o->views = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--help")) {
            printf("usage: emotion-train eval [--model M[,M2...]] --data PATH [--split NAME] [--tta]\n"
                   "         [--mirror] [--json FILE] [--report DIR] [--threads N] [--uncalibrated]\n"
                   "         [--precision fp32|int8] [--overwrite]\n"
                   "Without --model: %s. --split picks CSV rows by Usage (default PublicTest\n"
                   "for a .csv). --tta averages the face, its mirror and small shifts;\n"
                   "--mirror the face and its mirror only (emotion-detect's --views 2).\n"
                   "ECE (15 equal-width bins of top-1 confidence) and NLL judge the\n"
                   "probabilities; --uncalibrated ignores the model's calibration.\n"
                   "Several models, comma-separated, are evaluated as an ensemble: their\n"
                   "probabilities averaged, classes matched by name, each model given its\n"
                   "own input size and preprocessing.\n"
                   "--precision int8 needs models calibrated by `emotion-train quantize`.\n"
                   "A roll model (train --target roll): every face turned by each roll of\n"
                   "its range in half-bin steps; the estimate's mean absolute error per roll.\n"
                   "An existing --json file, or a --report folder with anything in it, is\n"
                   "refused (an earlier evaluation's) unless --overwrite is given.\n",
                   paths_default_model());
            return EVAL_HELP;
        }
        if (!strcmp(a, "--tta") || !strcmp(a, "--mirror")) {
            if (o->views != 1) {
                cli_err("eval: --tta and --mirror are two ways to see a face; give one");
                return EVAL_BAD;
            }
            /* tta_views starts with the face and its mirror */
            o->views = !strcmp(a, "--tta") ? N_TTA : 2;
            continue;
        }
        if (!strcmp(a, "--uncalibrated")) {
            o->uncalibrated = 1;
            continue;
        }
        if (!strcmp(a, "--overwrite")) {
            o->overwrite = 1;
            continue;
        }
        if (!(v = cli_value(argc, argv, &i)))
            return EVAL_BAD;
        if (!strcmp(a, "--model")) o->model = v;
        else if (!strcmp(a, "--data")) o->data = v;
        else if (!strcmp(a, "--split")) o->split = v;
        else if (!strcmp(a, "--json")) o->json = v;
        else if (!strcmp(a, "--report")) o->report = v;
        else if (!strcmp(a, "--threads")) {
            if (cli_int(a, v, 1, 256, &o->threads))
                return EVAL_BAD;
        } else if (!strcmp(a, "--precision")) {
            if (cli_precision(a, v, &o->precision))
                return EVAL_BAD;
        } else {
            cli_err("eval: unknown option '%s'", a);
            return EVAL_BAD;
        }
    }
    if (!o->data) {
        cli_err("eval: --data is required (see --help)");
        return EVAL_BAD;
    }
    return EVAL_RUN;
}

/* A roll model (rollnet.h, `train --target roll`): every face of the data
 * turned by each roll from the first bin's centre to the last in half
 * steps (its labels ignored), as the trainer's validation turns them; the
 * estimate's mean absolute error and mean (bias) per roll and overall.
 * Returns the exit code. */
static int eval_roll(nn_net *net, const float *centres, const char *model, const char *data,
                     const char *split, int threads)
{
    int c, h, w, k = nn_net_n_classes(net);
    nn_net_input_shape(net, &c, &h, &w);
    dataset_load_opts lo = {.w = w, .h = h, .split = split, .threads = threads};
    dataset *ds = dataset_load(data, &lo);
    if (!ds) {
        cli_err("%s", app_error());
        return CLI_EXIT_FAIL;
    }
    cmd_report_problems(ds, data);
    int n = ds->n, rc = CLI_EXIT_FAIL;
    size_t pix = (size_t)w * h, per = (size_t)c * pix;
    float *x = malloc((size_t)n * per * sizeof *x), *probs = malloc((size_t)n * k * sizeof *probs);
    int *pred = malloc((size_t)n * sizeof *pred);
    uint8_t *tmp = malloc(pix);
    if (!x || !probs || !pred || !tmp) {
        cli_err("out of memory for %d images", n);
        goto done;
    }
    float lo_c = centres[0], hi_c = centres[k - 1], half = (hi_c - lo_c) / (float)(k - 1) / 2;
    printf("model: %s (a roll model, %d bins over %g..%g degrees)\ndata:  %s%s%s (%d faces, "
           "each turned by every roll below)\n", model, k, (double)lo_c, (double)hi_c, data,
           split ? " split " : "", split ? split : "", n);
    printf("%8s %12s %12s %10s %10s\n", "roll", "mean error", "mean est.", "within 5", "within 10");
    double all = 0, t0 = nn_now();
    long cnt = 0, in5 = 0, in10 = 0;
    for (float roll = lo_c; roll <= hi_c + 1e-3f; roll += half) {
        for (int i = 0; i < n; i++) {
            roll_target_render(dataset_image(ds, i), tmp, w, h, roll);
            nn_preprocess_u8(net, tmp, x + (size_t)i * per);
        }
        if (cmd_classify(net, x, n, NULL, probs, pred, NULL)) {
            cli_err("%s", nn_error());
            goto done;
        }
        double err = 0, mean = 0;
        long r5 = 0, r10 = 0;
        for (int i = 0; i < n; i++) {
            float e = rollnet_estimate(probs + (size_t)i * k, centres, k);
            double d = fabs(e - roll);
            err += d;
            mean += e;
            r5 += d <= 5;
            r10 += d <= 10;
        }
        printf("%8.1f %12.2f %12.2f %9.1f%% %9.1f%%\n", (double)roll, err / n, mean / n,
               100.0 * r5 / n, 100.0 * r10 / n);
        all += err;
        cnt += n;
        in5 += r5;
        in10 += r10;
    }
    printf("all: mean absolute error %.2f degrees, within 5 degrees %.1f%%, within 10 %.1f%% "
           "(%ld turned faces, %.1f s)\n", all / cnt, 100.0 * in5 / cnt, 100.0 * in10 / cnt, cnt,
           nn_now() - t0);
    rc = CLI_EXIT_OK;
done:
    free(x);
    free(probs);
    free(pred);
    free(tmp);
    dataset_free(ds);
    return rc;
}

/* Before anything loads: the outputs are writable and none is an input
 * (every model of the list is one); an earlier run's --json file or
 * --report folder is kept unless --overwrite. Returns 0, or the exit code
 * after one line on stderr. */
static int check_outputs(const eval_opts *o, const char *models)
{
    char *list = strdup(models);
    if (!list) {
        cli_err("out of memory");
        return CLI_EXIT_FAIL;
    }
    outpath_path files[ENSEMBLE_MAX + 3] = {{"--data", o->data, OUTPATH_INPUT},
                                            {"--json", o->json, OUTPATH_FILE_MKDIRS},
                                            {"--report", o->report, OUTPATH_FOLDER}};
    int n = 3;
    for (char *p = list, *next; p && n < ENSEMBLE_MAX + 3; p = next) {
        if ((next = strchr(p, ',')))
            *next++ = 0;
        if (*p) /* an empty name: ensemble_load says so */
            files[n++] = (outpath_path){"--model", p, OUTPATH_INPUT};
    }
    int rc = outpath_check_outputs(files, n);
    free(list);
    if (!rc && outpath_refuse_inside("--report", o->report, "--data", o->data)) {
        cli_err("eval: %s", app_error());
        rc = CLI_EXIT_USAGE;
    }
    if (!rc && !o->overwrite &&
        (outpath_refuse_existing("--json", o->json) != 0 ||
         outpath_refuse_nonempty_dir("--report", o->report) != 0)) {
        cli_err("eval: %s", app_error());
        rc = CLI_EXIT_USAGE;
    }
    return rc;
}

int cmd_eval(int argc, char **argv)
{
    eval_opts o;
    eval_status st = parse(argc, argv, &o);
    if (st != EVAL_RUN)
        return st == EVAL_HELP ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    const char *model = o.model, *data = o.data, *split = o.split, *json = o.json,
               *report = o.report;
    int views = o.views, threads = o.threads, uncalibrated = o.uncalibrated, precision = o.precision;
    /* by what the file is: a test on its name (".csv") took an
     * "FER2013.CSV" whole, its Training rows scored with the test rows */
    if (!split && dataset_is_csv(data))
        split = "PublicTest";
    if (!model)
        model = paths_default_model();
    int orc = check_outputs(&o, model);
    if (orc)
        return orc;
    ens e;
    if (ensemble_load(&e, model, threads)) {
        cli_err("%s", app_error());
        return CLI_EXIT_FAIL;
    }
    nn_net *net = e.net[0]; /* the class order, faces for the report */
    int rc = CLI_EXIT_FAIL;
    {
        const char *cn[NN_MAX_CLASSES];
        float centres[NN_MAX_CLASSES];
        int kk = nn_net_n_classes(net);
        for (int i = 0; i < kk; i++)
            cn[i] = nn_net_class(net, i);
        if (rollnet_centres(cn, kk, centres)) {
            if (e.n > 1 || views > 1 || json || report) {
                cli_err("eval: %s is a roll model: no ensemble, --tta, --mirror, --json or --report",
                        e.path[0]);
                rc = CLI_EXIT_USAGE;
            } else {
                rc = eval_roll(net, centres, model, data, split, threads);
            }
            ensemble_free(&e);
            return rc;
        }
    }
    dataset *ds = NULL;
    float *acc = NULL;
    int *pred = NULL;
    for (int m = 0; m < e.n; m++) {
        if (uncalibrated)
            nn_net_set_calib(e.net[m], NULL);
        if (nn_net_set_precision(e.net[m], (nn_precision)precision)) {
            cli_err("--precision: %s: %s", e.path[m], nn_error());
            goto done;
        }
    }
    if (!(ds = cmd_load_for_model(net, data, split, 0, threads, 0))) {
        cli_err("%s", app_error());
        goto done;
    }
    int c, h, w, k = nn_net_n_classes(net), n = ds->n;
    nn_net_input_shape(net, &c, &h, &w);
    acc = calloc((size_t)n * k, sizeof *acc);
    pred = malloc((size_t)n * sizeof *pred);
    if (!acc || !pred) {
        cli_err("out of memory for %d images", n);
        goto done;
    }
    double t0 = nn_now();
    if (ensemble_classify(&e, ds, data, split, threads, views, tta_view, acc)) {
        cli_err("%s", app_error());
        goto done;
    }
    double secs = nn_now() - t0;
    for (int i = 0; i < n; i++)
        pred[i] = probs_argmax(acc + (size_t)i * k, k);
    report_metrics m;
    if (report_metrics_compute(&m, ds->labels, pred, n, k)) {
        cli_err("%s", app_error());
        goto done;
    }
    const char *names[NN_MAX_CLASSES];
    for (int i = 0; i < k; i++)
        names[i] = nn_net_class(net, i);
    printf("model: %s\ndata:  %s%s%s (%d faces)%s\n", model, data, split ? " split " : "",
           split ? split : "", n,
           views == N_TTA ? ", test-time augmentation" : views == 2 ? ", the face and its mirror" : "");
    report_metrics_print(stdout, &m, names);
    char calib[96];
    double ece = nn_ece(acc, ds->labels, n, k, CALIBRATE_ECE_BINS), nll = nn_nll(acc, ds->labels, n, k);
    if (e.n > 1)
        snprintf(calib, sizeof calib, "ensemble of %d models, each its own", e.n);
    else
        calibrate_describe(net, calib, sizeof calib);
    printf("calibration: %s; ECE %.4f (%d bins), NLL %.4f\n", calib, ece, CALIBRATE_ECE_BINS, nll);
    printf("time: %.2f s (%.0f faces/s)\n", secs, (double)n * views * e.n / secs);
    char what[512];
    snprintf(what, sizeof what, "%s%s%s%s", data, split ? " " : "", split ? split : "",
             views == N_TTA ? " (TTA)" : views == 2 ? " (mirror)" : "");
    report_content rep = {
        .title = "evaluation", .classes = names, .n_classes = k, .metrics = &m, .metrics_of = what,
        .best_val_accuracy = -1, .model = model, .data = data,
        .has_probs = 1, .ece = ece, .nll = nll, .calibration = calib,
    };
    if (json && report_write_metrics_json(json, &rep)) {
        cli_err("--json: %s", app_error());
        goto done;
    }
    if (report) {
        cmd_samples smp;
        if (cmd_samples_pick(&smp, &rep, ds, pred, acc, k))
            goto done;
        int r = report_write(report, &rep);
        cmd_samples_free(&smp);
        if (r) {
            cli_err("--report: %s", app_error());
            goto done;
        }
    }
    rc = CLI_EXIT_OK;
done:
    free(acc);
    free(pred);
    dataset_free(ds);
    ensemble_free(&e);
    return rc;
}
