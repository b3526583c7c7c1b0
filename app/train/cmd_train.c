/* cmd_train.c - `emotion-train train`: trains a model on a data set with
 * our engine. Validation every epoch, the best model kept, learning-rate
 * schedules, early stopping, a checkpoint every epoch and on Ctrl-C that
 * --resume continues exactly, a progress line, and an optional report. */
#include "app_err.h"
#include "augment.h"
#include "calibrate.h"
#include "checkpoint.h"
#include "cli.h"
#include "commands.h"
#include "dataset.h"
#include "distill.h"
#include "mix.h"
#include "outpath.h"
#include "report.h"
#include "trainer_common.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    const char *data, *val, *split, *val_split_name, *arch, *out, *report, *ckpt, *schedule, *init;
    const char *augment, *balance, *precision;
    float val_share, lr, weight_decay, momentum, smoothing, balance_power;
    int epochs, batch, limit, threads, patience, equalize, interrupt_after, swa;
    int lr_set, wd_set, arch_set;
    unsigned long long seed;
    nn_optim_kind optim;
    mix_cfg mix;        /* --mixup, --cutmix, --mix-prob */
    cal_mode calib;     /* --calibrate */
    const char *teacher, *distill; /* --teacher, --distill */
} train_opts;

static volatile sig_atomic_t interrupted;
static int batches_this_run; /* for --interrupt-after (tests) */
static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
    signal(SIGINT, SIG_DFL); /* a second Ctrl-C ends at once */
}

static void defaults(train_opts *o);

static void usage(FILE *f)
{
    train_opts d; /* the defaults shown are the ones used */
    defaults(&d);
    nn_optim_cfg sgd = nn_optim_defaults(NN_SGD), adam = nn_optim_defaults(NN_ADAM),
                 adamw = nn_optim_defaults(NN_ADAMW);
    fprintf(f,
        "usage: emotion-train train --data PATH [--val PATH | --val-split F] [--split NAME]\n"
        "         [--arch NAME|FILE] [--epochs N] [--batch N] [--optimizer sgd|adam|adamw]\n"
        "         [--lr X] [--weight-decay X] [--momentum X] [--schedule S] [--augment LIST]\n"
        "         [--balance none|weights|sample] [--label-smoothing X] [--patience N]\n"
        "         [--limit N] [--seed S] [--threads N] --out MODEL [--report DIR]\n"
        "         [--checkpoint PATH] [--resume CHECKPOINT] [--init MODEL] [--swa EPOCH]\n"
        "         [--mixup ALPHA] [--cutmix ALPHA] [--mix-prob P] [--no-equalize]\n"
        "         [--calibrate auto|temperature|vector|none] [--precision fp32|bf16|auto]\n"
        "         [--teacher MODEL[,MODEL...] [--distill T[:ALPHA]]]\n"
        "\n"
        "  --data PATH        folder of class folders, or a fer2013.csv\n"
        "  --split NAME       CSV rows whose Usage is NAME (Training, PublicTest, PrivateTest)\n"
        "  --val PATH         validation data (default: --val-split 0.1 of --data)\n"
        "  --val-usage NAME   CSV Usage of --val rows (default PublicTest)\n"
        "  --arch NAME|FILE   preset (fer-classic, fer-compact, einterface-128, fer-vgg,\n"
        "                     fer-vgg-wide, fer-resnet) or spec file (default %s)\n"
        "  --epochs N         passes over the training data (default %d)\n"
        "  --batch N          images per step (default %d)\n"
        "  --optimizer O      sgd, adam or adamw (default adam)\n"
        "  --lr X             learning rate (default %g for sgd, %g for adam and adamw)\n"
        "  --weight-decay X   (default %g for sgd, %g for adam, %g for adamw)\n"
        "  --momentum X       sgd's momentum (default %g)\n"
        "  --label-smoothing X  (default 0, off)\n"
        "  --val-split F      share of --data kept for validation (default 0.1)\n"
        "  --seed S           (default %llu)\n"
        "  --threads N        (default %d)\n"
        "  --schedule S       const | step:EVERY:GAMMA | cosine[:WARMUP:MIN_FRACTION] |\n"
        "                     plateau:PATIENCE:GAMMA (default cosine:1:0.01)\n"
        "  --augment LIST     crop,flip,rotate,zoom,color,erase | all | none\n"
        "                     (default crop,flip,rotate,zoom,erase)\n"
        "  --balance MODE     class imbalance: weights (loss weights, default), sample\n"
        "                     (class-balanced sampling) or none\n"
        "  --mixup ALPHA      mix each training image with another of its batch,\n"
        "                     lam*a + (1-lam)*b with lam ~ Beta(ALPHA, ALPHA) (e.g. 0.2),\n"
        "                     and train on the soft target lam*a's class + (1-lam)*b's\n"
        "  --cutmix ALPHA     paste a box of another image covering 1-lam of it instead,\n"
        "                     lam ~ Beta(ALPHA, ALPHA) (e.g. 1.0); with --mixup too, each\n"
        "                     mixed image gets one of the two at random\n"
        "  --mix-prob P       share of images mixed (default 1); the training accuracy\n"
        "                     shown counts a mixed image right when it is its larger\n"
        "                     share's class. Smoothing and class weights apply to the mix\n"
        "  --calibrate MODE   after training, fit the kept model's probability calibration\n"
        "                     on the validation data: a temperature, vector scaling (a\n"
        "                     scale and bias per class), auto (default: the one with the\n"
        "                     lower cross-validated NLL there) or none\n"
        "  --teacher LIST     knowledge distillation from these trained models (same\n"
        "                     classes, input size and equalization as the student): each\n"
        "                     batch, as augmented and mixed, goes through them too\n"
        "  --distill T[:A]    the loss is A * T^2 * KL(teachers' softmax(z/T), averaged ||\n"
        "                     student's softmax(z/T)) + (1-A) * cross-entropy on the labels\n"
        "                     (default 4:0.5)\n"
        "  --patience N       stop after N epochs without a better validation accuracy (0 off)\n"
        "  --swa EPOCH        also average the weights after each epoch from EPOCH on; at the\n"
        "                     end the average (batch-norm statistics re-estimated) is kept\n"
        "                     if it validates better than the best epoch\n"
        "  --limit N          train on a seeded, stratified subset of N images\n"
        "  --checkpoint PATH  written every epoch and on Ctrl-C (default MODEL.ckpt)\n"
        "  --resume CKPT      continue a run; options given again override the saved ones\n"
        "  --precision P      arithmetic of the training products: fp32 (default), bf16\n"
        "                     (BF16 operands, FP32 sums and weights; needs AVX512_BF16,\n"
        "                     else fp32 with a warning) or auto (bf16 where supported)\n"
        "  --init MODEL       start from a trained model's weights, architecture and\n"
        "                     preprocessing (fine-tuning); its classifier rows follow class\n"
        "                     names, classes it lacks start fresh\n"
        "  --no-equalize      no histogram equalization of faces (default: equalized)\n",
        d.arch, d.epochs, d.batch, (double)sgd.lr, (double)adam.lr, (double)sgd.weight_decay,
        (double)adam.weight_decay, (double)adamw.weight_decay, (double)sgd.momentum, d.seed,
        d.threads);
}

/* Parses options into o. Returns 0, 1 for --help, -1 on a usage error. */
static int parse(int argc, char **argv, train_opts *o, const char **resume)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (!strcmp(a, "--help"))
            return 1;
        if (!strcmp(a, "--no-equalize")) {
            o->equalize = 0;
            continue;
        }
        if (strncmp(a, "--", 2)) {
            ed_err("train: unexpected argument '%s'", a);
            return -1;
        }
        if (!(v = cli_value(argc, argv, &i)))
            return -1;
#define OPT(name) (!strcmp(a, name))
        if (OPT("--data")) o->data = v;
        else if (OPT("--val")) o->val = v;
        else if (OPT("--val-split")) { if (cli_float(a, v, 0.001, 0.9, &o->val_share)) return -1; }
        else if (OPT("--val-usage")) o->val_split_name = v;
        else if (OPT("--split")) o->split = v;
        else if (OPT("--arch")) { o->arch = v; o->arch_set = 1; }
        else if (OPT("--init")) o->init = v;
        else if (OPT("--epochs")) { if (cli_int(a, v, 1, 100000, &o->epochs)) return -1; }
        else if (OPT("--batch")) { if (cli_int(a, v, 2, 4096, &o->batch)) return -1; }
        else if (OPT("--optimizer")) {
            if (!strcmp(v, "sgd")) o->optim = NN_SGD;
            else if (!strcmp(v, "adam")) o->optim = NN_ADAM;
            else if (!strcmp(v, "adamw")) o->optim = NN_ADAMW;
            else { ed_err("--optimizer: '%s' is not sgd, adam or adamw", v); return -1; }
        }
        else if (OPT("--lr")) { if (cli_float(a, v, 1e-8, 10, &o->lr)) return -1; o->lr_set = 1; }
        else if (OPT("--weight-decay")) { if (cli_float(a, v, 0, 1, &o->weight_decay)) return -1; o->wd_set = 1; }
        else if (OPT("--momentum")) { if (cli_float(a, v, 0, 0.999, &o->momentum)) return -1; }
        else if (OPT("--label-smoothing")) { if (cli_float(a, v, 0, 0.5, &o->smoothing)) return -1; }
        else if (OPT("--mixup")) { if (cli_float(a, v, 0, 100, &o->mix.mixup)) return -1; }
        else if (OPT("--cutmix")) { if (cli_float(a, v, 0, 100, &o->mix.cutmix)) return -1; }
        else if (OPT("--mix-prob")) { if (cli_float(a, v, 0, 1, &o->mix.prob)) return -1; }
        else if (OPT("--teacher")) o->teacher = v;
        else if (OPT("--distill")) {
            float t, al;
            if (distill_parse(v, &t, &al)) return -1;
            o->distill = v;
        }
        else if (OPT("--calibrate")) { if (cal_parse_mode(a, v, &o->calib)) return -1; }
        else if (OPT("--schedule")) o->schedule = v;
        else if (OPT("--augment")) o->augment = v;
        else if (OPT("--balance")) {
            if (strcmp(v, "none") && strcmp(v, "weights") && strcmp(v, "sample")) {
                ed_err("--balance: '%s' is not none, weights or sample", v);
                return -1;
            }
            o->balance = v;
        }
        else if (OPT("--balance-power")) { if (cli_float(a, v, 0, 2, &o->balance_power)) return -1; }
        else if (OPT("--patience")) { if (cli_int(a, v, 0, 100000, &o->patience)) return -1; }
        else if (OPT("--swa")) { if (cli_int(a, v, 1, 100000, &o->swa)) return -1; }
        else if (OPT("--limit")) { if (cli_int(a, v, 1, 1 << 30, &o->limit)) return -1; }
        else if (OPT("--seed")) {
            char *end;
            o->seed = strtoull(v, &end, 10);
            if (*end || !*v) { ed_err("--seed: '%s' is not a whole number", v); return -1; }
        }
        else if (OPT("--threads")) { if (cli_int(a, v, 1, 256, &o->threads)) return -1; }
        else if (OPT("--out")) o->out = v;
        else if (OPT("--precision")) {
            if (strcmp(v, "fp32") && strcmp(v, "bf16") && strcmp(v, "auto")) {
                ed_err("--precision: '%s' is not fp32, bf16 or auto", v);
                return -1;
            }
            o->precision = v;
        }
        else if (OPT("--report")) o->report = v;
        else if (OPT("--checkpoint")) o->ckpt = v;
        else if (OPT("--resume")) { if (resume) *resume = v; }
        else if (OPT("--interrupt-after")) { if (cli_int(a, v, 1, 1 << 30, &o->interrupt_after)) return -1; }
        else { ed_err("train: unknown option '%s'", a); return -1; }
#undef OPT
    }
    return 0;
}

static void defaults(train_opts *o)
{
    memset(o, 0, sizeof *o);
    o->arch = "fer-vgg";
    o->epochs = 30;
    o->batch = 64;
    o->optim = NN_ADAM;
    o->schedule = "cosine:1:0.01";
    o->augment = "crop,flip,rotate,zoom,erase";
    o->balance = "weights";
    o->balance_power = 0.5f;
    o->threads = 2;
    o->equalize = 1;
    o->seed = 1;
    o->precision = "fp32";
    o->mix.prob = 1.0f;
    o->calib = CAL_AUTO;
}

static void fmt_duration(double s, char *buf, size_t len)
{
    if (!isfinite(s) || s < 0)
        snprintf(buf, len, "?");
    else if (s >= 3600)
        snprintf(buf, len, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
    else
        snprintf(buf, len, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
}

typedef struct {
    train_opts o;
    int argc;           /* the run's effective arguments, for checkpoints */
    char **argv;
    nn_net *net;
    nn_optim *opt;
    nn_sched sched;
    aug_cfg aug;
    ds_dataset *train, *val;
    float *val_x;
    float class_w[NN_MAX_CLASSES];
    ckpt_state st;      /* position, RNGs, history, best model */
    int tty;
    distill kd;         /* --teacher: the teachers (kd.n == 0 when none) */
    double swa_acc, swa_loss; /* the weight average's validation figures (-1 none) */
    int swa_kept;       /* ... and whether it beat the best epoch */
} run;

static int save_checkpoint(run *r)
{
    ckpt_state *s = &r->st;
    s->argc = r->argc < CKPT_MAX_ARGS ? r->argc : CKPT_MAX_ARGS;
    for (int i = 0; i < s->argc; i++)
        s->argv[i] = r->argv[i];
    s->net_rng = *nn_net_rng(r->net);
    s->sched_lr = r->sched.cur_lr;
    s->sched_best = r->sched.best;
    s->sched_bad = r->sched.bad_epochs;
    s->optim_kind = (int32_t)r->o.optim;
    s->optim_t = *nn_optim_step_count(r->opt);
    s->n_optim = nn_optim_state_size(r->opt);
    s->optim = nn_optim_state(r->opt);
    s->n_swa = s->swa ? nn_net_n_params(r->net) : 0;
    size_t len;
    void *model = nn_net_save_mem(r->net, &len);
    if (!model) {
        ed_err("checkpoint: %s", nn_error());
        return -1;
    }
    s->model = model;
    s->model_len = len;
    int rc = ckpt_save(r->o.ckpt, s);
    free(model);
    s->model = NULL;
    s->optim = NULL;
    for (int i = 0; i < s->argc; i++)
        s->argv[i] = NULL;
    s->argc = 0;
    if (rc)
        ed_err("%s", app_error());
    return rc;
}

static void show_progress(run *r, int epoch, int b, int nb, double t0, int final)
{
    const ckpt_state *s = &r->st;
    double el = s->epoch_seconds + (nn_now() - t0);
    double ips = el > 0 ? s->seen / el : 0;
    double eta = ips > 0 ? (double)(nb - b) * r->o.batch / ips : NAN;
    char etas[32];
    fmt_duration(eta, etas, sizeof etas);
    double loss = s->seen ? s->loss_sum / s->seen : 0, acc = s->seen ? (double)s->correct / s->seen : 0;
    if (r->tty) {
        int width = 24, fill = nb ? (int)((long)width * b / nb) : width;
        char bar[32];
        for (int i = 0; i < width; i++)
            bar[i] = i < fill ? '=' : i == fill ? '>' : ' ';
        bar[width] = 0;
        fprintf(stderr, "\repoch %d/%d [%s] %d/%d  %.0f img/s  loss %.4f  acc %.1f%%  ETA %s  ",
                epoch + 1, r->o.epochs, bar, b, nb, ips, loss, 100 * acc, final ? "0m00s" : etas);
    } else if (!final) {
        fprintf(stderr, "epoch %d/%d batch %d/%d  %.0f img/s  loss %.4f  acc %.1f%%  ETA %s\n",
                epoch + 1, r->o.epochs, b, nb, ips, loss, 100 * acc, etas);
    }
}

/* Train batches [st.batch, nb) of the epoch. Returns 0, 1 when interrupted
 * (checkpoint written), -1 on error. */
static int run_epoch(run *r, int epoch, float lr)
{
    ckpt_state *s = &r->st;
    const int B = r->o.batch, nb = s->n_order / B, k = nn_net_n_classes(r->net);
    int c, h, w;
    nn_net_input_shape(r->net, &c, &h, &w);
    const size_t per = (size_t)c * h * w, pix = (size_t)w * h;
    float *x = malloc((size_t)B * per * sizeof *x);
    int *y = malloc((size_t)B * sizeof *y);
    uint8_t *tmp = malloc(pix);
    /* --mixup, --cutmix: a copy of the batch, soft targets, dominant labels */
    const int mixing = mix_on(&r->o.mix);
    float *mix_x = mixing ? malloc((size_t)B * per * sizeof *mix_x) : NULL;
    float *targets = mixing ? malloc((size_t)B * k * sizeof *targets) : NULL;
    int *dom = mixing ? malloc((size_t)B * sizeof *dom) : NULL;
    if (!x || !y || !tmp || (mixing && (!mix_x || !targets || !dom))) {
        free(x); free(y); free(tmp); free(mix_x); free(targets); free(dom);
        ed_err("out of memory");
        return -1;
    }
    nn_loss_cfg loss_cfg = {.label_smoothing = r->o.smoothing,
                            .class_weights = strcmp(r->o.balance, "weights") ? NULL : r->class_w,
                            .targets = targets};
    if (r->kd.n) {
        loss_cfg.teacher = r->kd.q;
        loss_cfg.distill_t = r->kd.t;
        loss_cfg.distill_alpha = r->kd.alpha;
    }
    double t0 = nn_now(), last_show = 0;
    int rc = 0;
    for (int b = s->batch; b < nb; b++) {
        if (interrupted || (r->o.interrupt_after && batches_this_run == r->o.interrupt_after)) {
            s->batch = b;
            s->epoch_seconds += nn_now() - t0;
            s->total_seconds += nn_now() - t0;
            if (r->tty)
                fputc('\n', stderr);
            rc = save_checkpoint(r) ? -1 : 1;
            if (rc == 1)
                fprintf(stderr, "interrupted: checkpoint written to %s; continue with --resume %s\n",
                        r->o.ckpt, r->o.ckpt);
            goto out;
        }
        for (int i = 0; i < B; i++) {
            int idx = s->order[b * B + i];
            aug_apply(&r->aug, ds_image(r->train, idx), tmp, w, h, &s->aug_rng);
            nn_preprocess_u8(r->net, tmp, x + (size_t)i * per);
            y[i] = r->train->labels[idx];
        }
        if (mixing)
            mix_batch(&r->o.mix, x, mix_x, y, B, c, h, w, k, targets, dom, &s->aug_rng);
        if (r->kd.n && distill_batch(&r->kd, r->net, x, B)) {
            rc = -1;
            goto out;
        }
        const float *p = nn_net_forward(r->net, x, B, 1);
        if (!p) {
            ed_err("%s", nn_error());
            rc = -1;
            goto out;
        }
        for (int i = 0; i < B; i++)
            s->correct += probs_argmax(p + (size_t)i * k, k) == (mixing ? dom : y)[i];
        nn_net_zero_grad(r->net);
        float loss = nn_net_backward(r->net, y, &loss_cfg);
        if (!isfinite(loss)) {
            ed_err("training diverged at epoch %d batch %d (loss %g); try a lower --lr", epoch + 1, b, (double)loss);
            rc = -1;
            goto out;
        }
        nn_optim_step(r->opt, lr);
        s->loss_sum += (double)loss * B;
        s->seen += B;
        batches_this_run++;
        double now = nn_now();
        if (now - last_show > (r->tty ? 0.25 : 60.0)) {
            show_progress(r, epoch, b + 1, nb, t0, 0);
            last_show = now;
        }
    }
    show_progress(r, epoch, nb, nb, t0, 1);
    s->epoch_seconds += nn_now() - t0;
    s->total_seconds += nn_now() - t0;
    s->batch = nb;
out:
    free(x);
    free(y);
    free(tmp);
    free(mix_x);
    free(targets);
    free(dom);
    return rc;
}

static int validate(run *r, double *loss, double *acc)
{
    int n = r->val->n;
    int *pred = malloc((size_t)n * sizeof *pred);
    if (!pred || tc_classify(r->net, r->val_x, n, r->val->labels, NULL, pred, loss)) {
        free(pred);
        ed_err("validation: %s", nn_error());
        return -1;
    }
    int correct = 0;
    for (int i = 0; i < n; i++)
        correct += pred[i] == r->val->labels[i];
    *acc = (double)correct / n;
    free(pred);
    return 0;
}

/* --swa: the first epoch in the running average (it ends at s->epoch). */
static int swa_first_epoch(const ckpt_state *s) { return s->epoch - s->swa_count + 1; }

/* --swa: folds the weights after this epoch into the running average. */
static int swa_fold(run *r)
{
    ckpt_state *s = &r->st;
    size_t n = nn_net_n_params(r->net);
    if (!s->swa && !(s->swa = calloc(n, sizeof *s->swa))) {
        ed_err("out of memory");
        return -1;
    }
    const float *p = nn_net_params(r->net);
    float inv = 1.0f / (float)++s->swa_count;
    for (size_t i = 0; i < n; i++)
        s->swa[i] += (p[i] - s->swa[i]) * inv;
    return 0;
}

/* --swa at the end of the run: the averaged weights get batch-norm
 * statistics of their own from the training faces (unaugmented, in
 * shuffled batches, so each batch's statistics are those of the whole
 * set) and are validated; they replace the best epoch when better. The
 * run's last checkpoint is already written, so on Ctrl-C this returns 1
 * and --resume repeats it. Returns 0, 1 or -1. */
static int swa_finish(run *r, const char *command)
{
    ckpt_state *s = &r->st;
    const int B = r->o.batch, n = r->train->n;
    int c, h, w;
    nn_net_input_shape(r->net, &c, &h, &w);
    const size_t per = (size_t)c * h * w;
    float *x = malloc((size_t)B * per * sizeof *x);
    int *order = malloc((size_t)n * sizeof *order);
    int rc = -1;
    if (!x || !order) {
        ed_err("out of memory");
        goto out;
    }
    memcpy(nn_net_params(r->net), s->swa, nn_net_n_params(r->net) * sizeof(float));
    uint64_t rng = r->o.seed * 0x9E3779B97F4A7C15ULL + 3;
    ds_epoch_order(r->train, NULL, &rng, order, n);
    nn_net_bn_reset(r->net);
    double t0 = nn_now();
    for (int b = 0; (b + 1) * B <= n; b++) {
        if (interrupted) {
            fprintf(stderr, "interrupted: checkpoint written to %s; --resume %s finishes the run\n",
                    r->o.ckpt, r->o.ckpt);
            rc = 1;
            goto out;
        }
        for (int i = 0; i < B; i++)
            nn_preprocess_u8(r->net, ds_image(r->train, order[b * B + i]), x + (size_t)i * per);
        if (nn_net_bn_accumulate(r->net, x, B, b + 1)) {
            ed_err("%s", nn_error());
            goto out;
        }
    }
    double vloss, vacc;
    if (validate(r, &vloss, &vacc))
        goto out;
    s->total_seconds += nn_now() - t0;
    int from = swa_first_epoch(s);
    r->swa_acc = (float)vacc; /* as best_acc keeps it, so equal figures print equal */
    r->swa_loss = vloss;
    r->swa_kept = vacc > s->best_acc;
    fprintf(stderr, "weight average of epochs %d-%d: val loss %.4f acc %.2f%%%s  (%.0fs)\n", from,
            s->epoch, vloss, 100.0 * vacc, r->swa_kept ? "  best" : "", nn_now() - t0);
    if (r->swa_kept) {
        nn_meta *m = nn_net_meta(r->net);
        snprintf(m->dataset, sizeof m->dataset, "%s", r->o.data);
        snprintf(m->command, sizeof m->command, "%s", command);
        m->epochs = s->epoch;
        m->val_accuracy = (float)vacc;
        size_t bl;
        void *best = nn_net_save_mem(r->net, &bl);
        if (!best) {
            ed_err("%s", nn_error());
            goto out;
        }
        free(s->best);
        s->best = best;
        s->best_len = bl;
        s->best_acc = (float)vacc;
    }
    rc = 0;
out:
    free(x);
    free(order);
    return rc;
}

/* The report: curves, confusion matrix and per-class figures on the
 * validation data, first-layer filters and feature maps, sample faces. */
static int write_report(run *r, const char *model_path)
{
    int n = r->val->n, k = nn_net_n_classes(r->net);
    int *pred = malloc((size_t)n * sizeof *pred);
    float *probs = malloc((size_t)n * k * sizeof *probs);
    int rc = -1, said = 0;
    rep_metrics m;
    const char *names[NN_MAX_CLASSES];
    for (int i = 0; i < k; i++)
        names[i] = nn_net_class(r->net, i);
    if (!pred || !probs || tc_classify(r->net, r->val_x, n, NULL, probs, pred, NULL) ||
        rep_metrics_compute(&m, r->val->labels, pred, n, k))
        goto done;
    int idx[24];
    int ns = rep_pick_samples(r->val->labels, pred, n, k, 24, 7, idx);
    int c, h, w;
    nn_net_input_shape(r->net, &c, &h, &w);
    size_t pix = (size_t)w * h;
    uint8_t *faces = malloc((size_t)(ns > 0 ? ns : 1) * pix);
    int *st = malloc(sizeof(int) * 24), *sp = malloc(sizeof(int) * 24);
    float *sc = malloc(sizeof(float) * 24);
    float *fx = malloc(4 * (size_t)c * pix * sizeof(float));
    if (!faces || !st || !sp || !sc || !fx) {
        free(faces); free(st); free(sp); free(sc); free(fx);
        goto done;
    }
    for (int i = 0; i < ns; i++) {
        memcpy(faces + i * pix, ds_image(r->val, idx[i]), pix);
        st[i] = r->val->labels[idx[i]];
        sp[i] = pred[idx[i]];
        sc[i] = probs[(size_t)idx[i] * k + sp[i]];
    }
    rep_report rep = {
        .title = r->o.arch, .classes = names, .n_classes = k,
        .history = r->st.history, .n_epochs = r->st.n_history,
        .metrics = &m, .metrics_of = "validation",
        .best_val_accuracy = r->st.best_acc, .best_epoch = r->st.best_epoch,
        .sample_faces = faces, .n_samples = ns, .sample_true = st, .sample_pred = sp, .sample_conf = sc,
        .model = model_path, .data = r->o.data, .arch = r->o.arch,
        .command = nn_net_meta(r->net)->command, .train_seconds = r->st.total_seconds,
        .swa_val_accuracy = r->swa_acc, .swa_val_loss = r->swa_loss, .swa_from = swa_first_epoch(&r->st),
        .swa_to = r->st.epoch, .swa_kept = r->swa_kept,
    };
    /* First conv layer: its filters, and its maps for a few faces. */
    int fn = ns < 4 ? ns : 4, co, ci, ck;
    const float *cw;
    int li = nn_net_first_conv(r->net, &cw, &co, &ci, &ck);
    if (li > 0 && fn > 0) {
        for (int i = 0; i < fn; i++)
            nn_preprocess_u8(r->net, faces + i * pix, fx + (size_t)i * c * pix);
        if (nn_net_forward(r->net, fx, fn, 0)) {
            int mc, mh, mw;
            rep.fm_maps = nn_net_layer_output(r->net, li, &mc, &mh, &mw);
            rep.fm_faces = faces;
            rep.fm_n = fn;
            rep.face_w = w;
            rep.face_h = h;
            rep.fm_c = mc;
            rep.fm_h = mh;
            rep.fm_w = mw;
        }
        rep.conv1_w = cw;
        rep.conv1_out = co;
        rep.conv1_in = ci;
        rep.conv1_k = ck;
    }
    rep.face_w = w;
    rep.face_h = h;
    rc = rep_write(r->o.report, &rep);
    said = rc != 0;
    if (rc)
        ed_err("report: %s", app_error());
    else
        fprintf(stderr, "report written to %s\n", r->o.report);
    free(faces); free(st); free(sp); free(sc); free(fx);
done:
    if (rc && !said) /* the engine failed, or memory ran out */
        ed_err("report: %s", nn_error());
    free(pred);
    free(probs);
    return rc;
}

/* Options that belong to one invocation, not to the run: they are not
 * saved in checkpoints. */
static int is_transient(const char *opt)
{
    return !strcmp(opt, "--resume") || !strcmp(opt, "--interrupt-after");
}

static void join_args(char *buf, size_t len, int argc, char **argv)
{
    size_t off = (size_t)snprintf(buf, len, "emotion-train train");
    for (int i = 0; i < argc && off < len; i++)
        off += (size_t)snprintf(buf + off, len - off, " %s", argv[i]);
}

int cmd_train(int argc, char **argv)
{
    train_opts o;
    defaults(&o);
    const char *resume = NULL;
    int pr = parse(argc - 1, argv + 1, &o, &resume);
    if (pr) {
        if (pr > 0)
            usage(stdout);
        return pr > 0 ? ED_EXIT_OK : ED_EXIT_USAGE;
    }
    run r;
    memset(&r, 0, sizeof r);
    r.swa_acc = -1;
    ckpt_state *s = &r.st;
    int rc = ED_EXIT_FAIL;
    char **eff_argv = NULL;
    ckpt_state saved;
    memset(&saved, 0, sizeof saved);
    nn_net *init = NULL; /* --init's model until its weights are copied */
    if (resume) {
        /* The saved arguments first, then today's: later options win. */
        if (ckpt_load(resume, &saved)) {
            ed_err("%s", app_error());
            return ED_EXIT_FAIL;
        }
        int interrupt_after = o.interrupt_after;
        eff_argv = calloc((size_t)(saved.argc + argc), sizeof *eff_argv);
        int n = 0;
        for (int i = 0; eff_argv && i < saved.argc; i++)
            eff_argv[n++] = strdup(saved.argv[i]);
        for (int i = 1; eff_argv && i < argc; i++) {
            if (is_transient(argv[i])) {
                i++;
                continue;
            }
            eff_argv[n++] = strdup(argv[i]);
        }
        r.argc = n;
        defaults(&o);
        if (!eff_argv || parse(n, eff_argv, &o, NULL)) {
            rc = ED_EXIT_USAGE;
            goto done;
        }
        o.interrupt_after = interrupt_after;
    } else {
        eff_argv = calloc((size_t)argc, sizeof *eff_argv);
        for (int i = 1; eff_argv && i < argc; i++) {
            if (is_transient(argv[i])) {
                i++;
                continue;
            }
            eff_argv[r.argc++] = strdup(argv[i]);
        }
    }
    r.argv = eff_argv;
    if (!o.data || !o.out) {
        ed_err("train: %s is required (see --help)", !o.data ? "--data" : "--out");
        rc = ED_EXIT_USAGE;
        goto done;
    }
    if (o.val && o.val_share > 0) {
        ed_err("train: give --val or --val-split, not both");
        rc = ED_EXIT_USAGE;
        goto done;
    }
    if (!o.val && o.val_share <= 0)
        o.val_share = 0.1f;
    char ckpt_default[4096];
    if (!o.ckpt) {
        snprintf(ckpt_default, sizeof ckpt_default, "%s.ckpt", o.out);
        o.ckpt = ckpt_default;
    }
    r.tty = isatty(2);
    /* Seconds, not hours: every output can be written and none is an
     * input, before anything loads. (--resume is not compared: resuming
     * writes the checkpoint it read, as it should.) */
    op_path files[] = {
        {"--data", o.data, OP_INPUT}, {"--val", o.val, OP_INPUT}, {"--init", o.init, OP_INPUT},
        {"--out", o.out, OP_FILE}, {"--checkpoint", o.ckpt, OP_FILE},
        {"--report", o.report, OP_FOLDER},
    };
    if ((rc = op_check_outputs(files, (int)(sizeof files / sizeof *files))) != 0)
        goto done;
    rc = ED_EXIT_FAIL;
    if (o.swa > o.epochs) {
        ed_err("--swa %d: starts after the last epoch (--epochs %d)", o.swa, o.epochs);
        rc = ED_EXIT_USAGE;
        goto done;
    }

    /* The architecture first (its input size decides how images load):
     * the checkpoint's, the --init model's or --arch's. */
    int c, h, w;
    if (resume) {
        if (!(r.net = nn_net_load_mem(saved.model, saved.model_len))) {
            ed_err("%s: %s", resume, nn_error());
            goto done;
        }
        nn_net_input_shape(r.net, &c, &h, &w);
    } else if (o.init) {
        if (o.arch_set) {
            ed_err("train: --init takes the architecture from its model; leave out --arch");
            rc = ED_EXIT_USAGE;
            goto done;
        }
        if (!(init = nn_net_load(o.init))) {
            ed_err("--init %s: %s", o.init, nn_error());
            goto done;
        }
        nn_net_input_shape(init, &c, &h, &w);
    } else {
        nn_net *probe = nn_net_from_arch(o.arch, 7);
        if (!probe) {
            ed_err("--arch: %s", nn_error());
            rc = ED_EXIT_USAGE;
            goto done;
        }
        nn_net_input_shape(probe, &c, &h, &w);
        nn_net_free(probe);
    }
    if (o.init)
        o.arch = o.init; /* what the log and report call the architecture */
    /* Option values that need no data are checked before it loads. */
    aug_defaults(&r.aug, w, h);
    if (nn_sched_parse(&r.sched, o.schedule, 1e-3f, o.epochs)) {
        ed_err("--schedule: %s", nn_error());
        rc = ED_EXIT_USAGE;
        goto done;
    }
    if (aug_parse(&r.aug, o.augment)) {
        ed_err("--augment: %s", app_error());
        rc = ED_EXIT_USAGE;
        goto done;
    }

    ds_load_opts lo = {.w = w, .h = h, .split = o.split, .threads = o.threads};
    double t_load = nn_now();
    if (!(r.train = ds_load(o.data, &lo))) {
        ed_err("%s", app_error());
        goto done;
    }
    tc_report_problems(r.train, o.data);
    if (o.val) {
        ds_load_opts vo = lo;
        vo.split = o.val_split_name ? o.val_split_name : "PublicTest";
        size_t vl = strlen(o.val);
        if (vl < 4 || strcmp(o.val + vl - 4, ".csv"))
            vo.split = o.val_split_name;
        if (!(r.val = ds_load(o.val, &vo))) {
            ed_err("%s", app_error());
            goto done;
        }
        tc_report_problems(r.val, o.val);
        const char *names[NN_MAX_CLASSES];
        for (int i = 0; i < r.train->n_classes; i++)
            names[i] = r.train->classes[i];
        ds_class_map map;
        if (ds_map_classes(r.val, names, r.train->n_classes, &map)) {
            ed_err("%s: no class matches the training data's", o.val);
            goto done;
        }
        for (int i = 0; i < map.n_unmatched; i++)
            fprintf(stderr, "%s: class '%s' is not in the training data: %d images left out\n", o.val,
                    map.unmatched[i], map.unmatched_count[i]);
    } else if (!(r.val = ds_split(r.train, o.val_share, o.seed))) {
        ed_err("--val-split: %s", app_error());
        goto done;
    }
    if (o.limit && ds_limit(r.train, o.limit, o.seed ^ 0x5bd1e995)) {
        ed_err("--limit: %s", app_error());
        goto done;
    }
    if (r.train->n < o.batch) {
        ed_err("%s: %d training images, fewer than one batch of %d", o.data, r.train->n, o.batch);
        goto done;
    }
    if (r.val->n == 0) {
        ed_err("no validation images");
        goto done;
    }
    int k = r.train->n_classes;
    {
        int counts[NN_MAX_CLASSES];
        ds_class_counts(r.train, counts);
        fprintf(stderr, "data: %d training, %d validation images (%.1fs); classes:", r.train->n, r.val->n,
                nn_now() - t_load);
        for (int i = 0; i < k; i++)
            fprintf(stderr, " %s %d", r.train->classes[i], counts[i]);
        fputc('\n', stderr);
    }

    /* The net: the checkpoint's (loaded above), or fresh. */
    if (resume) {
        if (nn_net_n_classes(r.net) != k) {
            ed_err("%s: checkpoint has %d classes, the data %d", resume, nn_net_n_classes(r.net), k);
            goto done;
        }
    } else {
        r.net = init ? nn_net_from_spec(nn_net_spec(init), k) : nn_net_from_arch(o.arch, k);
        if (!r.net) {
            ed_err("--arch: %s", nn_error());
            goto done;
        }
        nn_net_init(r.net, o.seed);
        const char *names[NN_MAX_CLASSES];
        for (int i = 0; i < k; i++)
            names[i] = r.train->classes[i];
        nn_net_set_classes(r.net, names, k);
        nn_net_preproc(r.net)->equalize = o.equalize;
        if (init) {
            int found = nn_net_transfer(r.net, init);
            if (found < 0) {
                ed_err("--init %s: %s", o.init, nn_error());
                goto done;
            }
            fprintf(stderr, "starting from %s: %d of the %d classes are its own%s\n", o.init, found, k,
                    found < k ? ", the others start fresh" : "");
            nn_net_free(init);
            init = NULL;
        }
    }
    if (nn_net_set_threads(r.net, o.threads)) {
        ed_err("--threads: %s", nn_error());
        goto done;
    }
    if (tc_set_precision(r.net, o.precision))
        goto done;
    if (o.distill && !o.teacher) {
        ed_err("train: --distill needs --teacher");
        rc = ED_EXIT_USAGE;
        goto done;
    }
    if (o.teacher) {
        float t = 4.0f, alpha = 0.5f;
        if (o.distill)
            distill_parse(o.distill, &t, &alpha); /* checked by parse */
        if (distill_open(&r.kd, o.teacher, r.net, o.threads, o.batch, t, alpha))
            goto done;
        fprintf(stderr, "distilling from %d teacher%s at temperature %g, weight %g\n", r.kd.n,
                r.kd.n == 1 ? "" : "s", (double)t, (double)alpha);
    }
    nn_optim_cfg oc = nn_optim_defaults(o.optim);
    if (o.lr_set)
        oc.lr = o.lr;
    if (o.wd_set)
        oc.weight_decay = o.weight_decay;
    if (o.momentum > 0)
        oc.momentum = o.momentum;
    if (!(r.opt = nn_optim_new(r.net, &oc))) {
        ed_err("%s", nn_error());
        goto done;
    }
    if (nn_sched_parse(&r.sched, o.schedule, oc.lr, o.epochs)) {
        ed_err("--schedule: %s", nn_error());
        rc = ED_EXIT_USAGE;
        goto done;
    }
    /* Balanced sampling needs full inverse-frequency weights. */
    ds_class_weights(r.train, strcmp(o.balance, "sample") ? o.balance_power : 1.0, r.class_w);
    /* Validation faces are preprocessed once. */
    size_t per = (size_t)c * h * w;
    if (!(r.val_x = malloc((size_t)r.val->n * per * sizeof(float)))) {
        ed_err("out of memory");
        goto done;
    }
    tc_preprocess(r.net, r.val, NULL, r.val->n, r.val_x);

    if (resume) {
        if (saved.n_optim != nn_optim_state_size(r.opt) || saved.optim_kind != (int32_t)o.optim) {
            ed_err("%s: optimizer state does not match --optimizer", resume);
            goto done;
        }
        memcpy(nn_optim_state(r.opt), saved.optim, saved.n_optim * sizeof(float));
        *nn_optim_step_count(r.opt) = saved.optim_t;
        *nn_net_rng(r.net) = saved.net_rng;
        r.sched.cur_lr = saved.sched_lr;
        r.sched.best = saved.sched_best;
        r.sched.bad_epochs = saved.sched_bad;
        /* Take over position, history and best model; the rest of saved
         * (arguments, optimizer and model images) is freed with it. */
        s->epoch = saved.epoch;
        s->batch = saved.batch;
        s->n_order = saved.n_order;
        s->order = saved.order;
        saved.order = NULL;
        s->loss_sum = saved.loss_sum;
        s->correct = saved.correct;
        s->seen = saved.seen;
        s->epoch_seconds = saved.epoch_seconds;
        s->total_seconds = saved.total_seconds;
        s->aug_rng = saved.aug_rng;
        s->order_rng = saved.order_rng;
        s->best_acc = saved.best_acc;
        s->best_epoch = saved.best_epoch;
        s->bad_epochs = saved.bad_epochs;
        s->n_history = saved.n_history;
        s->history = saved.history;
        saved.history = NULL;
        s->best = saved.best;
        s->best_len = saved.best_len;
        saved.best = NULL;
        if (saved.swa && saved.n_swa == nn_net_n_params(r.net)) {
            s->swa = saved.swa;
            s->swa_count = saved.swa_count;
            saved.swa = NULL;
        } else if (saved.swa_count) {
            ed_err("%s: its weight average does not fit the model", resume);
            goto done;
        }
        if (s->n_order && s->n_order != r.train->n) {
            ed_err("%s: the data has changed since the checkpoint", resume);
            goto done;
        }
        fprintf(stderr, "resuming at epoch %d, batch %d\n", s->epoch + 1, s->batch);
    } else {
        s->aug_rng = o.seed * 0x9E3779B97F4A7C15ULL + 1;
        s->order_rng = o.seed * 0xD1B54A32D192ED03ULL + 2;
        s->best_acc = -1;
        s->batch = 0;
    }
    r.o = o;
    signal(SIGINT, on_sigint);
    signal(SIGTERM, on_sigint);

    char command[1024];
    join_args(command, sizeof command, r.argc, r.argv);
    fprintf(stderr, "training %s (%zu parameters, %llu MACs/face) for %d epochs, batch %d, %d thread%s%s\n",
            o.arch, nn_net_n_params(r.net), (unsigned long long)nn_net_macs(r.net), o.epochs, o.batch,
            o.threads, o.threads == 1 ? "" : "s",
            nn_net_precision(r.net) == NN_PRECISION_BF16 ? ", bf16" : "");
    if (mix_on(&o.mix))
        fprintf(stderr, "mixing %g of the images: mixup alpha %g, cutmix alpha %g (0 off)\n",
                (double)o.mix.prob, (double)o.mix.mixup, (double)o.mix.cutmix);

    for (; s->epoch < o.epochs; s->epoch++) {
        if (s->batch == 0 || !s->order) {
            int n = r.train->n;
            free(s->order);
            s->order = malloc((size_t)n * sizeof *s->order);
            if (!s->order) {
                ed_err("out of memory");
                goto done;
            }
            ds_epoch_order(r.train, strcmp(o.balance, "sample") ? NULL : r.class_w, &s->order_rng,
                           s->order, n);
            s->n_order = n;
            s->batch = 0;
            s->loss_sum = 0;
            s->correct = s->seen = 0;
            s->epoch_seconds = 0;
        }
        float lr = nn_sched_lr(&r.sched, s->epoch);
        int er = run_epoch(&r, s->epoch, lr);
        if (er) {
            rc = er > 0 ? 130 : ED_EXIT_FAIL;
            goto done;
        }
        double vloss, vacc, t_val = nn_now();
        if (validate(&r, &vloss, &vacc))
            goto done;
        s->epoch_seconds += nn_now() - t_val;
        s->total_seconds += nn_now() - t_val;
        nn_sched_observe(&r.sched, (float)vloss);
        rep_epoch *hist = realloc(s->history, (size_t)(s->n_history + 1) * sizeof *hist);
        if (!hist) {
            ed_err("out of memory");
            goto done;
        }
        s->history = hist;
        rep_epoch *e = &hist[s->n_history++];
        e->epoch = s->epoch + 1;
        e->lr = lr;
        e->train_loss = (float)(s->loss_sum / s->seen);
        e->train_acc = (float)s->correct / (float)s->seen;
        e->val_loss = (float)vloss;
        e->val_acc = (float)vacc;
        e->seconds = s->epoch_seconds;
        int better = vacc > s->best_acc;
        fprintf(stderr, "%sepoch %d/%d: lr %.2e  train loss %.4f acc %.2f%%  val loss %.4f acc %.2f%%%s  (%.0fs)\n",
                r.tty ? "\r" : "", s->epoch + 1, o.epochs, (double)lr, (double)e->train_loss,
                100.0 * e->train_acc, vloss, 100.0 * vacc, better ? "  best" : "", e->seconds);
        if (better) {
            s->best_acc = (float)vacc;
            s->best_epoch = s->epoch + 1;
            s->bad_epochs = 0;
            nn_meta *m = nn_net_meta(r.net);
            snprintf(m->dataset, sizeof m->dataset, "%s", o.data);
            snprintf(m->command, sizeof m->command, "%s", command);
            m->epochs = s->epoch + 1;
            m->val_accuracy = (float)vacc;
            free(s->best);
            size_t bl;
            s->best = nn_net_save_mem(r.net, &bl);
            s->best_len = bl;
            if (!s->best) {
                ed_err("%s", nn_error());
                goto done;
            }
        } else
            s->bad_epochs++;
        if (o.swa && s->epoch + 1 >= o.swa && swa_fold(&r))
            goto done;
        s->batch = 0;
        /* The checkpoint names the next epoch as the one in progress. */
        s->epoch++;
        free(s->order);
        s->order = NULL;
        s->n_order = 0;
        int ck = save_checkpoint(&r);
        s->epoch--;
        if (ck)
            goto done;
        if (o.patience && s->bad_epochs >= o.patience) {
            fprintf(stderr, "no better validation accuracy for %d epochs: stopping early\n", o.patience);
            s->epoch++;
            break;
        }
        if (interrupted) {
            fprintf(stderr, "interrupted: checkpoint written to %s; continue with --resume %s\n", o.ckpt,
                    o.ckpt);
            rc = 130;
            goto done;
        }
    }

    if (s->swa_count > 1) {
        int sr = swa_finish(&r, command);
        if (sr) {
            rc = sr > 0 ? 130 : ED_EXIT_FAIL;
            goto done;
        }
    }

    /* The best model is what ships. */
    nn_net *best = s->best ? nn_net_load_mem(s->best, s->best_len) : NULL;
    if (!best) {
        ed_err("no model to save: %s", nn_error());
        goto done;
    }
    nn_meta *m = nn_net_meta(best);
    m->created = (int64_t)time(NULL);
    m->train_seconds = s->total_seconds;
    nn_net_set_threads(best, o.threads);
    /* A calibration that cannot be fitted (too few validation faces) must
     * not cost the run: the model is saved uncalibrated, and says so. */
    if (cal_fit_net(best, r.val_x, r.val->labels, r.val->n, o.calib, stderr)) {
        nn_net_set_calib(best, NULL);
        fprintf(stderr, "the model is saved without calibration ('emotion-train calibrate' can add it)\n");
    }
    if (tc_save_model(best, o.out, o.ckpt) != 0) {
        nn_net_free(best);
        goto done;
    }
    char which[64];
    if (r.swa_kept)
        snprintf(which, sizeof which, "the weight average of epochs %d-%d", swa_first_epoch(s), s->epoch);
    else
        snprintf(which, sizeof which, "epoch %d", s->best_epoch);
    fprintf(stderr, "saved %s: best validation accuracy %.2f%% (%s), %.1f min\n", o.out,
            100.0 * s->best_acc, which, s->total_seconds / 60);
    nn_net_free(r.net);
    r.net = best;
    nn_net_set_threads(r.net, o.threads);
    if (o.report && write_report(&r, o.out))
        goto done;
    rc = ED_EXIT_OK;
done:
    ckpt_free(&saved);
    distill_close(&r.kd);
    nn_net_free(init);
    for (int i = 0; eff_argv && i < r.argc; i++)
        free(eff_argv[i]);
    free(eff_argv);
    free(r.st.order);
    free(r.st.history);
    free(r.st.best);
    free(r.st.swa);
    free(r.val_x);
    nn_optim_free(r.opt);
    nn_net_free(r.net);
    ds_free(r.train);
    ds_free(r.val);
    return rc;
}
