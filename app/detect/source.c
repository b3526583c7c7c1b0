/* source.c - opening a source (source.h) and the producers that need no
 * capture: images and folders of images, and frames from a function. The
 * reader thread and mailbox are in source_reader.c, camera and video in
 * source_capture.c. */
#include "source.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "app_err.h"
#include "dirlist.h"
#include "source_impl.h"

static void warn(source *s, const char *fmt, const char *arg)
{
    if (!s->warn)
        return;
    char m[600];
    snprintf(m, sizeof m, fmt, arg);
    s->warn(s->warn_ctx, m);
}

/* The next readable image; one bad file in a folder does not end the run. */
static source_status images_read(source *s, source_frame *f)
{
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
            warn(s, "skipping %s", cvw_error());
            continue;
        }
        if (source_frame_reserve(f, w, h)) {
            free(px);
            source_set_msg(s, "out of memory");
            return SOURCE_ERROR;
        }
        memcpy(f->bgr, px, (size_t)w * h * 3);
        free(px);
        f->file = path;
        return SOURCE_FRAME;
    }
    return SOURCE_END;
}

static int images_rewind(source *s)
{
    s->file_i = 0;
    return 0;
}

static source_status fn_read(source *s, source_frame *f)
{
    source_status r = s->fn(s->fn_ctx, f);
    if (r == SOURCE_ERROR)
        source_set_msg(s, "frame source failed");
    return r;
}

const source_ops source_images_ops = {.read = images_read, .rewind = images_rewind};
const source_ops source_fn_ops = {.read = fn_read};

source *source_open_camera(int index, int reconnect)
{
    source *s = source_new(SOURCE_CAMERA, &source_camera_ops);
    if (!s)
        return app_fail_null("out of memory");
    s->drop = 1;
    s->cam_index = index;
    s->reconnect = reconnect;
    s->fps = 30;
    if (source_capture_open_camera(s) != 0) {
        if (!reconnect) {
            source_close(s);
            return NULL;
        }
        snprintf(s->msg, sizeof s->msg, "%s", app_error()); /* shown while retrying */
    }
    s->cam_ok = s->cap != NULL;
    return source_start(s);
}

source *source_open_fn(source_read_fn fn, void *ctx, int live, int w, int h, double fps)
{
    source *s = source_new(live ? SOURCE_CAMERA : SOURCE_VIDEO, &source_fn_ops);
    if (!s)
        return app_fail_null("out of memory");
    s->fn = fn;
    s->fn_ctx = ctx;
    s->drop = live;
    s->cam_ok = 1;
    s->w = w;
    s->h = h;
    s->fps = fps > 0 ? fps : 25;
    return source_start(s);
}

/* The folder's images, sorted; what it leaves out that is not plainly
 * another kind of file (a FIFO, a dangling symbolic link, a video...) is
 * warned about once, like an image that does not decode. */
static int list_folder(source *s, const char *path)
{
    dirlist names = {0}, skipped = {0}, why = {0};
    if (dirlist_read_skips(path, DIRLIST_IMAGES, &names, &skipped, &why) != 0) {
        int e = errno;
        dirlist_free(&names);
        dirlist_free(&skipped);
        dirlist_free(&why);
        return app_fail("input '%s': cannot read folder: %s", path, strerror(e));
    }
    for (int i = 0; i < skipped.n && s->warn; i++) {
        char m[8400];
        snprintf(m, sizeof m, "skipping '%s/%s': %s%s", path, skipped.v[i], why.v[i],
                 dirlist_is_video(skipped.v[i]) ? " (a folder is read as images: give the "
                 "video to --input alone, or the folder to --out-dir for its videos)" : "");
        s->warn(s->warn_ctx, m);
    }
    dirlist_free(&skipped);
    dirlist_free(&why);
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
        /* A data set's folder (test/happy/...): its pictures are a level
         * down, which "folder has no images" did not say. */
        dirlist sub = {0};
        if (dirlist_read(path, DIRLIST_DIRS, &sub) == 0 && sub.n > 0) {
            app_fail("input '%s': no images in the folder itself, only folders (%s%s%s%s%s): "
                     "give one of them (folders in it are not read)", path, sub.v[0],
                     sub.n > 1 ? ", " : "", sub.n > 1 ? sub.v[1] : "", sub.n > 2 ? ", " : "",
                     sub.n > 3 ? "..." : sub.n > 2 ? sub.v[2] : "");
            dirlist_free(&sub);
            return -1;
        }
        dirlist_free(&sub);
        return app_fail("input '%s': folder has no images", path);
    }
    return 0;
}

/* A file: a video, or an image (by its name, or because OpenCV's capture
 * cannot open it but its image reader can). */
static int open_file(source *s, const char *path)
{
    if (dirlist_is_image(path)) {
        s->kind = SOURCE_IMAGE;
        return 0;
    }
    s->cap = cvw_capture_open_file(path);
    if (!s->cap) {
        /* Maybe an image with an unusual name. */
        uint8_t *px;
        int w, h;
        char why[256];
        snprintf(why, sizeof why, "%s", cvw_error());
        if (cvw_read_bgr(path, &px, &w, &h) != 0)
            return app_fail("input %s", why);
        free(px);
        s->kind = SOURCE_IMAGE;
        return 0;
    }
    s->w = cvw_capture_width(s->cap);
    s->h = cvw_capture_height(s->cap);
    double fps = cvw_capture_fps(s->cap);
    s->fps = source_plausible_fps(fps);
    if (s->fps == 0) {
        /* Frame times come from the rate: say they are guessed. */
        char m[4400];
        snprintf(m, sizeof m, "input '%s': the video reports %g frames/s, which cannot be its "
                 "rate; its frame times assume 25 frames/s", path, fps);
        if (s->warn)
            s->warn(s->warn_ctx, m);
        s->fps = 25;
    }
    s->frame_count = cvw_capture_frame_count(s->cap);
    return 0;
}

/* Images: learn the size from the first readable one. */
static int open_images(source *s, const char *path)
{
    s->ops = &source_images_ops;
    if (s->kind == SOURCE_IMAGE) {
        s->files = malloc(sizeof *s->files);
        if (!s->files || !(s->files[0] = strdup(path)))
            return app_fail("out of memory");
        s->n_files = 1;
    }
    s->fps = 1;
    s->frame_count = s->n_files;
    while (s->file_i < s->n_files) {
        if (cvw_read_bgr(s->files[s->file_i], &s->first, &s->first_w, &s->first_h) == 0)
            break;
        if (s->kind == SOURCE_IMAGE)
            return app_fail("input %s", cvw_error());
        warn(s, "skipping %s", cvw_error());
        s->file_i++;
    }
    if (!s->first)
        return app_fail("input '%s': no readable images", path);
    s->w = s->first_w;
    s->h = s->first_h;
    return 0;
}

source *source_open_path(const char *path, int loop, source_warn_fn warn_fn, void *warn_ctx)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return app_fail_null("input '%s': %s", path,
                             errno == ENOENT ? "no such file or folder" : strerror(errno));
    int is_dir = S_ISDIR(st.st_mode);
    source *s = source_new(is_dir ? SOURCE_FOLDER : SOURCE_VIDEO, &source_video_ops);
    if (!s || !(s->path = strdup(path))) {
        source_close(s);
        return app_fail_null("out of memory");
    }
    s->loop = loop;
    s->warn = warn_fn;
    s->warn_ctx = warn_ctx;
    if (is_dir ? list_folder(s, path) : open_file(s, path)) {
        source_close(s);
        return NULL;
    }
    if (s->kind != SOURCE_VIDEO && open_images(s, path) != 0) {
        source_close(s);
        return NULL;
    }
    return source_start(s);
}
