/* cmd_quantize.c - `emotion-train quantize [--model M] --data PATH --out M8
 * [--split NAME] [--count N] [--seed S] [--threads N]`: INT8 calibration.
 * Runs a seeded, stratified sample of N training faces (default 500)
 * through the model and writes it again with their activation ranges (the
 * QNT8 section), so that `--precision int8` can run it. Prints how often
 * INT8 and FP32 agree on those faces. */
#include "app_err.h"
#include "cli.h"
#include "commands.h"
#include "outpath.h"
#include "paths.h"
#include "cmd_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_quantize(int argc, char **argv)
{
    cmd_io io = {.cmd = "quantize"};
    int count = 500, threads = 2, seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--help")) {
            printf("usage: emotion-train quantize [--model M] --data PATH --out FILE [--split NAME]\n"
                   "         [--count N] [--seed S] [--threads N] [--overwrite]\n"
                   "Calibrates INT8 inference on N faces of PATH (default 500, split Training\n"
                   "for a .csv) and writes the model with it to FILE. Without --model: %s.\n"
                   "An existing FILE is refused unless --overwrite is given; FILE is never --model.\n",
                   paths_default_model());
            return CLI_EXIT_OK;
        }
        if (cmd_io_flag(&io, a))
            continue;
        if (!(v = cli_value(argc, argv, &i)))
            return CLI_EXIT_USAGE;
        if (cmd_io_option(&io, a, v))
            continue;
        if (!strcmp(a, "--count")) {
            if (cli_int(a, v, 1, 100000, &count))
                return CLI_EXIT_USAGE;
        } else if (!strcmp(a, "--seed")) {
            if (cli_int(a, v, 0, 1 << 30, &seed))
                return CLI_EXIT_USAGE;
        } else if (!strcmp(a, "--threads")) {
            if (cli_int(a, v, 1, 256, &threads))
                return CLI_EXIT_USAGE;
        } else {
            cli_err("quantize: unknown option '%s'", a);
            return CLI_EXIT_USAGE;
        }
    }
    if (!io.data || !io.out) {
        cli_err("quantize: --data and --out are required (see --help)");
        return CLI_EXIT_USAGE;
    }
    const char *split = cmd_csv_split(&io, "Training"), *data = io.data, *out = io.out;
    if (!io.model)
        io.model = paths_default_model();
    int rc;
    nn_net *net = cmd_io_open(&io, threads, &rc);
    if (!net)
        return rc;
    rc = CLI_EXIT_FAIL;
    dataset *ds = NULL;
    float *x = NULL, *p32 = NULL, *p8 = NULL;
    if (!(ds = cmd_load_for_model(net, data, split, 0, threads, 1))) {
        cli_err("%s", app_error());
        goto done;
    }
    if (dataset_limit(ds, count, (uint64_t)seed)) {
        cli_err("quantize: cannot sample %d faces", count);
        goto done;
    }
    int c, h, w, k = nn_net_n_classes(net), n = ds->n;
    nn_net_input_shape(net, &c, &h, &w);
    x = malloc((size_t)n * c * h * w * sizeof *x);
    p32 = malloc((size_t)n * k * sizeof *p32);
    p8 = malloc((size_t)n * k * sizeof *p8);
    if (!x || !p32 || !p8) {
        cli_err("out of memory for %d faces", n);
        goto done;
    }
    cmd_preprocess(net, ds, NULL, n, x);
    if (nn_net_calibrate_int8(net, x, n) || cmd_classify(net, x, n, NULL, p32, NULL, NULL) ||
        nn_net_set_precision(net, NN_PRECISION_INT8) ||
        cmd_classify(net, x, n, NULL, p8, NULL, NULL)) {
        cli_err("quantize: %s", nn_error());
        goto done;
    }
    int agree = 0;
    for (int i = 0; i < n; i++)
        agree += probs_argmax(p32 + (size_t)i * k, k) == probs_argmax(p8 + (size_t)i * k, k);
    /* Not nn_net_save: its fixed OUT.tmp name would take a file of that
     * name, and its rename would replace a device or a link to one. */
    if (cmd_write_model(net, out)) {
        cli_err("%s", app_error());
        goto done;
    }
    printf("calibrated on %d faces of %s%s%s; INT8 (kernel %s) agrees with FP32 on %.1f%% of them\n"
           "wrote %s\n", n, data, split ? " split " : "", split ? split : "", nn_int8_kernel_name(),
           100.0 * agree / n, out);
    rc = CLI_EXIT_OK;
done:
    free(x);
    free(p32);
    free(p8);
    dataset_free(ds);
    nn_net_free(net);
    return rc;
}
