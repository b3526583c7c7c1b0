/* probs.h - helpers over a model's class probabilities (k floats). */
#ifndef ED_PROBS_H
#define ED_PROBS_H

/* Index of the largest of p[0..k), the first on a tie; 0 when k < 1. */
int probs_argmax(const float *p, int k);

#endif
