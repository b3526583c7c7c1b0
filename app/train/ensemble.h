/* ensemble.h - several models evaluated as one: their probabilities
 * averaged, classes matched by name, each model fed its own input size
 * and preprocessing. A single model is an ensemble of one. */
#ifndef ED_ENSEMBLE_H
#define ED_ENSEMBLE_H

#include "dataset.h"
#include "nn.h"

#define ENSEMBLE_MAX 16

typedef struct ens {
    int n;                              /* models */
    nn_net *net[ENSEMBLE_MAX];               /* net[0] sets the class order */
    const char *path[ENSEMBLE_MAX];          /* views into the list given to ensemble_load */
    char *list;                         /* its copy */
    int map[ENSEMBLE_MAX][NN_MAX_CLASSES];   /* map[m][j]: net[m]'s output for net[0]'s class j */
} ens;

/* Load the comma-separated model files of `list`, with `threads` threads
 * each. Every model must have net[0]'s classes (by name, any order).
 * Returns 0, or -1 with app_error() saying why (e is then empty). */
int ensemble_load(ens *e, const char *list, int threads);
void ensemble_free(ens *e); /* frees the models and the list copy */

/* A test-time view of a face: dst (w x h) from src (w x h). */
typedef void (*ensemble_view_fn)(int view, const uint8_t *src, uint8_t *dst, int w, int h);

/*
 * The ensemble's probabilities for every face of ds (loaded for net[0]
 * by cmd_load_for_model from data/split): probs[ds->n][k] in net[0]'s class
 * order, the mean over models and `views` views (view 0 the face itself;
 * view_fn makes the others, NULL when views is 1). A model of another
 * input size gets data/split loaded again at its size, which must give the
 * same faces. Returns 0, or -1 with app_error() saying why.
 */
int ensemble_classify(ens *e, const dataset *ds, const char *data, const char *split, int threads,
                 int views, ensemble_view_fn view_fn, float *probs);

#endif
