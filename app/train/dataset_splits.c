/*
 * dataset_splits.c - a stratified validation split, a stratified limit,
 * class weights and each epoch's sampling order, all seeded.
 */
#include "dataset_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "app_err.h"
#include "rng.h"

/* ---- splits, subsets, balance ---- */

void dataset_class_counts(const dataset *ds, int *counts)
{
    memset(counts, 0, (size_t)ds->n_classes * sizeof *counts);
    for (int i = 0; i < ds->n; i++)
        counts[ds->labels[i]]++;
}

/* Image indices grouped by class: idx[start[c] .. start[c+1]-1] are class
 * c's, in order. idx has ds->n entries, start n_classes+1. */
static void group_by_class(const dataset *ds, int *idx, int *start)
{
    int pos[DATASET_MAX_CLASSES + 1];
    memset(start, 0, (size_t)(ds->n_classes + 1) * sizeof *start);
    for (int i = 0; i < ds->n; i++)
        start[ds->labels[i] + 1]++;
    for (int c = 0; c < ds->n_classes; c++)
        start[c + 1] += start[c];
    memcpy(pos, start, (size_t)(ds->n_classes + 1) * sizeof *pos);
    for (int i = 0; i < ds->n; i++)
        idx[pos[ds->labels[i]]++] = i;
}

/* Mark take[i] = 1 for quota[c] seeded random images of every class c,
 * passing over those with skip[i] set (skip may be NULL). The order drawn
 * does not depend on skip, so excluding images changes only which are
 * passed over. */
static int pick_per_class(const dataset *ds, const int *quota, uint64_t seed,
                          const unsigned char *skip, unsigned char *take)
{
    int *idx = malloc((ds->n ? (size_t)ds->n : 1) * sizeof *idx);
    int start[DATASET_MAX_CLASSES + 1];
    if (!idx) {
        app_fail("out of memory");
        return -1;
    }
    group_by_class(ds, idx, start);
    uint64_t rng = seed;
    memset(take, 0, (size_t)ds->n);
    for (int c = 0; c < ds->n_classes; c++) {
        int m = start[c + 1] - start[c];
        rng_shuffle(idx + start[c], m, &rng);
        for (int j = 0, got = 0; got < quota[c] && j < m; j++) {
            int i = idx[start[c] + j];
            if (skip && skip[i])
                continue;
            take[i] = 1;
            got++;
        }
    }
    free(idx);
    return 0;
}

#define FNV_OFFSET 0xcbf29ce484222325u

/* FNV-1a over len bytes, continuing from h: equal bytes, equal hashes. */
static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 0x100000001b3u;
    return h;
}

static uint64_t image_hash(const uint8_t *p, size_t len)
{
    return fnv1a(FNV_OFFSET, p, len);
}

uint64_t dataset_fingerprint(const dataset *ds, uint64_t h)
{
    int32_t dims[4] = {ds->w, ds->h, ds->n, ds->n_classes};
    h = fnv1a(h ? h : FNV_OFFSET, dims, sizeof dims);
    for (int c = 0; c < ds->n_classes; c++)
        h = fnv1a(h, ds->classes[c], strlen(ds->classes[c]) + 1);
    h = fnv1a(h, ds->labels, (size_t)ds->n * sizeof *ds->labels);
    h = fnv1a(h, ds->pixels, (size_t)ds->n * (size_t)ds->w * (size_t)ds->h);
    return h ? h : 1; /* 0 stands for "not known" */
}

typedef struct {
    uint64_t hash;
    int i;
} hashed_image;

static int by_hash_then_index(const void *a, const void *b)
{
    const hashed_image *x = a, *y = b;
    if (x->hash != y->hash)
        return x->hash < y->hash ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

/* group[i] = the first image with image i's pixels (i itself when none
 * comes earlier). */
static int find_groups(const dataset *ds, int *group)
{
    size_t len = (size_t)ds->w * ds->h;
    hashed_image *hs = malloc((ds->n ? (size_t)ds->n : 1) * sizeof *hs);
    if (!hs) {
        app_fail("out of memory");
        return -1;
    }
    for (int i = 0; i < ds->n; i++) {
        hs[i].hash = image_hash(dataset_image(ds, i), len);
        hs[i].i = i;
        group[i] = i;
    }
    qsort(hs, (size_t)ds->n, sizeof *hs, by_hash_then_index);
    /* Within a run of equal hashes, each image joins the first earlier one
     * with equal pixels (a hash collision between different images leaves
     * them apart). Runs are a handful of images long. */
    for (int a = 0, b; a < ds->n; a = b) {
        for (b = a + 1; b < ds->n && hs[b].hash == hs[a].hash; b++)
            ;
        for (int j = a + 1; j < b; j++)
            for (int k = a; k < j; k++)
                if (group[hs[k].i] == hs[k].i &&
                    !memcmp(dataset_image(ds, hs[j].i), dataset_image(ds, hs[k].i), len)) {
                    group[hs[j].i] = hs[k].i;
                    break;
                }
    }
    free(hs);
    return 0;
}

/* has_copy[i] = 1 for an image that joined a group or leads one another
 * joined; returns how many. */
static int flag_copies(const int *group, int n, unsigned char *has_copy)
{
    memset(has_copy, 0, (size_t)n);
    for (int i = 0; i < n; i++)
        if (group[i] != i)
            has_copy[i] = has_copy[group[i]] = 1;
    int copies = 0;
    for (int i = 0; i < n; i++)
        copies += has_copy[i];
    return copies;
}

int dataset_copy_groups(const dataset *ds, int *group)
{
    unsigned char *has_copy = malloc(ds->n ? (size_t)ds->n : 1);
    if (!has_copy)
        return app_fail("out of memory");
    int copies = find_groups(ds, group) < 0 ? -1 : flag_copies(group, ds->n, has_copy);
    free(has_copy);
    return copies;
}

/* skip[i] = 1 for every image with an exact copy in ds; *with_copy gets
 * their number, group the groups. */
static int mark_copies(const dataset *ds, int *group, unsigned char *skip, int *with_copy)
{
    if (find_groups(ds, group) < 0)
        return -1;
    *with_copy = flag_copies(group, ds->n, skip);
    return 0;
}

/* Validation images (take[i]) with a member of their group in training;
 * NULL-safe on memory: -1 when out of it. */
static int count_val_with_copy(const dataset *ds, const int *group, const unsigned char *take)
{
    int *in_training = calloc(ds->n ? (size_t)ds->n : 1, sizeof *in_training);
    if (!in_training) {
        app_fail("out of memory");
        return -1;
    }
    for (int i = 0; i < ds->n; i++)
        if (!take[i])
            in_training[group[i]]++;
    int n = 0;
    for (int i = 0; i < ds->n; i++)
        n += take[i] && in_training[group[i]] > 0;
    free(in_training);
    return n;
}

dataset *dataset_split(dataset *ds, double share, uint64_t seed, dataset_copies copies,
                       dataset_split_info *info)
{
    if (!(share > 0 && share < 1)) {
        app_fail("validation share %g is not in (0, 1)", share);
        return NULL;
    }
    int counts[DATASET_MAX_CLASSES], quota[DATASET_MAX_CLASSES];
    dataset_class_counts(ds, counts);
    for (int c = 0; c < ds->n_classes; c++)
        quota[c] = (int)(share * counts[c] + 0.5);
    const char *names[DATASET_MAX_CLASSES];
    for (int c = 0; c < ds->n_classes; c++)
        names[c] = ds->classes[c];
    int nval = 0;
    for (int c = 0; c < ds->n_classes; c++)
        nval += quota[c];
    dataset *val = dataset_create(ds->w, ds->h, names, ds->n_classes, nval);
    unsigned char *take = malloc(ds->n ? (size_t)ds->n : 1);
    unsigned char *skip = malloc(ds->n ? (size_t)ds->n : 1);
    int *group = malloc((ds->n ? (size_t)ds->n : 1) * sizeof *group);
    dataset_split_info got = {0};
    if (!val || !take || !skip || !group) {
        app_fail("out of memory");
        goto fail;
    }
    /* Keep the names verbatim (dataset_create normalised them). */
    memcpy(val->classes, ds->classes, sizeof ds->classes);
    if (mark_copies(ds, group, skip, &got.with_copy) < 0 ||
        pick_per_class(ds, quota, seed, copies == DATASET_COPIES_EXCLUDE ? skip : NULL, take) < 0 ||
        (got.val_with_copy = count_val_with_copy(ds, group, take)) < 0)
        goto fail;
    for (int i = 0; i < ds->n; i++)
        if (take[i])
            dataset_push(val, dataset_image(ds, i), ds->labels[i]); /* capacity is enough */
    for (int i = 0; i < ds->n; i++)
        take[i] = !take[i];
    dataset__compact(ds, take);
    free(take);
    free(skip);
    free(group);
    if (info)
        *info = got;
    return val;
fail:
    dataset_free(val);
    free(take);
    free(skip);
    free(group);
    return NULL;
}

int dataset_limit(dataset *ds, int n, uint64_t seed)
{
    if (n < 0) {
        app_fail("bad limit %d", n);
        return -1;
    }
    if (n >= ds->n)
        return 0;
    int counts[DATASET_MAX_CLASSES], quota[DATASET_MAX_CLASSES];
    double rem[DATASET_MAX_CLASSES];
    dataset_class_counts(ds, counts);
    int given = 0;
    for (int c = 0; c < ds->n_classes; c++) {
        double q = (double)n * counts[c] / ds->n;
        quota[c] = (int)q;
        rem[c] = q - quota[c];
        given += quota[c];
    }
    /* Largest remainder (ties to the lower class index) hands out the rest. */
    while (given < n) {
        int best = -1;
        for (int c = 0; c < ds->n_classes; c++)
            if (quota[c] < counts[c] && (best < 0 || rem[c] > rem[best]))
                best = c;
        if (best < 0)
            break;
        quota[best]++;
        rem[best] = -1;
        given++;
    }
    unsigned char *keep = malloc((size_t)ds->n);
    if (!keep) {
        app_fail("out of memory");
        return -1;
    }
    if (pick_per_class(ds, quota, seed, NULL, keep) < 0) {
        free(keep);
        return -1;
    }
    dataset__compact(ds, keep);
    free(keep);
    return 0;
}

void dataset_class_weights(const dataset *ds, double power, float *w)
{
    int counts[DATASET_MAX_CLASSES];
    dataset_class_counts(ds, counts);
    double raw[DATASET_MAX_CLASSES], sum = 0;
    for (int c = 0; c < ds->n_classes; c++) {
        raw[c] = counts[c] ? pow((double)counts[c], -power) : 0;
        sum += raw[c] * counts[c];
    }
    for (int c = 0; c < ds->n_classes; c++)
        w[c] = sum > 0 ? (float)(raw[c] * ds->n / sum) : 0.f;
}

void dataset_epoch_order(const dataset *ds, const float *class_w, uint64_t *rng,
                    int *order, int n)
{
    if (!class_w) {
        for (int i = 0; i < n; i++)
            order[i] = i < ds->n ? i : i % (ds->n ? ds->n : 1);
        rng_shuffle(order, n, rng);
        return;
    }
    int counts[DATASET_MAX_CLASSES], start[DATASET_MAX_CLASSES + 1];
    double cum[DATASET_MAX_CLASSES], total = 0;
    dataset_class_counts(ds, counts);
    for (int c = 0; c < ds->n_classes; c++) {
        double p = class_w[c] > 0 ? (double)counts[c] * class_w[c] : 0;
        total += p;
        cum[c] = total;
    }
    /* Draws need the images grouped by class; without memory for that,
     * fall back to uniform draws rather than fail mid-training. */
    int *idx = malloc((ds->n ? (size_t)ds->n : 1) * sizeof *idx);
    if (!idx || total <= 0) {
        free(idx);
        for (int i = 0; i < n; i++)
            order[i] = ds->n ? rng_below(rng, ds->n) : 0;
        return;
    }
    group_by_class(ds, idx, start);
    for (int i = 0; i < n; i++) {
        double u = (double)(rng_next(rng) >> 11) * 0x1.0p-53 * total;
        int c = 0;
        while (c < ds->n_classes - 1 && (u >= cum[c] || counts[c] == 0))
            c++;
        while (counts[c] == 0 && c > 0) /* u rounding at the very top */
            c--;
        order[i] = idx[start[c] + rng_below(rng, counts[c])];
    }
    free(idx);
}

