/* elog.c - JSON-lines and CSV frame logs; see elog.h. */
#include "elog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <math.h>

#include "app_err.h"
#include "csvw.h"
#include "jsonw.h"
#include "outpath.h"

struct elog {
    FILE *f;
    outpath_file out; /* f beside its place until elog_place (not for "-") */
    int out_open;
    char path[4096];
    int csv;
    int with_file;
    int k;
    /* Escaped for the format; a JSON escape is at most 6 bytes a byte. */
    char names[NN_MAX_CLASSES][NN_NAME_MAX * 6 + 3];
    char *session; /* the first record's "session" member, or NULL */
};

/* Class names are short identifiers, but a model's own may hold anything
 * its class folder's name did: JSON escapes them through jsonw (quotes
 * included, invalid UTF-8 replaced); CSV keeps commas and quotes, quoted
 * where written (csvw), so its rows name the classes as the model and the
 * report do, and only a control character (a line end would split a row)
 * becomes '_'. */
static void escape(char *dst, size_t len, const char *src, int csv)
{
    if (!csv) {
        jsonw_escape(dst, len, src);
        return;
    }
    size_t j = 0;
    for (; *src && j + 1 < len; src++) {
        unsigned char c = (unsigned char)*src;
        dst[j++] = (c < 0x20 || c == 0x7F) ? '_' : (char)c;
    }
    dst[j] = 0;
}

elog *elog_open(const char *path, const char *const *names, int k, int with_file)
{
    const char *dot = strrchr(path, '.');
    int csv = dot && !strcasecmp(dot, ".csv");
    if (k > NN_MAX_CLASSES)
        k = NN_MAX_CLASSES;
    elog *l = calloc(1, sizeof *l);
    if (!l)
        return app_fail_null("out of memory");
    /* "-": standard output, a stream to another program (JSON lines). */
    int out = !strcmp(path, "-");
    if (out)
        csv = 0;
    if (out) {
        l->f = stdout;
    } else if ((l->f = outpath_open(&l->out, path))) {
        l->out_open = 1;
    } else {
        char why[512]; /* app_fail must not read the buffer it writes */
        snprintf(why, sizeof why, "%s", app_error());
        app_fail("log: %s", why);
        free(l);
        return NULL;
    }
    snprintf(l->path, sizeof l->path, "%s", path);
    l->csv = csv;
    l->with_file = with_file;
    l->k = k;
    for (int i = 0; i < k; i++)
        escape(l->names[i], sizeof l->names[i], names[i] ? names[i] : "?", csv);
    if (csv) {
        fputs(with_file ? "frame,file,t_ms,id,x,y,w,h,emotion,confidence"
                        : "frame,t_ms,id,x,y,w,h,emotion,confidence", l->f);
        for (int i = 0; i < k; i++) {
            fputc(',', l->f);
            csvw_field2(l->f, "p_", l->names[i]);
        }
        fputs(",hint,calibrated", l->f);
        fputc('\n', l->f);
        fflush(l->f);
    }
    return l;
}

/* A probability: JSON has no NaN or infinity, so those are null (JSON)
 * or an empty field (CSV); a model that gives them is refused at load, so
 * this is the last line of defence. */
static void num(FILE *f, double v, int csv)
{
    if (isfinite(v))
        fprintf(f, "%.4f", v);
    else if (!csv)
        fputs("null", f);
}

/* A CSV row's last fields and its end: the frame's hint (a fixed name of
 * hints.c, no comma or quote in it; empty without one) and whether the
 * face's probabilities are calibrated (1 or 0; empty without a face). */
static void csv_tail(FILE *f, const pipeline_result *r, const pipeline_face *fc)
{
    fprintf(f, ",%s,%s\n", r->hint ? r->hint : "", fc ? (fc->calibrated ? "1" : "0") : "");
}

/* The frame number and, in a log of images, the file: the start of every
 * CSV row, up to the comma before t_ms. */
static void csv_frame(const elog *l, long frame, const char *file)
{
    fprintf(l->f, "%ld,", frame);
    if (!l->with_file)
        return;
    csvw_field(l->f, file ? file : "");
    fputc(',', l->f);
}

int elog_frame(elog *l, long frame, double t_ms, const char *file, const pipeline_result *r)
{
    FILE *f = l->f;
    if (l->csv) {
        /* Every row has the header's fields, a frame without faces too
         * (its face fields empty). */
        if (r->n == 0) {
            csv_frame(l, frame, file);
            fprintf(f, "%.1f,,,,,,,", t_ms);
            for (int c = 0; c < l->k; c++)
                fputc(',', f);
            csv_tail(f, r, NULL);
        }
        for (int i = 0; i < r->n; i++) {
            const pipeline_face *fc = &r->faces[i];
            csv_frame(l, frame, file);
            fprintf(f, "%.1f,%d,%d,%d,%d,%d,", t_ms, fc->id, fc->box.x, fc->box.y, fc->box.w,
                    fc->box.h);
            csvw_field(f, l->names[fc->cls]);
            fputc(',', f);
            num(f, fc->conf, 1);
            for (int c = 0; c < l->k; c++) {
                fputc(',', f);
                num(f, fc->probs[c], 1);
            }
            csv_tail(f, r, fc);
        }
    } else {
        fprintf(f, "{\"frame\":%ld,", frame);
        if (l->with_file) {
            char esc[4096 * 6 + 3];
            jsonw_escape(esc, sizeof esc, file ? file : "");
            fprintf(f, "\"file\":%s,", esc);
        }
        fprintf(f, "\"t_ms\":%.1f,\"faces\":[", t_ms);
        for (int i = 0; i < r->n; i++) {
            const pipeline_face *fc = &r->faces[i];
            fprintf(f, "%s{\"id\":%d,\"box\":[%d,%d,%d,%d],\"emotion\":%s,\"confidence\":",
                    i ? "," : "", fc->id, fc->box.x, fc->box.y, fc->box.w, fc->box.h,
                    l->names[fc->cls]);
            num(f, fc->conf, 0);
            fputs(",\"probs\":{", f);
            for (int c = 0; c < l->k; c++) {
                fprintf(f, "%s%s:", c ? "," : "", l->names[c]);
                num(f, fc->probs[c], 0);
            }
            fputs(fc->calibrated ? "},\"calibrated\":true}" : "}}", f);
        }
        fputc(']', f);
        if (r->hint) /* a fixed text of hints.c: nothing to escape */
            fprintf(f, ",\"hint\":\"%s\"", r->hint);
        if (l->session) {
            fprintf(f, ",\"session\":%s", l->session);
            free(l->session);
            l->session = NULL;
        }
        fputs("}\n", f);
    }
    return (fflush(f) == 0 && !ferror(f)) ? 0 : -1;
}

void elog_session(elog *l, const char *source, const char *model)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = l->csv ? NULL : open_memstream(&buf, &len);
    if (!m)
        return; /* out of memory: the log goes on without it */
    fputs("{\"source\":", m);
    jsonw_string(m, source ? source : "");
    fputs(",\"model\":", m);
    jsonw_string(m, model ? model : "");
    /* The classes, for a log without faces: --from-log read them only
     * from faces' probabilities, so its report of a faceless run lacked
     * the per-class columns the run's own report has. */
    fputs(",\"classes\":[", m);
    for (int c = 0; c < l->k; c++)
        fprintf(m, "%s%s", c ? "," : "", l->names[c]);
    fputs("]}", m);
    if (fclose(m) == 0) {
        free(l->session);
        l->session = buf;
    } else {
        free(buf);
    }
}

int elog_place(elog *l)
{
    return l && l->out_open ? outpath_place_new(&l->out) : 0;
}

int elog_close(elog *l)
{
    if (!l)
        return 0;
    free(l->session);
    int rc = l->out_open ? outpath_commit(&l->out) : outpath_close_checked(l->f, l->path);
    free(l);
    return rc;
}

void elog_discard(elog *l)
{
    if (!l)
        return;
    free(l->session);
    if (l->out_open)
        outpath_abort(&l->out);
    else
        fclose(l->f);
    free(l);
}
