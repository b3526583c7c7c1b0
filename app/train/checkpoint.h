/* checkpoint.h - training checkpoints: everything a run needs to continue
 * exactly where it stopped (weights, batch-norm state, optimizer moments,
 * the current epoch's order and position, every RNG, the schedule, early
 * stopping counters, history, the best model so far, the running weight
 * average, and the arguments the run was started with). The format is
 * specified in checkpoint.c. */
#ifndef ED_CHECKPOINT_H
#define ED_CHECKPOINT_H

#include <stdint.h>

#include "nn.h"
#include "report.h"

#define CHECKPOINT_MAX_ARGS 128

typedef struct checkpoint_state {
    /* the run's arguments (argv[1..] of `emotion-train train`) */
    int argc;
    char *argv[CHECKPOINT_MAX_ARGS];
    /* position */
    int32_t epoch;            /* epoch in progress, 0-based */
    int32_t batch;            /* next batch of that epoch */
    int32_t n_order;
    int32_t *order;           /* that epoch's image order */
    double loss_sum;          /* running train statistics of the epoch */
    int64_t correct, seen;
    double epoch_seconds;     /* time spent in the epoch so far */
    double total_seconds;     /* training time of the run so far */
    /* randomness */
    uint64_t augment_rng, order_rng, net_rng;
    /* schedule and early stopping */
    float sched_lr, sched_best;
    int32_t sched_bad;
    float best_acc;
    int32_t best_epoch, bad_epochs;
    /* optimizer */
    int32_t optim_kind;
    int64_t optim_t;
    uint64_t n_optim;
    float *optim;
    /* history */
    int32_t n_history;
    report_epoch *history;
    /* models: the current one and the best so far (NULL when none) */
    void *model;
    uint64_t model_len;
    void *best;
    uint64_t best_len;
    /* --swa: the mean of the weights after each epoch since it began */
    int32_t swa_count;
    uint64_t n_swa;
    float *swa;
    /* dataset_fingerprint of the training then the validation faces; 0
     * when unknown (a checkpoint of version 2 or older) */
    uint64_t data_fingerprint;
} checkpoint_state;

/* Write atomically (PATH.tmp renamed into place). Returns 0 or -1 with
 * message in app_error() (app_err.h). */
int checkpoint_save(const char *path, const checkpoint_state *s);
/* Read; on success *s owns malloc'd buffers freed by checkpoint_free. */
int checkpoint_load(const char *path, checkpoint_state *s);
void checkpoint_free(checkpoint_state *s);

/* A running training's checkpoint: *s (its position, RNGs, history, best
 * model and weight average) completed with the run's arguments
 * argv[0..argc), the net (weights and RNG), the optimizer's state and the
 * schedule, and written to path. *s is left as it was. Returns 0 or -1
 * (app_error). */
int checkpoint_save_run(const char *path, checkpoint_state *s, int argc, char **argv, nn_net *net,
                  nn_optim *opt, const nn_sched *sched, int optim_kind);

/* The inverse for --resume: the optimizer's state, the net's RNG and the
 * schedule restored from saved, and position, history, best model and
 * weight average moved from saved into *s (saved keeps the rest for
 * checkpoint_free). n_train: the training images now, which must be the count
 * the saved epoch order was made for; data_fingerprint: the data's now,
 * which must be the saved one. Returns 0, or -1 with app_error() saying
 * what does not fit. */
int checkpoint_restore(checkpoint_state *saved, checkpoint_state *s, nn_net *net, nn_optim *opt,
                 nn_sched *sched, int optim_kind, int n_train, uint64_t data_fingerprint);

#endif
