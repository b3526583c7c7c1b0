/* main.c - emotion-train: everything about models. Dispatches to one
 * subcommand per file (cmd_*.c). */
#include "cli.h"
#include "commands.h"
#include "nn.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Options that take no value, per command, so that an option given twice
 * is found before the command runs (the last would win silently); NULL
 * for predict, whose operands are files. */
static const char *const train_flags[] = {"--help", "--no-equalize", NULL};
static const char *const help_flag[] = {"--help", NULL};
static const char *const eval_flags[] = {"--help", "--tta", "--mirror", "--uncalibrated", NULL};
static const char *const info_flags[] = {"--help", "--json", NULL};
static const char *const bench_flags[] = {"--help", "--opencv", NULL};
static const char *const export_flags[] = {"-h", "--help", "--check", NULL};

static const struct {
    const char *name;
    int (*run)(int, char **);
    const char *help;
    const char *const *flags;
} commands[] = {
    {"train", cmd_train, "train a model on a data set", train_flags},
    {"eval", cmd_eval, "evaluate a model on a data set", eval_flags},
    {"info", cmd_info, "describe a model or architecture", info_flags},
    {"bench", cmd_bench, "measure inference and training speed", bench_flags},
    {"export", cmd_export, "write a model as ONNX", export_flags},
    {"predict", cmd_predict, "classify face images", NULL},
    {"quantize", cmd_quantize, "calibrate a model for INT8 inference", help_flag},
    {"calibrate", cmd_calibrate, "fit a model's probability calibration", help_flag},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: emotion-train COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\n'emotion-train COMMAND --help' describes a command's options.\n");
}

int main(int argc, char **argv)
{
    cli_prog = "emotion-train";
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
                commands[i].flags ? cli_repeated(argc - 2, argv + 2, commands[i].flags) : NULL;
            if (twice) {
                cli_err("%s: option %s given twice", commands[i].name, twice);
                return CLI_EXIT_USAGE;
            }
            int rc = commands[i].run(argc - 1, argv + 1);
            /* What went to stdout (predictions, metrics, JSON) must have
             * arrived: `predict ... > full-disk/out.jsonl` is a failure. */
            if (fflush(stdout) != 0 || ferror(stdout)) {
                cli_err("cannot write standard output: %s", strerror(errno ? errno : EIO));
                return rc ? rc : CLI_EXIT_FAIL;
            }
            return rc;
        }
    cli_err("unknown command '%s' (try --help)", argv[1]);
    return CLI_EXIT_USAGE;
}
