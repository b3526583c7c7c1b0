/*
 * report.c - metrics (confusion matrix, accuracy, per-class P/R/F1) and the
 * report folder: CSV and JSON written here, pictures drawn through cvw.
 * Every file is written to a temporary file and renamed into place
 * (common/outpath.h), so a report interrupted half-way never leaves a
 * truncated file under the real name.
 */
#include "report.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "app_err.h"
#include "csvw.h"
#include "cvw.h"
#include "jsonw.h"
#include "outpath.h"
#include "rng.h"

/* ---- metrics ---- */

int report_metrics_compute(report_metrics *m, const int *truth, const int *pred, int n,
                        int k)
{
    memset(m, 0, sizeof *m);
    if (k < 1 || k > REPORT_MAX_CLASSES)
        return app_fail("%d classes; expected 1..%d", k, REPORT_MAX_CLASSES);
    for (int i = 0; i < n; i++) {
        if (truth[i] < 0 || truth[i] >= k || pred[i] < 0 || pred[i] >= k) {
            int t = truth[i], p = pred[i];
            memset(m, 0, sizeof *m);
            return app_fail("prediction %d: label %d or prediction %d out of range 0..%d",
                        i, t, p, k - 1);
        }
        m->confusion[truth[i] * k + pred[i]]++;
    }
    m->k = k;
    m->n = n;
    int with_support = 0;
    double f1_sum = 0;
    for (int c = 0; c < k; c++) {
        int tp = m->confusion[c * k + c], sup = 0, prd = 0;
        for (int j = 0; j < k; j++) {
            sup += m->confusion[c * k + j];
            prd += m->confusion[j * k + c];
        }
        m->correct += tp;
        m->support[c] = sup;
        m->predicted[c] = prd;
        m->precision[c] = prd ? (double)tp / prd : 0;
        m->recall[c] = sup ? (double)tp / sup : 0;
        double pr = m->precision[c] + m->recall[c];
        m->f1[c] = pr > 0 ? 2 * m->precision[c] * m->recall[c] / pr : 0;
        if (sup) {
            with_support++;
            f1_sum += m->f1[c];
        }
    }
    m->accuracy = n ? (double)m->correct / n : 0;
    m->macro_f1 = with_support ? f1_sum / with_support : 0;
    return 0;
}

static const char *name_of(const char *const *names, int i)
{
    return names && names[i] ? names[i] : "?";
}

/* Columns a name takes on a terminal: its UTF-8 characters, not its bytes
 * ("colère" is 7 bytes, 6 columns; printf's widths count bytes). */
static int text_width(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* s in a field of width columns, left- or right-aligned. */
static void put_field(FILE *f, const char *s, int width, int left)
{
    int pad = width - text_width(s);
    if (!left)
        fprintf(f, "%*s", pad > 0 ? pad : 0, "");
    fputs(s, f);
    if (left)
        fprintf(f, "%*s", pad > 0 ? pad : 0, "");
}

void report_metrics_print(FILE *f, const report_metrics *m, const char *const *names)
{
    int wn = 5;
    for (int c = 0; c < m->k; c++) {
        int l = text_width(name_of(names, c));
        wn = l > wn ? l : wn;
    }
    fprintf(f, "accuracy %.4f (%d of %d), macro F1 %.4f\n", m->accuracy, m->correct,
            m->n, m->macro_f1);
    fprintf(f, "%-*s  precision  recall  f1      support\n", wn, "class");
    for (int c = 0; c < m->k; c++) {
        put_field(f, name_of(names, c), wn, 1);
        fprintf(f, "  %-9.4f  %-6.4f  %-6.4f  %d\n", m->precision[c], m->recall[c], m->f1[c],
                m->support[c]);
    }
    fprintf(f, "confusion matrix (rows: true class, columns: predicted)\n%-*s", wn, "");
    int cw[REPORT_MAX_CLASSES];
    for (int c = 0; c < m->k; c++) {
        int l = text_width(name_of(names, c));
        cw[c] = l < 6 ? 6 : l;
        fputc(' ', f);
        put_field(f, name_of(names, c), cw[c], 0);
    }
    fputc('\n', f);
    for (int t = 0; t < m->k; t++) {
        put_field(f, name_of(names, t), wn, 1);
        for (int p = 0; p < m->k; p++)
            fprintf(f, " %*d", cw[p], m->confusion[t * m->k + p]);
        fputc('\n', f);
    }
}

/* ---- files ---- */

/* Open path for writing through a temporary file (outpath.h), creating
 * missing folders on the way (as --report does); finish with
 * close_rename. */
static FILE *open_tmp(outpath_file *o, const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash && slash > path) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
        struct stat st;
        if (stat(dir, &st) != 0 && outpath_mkdirs(dir) != 0)
            return NULL;
    }
    return outpath_open(o, path);
}

static int close_rename(outpath_file *o)
{
    return outpath_commit(o);
}

static void csv_num(FILE *f, const char *fmt, double v)
{
    if (isfinite(v))
        fprintf(f, fmt, v);
}

int report_write_history_csv(const char *path, const report_epoch *h, int n)
{
    outpath_file o;
    FILE *f = open_tmp(&o, path);
    if (!f)
        return -1;
    fprintf(f, "epoch,lr,train_loss,train_acc,val_loss,val_acc,seconds\n");
    for (int i = 0; i < n; i++) {
        static const char *const fmt[6] = {"%.6g", "%.6f", "%.6f", "%.6f", "%.6f", "%.2f"};
        const double v[6] = {h[i].lr, h[i].train_loss, h[i].train_acc, h[i].val_loss,
                             h[i].val_acc, h[i].seconds};
        fprintf(f, "%d", h[i].epoch);
        for (int j = 0; j < 6; j++) {
            fputc(',', f);
            csv_num(f, fmt[j], v[j]);
        }
        fputc('\n', f);
    }
    return close_rename(&o);
}

int report_write_per_class_csv(const char *path, const report_metrics *m,
                            const char *const *names)
{
    outpath_file o;
    FILE *f = open_tmp(&o, path);
    if (!f)
        return -1;
    fprintf(f, "class,precision,recall,f1,support\n");
    for (int c = 0; c < m->k; c++) {
        csvw_field(f, name_of(names, c));
        fprintf(f, ",%.6f,%.6f,%.6f,%d\n", m->precision[c], m->recall[c], m->f1[c],
                m->support[c]);
    }
    return close_rename(&o);
}

static void json_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.6g", v);
    else
        fputs("null", f);
}

/* Best validation accuracy: the caller's, else the history's best. */
static double best_val(const report_content *r, int *epoch)
{
    *epoch = r->best_epoch;
    if (r->best_val_accuracy > 0)
        return r->best_val_accuracy;
    double best = -1;
    for (int i = 0; r->history && i < r->n_epochs; i++)
        if (isfinite(r->history[i].val_acc) && r->history[i].val_acc > best) {
            best = r->history[i].val_acc;
            *epoch = r->history[i].epoch;
        }
    return best;
}

int report_write_metrics_json(const char *path, const report_content *r)
{
    const report_metrics *m = r->metrics;
    const char *const *names = r->classes;
    int k = m ? m->k : r->n_classes;
    outpath_file o;
    FILE *f = open_tmp(&o, path);
    if (!f)
        return -1;
    fputs("{\n", f);
    int best_epoch;
    double best = best_val(r, &best_epoch);
    if (best >= 0) {
        fputs("  \"best_val_accuracy\": ", f);
        json_num(f, best);
        fputs(",\n", f);
        if (best_epoch > 0 && !r->swa_kept)
            fprintf(f, "  \"best_epoch\": %d,\n", best_epoch);
    }
    if (r->swa_val_accuracy > 0) {
        fprintf(f, "  \"weight_average\": {\"from_epoch\": %d, \"to_epoch\": %d, \"val_accuracy\": ",
                r->swa_from, r->swa_to);
        json_num(f, r->swa_val_accuracy);
        fputs(", \"val_loss\": ", f);
        json_num(f, r->swa_val_loss);
        fprintf(f, ", \"kept\": %s},\n", r->swa_kept ? "true" : "false");
    }
    fputs("  \"classes\": [", f);
    for (int c = 0; c < k; c++) {
        fputs(c ? ", " : "", f);
        jsonw_string(f, name_of(names, c));
    }
    fputs("]", f);
    const struct { const char *key, *val; } strs[] = {
        {"model", r->model}, {"data", r->data}, {"arch", r->arch},
        {"command", r->command}, {"metrics_of", m ? r->metrics_of : NULL},
        {"calibration", r->calibration},
    };
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        if (!strs[i].val)
            continue;
        fprintf(f, ",\n  \"%s\": ", strs[i].key);
        jsonw_string(f, strs[i].val);
    }
    if (r->history && r->n_epochs > 0)
        fprintf(f, ",\n  \"epochs\": %d", r->n_epochs);
    if (r->train_seconds > 0) {
        fputs(",\n  \"train_seconds\": ", f);
        json_num(f, r->train_seconds);
    }
    if (m) {
        fprintf(f, ",\n  \"n\": %d,\n  \"accuracy\": ", m->n);
        json_num(f, m->accuracy);
        fputs(",\n  \"macro_f1\": ", f);
        json_num(f, m->macro_f1);
        if (r->has_probs) {
            fputs(",\n  \"ece\": ", f);
            json_num(f, r->ece);
            fputs(",\n  \"nll\": ", f);
            json_num(f, r->nll);
        }
        fputs(",\n  \"per_class\": {", f);
        for (int c = 0; c < k; c++) {
            fputs(c ? ",\n    " : "\n    ", f);
            jsonw_string(f, name_of(names, c));
            fputs(": {\"precision\": ", f);
            json_num(f, m->precision[c]);
            fputs(", \"recall\": ", f);
            json_num(f, m->recall[c]);
            fputs(", \"f1\": ", f);
            json_num(f, m->f1[c]);
            fprintf(f, ", \"support\": %d}", m->support[c]);
        }
        fputs("\n  },\n  \"confusion\": [", f);
        for (int t = 0; t < k; t++) {
            fputs(t ? ",\n    [" : "\n    [", f);
            for (int p = 0; p < k; p++)
                fprintf(f, "%s%d", p ? ", " : "", m->confusion[t * k + p]);
            fputs("]", f);
        }
        fputs("\n  ]", f);
    }
    fputs("\n}\n", f);
    return close_rename(&o);
}

/* ---- pictures ---- */

static int cv_fail(const char *path)
{
    return app_fail("%s: %s", path, cvw_error());
}

int report_write_curves_png(const char *path, const char *title, const report_epoch *h,
                         int n)
{
    if (n <= 0)
        return app_fail("%s: no epochs to plot", path);
    float *v = malloc((size_t)n * 4 * sizeof *v);
    if (!v)
        return app_fail("out of memory");
    float *tl = v, *vl = v + n, *ta = v + 2 * n, *va = v + 3 * n;
    for (int i = 0; i < n; i++) {
        tl[i] = h[i].train_loss;
        vl[i] = h[i].val_loss;
        ta[i] = h[i].train_acc * 100.f; /* percent reads better than 0..1 */
        va[i] = h[i].val_acc * 100.f;
    }
    const uint32_t c_train = 0x1f77b4, c_val = 0xff7f0e;
    cvw_series loss[2] = {{"train", tl, n, c_train}, {"validation", vl, n, c_val}};
    cvw_series acc[2] = {{"train", ta, n, c_train}, {"validation", va, n, c_val}};
    cvw_panel panels[2] = {
        {"Loss", "epoch", "cross-entropy loss", loss, 2, 0, 0},
        {"Accuracy", "epoch", "accuracy (%)", acc, 2, 0, 0},
    };
    int rc = cvw_draw_plots(path, title, panels, 2);
    free(v);
    return rc < 0 ? cv_fail(path) : 0;
}

int report_write_confusion_png(const char *path, const char *title,
                            const report_metrics *m, const char *const *names)
{
    const char *nm[REPORT_MAX_CLASSES];
    for (int c = 0; c < m->k; c++)
        nm[c] = name_of(names, c);
    return cvw_draw_confusion(path, title, m->confusion, m->k, nm) < 0 ? cv_fail(path)
                                                                       : 0;
}

int report_pick_samples(const int *truth, const int *pred, int n, int k, int want,
                     uint64_t seed, int *idx)
{
    if (n <= 0 || want <= 0 || k <= 0 || k > REPORT_MAX_CLASSES)
        return 0;
    int *order = malloc((size_t)n * 2 * sizeof *order);
    if (!order)
        return 0;
    int *rank = order + n;
    for (int i = 0; i < n; i++)
        order[i] = i;
    uint64_t s = seed;
    rng_shuffle(order, n, &s);
    /* Rank = how many of the same (class, right/wrong) group came before in
     * the shuffled order; taking low ranks first spreads over the classes. */
    int seen[2][REPORT_MAX_CLASSES] = {{0}};
    int n_wrong = 0;
    for (int j = 0; j < n; j++) {
        int i = order[j], t = truth[i] >= 0 && truth[i] < k ? truth[i] : 0;
        int wrong = truth[i] != pred[i];
        rank[i] = seen[wrong][t]++;
        n_wrong += wrong;
    }
    int n_right = n - n_wrong;
    int take_wrong = want / 2 < n_wrong ? want / 2 : n_wrong;
    int take_right = want - take_wrong < n_right ? want - take_wrong : n_right;
    if (take_wrong + take_right < want)
        take_wrong = (want - take_right) < n_wrong ? want - take_right : n_wrong;
    int got = 0;
    for (int pass = 0; pass < 2; pass++) {
        int quota = pass ? take_right : take_wrong, taken = 0;
        for (int r = 0; taken < quota && r < n; r++)
            for (int j = 0; j < n && taken < quota; j++) {
                int i = order[j];
                if ((truth[i] != pred[i]) == !pass && rank[i] == r) {
                    idx[got++] = i;
                    taken++;
                }
            }
    }
    free(order);
    /* Show them grouped by true class. */
    for (int a = 1; a < got; a++)
        for (int b = a; b > 0 && (truth[idx[b - 1]] > truth[idx[b]] ||
                                  (truth[idx[b - 1]] == truth[idx[b]] && idx[b - 1] > idx[b]));
             b--) {
            int t = idx[b];
            idx[b] = idx[b - 1];
            idx[b - 1] = t;
        }
    return got;
}

/* ---- the whole folder ---- */

/* Every file a report may hold. */
static const char *const report_files[] = {"history.csv", "curves.png", "confusion.png",
                                           "per_class.csv", "metrics.json", "filters.png",
                                           "feature_maps.png", "samples.png"};
enum { N_REPORT_FILES = sizeof report_files / sizeof report_files[0] };

static int write_parts(const char *dir, const report_content *r);

/* Staged (outpath_stage_dir): a disk that fills half-way leaves an
 * earlier report (--overwrite) as it was, not half of it replaced. */
int report_write(const char *dir, const report_content *r)
{
    const report_metrics *m = r->metrics;
    if (m && r->classes && r->n_classes != m->k)
        return app_fail("report: %d class names for %d classes", r->n_classes, m->k);
    outpath_staging st;
    if (outpath_stage_dir(&st, dir) != 0)
        return -1;
    return outpath_stage_finish(&st, report_files, N_REPORT_FILES, write_parts(st.stage, r) == 0);
}

static int write_parts(const char *dir, const report_content *r)
{
    char path[4400], title[512], first[4500] = "";
    const char *tp = r->title ? r->title : "model";
    int failed = 0;
#define PART(name, call)                                                        \
    do {                                                                        \
        snprintf(path, sizeof path, "%s/%s", dir, name);                        \
        if ((call) < 0 && !failed++)                                            \
            snprintf(first, sizeof first, "%s", app_error());                   \
    } while (0)

    const report_metrics *m = r->metrics;
    if (r->history && r->n_epochs > 0) {
        int be;
        double best = best_val(r, &be);
        if (best >= 0 && r->swa_kept)
            snprintf(title, sizeof title,
                     "%s: training curves (best validation %.1f%%: weight average of epochs %d-%d)",
                     tp, best * 100, r->swa_from, r->swa_to);
        else if (best >= 0 && be > 0)
            snprintf(title, sizeof title,
                     "%s: training curves (best validation %.1f%% at epoch %d)", tp,
                     best * 100, be);
        else if (best >= 0)
            snprintf(title, sizeof title, "%s: training curves (best validation %.1f%%)",
                     tp, best * 100);
        else
            snprintf(title, sizeof title, "%s: training curves", tp);
        PART("history.csv", report_write_history_csv(path, r->history, r->n_epochs));
        PART("curves.png", report_write_curves_png(path, title, r->history, r->n_epochs));
    }
    if (m) {
        snprintf(title, sizeof title, "%s: confusion matrix (%s%sn=%d, accuracy %.1f%%)",
                 tp, r->metrics_of ? r->metrics_of : "", r->metrics_of ? ", " : "",
                 m->n, m->accuracy * 100);
        PART("confusion.png", report_write_confusion_png(path, title, m, r->classes));
        PART("per_class.csv", report_write_per_class_csv(path, m, r->classes));
    }
    if (m || r->classes || r->history)
        PART("metrics.json", report_write_metrics_json(path, r));
    if (r->conv1_w && r->conv1_out > 0) {
        snprintf(title, sizeof title, "%s: first convolution, %d filters %dx%d", tp,
                 r->conv1_out, r->conv1_k, r->conv1_k);
        PART("filters.png",
             cvw_draw_filters(path, title, r->conv1_w, r->conv1_out, r->conv1_in,
                              r->conv1_k, r->conv1_k) < 0 ? cv_fail(path) : 0);
    }
    if (r->fm_faces && r->fm_maps && r->fm_n > 0) {
        int mm = r->fm_max_maps > 0 ? r->fm_max_maps : 16;
        snprintf(title, sizeof title, "%s: first-layer feature maps (%d of %d channels)",
                 tp, mm < r->fm_c ? mm : r->fm_c, r->fm_c);
        PART("feature_maps.png",
             cvw_draw_feature_maps(path, title, r->fm_faces, r->fm_n, r->face_w, r->face_h,
                                   r->fm_maps, r->fm_c, r->fm_h, r->fm_w, mm) < 0
                 ? cv_fail(path) : 0);
    }
    if (r->sample_faces && r->n_samples > 0 && r->sample_true && r->sample_pred &&
        r->classes) {
        snprintf(title, sizeof title, "%s: sample predictions%s%s", tp,
                 r->metrics_of ? " on " : "", r->metrics_of ? r->metrics_of : "");
        PART("samples.png",
             cvw_draw_samples(path, title, r->sample_faces, r->n_samples, r->face_w,
                              r->face_h, r->sample_true, r->sample_pred, r->sample_conf,
                              r->classes, r->n_classes) < 0 ? cv_fail(path) : 0);
    }
#undef PART
    if (failed) {
        app_fail("%s%s", first, failed > 1 ? " (and more report parts failed)" : "");
        return -1;
    }
    return 0;
}
