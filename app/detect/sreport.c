/* sreport.c - the session report's collecting half (see sreport.h): each
 * frame's faces kept per track, live from the pipeline or read back from a
 * log, and the best frames' crops; sreport_write.c writes the files. */
#include "sreport_internal.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app_err.h"
#include "cvw.h"
#include "jsonr.h"
#include "jsonw.h"
#include "source.h"

#define CROP_MAX 160 /* a kept crop's longer side, pixels */

/* ---- collecting ------------------------------------------------------ */

static void set_classes(sreport_session *s, const char *const *names, int k)
{
    s->k = k < NN_MAX_CLASSES ? k : NN_MAX_CLASSES;
    for (int c = 0; c < s->k; c++) {
        snprintf(s->names[c], sizeof s->names[c], "%s", names[c] ? names[c] : "?");
        s->name_ptrs[c] = s->names[c];
    }
}

sreport_session *sreport_new(const char *const *names, int k)
{
    sreport_session *s = calloc(1, sizeof *s);
    if (!s)
        return app_fail_null("out of memory");
    if (names && k > 0)
        set_classes(s, names, k);
    return s;
}

static void free_tracks(sreport_session *s)
{
    for (int i = 0; i < s->n_tracks; i++) {
        free(s->tracks[i].cls_count);
        free(s->tracks[i].crop);
        free(s->tracks[i].best_file);
    }
    free(s->tracks);
    s->tracks = NULL;
    s->n_tracks = s->cap_tracks = 0;
}

void sreport_free(sreport_session *s)
{
    if (!s)
        return;
    free_tracks(s);
    free(s->s);
    free(s->probs);
    free(s->source);
    free(s->model);
    free(s->note);
    free(s);
}

static void set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = v ? strdup(v) : NULL;
}

void sreport_set_info(sreport_session *s, const char *source, const char *model)
{
    set_str(&s->source, source);
    set_str(&s->model, model);
}

void sreport_set_note(sreport_session *s, const char *note) { set_str(&s->note, note); }
const char *sreport_source(const sreport_session *s) { return s->source; }
long sreport_frames(const sreport_session *s) { return s->frames; }
int sreport_n_tracks(const sreport_session *s) { return s->n_tracks; }

long sreport_cut_line(const sreport_session *s) { return s->cut_line; }

/* v as the log writes it and reads back: so that a live session and its
 * log agree to the last bit. */
static double as_logged(double v, const char *fmt)
{
    if (!isfinite(v))
        return NAN;
    char buf[64];
    snprintf(buf, sizeof buf, fmt, v);
    return strtod(buf, NULL);
}

static track *find_track(sreport_session *s, int id)
{
    /* Tracks arrive in id order nearly always: look from the end. */
    for (int i = s->n_tracks - 1; i >= 0; i--)
        if (s->tracks[i].id == id)
            return &s->tracks[i];
    if (s->n_tracks == s->cap_tracks) {
        int nc = s->cap_tracks ? s->cap_tracks * 2 : 16;
        track *t = realloc(s->tracks, sizeof *t * (size_t)nc);
        if (!t)
            return NULL;
        s->tracks = t;
        s->cap_tracks = nc;
    }
    track *t = &s->tracks[s->n_tracks];
    memset(t, 0, sizeof *t);
    t->cls_count = calloc((size_t)(s->k > 0 ? s->k : 1), sizeof *t->cls_count);
    if (!t->cls_count)
        return NULL;
    t->id = id;
    t->best_conf = -1;
    s->n_tracks++;
    return t;
}

/* The face box enlarged by a quarter each side, clamped to the frame, cut
 * out of bgr and shrunk to at most CROP_MAX pixels a side. */
static int keep_crop(track *t, const uint8_t *bgr, int w, int h, cvw_rect b)
{
    int mx = b.w / 4, my = b.h / 4;
    int x0 = b.x - mx, y0 = b.y - my, x1 = b.x + b.w + mx, y1 = b.y + b.h + my;
    x0 = x0 < 0 ? 0 : x0;
    y0 = y0 < 0 ? 0 : y0;
    x1 = x1 > w ? w : x1;
    y1 = y1 > h ? h : y1;
    int cw = x1 - x0, ch = y1 - y0;
    if (cw <= 0 || ch <= 0)
        return 0;
    uint8_t *cut = malloc((size_t)cw * ch * 3);
    if (!cut)
        return -1;
    for (int y = 0; y < ch; y++)
        memcpy(cut + (size_t)y * cw * 3, bgr + ((size_t)(y0 + y) * w + x0) * 3, (size_t)cw * 3);
    int dw = cw, dh = ch;
    if (cw > CROP_MAX || ch > CROP_MAX) {
        double z = cw > ch ? (double)CROP_MAX / cw : (double)CROP_MAX / ch;
        dw = (int)(cw * z) > 0 ? (int)(cw * z) : 1;
        dh = (int)(ch * z) > 0 ? (int)(ch * z) : 1;
        uint8_t *small = malloc((size_t)dw * dh * 3);
        if (!small || cvw_resize_bgr(cut, cw, ch, small, dw, dh) != 0) {
            free(small);
            free(cut);
            return -1;
        }
        free(cut);
        cut = small;
    }
    free(t->crop);
    t->crop = cut;
    t->crop_w = dw;
    t->crop_h = dh;
    return 0;
}

/* sreport_add, with the frame's picture's path for a log of images (file,
 * NULL for video), kept for the best frames. */
static int add_frame(sreport_session *s, long frame, double t_ms, const pipeline_result *r,
                     const uint8_t *bgr, int w, int h, const char *file)
{
    double t = as_logged(t_ms, "%.1f") / 1e3;
    s->with_files |= file != NULL;
    if (s->frames == 0 || t < s->first_t)
        s->first_t = t;
    if (s->frames == 0 || t > s->last_t)
        s->last_t = t;
    s->frames++;
    for (int i = 0; r && i < r->n; i++) {
        const pipeline_face *fc = &r->faces[i];
        if (fc->id <= 0 || fc->cls < 0 || fc->cls >= s->k)
            continue; /* no track (no room), or a class we do not know */
        if (s->n == s->cap) {
            long nc = s->cap ? s->cap * 2 : 1024;
            sample *ns = realloc(s->s, sizeof *ns * (size_t)nc);
            if (!ns)
                return app_fail("out of memory");
            s->s = ns;
            float *np = realloc(s->probs, sizeof *np * (size_t)nc * (size_t)s->k);
            if (!np)
                return app_fail("out of memory");
            s->probs = np;
            s->cap = nc;
        }
        sample *sm = &s->s[s->n];
        sm->frame = frame;
        sm->t = t;
        sm->id = fc->id;
        sm->cls = fc->cls;
        sm->conf = (float)as_logged(fc->conf, "%.4f");
        for (int c = 0; c < s->k; c++)
            s->probs[(size_t)s->n * s->k + c] = (float)as_logged(fc->probs[c], "%.4f");
        s->n++;

        track *tr = find_track(s, fc->id);
        if (!tr)
            return app_fail("out of memory");
        if (tr->frames == 0)
            tr->first = t;
        tr->last = t;
        tr->frames++;
        tr->cls_count[fc->cls]++;
        if (isfinite(sm->conf))
            tr->conf_sum += sm->conf;
        if (sm->conf > tr->best_conf) {
            tr->best_conf = sm->conf;
            tr->best_frame = frame;
            tr->best_box = fc->box;
            if (bgr && keep_crop(tr, bgr, w, h, fc->box) != 0)
                return app_fail("out of memory");
            if (file) {
                set_str(&tr->best_file, file);
                if (!tr->best_file)
                    return app_fail("out of memory");
            }
        }
    }
    return 0;
}

int sreport_stills(const sreport_session *s) { return s->with_files; }

int sreport_add(sreport_session *s, long frame, double t_ms, const pipeline_result *r, const uint8_t *bgr,
           int w, int h, const char *file)
{
    return add_frame(s, frame, t_ms, r, bgr, w, h, file);
}

/* ---- reading a log back ---------------------------------------------- */

/* The number v holds (0 when absent), when it lies within [lo, hi]; a log
 * holds whole numbers there, anything else is not a log's (and would not
 * convert to an integer). Out of range: 0 with *bad set. */
static double in_range(const jsonr_val *v, double lo, double hi, int *bad)
{
    const double d = jsonr_num(v, 0);
    if (d >= lo && d <= hi)
        return d;
    *bad = 1;
    return 0;
}

static int face_from_json(sreport_session *s, const jsonr_val *jf, pipeline_face *pf, long line,
                          const char *path)
{
    const jsonr_val *probs = jsonr_get(jf, "probs"), *box = jsonr_get(jf, "box");
    const char *emo = jsonr_str(jsonr_get(jf, "emotion"));
    if (!probs || probs->type != JSONR_OBJ || !box || box->type != JSONR_ARR || box->n != 4 || !emo)
        return app_fail("%s: line %ld: a face without its box, emotion or probs", path, line);
    if (s->k == 0) {
        const char *names[NN_MAX_CLASSES];
        if (probs->n < 1 || probs->n > NN_MAX_CLASSES)
            return app_fail("%s: line %ld: %d classes", path, line, probs->n);
        for (int c = 0; c < probs->n; c++)
            names[c] = probs->keys[c];
        set_classes(s, names, probs->n);
    }
    if (probs->n != s->k)
        return app_fail("%s: line %ld: %d classes where the log began with %d", path, line,
                        probs->n, s->k);
    memset(pf, 0, sizeof *pf);
    pf->cls = -1;
    for (int c = 0; c < s->k; c++) {
        if (strcmp(probs->keys[c], s->names[c]))
            return app_fail("%s: line %ld: class '%s' where the log began with '%s'", path,
                            line, probs->keys[c], s->names[c]);
        pf->probs[c] = (float)jsonr_num(&probs->items[c], NAN);
        if (!strcmp(emo, s->names[c]))
            pf->cls = c;
    }
    if (pf->cls < 0)
        return app_fail("%s: line %ld: emotion '%s' is not one of the classes", path, line, emo);
    int bad = 0;
    pf->id = (int)in_range(jsonr_get(jf, "id"), INT_MIN, INT_MAX, &bad);
    pf->conf = (float)jsonr_num(jsonr_get(jf, "confidence"), NAN);
    pf->box = (cvw_rect){(int)in_range(&box->items[0], INT_MIN, INT_MAX, &bad),
                         (int)in_range(&box->items[1], INT_MIN, INT_MAX, &bad),
                         (int)in_range(&box->items[2], INT_MIN, INT_MAX, &bad),
                         (int)in_range(&box->items[3], INT_MIN, INT_MAX, &bad)};
    if (bad)
        return app_fail("%s: line %ld: a face's id or box out of range", path, line);
    return 0;
}

sreport_session *sreport_read_log(const char *path)
{
    /* "-": the log on standard input, as --log - writes it on stdout */
    const int in = !strcmp(path, "-");
    if (in && isatty(0))
        return app_fail_null("-: standard input is a terminal; pipe a log into it "
                             "(emotion-detect --headless --log - | emotion-detect --report "
                             "DIR --from-log -)");
    FILE *f = in ? stdin : fopen(path, "rb");
    if (!f)
        return app_fail_null("cannot read '%s': %s", path, strerror(errno));
    if (in)
        path = "standard input";
    sreport_session *s = sreport_new(NULL, 0);
    static pipeline_result r; /* large; the reader is not re-entered */
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long no = 0;
    int ok = s != NULL;
    while (ok && (len = getline(&line, &cap, f)) > 0) {
        no++;
        int whole = line[len - 1] == '\n';
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        char *rec = line;
        /* A log saved again by an editor may start with a UTF-8
         * byte-order mark; it was taken for a CSV log. */
        if (no == 1 && len >= 3 && !memcmp(rec, "\xEF\xBB\xBF", 3)) {
            rec += 3;
            len -= 3;
        }
        if (len == 0)
            continue;
        if (no == 1 && rec[0] != '{') {
            ok = 0;
            if (!strncmp(rec, "frame,", 6))
                app_fail("%s: a CSV log, which cannot be read back (use --log NAME.jsonl)", path);
            else
                app_fail("%s: not a JSON-lines frame log (line 1 is not a JSON object)", path);
            break;
        }
        jsonr_val *v = jsonr_parse(rec, (size_t)len);
        if (!v) {
            if (!whole) { /* the last record, cut short by a crash: left out */
                s->cut_line = no;
                break;
            }
            char why[512];
            snprintf(why, sizeof why, "%s", app_error());
            ok = 0;
            app_fail("%s: line %ld: %s", path, no, why);
            break;
        }
        const jsonr_val *faces = jsonr_get(v, "faces"), *frame = jsonr_get(v, "frame");
        const jsonr_val *sess = jsonr_get(v, "session");
        if (!faces || faces->type != JSONR_ARR || !frame || frame->type != JSONR_NUM) {
            jsonr_free(v);
            ok = 0;
            app_fail("%s: line %ld: not a frame record (no \"frame\" or \"faces\")", path, no);
            break;
        }
        int bad = 0; /* frame numbers as long (at least 32 bits) */
        const long frame_no = (long)in_range(frame, 0, 2147483647.0, &bad);
        if (bad) {
            jsonr_free(v);
            ok = 0;
            app_fail("%s: line %ld: frame number out of range", path, no);
            break;
        }
        if (sess)
            sreport_set_info(s, jsonr_str(jsonr_get(sess, "source")), jsonr_str(jsonr_get(sess, "model")));
        const jsonr_val *cls = sess ? jsonr_get(sess, "classes") : NULL;
        if (cls && cls->type == JSONR_ARR && s->k == 0 && cls->n >= 1 && cls->n <= NN_MAX_CLASSES) {
            /* logs before it named the classes only in faces' probs */
            const char *names[NN_MAX_CLASSES];
            int n = 0;
            while (n < cls->n && (names[n] = jsonr_str(&cls->items[n])))
                n++;
            if (n == cls->n)
                set_classes(s, names, n);
        }
        const char *file = jsonr_str(jsonr_get(v, "file"));
        if (s->frames == 0 || frame_no > s->probe_frame) {
            s->probe_frame = frame_no;
            s->probe_t_ms = jsonr_num(jsonr_get(v, "t_ms"), 0);
        }
        if (faces->n > PIPELINE_MAX_FACES) {
            /* no run writes more; keeping some would leave faces out unsaid */
            app_fail("%s: line %ld: %d faces in one frame; a log holds at most %d", path, no,
                     faces->n, PIPELINE_MAX_FACES);
            jsonr_free(v);
            ok = 0;
            break;
        }
        r.n = 0;
        for (int i = 0; ok && i < faces->n; i++) {
            if (face_from_json(s, &faces->items[i], &r.faces[r.n++], no, path) != 0)
                ok = 0;
            /* One track is one face: a second with its id in the same frame
             * (a hand-made log) would be merged into it without a word. */
            for (int j = 0; ok && j < r.n - 1; j++)
                if (r.faces[j].id == r.faces[r.n - 1].id) {
                    ok = 0;
                    app_fail("%s: line %ld: face id %d twice in frame %ld", path, no,
                             r.faces[j].id, frame_no);
                }
        }
        if (ok && add_frame(s, frame_no, jsonr_num(jsonr_get(v, "t_ms"), 0), &r, NULL, 0, 0, file) != 0)
            ok = 0;
        jsonr_free(v);
    }
    if (ok && ferror(f)) {
        ok = 0;
        app_fail("cannot read '%s': %s", path, strerror(errno));
    }
    free(line);
    if (!in)
        fclose(f);
    if (ok && s->frames == 0) {
        ok = 0;
        app_fail("%s: no frame records", path);
    }
    if (!ok) {
        sreport_free(s);
        return NULL;
    }
    return s;
}

/* The last component of a path. */
static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Whether the log came from a camera: its times are the clock's, not
 * frame numbers over a rate (report_cmd_source_name's "camera N"). */
static int from_camera(const sreport_session *s)
{
    int n;
    char end;
    return s->source && sscanf(s->source, "camera %d%c", &n, &end) == 1;
}

/* Whether the source src, just opened from path, can be the one the log
 * was read from, as far as the log tells: a log of images against images,
 * of a video against a video; for a video, its frame rate against the
 * log's times and its frame size against the faces' boxes. 0, or
 * SREPORT_NOT_THE_SOURCE with app_error() saying what differs. */
static int same_kind(const sreport_session *s, source *src, const char *path)
{
    const source_kind kind = source_kind_of(src);
    const int stills = kind == SOURCE_IMAGE || kind == SOURCE_FOLDER;
    if (stills != s->with_files) {
        app_fail("the log is of %s, '%s' is %s",
                 s->with_files ? "images" : from_camera(s) ? "a camera" : "a video",
                 path, stills ? (kind == SOURCE_FOLDER ? "a folder of images" : "an image")
                              : "a video");
        return SREPORT_NOT_THE_SOURCE;
    }
    if (stills)
        return 0; /* each picture's name is compared as it is read */
    /* A file's frame times are its frame numbers over its rate, to the
     * log's 0.1 ms; a camera's are the clock's, and a log that does not
     * name its source (an older one) may be a camera's. */
    const double fps = source_fps(src);
    if (s->source && !from_camera(s) && s->probe_frame > 0) {
        const double want = s->probe_frame * 1000.0 / fps;
        if (fabs(want - s->probe_t_ms) > 1.0 + 1e-4 * s->probe_t_ms) {
            app_fail("the log's frame %ld is at %.1f ms, in '%s' (%.3g frames/s) it is at "
                     "%.1f ms", s->probe_frame, s->probe_t_ms, path, fps, want);
            return SREPORT_NOT_THE_SOURCE;
        }
    }
    const int w = source_width(src), h = source_height(src);
    for (int i = 0; i < s->n_tracks && w > 0 && h > 0; i++) {
        const cvw_rect b = s->tracks[i].best_box;
        const long cx = b.x + b.w / 2, cy = b.y + b.h / 2;
        if (cx < 0 || cy < 0 || cx >= w || cy >= h) {
            app_fail("face %d's box [%d,%d,%d,%d] lies outside the %dx%d frames of '%s'",
                     s->tracks[i].id, b.x, b.y, b.w, b.h, w, h, path);
            return SREPORT_NOT_THE_SOURCE;
        }
    }
    return 0;
}

int sreport_fetch_faces(sreport_session *s, const char *path)
{
    long last = -1;
    for (int i = 0; i < s->n_tracks; i++)
        if (s->tracks[i].best_frame > last)
            last = s->tracks[i].best_frame;
    source *src = source_open_path(path, 0, NULL, NULL); /* app_error() says why */
    if (!src)
        return -1;
    int rc = same_kind(s, src, path);
    if (rc != 0) {
        source_close(src);
        return rc;
    }
    int got = 0;
    source_status st = SOURCE_END;
    const source_frame *f;
    while (last >= 0 && (st = source_next(src, &f, -1)) == SOURCE_FRAME) {
        for (int i = 0; i < s->n_tracks; i++) {
            track *t = &s->tracks[i];
            if (t->best_frame != f->index || t->crop)
                continue;
            /* A log of images names each frame's picture: this must be it
             * (by name: the folder may have moved). */
            /* The log has the name as valid UTF-8 (jsonw_string): so
             * must the name on disk before they compare. */
            char disk[1024];
            if (f->file)
                jsonw_utf8(disk, sizeof disk, base_name(f->file));
            if (t->best_file && f->file && strcmp(base_name(t->best_file), disk)) {
                app_fail("the log's frame %ld is the picture '%s', in '%s' it is '%s'",
                         f->index, base_name(t->best_file), path, disk);
                source_close(src);
                return SREPORT_NOT_THE_SOURCE;
            }
            if (keep_crop(t, f->bgr, f->w, f->h, t->best_box) != 0) {
                source_close(src);
                return app_fail("out of memory");
            }
            got += t->crop != NULL;
        }
        if (f->index >= last)
            break;
    }
    if (st == SOURCE_ERROR) {
        char err[512];
        source_message(src, err, sizeof err);
        source_close(src);
        return app_fail("%s", err);
    }
    source_close(src);
    return got;
}
