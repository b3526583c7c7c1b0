/* sreport_write.c - the session report's writing half (see sreport.h):
 * figures per track, the pictures through cvw_session.h, the tables and
 * the page built in memory and written whole through outpath. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app_err.h"
#include "csvw.h"
#include "cvw.h"
#include "cvw_session.h"
#include "jsonw.h"
#include "outpath.h"
#include "sreport_internal.h"

const char *const sreport_file_names[SREPORT_N_FILES] = {"timeline.png", "faces.png", "summary.json",
                                               "summary.csv", "index.html"};

/* ---- figures ------------------------------------------------------------ */

/* Colours: each emotion its usual one where the name is known, else the
 * next of a qualitative palette that no class of the session has yet (a
 * model's own classes beside known ones, or more than ten, would otherwise
 * share a colour, and the timeline's lines would be told apart by nothing).
 * Dark enough to read on white. rgb[0..k) receives them. */
static void class_colours(const sreport_session *s, uint32_t *rgb)
{
    static const struct {
        const char *name;
        uint32_t rgb;
    } known[] = {
        {"angry", 0xd62728}, {"disgust", 0x6b8e23}, {"fear", 0x9467bd}, {"happy", 0xe6a100},
        {"sad", 0x1f77b4}, {"surprise", 0x17becf}, {"neutral", 0x7f7f7f}, {"contempt", 0x8c564b},
    };
    /* Ten strong colours, then their light and some dark relatives (the
     * Tableau 10 and 20 sets), which the eye still tells apart. */
    static const uint32_t palette[] = {
        0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd, 0x8c564b, 0xe377c2, 0x7f7f7f,
        0xbcbd22, 0x17becf, 0xaec7e8, 0xffbb78, 0x98df8a, 0xff9896, 0xc5b0d5, 0xc49c94,
        0xf7b6d2, 0xc7c7c7, 0xdbdb8d, 0x9edae5, 0x393b79, 0x637939, 0x8c6d31, 0x843c39,
        0x7b4173};
    int n_pal = (int)(sizeof palette / sizeof *palette);
    for (int c = 0; c < s->k; c++) {
        rgb[c] = UINT32_MAX; /* not yet given */
        for (size_t i = 0; i < sizeof known / sizeof *known; i++)
            if (!strcmp(s->names[c], known[i].name))
                rgb[c] = known[i].rgb;
    }
    int next = 0;
    for (int c = 0; c < s->k; c++) {
        while (rgb[c] == UINT32_MAX) {
            uint32_t cand;
            if (next < n_pal) {
                cand = palette[next];
            } else {
                /* Past the palette: hues a golden angle apart, at three
                 * darknesses, so neighbours differ. */
                int i = next - n_pal;
                double h = fmod(i * 137.508, 360.0) / 60.0, v = 0.85 - 0.2 * (i % 3), sat = 0.8;
                double f = h - floor(h), p = v * (1 - sat), q = v * (1 - sat * f),
                       t = v * (1 - sat * (1 - f)), r, g, b;
                switch ((int)h % 6) {
                case 0: r = v, g = t, b = p; break;
                case 1: r = q, g = v, b = p; break;
                case 2: r = p, g = v, b = t; break;
                case 3: r = p, g = q, b = v; break;
                case 4: r = t, g = p, b = v; break;
                default: r = v, g = p, b = q; break;
                }
                cand = (uint32_t)lround(r * 255) << 16 | (uint32_t)lround(g * 255) << 8 |
                       (uint32_t)lround(b * 255);
            }
            next++;
            int taken = 0;
            for (int o = 0; o < s->k && !taken; o++)
                taken = rgb[o] == cand;
            if (!taken)
                rgb[c] = cand;
        }
    }
}

static int dominant(const sreport_session *s, const track *t)
{
    int best = 0;
    for (int c = 1; c < s->k; c++)
        if (t->cls_count[c] > t->cls_count[best])
            best = c;
    return best;
}

/* Seconds the frames span; NaN for pictures, whose times are only their
 * numbers (a second each), not a duration. */
static double duration(const sreport_session *s)
{
    if (s->with_files)
        return NAN;
    return s->frames > 1 ? (s->last_t - s->first_t) * s->frames / (s->frames - 1) : 0;
}

/* Track order for the pictures: most frames first (then lower id). */
static const sreport_session *sort_ctx;
static int by_frames(const void *a, const void *b)
{
    const track *x = &sort_ctx->tracks[*(const int *)a], *y = &sort_ctx->tracks[*(const int *)b];
    if (x->frames != y->frames)
        return x->frames > y->frames ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}
static int by_id(const void *a, const void *b)
{
    const track *x = &sort_ctx->tracks[*(const int *)a], *y = &sort_ctx->tracks[*(const int *)b];
    return (x->id > y->id) - (x->id < y->id);
}

/* Indices of the tracks to show, at most max, the longest-seen, in id
 * order. Returns how many. */
static int pick_tracks(const sreport_session *s, int *idx, int max)
{
    int *all = malloc(sizeof *all * (size_t)(s->n_tracks ? s->n_tracks : 1));
    if (!all)
        return -1;
    for (int i = 0; i < s->n_tracks; i++)
        all[i] = i;
    sort_ctx = s;
    qsort(all, (size_t)s->n_tracks, sizeof *all, by_frames);
    int n = s->n_tracks < max ? s->n_tracks : max;
    memcpy(idx, all, sizeof *idx * (size_t)n);
    qsort(idx, (size_t)n, sizeof *idx, by_id);
    free(all);
    return n;
}

static int write_timeline(const sreport_session *s, const char *path)
{
    int idx[SREPORT_MAX_ROWS];
    int n = pick_tracks(s, idx, SREPORT_MAX_ROWS);
    if (n < 0)
        return app_fail("out of memory");
    cvw_timeline_row rows[SREPORT_MAX_ROWS];
    char labels[SREPORT_MAX_ROWS][32], subs[SREPORT_MAX_ROWS][NN_NAME_MAX + 32];
    uint32_t rgb[NN_MAX_CLASSES];
    class_colours(s, rgb);
    int rc = 0;
    memset(rows, 0, sizeof rows);
    for (int r = 0; r < n && rc == 0; r++) {
        const track *t = &s->tracks[idx[r]];
        int d = dominant(s, t);
        snprintf(labels[r], sizeof labels[r], "face %d", t->id);
        snprintf(subs[r], sizeof subs[r], "%s %.0f%%", s->names[d],
                 100.0 * t->cls_count[d] / t->frames);
        float *tt = malloc(sizeof *tt * (size_t)t->frames);
        float *pp = malloc(sizeof *pp * (size_t)t->frames * s->k);
        int *band = malloc(sizeof *band * (size_t)t->frames);
        rows[r] = (cvw_timeline_row){labels[r], subs[r], tt, pp, band, 0};
        if (!tt || !pp || !band) {
            rc = app_fail("out of memory");
            break;
        }
        /* The track's samples, smoothed by a centred half-second mean. */
        long m = 0;
        long *at = malloc(sizeof *at * (size_t)t->frames);
        if (!at) {
            rc = app_fail("out of memory");
            break;
        }
        for (long i = 0; i < s->n && m < t->frames; i++)
            if (s->s[i].id == t->id)
                at[m++] = i;
        long lo = 0, hi = 0;
        for (long j = 0; j < m; j++) {
            double tj = s->s[at[j]].t;
            while (s->s[at[lo]].t < tj - 0.25)
                lo++;
            while (hi + 1 < m && s->s[at[hi + 1]].t <= tj + 0.25)
                hi++;
            int best = 0;
            for (int c = 0; c < s->k; c++) {
                double sum = 0;
                int cnt = 0;
                for (long q = lo; q <= hi; q++) {
                    float v = s->probs[(size_t)at[q] * s->k + c];
                    if (isfinite(v))
                        sum += v, cnt++;
                }
                pp[(size_t)j * s->k + c] = cnt ? (float)(sum / cnt) : NAN;
                if (pp[(size_t)j * s->k + c] > pp[(size_t)j * s->k + best])
                    best = c;
            }
            tt[j] = (float)(tj - s->first_t);
            band[j] = best;
        }
        rows[r].n = (int)m;
        free(at);
    }
    if (rc == 0) {
        char title[128];
        snprintf(title, sizeof title, "Emotions over time%s",
                 s->n_tracks > n ? " (the longest-seen faces)" : "");
        /* A face away for more than a second (or 3 frames) breaks its line. */
        /* Pictures are drawn a second apart, by their numbers. */
        double span = s->with_files ? (double)s->frames : duration(s);
        double fps = span > 0 ? s->frames / span : 1;
        double gap = fmax(1.0, 3.0 / fps);
        static const char *const none[1] = {"?"};
        static const uint32_t grey[1] = {0x7f7f7f};
        if (cvw_draw_timeline(path, title, rows, n, s->k ? s->name_ptrs : none,
                              s->k ? rgb : grey, s->k ? s->k : 1, 0, span, gap,
                              1.0 / fps) != 0)
            rc = app_fail("%s", cvw_error());
    }
    for (int r = 0; r < n; r++) {
        free((void *)rows[r].t);
        free((void *)rows[r].p);
        free((void *)rows[r].band);
    }
    return rc;
}

static int write_faces(const sreport_session *s, const char *path)
{
    int idx[SREPORT_MAX_TILES];
    int n = pick_tracks(s, idx, SREPORT_MAX_TILES);
    if (n < 0)
        return app_fail("out of memory");
    cvw_tile tiles[SREPORT_MAX_TILES];
    char l1[SREPORT_MAX_TILES][32], l2[SREPORT_MAX_TILES][NN_NAME_MAX + 32];
    uint32_t rgb[NN_MAX_CLASSES];
    class_colours(s, rgb);
    int m = 0;
    for (int i = 0; i < n; i++) {
        const track *t = &s->tracks[idx[i]];
        if (!t->crop)
            continue;
        int d = dominant(s, t);
        snprintf(l1[m], sizeof l1[m], "face %d", t->id);
        snprintf(l2[m], sizeof l2[m], "%s %.0f%%", s->names[d], 100.0 * t->cls_count[d] / t->frames);
        tiles[m] = (cvw_tile){t->crop, t->crop_w, t->crop_h, l1[m], l2[m], rgb[d]};
        m++;
    }
    if (cvw_draw_contact_sheet(path, "Each face at its most confident frame", tiles, m) != 0)
        return app_fail("%s", cvw_error());
    return 0;
}

/* ---- tables and page ------------------------------------------------------ */

/* Built in memory, then written whole (outpath_write_mem). */
typedef struct membuf {
    char *buf;
    size_t len;
    FILE *f;
} membuf;

static FILE *mb_open(membuf *m)
{
    m->buf = NULL;
    m->len = 0;
    m->f = open_memstream(&m->buf, &m->len);
    return m->f;
}

static int mb_commit(membuf *m, const char *path)
{
    int rc = 0;
    if (fclose(m->f) != 0)
        rc = app_fail("%s: out of memory", path);
    else
        rc = outpath_write_mem(path, m->buf, m->len);
    free(m->buf);
    return rc;
}

static void json_num(FILE *f, double v, int dec)
{
    if (isfinite(v))
        fprintf(f, "%.*f", dec, v);
    else
        fputs("null", f);
}

static int write_json(const sreport_session *s, const char *path)
{
    membuf m;
    FILE *f = mb_open(&m);
    if (!f)
        return app_fail("out of memory");
    double dur = duration(s);
    fputs("{\n  \"source\": ", f);
    jsonw_string(f, s->source ? s->source : "");
    fputs(",\n  \"model\": ", f);
    jsonw_string(f, s->model ? s->model : "");
    fprintf(f, ",\n  \"frames\": %ld,\n  ", s->frames);
    if (s->with_files)
        fprintf(f, "\"pictures\": %ld,\n  ", s->frames);
    fputs("\"duration_s\": ", f);
    json_num(f, dur, 3);
    fputs(",\n  \"fps\": ", f);
    json_num(f, dur > 0 ? s->frames / dur : NAN, 3);
    fputs(",\n  \"classes\": [", f);
    for (int c = 0; c < s->k; c++) {
        fputs(c ? ", " : "", f);
        jsonw_string(f, s->names[c]);
    }
    fputs("],\n  \"tracks\": [", f);
    for (int i = 0; i < s->n_tracks; i++) {
        const track *t = &s->tracks[i];
        fprintf(f, "%s\n    {\"id\": %d, \"first_s\": ", i ? "," : "", t->id);
        json_num(f, t->first - s->first_t, 3);
        fputs(", \"last_s\": ", f);
        json_num(f, t->last - s->first_t, 3);
        fprintf(f, ", \"frames\": %ld, \"dominant\": ", t->frames);
        jsonw_string(f, s->names[dominant(s, t)]);
        fputs(", \"mean_confidence\": ", f);
        json_num(f, t->conf_sum / t->frames, 4);
        fprintf(f, ", \"best_frame\": %ld, \"best_confidence\": ", t->best_frame);
        json_num(f, t->best_conf, 4);
        fputs(",\n     \"share\": {", f);
        for (int c = 0; c < s->k; c++) {
            fputs(c ? ", " : "", f);
            jsonw_string(f, s->names[c]);
            fputs(": ", f);
            json_num(f, (double)t->cls_count[c] / t->frames, 6);
        }
        fputs("}}", f);
    }
    fputs(s->n_tracks ? "\n  ]\n}\n" : "]\n}\n", f);
    return mb_commit(&m, path);
}

static void csv_num(FILE *f, double v, int dec)
{
    if (isfinite(v))
        fprintf(f, "%.*f", dec, v);
}

static int write_csv(const sreport_session *s, const char *path)
{
    membuf m;
    FILE *f = mb_open(&m);
    if (!f)
        return app_fail("out of memory");
    fputs("id,first_s,last_s,frames,dominant,mean_confidence,best_frame", f);
    for (int c = 0; c < s->k; c++) {
        fputc(',', f);
        csvw_field2(f, "share_", s->names[c]);
    }
    fputs(",source,model,session_frames,duration_s,fps\n", f);
    double dur = duration(s);
    for (int i = 0; i < (s->n_tracks ? s->n_tracks : 1); i++) {
        if (s->n_tracks) {
            const track *t = &s->tracks[i];
            fprintf(f, "%d,", t->id);
            csv_num(f, t->first - s->first_t, 3);
            fputc(',', f);
            csv_num(f, t->last - s->first_t, 3);
            fprintf(f, ",%ld,", t->frames);
            csvw_field(f, s->names[dominant(s, t)]);
            fputc(',', f);
            csv_num(f, t->conf_sum / t->frames, 4);
            fprintf(f, ",%ld", t->best_frame);
            for (int c = 0; c < s->k; c++) {
                fputc(',', f);
                csv_num(f, (double)t->cls_count[c] / t->frames, 6);
            }
        } else {
            fputs(",,,,,,", f);
            for (int c = 0; c < s->k; c++)
                fputc(',', f);
        }
        fputc(',', f);
        csvw_field(f, s->source ? s->source : "");
        fputc(',', f);
        csvw_field(f, s->model ? s->model : "");
        fprintf(f, ",%ld,", s->frames);
        csv_num(f, dur, 3);
        fputc(',', f);
        csv_num(f, dur > 0 ? s->frames / dur : NAN, 3);
        fputc('\n', f);
    }
    return mb_commit(&m, path);
}

static void html_text(FILE *f, const char *v)
{
    for (; v && *v; v++) {
        switch (*v) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*v, f);
        }
    }
}

static int write_html(const sreport_session *s, const char *path, int have_faces)
{
    uint32_t rgb[NN_MAX_CLASSES];
    class_colours(s, rgb);
    membuf m;
    FILE *f = mb_open(&m);
    if (!f)
        return app_fail("out of memory");
    double dur = duration(s);
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<title>emotion-detect session report</title>\n<style>\n"
          "body{font-family:sans-serif;margin:2em auto;max-width:1240px;color:#222}\n"
          "table{border-collapse:collapse;margin:1em 0}\n"
          "td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}\n"
          "th{background:#f4f4f4}td.l,th.l{text-align:left}\n"
          "img{max-width:100%;border:1px solid #ddd}\n.note{color:#a33}\n"
          ".sw{display:inline-block;width:.8em;height:.8em;margin-right:.3em}\n"
          "</style>\n</head>\n<body>\n<h1>Session report</h1>\n<table>\n", f);
    fputs("<tr><th class=\"l\">source</th><td class=\"l\">", f);
    html_text(f, s->source && *s->source ? s->source : "(unknown)");
    fputs("</td></tr>\n<tr><th class=\"l\">model</th><td class=\"l\">", f);
    html_text(f, s->model && *s->model ? s->model : "(unknown)");
    if (s->with_files)
        fprintf(f, "</td></tr>\n<tr><th class=\"l\">pictures</th><td class=\"l\">%ld</td></tr>\n",
                s->frames);
    else
        fprintf(f, "</td></tr>\n<tr><th class=\"l\">frames</th><td class=\"l\">%ld</td></tr>\n"
                   "<tr><th class=\"l\">duration</th><td class=\"l\">%.2f s</td></tr>\n"
                   "<tr><th class=\"l\">frames/s</th><td class=\"l\">%.2f</td></tr>\n",
                s->frames, dur, dur > 0 ? s->frames / dur : 0.0);
    fprintf(f, "<tr><th class=\"l\">tracks</th><td class=\"l\">%d</td></tr>\n</table>\n",
            s->n_tracks);
    fputs("<h2>Emotions over time</h2>\n<p><img src=\"timeline.png\" alt=\"per track, the "
          "probability of each emotion over time\"></p>\n", f);
    if (s->n_tracks > SREPORT_MAX_ROWS)
        fprintf(f, "<p>The %d faces seen longest; all %d are in the table below.</p>\n",
                SREPORT_MAX_ROWS, s->n_tracks);
    fputs("<h2>Faces</h2>\n", f);
    if (have_faces && s->n_tracks > SREPORT_MAX_TILES)
        fprintf(f, "<p>The %d faces seen longest.</p>\n", SREPORT_MAX_TILES);
    if (have_faces)
        fputs("<p><img src=\"faces.png\" alt=\"each track's most confident frame\"></p>\n", f);
    if (s->note) {
        fputs("<p class=\"note\">", f);
        html_text(f, s->note);
        fputs("</p>\n", f);
    }
    fputs("<h2>Tracks</h2>\n<table>\n<tr><th>id</th><th>first (s)</th><th>last (s)</th>"
          "<th>frames</th><th class=\"l\">dominant</th><th>mean confidence</th>", f);
    for (int c = 0; c < s->k; c++) {
        fprintf(f, "<th><span class=\"sw\" style=\"background:#%06x\"></span>",
                (unsigned)rgb[c]);
        html_text(f, s->names[c]);
        fputs("</th>", f);
    }
    fputs("</tr>\n", f);
    for (int i = 0; i < s->n_tracks; i++) {
        const track *t = &s->tracks[i];
        int d = dominant(s, t);
        fprintf(f, "<tr><td>%d</td><td>%.2f</td><td>%.2f</td><td>%ld</td><td class=\"l\">"
                   "<span class=\"sw\" style=\"background:#%06x\"></span>",
                t->id, t->first - s->first_t, t->last - s->first_t, t->frames,
                (unsigned)rgb[d]);
        html_text(f, s->names[d]);
        fprintf(f, "</td><td>%.2f</td>", t->conf_sum / t->frames);
        for (int c = 0; c < s->k; c++)
            fprintf(f, "<td>%.0f%%</td>", 100.0 * t->cls_count[c] / t->frames);
        fputs("</tr>\n", f);
    }
    fputs("</table>\n<p>Share: of the frames a face was seen in, those where the emotion was "
          "its most likely one. The same figures: <a href=\"summary.json\">summary.json</a>, "
          "<a href=\"summary.csv\">summary.csv</a>.</p>\n</body>\n</html>\n", f);
    return mb_commit(&m, path);
}

/* ---- the folder ------------------------------------------------------------ */

void sreport_paths(const char *dir, char paths[SREPORT_N_FILES][4200])
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    for (int i = 0; i < SREPORT_N_FILES; i++)
        snprintf(paths[i], 4200, "%.*s/%s", (int)(n < 4000 ? n : 4000), dir, sreport_file_names[i]);
}

int sreport_write(const sreport_session *s, const char *dir)
{
    /* Staged (outpath_stage_dir): a disk that fills half-way leaves an
     * earlier report (--overwrite) as it was, not its summary new beside
     * its old pictures. */
    outpath_staging st;
    if (outpath_stage_dir(&st, dir) != 0)
        return -1;
    char paths[SREPORT_N_FILES][4200], first[4500] = "";
    sreport_paths(st.stage, paths);
    int have_faces = 0;
    for (int i = 0; i < s->n_tracks; i++)
        have_faces |= s->tracks[i].crop != NULL;
    int rc = 0;
    /* Every part is attempted; the first failure is the one reported. */
#define PART(call)                                                       \
    do {                                                                 \
        if ((call) != 0 && rc == 0) {                                    \
            rc = -1;                                                     \
            snprintf(first, sizeof first, "%s", app_error());            \
        }                                                                \
    } while (0)
    PART(write_json(s, paths[2]));
    PART(write_csv(s, paths[3]));
    PART(write_timeline(s, paths[0]));
    if (have_faces)
        PART(write_faces(s, paths[1]));
    PART(write_html(s, paths[4], have_faces));
#undef PART
    if (rc)
        app_fail("%s", first);
    rc = outpath_stage_finish(&st, sreport_file_names, SREPORT_N_FILES, rc == 0);
    if (rc == 0 && !have_faces) {
        /* A report replacing another (--overwrite) keeps no faces of the
         * earlier session beside its page. */
        char old[4400];
        struct stat sb;
        snprintf(old, sizeof old, "%s/%s", st.dir, sreport_file_names[1]);
        if (lstat(old, &sb) == 0 && S_ISREG(sb.st_mode))
            unlink(old);
    }
    return rc;
}
