/* elog.c - JSON-lines and CSV frame logs; see elog.h. */
#include "elog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct elog {
    FILE *f;
    int csv;
    int k;
    char names[NN_MAX_CLASSES][NN_NAME_MAX * 2]; /* escaped for the format */
};

/* Class names are short identifiers, but escape anyway so a model with odd
 * names cannot break the log's syntax. */
static void escape(char *dst, size_t len, const char *src, int csv)
{
    size_t j = 0;
    for (; *src && j + 7 < len; src++) {
        unsigned char c = (unsigned char)*src;
        if (csv) {
            dst[j++] = (c == ',' || c == '"' || c < 0x20) ? '_' : (char)c;
        } else if (c == '"' || c == '\\') {
            dst[j++] = '\\';
            dst[j++] = (char)c;
        } else if (c < 0x20) {
            j += (size_t)snprintf(dst + j, len - j, "\\u%04x", c);
        } else {
            dst[j++] = (char)c;
        }
    }
    dst[j] = 0;
}

elog *elog_open(const char *path, const char *const *names, int k, char *err, size_t errlen)
{
    const char *dot = strrchr(path, '.');
    int csv = dot && !strcasecmp(dot, ".csv");
    if (k > NN_MAX_CLASSES)
        k = NN_MAX_CLASSES;
    elog *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    l->f = fopen(path, "w");
    if (!l->f) {
        snprintf(err, errlen, "log '%s': cannot write: %s", path, strerror(errno));
        free(l);
        return NULL;
    }
    l->csv = csv;
    l->k = k;
    for (int i = 0; i < k; i++)
        escape(l->names[i], sizeof l->names[i], names[i] ? names[i] : "?", csv);
    if (csv) {
        fputs("frame,t_ms,id,x,y,w,h,emotion,confidence", l->f);
        for (int i = 0; i < k; i++)
            fprintf(l->f, ",p_%s", l->names[i]);
        fputc('\n', l->f);
        fflush(l->f);
    }
    return l;
}

int elog_frame(elog *l, long frame, double t_ms, const pl_result *r)
{
    FILE *f = l->f;
    if (l->csv) {
        if (r->n == 0)
            fprintf(f, "%ld,%.1f,,,,,,,\n", frame, t_ms);
        for (int i = 0; i < r->n; i++) {
            const pl_face *fc = &r->faces[i];
            fprintf(f, "%ld,%.1f,%d,%d,%d,%d,%d,%s,%.4f", frame, t_ms, fc->id, fc->box.x,
                    fc->box.y, fc->box.w, fc->box.h, l->names[fc->cls], fc->conf);
            for (int c = 0; c < l->k; c++)
                fprintf(f, ",%.4f", fc->probs[c]);
            fputc('\n', f);
        }
    } else {
        fprintf(f, "{\"frame\":%ld,\"t_ms\":%.1f,\"faces\":[", frame, t_ms);
        for (int i = 0; i < r->n; i++) {
            const pl_face *fc = &r->faces[i];
            fprintf(f, "%s{\"id\":%d,\"box\":[%d,%d,%d,%d],\"emotion\":\"%s\",\"confidence\":%.4f,"
                       "\"probs\":{",
                    i ? "," : "", fc->id, fc->box.x, fc->box.y, fc->box.w, fc->box.h,
                    l->names[fc->cls], fc->conf);
            for (int c = 0; c < l->k; c++)
                fprintf(f, "%s\"%s\":%.4f", c ? "," : "", l->names[c], fc->probs[c]);
            fputs("}}", f);
        }
        fputs("]}\n", f);
    }
    return (fflush(f) == 0 && !ferror(f)) ? 0 : -1;
}

int elog_close(elog *l)
{
    if (!l)
        return 0;
    int bad = ferror(l->f) != 0;
    bad |= fclose(l->f) != 0;
    free(l);
    return bad ? -1 : 0;
}
