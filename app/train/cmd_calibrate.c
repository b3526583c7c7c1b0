/* cmd_calibrate.c - `emotion-train calibrate --model M --data PATH
 * [--split NAME] [--val-split F [--seed S] [--val-copies C]] [--method MODE] --out M2`:
 * fits a trained model's probability calibration on validation faces and
 * writes the model with it. With --val-split F --seed S on the training
 * data, the faces are the very validation split `train --val-split F
 * --seed S --val-copies C` held out. */
#include "app_err.h"
#include "calibrate.h"
#include "cli.h"
#include "commands.h"
#include "outpath.h"
#include "cmd_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(void)
{
    printf("usage: emotion-train calibrate --model M --data PATH [--split NAME]\n"
           "         [--val-split F [--seed S] [--val-copies exclude|allow]]\n"
           "         [--method auto|temperature|vector|none]\n"
           "         [--threads N] --out MODEL [--overwrite]\n"
           "\n"
           "Fits the model's probability calibration on the faces of --data (or, with\n"
           "--val-split F, on the stratified validation split that `train --val-split F\n"
           "--seed S` holds out of the same data; --seed and --val-copies default to\n"
           "train's, 1 and exclude: give allow for a model trained before 2026-11-27) and\n"
           "writes the model with it to --out. --method: a temperature, vector scaling\n"
           "(a scale and a bias per class), auto (default: the one with the lower\n"
           "cross-validated NLL on those faces), or none (removes a calibration).\n"
           "An existing --out file is refused unless --overwrite is given; --out is never\n"
           "--model.\n");
}

int cmd_calibrate(int argc, char **argv)
{
    cmd_io io = {.cmd = "calibrate"};
    float share = 0;
    int threads = 2;
    unsigned long long seed = 1;
    const char *split_only = NULL; /* --seed or --val-copies, which only --val-split uses */
    calibrate_mode mode = CALIBRATE_AUTO;
    dataset_copies copies = DATASET_COPIES_EXCLUDE;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--help")) {
            usage();
            return CLI_EXIT_OK;
        }
        if (cmd_io_flag(&io, a))
            continue;
        if (!(v = cli_value(argc, argv, &i)))
            return CLI_EXIT_USAGE;
        if (cmd_io_option(&io, a, v))
            continue;
        if (!strcmp(a, "--val-split")) {
            if (cli_float(a, v, 0.001, 0.9, &share))
                return CLI_EXIT_USAGE;
        } else if (!strcmp(a, "--seed")) {
            if (cli_u64(a, v, &seed))
                return CLI_EXIT_USAGE;
            split_only = a;
        } else if (!strcmp(a, "--val-copies")) {
            split_only = a;
            if (!strcmp(v, "exclude") || !strcmp(v, "allow")) {
                copies = !strcmp(v, "allow") ? DATASET_COPIES_ALLOW : DATASET_COPIES_EXCLUDE;
            } else {
                cli_err("--val-copies: '%s' is not exclude or allow", v);
                return CLI_EXIT_USAGE;
            }
        } else if (!strcmp(a, "--method")) {
            if (calibrate_parse_mode(a, v, &mode)) {
                cli_err("%s", app_error());
                return CLI_EXIT_USAGE;
            }
        } else if (!strcmp(a, "--threads")) {
            if (cli_int(a, v, 1, 256, &threads))
                return CLI_EXIT_USAGE;
        } else {
            cli_err("calibrate: unknown option '%s'", a);
            return CLI_EXIT_USAGE;
        }
    }
    if (!io.model || !io.data || !io.out) {
        cli_err("calibrate: %s is required (see --help)",
               !io.model ? "--model" : !io.data ? "--data" : "--out");
        return CLI_EXIT_USAGE;
    }
    if (split_only && share <= 0) {
        /* without --val-split every face of --data fits: the option would
         * go unused, and the user believe the faces were train's split */
        cli_err("calibrate: %s only picks the faces of --val-split F (without it all of --data "
                "is used)", split_only);
        return CLI_EXIT_USAGE;
    }
    /* --val-split promises train's split: of a CSV's Training rows, as
     * train takes them (all rows were split, test rows with them) */
    const char *model = io.model, *data = io.data, *out = io.out,
               *split = share > 0 ? cmd_csv_split(&io, "Training") : io.split;
    int rc;
    nn_net *net = cmd_io_open(&io, threads, &rc);
    if (!net)
        return rc;
    rc = CLI_EXIT_FAIL;
    dataset *ds = NULL, *val = NULL;
    float *x = NULL;
    if (!(ds = cmd_load_for_model(net, data, split, !io.split, threads, 0))) {
        cli_err("%s", app_error());
        goto done;
    }
    if (share > 0 && !(val = dataset_split(ds, share, seed, copies, NULL))) {
        cli_err("--val-split: %s", app_error());
        goto done;
    }
    const dataset *cal = val ? val : ds;
    int c, h, w;
    nn_net_input_shape(net, &c, &h, &w);
    if (!(x = malloc((size_t)cal->n * c * h * w * sizeof *x))) {
        cli_err("out of memory for %d images", cal->n);
        goto done;
    }
    cmd_preprocess(net, cal, NULL, cal->n, x);
    char before[96];
    calibrate_describe(net, before, sizeof before);
    fprintf(stderr, "%s: calibration was %s\n", model, before);
    if (calibrate_fit_net(net, x, cal->labels, cal->n, mode, stderr)) {
        cli_err("%s", app_error());
        goto done;
    }
    /* Not nn_net_save: its fixed OUT.tmp name would take a file of that
     * name, and its rename would replace a device or a link to one. */
    if (cmd_write_model(net, out)) {
        cli_err("%s", app_error());
        goto done;
    }
    fprintf(stderr, "saved %s\n", out);
    rc = CLI_EXIT_OK;
done:
    free(x);
    dataset_free(val);
    dataset_free(ds);
    nn_net_free(net);
    return rc;
}
