/* test_checkpoint.c - app/train/checkpoint: a checkpoint written and read
 * back gives every field as it was (arguments, position, statistics, RNGs,
 * schedule, early stopping, optimizer state, epoch order, history, the
 * current and best model images with their weights, the weight average),
 * with and without the optional parts; a damaged file is refused; a
 * version 2 file (no data fingerprint) still loads. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app_err.h"
#include "checkpoint.h"
#include "nn.h"
#include "testutil.h"

static char dir[256];

/* A small net with seeded weights saved as a .model image (malloc'd). */
static void *model_image(uint64_t seed, uint64_t *len)
{
    nn_net *net = nn_net_from_spec("input 8x8 1\nconv 2 3x3 same relu\nflatten\n"
                                   "dense classes softmax\n", 3);
    CHECK(net != NULL);
    if (!net)
        return NULL;
    nn_net_init(net, seed);
    char path[320];
    snprintf(path, sizeof path, "%s/net.model", dir);
    CHECK_MSG(nn_net_save(net, path) == 0, "%s", nn_error());
    nn_net_free(net);
    FILE *f = fopen(path, "rb");
    void *buf = NULL;
    long n = -1;
    if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n)) && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (f)
        fclose(f);
    remove(path);
    CHECK(buf != NULL);
    *len = buf ? (uint64_t)n : 0;
    return buf;
}

/* Same trainable weights in two model images. */
static int same_weights(const void *a, uint64_t alen, const void *b, uint64_t blen)
{
    nn_net *x = nn_net_load_mem(a, alen), *y = nn_net_load_mem(b, blen);
    int same = x && y && nn_net_n_params(x) == nn_net_n_params(y) &&
               !memcmp(nn_net_params(x), nn_net_params(y), nn_net_n_params(x) * sizeof(float));
    nn_net_free(x);
    nn_net_free(y);
    return same;
}

static float *floats(uint64_t n, float base)
{
    float *v = malloc((n ? n : 1) * sizeof *v);
    for (uint64_t i = 0; i < n; i++)
        v[i] = base + (float)i * 0.125f - (i % 3 ? 0.0f : 1e-7f);
    return v;
}

/* A state with every field set to a value of its own; `full` adds a best
 * model and a weight average. */
static void fill(checkpoint_state *s, int full)
{
    memset(s, 0, sizeof *s);
    static const char *const args[] = {"--data", "faces dir/with spaces", "--epochs", "30",
                                        "", "--swa", "\xc3\xa9t\xc3\xa9"};
    s->argc = (int)(sizeof args / sizeof *args);
    for (int i = 0; i < s->argc; i++)
        s->argv[i] = strdup(args[i]);
    s->epoch = 7;
    s->batch = 123;
    s->n_order = 50;
    s->order = malloc((size_t)s->n_order * sizeof *s->order);
    for (int i = 0; i < s->n_order; i++)
        s->order[i] = (i * 17 + 3) % s->n_order;
    s->loss_sum = 1234.5678901234;
    s->correct = 4000000001LL;
    s->seen = 5000000003LL;
    s->epoch_seconds = 61.25;
    s->total_seconds = 987654.321;
    s->augment_rng = 0x0123456789ABCDEFull;
    s->order_rng = 0xFEDCBA9876543210ull;
    s->net_rng = 0x8000000000000001ull;
    s->sched_lr = 3.5e-4f;
    s->sched_best = 0.6875f;
    s->sched_bad = 2;
    s->best_acc = 0.71875f;
    s->best_epoch = 5;
    s->bad_epochs = 1;
    s->optim_kind = 1;
    s->optim_t = 123456789012LL;
    s->n_optim = 1001;
    s->optim = floats(s->n_optim, -3.0f);
    s->n_history = 3;
    s->history = calloc(3, sizeof *s->history);
    for (int i = 0; i < 3; i++)
        s->history[i] = (report_epoch){.epoch = i + 1, .lr = 0.01f / (float)(i + 1),
                                    .train_loss = 1.5f - 0.25f * (float)i,
                                    .train_acc = 0.3f + 0.1f * (float)i,
                                    .val_loss = 1.75f - 0.125f * (float)i,
                                    .val_acc = 0.25f + 0.125f * (float)i,
                                    .seconds = 140.5 + (double)i};
    s->model = model_image(11, &s->model_len);
    if (full) {
        s->best = model_image(12, &s->best_len);
        s->swa_count = 4;
        s->n_swa = 777;
        s->swa = floats(s->n_swa, 0.5f);
    }
    s->data_fingerprint = 0xA5A5000012345678ull;
}

static void compare(const checkpoint_state *a, const checkpoint_state *b, const char *what)
{
    CHECK_MSG(a->argc == b->argc, "%s", what);
    for (int i = 0; i < a->argc && i < b->argc; i++)
        CHECK_MSG(a->argv[i] && b->argv[i] && !strcmp(a->argv[i], b->argv[i]), "%s: argv[%d]",
                  what, i);
    CHECK_MSG(a->epoch == b->epoch && a->batch == b->batch, "%s", what);
    CHECK_MSG(a->n_order == b->n_order && b->order &&
              !memcmp(a->order, b->order, (size_t)a->n_order * sizeof *a->order), "%s", what);
    CHECK_MSG(a->loss_sum == b->loss_sum && a->correct == b->correct && a->seen == b->seen,
              "%s", what);
    CHECK_MSG(a->epoch_seconds == b->epoch_seconds && a->total_seconds == b->total_seconds,
              "%s", what);
    CHECK_MSG(a->augment_rng == b->augment_rng && a->order_rng == b->order_rng &&
              a->net_rng == b->net_rng, "%s: RNG states", what);
    CHECK_MSG(a->sched_lr == b->sched_lr && a->sched_best == b->sched_best &&
              a->sched_bad == b->sched_bad, "%s: schedule", what);
    CHECK_MSG(a->best_acc == b->best_acc && a->best_epoch == b->best_epoch &&
              a->bad_epochs == b->bad_epochs, "%s: early stopping", what);
    CHECK_MSG(a->optim_kind == b->optim_kind && a->optim_t == b->optim_t &&
              a->n_optim == b->n_optim, "%s: optimizer", what);
    CHECK_MSG(b->optim && !memcmp(a->optim, b->optim, a->n_optim * sizeof(float)),
              "%s: optimizer state", what);
    CHECK_MSG(a->n_history == b->n_history, "%s", what);
    for (int i = 0; i < a->n_history && i < b->n_history; i++) {
        const report_epoch *x = &a->history[i], *y = &b->history[i];
        CHECK_MSG(x->epoch == y->epoch && x->lr == y->lr && x->train_loss == y->train_loss &&
                  x->train_acc == y->train_acc && x->val_loss == y->val_loss &&
                  x->val_acc == y->val_acc && x->seconds == y->seconds,
                  "%s: history[%d]", what, i);
    }
    CHECK_MSG(a->model_len == b->model_len && b->model &&
              !memcmp(a->model, b->model, a->model_len), "%s: model image", what);
    CHECK_MSG(b->model && same_weights(a->model, a->model_len, b->model, b->model_len),
              "%s: model weights", what);
    CHECK_MSG(a->best_len == b->best_len, "%s", what);
    if (a->best_len) {
        CHECK_MSG(b->best && !memcmp(a->best, b->best, a->best_len), "%s: best image", what);
        CHECK_MSG(b->best && same_weights(a->best, a->best_len, b->best, b->best_len),
                  "%s: best weights", what);
        /* The two models really differ, so a swap would be seen. */
        CHECK(!same_weights(a->model, a->model_len, b->best, b->best_len));
    } else {
        CHECK_MSG(b->best == NULL, "%s", what);
    }
    CHECK_MSG(a->swa_count == b->swa_count && a->n_swa == b->n_swa, "%s: swa", what);
    if (a->n_swa)
        CHECK_MSG(b->swa && !memcmp(a->swa, b->swa, a->n_swa * sizeof(float)),
                  "%s: weight average", what);
    CHECK_MSG(a->data_fingerprint == b->data_fingerprint, "%s: data fingerprint", what);
}

static void round_trip(int full)
{
    const char *what = full ? "with best and swa" : "without";
    char path[320];
    snprintf(path, sizeof path, "%s/run.ckpt", dir);
    checkpoint_state a, b;
    fill(&a, full);
    CHECK_MSG(checkpoint_save(path, &a) == 0, "%s", app_error());
    memset(&b, 0x5A, sizeof b); /* the loader must set every field */
    CHECK_MSG(checkpoint_load(path, &b) == 0, "%s: %s", what, app_error());
    compare(&a, &b, what);
    checkpoint_free(&b);

    /* Saving over an existing checkpoint replaces it. */
    a.epoch = 8;
    a.batch = 0;
    a.order[0] ^= 1;
    a.optim[10] = -0.0f;
    CHECK(checkpoint_save(path, &a) == 0);
    memset(&b, 0, sizeof b);
    CHECK_MSG(checkpoint_load(path, &b) == 0, "%s", app_error());
    compare(&a, &b, what);
    checkpoint_free(&b);

    /* One flipped byte anywhere is refused with a message. */
    FILE *f = fopen(path, "r+b");
    CHECK(f && fseek(f, 200, SEEK_SET) == 0);
    int c = f ? fgetc(f) : 0;
    if (f) {
        fseek(f, 200, SEEK_SET);
        fputc(c ^ 0x10, f);
        fclose(f);
    }
    memset(&b, 0, sizeof b);
    CHECK(checkpoint_load(path, &b) == -1 && strstr(app_error(), "damaged"));
    checkpoint_free(&b);
    remove(path);
    checkpoint_free(&a);
}

/* A version 2 checkpoint (before the data's fingerprint; runs started
 * by an earlier build) still loads, with the fingerprint unknown (0). */
static void version_2(void)
{
    char path[320];
    snprintf(path, sizeof path, "%s/v2.ckpt", dir);
    checkpoint_state a, b;
    fill(&a, 1);
    CHECK_MSG(checkpoint_save(path, &a) == 0, "%s", app_error());
    FILE *f = fopen(path, "rb");
    static uint8_t buf[1 << 20];
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f)
        fclose(f);
    CHECK(n > 24 && n < sizeof buf);
    /* Drop the fingerprint before the CRC, say version 2, sign again. */
    n -= 12;
    buf[8] = 2;
    uint32_t crc = nn_crc32(0, buf, n);
    for (int i = 0; i < 4; i++)
        buf[n++] = (uint8_t)(crc >> (8 * i));
    f = fopen(path, "wb");
    CHECK(f && fwrite(buf, 1, n, f) == n);
    if (f)
        fclose(f);
    memset(&b, 0x5A, sizeof b);
    CHECK_MSG(checkpoint_load(path, &b) == 0, "version 2: %s", app_error());
    a.data_fingerprint = 0;
    compare(&a, &b, "version 2");
    checkpoint_free(&b);
    checkpoint_free(&a);
    remove(path);
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s/ed_test_ckpt_XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    round_trip(0);
    round_trip(1);
    version_2();
    rmdir(dir);
    return test_done("test_checkpoint");
}
