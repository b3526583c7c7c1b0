/* source.c - frame sources on a reader thread; see source.h. */
#include "source.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cvw.h"
#include "dirlist.h"

struct source {
    src_kind kind;
    int drop;        /* camera: overwrite the mailbox slot */
    src_read_fn fn;  /* source_open_fn: frames from a function */
    void *fn_ctx;
    cvw_capture *cap;
    char *path;      /* video: reopened to loop */
    int loop;        /* start over at the end of a file or folder */
    long pass_frames; /* frames delivered since the last start-over */
    int restart;     /* the next frame is the first after a start-over */
    int cam_index;
    int reconnect;
    char **files;    /* image or folder */
    int n_files;
    int file_i;
    uint8_t *first;  /* first image, read at open to learn the size */
    int first_w, first_h;
    int w, h;
    double fps;
    long frame_count;
    double t0;
    long next_index;

    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    src_frame buf[3];   /* triple buffer: reader's, mailbox slot, consumer's */
    int prod, slot, cons;
    int slot_full, ended, failed, stop, cam_ok;
    char msg[512];
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int grow(src_frame *f, int w, int h)
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

int src_frame_reserve(src_frame *f, int w, int h)
{
    if (w <= 0 || h <= 0 || grow(f, w, h) != 0)
        return -1;
    f->w = w;
    f->h = h;
    return 0;
}

static source *new_source(src_kind kind)
{
    source *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->kind = kind;
    s->prod = 0;
    s->slot = 1;
    s->cons = 2;
    s->frame_count = -1;
    s->t0 = now_ms();
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    return s;
}

static void set_msg(source *s, const char *m)
{
    pthread_mutex_lock(&s->mu);
    snprintf(s->msg, sizeof s->msg, "%.*s", (int)sizeof s->msg - 1, m);
    pthread_mutex_unlock(&s->mu);
}

/* Wait up to ms for stop; returns 1 when asked to stop. */
static int sleep_unless_stopped(source *s, double ms)
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

/* Read the next frame into f. 1 frame, 0 end, -1 error (message in s->msg). */
static int produce_once(source *s, src_frame *f)
{
    double t = now_ms();
    if (s->fn) {
        int r = s->fn(s->fn_ctx, f);
        if (r == 1) {
            f->index = s->next_index++;
            f->t_ms = s->drop ? now_ms() - s->t0 : f->index * 1000.0 / s->fps;
            f->read_ms = now_ms() - t;
        } else if (r < 0) {
            set_msg(s, "frame source failed");
        }
        return r;
    }
    if (s->kind == SRC_CAMERA || s->kind == SRC_VIDEO) {
        int w = s->w, h = s->h;
        for (int tries = 0; tries < 2; tries++) {
            if (grow(f, w, h)) {
                set_msg(s, "out of memory");
                return -1;
            }
            int r = cvw_capture_read(s->cap, f->bgr, f->cap, &w, &h);
            if (r == 1) {
                f->w = w;
                f->h = h;
                f->index = s->next_index++;
                f->t_ms = s->kind == SRC_CAMERA ? now_ms() - s->t0 : f->index * 1000.0 / s->fps;
                f->read_ms = now_ms() - t;
                return 1;
            }
            if (r == 0)
                return 0;
            if ((size_t)w * h * 3 <= f->cap)
                break; /* a real error, not a size change */
        }
        set_msg(s, cvw_error());
        return -1;
    }
    /* images */
    while (s->file_i < s->n_files) {
        const char *path = s->files[s->file_i++];
        uint8_t *px = NULL;
        int w, h;
        if (s->first) {
            px = s->first;
            w = s->first_w;
            h = s->first_h;
            s->first = NULL;
        } else if (cvw_read_bgr(path, &px, &w, &h) != 0) {
            /* One bad file in a folder should not end the run. */
            fprintf(stderr, "emotion-detect: skipping %s\n", cvw_error());
            continue;
        }
        if (grow(f, w, h)) {
            free(px);
            set_msg(s, "out of memory");
            return -1;
        }
        memcpy(f->bgr, px, (size_t)w * h * 3);
        free(px);
        f->w = w;
        f->h = h;
        f->index = s->next_index++;
        f->t_ms = f->index * 1000.0 / s->fps;
        f->read_ms = now_ms() - t;
        return 1;
    }
    return 0;
}

/* --camera-size, --camera-fps: asked of every camera opened. */
static int cam_req_w, cam_req_h;

void source_camera_mode(int w, int h, double fps)
{
    cam_req_w = w;
    cam_req_h = h;
    cvw_camera_request_fps(fps);
}

static int open_camera(source *s, char *err, size_t errlen)
{
    s->cap = cvw_capture_open_camera(s->cam_index, cam_req_w, cam_req_h);
    if (!s->cap) {
        snprintf(err, errlen, "%s", cvw_error());
        return -1;
    }
    s->w = cvw_capture_width(s->cap);
    s->h = cvw_capture_height(s->cap);
    double fps = cvw_capture_fps(s->cap);
    s->fps = fps > 0 ? fps : 30;
    return 0;
}

/* Kiosk: keep trying to (re)open the camera, waiting longer each time. */
static int reconnect_camera(source *s, const char *why)
{
    double wait = 500;
    char reason[512];
    snprintf(reason, sizeof reason, "%s", why);
    for (;;) {
        char m[600];
        snprintf(m, sizeof m, "%s - retrying in %.0f s", reason, wait < 1000 ? 1.0 : wait / 1000);
        set_msg(s, m);
        pthread_mutex_lock(&s->mu);
        s->cam_ok = 0;
        pthread_mutex_unlock(&s->mu);
        if (sleep_unless_stopped(s, wait))
            return -1;
        char err[256];
        cvw_capture_close(s->cap);
        s->cap = NULL;
        if (open_camera(s, err, sizeof err) == 0) {
            pthread_mutex_lock(&s->mu);
            s->cam_ok = 1;
            s->msg[0] = 0;
            pthread_mutex_unlock(&s->mu);
            return 0;
        }
        snprintf(reason, sizeof reason, "%s", err);
        wait = wait * 2 > 8000 ? 8000 : wait * 2;
    }
}

/* Start the file or folder over. Reopening rather than seeking: seeking
 * to frame 0 is not exact in every container OpenCV reads. */
static int rewind_source(source *s)
{
    if (s->kind == SRC_VIDEO) {
        cvw_capture_close(s->cap);
        s->cap = cvw_capture_open_file(s->path);
        if (!s->cap) {
            set_msg(s, cvw_error());
            return -1;
        }
    } else {
        s->file_i = 0;
    }
    return 0;
}

static int produce(source *s, src_frame *f)
{
    int r = produce_once(s, f);
    /* A pass with no frame at all would loop forever: end instead. */
    if (r == 0 && s->loop && s->pass_frames > 0 && !s->fn && s->kind != SRC_CAMERA) {
        if (rewind_source(s) != 0)
            return -1;
        s->pass_frames = 0;
        s->restart = 1;
        r = produce_once(s, f);
    }
    if (r == 1) {
        s->pass_frames++;
        f->restarted = s->restart;
        s->restart = 0;
    }
    return r;
}

static void *reader(void *arg)
{
    source *s = arg;
    if (s->kind == SRC_CAMERA && !s->cap && !s->fn) {
        char why[sizeof s->msg];
        snprintf(why, sizeof why, "%s", s->msg[0] ? s->msg : "no camera");
        if (reconnect_camera(s, why) != 0)
            goto done;
    }
    for (;;) {
        pthread_mutex_lock(&s->mu);
        int stop = s->stop;
        pthread_mutex_unlock(&s->mu);
        if (stop)
            break;
        src_frame *f = &s->buf[s->prod];
        int r = produce(s, f);
        if (r == 1) {
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
            continue;
        }
        if (r < 0 && s->kind == SRC_CAMERA && s->reconnect) {
            char why[200];
            snprintf(why, sizeof why, "camera %d lost", s->cam_index);
            if (reconnect_camera(s, why) != 0)
                break;
            continue;
        }
        pthread_mutex_lock(&s->mu);
        if (r == 0)
            s->ended = 1;
        else
            s->failed = 1;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        break;
    }
done:
    pthread_mutex_lock(&s->mu);
    s->ended = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static source *start(source *s, char *err, size_t errlen)
{
    if (pthread_create(&s->thread, NULL, reader, s) != 0) {
        snprintf(err, errlen, "cannot start the reader thread");
        source_close(s);
        return NULL;
    }
    s->started = 1;
    return s;
}

source *source_open_camera(int index, int reconnect, char *err, size_t errlen)
{
    source *s = new_source(SRC_CAMERA);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->drop = 1;
    s->cam_index = index;
    s->reconnect = reconnect;
    s->fps = 30;
    if (open_camera(s, err, errlen) != 0) {
        if (!reconnect) {
            source_close(s);
            return NULL;
        }
        snprintf(s->msg, sizeof s->msg, "%s", err); /* shown while retrying */
    }
    s->cam_ok = s->cap != NULL;
    return start(s, err, errlen);
}

source *source_open_fn(src_read_fn fn, void *ctx, int live, int w, int h, double fps,
                       char *err, size_t errlen)
{
    source *s = new_source(live ? SRC_CAMERA : SRC_VIDEO);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->fn = fn;
    s->fn_ctx = ctx;
    s->drop = live;
    s->cam_ok = 1;
    s->w = w;
    s->h = h;
    s->fps = fps > 0 ? fps : 25;
    return start(s, err, errlen);
}

static int list_folder(source *s, const char *path, char *err, size_t errlen)
{
    dirlist names = {0};
    if (dirlist_read(path, DIRLIST_IMAGES, &names) != 0) {
        snprintf(err, errlen, "input '%s': cannot read folder: %s", path, strerror(errno));
        dirlist_free(&names);
        return -1;
    }
    /* Sorted names become paths in place. */
    s->files = names.v;
    for (int i = 0; i < names.n; i++) {
        size_t n = strlen(path) + strlen(names.v[i]) + 2;
        char *full = malloc(n);
        if (!full)
            break;
        snprintf(full, n, "%s/%s", path, names.v[i]);
        free(names.v[i]);
        s->files[s->n_files++] = full;
    }
    for (int i = s->n_files; i < names.n; i++)
        free(names.v[i]);
    if (s->n_files == 0) {
        snprintf(err, errlen, "input '%s': folder has no images", path);
        return -1;
    }
    return 0;
}

source *source_open_path(const char *path, int loop, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(err, errlen, "input '%s': %s", path,
                 errno == ENOENT ? "no such file or folder" : strerror(errno));
        return NULL;
    }
    int is_dir = S_ISDIR(st.st_mode);
    source *s = new_source(is_dir ? SRC_FOLDER : SRC_VIDEO);
    if (!s || !(s->path = strdup(path))) {
        snprintf(err, errlen, "out of memory");
        source_close(s);
        return NULL;
    }
    s->loop = loop;
    if (is_dir) {
        if (list_folder(s, path, err, errlen) != 0)
            goto fail;
    } else if (!dirlist_is_image(path)) {
        s->cap = cvw_capture_open_file(path);
        if (!s->cap) {
            /* Maybe an image with an unusual name. */
            uint8_t *px;
            int w, h;
            char why[256];
            snprintf(why, sizeof why, "%s", cvw_error());
            if (cvw_read_bgr(path, &px, &w, &h) != 0) {
                snprintf(err, errlen, "input %s", why);
                goto fail;
            }
            free(px);
            s->kind = SRC_IMAGE;
        } else {
            s->w = cvw_capture_width(s->cap);
            s->h = cvw_capture_height(s->cap);
            double fps = cvw_capture_fps(s->cap);
            s->fps = fps > 0 ? fps : 25;
            s->frame_count = cvw_capture_frame_count(s->cap);
        }
    } else {
        s->kind = SRC_IMAGE;
    }
    if (s->kind == SRC_IMAGE) {
        s->files = malloc(sizeof *s->files);
        if (!s->files || !(s->files[0] = strdup(path))) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        s->n_files = 1;
    }
    if (s->kind == SRC_IMAGE || s->kind == SRC_FOLDER) {
        /* Learn the size from the first readable image. */
        s->fps = 1;
        s->frame_count = s->n_files;
        while (s->file_i < s->n_files) {
            if (cvw_read_bgr(s->files[s->file_i], &s->first, &s->first_w, &s->first_h) == 0)
                break;
            if (s->kind == SRC_IMAGE) {
                snprintf(err, errlen, "input %s", cvw_error());
                goto fail;
            }
            fprintf(stderr, "emotion-detect: skipping %s\n", cvw_error());
            s->file_i++;
        }
        if (!s->first) {
            snprintf(err, errlen, "input '%s': no readable images", path);
            goto fail;
        }
        s->w = s->first_w;
        s->h = s->first_h;
    }
    return start(s, err, errlen);
fail:
    source_close(s);
    return NULL;
}

int source_next(source *s, const src_frame **f, int timeout_ms)
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
    int r;
    if (s->slot_full) {
        int t = s->cons;
        s->cons = s->slot;
        s->slot = t;
        s->slot_full = 0;
        pthread_cond_broadcast(&s->cv); /* a file reader may be waiting */
        *f = &s->buf[s->cons];
        r = 1;
    } else if (s->failed) {
        r = -2;
    } else if (s->ended) {
        r = -1;
    } else {
        r = 0;
    }
    pthread_mutex_unlock(&s->mu);
    return r;
}

src_kind source_kind(const source *s) { return s->kind; }
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
    int ok = s->kind != SRC_CAMERA || s->cam_ok;
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
