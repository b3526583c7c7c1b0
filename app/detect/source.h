/*
 * source.h - where frames come from: a camera, a video file, an image or a
 * folder of images, read on a thread of its own.
 *
 * The reader hands frames over through a one-slot mailbox. From a camera it
 * overwrites the slot, so a slow consumer always gets the newest frame and
 * never lags more than one frame behind; from files it waits for the slot to
 * be taken, so no frame is dropped. In kiosk mode a lost camera is reopened
 * with back-off instead of ending the stream.
 */
#ifndef ED_SOURCE_H
#define ED_SOURCE_H

#include <stddef.h>
#include <stdint.h>

typedef enum { SRC_CAMERA, SRC_VIDEO, SRC_IMAGE, SRC_FOLDER } src_kind;

typedef struct src_frame {
    uint8_t *bgr;  /* w*h*3 bytes, packed BGR */
    size_t cap;    /* bytes allocated */
    int w, h;
    long index;    /* 0-based frame number in the source */
    double t_ms;   /* time of the frame: position in a file, or since start */
    double read_ms; /* time the reader took to decode it */
    int restarted; /* first frame after a looping source started over */
} src_frame;

typedef struct source source;

/* Open a camera (index) or a path (video, image or folder: which one is
 * decided by what the path is). Frames start flowing at once. With
 * `reconnect` a camera that cannot be opened or goes away is retried
 * forever; with `loop` a file or folder starts over at its end (frame
 * indices keep counting up). NULL on error with a one-line message in err. */
source *source_open_camera(int index, int reconnect, char *err, size_t errlen);
source *source_open_path(const char *path, int loop, char *err, size_t errlen);
/* The frame size (w, h > 0) and rate (fps > 0) to ask of cameras opened
 * from now on; 0 keeps the camera's default. The camera may give another:
 * source_width/height/fps say what it gives. */
void source_camera_mode(int w, int h, double fps);

/* Frames from a function instead (tests, synthetic input): read fills f,
 * growing it with src_frame_reserve, and returns 1, 0 at the end or -1 on
 * an error. `live` gives camera behaviour (the mailbox slot is overwritten);
 * otherwise every frame is delivered. */
typedef int (*src_read_fn)(void *ctx, src_frame *f);
source *source_open_fn(src_read_fn read, void *ctx, int live, int w, int h, double fps,
                       char *err, size_t errlen);
/* Make room in f for a w x h frame and set its size. Returns 0 or -1. */
int src_frame_reserve(src_frame *f, int w, int h);

/* Next frame, waiting up to timeout_ms (0 = poll, < 0 = forever).
 * Returns 1 with *f set (valid until the next call), 0 on timeout, -1 at
 * the end of input, -2 on an error (source_message says which). */
int source_next(source *s, const src_frame **f, int timeout_ms);

src_kind source_kind(const source *s);
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
