/*
 * dataset.c - loading face data sets (class folders, fer2013.csv) into
 * memory, class-name matching, stratified splits and class balance.
 *
 * Speed: a folder load lists every file first, so the image buffer is
 * allocated once at its final size; then decoding (through cvw, the only
 * image decoder in the tree) runs on a few threads, each image written
 * straight into its slot. Failed slots are squeezed out afterwards, in
 * order, so the result does not depend on the thread count.
 */
#include "dataset.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app_err.h"
#include "cvw.h"
#include "dirlist.h"
#include "rng.h"

#define FER_SIDE 48
#define FER_PIXELS (FER_SIDE * FER_SIDE)

const char *const ds_fer_classes[7] = {
    "angry", "disgust", "fear", "happy", "sad", "surprise", "neutral",
};

/* ---- problems ---- */

/* Count a skipped entry and keep its description while there is room. */
static void add_problem(ds_dataset *ds, const char *fmt, ...)
{
    ds->n_skipped++;
    if (ds->n_problems >= DS_MAX_PROBLEMS)
        return;
    if (!ds->problems) {
        ds->problems = calloc(DS_MAX_PROBLEMS, sizeof *ds->problems);
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

/* ---- class names ---- */

struct synonym { const char *from, *to; };
static const struct synonym synonyms[] = {
    {"anger", "angry"}, {"angry", "angry"}, {"mad", "angry"},
    {"disgust", "disgust"}, {"disgusted", "disgust"}, {"disgusting", "disgust"},
    {"fear", "fear"}, {"fearful", "fear"}, {"afraid", "fear"}, {"scared", "fear"},
    {"happy", "happy"}, {"happiness", "happy"}, {"joy", "happy"},
    {"joyful", "happy"}, {"smile", "happy"},
    {"sad", "sad"}, {"sadness", "sad"}, {"sorrow", "sad"},
    {"surprise", "surprise"}, {"surprised", "surprise"},
    {"surprising", "surprise"}, {"suprise", "surprise"},
    {"neutral", "neutral"}, {"neutrality", "neutral"}, {"none", "neutral"},
    {"contempt", "contempt"}, {"contemptuous", "contempt"},
};

char *ds_class_normalize(const char *name, char *out, size_t len)
{
    if (!len)
        return out;
    while (isspace((unsigned char)*name))
        name++;
    /* A numeric prefix ("3_happy") orders folders; it is not the name. */
    const char *p = name;
    while (isdigit((unsigned char)*p))
        p++;
    if (p > name && (*p == '_' || *p == '-' || *p == ' ' || *p == '.')) {
        const char *q = p;
        while (*q == '_' || *q == '-' || *q == ' ' || *q == '.')
            q++;
        if (*q)
            name = q;
    }
    char tmp[NN_NAME_MAX];
    size_t n = 0;
    for (; *name && n + 1 < sizeof tmp; name++) {
        unsigned char c = (unsigned char)*name;
        tmp[n++] = (c == ' ' || c == '-') ? '_' : (char)tolower(c);
    }
    while (n > 0 && (tmp[n - 1] == '_' || isspace((unsigned char)tmp[n - 1])))
        n--; /* trailing blanks became '_' above */
    tmp[n] = 0;
    const char *res = tmp;
    for (size_t i = 0; i < sizeof synonyms / sizeof synonyms[0]; i++)
        if (!strcmp(tmp, synonyms[i].from)) {
            res = synonyms[i].to;
            break;
        }
    snprintf(out, len, "%s", res);
    return out;
}

int ds_class_find(const char *const *names, int count, const char *name)
{
    char a[NN_NAME_MAX], b[NN_NAME_MAX];
    ds_class_normalize(name, a, sizeof a);
    for (int i = 0; i < count; i++)
        if (!strcmp(a, ds_class_normalize(names[i], b, sizeof b)))
            return i;
    return -1;
}

/* ---- data set basics ---- */

static int ds_reserve(ds_dataset *ds, int cap)
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

/* Give back the unused capacity (a failed shrink just keeps it). */
static void ds_shrink(ds_dataset *ds)
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

/* Set the class list (normalised). Returns 0 or -1. */
static int ds_set_classes(ds_dataset *ds, const char *const *classes, int n)
{
    if (n < 0 || n > DS_MAX_CLASSES) {
        app_fail("%d classes; at most %d are supported", n, DS_MAX_CLASSES);
        return -1;
    }
    for (int i = 0; i < n; i++)
        ds_class_normalize(classes[i], ds->classes[i], NN_NAME_MAX);
    ds->n_classes = n;
    return 0;
}

static ds_dataset *ds_alloc(int w, int h)
{
    if (w <= 0 || h <= 0 || w > 4096 || h > 4096) {
        app_fail("bad image size %dx%d", w, h);
        return NULL;
    }
    ds_dataset *ds = calloc(1, sizeof *ds);
    if (!ds) {
        app_fail("out of memory");
        return NULL;
    }
    ds->w = w;
    ds->h = h;
    return ds;
}

ds_dataset *ds_create(int w, int h, const char *const *classes, int n_classes,
                      int capacity)
{
    ds_dataset *ds = ds_alloc(w, h);
    if (!ds)
        return NULL;
    if (ds_set_classes(ds, classes, n_classes) < 0 ||
        ds_reserve(ds, capacity > 0 ? capacity : 16) < 0) {
        ds_free(ds);
        return NULL;
    }
    return ds;
}

int ds_push(ds_dataset *ds, const uint8_t *img, int label)
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
        if (ds_reserve(ds, ds->cap ? ds->cap * 2 : 16) < 0)
            return -1;
    }
    memcpy(ds_image(ds, ds->n), img, (size_t)ds->w * (size_t)ds->h);
    ds->labels[ds->n] = label;
    return ds->n++;
}

void ds_free(ds_dataset *ds)
{
    if (!ds)
        return;
    for (int i = 0; i < ds->n_problems; i++)
        free(ds->problems[i]);
    free(ds->problems);
    free(ds->pixels);
    free(ds->labels);
    free(ds);
}

/* Keep the images with keep[i] != 0, in order. */
static void ds_compact(ds_dataset *ds, const unsigned char *keep)
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

/* ---- splits (train/test names in folders and Usage columns) ---- */

/* 0 train, 1 public test, 2 private test, 3 validation, -1 other. */
static int split_group(const char *s)
{
    static const struct { const char *name; int group; } tab[] = {
        {"train", 0}, {"training", 0},
        {"test", 1}, {"testing", 1}, {"publictest", 1}, {"public_test", 1},
        {"privatetest", 2}, {"private_test", 2}, {"private", 2},
        {"val", 3}, {"valid", 3}, {"validation", 3},
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (!strcasecmp(s, tab[i].name))
            return tab[i].group;
    return -1;
}

static int split_match(const char *want, const char *have)
{
    int a = split_group(want), b = split_group(have);
    if (a >= 0 || b >= 0)
        return a == b;
    return !strcasecmp(want, have);
}

/* ---- folder loading ---- */

typedef struct decode_job {
    ds_dataset *ds;
    char **paths;         /* n paths */
    int n;
    char **errs;          /* per failed item: malloc'd message */
    atomic_int next;
    atomic_int done;
    ds_progress_fn progress;
    void *progress_user;
} decode_job;

static void decode_one(decode_job *job, int i)
{
    ds_dataset *ds = job->ds;
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
    uint8_t *dst = ds_image(ds, i);
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

static ds_dataset *load_folder(const char *root, const ds_load_opts *o)
{
    dirlist dirs = {0}, files = {0}, paths = {0};
    ds_dataset *ds = NULL;
    int *labels = NULL, labels_cap = 0;
    char base[4096];
    char path[8192];
    snprintf(base, sizeof base, "%s", root);
    size_t bl = strlen(base);
    while (bl > 1 && base[bl - 1] == '/')
        base[--bl] = 0;

    if (dirlist_read(base, DIRLIST_DIRS, &dirs) < 0)
        goto fail;
    /* A folder of splits (train/, test/) holding class folders? */
    int all_splits = dirs.n > 0;
    for (int i = 0; i < dirs.n; i++)
        if (split_group(dirs.v[i]) < 0)
            all_splits = 0;
    if (all_splits) {
        char names[512] = "";
        int pick = -1;
        for (int i = 0; i < dirs.n; i++) {
            size_t l = strlen(names);
            snprintf(names + l, sizeof names - l, "%s%s", i ? ", " : "", dirs.v[i]);
            if (o->split && split_match(o->split, dirs.v[i]) && pick < 0)
                pick = i;
        }
        if (!o->split) {
            app_fail("%s holds splits (%s): choose one with a split name or "
                    "point at its folder", base, names);
            goto fail;
        }
        if (pick < 0) {
            app_fail("%s has no split '%s' (it has %s)", base, o->split, names);
            goto fail;
        }
        size_t l = strlen(base);
        snprintf(base + l, sizeof base - l, "/%s", dirs.v[pick]);
        dirlist_free(&dirs);
        if (dirlist_read(base, DIRLIST_DIRS, &dirs) < 0)
            goto fail;
    } else if (o->split) {
        app_fail("%s is a folder of classes; a split ('%s') applies only to CSV "
                "files and folders of splits", base, o->split);
        goto fail;
    }
    if (dirs.n == 0) {
        app_fail("%s: no class folders (expected one sub-folder per class)", base);
        goto fail;
    }
    if (dirs.n > DS_MAX_CLASSES) {
        app_fail("%s: %d class folders; at most %d are supported", base, dirs.n,
                DS_MAX_CLASSES);
        goto fail;
    }
    if (!(ds = ds_alloc(o->w, o->h)))
        goto fail;

    /* Classes in sorted folder order; folders whose names normalise alike
     * ("anger", "angry") merge into one class. */
    int folder_class[DS_MAX_CLASSES];
    for (int i = 0; i < dirs.n; i++) {
        char nm[NN_NAME_MAX];
        ds_class_normalize(dirs.v[i], nm, sizeof nm);
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

    for (int i = 0; i < dirs.n; i++) {
        snprintf(path, sizeof path, "%s/%s", base, dirs.v[i]);
        dirlist_free(&files);
        if (dirlist_read(path, DIRLIST_FILES, &files) < 0)
            goto fail;
        for (int j = 0; j < files.n; j++) {
            snprintf(path, sizeof path, "%s/%s/%s", base, dirs.v[i], files.v[j]);
            if (!dirlist_is_image(files.v[j])) {
                add_problem(ds, "%s: not an image file (by its extension)", path);
                continue;
            }
            if (dirlist_push(&paths, path) < 0) {
                app_fail("out of memory listing %s", base);
                goto fail;
            }
            if (paths.n > labels_cap) {
                int nc = paths.cap; /* grows with the paths, by doubling */
                int *nl = realloc(labels, (size_t)nc * sizeof *nl);
                if (!nl) {
                    app_fail("out of memory");
                    goto fail;
                }
                labels = nl;
                labels_cap = nc;
            }
            labels[paths.n - 1] = folder_class[i];
        }
    }
    if (paths.n == 0) {
        app_fail("%s: no image files in its %d class folders", base, dirs.n);
        goto fail;
    }
    if (ds_reserve(ds, paths.n) < 0)
        goto fail;

    decode_job job = {
        .ds = ds, .paths = paths.v, .n = paths.n,
        .progress = o->progress, .progress_user = o->progress_user,
    };
    atomic_init(&job.next, 0);
    atomic_init(&job.done, 0);
    job.errs = calloc((size_t)paths.n, sizeof *job.errs);
    if (!job.errs) {
        app_fail("out of memory");
        goto fail;
    }
    int nt = o->threads > 0 ? o->threads : cpu_count();
    if (nt > paths.n / 64 + 1)
        nt = paths.n / 64 + 1; /* threads do not pay off on a few images */
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
        o->progress(o->progress_user, paths.n, paths.n);

    /* Squeeze failures out, in order, and report them. */
    unsigned char *keep = malloc((size_t)paths.n);
    if (!keep) {
        for (int i = 0; i < paths.n; i++)
            if (job.errs[i] != paths.v[i])
                free(job.errs[i]);
        free(job.errs);
        app_fail("out of memory");
        goto fail;
    }
    ds->n = paths.n;
    memcpy(ds->labels, labels, (size_t)paths.n * sizeof *labels);
    for (int i = 0; i < paths.n; i++) {
        keep[i] = job.errs[i] == NULL;
        if (job.errs[i] == paths.v[i]) {
            add_problem(ds, "%s: cannot read image", paths.v[i]);
        } else if (job.errs[i]) {
            add_problem(ds, "%s", job.errs[i]);
            free(job.errs[i]);
        }
    }
    free(job.errs);
    ds_compact(ds, keep);
    free(keep);
    if (ds->n == 0) {
        app_fail("%s: none of its %d image files could be read (first: %s)", base,
                paths.n, ds->n_problems ? ds->problems[0] : "?");
        goto fail;
    }
    dirlist_free(&dirs);
    dirlist_free(&files);
    dirlist_free(&paths);
    free(labels);
    return ds;
fail:
    dirlist_free(&dirs);
    dirlist_free(&files);
    dirlist_free(&paths);
    free(labels);
    ds_free(ds);
    return NULL;
}

/* ---- fer2013.csv ---- */

/* Split a line in place at commas; strips blanks and double quotes around
 * each field. Returns the number of fields (at most max). */
static int split_fields(char *line, char **f, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        char *e = strchr(p, ',');
        if (e)
            *e = 0;
        while (isspace((unsigned char)*p))
            p++;
        size_t l = strlen(p);
        while (l > 0 && isspace((unsigned char)p[l - 1]))
            p[--l] = 0;
        if (l >= 2 && p[0] == '"' && p[l - 1] == '"') {
            p[l - 1] = 0;
            p++;
        }
        if (n < max)
            f[n] = p;
        n++;
        if (!e)
            break;
        p = e + 1;
    }
    return n;
}

/* Parse a pixel row into px[FER_PIXELS]. Returns the number of values found,
 * or -1 with *bad pointing at the first bad token (and *bad_idx its index). */
static int parse_pixels(char *s, uint8_t *px, char **bad, int *bad_idx)
{
    int n = 0;
    char *p = s;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        char *tok = p;
        unsigned v = 0;
        int digits = 0;
        while (*p >= '0' && *p <= '9' && digits < 4) {
            v = v * 10 + (unsigned)(*p - '0');
            p++;
            digits++;
        }
        if (!digits || v > 255 || (*p && *p != ' ' && *p != '\t')) {
            char *end = tok;
            while (*end && *end != ' ' && *end != '\t')
                end++;
            *end = 0;
            *bad = tok;
            *bad_idx = n;
            return -1;
        }
        if (n < FER_PIXELS)
            px[n] = (uint8_t)v;
        n++;
    }
    return n;
}

static ds_dataset *load_csv(const char *path, const ds_load_opts *o)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        app_fail("%s: %s", path, strerror(errno));
        return NULL;
    }
    long total = 0;
    if (fseek(f, 0, SEEK_END) == 0) {
        total = ftell(f);
        rewind(f);
    }
    ds_dataset *ds = ds_alloc(o->w, o->h);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    uint8_t px[FER_PIXELS];
    if (!ds)
        goto fail;
    if (ds_set_classes(ds, ds_fer_classes, 7) < 0)
        goto fail;
    /* Rows are ~8 KB of text each: guess the count from the size so the
     * buffer rarely grows (it is trimmed to size at the end). */
    long guess = total / 7000 + 16;
    if (ds_reserve(ds, (int)(guess < 1 << 20 ? guess : 1 << 20)) < 0)
        goto fail;

    if ((len = getline(&line, &cap, f)) < 0) {
        app_fail("%s: empty file", path);
        goto fail;
    }
    /* Spreadsheet programs save CSV with a UTF-8 byte-order mark. */
    if (len >= 3 && !memcmp(line, "\xEF\xBB\xBF", 3))
        memmove(line, line + 3, (size_t)len - 2);
    char *hf[16];
    int nh = split_fields(line, hf, 16);
    int c_emo = -1, c_pix = -1, c_use = -1;
    for (int i = 0; i < nh && i < 16; i++) {
        char *h = hf[i];
        size_t l = strlen(h);
        while (l > 0 && (h[l - 1] == '\n' || h[l - 1] == '\r'))
            h[--l] = 0;
        if (!strcasecmp(h, "emotion"))
            c_emo = i;
        else if (!strcasecmp(h, "pixels"))
            c_pix = i;
        else if (!strcasecmp(h, "usage"))
            c_use = i;
    }
    if (c_emo < 0 || c_pix < 0) {
        app_fail("%s:1: expected a header with 'emotion' and 'pixels' columns "
                "(the fer2013.csv layout: emotion,pixels,Usage)", path);
        goto fail;
    }
    if (o->split && c_use < 0) {
        app_fail("%s:1: no 'Usage' column to select split '%s' by", path, o->split);
        goto fail;
    }
    int need = c_emo > c_pix ? c_emo : c_pix;
    if (c_use > need)
        need = c_use;
    need++;

    long lineno = 1, step = total / 100 > 0 ? total / 100 : 1, next_report = step;
    int rows_seen = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        if (o->progress && total > 0) {
            long pos = ftell(f);
            if (pos >= next_report) {
                o->progress(o->progress_user, (int)(pos / 1024), (int)(total / 1024));
                next_report = pos + step;
            }
        }
        if (len == 0)
            continue;
        char *fv[16];
        int nf = split_fields(line, fv, 16);
        if (nf < need) {
            add_problem(ds, "%s:%ld: expected %d fields, found %d", path, lineno,
                        need, nf);
            continue;
        }
        if (o->split && !split_match(o->split, fv[c_use]))
            continue;
        rows_seen++;
        char *end;
        errno = 0;
        long emo = strtol(fv[c_emo], &end, 10);
        if (end == fv[c_emo] || *end || errno) {
            add_problem(ds, "%s:%ld: bad emotion index '%s'", path, lineno, fv[c_emo]);
            continue;
        }
        if (emo < 0 || emo > 6) {
            add_problem(ds, "%s:%ld: emotion index %ld out of range 0..6", path,
                        lineno, emo);
            continue;
        }
        char *bad = NULL;
        int bad_idx = 0;
        int np = parse_pixels(fv[c_pix], px, &bad, &bad_idx);
        if (np < 0) {
            add_problem(ds, "%s:%ld: bad pixel value '%.32s' (pixel %d)", path,
                        lineno, bad, bad_idx + 1);
            continue;
        }
        if (np != FER_PIXELS) {
            add_problem(ds, "%s:%ld: expected %d pixels, found %d", path, lineno,
                        FER_PIXELS, np);
            continue;
        }
        if (ds->n == ds->cap && ds_reserve(ds, ds->cap * 2) < 0)
            goto fail;
        uint8_t *dst = ds_image(ds, ds->n);
        if (ds->w == FER_SIDE && ds->h == FER_SIDE) {
            memcpy(dst, px, FER_PIXELS);
        } else if (cvw_resize_gray(px, FER_SIDE, FER_SIDE, dst, ds->w, ds->h) < 0) {
            app_fail("%s:%ld: cannot resize: %s", path, lineno, cvw_error());
            goto fail;
        }
        ds->labels[ds->n++] = (int)emo;
    }
    if (ferror(f)) {
        app_fail("%s: read error", path);
        goto fail;
    }
    if (o->progress && total > 0)
        o->progress(o->progress_user, (int)(total / 1024), (int)(total / 1024));
    if (ds->n == 0) {
        if (o->split && rows_seen == 0)
            app_fail("%s: no rows with Usage '%s'", path, o->split);
        else if (ds->n_problems)
            app_fail("%s: no usable rows (first problem: %s)", path, ds->problems[0]);
        else
            app_fail("%s: no usable rows", path);
        goto fail;
    }
    free(line);
    fclose(f);
    ds_shrink(ds);
    return ds;
fail:
    free(line);
    fclose(f);
    ds_free(ds);
    return NULL;
}

ds_dataset *ds_load(const char *path, const ds_load_opts *opts)
{
    if (!path || !opts) {
        app_fail("ds_load: no path or options");
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
        return load_folder(path, opts);
    return load_csv(path, opts);
}

/* ---- class mapping ---- */

int ds_map_classes(ds_dataset *ds, const char *const *names, int count,
                   ds_class_map *map)
{
    if (count <= 0 || count > DS_MAX_CLASSES) {
        app_fail("%d target classes; expected 1..%d", count, DS_MAX_CLASSES);
        return -1;
    }
    ds_class_map local;
    if (!map)
        map = &local;
    memset(map, 0, sizeof *map);
    int to[DS_MAX_CLASSES], counts[DS_MAX_CLASSES];
    ds_class_counts(ds, counts);
    int matched = 0;
    for (int c = 0; c < ds->n_classes; c++) {
        to[c] = ds_class_find(names, count, ds->classes[c]);
        if (to[c] >= 0) {
            matched++;
        } else {
            memcpy(map->unmatched[map->n_unmatched], ds->classes[c], NN_NAME_MAX);
            map->unmatched_count[map->n_unmatched++] = counts[c];
            map->dropped += counts[c];
        }
    }
    for (int k = 0; k < count; k++) {
        int found = 0;
        for (int c = 0; c < ds->n_classes; c++)
            found |= to[c] == k;
        if (!found)
            snprintf(map->absent[map->n_absent++], NN_NAME_MAX, "%s", names[k]);
    }
    if (!matched) {
        char have[512] = "";
        for (int c = 0; c < ds->n_classes; c++) {
            size_t l = strlen(have);
            snprintf(have + l, sizeof have - l, "%s%s", c ? ", " : "", ds->classes[c]);
        }
        app_fail("none of the data's classes (%s) is among the model's", have);
        return -1;
    }
    unsigned char *keep = malloc(ds->n ? (size_t)ds->n : 1);
    if (!keep) {
        app_fail("out of memory");
        return -1;
    }
    for (int i = 0; i < ds->n; i++) {
        int t = to[ds->labels[i]];
        keep[i] = t >= 0;
        ds->labels[i] = t;
    }
    ds_compact(ds, keep);
    free(keep);
    for (int k = 0; k < count; k++)
        snprintf(ds->classes[k], NN_NAME_MAX, "%s", names[k]);
    ds->n_classes = count;
    return 0;
}

/* ---- splits, subsets, balance ---- */

void ds_class_counts(const ds_dataset *ds, int *counts)
{
    memset(counts, 0, (size_t)ds->n_classes * sizeof *counts);
    for (int i = 0; i < ds->n; i++)
        counts[ds->labels[i]]++;
}

/* Image indices grouped by class: idx[start[c] .. start[c+1]-1] are class
 * c's, in order. idx has ds->n entries, start n_classes+1. */
static void group_by_class(const ds_dataset *ds, int *idx, int *start)
{
    int pos[DS_MAX_CLASSES + 1];
    memset(start, 0, (size_t)(ds->n_classes + 1) * sizeof *start);
    for (int i = 0; i < ds->n; i++)
        start[ds->labels[i] + 1]++;
    for (int c = 0; c < ds->n_classes; c++)
        start[c + 1] += start[c];
    memcpy(pos, start, (size_t)(ds->n_classes + 1) * sizeof *pos);
    for (int i = 0; i < ds->n; i++)
        idx[pos[ds->labels[i]]++] = i;
}

/* Mark take[i] = 1 for quota[c] seeded random images of every class c. */
static int pick_per_class(const ds_dataset *ds, const int *quota, uint64_t seed,
                          unsigned char *take)
{
    int *idx = malloc((ds->n ? (size_t)ds->n : 1) * sizeof *idx);
    int start[DS_MAX_CLASSES + 1];
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
        for (int j = 0; j < quota[c] && j < m; j++)
            take[idx[start[c] + j]] = 1;
    }
    free(idx);
    return 0;
}

ds_dataset *ds_split(ds_dataset *ds, double share, uint64_t seed)
{
    if (!(share > 0 && share < 1)) {
        app_fail("validation share %g is not in (0, 1)", share);
        return NULL;
    }
    int counts[DS_MAX_CLASSES], quota[DS_MAX_CLASSES];
    ds_class_counts(ds, counts);
    for (int c = 0; c < ds->n_classes; c++)
        quota[c] = (int)(share * counts[c] + 0.5);
    const char *names[DS_MAX_CLASSES];
    for (int c = 0; c < ds->n_classes; c++)
        names[c] = ds->classes[c];
    int nval = 0;
    for (int c = 0; c < ds->n_classes; c++)
        nval += quota[c];
    ds_dataset *val = ds_create(ds->w, ds->h, names, ds->n_classes, nval);
    unsigned char *take = malloc(ds->n ? (size_t)ds->n : 1);
    if (!val || !take) {
        ds_free(val);
        free(take);
        app_fail("out of memory");
        return NULL;
    }
    /* Keep the names verbatim (ds_create normalised them). */
    memcpy(val->classes, ds->classes, sizeof ds->classes);
    if (pick_per_class(ds, quota, seed, take) < 0) {
        ds_free(val);
        free(take);
        return NULL;
    }
    for (int i = 0; i < ds->n; i++)
        if (take[i])
            ds_push(val, ds_image(ds, i), ds->labels[i]); /* capacity is enough */
    for (int i = 0; i < ds->n; i++)
        take[i] = !take[i];
    ds_compact(ds, take);
    free(take);
    return val;
}

int ds_limit(ds_dataset *ds, int n, uint64_t seed)
{
    if (n < 0) {
        app_fail("bad limit %d", n);
        return -1;
    }
    if (n >= ds->n)
        return 0;
    int counts[DS_MAX_CLASSES], quota[DS_MAX_CLASSES];
    double rem[DS_MAX_CLASSES];
    ds_class_counts(ds, counts);
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
    if (pick_per_class(ds, quota, seed, keep) < 0) {
        free(keep);
        return -1;
    }
    ds_compact(ds, keep);
    free(keep);
    return 0;
}

void ds_class_weights(const ds_dataset *ds, double power, float *w)
{
    int counts[DS_MAX_CLASSES];
    ds_class_counts(ds, counts);
    double raw[DS_MAX_CLASSES], sum = 0;
    for (int c = 0; c < ds->n_classes; c++) {
        raw[c] = counts[c] ? pow((double)counts[c], -power) : 0;
        sum += raw[c] * counts[c];
    }
    for (int c = 0; c < ds->n_classes; c++)
        w[c] = sum > 0 ? (float)(raw[c] * ds->n / sum) : 0.f;
}

void ds_epoch_order(const ds_dataset *ds, const float *class_w, uint64_t *rng,
                    int *order, int n)
{
    if (!class_w) {
        for (int i = 0; i < n; i++)
            order[i] = i < ds->n ? i : i % (ds->n ? ds->n : 1);
        rng_shuffle(order, n, rng);
        return;
    }
    int counts[DS_MAX_CLASSES], start[DS_MAX_CLASSES + 1];
    double cum[DS_MAX_CLASSES], total = 0;
    ds_class_counts(ds, counts);
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
