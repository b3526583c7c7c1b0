/*
 * source.h - where frames come from: a camera, a video file, an image or a
 * folder of images, read on a thread of its own.
 *
 * The reader hands frames over through a one-slot mailbox. From a camera it
 * overwrites the slot, so a slow consumer always gets the newest frame and
 * never lags more than one frame behind; from files it waits for the slot to
 * be taken, so no frame is dropped. In kiosk mode a lost camera is reopened
 * with back-off instead of ending the stream.
 *
 * Files: source_reader.c (the thread, the mailbox and this header's
 * accessors), source_capture.c (camera and video file, through OpenCV),
 * source.c (opening a path; images and folders; frames from a function).
 * Each kind of producer is a small table of functions (source_impl.h).
 */
#ifndef ED_SOURCE_H
#define ED_SOURCE_H

#include <stddef.h>
#include <stdint.h>

typedef enum { SOURCE_CAMERA, SOURCE_VIDEO, SOURCE_IMAGE, SOURCE_FOLDER } source_kind;

/* What source_next (and a source_read_fn) gives. */
typedef enum {
    SOURCE_FRAME,   /* a frame */
    SOURCE_WAIT,    /* none yet (source_next's timeout passed) */
    SOURCE_END,     /* no more frames */
    SOURCE_ERROR,   /* the source failed (source_message says why) */
} source_status;

typedef struct source_frame {
    uint8_t *bgr;  /* w*h*3 bytes, packed BGR */
    size_t cap;    /* bytes allocated */
    int w, h;
    long index;    /* 0-based frame number in the source */
    double t_ms;   /* time of the frame: position in a file, or since start */
    double read_ms; /* time the reader took to decode it */
    int restarted; /* first frame after a looping source started over */
    const char *file; /* image sources: the image's path (valid with the frame); else NULL */
} source_frame;

typedef struct source source;

/* A warning about something skipped (an unreadable image in a folder), one
 * line without the program name. Called on the thread that opens the
 * source and later on the reader thread: it must not touch the caller's
 * state without a lock (printing to stderr is fine). */
typedef void (*source_warn_fn)(void *ctx, const char *msg);

/* Open a camera (index) or a path (video, image or folder: which one is
 * decided by what the path is). Frames start flowing at once. With
 * `reconnect` a camera that cannot be opened or goes away is retried
 * forever; with `loop` a file or folder starts over at its end (frame
 * indices keep counting up). warn may be NULL (warnings dropped). NULL on
 * error with a one-line message in app_error(). */
source *source_open_camera(int index, int reconnect);
source *source_open_path(const char *path, int loop, source_warn_fn warn, void *warn_ctx);
/* The frame size (w, h > 0) and rate (fps > 0) to ask of cameras opened
 * from now on; 0 keeps the camera's default. The camera may give another:
 * source_width/height/fps say what it gives. */
void source_camera_mode(int w, int h, double fps);

/* Frames from a function instead (tests, synthetic input): read fills f,
 * growing it with source_frame_reserve, and returns SOURCE_FRAME,
 * SOURCE_END or SOURCE_ERROR. `live` gives camera behaviour (the mailbox
 * slot is overwritten); otherwise every frame is delivered. */
typedef source_status (*source_read_fn)(void *ctx, source_frame *f);
source *source_open_fn(source_read_fn read, void *ctx, int live, int w, int h, double fps);
/* Make room in f for a w x h frame and set its size. Returns 0 or -1. */
int source_frame_reserve(source_frame *f, int w, int h);

/* Next frame, waiting up to timeout_ms (0 = poll, < 0 = forever).
 * SOURCE_FRAME with *f set (valid until the next call), SOURCE_WAIT on
 * timeout, SOURCE_END at the end of input, SOURCE_ERROR on an error
 * (source_message says which). */
source_status source_next(source *s, const source_frame **f, int timeout_ms);

source_kind source_kind_of(const source *s);
int source_width(const source *s);   /* of the first frame */
int source_height(const source *s);
double source_fps(const source *s);  /* frames per second, never 0 */
long source_frame_count(const source *s); /* -1 unknown */
/* Error or status text ("camera 0 lost, retrying in 2 s"), "" when all is
 * well. Copies into buf. */
const char *source_message(source *s, char *buf, size_t len);
/* True when the camera is working (kiosk uses this to show trouble). */
int source_ok(source *s);

/* Stop the reader and free everything. NULL is fine. */
void source_close(source *s);

#endif
