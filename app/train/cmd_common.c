/* cmd_common.c - see cmd_common.h. */
#include "cmd_common.h"

#include "app_err.h"
#include "outpath.h"
#include "rollnet.h"
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cmd_set_precision(nn_net *net, const char *value)
{
    int bf16 = !strcmp(value, "bf16"), aut = !strcmp(value, "auto");
    if (!bf16 && !aut && strcmp(value, "fp32")) {
        cli_err("--precision: '%s' is not fp32, bf16 or auto", value);
        return -1;
    }
    if ((bf16 || aut) && nn_bf16_supported())
        return nn_net_set_precision(net, NN_PRECISION_BF16);
    if (bf16 || aut)
        fprintf(stderr, "--precision %s: no BF16 instructions (AVX512_BF16) on this CPU%s, "
                        "training in fp32\n", value,
                getenv("NN_KERNEL") ? " or with this NN_KERNEL" : "");
    return nn_net_set_precision(net, NN_PRECISION_FP32);
}

void cmd_preprocess(const nn_net *net, const dataset *ds, const int *idx, int n, float *x)
{
    int c, h, w;
    nn_net_input_shape(net, &c, &h, &w);
    size_t per = (size_t)c * h * w;
    for (int i = 0; i < n; i++)
        nn_preprocess_u8(net, dataset_image(ds, idx ? idx[i] : i), x + (size_t)i * per);
}

int cmd_classify(nn_net *net, const float *x, int n, const int *labels, float *probs,
                int *pred, double *loss)
{
    int c, h, w, k = nn_net_n_classes(net);
    nn_net_input_shape(net, &c, &h, &w);
    size_t per = (size_t)c * h * w;
    double sum = 0;
    const int B = 128;
    for (int b = 0; b < n; b += B) {
        int m = n - b < B ? n - b : B;
        const float *p = nn_net_forward(net, x + (size_t)b * per, m, 0);
        if (!p)
            return -1;
        if (labels)
            sum += (double)nn_xent(p, labels + b, m, k, NULL, NULL) * m;
        for (int i = 0; i < m; i++) {
            const float *pi = p + (size_t)i * k;
            if (pred)
                pred[b + i] = probs_argmax(pi, k);
            if (probs)
                memcpy(probs + (size_t)(b + i) * k, pi, (size_t)k * sizeof(float));
        }
    }
    if (loss)
        *loss = n ? sum / n : 0;
    return 0;
}

void cmd_report_problems(const dataset *ds, const char *path)
{
    /* Folders merged are not a problem, but training on them as one class
     * should not come as a surprise. */
    for (const char *l = ds->merged; l && *l;) {
        const char *end = strchr(l, '\n');
        int n = end ? (int)(end - l) : (int)strlen(l);
        fprintf(stderr, "%s: note: class folders %.*s\n", path, n, l);
        l += n + (end != NULL);
    }
    if (!ds->n_skipped)
        return;
    fprintf(stderr, "%s: skipped %d unreadable or malformed entr%s\n", path, ds->n_skipped,
            ds->n_skipped == 1 ? "y" : "ies");
    for (int i = 0; i < ds->n_problems && i < 10; i++)
        fprintf(stderr, "  %s\n", ds->problems[i]);
    if (ds->n_problems > 10)
        fprintf(stderr, "  ... (%d more)\n", ds->n_skipped - 10);
}

static void progress(void *user, int done, int total)
{
    const char *path = user;
    fprintf(stderr, "\rloading %s: %d/%d", path, done, total);
    if (done == total)
        fputc('\n', stderr);
}

dataset *cmd_load_for_model(const nn_net *net, const char *path, const char *split,
                            int split_is_default, int threads, int quiet)
{
    int c, h, w, k = nn_net_n_classes(net);
    const char *names[NN_MAX_CLASSES];
    for (int i = 0; i < k; i++)
        names[i] = nn_net_class(net, i);
    /* Said before the data loads: the class mismatch it came to said only
     * that none of the data's emotions is among the model's classes. */
    float centres[NN_MAX_CLASSES];
    if (rollnet_centres(names, k, centres))
        return app_fail_null("--model is a roll model (train --target roll): its classes are "
                             "roll bins, not a data set's classes; give an emotion model");
    nn_net_input_shape(net, &c, &h, &w);
    dataset_load_opts o = {.w = w, .h = h, .split = split, .split_is_default = split_is_default,
                           .threads = threads};
    if (!quiet && isatty(2)) {
        o.progress = progress;
        o.progress_user = (void *)path;
    }
    dataset *ds = dataset_load(path, &o);
    if (!ds)
        return NULL;
    cmd_report_problems(ds, path);
    dataset_class_map map;
    if (dataset_map_classes(ds, names, k, &map)) {
        char why[512];
        snprintf(why, sizeof why, "%s", app_error());
        dataset_free(ds);
        return app_fail_null("%s: none of its classes matches the model's (%s)", path, why);
    }
    for (int i = 0; i < map.n_unmatched; i++)
        fprintf(stderr, "%s: class '%s' is not one of the model's: %d images left out\n", path,
                map.unmatched[i], map.unmatched_count[i]);
    if (ds->n == 0) {
        dataset_free(ds);
        return app_fail_null("%s: no images of the model's classes", path);
    }
    return ds;
}

int cmd_write_model(const nn_net *net, const char *path)
{
    size_t len = 0;
    void *buf = nn_net_save_mem(net, &len);
    if (!buf)
        return app_fail("cannot write '%s': %s", path, nn_error());
    int rc = outpath_write_mem(path, buf, len);
    free(buf);
    return rc;
}

int cmd_save_model(const nn_net *net, const char *path, const char *ckpt)
{
    int rc = cmd_write_model(net, path);
    if (rc != 0)
        cli_err("%s; the trained weights are safe in %s: write them with "
               "emotion-train train --resume %s --out NEW.model",
               app_error(), ckpt, ckpt);
    return rc;
}

int cmd_samples_pick(cmd_samples *s, report_content *rep, const dataset *ds, const int *pred,
                    const float *probs, int k)
{
    int idx[CMD_SAMPLES];
    size_t pix = (size_t)ds->w * ds->h;
    memset(s, 0, sizeof *s);
    s->n = report_pick_samples(ds->labels, pred, ds->n, k, CMD_SAMPLES, 7, idx);
    if (!(s->faces = malloc((size_t)(s->n > 0 ? s->n : 1) * pix))) {
        cli_err("out of memory");
        return -1;
    }
    for (int i = 0; i < s->n; i++) {
        memcpy(s->faces + i * pix, dataset_image(ds, idx[i]), pix);
        s->truth[i] = ds->labels[idx[i]];
        s->pred[i] = pred[idx[i]];
        s->conf[i] = probs[(size_t)idx[i] * k + s->pred[i]];
    }
    rep->sample_faces = s->faces;
    rep->n_samples = s->n;
    rep->sample_true = s->truth;
    rep->sample_pred = s->pred;
    rep->sample_conf = s->conf;
    rep->face_w = ds->w;
    rep->face_h = ds->h;
    return 0;
}

void cmd_samples_free(cmd_samples *s)
{
    free(s->faces);
    s->faces = NULL;
}

int cmd_io_flag(cmd_io *io, const char *a)
{
    if (strcmp(a, "--overwrite"))
        return 0;
    io->overwrite = 1;
    return 1;
}

int cmd_io_option(cmd_io *io, const char *a, const char *v)
{
    const char **to = !strcmp(a, "--model") ? &io->model
                    : !strcmp(a, "--data")  ? &io->data
                    : !strcmp(a, "--split") ? &io->split
                    : !strcmp(a, "--out")   ? &io->out
                                            : NULL;
    if (to)
        *to = v;
    return to != NULL;
}

nn_net *cmd_io_open(const cmd_io *io, int threads, int *rc)
{
    /* --out may not be --model: a new file, the input kept */
    outpath_path files[] = {{"--model", io->model, OUTPATH_INPUT}, {"--data", io->data, OUTPATH_INPUT},
                       {"--out", io->out, OUTPATH_FILE}};
    if ((*rc = outpath_check_outputs(files, 3)) != 0)
        return NULL;
    /* an earlier model (calibrated, quantized: work) is not replaced by a slip */
    if (!io->overwrite && outpath_refuse_existing("--out", io->out) != 0) {
        cli_err("%s: %s", io->cmd, app_error());
        *rc = CLI_EXIT_USAGE;
        return NULL;
    }
    *rc = CLI_EXIT_FAIL;
    nn_net *net = nn_net_load(io->model);
    if (!net) {
        cli_err("%s", nn_error());
        return NULL;
    }
    if (nn_net_set_threads(net, threads)) {
        cli_err("--threads: %s", nn_error());
        nn_net_free(net);
        return NULL;
    }
    return net;
}

const char *cmd_csv_split(const cmd_io *io, const char *dflt)
{
    if (!io->split && dataset_is_csv(io->data))
        return dflt;
    return io->split;
}
