/* source_capture.c - the producers that read through OpenCV's capture: a
 * camera (reopened with back-off in kiosk mode) and a video file; see
 * source.h. */
#include <stdio.h>
#include <stdlib.h>

#include "app_err.h"
#include "source_impl.h"

/* --camera-size, --camera-fps: asked of every camera opened. */
static int cam_req_w, cam_req_h;

void source_camera_mode(int w, int h, double fps)
{
    cam_req_w = w;
    cam_req_h = h;
    cvw_camera_request_fps(fps);
}

int source_capture_open_camera(source *s)
{
    s->cap = cvw_capture_open_camera(s->cam_index, cam_req_w, cam_req_h);
    if (!s->cap)
        return app_fail("%s", cvw_error());
    s->w = cvw_capture_width(s->cap);
    s->h = cvw_capture_height(s->cap);
    double fps = source_plausible_fps(cvw_capture_fps(s->cap));
    s->fps = fps > 0 ? fps : 30; /* its frames are stamped by the clock anyway */
    return 0;
}

/* A frame from the capture; a camera may change its frame size, so the
 * buffer grows once and the read is tried again. */
static source_status capture_read(source *s, source_frame *f)
{
    if (!s->cap)
        return SOURCE_ERROR; /* a camera not (yet) opened: s->msg says why */
    int w = s->w, h = s->h;
    for (int tries = 0; tries < 2; tries++) {
        if (source_frame_reserve(f, w, h)) {
            source_set_msg(s, "out of memory");
            return SOURCE_ERROR;
        }
        int r = cvw_capture_read(s->cap, f->bgr, f->cap, &w, &h);
        if (r == 1) {
            f->w = w;
            f->h = h;
            return SOURCE_FRAME;
        }
        if (r == 0)
            return SOURCE_END;
        if ((size_t)w * h * 3 <= f->cap)
            break; /* a real error, not a size change */
    }
    source_set_msg(s, cvw_error());
    return SOURCE_ERROR;
}

/* Kiosk: keep trying to (re)open the camera, waiting longer each time. */
static int camera_recover(source *s)
{
    char reason[512];
    if (s->cap)
        snprintf(reason, sizeof reason, "camera %d lost", s->cam_index);
    else
        source_message(s, reason, sizeof reason); /* why the first open failed */
    if (!reason[0])
        snprintf(reason, sizeof reason, "no camera");
    double wait = 500;
    for (;;) {
        char m[600];
        snprintf(m, sizeof m, "%s - retrying in %.0f s", reason, wait < 1000 ? 1.0 : wait / 1000);
        source_set_msg(s, m);
        pthread_mutex_lock(&s->mu);
        s->cam_ok = 0;
        pthread_mutex_unlock(&s->mu);
        if (source_sleep_unless_stopped(s, wait))
            return -1;
        cvw_capture_close(s->cap);
        s->cap = NULL;
        if (source_capture_open_camera(s) == 0) {
            pthread_mutex_lock(&s->mu);
            s->cam_ok = 1;
            s->msg[0] = 0;
            pthread_mutex_unlock(&s->mu);
            return 0;
        }
        snprintf(reason, sizeof reason, "%s", app_error());
        wait = wait * 2 > 8000 ? 8000 : wait * 2;
    }
}

/* Start the file over. Reopening rather than seeking: seeking to frame 0
 * is not exact in every container OpenCV reads. */
static int video_rewind(source *s)
{
    cvw_capture_close(s->cap);
    s->cap = cvw_capture_open_file(s->path);
    if (!s->cap) {
        source_set_msg(s, cvw_error());
        return -1;
    }
    return 0;
}

const source_ops source_camera_ops = {.read = capture_read, .recover = camera_recover};
const source_ops source_video_ops = {.read = capture_read, .rewind = video_rewind};
