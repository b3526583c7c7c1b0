/* dataset_impl.h - what the files of the dataset module share inside it
 * (dataset.c: the container; dataset_classes.c: names, synonyms and split
 * names; dataset_folder.c and dataset_csv.c: the two loaders;
 * dataset_splits.c: validation splits, limits and class balance). Not for
 * use outside app/train/dataset*.c. */
#ifndef ED_DATASET_IMPL_H
#define ED_DATASET_IMPL_H

#include "dataset.h"

#define DATASET_FER_SIDE 48
#define DATASET_FER_PIXELS (DATASET_FER_SIDE * DATASET_FER_SIDE)

/* Count a skipped entry and keep its description while there is room. */
void dataset__add_problem(dataset *ds, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* An empty data set of w x h images, no classes; NULL (app_error) on a bad
 * size or no memory. */
dataset *dataset__alloc(int w, int h);
/* Room for cap images; 0 or -1 (app_error). */
int dataset__reserve(dataset *ds, int cap);
/* Give back the unused capacity (a failed shrink just keeps it). */
void dataset__shrink(dataset *ds);
/* Set the class list (normalised). Returns 0 or -1. */
int dataset__set_classes(dataset *ds, const char *const *classes, int n);
/* Keep the images with keep[i] != 0, in order. */
void dataset__compact(dataset *ds, const unsigned char *keep);

/* Split names (train/test/val and their spellings): the group of a name
 * (0 train, 1 public test, 2 private test, 3 validation, -1 other), and
 * whether a wanted split is the one a folder or Usage value names. */
int dataset__split_group(const char *s);
int dataset__split_match(const char *want, const char *have);

/* The two loaders behind dataset_load (options already checked). */
dataset *dataset__load_folder(const char *root, const dataset_load_opts *o);
dataset *dataset__load_csv(const char *path, const dataset_load_opts *o);

#endif
