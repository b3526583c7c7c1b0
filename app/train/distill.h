/* distill.h - knowledge distillation for `train --teacher M1[,M2...]
 * --distill T[:ALPHA]`: the teachers' softened probabilities on each
 * training batch, the student's soft targets (nn_loss_cfg.teacher). */
#ifndef ED_DISTILL_H
#define ED_DISTILL_H

#include "nn.h"

#define DISTILL_MAX 16

typedef struct distill {
    int n;                                  /* teachers */
    nn_net *net[DISTILL_MAX];
    int map[DISTILL_MAX][NN_MAX_CLASSES];   /* teacher output of the student's class j */
    float t, alpha;
    float *x;    /* a batch in a teacher's preprocessing */
    float *q;    /* [batch][k]: the mean of softmax(teacher logits / T) */
    int cap;     /* batch size x and q hold */
} distill;

/* Parse "T[:ALPHA]" (T > 0, 0 <= ALPHA <= 1; ALPHA defaults to 0.5).
 * Returns 0, or -1 with app_error() saying why. */
int distill_parse(const char *text, float *t, float *alpha);

/*
 * Load the comma-separated teacher models for `student` (whose classes must
 * be set) and batches of up to `batch` images. Each teacher must have the
 * student's classes (by name, any order), input size and equalization;
 * its scale and bias may differ (its input is the student's, mapped
 * through the two affine preprocessings, so it sees the same augmented
 * and mixed faces). Returns 0, or -1 with app_error() saying why.
 */
int distill_open(distill *d, const char *list, const nn_net *student, int threads, int batch, float t,
                 float alpha);
void distill_close(distill *d);

/* The teachers' averaged probabilities at temperature T for the student's
 * preprocessed batch x of n images into d->q. Returns 0, or -1 with app_error() saying why. */
int distill_batch(distill *d, const nn_net *student, const float *x, int n);

#endif
