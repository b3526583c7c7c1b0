/*
 * checkpoint.c - training checkpoint files.
 *
 * Format (all integers little-endian, floats IEEE-754 binary32/64 LE):
 *   8   magic "EMOCKPT\0"
 *   u32 version (3; 2 and 1 are read too: 2 lacks the data's fingerprint,
 *       1 the weight average as well)
 *   u32 argc, then argc times: u32 length + bytes (no NUL)
 *   i32 epoch, i32 batch, f64 loss_sum, i64 correct, i64 seen,
 *   f64 epoch_seconds, f64 total_seconds
 *   u64 augment_rng, u64 order_rng, u64 net_rng
 *   f32 sched_lr, f32 sched_best, i32 sched_bad
 *   f32 best_acc, i32 best_epoch, i32 bad_epochs
 *   i32 optim_kind, i64 optim_t, u64 n_optim, n_optim x f32
 *   i32 n_order, n_order x i32
 *   i32 n_history, n_history x (i32 epoch, f32 lr, f32 train_loss,
 *       f32 train_acc, f32 val_loss, f32 val_acc, f64 seconds)
 *   u64 model_len, model bytes (a .model file image)
 *   u64 best_len, best bytes (0 when no best yet)
 *   version 2: i32 swa_count, u64 n_swa, n_swa x f32 (the running weight
 *       average of --swa, over swa_count epochs; n_swa 0 when none)
 *   version 3: u64 data_fingerprint (dataset_fingerprint of the training,
 *       then the validation faces)
 *   u32 CRC-32 of everything above
 * Every count is checked against the bytes left before anything is
 * allocated.
 */
#include "checkpoint.h"

#include "app_err.h"
#include "outpath.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECKPOINT_VERSION 3
static const char magic[8] = {'E', 'M', 'O', 'C', 'K', 'P', 'T', 0};

/* ---- writing ---- */

typedef struct { uint8_t *p; size_t len, cap; int oom; } wbuf;

static void put(wbuf *b, const void *d, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
}

static void put_u32(wbuf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(b, x, 4);
}
static void put_u64(wbuf *b, uint64_t v)
{
    put_u32(b, (uint32_t)v);
    put_u32(b, (uint32_t)(v >> 32));
}
static void put_f32(wbuf *b, float f)
{
    uint32_t v;
    memcpy(&v, &f, 4);
    put_u32(b, v);
}
static void put_f64(wbuf *b, double f)
{
    uint64_t v;
    memcpy(&v, &f, 8);
    put_u64(b, v);
}

int checkpoint_save(const char *path, const checkpoint_state *s)
{
    wbuf b = {0};
    put(&b, magic, 8);
    put_u32(&b, CHECKPOINT_VERSION);
    put_u32(&b, (uint32_t)s->argc);
    for (int i = 0; i < s->argc; i++) {
        size_t n = strlen(s->argv[i]);
        put_u32(&b, (uint32_t)n);
        put(&b, s->argv[i], n);
    }
    put_u32(&b, (uint32_t)s->epoch);
    put_u32(&b, (uint32_t)s->batch);
    put_f64(&b, s->loss_sum);
    put_u64(&b, (uint64_t)s->correct);
    put_u64(&b, (uint64_t)s->seen);
    put_f64(&b, s->epoch_seconds);
    put_f64(&b, s->total_seconds);
    put_u64(&b, s->augment_rng);
    put_u64(&b, s->order_rng);
    put_u64(&b, s->net_rng);
    put_f32(&b, s->sched_lr);
    put_f32(&b, s->sched_best);
    put_u32(&b, (uint32_t)s->sched_bad);
    put_f32(&b, s->best_acc);
    put_u32(&b, (uint32_t)s->best_epoch);
    put_u32(&b, (uint32_t)s->bad_epochs);
    put_u32(&b, (uint32_t)s->optim_kind);
    put_u64(&b, (uint64_t)s->optim_t);
    put_u64(&b, s->n_optim);
    for (uint64_t i = 0; i < s->n_optim; i++)
        put_f32(&b, s->optim[i]);
    put_u32(&b, (uint32_t)s->n_order);
    for (int i = 0; i < s->n_order; i++)
        put_u32(&b, (uint32_t)s->order[i]);
    put_u32(&b, (uint32_t)s->n_history);
    for (int i = 0; i < s->n_history; i++) {
        const report_epoch *h = &s->history[i];
        put_u32(&b, (uint32_t)h->epoch);
        put_f32(&b, h->lr);
        put_f32(&b, h->train_loss);
        put_f32(&b, h->train_acc);
        put_f32(&b, h->val_loss);
        put_f32(&b, h->val_acc);
        put_f64(&b, h->seconds);
    }
    put_u64(&b, s->model_len);
    put(&b, s->model, s->model_len);
    put_u64(&b, s->best ? s->best_len : 0);
    if (s->best)
        put(&b, s->best, s->best_len);
    put_u32(&b, (uint32_t)s->swa_count);
    put_u64(&b, s->swa ? s->n_swa : 0);
    for (uint64_t i = 0; s->swa && i < s->n_swa; i++)
        put_f32(&b, s->swa[i]);
    put_u64(&b, s->data_fingerprint);
    if (!b.oom)
        put_u32(&b, nn_crc32(0, b.p, b.len));
    if (b.oom) {
        free(b.p);
        return app_fail("%s: out of memory", path);
    }
    /* Through a temporary file: a failed write keeps the last checkpoint. */
    int rc = outpath_write_mem(path, b.p, b.len);
    free(b.p);
    return rc != 0 ? app_fail("checkpoint: %s", app_error()) : 0;
}

/* ---- reading ---- */

typedef struct { const uint8_t *p; size_t left; int bad; } rbuf;

static const uint8_t *take(rbuf *r, size_t n)
{
    if (r->bad || n > r->left) {
        r->bad = 1;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    r->left -= n;
    return p;
}
static uint32_t get_u32(rbuf *r)
{
    const uint8_t *x = take(r, 4);
    return x ? (uint32_t)x[0] | (uint32_t)x[1] << 8 | (uint32_t)x[2] << 16 | (uint32_t)x[3] << 24 : 0;
}
static uint64_t get_u64(rbuf *r)
{
    uint64_t lo = get_u32(r);
    return lo | (uint64_t)get_u32(r) << 32;
}
static float get_f32(rbuf *r)
{
    uint32_t v = get_u32(r);
    float f;
    memcpy(&f, &v, 4);
    return f;
}
static double get_f64(rbuf *r)
{
    uint64_t v = get_u64(r);
    double f;
    memcpy(&f, &v, 8);
    return f;
}

/* A count of items of `size` bytes that must fit in what is left. */
static int get_count(rbuf *r, uint64_t n, size_t size)
{
    if (r->bad || n > r->left / size) {
        r->bad = 1;
        return -1;
    }
    return 0;
}

static void *dup_bytes(rbuf *r, uint64_t n)
{
    if (get_count(r, n, 1))
        return NULL;
    void *p = malloc(n ? n : 1);
    const uint8_t *src = take(r, n);
    if (!p || !src) {
        free(p);
        r->bad = 1;
        return NULL;
    }
    memcpy(p, src, n);
    return p;
}

void checkpoint_free(checkpoint_state *s)
{
    for (int i = 0; i < s->argc; i++)
        free(s->argv[i]);
    free(s->order);
    free(s->optim);
    free(s->history);
    free(s->model);
    free(s->best);
    free(s->swa);
    memset(s, 0, sizeof *s);
}

/* The whole file into a malloc'd buffer. Returns 0 or -1 (app_error). */
static int read_all(const char *path, uint8_t **out, size_t *out_len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return app_fail("%s: %s", path, strerror(errno));
    struct stat st; /* a folder opens, then fails its first read */
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        return app_fail("%s: is a directory, not a checkpoint file (train writes MODEL.ckpt "
                        "beside --out MODEL)", path);
    }
    uint8_t *data = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 1 << 20;
            uint8_t *p = realloc(data, cap);
            if (!p) {
                free(data);
                fclose(f);
                return app_fail("%s: out of memory", path);
            }
            data = p;
        }
        size_t got = fread(data + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    int rerr = ferror(f);
    fclose(f);
    if (rerr) {
        free(data);
        return app_fail("%s: cannot read: %s", path, strerror(errno ? errno : EIO));
    }
    *out = data;
    *out_len = len;
    return 0;
}

/* The optimizer state, epoch order and history; r->bad on any trouble. */
static void get_arrays(rbuf *r, checkpoint_state *s)
{
    s->n_optim = get_u64(r);
    if (!get_count(r, s->n_optim, 4) && (s->optim = malloc((s->n_optim ? s->n_optim : 1) * 4)))
        for (uint64_t i = 0; i < s->n_optim; i++)
            s->optim[i] = get_f32(r);
    else
        r->bad = 1;
    s->n_order = (int32_t)get_u32(r);
    if (s->n_order >= 0 && !get_count(r, (uint64_t)s->n_order, 4) &&
        (s->order = malloc(((size_t)s->n_order + 1) * 4)))
        for (int i = 0; i < s->n_order; i++)
            s->order[i] = (int32_t)get_u32(r);
    else
        r->bad = 1;
    s->n_history = (int32_t)get_u32(r);
    if (s->n_history >= 0 && !get_count(r, (uint64_t)s->n_history, 32) &&
        (s->history = calloc((size_t)s->n_history + 1, sizeof *s->history)))
        for (int i = 0; i < s->n_history; i++) {
            report_epoch *h = &s->history[i];
            h->epoch = (int)get_u32(r);
            h->lr = get_f32(r);
            h->train_loss = get_f32(r);
            h->train_acc = get_f32(r);
            h->val_loss = get_f32(r);
            h->val_acc = get_f32(r);
            h->seconds = get_f64(r);
        }
    else
        r->bad = 1;
}

int checkpoint_load(const char *path, checkpoint_state *s)
{
    memset(s, 0, sizeof *s);
    uint8_t *data = NULL;
    size_t len = 0;
    if (read_all(path, &data, &len) < 0)
        return -1;
    if (len < 16 || memcmp(data, magic, 8)) {
        free(data);
        return app_fail("%s: not a training checkpoint", path);
    }
    uint32_t crc = (uint32_t)data[len - 4] | (uint32_t)data[len - 3] << 8 |
                   (uint32_t)data[len - 2] << 16 | (uint32_t)data[len - 1] << 24;
    if (nn_crc32(0, data, len - 4) != crc) {
        free(data);
        return app_fail("%s: checksum mismatch: checkpoint is damaged", path);
    }
    rbuf r = {data + 8, len - 12, 0};
    uint32_t version = get_u32(&r);
    if (version < 1 || version > CHECKPOINT_VERSION) {
        free(data);
        return app_fail("%s: checkpoint version %u is not supported (%d)", path, version, CHECKPOINT_VERSION);
    }
    uint32_t argc = get_u32(&r);
    if (argc > CHECKPOINT_MAX_ARGS)
        r.bad = 1;
    for (uint32_t i = 0; i < argc && !r.bad; i++) {
        uint32_t n = get_u32(&r);
        char *a = dup_bytes(&r, (uint64_t)n + 0);
        if (!a)
            break;
        char *z = realloc(a, n + 1);
        if (!z) {
            free(a);
            r.bad = 1;
            break;
        }
        z[n] = 0;
        s->argv[s->argc++] = z;
    }
    s->epoch = (int32_t)get_u32(&r);
    s->batch = (int32_t)get_u32(&r);
    s->loss_sum = get_f64(&r);
    s->correct = (int64_t)get_u64(&r);
    s->seen = (int64_t)get_u64(&r);
    s->epoch_seconds = get_f64(&r);
    s->total_seconds = get_f64(&r);
    s->augment_rng = get_u64(&r);
    s->order_rng = get_u64(&r);
    s->net_rng = get_u64(&r);
    s->sched_lr = get_f32(&r);
    s->sched_best = get_f32(&r);
    s->sched_bad = (int32_t)get_u32(&r);
    s->best_acc = get_f32(&r);
    s->best_epoch = (int32_t)get_u32(&r);
    s->bad_epochs = (int32_t)get_u32(&r);
    s->optim_kind = (int32_t)get_u32(&r);
    s->optim_t = (int64_t)get_u64(&r);
    get_arrays(&r, s);
    s->model_len = get_u64(&r);
    s->model = dup_bytes(&r, s->model_len);
    s->best_len = get_u64(&r);
    if (s->best_len)
        s->best = dup_bytes(&r, s->best_len);
    if (version >= 2) {
        s->swa_count = (int32_t)get_u32(&r);
        s->n_swa = get_u64(&r);
        if (s->swa_count >= 0 && !get_count(&r, s->n_swa, 4) &&
            (s->swa = malloc((s->n_swa ? s->n_swa : 1) * 4)))
            for (uint64_t i = 0; i < s->n_swa; i++)
                s->swa[i] = get_f32(&r);
        else
            r.bad = 1;
    }
    if (version >= 3)
        s->data_fingerprint = get_u64(&r);
    if (!r.bad && r.left != 0)
        r.bad = 1;
    free(data);
    if (r.bad || !s->model || s->epoch < 0 || s->batch < 0) {
        checkpoint_free(s);
        return app_fail("%s: checkpoint is malformed", path);
    }
    return 0;
}

/* ---- a running training to and from its state ---- */

int checkpoint_save_run(const char *path, checkpoint_state *s, int argc, char **argv, nn_net *net,
                  nn_optim *opt, const nn_sched *sched, int optim_kind)
{
    s->argc = argc < CHECKPOINT_MAX_ARGS ? argc : CHECKPOINT_MAX_ARGS;
    for (int i = 0; i < s->argc; i++)
        s->argv[i] = argv[i];
    s->net_rng = *nn_net_rng(net);
    s->sched_lr = sched->cur_lr;
    s->sched_best = sched->best;
    s->sched_bad = sched->bad_epochs;
    s->optim_kind = (int32_t)optim_kind;
    s->optim_t = *nn_optim_step_count(opt);
    s->n_optim = nn_optim_state_size(opt);
    s->optim = nn_optim_state(opt);
    s->n_swa = s->swa ? nn_net_n_params(net) : 0;
    size_t len;
    void *model = nn_net_save_mem(net, &len);
    int rc = model ? 0 : app_fail("checkpoint: %s", nn_error());
    s->model = model;
    s->model_len = len;
    if (!rc)
        rc = checkpoint_save(path, s);
    free(model);
    s->model = NULL;
    s->optim = NULL;
    for (int i = 0; i < s->argc; i++)
        s->argv[i] = NULL;
    s->argc = 0;
    return rc;
}

int checkpoint_restore(checkpoint_state *saved, checkpoint_state *s, nn_net *net, nn_optim *opt,
                 nn_sched *sched, int optim_kind, int n_train, uint64_t data_fingerprint)
{
    if (saved->n_optim != nn_optim_state_size(opt) || saved->optim_kind != (int32_t)optim_kind)
        return app_fail("optimizer state does not match --optimizer");
    int swa_fits = saved->swa && saved->n_swa == nn_net_n_params(net);
    if (!swa_fits && saved->swa_count)
        return app_fail("its weight average does not fit the model");
    /* A checkpoint made at an epoch's end has no order to count against:
     * only the fingerprint (version 3) finds the data changed. Older
     * checkpoints are taken on their word. */
    if ((saved->n_order && saved->n_order != n_train) ||
        (saved->data_fingerprint && saved->data_fingerprint != data_fingerprint))
        return app_fail("the data has changed since the checkpoint (images added, removed, changed "
                        "or moved to another class): the run would go on with another validation "
                        "split; start a new run (--init MODEL takes a model's weights)");
    memcpy(nn_optim_state(opt), saved->optim, saved->n_optim * sizeof(float));
    *nn_optim_step_count(opt) = saved->optim_t;
    *nn_net_rng(net) = saved->net_rng;
    sched->cur_lr = saved->sched_lr;
    sched->best = saved->sched_best;
    sched->bad_epochs = saved->sched_bad;
    /* Everything the run goes on with moves over; the arguments and the
     * optimizer and model images stay with saved. */
    s->epoch = saved->epoch;
    s->batch = saved->batch;
    s->n_order = saved->n_order;
    s->loss_sum = saved->loss_sum;
    s->correct = saved->correct;
    s->seen = saved->seen;
    s->epoch_seconds = saved->epoch_seconds;
    s->total_seconds = saved->total_seconds;
    s->augment_rng = saved->augment_rng;
    s->order_rng = saved->order_rng;
    s->best_acc = saved->best_acc;
    s->best_epoch = saved->best_epoch;
    s->bad_epochs = saved->bad_epochs;
    s->n_history = saved->n_history;
    s->best_len = saved->best_len;
    s->order = saved->order;
    s->history = saved->history;
    s->best = saved->best;
    saved->order = NULL;
    saved->history = NULL;
    saved->best = NULL;
    if (swa_fits) {
        s->swa = saved->swa;
        s->swa_count = saved->swa_count;
        saved->swa = NULL;
    }
    return 0;
}
