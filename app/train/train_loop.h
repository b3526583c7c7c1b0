/* train_loop.h - the epochs of `emotion-train train`: batches (augmented,
 * mixed, distilled), validation after each epoch, the best model kept, a
 * checkpoint after each epoch and on Ctrl-C, early stopping, and --swa's
 * weight average at the end. cmd_train.c sets a run up and saves and
 * reports what it gives. */
#ifndef ED_TRAIN_LOOP_H
#define ED_TRAIN_LOOP_H

#include "augment.h"
#include "checkpoint.h"
#include "dataset.h"
#include "distill.h"
#include "roll_target.h"
#include "nn.h"
#include "train_opts.h"

/* One run, owned by cmd_train (which frees its parts). */
typedef struct train_run {
    train_opts o;
    int argc;           /* the run's effective arguments, for checkpoints */
    char **argv;
    nn_net *net;
    nn_optim *opt;
    nn_sched sched;
    augment_cfg aug;
    dataset *train, *val;
    float *val_x;
    float class_w[NN_MAX_CLASSES];
    checkpoint_state st;      /* position, RNGs, history, best model */
    int tty;
    distill kd;         /* --teacher: the teachers (kd.n == 0 when none) */
    double swa_acc, swa_loss; /* the weight average's validation figures (-1 none) */
    int swa_kept;       /* ... and whether it beat the best epoch */
    char checkpoint_default[4096]; /* --checkpoint when not given: OUT.ckpt */
    int roll_on;        /* --target roll: r->roll, the validation rolls in val_roll */
    roll_target roll;
    float *val_roll;
    double val_roll_err; /* the last validation's mean absolute roll error, degrees */
} train_run;

/* Ctrl-C (SIGINT) and SIGTERM stop the run at the next batch, with a
 * checkpoint; a second Ctrl-C ends at once. */
void train_loop_catch_signals(void);

/* Trains from r->st's position to --epochs (or an early stop), then
 * finishes --swa. command: the run's command line, for the model's
 * metadata. Returns CLI_EXIT_OK, CLI_EXIT_INTERRUPTED (checkpoint written,
 * said on stderr) or CLI_EXIT_FAIL (after one line on stderr). */
int train_loop_run(train_run *r, const char *command);

/* Validation loss and accuracy of r->net on r->val (preprocessed in
 * r->val_x). Returns 0 or -1 (said on stderr). */
int train_loop_validate(train_run *r, double *loss, double *acc);

/* --swa: the first epoch in the running average (it ends at s->epoch). */
int train_loop_swa_first(const checkpoint_state *s);

#endif
