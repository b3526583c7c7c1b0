/* cmd_common.h - steps the commands (cmd_*.c) share: turning data set
 * images into network input, classifying a whole data set in batches,
 * loading evaluation data matched to a model's classes by name, saving a
 * model, the training precision, and a report's sample faces. */
#ifndef ED_CMD_COMMON_H
#define ED_CMD_COMMON_H

#include "dataset.h"
#include "nn.h"
#include "probs.h"
#include "report.h"

/* Preprocess images idx[0..n-1] of ds (NULL idx: 0..n-1) into x. */
void cmd_preprocess(const nn_net *net, const dataset *ds, const int *idx, int n, float *x);

/* Classify every image of ds (x: all of them preprocessed) in batches:
 * probs[ds->n * k] when not NULL, predictions pred[ds->n], and the mean
 * cross-entropy. Returns 0 or -1 (nn_error). */
int cmd_classify(nn_net *net, const float *x, int n, const int *labels, float *probs,
                int *pred, double *loss);

/* Load a data set for a model: its input size, classes relabelled onto the
 * model's by name (skipped entries and images of other classes dropped
 * are warnings on stderr). `split` and `split_is_default` as dataset_load.
 * Returns NULL with app_error() saying why. */
dataset *cmd_load_for_model(const nn_net *net, const char *path, const char *split,
                            int split_is_default, int threads, int quiet);

/* Write net to path as outpath_write_mem does (outpath.h): a temporary
 * file of its own renamed into place, a device or pipe written directly.
 * Returns 0, or -1 with app_error() naming the file and the reason. */
int cmd_write_model(const nn_net *net, const char *path);

/* Save the trained model to path through a temporary file. When that
 * fails, the one line printed names ckpt, which holds the same weights,
 * and the command that writes them elsewhere. Returns 0 or -1. */
int cmd_save_model(const nn_net *net, const char *path, const char *ckpt);

/* --precision fp32|bf16|auto: the precision of net's training GEMMs. auto
 * is bf16 where the CPU has it; either on a CPU without it falls back to
 * fp32 and says so on stderr. Returns 0, or -1 for a value that is
 * none of these (printed). */
int cmd_set_precision(nn_net *net, const char *value);

/* Print a data set's class folders merged into one class (a note each)
 * and its skipped entries (count and the first messages). */
void cmd_report_problems(const dataset *ds, const char *path);

/* The faces of a report's sample panel: up to CMD_SAMPLES images of ds
 * picked by report_pick_samples (a fixed seed), with their true class, the
 * prediction pred[i] and its probability from probs (k per image). */
#define CMD_SAMPLES 24
typedef struct cmd_samples {
    uint8_t *faces; /* n w x h faces, malloc'd; cmd_samples_free */
    int n, truth[CMD_SAMPLES], pred[CMD_SAMPLES];
    float conf[CMD_SAMPLES];
} cmd_samples;
/* Fills s and points rep's sample fields (and face size) at it. Returns 0
 * or -1 (out of memory, said on stderr). */
int cmd_samples_pick(cmd_samples *s, report_content *rep, const dataset *ds, const int *pred,
                    const float *probs, int k);
void cmd_samples_free(cmd_samples *s);
/* The options most commands take alike: --model, --data, --split, --out,
 * and --overwrite (a flag: cmd_io_flag stores it and returns 1).
 * cmd_io_option stores v when a is one of the others and returns 1, else
 * 0. cmd is the command's name, for messages. */
typedef struct cmd_io {
    const char *cmd, *model, *data, *split, *out;
    int overwrite;
} cmd_io;
int cmd_io_flag(cmd_io *io, const char *a);
int cmd_io_option(cmd_io *io, const char *a, const char *v);
/* A command's start: --out a new file (not --model or --data, writable,
 * and no earlier file with something in it unless --overwrite), then the
 * model loaded to run on `threads` threads. Returns the net, or NULL with
 * *rc the exit code (after one line on stderr). */
nn_net *cmd_io_open(const cmd_io *io, int threads, int *rc);
/* io->split, or dflt when none was given and --data is a CSV file. */
const char *cmd_csv_split(const cmd_io *io, const char *dflt);
#endif
