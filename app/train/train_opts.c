/* train_opts.c - see train_opts.h. */
#include "train_opts.h"

#include <stdlib.h>
#include <string.h>

#include "app_err.h"
#include "cli.h"
#include "distill.h"

void train_opts_usage(FILE *f)
{
    train_opts d; /* the defaults shown are the ones used */
    train_opts_defaults(&d);
    nn_optim_cfg sgd = nn_optim_defaults(NN_SGD), adam = nn_optim_defaults(NN_ADAM),
                 adamw = nn_optim_defaults(NN_ADAMW);
    fprintf(f,
        "usage: emotion-train train --data PATH [--val PATH | --val-split F] [--split NAME]\n"
        "         [--val-copies exclude|allow]\n"
        "         [--arch NAME|FILE] [--epochs N] [--batch N] [--optimizer sgd|adam|adamw]\n"
        "         [--lr X] [--weight-decay X] [--momentum X] [--schedule S] [--augment LIST]\n"
        "         [--balance none|weights|sample] [--label-smoothing X] [--patience N]\n"
        "         [--limit N] [--seed S] [--threads N] --out MODEL [--report DIR]\n"
        "         [--checkpoint PATH] [--resume CHECKPOINT] [--init MODEL] [--swa EPOCH]\n"
        "         [--mixup ALPHA] [--cutmix ALPHA] [--mix-prob P] [--no-equalize]\n"
        "         [--calibrate auto|temperature|vector|none] [--precision fp32|bf16|auto]\n"
        "         [--teacher MODEL[,MODEL...] [--distill T[:ALPHA]]] [--target roll[:MAX:STEP]]\n"
        "\n"
        "  --data PATH        folder of class folders, or a fer2013.csv\n"
        "  --split NAME       CSV rows whose Usage is NAME (Training, PublicTest, PrivateTest,\n"
        "                     or all; default Training, or every row of a CSV without Usage)\n"
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
        "  --val-copies MODE  exclude (default): images with an exact pixel copy in\n"
        "                     --data stay in training, so validation holds no face the\n"
        "                     network learnt; allow: they are drawn too (runs before\n"
        "                     2026-11-27, whose checkpoints resume with it)\n"
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
        "  --overwrite        let --out, --checkpoint and --report replace files an earlier\n"
        "                     run made (without it, an existing model or checkpoint, or a\n"
        "                     report folder with anything in it, is refused; --resume\n"
        "                     finishes the report in its own run's folder)\n"
        "  --precision P      arithmetic of the training products: fp32 (default), bf16\n"
        "                     (BF16 operands, FP32 sums and weights; needs AVX512_BF16,\n"
        "                     else fp32 with a warning) or auto (bf16 where supported)\n"
        "  --init MODEL       start from a trained model's weights, architecture and\n"
        "                     preprocessing (fine-tuning); its classifier rows follow class\n"
        "                     names, classes it lacks start fresh\n"
        "  --no-equalize      no histogram equalization of faces (default: equalized)\n"
        "  --target T         what the model learns: emotion (default: the data's classes)\n"
        "                     or roll:MAX:STEP, a roll estimator for emotion-detect: each\n"
        "                     face is turned by a random roll in -MAX..MAX degrees every\n"
        "                     time it is drawn and labelled with bins STEP apart (roll\n"
        "                     alone is roll:30:5); the data's labels are ignored, rotate\n"
        "                     is refused in --augment (the turn is the label; default\n"
        "                     crop,flip,zoom,color), --balance is none, no mixing\n",
        d.arch, d.epochs, d.batch, (double)sgd.lr, (double)adam.lr, (double)sgd.weight_decay,
        (double)adam.weight_decay, (double)adamw.weight_decay, (double)sgd.momentum, d.seed,
        d.threads);
}


int train_opts_parse(int argc, char **argv, train_opts *o, const char **resume)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (!strcmp(a, "--help"))
            return TRAIN_OPTS_HELP;
        if (!strcmp(a, "--no-equalize")) {
            o->equalize = 0;
            continue;
        }
        if (!strcmp(a, "--overwrite")) {
            o->overwrite = 1;
            continue;
        }
        if (strncmp(a, "--", 2)) {
            cli_err("train: unexpected argument '%s'", a);
            return TRAIN_OPTS_BAD;
        }
        if (!(v = cli_value(argc, argv, &i)))
            return TRAIN_OPTS_BAD;
#define OPT(name) (!strcmp(a, name))
        if (OPT("--data")) o->data = v;
        else if (OPT("--val")) o->val = v;
        else if (OPT("--val-split")) { if (cli_float(a, v, 0.001, 0.9, &o->val_share)) return TRAIN_OPTS_BAD; }
        else if (OPT("--val-usage")) o->val_split_name = v;
        else if (OPT("--val-copies")) {
            if (!strcmp(v, "exclude")) o->val_copies = DATASET_COPIES_EXCLUDE;
            else if (!strcmp(v, "allow")) o->val_copies = DATASET_COPIES_ALLOW;
            else { cli_err("--val-copies: '%s' is not exclude or allow", v); return TRAIN_OPTS_BAD; }
        }
        else if (OPT("--split")) o->split = v;
        else if (OPT("--arch")) { o->arch = v; o->arch_set = 1; }
        else if (OPT("--init")) o->init = v;
        else if (OPT("--epochs")) { if (cli_int(a, v, 1, 100000, &o->epochs)) return TRAIN_OPTS_BAD; }
        else if (OPT("--batch")) { if (cli_int(a, v, 2, 4096, &o->batch)) return TRAIN_OPTS_BAD; }
        else if (OPT("--optimizer")) {
            if (!strcmp(v, "sgd")) o->optim = NN_SGD;
            else if (!strcmp(v, "adam")) o->optim = NN_ADAM;
            else if (!strcmp(v, "adamw")) o->optim = NN_ADAMW;
            else { cli_err("--optimizer: '%s' is not sgd, adam or adamw", v); return TRAIN_OPTS_BAD; }
        }
        else if (OPT("--lr")) { if (cli_float(a, v, 1e-8, 10, &o->lr)) return TRAIN_OPTS_BAD; o->lr_set = 1; }
        else if (OPT("--weight-decay")) { if (cli_float(a, v, 0, 1, &o->weight_decay)) return TRAIN_OPTS_BAD; o->wd_set = 1; }
        else if (OPT("--momentum")) { if (cli_float(a, v, 0, 0.999, &o->momentum)) return TRAIN_OPTS_BAD; }
        else if (OPT("--label-smoothing")) { if (cli_float(a, v, 0, 0.5, &o->smoothing)) return TRAIN_OPTS_BAD; }
        else if (OPT("--mixup")) { if (cli_float(a, v, 0, 100, &o->mix.mixup)) return TRAIN_OPTS_BAD; }
        else if (OPT("--cutmix")) { if (cli_float(a, v, 0, 100, &o->mix.cutmix)) return TRAIN_OPTS_BAD; }
        else if (OPT("--mix-prob")) { if (cli_float(a, v, 0, 1, &o->mix.prob)) return TRAIN_OPTS_BAD; }
        else if (OPT("--teacher")) o->teacher = v;
        else if (OPT("--distill")) {
            float t, al;
            if (distill_parse(v, &t, &al)) { cli_err("%s", app_error()); return TRAIN_OPTS_BAD; }
            o->distill = v;
        }
        else if (OPT("--calibrate")) { if (calibrate_parse_mode(a, v, &o->calib)) { cli_err("%s", app_error()); return TRAIN_OPTS_BAD; } }
        else if (OPT("--schedule")) o->schedule = v;
        else if (OPT("--augment")) { o->augment = v; o->augment_set = 1; }
        else if (OPT("--target")) o->target = v;
        else if (OPT("--balance")) {
            if (strcmp(v, "none") && strcmp(v, "weights") && strcmp(v, "sample")) {
                cli_err("--balance: '%s' is not none, weights or sample", v);
                return TRAIN_OPTS_BAD;
            }
            o->balance = v;
        }
        else if (OPT("--balance-power")) { if (cli_float(a, v, 0, 2, &o->balance_power)) return TRAIN_OPTS_BAD; }
        else if (OPT("--patience")) { if (cli_int(a, v, 0, 100000, &o->patience)) return TRAIN_OPTS_BAD; }
        else if (OPT("--swa")) { if (cli_int(a, v, 1, 100000, &o->swa)) return TRAIN_OPTS_BAD; }
        else if (OPT("--limit")) { if (cli_int(a, v, 1, 1 << 30, &o->limit)) return TRAIN_OPTS_BAD; }
        else if (OPT("--seed")) {
            if (cli_u64(a, v, &o->seed)) return TRAIN_OPTS_BAD;
        }
        else if (OPT("--threads")) { if (cli_int(a, v, 1, 256, &o->threads)) return TRAIN_OPTS_BAD; }
        else if (OPT("--out")) o->out = v;
        else if (OPT("--precision")) {
            if (strcmp(v, "fp32") && strcmp(v, "bf16") && strcmp(v, "auto")) {
                cli_err("--precision: '%s' is not fp32, bf16 or auto", v);
                return TRAIN_OPTS_BAD;
            }
            o->precision = v;
        }
        else if (OPT("--report")) o->report = v;
        else if (OPT("--checkpoint")) o->ckpt = v;
        else if (OPT("--resume")) { if (resume) *resume = v; }
        else if (OPT("--interrupt-after")) { if (cli_int(a, v, 1, 1 << 30, &o->interrupt_after)) return TRAIN_OPTS_BAD; }
        else { cli_err("train: unknown option '%s'", a); return TRAIN_OPTS_BAD; }
#undef OPT
    }
    return TRAIN_OPTS_RUN;
}

void train_opts_defaults(train_opts *o)
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
    o->calib = CALIBRATE_AUTO;
    o->val_copies = DATASET_COPIES_EXCLUDE;
}

/* Options that make the run what it is: its data, split and network. */
static const char *const fixed_on_resume[] = {"--data", "--val", "--val-split", "--val-usage", "--split",
                                              "--val-copies", "--seed", "--limit", "--arch", "--init",
                                              "--target", NULL};

/* The value saved[] gives opt (option-value pairs, flags stepped over), or NULL. */
static const char *saved_value(char *const *saved, int n_saved, const char *opt)
{
    for (int i = 0; i + 1 < n_saved; i++)
        if (!strcmp(saved[i], opt))
            return saved[i + 1];
    return NULL;
}

const char *train_opts_changed_on_resume(char *const *saved, int n_saved, int argc, char **argv,
                                         const char **now, const char **was)
{
    for (int i = 1; i + 1 < argc; i++)
        for (const char *const *f = fixed_on_resume; *f; f++)
            if (!strcmp(argv[i], *f)) {
                const char *old = saved_value(saved, n_saved, *f);
                if (!old || strcmp(old, argv[i + 1])) {
                    *now = argv[i + 1];
                    *was = old;
                    return *f;
                }
            }
    return NULL;
}

int train_opts_parse_resumed(int argc, char **argv, train_opts *o)
{
    train_opts_defaults(o);
    o->val_copies = DATASET_COPIES_ALLOW;
    return train_opts_parse(argc, argv, o, NULL);
}

/* Options that belong to one invocation, not to the run: they are not
 * saved in checkpoints. */
static int is_transient(const char *opt)
{
    return !strcmp(opt, "--resume") || !strcmp(opt, "--interrupt-after") || !strcmp(opt, "--overwrite");
}

/* Options that take no value (the rest take one). */
static int is_flag(const char *opt)
{
    return !strcmp(opt, "--no-equalize") || !strcmp(opt, "--overwrite") || !strcmp(opt, "--help");
}

static int given(const char *opt, int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], opt))
            return 1;
    return 0;
}

char **train_opts_args(char *const *saved, int n_saved, int argc, char **argv, int *n)
{
    char **args = calloc((size_t)(n_saved + argc + 2), sizeof *args);
    *n = 0;
    if (!args)
        return NULL;
    /* A saved option given again today is dropped, not repeated: the run's
     * arguments (and the command a model records) keep each option once
     * however often the run is resumed. */
    for (int i = 0; i < n_saved;) {
        int width = strncmp(saved[i], "--", 2) || is_flag(saved[i]) || i + 1 == n_saved ? 1 : 2;
        int keep = !given(saved[i], argc, argv);
        for (int k = 0; k < width; k++, i++)
            if (keep && !(args[(*n)++] = strdup(saved[i])))
                goto oom;
    }
    for (int i = 1; i < argc; i++) {
        if (is_transient(argv[i])) {
            i += !is_flag(argv[i]); /* and its value, if it takes one */
            continue;
        }
        if (!(args[(*n)++] = strdup(argv[i])))
            goto oom;
    }
    if (!n_saved && !given("--val-copies", argc, argv) &&
        (!(args[(*n)++] = strdup("--val-copies")) || !(args[(*n)++] = strdup("exclude"))))
        goto oom;
    return args;
oom:
    train_opts_free_args(args, *n);
    *n = 0;
    return NULL;
}

const char *train_opts_saved_value(char *const *saved, int n_saved, const char *opt)
{
    const char *v = NULL;
    for (int i = 0; i < n_saved;) {
        int width = strncmp(saved[i], "--", 2) || is_flag(saved[i]) || i + 1 == n_saved ? 1 : 2;
        if (width == 2 && !strcmp(saved[i], opt))
            v = saved[i + 1]; /* the last, as the parser takes it */
        i += width;
    }
    return v;
}

void train_opts_free_args(char **args, int n)
{
    for (int i = 0; args && i < n; i++)
        free(args[i]);
    free(args);
}

void train_opts_command(char *buf, size_t len, int argc, char *const *argv)
{
    size_t off = (size_t)snprintf(buf, len, "emotion-train train");
    for (int i = 0; i < argc && off < len; i++)
        off += (size_t)snprintf(buf + off, len - off, " %s", argv[i]);
}
