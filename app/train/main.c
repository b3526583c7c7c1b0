/* main.c - emotion-train: everything about models. Dispatches to one
 * subcommand per file (cmd_*.c). */
#include "cli.h"
#include "commands.h"
#include "nn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Options that take no value, per command, so that an option given twice
 * is found before the command runs (the last would win silently). */
static const char *const train_flags[] = {"--help", "--no-equalize", "--overwrite", NULL};
static const char *const out_flags[] = {"--help", "--overwrite", NULL}; /* quantize, calibrate */
static const char *const eval_flags[] = {"--help", "--tta", "--mirror", "--uncalibrated", "--overwrite",
                                         NULL};
static const char *const info_flags[] = {"--help", "--json", NULL};
static const char *const bench_flags[] = {"--help", "--opencv", NULL};
static const char *const export_flags[] = {"-h", "--help", "--check", "--overwrite", NULL};
static const char *const predict_flags[] = {"-h", "--help", "--overwrite", NULL};

static const struct {
    const char *name;
    int (*run)(int, char **);
    const char *help;
    const char *const *flags;
    int operands; /* takes files as well as options (predict) */
} commands[] = {
    {"train", cmd_train, "train a model on a data set", train_flags, 0},
    {"eval", cmd_eval, "evaluate a model on a data set", eval_flags, 0},
    {"info", cmd_info, "describe a model or architecture", info_flags, 0},
    {"bench", cmd_bench, "measure inference and training speed", bench_flags, 0},
    {"export", cmd_export, "write a model as ONNX", export_flags, 0},
    {"predict", cmd_predict, "classify face images", predict_flags, 1},
    {"quantize", cmd_quantize, "calibrate a model for INT8 inference", out_flags, 0},
    {"calibrate", cmd_calibrate, "fit a model's probability calibration", out_flags, 0},
};

static int is_flag(const char *a, const char *const *flags)
{
    for (; *flags; flags++)
        if (!strcmp(a, *flags))
            return 1;
    return 0;
}

/* The option that appears twice in a command's arguments, or NULL. For a
 * command with operands (predict's pictures, which may come between
 * options) only the long options and their values are looked at: a picture
 * is neither an option nor a stray word, and after "--" everything is a
 * picture, whatever its name. */
static const char *repeated(int argc, char **argv, const char *const *flags, int operands)
{
    if (!operands)
        return cli_repeated(argc, argv, flags);
    char **opts = malloc((size_t)(argc + 1) * sizeof *opts);
    if (!opts)
        return NULL; /* the command's own parsing still runs */
    int n = 0;
    for (int i = 0; i < argc && strcmp(argv[i], "--"); i++) {
        const char *a = argv[i];
        if (a[0] != '-' || !a[1])
            continue; /* a picture */
        int value = !is_flag(a, flags) && i + 1 < argc;
        if (a[1] == '-') { /* -m M, -t N: not compared, their value skipped */
            opts[n++] = argv[i];
            if (value)
                opts[n++] = argv[i + 1];
        }
        i += value;
    }
    const char *twice = cli_repeated(n, opts, flags);
    free(opts);
    return twice;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: emotion-train COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\n'emotion-train COMMAND --help' describes a command's options.\n");
}

static int dispatch(int argc, char **argv);

int main(int argc, char **argv)
{
    cli_prog = "emotion-train";
    int n;
    char **args = cli_split_equals(argc, argv, &n); /* "--option=value" in two */
    if (!args) {
        cli_err("out of memory");
        return CLI_EXIT_FAIL;
    }
    int rc = dispatch(n, args);
    cli_free_args(args, n);
    /* What went to stdout (predictions, metrics, JSON, the help asked for)
     * must have arrived: `predict ... > full-disk/out.jsonl` is a failure. */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_err("cannot write standard output: %s", strerror(errno ? errno : EIO));
        return rc ? rc : CLI_EXIT_FAIL;
    }
    return rc;
}

static int dispatch(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("emotion-train %s (engine %s, kernel %s)\n", NN_VERSION_STRING, NN_VERSION_STRING,
               nn_kernel_name());
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(argv[1], commands[i].name)) {
            const char *twice =
                repeated(argc - 2, argv + 2, commands[i].flags, commands[i].operands);
            if (twice) {
                cli_err("%s: option %s given twice", commands[i].name, twice);
                return CLI_EXIT_USAGE;
            }
            return commands[i].run(argc - 1, argv + 1);
        }
    cli_err("unknown command '%s' (try --help)", argv[1]);
    return CLI_EXIT_USAGE;
}
