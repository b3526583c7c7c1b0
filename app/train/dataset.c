/*
 * dataset.c - the data set container (images, labels, class names and the
 * problems met while loading) and dataset_load, which hands a folder or a CSV
 * file to its loader (dataset_folder.c, dataset_csv.c). See dataset.h.
 */
#include "dataset_impl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "app_err.h"

const char *const dataset_fer_classes[DATASET_FER_CLASSES] = {
    "angry", "disgust", "fear", "happy", "sad", "surprise", "neutral",
};

/* ---- problems ---- */

void dataset__add_problem(dataset *ds, const char *fmt, ...)
{
    ds->n_skipped++;
    if (ds->n_problems >= DATASET_MAX_PROBLEMS)
        return;
    if (!ds->problems) {
        ds->problems = calloc(DATASET_MAX_PROBLEMS, sizeof *ds->problems);
        if (!ds->problems)
            return;
    }
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char *s = strdup(buf);
    if (s)
        ds->problems[ds->n_problems++] = s;
}

/* ---- data set basics ---- */

int dataset__reserve(dataset *ds, int cap)
{
    if (cap <= ds->cap)
        return 0;
    size_t img = (size_t)ds->w * (size_t)ds->h;
    if ((size_t)cap > SIZE_MAX / img) {
        app_fail("data set too large (%d images)", cap);
        return -1;
    }
    uint8_t *px = realloc(ds->pixels, (size_t)cap * img);
    if (!px) {
        app_fail("out of memory for %d images of %dx%d", cap, ds->w, ds->h);
        return -1;
    }
    ds->pixels = px;
    int *lb = realloc(ds->labels, (size_t)cap * sizeof *lb);
    if (!lb) {
        app_fail("out of memory for %d labels", cap);
        return -1;
    }
    ds->labels = lb;
    ds->cap = cap;
    return 0;
}

void dataset__shrink(dataset *ds)
{
    if (ds->n == 0 || ds->n == ds->cap)
        return;
    uint8_t *px = realloc(ds->pixels, (size_t)ds->n * (size_t)ds->w * (size_t)ds->h);
    if (px)
        ds->pixels = px;
    int *lb = realloc(ds->labels, (size_t)ds->n * sizeof *lb);
    if (lb)
        ds->labels = lb;
    ds->cap = ds->n; /* both buffers hold at least n, whatever happened */
}

int dataset__set_classes(dataset *ds, const char *const *classes, int n)
{
    if (n < 0 || n > DATASET_MAX_CLASSES) {
        app_fail("%d classes; at most %d are supported", n, DATASET_MAX_CLASSES);
        return -1;
    }
    for (int i = 0; i < n; i++)
        dataset_class_normalize(classes[i], ds->classes[i], NN_NAME_MAX);
    ds->n_classes = n;
    return 0;
}

dataset *dataset__alloc(int w, int h)
{
    if (w <= 0 || h <= 0 || w > 4096 || h > 4096) {
        app_fail("bad image size %dx%d", w, h);
        return NULL;
    }
    dataset *ds = calloc(1, sizeof *ds);
    if (!ds) {
        app_fail("out of memory");
        return NULL;
    }
    ds->w = w;
    ds->h = h;
    return ds;
}

dataset *dataset_create(int w, int h, const char *const *classes, int n_classes,
                      int capacity)
{
    dataset *ds = dataset__alloc(w, h);
    if (!ds)
        return NULL;
    if (dataset__set_classes(ds, classes, n_classes) < 0 ||
        dataset__reserve(ds, capacity > 0 ? capacity : 16) < 0) {
        dataset_free(ds);
        return NULL;
    }
    return ds;
}

int dataset_push(dataset *ds, const uint8_t *img, int label)
{
    if (label < 0 || label >= ds->n_classes) {
        app_fail("label %d out of range 0..%d", label, ds->n_classes - 1);
        return -1;
    }
    if (ds->n == ds->cap) {
        if (ds->cap > INT32_MAX / 2) {
            app_fail("data set too large");
            return -1;
        }
        if (dataset__reserve(ds, ds->cap ? ds->cap * 2 : 16) < 0)
            return -1;
    }
    memcpy(dataset_image(ds, ds->n), img, (size_t)ds->w * (size_t)ds->h);
    ds->labels[ds->n] = label;
    return ds->n++;
}

void dataset_free(dataset *ds)
{
    if (!ds)
        return;
    for (int i = 0; i < ds->n_problems; i++)
        free(ds->problems[i]);
    free(ds->problems);
    free(ds->merged);
    free(ds->pixels);
    free(ds->labels);
    free(ds);
}

void dataset__compact(dataset *ds, const unsigned char *keep)
{
    size_t img = (size_t)ds->w * (size_t)ds->h;
    int m = 0;
    for (int i = 0; i < ds->n; i++) {
        if (!keep[i])
            continue;
        if (m != i) {
            memcpy(ds->pixels + (size_t)m * img, ds->pixels + (size_t)i * img, img);
            ds->labels[m] = ds->labels[i];
        }
        m++;
    }
    ds->n = m;
}

int dataset_is_csv(const char *path)
{
    struct stat st;
    return path && stat(path, &st) == 0 && !S_ISDIR(st.st_mode);
}

/* Whether the file starts like an image OpenCV reads (PNG, JPEG, BMP, GIF,
 * TIFF, WebP, PNM): by its first bytes, whatever its name. */
static int is_picture(const char *path)
{
    unsigned char b[12] = {0};
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t n = fread(b, 1, sizeof b, f);
    fclose(f);
    if (n < 4)
        return 0;
    return !memcmp(b, "\x89PNG", 4) || (b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) ||
           !memcmp(b, "BM", 2) || !memcmp(b, "GIF8", 4) || !memcmp(b, "II*\0", 4) ||
           !memcmp(b, "MM\0*", 4) || (n == 12 && !memcmp(b, "RIFF", 4) && !memcmp(b + 8, "WEBP", 4)) ||
           (b[0] == 'P' && b[1] >= '1' && b[1] <= '6' && (b[2] == '\n' || b[2] == ' ' || b[2] == '\r'));
}

dataset *dataset_load(const char *path, const dataset_load_opts *opts)
{
    if (!path || !opts) {
        app_fail("dataset_load: no path or options");
        return NULL;
    }
    struct stat st;
    if (stat(path, &st) < 0) {
        app_fail("%s: %s", path, strerror(errno));
        return NULL;
    }
    if (opts->w <= 0 || opts->h <= 0) {
        app_fail("bad image size %dx%d", opts->w, opts->h);
        return NULL;
    }
    if (S_ISDIR(st.st_mode))
        return dataset__load_folder(path, opts);
    if (is_picture(path)) {
        /* not a CSV with a bad header, which is what reading it as one says */
        app_fail("%s: a picture, not a data set: give a folder of class folders (angry/, "
                 "happy/, ...) or a FER2013 CSV (emotion-train predict classifies pictures)", path);
        return NULL;
    }
    return dataset__load_csv(path, opts);
}

