/*
 * dataset.h - labelled face data sets held in memory for the trainer.
 *
 * A data set is n 8-bit grayscale images of one size (the model's input,
 * w x h, chosen by the caller) with an integer label each, and the class
 * names those labels index. Two on-disk layouts load:
 *
 *  - a folder with one sub-folder per class (FER2013's train/ and test/,
 *    CK+48, 6-class 128x128 sets, ...). Images of any size or colour are
 *    converted to gray and resized. Files that cannot be decoded, or whose
 *    extension is not an image format's, are skipped and counted; hidden
 *    files and nested folders are ignored. Names are sorted (bytewise) so
 *    the order is deterministic.
 *    A folder whose sub-folders are all split names (train, test, val, ...)
 *    holding class folders is accepted too: the split argument picks one.
 *  - the original fer2013.csv: header `emotion,pixels,Usage` (columns found
 *    by name), 48x48 pixel rows; `split` keeps rows whose Usage matches
 *    (Training, PublicTest, PrivateTest; NULL or "all" keeps all). Labels are the
 *    seven standard names in the CSV's index order. Bad rows are skipped and
 *    reported with their line number.
 *
 * Class names are normalised (dataset_class_normalize) when loaded, so the same
 * emotion carries the same name in every data set and labels can be matched
 * by name, never by position (dataset_map_classes).
 *
 * Errors are values: NULL or -1, with a message from app_error() (app_err.h). Nothing here prints or exits. Per-item problems (an unreadable
 * file, a bad CSV row) are not errors: they are counted and described in
 * the data set's `problems` for the caller to log.
 */
#ifndef DATASET_H
#define DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "nn.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DATASET_MAX_CLASSES NN_MAX_CLASSES
#define DATASET_MAX_PROBLEMS 100 /* problem messages kept; all are counted */

typedef struct dataset {
    int w, h;             /* image size */
    int n;                /* images */
    uint8_t *pixels;      /* n * w * h, image i at pixels + i*w*h */
    int *labels;          /* n labels, 0..n_classes-1 */
    int n_classes;
    char classes[DATASET_MAX_CLASSES][NN_NAME_MAX]; /* normalised names */
    /* Skipped entries: n_skipped counts all, problems[0..n_problems-1]
     * describes the first DATASET_MAX_PROBLEMS ("PATH:LINE: message"). */
    int n_skipped;
    int n_problems;
    char **problems;
    /* Class folders that became one class ("anger", "Angry"), a line each
     * ("'Angry', 'anger' merged into class 'angry'"), for the caller to say;
     * NULL when none did. */
    char *merged;
    int cap;              /* allocated images */
} dataset;

/* Progress of a load: done of total units (images for a folder, KiB read
 * for a CSV file); called from the thread that called dataset_load, about a
 * hundred times per load, last with done == total. */
typedef void (*dataset_progress_fn)(void *user, int done, int total);

typedef struct dataset_load_opts {
    int w, h;             /* output image size (required) */
    const char *split;    /* CSV Usage / split folder; NULL = all / none; "all":
                             every CSV row */
    int split_is_default; /* split is the command's default, not the user's: a CSV
                             without a Usage column gives all its rows */
    int threads;          /* decoding threads for folders; 0 = all CPUs */
    dataset_progress_fn progress; /* may be NULL */
    void *progress_user;
} dataset_load_opts;

/* Load a folder or a .csv file (see above). Returns NULL on error: path
 * missing, no classes, no images at all, bad header, out of memory. */
dataset *dataset_load(const char *path, const dataset_load_opts *opts);

/* Whether dataset_load reads path as a fer2013 CSV: anything but a folder,
 * whatever its name ("FER2013.CSV", a pipe from <(zcat ...)), so a
 * command's default split applies to every CSV. */
int dataset_is_csv(const char *path);

/* An empty data set of w x h images with the given classes (names are
 * normalised), room for `capacity` images (it grows as needed). */
dataset *dataset_create(int w, int h, const char *const *classes, int n_classes,
                      int capacity);
/* Append a copy of one w x h image. Returns its index or -1. */
int dataset_push(dataset *ds, const uint8_t *img, int label);
/* Frees the images, labels, problem messages and the struct. */
void dataset_free(dataset *ds);

static inline uint8_t *dataset_image(const dataset *ds, int i)
{
    return ds->pixels + (size_t)i * (size_t)ds->w * (size_t)ds->h;
}

/* ---- class names ---- */

/* The seven FER2013 classes in the CSV's index order. */
#define DATASET_FER_CLASSES 7
extern const char *const dataset_fer_classes[DATASET_FER_CLASSES];

/*
 * Normalise a class name so the same emotion matches across data sets:
 * trim, lower-case, drop a numeric prefix ("3_happy", "03-happy"), turn
 * spaces and '-' into '_', then map synonyms to the FER2013 names:
 *   anger, angry, mad                      -> angry
 *   disgust, disgusted, disgusting         -> disgust
 *   fear, fearful, afraid, scared          -> fear
 *   happy, happiness, joy, joyful, smile   -> happy
 *   sad, sadness, sorrow                   -> sad
 *   surprise, surprised, surprising, suprise -> surprise
 *   neutral, neutrality, none              -> neutral
 *   contempt, contemptuous                 -> contempt
 * Other names stay as trimmed lower-case. Writes at most len bytes (NUL
 * included) and returns out.
 */
char *dataset_class_normalize(const char *name, char *out, size_t len);

/* Index of `name` among names[0..count-1] comparing normalised forms, or -1. */
int dataset_class_find(const char *const *names, int count, const char *name);

/* Outcome of dataset_map_classes. */
typedef struct dataset_class_map {
    int n_unmatched;      /* data set classes not in the target list */
    char unmatched[DATASET_MAX_CLASSES][NN_NAME_MAX];
    int unmatched_count[DATASET_MAX_CLASSES]; /* their images (dropped) */
    int dropped;          /* images dropped in all */
    int n_absent;         /* target classes the data set lacks */
    char absent[DATASET_MAX_CLASSES][NN_NAME_MAX];
} dataset_class_map;

/*
 * Relabel ds onto the class list names[0..count-1] (a model's) by
 * normalised name: afterwards ds->classes is a copy of that list, as given,
 * and labels index it. Images of classes the list lacks are dropped; `map`
 * (may be NULL) says which, and which listed classes have no data.
 * Returns 0, or -1 when no class at all matches (ds is left unchanged).
 */
int dataset_map_classes(dataset *ds, const char *const *names, int count,
                   dataset_class_map *map);

/* ---- splits, subsets, balance ---- */

/* counts[0..n_classes-1] = images per class. */
void dataset_class_counts(const dataset *ds, int *counts);

/* What a hold-out does with images that have an exact pixel copy elsewhere
 * in the data (FER2013's Training set has 2,271 such, 7.9%; a network
 * that trained on one copy gets the other right about 94% of the time, so
 * a validation set holding them reads about two points high). */
typedef enum {
    DATASET_COPIES_EXCLUDE, /* they stay in training; validation never sees them */
    DATASET_COPIES_ALLOW    /* drawn like any other (the split before 2026-11-27) */
} dataset_copies;

typedef struct dataset_split_info {
    int with_copy;     /* images of ds (before the split) with an exact copy in ds */
    int val_with_copy; /* validation images with an exact copy left in training */
} dataset_split_info;

/*
 * Stratified, seeded hold-out: moves round(share * n_c) images of every
 * class c out of ds into a new data set (same classes) and returns it;
 * both keep their original relative order. share in (0, 1). With
 * DATASET_COPIES_EXCLUDE an image with an exact copy is never moved (a
 * class with too few others gives fewer); with ALLOW the split is the
 * one the same seed always gave. info (may be NULL) gets the counts.
 * Returns NULL on error.
 */
dataset *dataset_split(dataset *ds, double share, uint64_t seed, dataset_copies copies,
                       dataset_split_info *info);

/* Mark group[i] for every image: the index of the first image with the
 * same pixels (group[i] == i for an image without an earlier copy).
 * Returns the number of images that have a copy, or -1 (out of memory). */
int dataset_copy_groups(const dataset *ds, int *group);

/* A hash of everything a run learns from: the classes, the labels and the
 * pixels in order, continuing from h (0 to start), never 0. Equal data,
 * equal fingerprints; a file added, removed, changed or moved to another
 * class changes it (a resumed run must see the data it started with). */
uint64_t dataset_fingerprint(const dataset *ds, uint64_t h);

/* Keep a stratified, seeded subset of n images in place (class shares kept
 * by largest remainder, original order kept). n >= ds->n keeps all.
 * Returns 0 or -1. */
int dataset_limit(dataset *ds, int n, uint64_t seed);

/*
 * Per-class weights for imbalance: w_c proportional to n_c^-power (power 1:
 * inverse frequency, 0.5: its square root), normalised so the mean weight
 * over the images is 1 (power 1 gives N / (K * n_c), the usual "balanced"
 * weights, and keeps the loss on its unweighted scale). Empty classes get 0.
 */
void dataset_class_weights(const dataset *ds, double power, float *w);

/*
 * An epoch's order of image indices into order[0..n-1]. class_w NULL: a
 * seeded shuffle of all images (n must be ds->n). Otherwise a sampler: each
 * draw picks class c with probability proportional to n_c * class_w[c]
 * (so dataset_class_weights(ds, 1, w) gives balanced classes), then a uniform
 * image of it, with replacement. *rng is advanced.
 */
void dataset_epoch_order(const dataset *ds, const float *class_w, uint64_t *rng,
                    int *order, int n);

#ifdef __cplusplus
}
#endif
#endif /* DATASET_H */
