/*
 * dataset_folder.c - a folder of class folders (or of split folders holding
 * class folders) loaded into a data set.
 *
 * Speed: every file is listed first, so the image buffer is allocated once
 * at its final size; then decoding (through cvw, the only image decoder in
 * the tree) runs on a few threads, each image written straight into its
 * slot. Failed slots are squeezed out afterwards, in order, so the result
 * does not depend on the thread count.
 */
#include "dataset_impl.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app_err.h"
#include "cvw.h"
#include "dirlist.h"

typedef struct decode_job {
    dataset *ds;
    char **paths;         /* n paths */
    int n;
    char **errs;          /* per failed item: malloc'd message */
    atomic_int next;
    atomic_int done;
    dataset_progress_fn progress;
    void *progress_user;
} decode_job;

static void decode_one(decode_job *job, int i)
{
    dataset *ds = job->ds;
    uint8_t *px = NULL;
    int w = 0, h = 0;
    char msg[512];
    if (cvw_read_gray(job->paths[i], &px, &w, &h) < 0) {
        /* cvw's message names the file and the reason. */
        snprintf(msg, sizeof msg, "%s", cvw_error());
        job->errs[i] = strdup(msg);
        if (!job->errs[i])
            job->errs[i] = (char *)job->paths[i]; /* flag only; see below */
        return;
    }
    uint8_t *dst = dataset_image(ds, i);
    if (w == ds->w && h == ds->h) {
        memcpy(dst, px, (size_t)w * (size_t)h);
    } else if (cvw_resize_gray(px, w, h, dst, ds->w, ds->h) < 0) {
        snprintf(msg, sizeof msg, "%s: cannot resize %dx%d to %dx%d (%s)",
                 job->paths[i], w, h, ds->w, ds->h, cvw_error());
        job->errs[i] = strdup(msg);
        if (!job->errs[i])
            job->errs[i] = (char *)job->paths[i];
    }
    free(px);
}

static void *decode_worker(void *arg)
{
    decode_job *job = arg;
    int i;
    while ((i = atomic_fetch_add(&job->next, 1)) < job->n) {
        decode_one(job, i);
        atomic_fetch_add(&job->done, 1);
    }
    return NULL;
}

/* The calling thread works too, and is the one reporting progress. */
static void decode_main(decode_job *job)
{
    int step = job->n / 100 > 0 ? job->n / 100 : 1, next_report = step;
    int i;
    while ((i = atomic_fetch_add(&job->next, 1)) < job->n) {
        decode_one(job, i);
        int d = atomic_fetch_add(&job->done, 1) + 1;
        if (job->progress && d >= next_report) {
            job->progress(job->progress_user, d, job->n);
            next_report = d + step;
        }
    }
}

static int cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 16 ? 16 : (int)n;
}

/* Decode paths[0..n) into ds's first n slots on a few threads, then drop
 * the failures (each a problem) in order. Returns 0 or -1 (app_error). */
static int decode_all(dataset *ds, const dirlist *paths, const dataset_load_opts *o)
{
    decode_job job = {
        .ds = ds, .paths = paths->v, .n = paths->n,
        .progress = o->progress, .progress_user = o->progress_user,
    };
    atomic_init(&job.next, 0);
    atomic_init(&job.done, 0);
    job.errs = calloc((size_t)paths->n, sizeof *job.errs);
    unsigned char *keep = malloc((size_t)paths->n);
    if (!job.errs || !keep) {
        free(job.errs);
        free(keep);
        return app_fail("out of memory");
    }
    int nt = o->threads > 0 ? o->threads : cpu_count();
    if (nt > paths->n / 64 + 1)
        nt = paths->n / 64 + 1; /* threads do not pay off on a few images */
    pthread_t tid[64];
    int started = 0;
    for (int t = 1; t < nt && t < 64; t++) {
        if (pthread_create(&tid[started], NULL, decode_worker, &job) != 0)
            break; /* fewer threads is fine */
        started++;
    }
    decode_main(&job);
    for (int t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
    if (o->progress)
        o->progress(o->progress_user, paths->n, paths->n);

    /* Squeeze failures out, in order, and report them. */
    for (int i = 0; i < paths->n; i++) {
        keep[i] = job.errs[i] == NULL;
        if (job.errs[i] == paths->v[i]) {
            dataset__add_problem(ds, "%s: cannot read image", paths->v[i]);
        } else if (job.errs[i]) {
            dataset__add_problem(ds, "%s", job.errs[i]);
            free(job.errs[i]);
        }
    }
    free(job.errs);
    dataset__compact(ds, keep);
    free(keep);
    return 0;
}

/* The folder of class folders under base: base itself, or its split
 * folder o->split names when base holds only splits (train/, test/).
 * Appends "/SPLIT" to base then, and leaves its sub-folders in dirs. */
static int class_root(char *base, size_t len, const dataset_load_opts *o, dirlist *dirs)
{
    if (dirlist_read(base, DIRLIST_DIRS, dirs) < 0)
        return -1;
    int all_splits = dirs->n > 0;
    for (int i = 0; i < dirs->n; i++)
        if (dataset__split_group(dirs->v[i]) < 0)
            all_splits = 0;
    if (!all_splits) {
        if (o->split)
            return app_fail("%s is a folder of classes; a split ('%s') applies only to CSV "
                            "files and folders of splits", base, o->split);
        return 0;
    }
    char names[512] = "";
    int pick = -1;
    for (int i = 0; i < dirs->n; i++) {
        size_t l = strlen(names);
        snprintf(names + l, sizeof names - l, "%s%s", i ? ", " : "", dirs->v[i]);
        if (o->split && dataset__split_match(o->split, dirs->v[i]) && pick < 0)
            pick = i;
    }
    if (!o->split)
        return app_fail("%s holds splits (%s): choose one with --split (--split %s) or "
                        "point at its folder", base, names, dirs->v[0]);
    if (pick < 0)
        return app_fail("%s has no split '%s' (it has %s)", base, o->split, names);
    size_t l = strlen(base);
    snprintf(base + l, len - l, "/%s", dirs->v[pick]);
    dirlist_free(dirs);
    return dirlist_read(base, DIRLIST_DIRS, dirs);
}

/* ds->merged: for each class of more than one folder, its folders. */
static void note_merged(dataset *ds, const dirlist *dirs, const int *folder_class)
{
    size_t len = 0;
    FILE *m = open_memstream(&ds->merged, &len);
    if (!m)
        return; /* out of memory: the load goes on without the note */
    for (int c = 0; c < ds->n_classes; c++) {
        int n = 0;
        for (int i = 0; i < dirs->n; i++)
            n += folder_class[i] == c;
        for (int i = 0, k = 0; n > 1 && i < dirs->n; i++)
            if (folder_class[i] == c)
                fprintf(m, "%s'%s'", k++ ? ", " : "", dirs->v[i]);
        if (n > 1)
            fprintf(m, " merged into class '%s'\n", ds->classes[c]);
    }
    if (fclose(m) != 0 || len == 0) {
        free(ds->merged);
        ds->merged = NULL;
    }
}

/* Classes in sorted folder order; folders whose names normalise alike
 * ("anger", "angry") merge into one class (and ds->merged says so).
 * folder_class[i] is folder i's. A name past NN_NAME_MAX - 1 bytes is
 * refused: cut to fit the model file, two long names sharing their start
 * became one class, said only as a merge. */
static int folder_classes(dataset *ds, const char *base, const dirlist *dirs, int *folder_class)
{
    for (int i = 0; i < dirs->n; i++)
        if (strlen(dirs->v[i]) >= NN_NAME_MAX)
            return app_fail("%s/%.40s...: a class folder's name longer than %d bytes (%zu): "
                            "class names are at most %d; rename it",
                            base, dirs->v[i], NN_NAME_MAX - 1, strlen(dirs->v[i]),
                            NN_NAME_MAX - 1);
    for (int i = 0; i < dirs->n; i++) {
        char nm[NN_NAME_MAX];
        dataset_class_normalize(dirs->v[i], nm, sizeof nm);
        int c = -1;
        for (int j = 0; j < ds->n_classes; j++)
            if (!strcmp(ds->classes[j], nm))
                c = j;
        if (c < 0) {
            c = ds->n_classes++;
            memcpy(ds->classes[c], nm, sizeof nm);
        }
        folder_class[i] = c;
    }
    note_merged(ds, dirs, folder_class);
    return 0;
}

/* What a class folder holds besides its files, as problems: folders in
 * it (a set nested one level deeper than its classes, or a class split
 * by subject, whose pictures are not read) and entries that are neither
 * file nor folder (a dangling link). Both were left out without a word. */
static int note_left_out(dataset *ds, const char *base, const char *cls, const char *dir)
{
    dirlist sub = {0}, skipped = {0}, why = {0};
    int rc = dirlist_read_skips(dir, DIRLIST_DIRS, &sub, &skipped, &why);
    for (int j = 0; !rc && j < sub.n; j++)
        dataset__add_problem(ds, "%s/%s: a folder in class folder '%s', not read (the classes "
                             "are the folders right under %s)", dir, sub.v[j], cls, base);
    for (int j = 0; !rc && j < skipped.n; j++)
        dataset__add_problem(ds, "%s/%s: %s", dir, skipped.v[j], why.v[j]);
    dirlist_free(&sub);
    dirlist_free(&skipped);
    dirlist_free(&why);
    return rc;
}

/* Entries beside the class folders that would be one but cannot be read
 * as a folder (a dangling link, a loop of them): problems. They were
 * left out without a word, while the same inside a class folder was
 * said. */
static int note_root_skips(dataset *ds, const char *base)
{
    dirlist dirs = {0}, skipped = {0}, why = {0};
    int rc = dirlist_read_skips(base, DIRLIST_DIRS, &dirs, &skipped, &why);
    for (int j = 0; !rc && j < skipped.n; j++)
        dataset__add_problem(ds, "%s/%s: %s (not read as a class folder)", base, skipped.v[j],
                             why.v[j]);
    dirlist_free(&dirs);
    dirlist_free(&skipped);
    dirlist_free(&why);
    return rc;
}

/* The image files of every class folder, as paths, with their labels
 * (*labels grows with paths). Other entries become problems. */
static int list_images(dataset *ds, const char *base, const dirlist *dirs,
                       const int *folder_class, dirlist *paths, int **labels)
{
    dirlist files = {0};
    int labels_cap = 0, rc = 0;
    char path[8192];
    for (int i = 0; i < dirs->n && !rc; i++) {
        snprintf(path, sizeof path, "%s/%s", base, dirs->v[i]);
        dirlist_free(&files);
        if (dirlist_read(path, DIRLIST_FILES, &files) < 0 ||
            note_left_out(ds, base, dirs->v[i], path) < 0) {
            rc = -1;
            break;
        }
        for (int j = 0; j < files.n; j++) {
            snprintf(path, sizeof path, "%s/%s/%s", base, dirs->v[i], files.v[j]);
            if (!dirlist_is_image(files.v[j])) {
                dataset__add_problem(ds, "%s: not an image file (by its extension)", path);
                continue;
            }
            if (dirlist_push(paths, path) < 0) {
                rc = app_fail("out of memory listing %s", base);
                break;
            }
            if (paths->n > labels_cap) {
                int nc = paths->cap; /* grows with the paths, by doubling */
                int *nl = realloc(*labels, (size_t)nc * sizeof *nl);
                if (!nl) {
                    rc = app_fail("out of memory");
                    break;
                }
                *labels = nl;
                labels_cap = nc;
            }
            (*labels)[paths->n - 1] = folder_class[i];
        }
    }
    dirlist_free(&files);
    return rc;
}

dataset *dataset__load_folder(const char *root, const dataset_load_opts *o)
{
    dirlist dirs = {0}, paths = {0};
    dataset *ds = NULL;
    int *labels = NULL;
    int folder_class[DATASET_MAX_CLASSES];
    char base[4096];
    snprintf(base, sizeof base, "%s", root);
    size_t bl = strlen(base);
    while (bl > 1 && base[bl - 1] == '/')
        base[--bl] = 0;

    if (class_root(base, sizeof base, o, &dirs) < 0)
        goto fail;
    if (dirs.n == 0) {
        app_fail("%s: no class folders (expected one sub-folder per class)", base);
        goto fail;
    }
    if (dirs.n > DATASET_MAX_CLASSES) {
        app_fail("%s: %d class folders; at most %d are supported", base, dirs.n,
                 DATASET_MAX_CLASSES);
        goto fail;
    }
    if (!(ds = dataset__alloc(o->w, o->h)))
        goto fail;
    if (folder_classes(ds, base, &dirs, folder_class) < 0 || note_root_skips(ds, base) < 0)
        goto fail;
    if (list_images(ds, base, &dirs, folder_class, &paths, &labels) < 0)
        goto fail;
    if (paths.n == 0) {
        if (ds->n_problems)
            app_fail("%s: no image files in its %d class folder%s (first problem: %s)", base,
                     dirs.n, dirs.n == 1 ? "" : "s", ds->problems[0]);
        else
            app_fail("%s: no image files in its %d class folder%s", base, dirs.n,
                     dirs.n == 1 ? "" : "s");
        goto fail;
    }
    if (dataset__reserve(ds, paths.n) < 0)
        goto fail;
    ds->n = paths.n;
    memcpy(ds->labels, labels, (size_t)paths.n * sizeof *labels);
    if (decode_all(ds, &paths, o) < 0) {
        ds->n = 0;
        goto fail;
    }
    if (ds->n == 0) {
        app_fail("%s: none of its %d image files could be read (first: %s)", base,
                 paths.n, ds->n_problems ? ds->problems[0] : "?");
        goto fail;
    }
    dirlist_free(&dirs);
    dirlist_free(&paths);
    free(labels);
    return ds;
fail:
    dirlist_free(&dirs);
    dirlist_free(&paths);
    free(labels);
    dataset_free(ds);
    return NULL;
}
