/*
 * dataset_csv.c - fer2013.csv loaded into a data set.
 *
 * Format: a header naming at least the columns emotion and pixels (any
 * order, any case; a UTF-8 byte-order mark is skipped), optionally Usage;
 * then one row per face: emotion an index 0..6 into dataset_fer_classes, pixels
 * 48*48 gray values 0..255 separated by blanks, Usage a split name
 * (Training, PublicTest, PrivateTest). Fields may be quoted. A bad row is
 * a problem (with its line number), not an error.
 */
#include "dataset_impl.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "app_err.h"
#include "cvw.h"

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

/* Parse a pixel row into px[DATASET_FER_PIXELS]. Returns the number of values found,
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
        if (n < DATASET_FER_PIXELS)
            px[n] = (uint8_t)v;
        n++;
    }
    return n;
}

/* The columns a fer2013.csv header names (-1: absent). */
typedef struct csv_cols {
    int emo, pix, use, need; /* need: fields a row must have */
    const char *split;       /* the Usage rows must have; NULL: all rows */
} csv_cols;

static int read_header(char *line, ssize_t len, const char *path, const dataset_load_opts *o,
                       csv_cols *c)
{
    /* Spreadsheet programs save CSV with a UTF-8 byte-order mark. */
    if (len >= 3 && !memcmp(line, "\xEF\xBB\xBF", 3))
        line += 3;
    /* Lines ended by CR alone (classic Mac OS) are one line to getline:
     * the file read as a header and no rows, or as lacking a Usage column. */
    const char *cr = strchr(line, '\r');
    if (cr && cr[1] && cr[1] != '\n')
        return app_fail("%s: its lines end in a carriage return alone (an old Mac text file); "
                        "save it with LF or CRLF line ends", path);
    char *hf[16];
    int nh = split_fields(line, hf, 16);
    c->emo = c->pix = c->use = -1;
    for (int i = 0; i < nh && i < 16; i++) {
        char *h = hf[i];
        size_t l = strlen(h);
        while (l > 0 && (h[l - 1] == '\n' || h[l - 1] == '\r'))
            h[--l] = 0;
        if (!strcasecmp(h, "emotion"))
            c->emo = i;
        else if (!strcasecmp(h, "pixels"))
            c->pix = i;
        else if (!strcasecmp(h, "usage"))
            c->use = i;
    }
    /* A spreadsheet of a comma-decimal locale saves with ';' */
    const char sep = nh == 1 ? (strchr(hf[0], ';') ? ';' : strchr(hf[0], '\t') ? '\t' : 0) : 0;
    if ((c->emo < 0 || c->pix < 0) && sep)
        return app_fail("%s:1: fields separated by %s, not commas: save it comma-separated "
                        "(the fer2013.csv layout: emotion,pixels,Usage)", path,
                        sep == ';' ? "';'" : "tabs");
    if (c->emo < 0 || c->pix < 0)
        return app_fail("%s:1: expected a header with 'emotion' and 'pixels' columns "
                        "(the fer2013.csv layout: emotion,pixels,Usage)", path);
    c->split = o->split && strcasecmp(o->split, "all") ? o->split : NULL;
    if (c->split && c->use < 0) {
        if (!o->split_is_default)
            return app_fail("%s:1: no 'Usage' column to select split '%s' by (--split all takes every row)",
                            path, o->split);
        c->split = NULL; /* nothing to choose by: every row */
    }
    c->need = c->emo > c->pix ? c->emo : c->pix;
    if (c->use > c->need)
        c->need = c->use;
    c->need++;
    return 0;
}

/* What became of a row: ROW_SHORT and ROW_OTHER_SPLIT rows do not count
 * as rows of the wanted split. */
enum { ROW_ADDED, ROW_SKIPPED, ROW_SHORT, ROW_OTHER_SPLIT, ROW_ERROR };

/* One data row (newline stripped, not empty) into ds. */
static int read_row(dataset *ds, char *line, const csv_cols *c, const char *path,
                    long lineno)
{
    uint8_t px[DATASET_FER_PIXELS];
    char *fv[16];
    int nf = split_fields(line, fv, 16);
    if (nf < c->need) {
        dataset__add_problem(ds, "%s:%ld: expected %d fields, found %d", path, lineno, c->need, nf);
        return ROW_SHORT;
    }
    if (c->split && !dataset__split_match(c->split, fv[c->use]))
        return ROW_OTHER_SPLIT;
    char *end;
    errno = 0;
    long emo = strtol(fv[c->emo], &end, 10);
    if (end == fv[c->emo] || *end || errno) {
        dataset__add_problem(ds, "%s:%ld: bad emotion index '%s'", path, lineno, fv[c->emo]);
        return ROW_SKIPPED;
    }
    if (emo < 0 || emo >= DATASET_FER_CLASSES) {
        dataset__add_problem(ds, "%s:%ld: emotion index %ld out of range 0..%d", path, lineno, emo,
                        DATASET_FER_CLASSES - 1);
        return ROW_SKIPPED;
    }
    char *bad = NULL;
    int bad_idx = 0;
    int np = parse_pixels(fv[c->pix], px, &bad, &bad_idx);
    if (np < 0) {
        dataset__add_problem(ds, "%s:%ld: bad pixel value '%.32s' (pixel %d)", path, lineno, bad,
                        bad_idx + 1);
        return ROW_SKIPPED;
    }
    if (np != DATASET_FER_PIXELS) {
        dataset__add_problem(ds, "%s:%ld: expected %d pixels, found %d", path, lineno,
                        DATASET_FER_PIXELS, np);
        return ROW_SKIPPED;
    }
    if (ds->n == ds->cap && dataset__reserve(ds, ds->cap * 2) < 0)
        return ROW_ERROR;
    uint8_t *dst = dataset_image(ds, ds->n);
    if (ds->w == DATASET_FER_SIDE && ds->h == DATASET_FER_SIDE) {
        memcpy(dst, px, DATASET_FER_PIXELS);
    } else if (cvw_resize_gray(px, DATASET_FER_SIDE, DATASET_FER_SIDE, dst, ds->w, ds->h) < 0) {
        app_fail("%s:%ld: cannot resize: %s", path, lineno, cvw_error());
        return ROW_ERROR;
    }
    ds->labels[ds->n++] = (int)emo;
    return ROW_ADDED;
}

/* How many rows were read, and what became of them (for the message when
 * none is usable). */
typedef struct row_counts {
    int rows;       /* non-blank rows after the header */
    int seen;       /* rows of the wanted split (not short) */
    int short_rows; /* rows with too few fields, whatever their split */
} row_counts;

/* Every row after the header; the file's size paces the progress. */
static int read_rows(dataset *ds, FILE *f, long total, const csv_cols *c, const char *path,
                     const dataset_load_opts *o, row_counts *n)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 1, step = total / 100 > 0 ? total / 100 : 1, next_report = step;
    int rc = 0;
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
        int r = read_row(ds, line, c, path, lineno);
        if (r == ROW_ERROR) {
            rc = -1;
            break;
        }
        n->rows++;
        n->short_rows += r == ROW_SHORT;
        n->seen += r != ROW_OTHER_SPLIT && r != ROW_SHORT;
    }
    free(line);
    if (!rc && ferror(f))
        rc = app_fail("%s: read error", path);
    return rc;
}

dataset *dataset__load_csv(const char *path, const dataset_load_opts *o)
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
    dataset *ds = dataset__alloc(o->w, o->h);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    csv_cols cols;
    row_counts counts = {0};
    if (!ds || dataset__set_classes(ds, dataset_fer_classes, DATASET_FER_CLASSES) < 0)
        goto fail;
    /* Rows are ~8 KB of text each: guess the count from the size so the
     * buffer rarely grows (it is trimmed to size at the end). */
    long guess = total / 7000 + 16;
    if (dataset__reserve(ds, (int)(guess < 1 << 20 ? guess : 1 << 20)) < 0)
        goto fail;
    if ((len = getline(&line, &cap, f)) < 0) {
        app_fail("%s: empty file", path);
        goto fail;
    }
    if (read_header(line, len, path, o, &cols) < 0 ||
        read_rows(ds, f, total, &cols, path, o, &counts) < 0)
        goto fail;
    if (o->progress && total > 0)
        o->progress(o->progress_user, (int)(total / 1024), (int)(total / 1024));
    if (ds->n == 0) {
        /* Short rows have no Usage to tell their split by: when all are
         * short, they are the problem, not the split (a missing column
         * said "no rows with Usage 'Training'"). */
        if (counts.rows == 0)
            app_fail("%s: a header and no rows", path);
        else if (cols.split && counts.seen == 0 && counts.rows > counts.short_rows)
            app_fail("%s: no rows with Usage '%s'", path, cols.split);
        else if (ds->n_problems)
            app_fail("%s: no usable rows (first problem: %s)", path, ds->problems[0]);
        else
            app_fail("%s: no usable rows", path);
        goto fail;
    }
    free(line);
    fclose(f);
    dataset__shrink(ds);
    return ds;
fail:
    free(line);
    fclose(f);
    dataset_free(ds);
    return NULL;
}
