/* cmd_info.c - `emotion-train info [--model M | --arch NAME|FILE] [--json]`:
 * architecture, parameter and MAC counts, classes, input and preprocessing,
 * training metadata. */
#include "calibrate.h"
#include "cli.h"
#include "commands.h"
#include "jsonw.h"
#include "nn.h"
#include "paths.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static void print_text(const nn_net *net, const char *source)
{
    int c, h, w;
    char buf[256];
    nn_net_input_shape(net, &c, &h, &w);
    const nn_preproc *pre = nn_net_preproc_c(net);
    const nn_meta *m = nn_net_meta_c(net);
    printf("model:      %s\n", source);
    printf("input:      %dx%d, %d channel%s (%s)\n", w, h, c, c == 1 ? "" : "s",
           c == 1 ? "grayscale" : "gray replicated");
    printf("preprocess: resize to %dx%d, histogram equalization %s, x = pixel * %g + %g\n", w, h,
           pre->equalize ? "on" : "off", (double)pre->scale, (double)pre->bias);
    printf("classes:    ");
    for (int i = 0; i < nn_net_n_classes(net); i++)
        printf("%s%s", i ? ", " : "", nn_net_class(net, i));
    printf("\ncalibration: %s\n", calibrate_describe(net, buf, sizeof buf));
    printf("int8:       %s\n", nn_net_has_int8(net) ? "calibrated (--precision int8 runs it)"
                                                     : "not calibrated (see emotion-train quantize)");
    printf("params:     %zu\nmacs:       %llu per face\n", nn_net_n_params(net),
           (unsigned long long)nn_net_macs(net));
    printf("layers:\n");
    for (int i = 0; i < nn_net_n_layers(net); i++)
        printf("  %2d %s\n", i, nn_net_layer_desc(net, i, buf, sizeof buf));
    if (m->dataset[0] || m->epochs) {
        printf("trained on: %s\n", m->dataset[0] ? m->dataset : "(unknown)");
        printf("epochs:     %d\n", m->epochs);
        if (m->val_accuracy >= 0)
            printf("val acc:    %.2f%%\n", 100.0 * m->val_accuracy);
        if (m->train_seconds > 0)
            printf("train time: %.1f min\n", m->train_seconds / 60);
        if (m->created) {
            time_t t = (time_t)m->created;
            char when[64];
            strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", gmtime(&t));
            printf("created:    %s\n", when);
        }
        if (m->command[0])
            printf("command:    %s\n", m->command);
    } else
        printf("trained:    no training metadata\n");
}

static void print_json(const nn_net *net, const char *source)
{
    int c, h, w;
    nn_net_input_shape(net, &c, &h, &w);
    const nn_preproc *pre = nn_net_preproc_c(net);
    const nn_meta *m = nn_net_meta_c(net);
    printf("{\"model\":");
    jsonw_string(stdout, source);
    printf(",\"classes\":[");
    for (int i = 0; i < nn_net_n_classes(net); i++) {
        if (i)
            putchar(',');
        jsonw_string(stdout, nn_net_class(net, i));
    }
    printf("],\"input\":{\"width\":%d,\"height\":%d,\"channels\":%d}", w, h, c);
    printf(",\"equalize\":%s,\"scale\":", pre->equalize ? "true" : "false");
    jsonw_number(stdout, pre->scale, 9);
    printf(",\"bias\":");
    jsonw_number(stdout, pre->bias, 9);
    printf(",\"params\":%zu,\"macs\":%llu,\"arch\":", nn_net_n_params(net),
           (unsigned long long)nn_net_macs(net));
    jsonw_string(stdout, nn_net_spec(net));
    printf(",\"dataset\":");
    jsonw_string(stdout, m->dataset);
    printf(",\"command\":");
    jsonw_string(stdout, m->command);
    printf(",\"epochs\":%d,\"val_accuracy\":", m->epochs);
    if (m->val_accuracy >= 0)
        jsonw_number(stdout, m->val_accuracy, 6);
    else
        printf("null");
    printf(",\"train_seconds\":");
    jsonw_number(stdout, m->train_seconds, 6);
    printf(",\"created\":%lld", (long long)m->created);
    const nn_calib *cal = nn_net_calib(net);
    static const char *const kinds[] = {"none", "temperature", "vector"};
    printf(",\"calibration\":{\"kind\":\"%s\"", kinds[cal->kind]);
    if (cal->kind != NN_CALIB_NONE) {
        for (int part = 0; part < 2; part++) {
            printf(",\"%s\":[", part ? "bias" : "scale");
            for (int i = 0; i < cal->n_classes; i++) {
                printf(i ? "," : "");
                jsonw_number(stdout, part ? cal->bias[i] : cal->scale[i], 7);
            }
            printf("]");
        }
    }
    printf("},\"int8\":%s}\n", nn_net_has_int8(net) ? "true" : "false");
}

int cmd_info(int argc, char **argv)
{
    const char *model = NULL, *arch = NULL;
    int json = 0, classes = 7;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model")) {
            if (!(model = cli_value(argc, argv, &i)))
                return CLI_EXIT_USAGE;
        } else if (!strcmp(argv[i], "--arch")) {
            if (!(arch = cli_value(argc, argv, &i)))
                return CLI_EXIT_USAGE;
        } else if (!strcmp(argv[i], "--classes")) {
            const char *v = cli_value(argc, argv, &i);
            if (!v || cli_int("--classes", v, 2, NN_MAX_CLASSES, &classes))
                return CLI_EXIT_USAGE;
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "--help")) {
            printf("usage: emotion-train info [--model M | --arch NAME|FILE [--classes K]] [--json]\n"
                   "Describes a model (default %s) or an architecture.\n", paths_default_model());
            return CLI_EXIT_OK;
        } else {
            cli_err("info: unknown option '%s'", argv[i]);
            return CLI_EXIT_USAGE;
        }
    }
    if (model && arch) {
        cli_err("info: give --model or --arch, not both");
        return CLI_EXIT_USAGE;
    }
    nn_net *net;
    const char *source;
    if (arch) {
        net = nn_net_from_arch(arch, classes);
        source = arch;
    } else {
        source = model ? model : paths_default_model();
        net = nn_net_load(source);
    }
    if (!net) {
        cli_err("%s", nn_error());
        return CLI_EXIT_FAIL;
    }
    if (json)
        print_json(net, source);
    else
        print_text(net, source);
    nn_net_free(net);
    return CLI_EXIT_OK;
}
