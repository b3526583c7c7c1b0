/*
 * source_impl.h - inside a source (source.h): the state the reader thread
 * shares with the consumer, and the table of functions through which it
 * asks a producer (camera, video, images, a function) for frames. Only the
 * source_*.c files include this.
 */
#ifndef ED_SOURCE_IMPL_H
#define ED_SOURCE_IMPL_H

#include <pthread.h>

#include "cvw.h"
#include "source.h"

/* The rate a capture reports when it can be real (CVW_FPS_MAX), else 0. */
static inline double source_plausible_fps(double fps)
{
    return fps > 0 && fps <= CVW_FPS_MAX ? fps : 0; /* NaN fails both */
}

typedef struct source_ops {
    /* Decode the next frame into f (size and pixels; the reader stamps
     * index and times). SOURCE_FRAME, SOURCE_END, or SOURCE_ERROR after
     * source_set_msg. */
    source_status (*read)(source *s, source_frame *f);
    /* Start over at the first frame (--loop). 0, or -1 after
     * source_set_msg. NULL: the producer does not loop. */
    int (*rewind)(source *s);
    /* After SOURCE_ERROR with reconnection asked for: wait until the
     * producer works again. 0 when it does, -1 when the reader must stop.
     * NULL: errors end the stream. */
    int (*recover)(source *s);
} source_ops;

struct source {
    const source_ops *ops;
    source_kind kind;
    int drop;        /* live: overwrite the mailbox slot */
    /* producer state (each producer uses its own part) */
    source_read_fn fn;  /* source_open_fn */
    void *fn_ctx;
    cvw_capture *cap;   /* camera, video */
    char *path;         /* video: reopened to loop */
    int cam_index;
    int reconnect;
    char **files;       /* image or folder */
    int n_files;
    int file_i;
    uint8_t *first;     /* first image, read at open to learn the size */
    int first_w, first_h;
    source_warn_fn warn;
    void *warn_ctx;
    /* what the source says about itself */
    int w, h;
    double fps;
    long frame_count;
    /* reader bookkeeping */
    int loop;        /* start over at the end of a file or folder */
    long pass_frames; /* frames delivered since the last start-over */
    int restart;     /* the next frame is the first after a start-over */
    double t0;
    long next_index;

    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    source_frame buf[3];   /* triple buffer: reader's, mailbox slot, consumer's */
    int prod, slot, cons;
    int slot_full, ended, failed, stop, cam_ok;
    char msg[512];
};

extern const source_ops source_camera_ops, source_video_ops, source_images_ops, source_fn_ops;

/* source_reader.c */
source *source_new(source_kind kind, const source_ops *ops); /* NULL: out of memory */
/* Start the reader thread; on failure frees s and returns NULL (app_error()). */
source *source_start(source *s);
void source_set_msg(source *s, const char *m);
/* Wait up to ms for a stop request; returns 1 when asked to stop. */
int source_sleep_unless_stopped(source *s, double ms);
double source_now_ms(void);

/* source_capture.c: open s->cam_index into s (size and rate). 0, or -1
 * with app_error(). */
int source_capture_open_camera(source *s);

#endif
