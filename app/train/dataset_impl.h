/* dataset_impl.h - what the files of the dataset module share inside it
 * (dataset.c: the container; dataset_classes.c: names, synonyms and split
 * names; dataset_folder.c and dataset_csv.c: the two loaders;
 * dataset_splits.c: validation splits, limits and class balance). Not for
 * use outside app/train/dataset*.c. */
#ifndef ED_DATASET_IMPL_H
#define ED_DATASET_IMPL_H

#include "dataset.h"

#define DS_FER_SIDE 48
#define DS_FER_PIXELS (DS_FER_SIDE * DS_FER_SIDE)

/* Count a skipped entry and keep its description while there is room. */
void ds__add_problem(ds_dataset *ds, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* An empty data set of w x h images, no classes; NULL (app_error) on a bad
 * size or no memory. */
ds_dataset *ds__alloc(int w, int h);
/* Room for cap images; 0 or -1 (app_error). */
int ds__reserve(ds_dataset *ds, int cap);
/* Give back the unused capacity (a failed shrink just keeps it). */
void ds__shrink(ds_dataset *ds);
/* Set the class list (normalised). Returns 0 or -1. */
int ds__set_classes(ds_dataset *ds, const char *const *classes, int n);
/* Keep the images with keep[i] != 0, in order. */
void ds__compact(ds_dataset *ds, const unsigned char *keep);

/* Split names (train/test/val and their spellings): the group of a name
 * (0 train, 1 public test, 2 private test, 3 validation, -1 other), and
 * whether a wanted split is the one a folder or Usage value names. */
int ds__split_group(const char *s);
int ds__split_match(const char *want, const char *have);

/* The two loaders behind ds_load (options already checked). */
ds_dataset *ds__load_folder(const char *root, const ds_load_opts *o);
ds_dataset *ds__load_csv(const char *path, const ds_load_opts *o);

#endif
