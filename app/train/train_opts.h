/* train_opts.h - the options of `emotion-train train`: defaults, help,
 * parsing, and the effective arguments of a run (a resumed run's saved
 * arguments with today's after them, so later options win). */
#ifndef ED_TRAIN_OPTS_H
#define ED_TRAIN_OPTS_H

#include <stddef.h>
#include <stdio.h>

#include "calibrate.h"
#include "dataset.h"
#include "mix.h"
#include "nn.h"

typedef struct {
    const char *data, *val, *split, *val_split_name, *arch, *out, *report, *ckpt, *schedule, *init;
    const char *augment, *balance, *precision;
    float val_share, lr, weight_decay, momentum, smoothing, balance_power;
    int epochs, batch, limit, threads, patience, equalize, interrupt_after, swa;
    int lr_set, wd_set, arch_set;
    unsigned long long seed;
    nn_optim_kind optim;
    mix_cfg mix;        /* --mixup, --cutmix, --mix-prob */
    calibrate_mode calib;     /* --calibrate */
    const char *teacher, *distill; /* --teacher, --distill */
    const char *target;       /* --target: NULL or "emotion", else roll (roll_target.h) */
    int augment_set;          /* --augment was given */
    int overwrite;            /* --overwrite: --out and --checkpoint may replace files */
    dataset_copies val_copies; /* --val-copies: may exact copies go to validation */
} train_opts;

void train_opts_defaults(train_opts *o);
/* The help text, with the defaults train_opts_defaults sets. */
void train_opts_usage(FILE *f);
/* What train_opts_parse found: options to run with, --help, or a usage
 * error (said on stderr). */
enum { TRAIN_OPTS_BAD = -1, TRAIN_OPTS_RUN = 0, TRAIN_OPTS_HELP = 1 };
/* Parse argv[0..argc) (no command name) into o. *resume (when resume is
 * not NULL) gets --resume's value. */
int train_opts_parse(int argc, char **argv, train_opts *o, const char **resume);

/* An option given on resume (argv[1..argc)) that would change what the
 * run is (its data, split or network: --data, --arch, --seed, ...) from its
 * saved arguments: its name, with *now today's value and *was the saved
 * one (NULL: the run had none). NULL when there is none. */
const char *train_opts_changed_on_resume(char *const *saved, int n_saved, int argc, char **argv,
                                         const char **now, const char **was);

/* A resumed run's options: the defaults, then its effective arguments
 * (train_opts_args). Every checkpoint since --val-copies names it; one
 * without it is older and had the split that allowed copies, so that is
 * the default here. */
int train_opts_parse_resumed(int argc, char **argv, train_opts *o);

/* The run's effective arguments: saved[0..n_saved) (a checkpoint's; none
 * for a fresh run), then argv[1..argc) without the options that belong to
 * one invocation only (--resume, --interrupt-after, --overwrite); a saved
 * option given again in argv is left out of the saved part, so each option
 * appears once. A fresh run without --val-copies gets its default written
 * out, so that its checkpoints say which split they had (a checkpoint
 * without it is older than the option: see cmd_train.c). Returns a malloc'd
 * array of malloc'd strings (train_opts_free_args), *n set; NULL when out
 * of memory. */
char **train_opts_args(char *const *saved, int n_saved, int argc, char **argv, int *n);
void train_opts_free_args(char **args, int n);

/* The value of option opt in a run's saved arguments (a checkpoint's,
 * stepped over as train_opts_args does), or NULL when they lack it. */
const char *train_opts_saved_value(char *const *saved, int n_saved, const char *opt);
/* "emotion-train train ARGS...", what a model's metadata records. */
void train_opts_command(char *buf, size_t len, int argc, char *const *argv);

#endif
