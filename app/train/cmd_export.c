/* cmd_export.c - `emotion-train export`: write a model as ONNX so other
 * runtimes can use it; --check runs the file through OpenCV's DNN module and
 * compares it with the engine on random inputs. */
#include "cli.h"
#include "commands.h"
#include "cvw.h"
#include "nn.h"
#include "app_err.h"
#include "outpath.h"
#include "paths.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK_TOL 1e-4 /* absolute, on probabilities; float32 reorderings stay far below */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: emotion-train export [--model M] --onnx OUT.onnx [--check] [--overwrite]\n"
            "\n"
            "Write the model as ONNX (opset 13): input \"input\" float32 [N,C,H,W] of raw\n"
            "0..255 pixels after grayscale, resize and, when the model says so, histogram\n"
            "equalization (scaling is inside the graph); output \"probs\" [N,classes].\n"
            "Class names and preprocessing are in the metadata.\n"
            "\n"
            "  -m, --model M     model file (default: %s)\n"
            "  -o, --onnx OUT    ONNX file to write\n"
            "      --check       load OUT with OpenCV DNN and compare with the engine\n"
            "      --overwrite   let OUT replace an existing file (without it, a file\n"
            "                    with something in it is refused)\n",
            paths_default_model());
}

/* Max |engine - OpenCV| over a batch of random pixels, or -1 on error. */
static double check_with_opencv(nn_net *net, const char *onnx)
{
    enum { N = 4 };
    int c, h, w, k = nn_net_n_classes(net);
    nn_net_input_shape(net, &c, &h, &w);
    size_t len = (size_t)N * c * h * w;
    const nn_preproc *pp = nn_net_preproc_c(net);
    float *raw = malloc(len * sizeof *raw), *pre = malloc(len * sizeof *pre);
    float *cv_out = malloc((size_t)N * k * sizeof *cv_out);
    double maxd = -1;
    cvw_dnn *dnn = NULL;
    if (!raw || !pre || !cv_out) {
        cli_err("export: out of memory");
        goto done;
    }
    uint32_t s = 12345;
    for (size_t i = 0; i < len; i++) {
        s = s * 1664525u + 1013904223u; /* any pixels will do */
        raw[i] = (float)(s >> 24);
        pre[i] = raw[i] * pp->scale + pp->bias;
    }
    if (!(dnn = cvw_dnn_load_onnx(onnx))) {
        cli_err("export --check: %s", cvw_error());
        goto done;
    }
    if (cvw_dnn_forward(dnn, raw, N, c, h, w, cv_out, k)) {
        cli_err("export --check: %s", cvw_error());
        goto done;
    }
    const float *p = nn_net_forward(net, pre, N, 0);
    if (!p) {
        cli_err("export --check: %s", nn_error());
        goto done;
    }
    maxd = 0;
    for (size_t i = 0; i < (size_t)N * k; i++) {
        double d = fabs((double)p[i] - cv_out[i]);
        if (!(d <= maxd))
            maxd = isnan(d) ? INFINITY : d;
    }
done:
    cvw_dnn_free(dnn);
    free(raw);
    free(pre);
    free(cv_out);
    return maxd;
}

int cmd_export(int argc, char **argv)
{
    const char *model = NULL, *out = NULL;
    int check = 0, overwrite = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return CLI_EXIT_OK;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            if (!(model = cli_value(argc, argv, &i)))
                return CLI_EXIT_USAGE;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--onnx")) {
            if (!(out = cli_value(argc, argv, &i)))
                return CLI_EXIT_USAGE;
        } else if (!strcmp(a, "--check")) {
            check = 1;
        } else if (!strcmp(a, "--overwrite")) {
            overwrite = 1;
        } else {
            cli_err("export: unexpected argument '%s' (try --help)", a);
            return CLI_EXIT_USAGE;
        }
    }
    if (!out || !*out) {
        cli_err("export: --onnx OUT.onnx is required (try --help)");
        return CLI_EXIT_USAGE;
    }
    int default_model = !model;
    if (default_model)
        model = paths_default_model();
    outpath_path files[] = {{"--model", model, OUTPATH_INPUT}, {"--onnx", out, OUTPATH_FILE}};
    int orc = outpath_check_outputs(files, 2);
    if (orc)
        return orc;
    if (!overwrite && outpath_refuse_existing("--onnx", out) != 0) {
        cli_err("export: %s", app_error());
        return CLI_EXIT_USAGE;
    }

    nn_net *net = nn_net_load(model);
    if (!net) {
        cli_err("export: %s%s", nn_error(), default_model ? " (no default model; pass --model M)" : "");
        return CLI_EXIT_FAIL;
    }
    size_t len = 0;
    void *onnx = nn_export_onnx_mem(net, &len);
    if (!onnx || outpath_write_mem(out, onnx, len) != 0) {
        cli_err("export: %s", onnx ? app_error() : nn_error());
        free(onnx);
        nn_net_free(net);
        return CLI_EXIT_FAIL;
    }
    free(onnx);
    int c, h, w;
    nn_net_input_shape(net, &c, &h, &w);
    printf("wrote %s: input [N,%d,%d,%d] raw 0..255%s, output probs [N,%d]\n", out, c, h, w,
           nn_net_preproc_c(net)->equalize ? " after equalizeHist" : "", nn_net_n_classes(net));

    int rc = CLI_EXIT_OK;
    if (check) {
        double d = check_with_opencv(net, out);
        if (d < 0) {
            rc = CLI_EXIT_FAIL;
        } else if (!(d <= CHECK_TOL)) {
            cli_err("export --check: OpenCV DNN and the engine differ by %.3g (more than %g)", d,
                   CHECK_TOL);
            rc = CLI_EXIT_FAIL;
        } else {
            printf("check: OpenCV DNN agrees with the engine (max |diff| %.3g)\n", d);
        }
    }
    nn_net_free(net);
    return rc;
}
