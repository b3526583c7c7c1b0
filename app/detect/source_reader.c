/* source_reader.c - the reader thread and the one-slot mailbox of a
 * source; see source.h. The producers behind it are in source.c and
 * source_capture.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app_err.h"
#include "source_impl.h"

double source_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int grow(source_frame *f, int w, int h)
{
    size_t need = (size_t)w * h * 3;
    if (need > f->cap) {
        uint8_t *p = realloc(f->bgr, need);
        if (!p)
            return -1;
        f->bgr = p;
        f->cap = need;
    }
    return 0;
}

int source_frame_reserve(source_frame *f, int w, int h)
{
    if (w <= 0 || h <= 0 || grow(f, w, h) != 0)
        return -1;
    f->w = w;
    f->h = h;
    return 0;
}

source *source_new(source_kind kind, const source_ops *ops)
{
    source *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->kind = kind;
    s->ops = ops;
    s->prod = 0;
    s->slot = 1;
    s->cons = 2;
    s->frame_count = -1;
    s->t0 = source_now_ms();
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    return s;
}

void source_set_msg(source *s, const char *m)
{
    pthread_mutex_lock(&s->mu);
    snprintf(s->msg, sizeof s->msg, "%.*s", (int)sizeof s->msg - 1, m);
    pthread_mutex_unlock(&s->mu);
}

int source_sleep_unless_stopped(source *s, double ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    long ns = ts.tv_nsec + (long)(ms * 1e6);
    ts.tv_sec += ns / 1000000000L;
    ts.tv_nsec = ns % 1000000000L;
    pthread_mutex_lock(&s->mu);
    while (!s->stop)
        if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) == ETIMEDOUT)
            break;
    int stop = s->stop;
    pthread_mutex_unlock(&s->mu);
    return stop;
}

/* One frame from the producer, stamped with its number and times. */
static source_status produce_once(source *s, source_frame *f)
{
    double t = source_now_ms();
    f->file = NULL;
    source_status r = s->ops->read(s, f);
    if (r == SOURCE_FRAME) {
        f->index = s->next_index++;
        f->t_ms = s->drop ? source_now_ms() - s->t0 : f->index * 1000.0 / s->fps;
        f->read_ms = source_now_ms() - t;
    }
    return r;
}

static source_status produce(source *s, source_frame *f)
{
    source_status r = produce_once(s, f);
    /* A pass with no frame at all would loop forever: end instead. */
    if (r == SOURCE_END && s->loop && s->pass_frames > 0 && s->ops->rewind) {
        if (s->ops->rewind(s) != 0)
            return SOURCE_ERROR;
        s->pass_frames = 0;
        s->restart = 1;
        r = produce_once(s, f);
    }
    if (r == SOURCE_FRAME) {
        s->pass_frames++;
        f->restarted = s->restart;
        s->restart = 0;
    }
    return r;
}

/* Put the reader's frame into the mailbox slot: a live source overwrites
 * it, a file waits until the consumer has taken the last one. */
static void hand_over(source *s)
{
    pthread_mutex_lock(&s->mu);
    while (!s->drop && s->slot_full && !s->stop)
        pthread_cond_wait(&s->cv, &s->mu);
    if (!s->stop) {
        int t = s->prod;
        s->prod = s->slot;
        s->slot = t;
        s->slot_full = 1;
        pthread_cond_broadcast(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
}

static void *reader(void *arg)
{
    source *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        int stop = s->stop;
        pthread_mutex_unlock(&s->mu);
        if (stop)
            break;
        source_status r = produce(s, &s->buf[s->prod]);
        if (r == SOURCE_FRAME) {
            hand_over(s);
            continue;
        }
        if (r == SOURCE_ERROR && s->reconnect && s->ops->recover) {
            if (s->ops->recover(s) != 0)
                break;
            continue;
        }
        pthread_mutex_lock(&s->mu);
        if (r == SOURCE_END)
            s->ended = 1;
        else
            s->failed = 1;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        break;
    }
    pthread_mutex_lock(&s->mu);
    s->ended = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

source *source_start(source *s)
{
    if (pthread_create(&s->thread, NULL, reader, s) != 0) {
        source_close(s);
        return app_fail_null("cannot start the reader thread");
    }
    s->started = 1;
    return s;
}

source_status source_next(source *s, const source_frame **f, int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (timeout_ms > 0) {
        long ns = ts.tv_nsec + (long)timeout_ms * 1000000L;
        ts.tv_sec += ns / 1000000000L;
        ts.tv_nsec = ns % 1000000000L;
    }
    pthread_mutex_lock(&s->mu);
    while (!s->slot_full && !s->ended && !s->failed) {
        if (timeout_ms == 0)
            break;
        if (timeout_ms < 0)
            pthread_cond_wait(&s->cv, &s->mu);
        else if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) == ETIMEDOUT)
            break;
    }
    source_status r;
    if (s->slot_full) {
        int t = s->cons;
        s->cons = s->slot;
        s->slot = t;
        s->slot_full = 0;
        pthread_cond_broadcast(&s->cv); /* a file reader may be waiting */
        *f = &s->buf[s->cons];
        r = SOURCE_FRAME;
    } else if (s->failed) {
        r = SOURCE_ERROR;
    } else if (s->ended) {
        r = SOURCE_END;
    } else {
        r = SOURCE_WAIT;
    }
    pthread_mutex_unlock(&s->mu);
    return r;
}

source_kind source_kind_of(const source *s) { return s->kind; }
int source_width(const source *s) { return s->w; }
int source_height(const source *s) { return s->h; }
double source_fps(const source *s) { return s->fps > 0 ? s->fps : 25; }
long source_frame_count(const source *s) { return s->frame_count; }

const char *source_message(source *s, char *buf, size_t len)
{
    pthread_mutex_lock(&s->mu);
    snprintf(buf, len, "%s", s->msg);
    pthread_mutex_unlock(&s->mu);
    return buf;
}

int source_ok(source *s)
{
    pthread_mutex_lock(&s->mu);
    int ok = s->kind != SOURCE_CAMERA || s->cam_ok;
    pthread_mutex_unlock(&s->mu);
    return ok;
}

void source_close(source *s)
{
    if (!s)
        return;
    if (s->started) {
        pthread_mutex_lock(&s->mu);
        s->stop = 1;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->thread, NULL);
    }
    cvw_capture_close(s->cap);
    free(s->path);
    for (int i = 0; i < s->n_files; i++)
        free(s->files[i]);
    free(s->files);
    free(s->first);
    for (int i = 0; i < 3; i++)
        free(s->buf[i].bgr);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
