/* cmd_bench.c - `emotion-train bench --arch NAME [--threads N] [--seconds S]`:
 * inference latency for one face, inference and training throughput for a
 * batch of 64, printed as key=value lines. Random weights and inputs: speed
 * does not depend on them. */
#include "cli.h"
#include "commands.h"
#include "cvw.h"
#include "nn.h"
#include "cmd_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Runs fn until `seconds` have passed (at least `min_iters` times) and
 * returns the best time per call: the least disturbed measurement. */
typedef int (*bench_fn)(void *ctx);

static double best_time(bench_fn fn, void *ctx, double seconds, int min_iters)
{
    double best = 1e30, start = nn_now();
    for (int i = 0; i < min_iters || nn_now() - start < seconds; i++) {
        double t0 = nn_now();
        if (fn(ctx))
            return -1;
        double dt = nn_now() - t0;
        if (dt < best)
            best = dt;
    }
    return best;
}

typedef struct {
    nn_net *net;
    nn_optim *opt;
    float *x;
    int *y;
    int n;
} bench_ctx;

static int run_infer(void *arg)
{
    bench_ctx *b = arg;
    return nn_net_forward(b->net, b->x, b->n, 0) ? 0 : -1;
}

typedef struct {
    cvw_dnn *dnn;
    const float *x;
    float *out;
    int n, c, h, w, k;
} cv_ctx;

static int run_opencv(void *arg)
{
    cv_ctx *b = arg;
    return cvw_dnn_forward(b->dnn, b->x, b->n, b->c, b->h, b->w, b->out, b->k);
}

/* The same net exported to ONNX and run by OpenCV's DNN module, measured
 * the same way: the reference the engine's speed is judged against. */
static int bench_opencv(nn_net *net, const float *x, int batch, int threads, double seconds)
{
    char path[] = "/tmp/emotion-bench-XXXXXX.onnx";
    int fd = mkstemps(path, 5);
    if (fd < 0) {
        cli_err("bench: cannot create a temporary file");
        return -1;
    }
    close(fd);
    int rc = -1;
    cv_ctx b = {.x = x, .k = nn_net_n_classes(net)};
    nn_net_input_shape(net, &b.c, &b.h, &b.w);
    b.out = malloc((size_t)batch * b.k * sizeof(float));
    if (!b.out || nn_export_onnx(net, path)) {
        cli_err("bench: %s", nn_error());
        goto done;
    }
    cvw_set_threads(threads);
    if (!(b.dnn = cvw_dnn_load_onnx(path))) {
        cli_err("bench: %s", cvw_error());
        goto done;
    }
    b.n = 1;
    double t1 = best_time(run_opencv, &b, seconds, 20);
    b.n = batch;
    double tb = best_time(run_opencv, &b, seconds, 3);
    if (t1 < 0 || tb < 0) {
        cli_err("bench: %s", cvw_error());
        goto done;
    }
    printf("opencv_infer_batch1_us=%.1f\n", t1 * 1e6);
    printf("opencv_infer_batch%d_img_per_s=%.1f\n", batch, batch / tb);
    rc = 0;
done:
    cvw_dnn_free(b.dnn);
    free(b.out);
    remove(path);
    return rc;
}

/* One face's mean time in each layer over `seconds` of passes, printed
 * as layerI_us=T DESC lines (fused ReLUs count on the layer before). */
static int time_layers(bench_ctx *b, double seconds)
{
    int n = nn_net_n_layers(b->net), runs = 0;
    double *t = calloc((size_t)n, sizeof *t);
    if (!t)
        return -1;
    b->n = 1;
    nn_net_time_layers(b->net, t);
    for (double start = nn_now(); runs < 20 || nn_now() - start < seconds; runs++)
        if (run_infer(b))
            break;
    nn_net_time_layers(b->net, NULL);
    char desc[160];
    for (int i = 1; i < n; i++)
        if (t[i] > 0)
            printf("layer%d_us=%.1f %s\n", i, t[i] / runs * 1e6,
                   nn_net_layer_desc(b->net, i, desc, sizeof desc));
    free(t);
    return 0;
}

static int run_train(void *arg)
{
    bench_ctx *b = arg;
    if (!nn_net_forward(b->net, b->x, b->n, 1))
        return -1;
    nn_net_zero_grad(b->net);
    if (nn_net_backward(b->net, b->y, NULL) < 0)
        return -1;
    nn_optim_step(b->opt, 1e-4f);
    return 0;
}

int cmd_bench(int argc, char **argv)
{
    const char *arch = "fer-classic", *model = NULL, *precision = "fp32";
    int threads = 1, batch = 64, classes = 7, opencv = 0, layers = 0;
    float seconds = 3;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (!strcmp(argv[i], "--help")) {
            printf("usage: emotion-train bench [--arch NAME|FILE | --model M] [--threads N] [--batch N]\n"
                   "                           [--seconds S] [--opencv] [--precision fp32|bf16|auto|int8]\n"
                   "                           [--layers]\n"
                   "Prints params, macs, infer_batch1_us, infer_batch64_img_per_s, train_batch64_img_per_s;\n"
                   "--model times a trained model's own weights (fresh ones have none of the tiny\n"
                   "values training leaves); --opencv also runs the same net exported to ONNX in\n"
                   "OpenCV's DNN module. --precision bf16|auto sets the training products' arithmetic\n"
                   "(see train --help; inference stays FP32); int8 times the inference passes in INT8\n"
                   "(with --model: its calibration, else one on the random inputs; training FP32).\n"
                   "--layers also prints layerI_us=T DESC: one face's mean time in layer I (a fused\n"
                   "ReLU counts on the layer before it; an INT8 pass counts whole on the last layer).\n");
            return CLI_EXIT_OK;
        }
        if (!strcmp(argv[i], "--opencv")) {
            opencv = 1;
            continue;
        }
        if (!strcmp(argv[i], "--layers")) {
            layers = 1;
            continue;
        }
        if (!(v = cli_value(argc, argv, &i)))
            return CLI_EXIT_USAGE;
        if (!strcmp(argv[i - 1], "--arch"))
            arch = v;
        else if (!strcmp(argv[i - 1], "--model"))
            model = v;
        else if (!strcmp(argv[i - 1], "--precision"))
            precision = v;
        else if (!strcmp(argv[i - 1], "--threads")) {
            if (cli_int("--threads", v, 1, 256, &threads))
                return CLI_EXIT_USAGE;
        } else if (!strcmp(argv[i - 1], "--batch")) {
            if (cli_int("--batch", v, 1, 4096, &batch))
                return CLI_EXIT_USAGE;
        } else if (!strcmp(argv[i - 1], "--seconds")) {
            if (cli_float("--seconds", v, 0.01, 3600, &seconds))
                return CLI_EXIT_USAGE;
        } else {
            cli_err("bench: unknown option '%s'", argv[i - 1]);
            return CLI_EXIT_USAGE;
        }
    }
    nn_net *net = model ? nn_net_load(model) : nn_net_from_arch(arch, classes);
    if (!net) {
        cli_err("%s", nn_error());
        return CLI_EXIT_FAIL;
    }
    if (model) {
        arch = model;
        classes = nn_net_n_classes(net);
    } else {
        nn_net_init(net, 1);
    }
    int rc = CLI_EXIT_FAIL;
    int c, h, w;
    nn_net_input_shape(net, &c, &h, &w);
    size_t per = (size_t)c * h * w;
    bench_ctx b = {.net = net};
    b.x = malloc((size_t)batch * per * sizeof(float));
    b.y = malloc((size_t)batch * sizeof(int));
    nn_optim_cfg oc = nn_optim_defaults(NN_SGD);
    b.opt = nn_optim_new(net, &oc);
    if (!b.x || !b.y || !b.opt || nn_net_set_threads(net, threads)) {
        cli_err("bench: %s", nn_error()[0] ? nn_error() : "out of memory");
        goto done;
    }
    int int8 = !strcmp(precision, "int8");
    if (!int8 && cmd_set_precision(net, precision)) {
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    uint64_t s = 42;
    for (size_t i = 0; i < (size_t)batch * per; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        b.x[i] = (float)(s >> 40) / 16777216.0f;
    }
    for (int i = 0; i < batch; i++)
        b.y[i] = i % classes;
    if (int8 && ((!nn_net_has_int8(net) && nn_net_calibrate_int8(net, b.x, batch)) ||
                 nn_net_set_precision(net, NN_PRECISION_INT8))) {
        cli_err("bench: --precision int8: %s", nn_error());
        goto done;
    }

    /* kernel: every class and how it was chosen; then one line per class */
    printf("arch=%s\nkernel=%s\nkernel_single=%s\nkernel_batch=%s\nkernel_train=%s\n",
           arch, nn_kernel_name(), nn_kernel_for(NN_SHAPES_SINGLE), nn_kernel_for(NN_SHAPES_BATCH),
           nn_kernel_for(NN_SHAPES_TRAIN));
    if (int8)
        printf("int8_kernel=%s\n", nn_int8_kernel_name());
    nn_precision prec = nn_net_precision(net);
    printf("precision=%s\nthreads=%d\nparams=%zu\nmacs=%llu\n",
           prec == NN_PRECISION_BF16 ? "bf16" : prec == NN_PRECISION_INT8 ? "int8" : "fp32", threads,
           nn_net_n_params(net), (unsigned long long)nn_net_macs(net));
    fflush(stdout);
    b.n = 1;
    double t1 = best_time(run_infer, &b, seconds, 20);
    b.n = batch;
    double tb = best_time(run_infer, &b, seconds, 3);
    double tt = best_time(run_train, &b, seconds, 3);
    if (t1 < 0 || tb < 0 || tt < 0) {
        cli_err("bench: %s", nn_error());
        goto done;
    }
    printf("infer_batch1_us=%.1f\n", t1 * 1e6);
    if (layers && time_layers(&b, seconds)) {
        cli_err("bench: out of memory");
        goto done;
    }
    printf("infer_batch%d_img_per_s=%.1f\n", batch, batch / tb);
    printf("train_batch%d_img_per_s=%.1f\n", batch, batch / tt);
    fflush(stdout);
    if (opencv && bench_opencv(net, b.x, batch, threads, seconds))
        goto done;
    rc = CLI_EXIT_OK;
done:
    nn_optim_free(b.opt);
    free(b.x);
    free(b.y);
    nn_net_free(net);
    return rc;
}
