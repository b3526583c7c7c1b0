/* train_loop.c - see train_loop.h. */
#include "train_loop.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_err.h"
#include "cli.h"
#include "mix.h"
#include "probs.h"
#include "rollnet.h"
#include "cmd_common.h"

static volatile sig_atomic_t interrupted;
static int batches_this_run; /* for --interrupt-after (tests) */
static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
    signal(SIGINT, SIG_DFL); /* a second Ctrl-C ends at once */
}

void train_loop_catch_signals(void)
{
    signal(SIGINT, on_sigint);
    signal(SIGTERM, on_sigint);
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

/* Whether every weight is still a number: a step too large can overflow
 * them while the loss of the batch before stayed finite. */
static int weights_finite(train_run *r)
{
    const float *w = nn_net_params(r->net);
    size_t n = nn_net_n_params(r->net);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(w[i]))
            return 0;
    return 1;
}

static int save_checkpoint(train_run *r)
{
    if (!weights_finite(r)) {
        cli_err("training diverged: the weights are no longer finite numbers; try a lower --lr (%s, "
                "if there, holds the last epoch saved before)", r->o.ckpt);
        return -1;
    }
    int rc = checkpoint_save_run(r->o.ckpt, &r->st, r->argc, r->argv, r->net, r->opt, &r->sched,
                           (int)r->o.optim);
    if (rc)
        cli_err("%s", app_error());
    return rc;
}

static void show_progress(train_run *r, int epoch, int b, int nb, double t0, int final)
{
    const checkpoint_state *s = &r->st;
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

/* Train batches [st.batch, nb) of the epoch. Returns CLI_EXIT_OK,
 * CLI_EXIT_INTERRUPTED (checkpoint written) or CLI_EXIT_FAIL (said). */
static int run_epoch(train_run *r, int epoch, float lr)
{
    checkpoint_state *s = &r->st;
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
    /* --target roll: soft targets too, split between two bins */
    float *targets = mixing || r->roll_on ? malloc((size_t)B * k * sizeof *targets) : NULL;
    int *dom = mixing ? malloc((size_t)B * sizeof *dom) : NULL;
    if (!x || !y || !tmp || (mixing && (!mix_x || !targets || !dom)) || (r->roll_on && !targets)) {
        free(x); free(y); free(tmp); free(mix_x); free(targets); free(dom);
        cli_err("out of memory");
        return CLI_EXIT_FAIL;
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
    int rc = CLI_EXIT_OK;
    for (int b = s->batch; b < nb; b++) {
        if (interrupted || (r->o.interrupt_after && batches_this_run == r->o.interrupt_after)) {
            s->batch = b;
            s->epoch_seconds += nn_now() - t0;
            s->total_seconds += nn_now() - t0;
            if (r->tty)
                fputc('\n', stderr);
            rc = save_checkpoint(r) ? CLI_EXIT_FAIL : CLI_EXIT_INTERRUPTED;
            if (rc == CLI_EXIT_INTERRUPTED)
                fprintf(stderr, "interrupted: checkpoint written to %s; continue with --resume %s\n",
                        r->o.ckpt, r->o.ckpt);
            goto out;
        }
        for (int i = 0; i < B; i++) {
            int idx = s->order[b * B + i];
            if (r->roll_on)
                roll_target_sample(&r->roll, &r->aug, dataset_image(r->train, idx), tmp, w, h,
                                   &s->augment_rng, targets + (size_t)i * k, &y[i]);
            else
                augment_apply(&r->aug, dataset_image(r->train, idx), tmp, w, h, &s->augment_rng);
            nn_preprocess_u8(r->net, tmp, x + (size_t)i * per);
            if (!r->roll_on)
                y[i] = r->train->labels[idx];
        }
        if (mixing)
            mix_batch(&r->o.mix, x, mix_x, y, B, c, h, w, k, targets, dom, &s->augment_rng);
        if (r->kd.n && distill_batch(&r->kd, r->net, x, B)) {
            cli_err("%s", app_error());
            rc = CLI_EXIT_FAIL;
            goto out;
        }
        const float *p = nn_net_forward(r->net, x, B, 1);
        if (!p) {
            cli_err("%s", nn_error());
            rc = CLI_EXIT_FAIL;
            goto out;
        }
        for (int i = 0; i < B; i++)
            s->correct += probs_argmax(p + (size_t)i * k, k) == (mixing ? dom : y)[i];
        nn_net_zero_grad(r->net);
        float loss = nn_net_backward(r->net, y, &loss_cfg);
        if (!isfinite(loss)) {
            cli_err("training diverged at epoch %d batch %d (loss %g); try a lower --lr", epoch + 1, b, (double)loss);
            rc = CLI_EXIT_FAIL;
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

int train_loop_validate(train_run *r, double *loss, double *acc)
{
    int n = r->val->n, k = nn_net_n_classes(r->net);
    int *pred = malloc((size_t)n * sizeof *pred);
    float *probs = r->roll_on ? malloc((size_t)n * k * sizeof *probs) : NULL;
    if (!pred || (r->roll_on && !probs) ||
        cmd_classify(r->net, r->val_x, n, r->val->labels, probs, pred, loss)) {
        free(pred);
        free(probs);
        cli_err("validation: %s", nn_error());
        return -1;
    }
    int correct = 0;
    for (int i = 0; i < n; i++)
        correct += pred[i] == r->val->labels[i];
    *acc = (double)correct / n;
    if (r->roll_on) {
        /* The estimate the detector uses: the mean of the bin centres. */
        float centres[NN_MAX_CLASSES];
        for (int i = 0; i < k; i++)
            centres[i] = roll_target_centre(&r->roll, i);
        double err = 0;
        for (int i = 0; i < n; i++)
            err += fabs(rollnet_estimate(probs + (size_t)i * k, centres, k) - r->val_roll[i]);
        r->val_roll_err = err / n;
    }
    free(pred);
    free(probs);
    return 0;
}

int train_loop_swa_first(const checkpoint_state *s) { return s->epoch - s->swa_count + 1; }

/* --swa: folds the weights after this epoch into the running average. */
static int swa_fold(train_run *r)
{
    checkpoint_state *s = &r->st;
    size_t n = nn_net_n_params(r->net);
    if (!s->swa && !(s->swa = calloc(n, sizeof *s->swa))) {
        cli_err("out of memory");
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
 * run's last checkpoint is already written, so on Ctrl-C this returns
 * CLI_EXIT_INTERRUPTED and --resume repeats it. Else CLI_EXIT_OK or
 * CLI_EXIT_FAIL (said). */
static int swa_finish(train_run *r, const char *command)
{
    checkpoint_state *s = &r->st;
    const int B = r->o.batch, n = r->train->n;
    int c, h, w;
    nn_net_input_shape(r->net, &c, &h, &w);
    const size_t per = (size_t)c * h * w;
    float *x = malloc((size_t)B * per * sizeof *x);
    int *order = malloc((size_t)n * sizeof *order);
    int rc = CLI_EXIT_FAIL;
    if (!x || !order) {
        cli_err("out of memory");
        goto out;
    }
    memcpy(nn_net_params(r->net), s->swa, nn_net_n_params(r->net) * sizeof(float));
    uint64_t rng = r->o.seed * 0x9E3779B97F4A7C15ULL + 3;
    dataset_epoch_order(r->train, NULL, &rng, order, n);
    nn_net_bn_reset(r->net);
    double t0 = nn_now();
    for (int b = 0; (b + 1) * B <= n; b++) {
        if (interrupted) {
            fprintf(stderr, "interrupted: checkpoint written to %s; --resume %s finishes the run\n",
                    r->o.ckpt, r->o.ckpt);
            rc = CLI_EXIT_INTERRUPTED;
            goto out;
        }
        for (int i = 0; i < B; i++)
            nn_preprocess_u8(r->net, dataset_image(r->train, order[b * B + i]), x + (size_t)i * per);
        if (nn_net_bn_accumulate(r->net, x, B, b + 1)) {
            cli_err("%s", nn_error());
            goto out;
        }
    }
    double vloss, vacc;
    if (train_loop_validate(r, &vloss, &vacc))
        goto out;
    s->total_seconds += nn_now() - t0;
    int from = train_loop_swa_first(s);
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
            cli_err("%s", nn_error());
            goto out;
        }
        free(s->best);
        s->best = best;
        s->best_len = bl;
        s->best_acc = (float)vacc;
    }
    rc = CLI_EXIT_OK;
out:
    free(x);
    free(order);
    return rc;
}

/* A new epoch's image order (balanced sampling draws by class weight). */
static int new_order(train_run *r)
{
    checkpoint_state *s = &r->st;
    int n = r->train->n;
    free(s->order);
    s->order = malloc((size_t)n * sizeof *s->order);
    if (!s->order) {
        cli_err("out of memory");
        return -1;
    }
    dataset_epoch_order(r->train, strcmp(r->o.balance, "sample") ? NULL : r->class_w, &s->order_rng,
                   s->order, n);
    s->n_order = n;
    s->batch = 0;
    s->loss_sum = 0;
    s->correct = s->seen = 0;
    s->epoch_seconds = 0;
    return 0;
}

/* The epoch's line in the history and on stderr; a better validation
 * accuracy makes the net the best model (with its metadata). */
static int record_epoch(train_run *r, float lr, double vloss, double vacc, const char *command)
{
    checkpoint_state *s = &r->st;
    report_epoch *hist = realloc(s->history, (size_t)(s->n_history + 1) * sizeof *hist);
    if (!hist) {
        cli_err("out of memory");
        return -1;
    }
    s->history = hist;
    report_epoch *e = &hist[s->n_history++];
    e->epoch = s->epoch + 1;
    e->lr = lr;
    e->train_loss = (float)(s->loss_sum / s->seen);
    e->train_acc = (float)s->correct / (float)s->seen;
    e->val_loss = (float)vloss;
    e->val_acc = (float)vacc;
    e->seconds = s->epoch_seconds;
    int better = vacc > s->best_acc;
    fprintf(stderr, "%sepoch %d/%d: lr %.2e  train loss %.4f acc %.2f%%  val loss %.4f acc %.2f%%%s  (%.0fs)\n",
            r->tty ? "\r" : "", s->epoch + 1, r->o.epochs, (double)lr, (double)e->train_loss,
            100.0 * e->train_acc, vloss, 100.0 * vacc, better ? "  best" : "", e->seconds);
    if (r->roll_on)
        fprintf(stderr, "epoch %d/%d: mean roll error %.2f degrees (validation)\n", s->epoch + 1,
                r->o.epochs, r->val_roll_err);
    if (!better) {
        s->bad_epochs++;
        return 0;
    }
    s->best_acc = (float)vacc;
    s->best_epoch = s->epoch + 1;
    s->bad_epochs = 0;
    nn_meta *m = nn_net_meta(r->net);
    snprintf(m->dataset, sizeof m->dataset, "%s", r->o.data);
    snprintf(m->command, sizeof m->command, "%s", command);
    m->epochs = s->epoch + 1;
    m->val_accuracy = (float)vacc;
    free(s->best);
    size_t bl;
    s->best = nn_net_save_mem(r->net, &bl);
    s->best_len = bl;
    if (!s->best) {
        cli_err("%s", nn_error());
        return -1;
    }
    return 0;
}

/* After an epoch: the checkpoint, naming the next epoch as the one in
 * progress. */
static int checkpoint_epoch(train_run *r)
{
    checkpoint_state *s = &r->st;
    s->batch = 0;
    s->epoch++;
    free(s->order);
    s->order = NULL;
    s->n_order = 0;
    int ck = save_checkpoint(r);
    s->epoch--;
    return ck;
}

int train_loop_run(train_run *r, const char *command)
{
    checkpoint_state *s = &r->st;
    const train_opts *o = &r->o;
    for (; s->epoch < o->epochs; s->epoch++) {
        if ((s->batch == 0 || !s->order) && new_order(r))
            return CLI_EXIT_FAIL;
        float lr = nn_sched_lr(&r->sched, s->epoch);
        int er = run_epoch(r, s->epoch, lr);
        if (er != CLI_EXIT_OK)
            return er;
        double vloss, vacc, t_val = nn_now();
        if (train_loop_validate(r, &vloss, &vacc))
            return CLI_EXIT_FAIL;
        s->epoch_seconds += nn_now() - t_val;
        s->total_seconds += nn_now() - t_val;
        nn_sched_observe(&r->sched, (float)vloss);
        if (record_epoch(r, lr, vloss, vacc, command))
            return CLI_EXIT_FAIL;
        if (o->swa && s->epoch + 1 >= o->swa && swa_fold(r))
            return CLI_EXIT_FAIL;
        if (checkpoint_epoch(r))
            return CLI_EXIT_FAIL;
        if (o->patience && s->bad_epochs >= o->patience) {
            fprintf(stderr, "no better validation accuracy for %d epochs: stopping early\n",
                    o->patience);
            s->epoch++;
            break;
        }
        if (interrupted) {
            fprintf(stderr, "interrupted: checkpoint written to %s; continue with --resume %s\n",
                    o->ckpt, o->ckpt);
            return CLI_EXIT_INTERRUPTED;
        }
    }
    if (s->swa_count > 1) {
        int sr = swa_finish(r, command);
        if (sr != CLI_EXIT_OK)
            return sr;
    }
    return CLI_EXIT_OK;
}
