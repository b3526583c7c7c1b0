/*
 * report.h - classification metrics and the files of `--report DIR`.
 *
 * report_metrics_compute turns (true, predicted) label arrays into a confusion
 * matrix, accuracy and per-class precision, recall, F1 and support; the
 * trainer's evaluation and the report both use it. report_write writes a
 * report folder:
 *
 *   curves.png        loss and accuracy per epoch, train and validation
 *   confusion.png     row-normalised confusion matrix, labelled
 *   filters.png       the first convolution's filters
 *   feature_maps.png  its feature maps for a few faces
 *   samples.png       faces with true and predicted class
 *   per_class.csv     class,precision,recall,f1,support
 *   history.csv       epoch,lr,train_loss,train_acc,val_loss,val_acc,seconds
 *   metrics.json      best_val_accuracy, classes, accuracy, n, per_class,
 *                     confusion, ...
 *
 * Each part is written when its inputs are given. Errors are values: -1
 * with app_error() (app_err.h); nothing here prints or exits. Conventions: confusion[t*k + p]
 * counts images of true class t predicted as p. A class nobody predicted
 * has precision 0; a class with no images recall 0; F1 is 0 when P+R is 0.
 */
#ifndef REPORT_H
#define REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "nn.h"

#ifdef __cplusplus
extern "C" {
#endif

#define REPORT_MAX_CLASSES NN_MAX_CLASSES

typedef struct report_metrics {
    int k;                 /* classes */
    int n;                 /* images counted */
    int correct;
    double accuracy;       /* correct / n, 0 when n is 0 */
    double macro_f1;       /* mean F1 over classes with support */
    int confusion[REPORT_MAX_CLASSES * REPORT_MAX_CLASSES]; /* [t*k + p] */
    double precision[REPORT_MAX_CLASSES];
    double recall[REPORT_MAX_CLASSES];
    double f1[REPORT_MAX_CLASSES];
    int support[REPORT_MAX_CLASSES];   /* images of the class */
    int predicted[REPORT_MAX_CLASSES]; /* images predicted as the class */
} report_metrics;

/* Metrics of n predictions over k classes. Returns 0, or -1 when k is out
 * of 1..REPORT_MAX_CLASSES or a label is out of range (m is then zeroed). */
int report_metrics_compute(report_metrics *m, const int *truth, const int *pred, int n,
                        int k);

/* Print accuracy, a per-class table and the confusion matrix (counts) to f,
 * for `emotion-train eval`. names[0..k-1]. */
void report_metrics_print(FILE *f, const report_metrics *m, const char *const *names);

/* One epoch of training history. NaN marks a value not measured. */
typedef struct report_epoch {
    int epoch;             /* 1-based */
    float lr;
    float train_loss, train_acc;
    float val_loss, val_acc;
    double seconds;        /* wall time of the epoch */
} report_epoch;

/* Everything a report can show; leave a part NULL/0 to skip it. */
typedef struct report_content {
    const char *title;     /* picture title prefix, e.g. the model or arch */
    const char *const *classes;
    int n_classes;

    const report_epoch *history;  /* curves.png, history.csv */
    int n_epochs;

    const report_metrics *metrics; /* confusion.png, per_class.csv, metrics.json */
    const char *metrics_of;    /* what the metrics measure, e.g. "validation" */
    double best_val_accuracy;  /* < 0: unknown (omitted from the JSON) */
    int best_epoch;            /* <= 0: unknown */

    /* filters.png: first conv weights [out][in][k][k] */
    const float *conv1_w;
    int conv1_out, conv1_in, conv1_k;

    /* feature_maps.png: faces [n][face_h][face_w] and their first-layer
     * activations [n][fm_c][fm_h][fm_w] */
    const uint8_t *fm_faces;
    int fm_n, face_w, face_h;
    const float *fm_maps;
    int fm_c, fm_h, fm_w;
    int fm_max_maps;           /* maps per face shown; <= 0: 16 */

    /* samples.png: faces [n][face_h][face_w], labels, confidences (NULL ok) */
    const uint8_t *sample_faces;
    int n_samples;
    const int *sample_true, *sample_pred;
    const float *sample_conf;

    /* Extra strings for metrics.json (NULL: omitted). */
    const char *model, *data, *arch, *command;
    double train_seconds;      /* <= 0: omitted */
    /* --swa: the weight average of epochs swa_from..swa_to, its validation
     * accuracy (<= 0: no average, omitted) and loss, and whether it was
     * kept. When kept, best_val_accuracy is its and best_epoch is omitted. */
    double swa_val_accuracy, swa_val_loss;
    int swa_from, swa_to, swa_kept;
    /* Probability figures of the metrics' data (when has_probs): expected
     * calibration error (15 bins) and mean negative log-likelihood, and
     * the model's calibration (NULL: omitted), e.g. "temperature 1.4". */
    int has_probs;
    double ece, nll;
    const char *calibration;
} report_content;

/* Write every part of r that has inputs into dir (created, with parents,
 * when missing). Keeps going after a failed part; returns 0, or -1 with the
 * first failure in app_error(). */
int report_write(const char *dir, const report_content *r);

/* The parts on their own (paths are full file names). */
int report_write_history_csv(const char *path, const report_epoch *h, int n);
int report_write_per_class_csv(const char *path, const report_metrics *m,
                            const char *const *names);
/* metrics.json; also `emotion-train eval --json` (r->metrics required). */
int report_write_metrics_json(const char *path, const report_content *r);
int report_write_curves_png(const char *path, const char *title, const report_epoch *h,
                         int n);
int report_write_confusion_png(const char *path, const char *title,
                            const report_metrics *m, const char *const *names);

/*
 * Choose up to `want` images to show in samples.png: about half wrong
 * predictions (when there are that many) and the rest right ones, spread
 * over the classes, seeded. Writes indices into idx; returns how many.
 */
int report_pick_samples(const int *truth, const int *pred, int n, int k, int want,
                     uint64_t seed, int *idx);


#ifdef __cplusplus
}
#endif
#endif /* REPORT_H */
