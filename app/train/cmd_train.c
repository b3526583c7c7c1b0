/* cmd_train.c - `emotion-train train`: trains a model on a data set with
 * our engine. This file sets a run up (options, --resume, the architecture,
 * the data, the net and optimizer), hands it to train_loop.c for the
 * epochs, and saves and reports the best model; the options are in
 * train_opts.c, the checkpoint format and its restore in checkpoint.c. */
#include "app_err.h"
#include "calibrate.h"
#include "checkpoint.h"
#include "cli.h"
#include "commands.h"
#include "dataset.h"
#include "distill.h"
#include "mix.h"
#include "outpath.h"
#include "report.h"
#include "train_loop.h"
#include "train_opts.h"
#include "cmd_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* What a setup step returns to let the next one run (any other value is
 * the exit code to end with). */
enum { GO_ON = -1 };

/* The report: curves, confusion matrix and per-class figures on the
 * validation data, first-layer filters and feature maps, sample faces. */
static int write_report(train_run *r, const char *model_path)
{
    int n = r->val->n, k = nn_net_n_classes(r->net);
    int *pred = malloc((size_t)n * sizeof *pred);
    float *probs = malloc((size_t)n * k * sizeof *probs);
    int rc = -1, said = 0;
    report_metrics m;
    cmd_samples smp = {0};
    const char *names[NN_MAX_CLASSES];
    for (int i = 0; i < k; i++)
        names[i] = nn_net_class(r->net, i);
    int c, h, w;
    nn_net_input_shape(r->net, &c, &h, &w);
    size_t pix = (size_t)w * h;
    float *fx = malloc(4 * (size_t)c * pix * sizeof(float));
    if (!pred || !probs || !fx || cmd_classify(r->net, r->val_x, n, NULL, probs, pred, NULL) ||
        report_metrics_compute(&m, r->val->labels, pred, n, k))
        goto done;
    report_content rep = {
        .title = r->o.arch, .classes = names, .n_classes = k,
        .history = r->st.history, .n_epochs = r->st.n_history,
        .metrics = &m, .metrics_of = "validation",
        .best_val_accuracy = r->st.best_acc, .best_epoch = r->st.best_epoch,
        .model = model_path, .data = r->o.data, .arch = r->o.arch,
        .command = nn_net_meta(r->net)->command, .train_seconds = r->st.total_seconds,
        .swa_val_accuracy = r->swa_acc, .swa_val_loss = r->swa_loss, .swa_from = train_loop_swa_first(&r->st),
        .swa_to = r->st.epoch, .swa_kept = r->swa_kept,
    };
    if (cmd_samples_pick(&smp, &rep, r->val, pred, probs, k)) {
        said = 1;
        goto done;
    }
    /* First conv layer: its filters, and its maps for a few faces. */
    int fn = smp.n < 4 ? smp.n : 4, co, ci, ck;
    const float *cw;
    int li = nn_net_first_conv(r->net, &cw, &co, &ci, &ck);
    if (li > 0 && fn > 0) {
        for (int i = 0; i < fn; i++)
            nn_preprocess_u8(r->net, smp.faces + i * pix, fx + (size_t)i * c * pix);
        if (nn_net_forward(r->net, fx, fn, 0)) {
            int mc, mh, mw;
            rep.fm_maps = nn_net_layer_output(r->net, li, &mc, &mh, &mw);
            rep.fm_faces = smp.faces;
            rep.fm_n = fn;
            rep.fm_c = mc;
            rep.fm_h = mh;
            rep.fm_w = mw;
        }
        rep.conv1_w = cw;
        rep.conv1_out = co;
        rep.conv1_in = ci;
        rep.conv1_k = ck;
    }
    rc = report_write(r->o.report, &rep);
    said = rc != 0;
    if (rc)
        cli_err("report: %s", app_error());
    else
        fprintf(stderr, "report written to %s\n", r->o.report);
done:
    if (rc && !said) /* the engine failed, or memory ran out */
        cli_err("report: %s", nn_error());
    cmd_samples_free(&smp);
    free(fx);
    free(pred);
    free(probs);
    return rc;
}

/* Whether a and b name one folder (by device and inode once it exists). */
static int same_folder(const char *a, const char *b)
{
    struct stat sa, sb;
    if (stat(a, &sa) == 0 && stat(b, &sb) == 0)
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    return !strcmp(a, b);
}

/* A fresh run must not take an earlier run's model or checkpoint (hours of
 * work; a forgotten --resume is the usual way to lose one), nor write its
 * report over an earlier one's (two runs' figures mixed in one folder).
 * Resuming rewrites the checkpoint it read, and only that one, and may
 * finish the report in the folder the run it resumes was given. */
static int keep_earlier_run(const train_opts *o, const char *resume, const checkpoint_state *saved)
{
    struct stat ck, rs;
    if (outpath_refuse_existing("--out", o->out) != 0) {
        cli_err("train: %s", app_error());
        return CLI_EXIT_USAGE;
    }
    const char *own = resume ? train_opts_saved_value(saved->argv, saved->argc, "--report") : NULL;
    if (o->report && !(own && same_folder(own, o->report)) &&
        outpath_refuse_nonempty_dir("--report", o->report) != 0) {
        cli_err("train: %s", app_error());
        return CLI_EXIT_USAGE;
    }
    if (resume && stat(resume, &rs) == 0 && stat(o->ckpt, &ck) == 0 && ck.st_dev == rs.st_dev &&
        ck.st_ino == rs.st_ino)
        return 0;
    if (outpath_refuse_existing("--checkpoint", o->ckpt) != 0) {
        cli_err("train: %s; to continue that run: --resume %s", app_error(), o->ckpt);
        return CLI_EXIT_USAGE;
    }
    return 0;
}

/* The options of the run into r->o and its effective arguments into
 * r->argc/argv: for --resume, the checkpoint's (read into *saved) with
 * today's after them. Returns GO_ON, else the exit code. */
static int setup_options(train_run *r, int argc, char **argv, checkpoint_state *saved,
                         const char **resume)
{
    train_opts *o = &r->o;
    train_opts_defaults(o);
    int pr = train_opts_parse(argc - 1, argv + 1, o, resume);
    if (pr == TRAIN_OPTS_HELP)
        train_opts_usage(stdout);
    if (pr != TRAIN_OPTS_RUN)
        return pr == TRAIN_OPTS_HELP ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    if (*resume && checkpoint_load(*resume, saved)) {
        cli_err("%s", app_error());
        return CLI_EXIT_FAIL;
    }
    const char *now, *was, *changed =
        *resume ? train_opts_changed_on_resume(saved->argv, saved->argc, argc, argv, &now, &was) : NULL;
    if (changed) {
        cli_err("train --resume: %s '%s' would change the run (it %s%s%s); a resumed run keeps its "
                "data, split and network: start a new run (--init MODEL takes a model's weights)",
                changed, now, was ? "has '" : "has no ", was ? was : changed, was ? "'" : "");
        return CLI_EXIT_USAGE;
    }
    r->argv = train_opts_args(saved->argv, saved->argc, argc, argv, &r->argc);
    if (!r->argv) {
        cli_err("out of memory");
        return CLI_EXIT_FAIL;
    }
    if (*resume) {
        /* The saved arguments first, then today's: later options win. */
        int interrupt_after = o->interrupt_after, overwrite = o->overwrite;
        if (train_opts_parse_resumed(r->argc, r->argv, o) != TRAIN_OPTS_RUN)
            return CLI_EXIT_USAGE;
        o->interrupt_after = interrupt_after;
        o->overwrite = overwrite;
    }
    if (!o->data || !o->out) {
        cli_err("train: %s is required (see --help)", !o->data ? "--data" : "--out");
        return CLI_EXIT_USAGE;
    }
    if (o->val && o->val_share > 0) {
        cli_err("train: give --val or --val-split, not both");
        return CLI_EXIT_USAGE;
    }
    if (!o->val && o->val_share <= 0)
        o->val_share = 0.1f;
    if (!o->ckpt) {
        /* A resumed run goes on writing the checkpoint it read, whatever
         * --out says today. */
        snprintf(r->checkpoint_default, sizeof r->checkpoint_default, *resume ? "%s" : "%s.ckpt",
                 *resume ? *resume : o->out);
        o->ckpt = r->checkpoint_default;
    }
    /* Seconds, not hours: every output can be written and none is an
     * input, before anything loads. (--resume is not compared: resuming
     * writes the checkpoint it read, as it should.) */
    outpath_path files[] = {
        {"--data", o->data, OUTPATH_INPUT}, {"--val", o->val, OUTPATH_INPUT}, {"--init", o->init, OUTPATH_INPUT},
        {"--out", o->out, OUTPATH_FILE}, {"--checkpoint", o->ckpt, OUTPATH_FILE},
        {"--report", o->report, OUTPATH_FOLDER},
    };
    int rc = outpath_check_outputs(files, (int)(sizeof files / sizeof *files));
    if (rc)
        return rc;
    if (outpath_refuse_inside("--report", o->report, "--data", o->data) ||
        outpath_refuse_inside("--report", o->report, "--val", o->val)) {
        cli_err("train: %s", app_error());
        return CLI_EXIT_USAGE;
    }
    if (!o->overwrite && (rc = keep_earlier_run(o, *resume, saved)) != 0)
        return rc;
    if (o->swa > o->epochs) {
        cli_err("--swa %d: starts after the last epoch (--epochs %d)", o->swa, o->epochs);
        return CLI_EXIT_USAGE;
    }
    if (o->target && strcmp(o->target, "emotion")) {
        if (roll_target_parse(o->target, &r->roll)) {
            cli_err("--target: %s", app_error());
            return CLI_EXIT_USAGE;
        }
        /* The labels are drawn per image, uniform over the bins: nothing
         * to balance; a mixed image would have two rolls; the teachers
         * know emotions. */
        if (mix_on(&o->mix) || o->teacher) {
            cli_err("--target roll: leave out %s", o->teacher ? "--teacher" : "--mixup and --cutmix");
            return CLI_EXIT_USAGE;
        }
        r->roll_on = 1;
        o->balance = "none";
        if (!o->augment_set)
            o->augment = "crop,flip,zoom,color";
    }
    return GO_ON;
}

/* The architecture first (its input size decides how images load): the
 * checkpoint's (into r->net), the --init model's (into *init) or
 * --arch's. Then the option values that need no data. Returns GO_ON, else
 * the exit code. */
static int setup_arch(train_run *r, const checkpoint_state *saved, const char *resume, nn_net **init,
                      int *c, int *h, int *w)
{
    train_opts *o = &r->o;
    if (resume) {
        if (!(r->net = nn_net_load_mem(saved->model, saved->model_len))) {
            cli_err("%s: %s", resume, nn_error());
            return CLI_EXIT_FAIL;
        }
        nn_net_input_shape(r->net, c, h, w);
    } else if (o->init) {
        if (o->arch_set) {
            cli_err("train: --init takes the architecture from its model; leave out --arch");
            return CLI_EXIT_USAGE;
        }
        if (!(*init = nn_net_load(o->init))) {
            cli_err("--init %s: %s", o->init, nn_error());
            return CLI_EXIT_FAIL;
        }
        nn_net_input_shape(*init, c, h, w);
    } else {
        /* Any class count would do: only the input shape is read. */
        nn_net *probe = nn_net_from_arch(o->arch, DATASET_FER_CLASSES);
        if (!probe) {
            cli_err("--arch: %s", nn_error());
            return CLI_EXIT_USAGE;
        }
        nn_net_input_shape(probe, c, h, w);
        nn_net_free(probe);
    }
    if (o->init)
        o->arch = o->init; /* what the log and report call the architecture */
    augment_defaults(&r->aug, *w, *h);
    if (nn_sched_parse(&r->sched, o->schedule, 1e-3f, o->epochs)) {
        cli_err("--schedule: %s", nn_error());
        return CLI_EXIT_USAGE;
    }
    if (augment_parse(&r->aug, o->augment)) {
        cli_err("--augment: %s", app_error());
        return CLI_EXIT_USAGE;
    }
    if (r->roll_on && (r->aug.ops & AUGMENT_ROTATE)) {
        cli_err("--augment: with --target roll the turn is the label; leave rotate out");
        return CLI_EXIT_USAGE;
    }
    return GO_ON;
}

/* Training and validation data (--val matched to the training classes by
 * name, or --val-split of the training data), --limit applied. */
static int load_data(train_run *r, int w, int h)
{
    const train_opts *o = &r->o;
    /* A fer2013.csv holds the test rows too: without --split, train on its
     * Training rows (a CSV without a Usage column gives all of them). */
    int csv = dataset_is_csv(o->data);
    dataset_load_opts lo = {.w = w, .h = h, .split = o->split ? o->split : csv ? "Training" : NULL,
                            .split_is_default = !o->split, .threads = o->threads};
    double t_load = nn_now();
    if (!(r->train = dataset_load(o->data, &lo))) {
        cli_err("%s", app_error());
        return -1;
    }
    cmd_report_problems(r->train, o->data);
    dataset_split_info split = {0};
    const int n_loaded = r->train->n;
    if (o->val) {
        dataset_load_opts vo = lo;
        vo.split = o->val_split_name ? o->val_split_name : "PublicTest";
        vo.split_is_default = !o->val_split_name;
        if (!dataset_is_csv(o->val))
            vo.split = o->val_split_name;
        if (!(r->val = dataset_load(o->val, &vo))) {
            cli_err("%s", app_error());
            return -1;
        }
        cmd_report_problems(r->val, o->val);
        const char *names[NN_MAX_CLASSES];
        for (int i = 0; i < r->train->n_classes; i++)
            names[i] = r->train->classes[i];
        dataset_class_map map;
        if (dataset_map_classes(r->val, names, r->train->n_classes, &map)) {
            cli_err("%s: no class matches the training data's", o->val);
            return -1;
        }
        for (int i = 0; i < map.n_unmatched; i++)
            fprintf(stderr, "%s: class '%s' is not in the training data: %d images left out\n", o->val,
                    map.unmatched[i], map.unmatched_count[i]);
    } else {
        if (!(r->val = dataset_split(r->train, o->val_share, o->seed, o->val_copies, &split))) {
            cli_err("--val-split: %s", app_error());
            return -1;
        }
        if (o->val_copies == DATASET_COPIES_EXCLUDE && split.with_copy)
            fprintf(stderr, "validation: %d images with an exact copy in %s stay in training\n",
                    split.with_copy, o->data);
        else if (split.val_with_copy)
            fprintf(stderr, "validation: %d of its %d images have an exact copy in training"
                            " (--val-copies exclude keeps them out)\n", split.val_with_copy, r->val->n);
    }
    if (o->limit && dataset_limit(r->train, o->limit, o->seed ^ 0x5bd1e995)) {
        cli_err("--limit: %s", app_error());
        return -1;
    }
    if (r->train->n < o->batch) {
        if (o->limit)
            cli_err("--limit %d: %d training images, fewer than one batch of %d (give a larger "
                    "--limit or a smaller --batch)", o->limit, r->train->n, o->batch);
        else
            cli_err("%s: %d training images, fewer than one batch of %d (give --batch %d or less)",
                    o->data, r->train->n, o->batch, r->train->n);
        return -1;
    }
    if (r->val->n == 0) {
        if (o->val)
            cli_err("--val %s: no validation images", o->val);
        else if (split.with_copy >= n_loaded && o->val_copies == DATASET_COPIES_EXCLUDE)
            /* a larger share would not help: the faces it could take have copies */
            cli_err("--val-split %g: no validation images: all %d of %s's images have an exact "
                    "copy in it, and those stay in training (--val-copies exclude); give --val-copies "
                    "allow, or --val", o->val_share, split.with_copy, o->data);
        else /* stratified: each class's share rounds to nothing */
            cli_err("--val-split %g: no validation images (%g of each class of %s rounds to none; "
                    "give a larger --val-split, or --val)", o->val_share, o->val_share, o->data);
        return -1;
    }
    r->st.data_fingerprint = dataset_fingerprint(r->val, dataset_fingerprint(r->train, 0));
    int counts[NN_MAX_CLASSES], k = r->train->n_classes;
    dataset_class_counts(r->train, counts);
    fprintf(stderr, "data: %d training, %d validation images (%.1fs); classes:", r->train->n, r->val->n,
            nn_now() - t_load);
    for (int i = 0; i < k; i++)
        fprintf(stderr, " %s %d", r->train->classes[i], counts[i]);
    fputc('\n', stderr);
    /* A class folder left empty (or a CSV without rows of an emotion) is
     * still a class: with one class of images left, a model of two or
     * more was trained on it without a word, 100% on validation. */
    int with = 0, first = -1;
    for (int i = 0; i < k; i++)
        if (counts[i] && with++ == 0)
            first = i;
    if (!r->roll_on && k >= 2 && with < 2 && first >= 0) {
        cli_err("%s: only class '%s' has training images: a classifier learns from two classes "
                "or more", o->data, r->train->classes[first]);
        return -1;
    }
    for (int i = 0; i < k && !r->roll_on; i++)
        if (!counts[i])
            fprintf(stderr, "%s: class '%s' has no training images: the model gets the class but "
                            "cannot learn it\n", o->data, r->train->classes[i]);
    if (r->roll_on) {
        /* The faces' own labels go; each one is turned when drawn. */
        roll_target_relabel(r->train, &r->roll);
        if (roll_target_make_val(r->val, &r->roll, o->seed, &r->val_roll)) {
            cli_err("%s", app_error());
            return -1;
        }
        fprintf(stderr, "target: roll, %d bins of %g degrees over -%g..%g\n", r->roll.bins,
                (double)r->roll.step, (double)r->roll.max, (double)r->roll.max);
    }
    return 0;
}

/* The net: the checkpoint's (loaded already; its classes must be the
 * data's), or a fresh one of --arch or of --init's spec (taking --init's
 * weights where they fit); then threads, precision and --teacher. */
static int setup_net(train_run *r, const char *resume, nn_net **init)
{
    const train_opts *o = &r->o;
    int k = r->train->n_classes;
    if (resume) {
        if (nn_net_n_classes(r->net) != k) {
            cli_err("%s: checkpoint has %d classes, the data %d", resume, nn_net_n_classes(r->net), k);
            return -1;
        }
    } else {
        if (k < 2) {
            cli_err("%s: one class ('%s'): a classifier learns from two class folders or more", o->data,
                    r->train->classes[0]);
            return -1;
        }
        r->net = *init ? nn_net_from_spec(nn_net_spec(*init), k) : nn_net_from_arch(o->arch, k);
        if (!r->net) {
            cli_err("--arch: %s", nn_error());
            return -1;
        }
        nn_net_init(r->net, o->seed);
        const char *names[NN_MAX_CLASSES];
        for (int i = 0; i < k; i++)
            names[i] = r->train->classes[i];
        nn_net_set_classes(r->net, names, k);
        nn_net_preproc(r->net)->equalize = o->equalize;
        if (*init) {
            int found = nn_net_transfer(r->net, *init);
            if (found < 0) {
                cli_err("--init %s: %s", o->init, nn_error());
                return -1;
            }
            fprintf(stderr, "starting from %s: %d of the %d classes are its own%s\n", o->init, found, k,
                    found < k ? ", the others start fresh" : "");
            nn_net_free(*init);
            *init = NULL;
        }
    }
    if (nn_net_set_threads(r->net, o->threads)) {
        cli_err("--threads: %s", nn_error());
        return -1;
    }
    if (cmd_set_precision(r->net, o->precision))
        return -1;
    if (o->teacher) {
        float t = 4.0f, alpha = 0.5f;
        if (o->distill)
            distill_parse(o->distill, &t, &alpha); /* checked by the parser */
        if (distill_open(&r->kd, o->teacher, r->net, o->threads, o->batch, t, alpha)) {
            cli_err("%s", app_error());
            return -1;
        }
        fprintf(stderr, "distilling from %d teacher%s at temperature %g, weight %g\n", r->kd.n,
                r->kd.n == 1 ? "" : "s", (double)t, (double)alpha);
    }
    return 0;
}

/* Optimizer, schedule, class weights, the preprocessed validation faces,
 * and the run's position: the checkpoint's, or the start. Returns GO_ON,
 * else the exit code. */
static int setup_training(train_run *r, checkpoint_state *saved, const char *resume)
{
    const train_opts *o = &r->o;
    checkpoint_state *s = &r->st;
    nn_optim_cfg oc = nn_optim_defaults(o->optim);
    if (o->lr_set)
        oc.lr = o->lr;
    if (o->wd_set)
        oc.weight_decay = o->weight_decay;
    if (o->momentum > 0)
        oc.momentum = o->momentum;
    if (!(r->opt = nn_optim_new(r->net, &oc))) {
        cli_err("%s", nn_error());
        return CLI_EXIT_FAIL;
    }
    if (nn_sched_parse(&r->sched, o->schedule, oc.lr, o->epochs)) {
        cli_err("--schedule: %s", nn_error());
        return CLI_EXIT_USAGE;
    }
    /* Balanced sampling needs full inverse-frequency weights. */
    dataset_class_weights(r->train, strcmp(o->balance, "sample") ? o->balance_power : 1.0, r->class_w);
    /* Validation faces are preprocessed once. */
    int c, h, w;
    nn_net_input_shape(r->net, &c, &h, &w);
    size_t per = (size_t)c * h * w;
    if (!(r->val_x = malloc((size_t)r->val->n * per * sizeof(float)))) {
        cli_err("out of memory");
        return CLI_EXIT_FAIL;
    }
    cmd_preprocess(r->net, r->val, NULL, r->val->n, r->val_x);
    if (resume) {
        if (checkpoint_restore(saved, s, r->net, r->opt, &r->sched, (int)o->optim, r->train->n,
                               s->data_fingerprint)) {
            cli_err("%s: %s", resume, app_error());
            return CLI_EXIT_FAIL;
        }
        fprintf(stderr, "resuming at epoch %d, batch %d\n", s->epoch + 1, s->batch);
    } else {
        s->augment_rng = o->seed * 0x9E3779B97F4A7C15ULL + 1;
        s->order_rng = o->seed * 0xD1B54A32D192ED03ULL + 2;
        s->best_acc = -1;
        s->batch = 0;
    }
    return GO_ON;
}

/* The best model (or --swa's average when it beat it) calibrated and saved
 * to --out; it becomes r->net for the report. */
static int save_best(train_run *r)
{
    const train_opts *o = &r->o;
    const checkpoint_state *s = &r->st;
    nn_net *best = s->best ? nn_net_load_mem(s->best, s->best_len) : NULL;
    if (!best) {
        cli_err("no model to save: %s", nn_error());
        return -1;
    }
    nn_meta *m = nn_net_meta(best);
    m->created = (int64_t)time(NULL);
    m->train_seconds = s->total_seconds;
    nn_net_set_threads(best, o->threads);
    /* A calibration that cannot be fitted (too few validation faces) must
     * not cost the run: the model is saved uncalibrated, and says so. */
    if (calibrate_fit_net(best, r->val_x, r->val->labels, r->val->n, o->calib, stderr)) {
        cli_err("%s", app_error());
        nn_net_set_calib(best, NULL);
        fprintf(stderr, "the model is saved without calibration ('emotion-train calibrate' can add it)\n");
    }
    if (cmd_save_model(best, o->out, o->ckpt) != 0) {
        nn_net_free(best);
        return -1;
    }
    char which[64];
    if (r->swa_kept)
        snprintf(which, sizeof which, "the weight average of epochs %d-%d", train_loop_swa_first(s),
                 s->epoch);
    else
        snprintf(which, sizeof which, "epoch %d", s->best_epoch);
    fprintf(stderr, "saved %s: best validation accuracy %.2f%% (%s), %.1f min\n", o->out,
            100.0 * s->best_acc, which, s->total_seconds / 60);
    nn_net_free(r->net);
    r->net = best;
    nn_net_set_threads(r->net, o->threads);
    return 0;
}

static void free_run(train_run *r)
{
    distill_close(&r->kd);
    train_opts_free_args(r->argv, r->argc);
    free(r->st.order);
    free(r->st.history);
    free(r->st.best);
    free(r->st.swa);
    free(r->val_x);
    free(r->val_roll);
    nn_optim_free(r->opt);
    nn_net_free(r->net);
    dataset_free(r->train);
    dataset_free(r->val);
}

/* Everything before the epochs; returns GO_ON, else the exit code. */
static int setup(train_run *r, int argc, char **argv, checkpoint_state *saved, const char **resume)
{
    nn_net *init = NULL; /* --init's model until its weights are copied */
    int c, h, w;
    int rc = setup_options(r, argc, argv, saved, resume);
    if (rc == GO_ON)
        rc = setup_arch(r, saved, *resume, &init, &c, &h, &w);
    if (rc == GO_ON && r->o.distill && !r->o.teacher) {
        cli_err("train: --distill needs --teacher");
        rc = CLI_EXIT_USAGE;
    }
    if (rc == GO_ON && (load_data(r, w, h) || setup_net(r, *resume, &init)))
        rc = CLI_EXIT_FAIL;
    if (rc == GO_ON)
        rc = setup_training(r, saved, *resume);
    nn_net_free(init);
    return rc;
}

int cmd_train(int argc, char **argv)
{
    train_run r;
    memset(&r, 0, sizeof r);
    r.swa_acc = -1;
    r.tty = isatty(2);
    checkpoint_state saved;
    memset(&saved, 0, sizeof saved);
    const char *resume = NULL;
    int rc = setup(&r, argc, argv, &saved, &resume);
    checkpoint_free(&saved);
    if (rc != GO_ON) {
        free_run(&r);
        return rc;
    }
    train_loop_catch_signals();
    const train_opts *o = &r.o;
    char command[1024];
    train_opts_command(command, sizeof command, r.argc, r.argv);
    fprintf(stderr, "training %s (%zu parameters, %llu MACs/face) for %d epochs, batch %d, %d thread%s%s\n",
            o->arch, nn_net_n_params(r.net), (unsigned long long)nn_net_macs(r.net), o->epochs, o->batch,
            o->threads, o->threads == 1 ? "" : "s",
            nn_net_precision(r.net) == NN_PRECISION_BF16 ? ", bf16" : "");
    if (mix_on(&o->mix))
        fprintf(stderr, "mixing %g of the images: mixup alpha %g, cutmix alpha %g (0 off)\n",
                (double)o->mix.prob, (double)o->mix.mixup, (double)o->mix.cutmix);
    rc = train_loop_run(&r, command);
    if (rc == CLI_EXIT_OK && save_best(&r))
        rc = CLI_EXIT_FAIL;
    if (rc == CLI_EXIT_OK && o->report && write_report(&r, o->out))
        rc = CLI_EXIT_FAIL;
    free_run(&r);
    return rc;
}
